# Write cost of the console's audit search indexes (docs/performance.md, "Console pages"):
# CPU per insert of a decision record with and without them. Usage: python3 index_write_cost.py
import sqlite3, time, json, os
body=json.dumps({"v":1,"seq":1,"type":"decision","time":"2026-11-23T18:00:00Z","run_id":"run_abc","call_id":"call_x","agent_id":"support-agent","principal":"support-agent",
 "data":{"tool":"update_order_status","args":{"order_id":"O-123","status":"shipped","note":"x"*200},"decision":{"decision":"allow","code":"ALLOWED","reason":"tool \"update_order_status\" is allowed","rule":"tools.allowed[\"update_order_status\"]","location":"/etc/p.yaml:12:7","policy_sha256":"a"*64,"agent_id":"support-agent","tool":"update_order_status"},"state":{"steps":3,"tokens":100,"cost_micros":10,"elapsed_ms":100,"records":{"orders":1}}}})
print(len(body))
for idx in (False, True):
    p='/tmp/idx.db'
    for f in (p,p+'-wal',p+'-shm'):
        if os.path.exists(f): os.remove(f)
    db=sqlite3.connect(p); db.execute('pragma journal_mode=wal'); db.execute('pragma synchronous=normal')
    db.execute("CREATE TABLE audit_log (seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, type TEXT NOT NULL, run_id TEXT, call_id TEXT, agent_id TEXT, principal TEXT, body TEXT NOT NULL, prev_hash TEXT, hash TEXT, run_prev INTEGER)")
    db.execute("CREATE INDEX audit_log_time ON audit_log(time_ms)")
    if idx:
        db.executescript("""CREATE INDEX IF NOT EXISTS audit_log_agent ON audit_log(agent_id, seq);
CREATE INDEX IF NOT EXISTS audit_log_type ON audit_log(type, seq);
CREATE INDEX IF NOT EXISTS audit_log_tool ON audit_log((CASE WHEN json_valid(body) THEN json_extract(body, '$.data.tool') END), seq);
CREATE INDEX IF NOT EXISTS audit_log_code ON audit_log((CASE WHEN json_valid(body) THEN json_extract(body, '$.data.decision.code') END), seq);""")
    N=100000
    t=time.process_time()
    for b in range(N//100):
        db.execute('begin')
        for i in range(100):
            n=b*100+i
            db.execute('insert into audit_log values (?,?,?,?,?,?,?,?,?,?,?)',(n+1,1700000000000+n,'decision','run_%d'%(n%50),'call_%d'%n,'support-agent','support-agent',body,'h'*64,'h'*64,0))
        db.execute('commit')
    print('indexes' if idx else 'base', (time.process_time()-t)/N*1e6, 'us cpu per insert', sqlite3.sqlite_version)
    db.close()
