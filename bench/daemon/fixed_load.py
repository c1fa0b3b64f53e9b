# Fixed-count closed-loop load for callgrind-decide.sh: N POST /v1/runs/{run}/calls (allow)
# over C keep-alive connections, one thread each. Usage: fixed_load.py PORT TOKEN RUNS_FILE N C
import http.client, sys, threading
port, tok, runsf, n, c = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
runs = [l.strip() for l in open(runsf) if l.strip()]
body = '{"tool":"read_document","args":{"path":"/docs/a.txt"}}'
bad = [0]
def worker(k):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for i in range(k, n, c):
        conn.request("POST", "/v1/runs/%s/calls" % runs[i % len(runs)], body,
                     {"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
        r = conn.getresponse(); d = r.read()
        if r.status != 200 or b'"ALLOWED"' not in d: bad[0] += 1
ts = [threading.Thread(target=worker, args=(k,)) for k in range(c)]
[t.start() for t in ts]; [t.join() for t in ts]
print("requests", n, "bad", bad[0])
