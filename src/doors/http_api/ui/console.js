'use strict';
// The console's pages besides approvals (docs/console.md): runs, a run's timeline, audit
// search, the kill switch and metrics. Values go in with textContent only.
(function () {
  const $ = (id) => document.getElementById(id);
  let I = null;  // window.Interlock (app.js): api, el, row, valueNode, signedOut
  let poll = null;

  async function get(path) {
    const r = await I.api('GET', path);
    if (r.status === 401 || r.status === 403) { I.signedOut(r.status); throw new Error('auth'); }
    return r;
  }
  function errText(r) {
    return (r.data && (r.data.reason || r.data.message || (r.data.error && r.data.error.message))) ||
        ('HTTP ' + r.status);
  }
  function pill(text, cls) { return I.el('span', text, 'pill ' + (cls || text)); }
  function fmtTime(t) { return t ? new Date(t).toLocaleString() : '\u2014'; }
  function num(v, digits) {
    if (v === undefined || v === null) return '\u2014';
    return digits === undefined ? String(v) : Number(v).toFixed(digits);
  }
  function qs(params) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== '' && v !== undefined && v !== null) u.set(k, v);
    const s = u.toString();
    return s ? '?' + s : '';
  }

  // One budget against its limit: "steps 3 / 20" with a bar when the policy sets a limit.
  function meter(label, used, limit, digits) {
    const box = I.el('div', null, 'meter');
    if (limit !== undefined && limit > 0 && Number(used) >= limit) box.classList.add('over');
    const text = label + ' ' + num(used, digits) +
        (limit !== undefined ? ' / ' + num(limit, digits) : '');
    box.appendChild(I.el('div', text));
    if (limit !== undefined && limit > 0) {
      const p = document.createElement('progress');
      p.max = limit;
      p.value = Math.min(Number(used) || 0, limit);
      p.setAttribute('aria-label', text);
      box.appendChild(p);
    }
    return box;
  }
  function meters(state, limits) {
    const l = limits || {};
    const box = I.el('div', null, 'meters');
    box.appendChild(meter('Steps', state.steps, l.steps));
    box.appendChild(meter('Tokens', state.tokens, l.tokens));
    box.appendChild(meter('Cost $', state.cost_usd, l.cost_usd, 4));
    box.appendChild(meter('Wall clock s', state.elapsed_s, l.elapsed_s, 1));
    return box;
  }

  // ---- Runs ---------------------------------------------------------------------------
  let runsCursor = '';
  function runItem(run) {
    const li = I.el('li');
    li.dataset.run = run.run_id;
    const head = I.el('div');
    const a = I.el('a', run.run_id, 'run-link');
    a.href = '/ui/runs/' + encodeURIComponent(run.run_id);
    head.appendChild(a);
    head.appendChild(pill(run.state));
    // A limit reached (docs/api.md, limits_reached): marked, whatever the run's state.
    for (const l of run.limits_reached || []) head.appendChild(pill('limit reached: ' + l, 'limit'));
    li.appendChild(head);
    li.appendChild(I.el('div', run.agent_id + ' \u00b7 started ' + fmtTime(run.started), 'meta'));
    // A child run (docs/governance.md#child-runs): its role and parent.
    if (run.parent_run_id) {
      li.appendChild(I.el('div', 'child run' + (run.role ? ' (' + run.role + ')' : '') + ' of ' +
                                 run.parent_run_id, 'meta'));
    }
    if (run.halted) li.appendChild(I.el('div', 'Halted: ' + (run.halt_reason || 'no reason'), 'halt'));
    li.appendChild(meters(run, run.limits));
    return li;
  }
  async function loadRuns(append) {
    const f = {agent: $('runs-agent').value.trim(), state: $('runs-state').value, limit: 25};
    if (append && runsCursor) f.cursor = runsCursor;
    const r = await get('/v1/runs' + qs(f));
    if (r.status !== 200) { $('runs-status').textContent = errText(r); return; }
    const items = r.data.runs.map(runItem);
    if (append) $('runs-list').append(...items); else $('runs-list').replaceChildren(...items);
    runsCursor = r.data.next_cursor || '';
    $('runs-more').hidden = !runsCursor;
    $('runs-status').textContent = $('runs-list').children.length + ' run(s) shown \u00b7 updated ' +
        new Date().toLocaleTimeString();
  }
  function startRuns() {
    const u = new URLSearchParams(location.search);
    $('runs-agent').value = u.get('agent') || '';
    $('runs-state').value = u.get('state') || '';
    $('runs-filter').addEventListener('submit', (ev) => {
      ev.preventDefault();
      history.replaceState(null, '', '/ui/runs' + qs({agent: $('runs-agent').value.trim(),
                                                      state: $('runs-state').value}));
      loadRuns(false).catch(() => {});
    });
    $('runs-more').addEventListener('click', () => loadRuns(true).catch(() => {}));
    loadRuns(false).catch(() => {});
    // Live: the first page refreshes while no older page is open.
    poll = setInterval(() => {
      if ($('runs-list').children.length <= 25) loadRuns(false).catch(() => {});
    }, 5000);
  }

  // ---- Run timeline -------------------------------------------------------------------
  function argsTable(args) {
    const t = I.el('table', null, 'kv');
    if (args && typeof args === 'object' && !Array.isArray(args)) {
      for (const [k, v] of Object.entries(args)) I.row(t, [k, I.valueNode(v)]);
    } else {
      I.row(t, ['', I.valueNode(args)]);
    }
    return t;
  }
  function callItem(c, i, limits) {
    const li = I.el('li', null, c.decision);
    li.dataset.seq = c.seq;
    li.dataset.code = c.code;
    li.dataset.tool = c.tool;
    const head = I.el('div', null, 'head');
    head.appendChild(I.el('span', '#' + (i + 1), 'n'));
    head.appendChild(I.el('span', c.tool, 'tool'));
    head.appendChild(pill(c.decision));
    head.appendChild(I.el('span', c.code, 'code'));
    head.appendChild(I.el('span', fmtTime(c.time), 'muted'));
    li.appendChild(head);
    if (c.reason) li.appendChild(I.el('p', c.reason, 'sub'));
    const d = c.decision_detail || {};
    if (c.rule) {
      li.appendChild(I.el('p', 'Rule ' + c.rule + (d.at ? ' at ' + d.at : '') +
                          (c.policy_sha256 ? ' (policy ' + c.policy_sha256.slice(0, 12) + ')' : ''),
                          'sub rule'));
    }
    if (c.shadow) li.appendChild(I.el('p', 'Shadow mode: not enforced', 'sub'));
    // A call Claude Code ran although Interlock denied it or held it for approval
    // (docs/mcp.md#claude-code-http-hooks): an incident, not a routine denial.
    if (c.rule === 'claude-code.ran-anyway') {
      li.classList.add('incident');
      li.appendChild(I.el('p', 'Incident: Claude Code ran this call although Interlock did not ' +
                          'allow it', 'sub incident'));
    }
    li.appendChild(argsTable(c.args));
    for (const a of c.approvals || []) {
      const waited = a.time && c.time ? Math.round((new Date(a.time) - new Date(c.time)) / 1000) : null;
      li.appendChild(I.el('p', 'Approval: ' + (a.event || '?') + ' by ' + (a.reviewer || 'interlock') +
          ' at ' + fmtTime(a.time) + (waited !== null ? ' (waited ' + waited + ' s)' : '') +
          (a.comment ? ' \u2014 \u201c' + a.comment + '\u201d' : ''), 'sub approval'));
    }
    if (c.result) {
      const r = c.result;
      li.appendChild(I.el('p', 'Result: ' + (r.ok ? 'ok' : 'failed') +
          (r.error ? ' \u2014 ' + r.error : '') +
          (r.output !== undefined ? ' \u2014 ' + JSON.stringify(r.output).slice(0, 300) : ''),
          'sub result'));
    }
    if (c.result && c.result.credential) {
      const k = c.result.credential;
      li.appendChild(I.el('p', 'Credential: ' + k.kind + ' ' + k.subject +
          (k.actor ? ' (act ' + k.actor + ')' : '') + ', audience ' + k.audience +
          ', scopes ' + ((k.scopes || []).join(' ') || '-') + ', ' + k.fingerprint +
          ', issuer ' + k.issuer, 'sub credential'));
    }
    if (c.state_after && Object.keys(c.state_after).length) {
      const b = I.el('div', null, 'sub');
      b.appendChild(I.el('span', 'Budgets after this call:'));
      b.appendChild(meters(c.state_after, limits));
      li.appendChild(b);
    }
    return li;
  }
  // The tree of runs a run belongs to (docs/governance.md#child-runs): from its root down,
  // each run linked with its role and state, this one marked. Bounded: the root at most
  // 8 levels up, 6 levels and 60 runs shown.
  async function runTree(run) {
    let root = run;
    for (let up = 0; root.parent_run_id && up < 8; ++up) {
      const p = await get('/v1/runs/' + encodeURIComponent(root.parent_run_id));
      if (p.status !== 200) break;
      root = p.data;
    }
    if (root === run && !(run.children || []).length) return [];
    let budget = 60;
    async function node(r, depth) {
      const li = I.el('li');
      li.dataset.run = r.run_id;
      const a = I.el('a', r.run_id, 'run-link');
      a.href = '/ui/runs/' + encodeURIComponent(r.run_id);
      if (r.run_id === run.run_id) a.setAttribute('aria-current', 'page');
      li.appendChild(a);
      if (r.role) li.appendChild(I.el('span', ' ' + r.role + ' ', 'meta'));
      li.appendChild(pill(r.state));
      const kids = r.children || [];
      if (kids.length && depth < 6) {
        const ul = I.el('ul');
        for (const k of kids) {
          if (--budget < 0) { ul.appendChild(I.el('li', '\u2026 more runs', 'meta')); break; }
          const c = k === run.run_id ? {status: 200, data: run} : await get('/v1/runs/' + encodeURIComponent(k));
          if (c.status === 200) ul.appendChild(await node(c.data, depth + 1));
        }
        li.appendChild(ul);
      }
      return li;
    }
    return [await node(root, 0)];
  }
  async function startRun() {
    const id = decodeURIComponent(location.pathname.split('/').pop());
    $('run-title').textContent = 'Run ' + id;
    const [run, rep] = await Promise.all([
      get('/v1/runs/' + encodeURIComponent(id)),
      get('/v1/runs/' + encodeURIComponent(id) + '/replay')]);
    const facts = $('run-facts');
    facts.replaceChildren();
    const add = (k, v) => { facts.appendChild(I.el('dt', k)); facts.appendChild(I.el('dd', v)); };
    let limits = {};
    if (run.status === 200) {
      const r = run.data;
      limits = r.limits || {};
      add('Agent', r.agent_id);
      add('State', r.state + (r.halted ? ': ' + (r.halt_reason || '') : ''));
      add('Started', fmtTime(r.started));
      // The run's own workspace (a Claude Code session's project); absent: the daemon's.
      add('Workspace', r.workspace || "the daemon's");
      if (r.workspace_refused) add('Workspace refused', r.workspace_refused);
      if (r.parent_run_id) {
        add('Child run of', r.parent_run_id + ' (depth ' + r.depth + ')');
        if (r.role) add('Role', r.role);
      }
      if (r.workflow) {
        const vars = Object.entries(r.workflow.vars || {}).map(([k, v]) => k + '=' + v).join(', ');
        add('Workflow state', r.workflow.state + (vars ? ' (' + vars + ')' : ''));
      }
      if (r.labels && r.labels.length) add('Flow labels', r.labels.join(', '));
      // Approvals for the rest of this run (docs/approvals.md), each revocable here.
      for (const g of r.grants || []) {
        const dd = I.el('dd');
        dd.appendChild(I.el('span', g.tool + ' \u2014 approved by ' + g.reviewer + ' (' +
                                    g.approval_id + ', ' + fmtTime(g.granted) + ') '));
        const b = I.el('button', 'Revoke', 'secondary');
        b.type = 'button';
        b.dataset.tool = g.tool;
        b.addEventListener('click', async () => {
          b.disabled = true;
          const res = await I.api('POST', '/v1/runs/' + encodeURIComponent(id) + '/grants/revoke',
                                  {tool: g.tool, reason: 'revoked from the console'});
          if (res.status !== 200) $('run-error').textContent = 'Revoke: ' + errText(res);
          await startRun();
        });
        dd.appendChild(b);
        facts.appendChild(I.el('dt', 'Approved for the run'));
        facts.appendChild(dd);
      }
      $('run-budgets').replaceChildren(meters(r, limits));
      const tree = await runTree(r);
      $('run-tree').replaceChildren(...tree);
      $('run-tree-box').hidden = tree.length === 0;
    } else {
      $('run-error').textContent = 'Run: ' + errText(run);
    }
    const chain = $('run-chain');
    if (rep.status === 200) {
      const ch = rep.data.chain || {};
      chain.className = 'chain ' + (ch.verified ? 'ok' : 'bad');
      chain.textContent = ch.verified
          ? 'Audit chain verified for this run (' + ch.records_checked + ' records re-hashed)'
          : 'Audit chain does NOT verify for this run: ' + ch.tampered_records +
            ' record(s) do not match their hash';
      $('timeline').replaceChildren(...rep.data.calls.map((c, i) => callItem(c, i, limits)));
    } else {
      chain.className = 'chain bad';
      chain.textContent = 'Timeline unavailable: ' + errText(rep);
    }
  }

  // ---- Audit search -------------------------------------------------------------------
  let auditCursor = null;
  function auditParams() {
    const iso = (v) => (v ? new Date(v).toISOString() : '');
    return {agent: $('a-agent').value.trim(), tool: $('a-tool').value.trim(),
            code: $('a-code').value.trim().toUpperCase(), run_id: $('a-run').value.trim(),
            since: iso($('a-since').value), until: iso($('a-until').value),
            q: $('a-text').value, order: 'desc'};
  }
  function recordRow(rec) {
    const d = rec.data || {};
    const dec = d.decision || {};
    const tr = I.el('tr');
    tr.dataset.seq = rec.seq;
    const seq = I.el('td');
    if (rec.run_id) {
      const a = I.el('a', String(rec.seq));
      a.href = '/ui/runs/' + encodeURIComponent(rec.run_id);
      a.title = 'Open run ' + rec.run_id;
      seq.appendChild(a);
    } else {
      seq.textContent = rec.seq;
    }
    tr.appendChild(seq);
    tr.appendChild(I.el('td', fmtTime(rec.time)));
    tr.appendChild(I.el('td', rec.type));
    tr.appendChild(I.el('td', rec.agent_id || rec.principal || ''));
    tr.appendChild(I.el('td', d.tool || '', 'tool'));
    tr.appendChild(I.el('td', dec.code || '', 'code'));
    tr.appendChild(I.el('td', dec.reason || d.reason || d.event || d.comment || ''));
    return tr;
  }
  async function auditPage(append) {
    const p = auditParams();
    p.limit = 50;
    if (append && auditCursor) p.before_seq = auditCursor;
    const t0 = performance.now();
    const r = await get('/v1/audit' + qs(p));
    if (r.status !== 200) { $('audit-status').textContent = errText(r); return; }
    const rows = r.data.records.map(recordRow);
    if (append) $('audit-rows').append(...rows); else $('audit-rows').replaceChildren(...rows);
    auditCursor = r.data.more ? r.data.next_before_seq : null;
    $('audit-more').hidden = !auditCursor;
    $('audit-status').textContent = $('audit-rows').children.length + ' record(s), newest first (' +
        Math.round(performance.now() - t0) + ' ms)';
  }
  // Every record of the search (up to 100,000), as the daemon's JSON lines, into a file.
  async function auditExport() {
    const p = auditParams();
    p.order = 'asc';
    p.format = 'jsonl';
    p.limit = 1000;
    const parts = [];
    let after = 0, n = 0;
    for (let i = 0; i < 100; ++i) {
      if (after) p.after_seq = after;
      const res = await fetch('/v1/audit' + qs(p), {
        headers: I.headers(),
        cache: 'no-store'});
      if (res.status !== 200) { $('audit-status').textContent = 'Export failed: HTTP ' + res.status; return; }
      const text = await res.text();
      parts.push(text);
      n += text ? text.split('\n').length - 1 : 0;
      const next = res.headers.get('Interlock-Next-After-Seq');
      if (!next) break;
      after = next;
    }
    const url = URL.createObjectURL(new Blob(parts, {type: 'application/x-ndjson'}));
    const a = I.el('a');
    a.href = url;
    a.download = 'interlock-audit.jsonl';
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    $('audit-status').textContent = 'Exported ' + n + ' record(s) as JSON lines.';
  }
  function startAudit() {
    const u = new URLSearchParams(location.search);
    for (const [k, id] of [['agent', 'a-agent'], ['tool', 'a-tool'], ['code', 'a-code'],
                           ['run_id', 'a-run'], ['q', 'a-text']]) {
      if (u.get(k)) $(id).value = u.get(k);
    }
    $('audit-filter').addEventListener('submit', (ev) => {
      ev.preventDefault();
      auditPage(false).catch(() => {});
    });
    $('audit-more').addEventListener('click', () => auditPage(true).catch(() => {}));
    $('a-export').addEventListener('click', () => auditExport().catch(() => {}));
    auditPage(false).catch(() => {});
  }

  // ---- Kill switch --------------------------------------------------------------------
  function killPhrase() {
    const scope = $('kill-scope').value;
    const target = $('kill-target').value.trim();
    return scope === 'global' ? 'STOP ALL' : 'STOP ' + target;
  }
  function killLabel(k) {
    return k.scope + (k.target ? ' ' + k.target : '');
  }
  async function loadKill() {
    loadDrill().catch(() => {});
    const [cur, hist] = await Promise.all([
      get('/v1/kill'),
      get('/v1/audit' + qs({type: 'kill_switch', order: 'desc', limit: 50}))]);
    if (cur.status === 200) {
      const engaged = cur.data.kill_switches.filter((k) => k.engaged);
      $('kill-current').replaceChildren(...engaged.map((k) => {
        const li = I.el('li');
        li.dataset.scope = k.scope;
        li.dataset.target = k.target || '';
        li.appendChild(I.el('div', killLabel(k), 'tool'));
        li.appendChild(I.el('div', 'by ' + k.actor + ' at ' + fmtTime(k.at) +
                                   (k.reason ? ' \u2014 ' + k.reason : ''), 'meta'));
        const b = I.el('button', 'Release', 'release');
        b.type = 'button';
        b.setAttribute('aria-label', 'Release kill switch ' + killLabel(k));
        b.addEventListener('click', () => setKill(k.scope, k.target || '', false, 'released from the console'));
        li.appendChild(b);
        return li;
      }));
      $('kill-none').hidden = engaged.length > 0;
    }
    if (hist.status === 200) {
      $('kill-history').replaceChildren(...hist.data.records.map((rec) => {
        const d = rec.data || {};
        return I.el('li', fmtTime(rec.time) + ' \u00b7 ' + (d.engaged ? 'engaged ' : 'released ') +
            (d.scope || '') + (d.target ? ' ' + d.target : '') + ' by ' + (rec.principal || '?') +
            (d.reason ? ' \u2014 ' + d.reason : ''));
      }));
    }
  }
  // The last kill-switch drill (GET /v1/drills), marked when overdue or failed.
  function showDrill(status) {
    const last = status.last;
    const d = last && last.data ? last.data : null;
    const box = $('kill-drill');
    box.classList.toggle('error', !!status.overdue || (d !== null && !d.passed));
    if (d === null) {
      box.textContent = 'No drill on record: the kill switch is implemented, not yet tested here.';
    } else {
      box.textContent = (d.passed ? 'Passed' : 'FAILED') + ' ' + fmtTime(d.started_at) +
          ' by ' + d.actor + (status.overdue ? ' — overdue: drill again' : '');
    }
    $('kill-drill-doors').replaceChildren(...(d ? d.doors : []).map((door) =>
      I.el('li', door.door + ': ' + door.code + ' in ' + door.latency_ms + ' ms' +
                 (door.refused_by_kill_switch ? '' : ' — NOT refused: ' + door.detail))));
  }
  async function loadDrill() {
    const r = await get('/v1/drills');
    if (r.status === 200) showDrill(r.data);
  }
  async function runDrill() {
    $('kill-error').textContent = '';
    const r = await I.api('POST', '/v1/drills', {});
    if (r.status !== 200) $('kill-error').textContent = 'Drill refused: ' + errText(r);
    await loadDrill();
  }
  async function setKill(scope, target, engaged, reason) {
    $('kill-error').textContent = '';
    const body = {scope, engaged, reason};
    if (scope !== 'global') body.target = target;
    const r = await I.api('POST', '/v1/kill', body);
    if (r.status !== 200) {
      $('kill-error').textContent = 'Refused: ' + errText(r);
    }
    await loadKill();
    return r.status === 200;
  }
  function startKill() {
    const sync = () => {
      $('kill-target-l').hidden = $('kill-scope').value === 'global';
      $('kill-phrase').textContent = killPhrase();
    };
    $('kill-scope').addEventListener('change', sync);
    $('kill-target').addEventListener('input', sync);
    sync();
    $('kill-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const scope = $('kill-scope').value;
      const target = $('kill-target').value.trim();
      const reason = $('kill-reason').value.trim();
      if (scope !== 'global' && !target) { $('kill-error').textContent = 'Name the agent or run.'; return; }
      if (!reason) { $('kill-error').textContent = 'Say why (the reason is audited).'; return; }
      if ($('kill-confirm').value.trim() !== killPhrase()) {
        $('kill-error').textContent = 'Type "' + killPhrase() + '" to confirm.';
        return;
      }
      if (await setKill(scope, target, true, reason)) {
        $('kill-confirm').value = '';
        $('kill-reason').value = '';
      }
    });
    $('kill-drill-run').addEventListener('click', () => runDrill().catch(() => {}));
    loadKill().catch(() => {});
    poll = setInterval(() => loadKill().catch(() => {}), 5000);
  }

  // ---- Metrics ------------------------------------------------------------------------
  let last = null;
  async function loadMetrics() {
    const r = await get('/v1/metrics/summary');
    if (r.status !== 200) { $('metrics-status').textContent = errText(r); return; }
    const m = r.data;
    const now = performance.now();
    const rate = {};
    if (last) {
      const dt = (now - last.t) / 1000;
      $('m-rate').textContent = ((m.decisions_total - last.m.decisions_total) / dt).toFixed(1);
      for (const [c, n] of Object.entries(m.by_code)) rate[c] = ((n - (last.m.by_code[c] || 0)) / dt).toFixed(1);
    }
    last = {t: now, m};
    $('m-deny').textContent = m.decisions_total
        ? (100 * m.not_allowed_total / m.decisions_total).toFixed(1) + ' %' : '\u2014';
    $('m-pending').textContent = m.pending_approvals;
    $('m-p99').textContent = m.decision_p99_s === null ? '\u2014'
        : (m.decision_p99_s < 0 ? '> 2.5 s' : '\u2264 ' + (m.decision_p99_s * 1000) + ' ms');
    $('m-runs').textContent = m.runs_active;
    $('m-kills').textContent = m.kill_switches_engaged;
    const t = $('m-codes');
    t.replaceChildren();
    I.row(t, ['Code', 'Total', 'Per second']);
    for (const [c, n] of Object.entries(m.by_code)) I.row(t, [c, String(n), rate[c] || '\u2014']);
    $('metrics-status').textContent = 'Updated ' + new Date().toLocaleTimeString();
  }
  function startMetrics() {
    loadMetrics().catch(() => {});
    poll = setInterval(() => loadMetrics().catch(() => {}), 2000);
  }

  // ---- Governance (admin only) ---------------------------------------------------------
  // Drift, the trust ledger and approval fatigue from GET /v1/governance/... Each list is
  // paginated here (GOV_PAGE items a page); a 403 is shown, not a sign-out.
  const GOV_PAGE = 10;
  function pager(id, items, render, listId) {
    let page = 0;
    const box = $(id);
    const draw = () => {
      const pages = Math.max(1, Math.ceil(items.length / GOV_PAGE));
      page = Math.min(page, pages - 1);
      $(listId).replaceChildren(...items.slice(page * GOV_PAGE, (page + 1) * GOV_PAGE).map(render));
      box.replaceChildren();
      if (pages <= 1) return;
      const prev = I.el('button', 'Previous');
      prev.type = 'button';
      prev.disabled = page === 0;
      prev.addEventListener('click', () => { page--; draw(); });
      const next = I.el('button', 'Next');
      next.type = 'button';
      next.disabled = page >= pages - 1;
      next.addEventListener('click', () => { page++; draw(); });
      box.append(prev, I.el('span', 'Page ' + (page + 1) + ' of ' + pages), next);
    };
    draw();
  }
  function figs(pairs) {
    const d = I.el('div', null, 'figs');
    for (const [k, v] of pairs) d.appendChild(I.el('span', k + ': ' + v));
    return d;
  }
  function secs(s) { return s < 0 ? '\u2014' : Number(s).toFixed(1) + ' s'; }
  function fatigueItem(f) {
    const li = I.el('li', null, f.warning ? 'warn' : '');
    li.dataset.reviewer = f.reviewer;
    const head = I.el('div');
    head.appendChild(I.el('span', f.reviewer, 'tool'));
    if (f.warning) head.appendChild(pill('rubber-stamping?', 'deny'));
    li.appendChild(head);
    li.appendChild(figs([
      ['Decisions', f.decisions], ['Approvals', f.approvals], ['Denials', f.denials],
      ['Median time to decide', secs(f.median_decide_s)],
      ['Faster than reading', f.too_fast + ' of ' + f.timed_approvals + ' (' +
          Math.round(100 * f.too_fast_share) + ' %)'],
      ['Longest approval streak', f.longest_streak]]));
    for (const r of f.reasons) li.appendChild(I.el('p', 'Warning: ' + r, 'warn-text'));
    return li;
  }
  function diffBlock(lines) {
    const pre = I.el('pre', null, 'diff');
    pre.setAttribute('aria-label', 'Suggested policy change');
    for (const l of lines) {
      const cls = l.op === '-' ? 'del' : l.op === '+' ? 'add' : l.op === '...' ? 'gap' : 'ctx';
      pre.appendChild(I.el('span', l.op === '...' ? '\u2026' : l.op + ' ' + l.text, cls));
    }
    return pre;
  }
  function driftItem(a, sug) {
    const li = I.el('li');
    li.dataset.agent = a.agent_id;
    li.appendChild(I.el('div', a.agent_id, 'tool'));
    li.appendChild(I.el('div', a.calls + ' call(s), ' + a.exercised + ' exercised, ' +
        a.evidence.runs + ' run(s) over ' + Number(a.evidence.days).toFixed(1) + ' day(s)', 'meta'));
    const lists = [];
    if ((a.unused_tools || []).length) lists.push('Unused tools: ' + a.unused_tools.join(', '));
    for (const v of a.unused_values || []) {
      lists.push('Unused values of ' + v.tool + '.' + v.argument + ': ' + v.values.join(', '));
    }
    for (const s of a.unused_scope_fields || []) lists.push('Unused scope of ' + s.tool + ': ' + s.fields.join(', '));
    for (const b of a.budgets || []) {
      if (b.limit === null || b.limit === undefined) continue;
      lists.push('Budget ' + b.budget + ': used ' + b.used + ' of ' + b.limit +
          (b.suggested !== null && b.suggested !== undefined ? ' (suggest ' + b.suggested + ')' : ''));
    }
    if (lists.length) {
      const ul = I.el('ul', null, 'sub-list');
      for (const t of lists) ul.appendChild(I.el('li', t));
      li.appendChild(ul);
    } else {
      li.appendChild(I.el('p', 'Everything granted was used.', 'muted'));
    }
    if (sug && sug.diff && sug.diff.length) {
      li.appendChild(I.el('p', 'Suggested tighter policy (' + sug.file + '):', 'sub'));
      li.appendChild(diffBlock(sug.diff));
    } else if (sug && sug.note) {
      li.appendChild(I.el('p', sug.note, 'muted'));
    }
    return li;
  }
  function trustItem(t) {
    const li = I.el('li');
    li.dataset.tool = t.tool;
    li.dataset.eligible = t.eligible ? 'yes' : 'no';
    const head = I.el('div');
    head.appendChild(I.el('span', t.agent_id + ' / ' + t.tool, 'tool'));
    head.appendChild(pill(t.stage));
    li.appendChild(head);
    const e = t.evidence;
    li.appendChild(figs([['Clean', e.clean], ['Since last incident', e.clean_since_reset + ' / ' + t.threshold],
      ['Incidents', e.incidents], ['Denials', e.denials],
      ['Approvals', e.approvals_granted + ' granted, ' + e.approvals_denied + ' denied']]));
    li.appendChild(t.eligible
        ? I.el('p', 'Ready to graduate to ' + t.next_stage +
               ' (interlock trust promote --tool ' + t.tool + ' --to ' + t.next_stage + ')', 'ready')
        : I.el('p', t.next_stage ? 'Not yet: ' + e.clean_since_reset + ' of ' + t.threshold +
               ' clean calls' : 'Already at the last stage', 'muted'));
    return li;
  }
  // The reports are computed off the request path (docs/console.md#governance-over-a-large-log):
  // 202 while the first one is computed (asked again every second, up to 10 minutes); a
  // report with `refreshing` set is shown with its age and the page asks again shortly.
  const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
  let govGen = 0;  // a newer load (Show, Recompute) ends an older one's polling
  async function govReport(name, path, gen) {
    for (let i = 0; i < 600 && gen === govGen; ++i) {
      const res = await I.api('GET', path);
      if (res.status !== 202) return res;
      $('gov-' + name + '-asof').textContent = 'Computing over the audit log… (queued ' +
          new Date(res.data.queued_at).toLocaleTimeString() + ')';
      await sleep(1000);
    }
    return {status: 0, data: {message: 'not computed after 10 minutes'}};
  }
  function asOf(name, data) {
    const age = Math.round(data.age_s);
    const ago = age < 60 ? age + ' s ago' : age < 7200 ? Math.round(age / 60) + ' min ago'
        : Math.round(age / 3600) + ' h ago';
    let text = 'As of ' + new Date(data.as_of).toLocaleString() + ' (' + ago + ')';
    if (data.refreshing) text += '; a newer report is being computed';
    else if (!data.current) text += '; newer records exist (Recompute now to include them)';
    if (data.refresh_error) text += '; the last recomputation failed: ' + data.refresh_error;
    $('gov-' + name + '-asof').textContent = text;
  }
  async function loadGovernance(refresh, polls) {
    const gen = ++govGen;
    const agent = $('gov-agent').value.trim();
    const days = $('gov-days').value || '30';
    $('gov-status').textContent = 'Loading…';
    // The evidence a drift suggestion needs can be lowered on the URL (?min_runs=&min_days=),
    // as with `interlock drift --min-runs --min-days`.
    const u = new URLSearchParams(location.search);
    const r = refresh ? 1 : '';
    const [f, d, t] = await Promise.all([
      govReport('fatigue', '/v1/governance/fatigue' + qs({agent, days, refresh: r}), gen),
      govReport('drift', '/v1/governance/drift' + qs({agent, days, min_runs: u.get('min_runs'),
                                                     min_days: u.get('min_days'), refresh: r}), gen),
      govReport('trust', '/v1/governance/trust' + qs({agent, refresh: r}), gen)]);
    if (gen !== govGen) return;
    if (f.status === 401) { I.signedOut(401); return; }
    if (f.status === 403) {
      $('gov-status').textContent = 'Admins only: ' + errText(f);
      for (const id of ['gov-fatigue', 'gov-drift', 'gov-trust']) $(id).replaceChildren();
      return;
    }
    const errs = [];
    if (f.status === 200) {
      asOf('fatigue', f.data);
      const m = f.data.reading_model, th = f.data.thresholds;
      $('gov-fatigue-model').textContent = 'Reading time = ' + m.floor_s + ' s + ' +
          (m.seconds_per_char * 1000) + ' ms per character of the arguments. Warned when at least ' +
          th.min_timed_approvals + ' timed approvals and ' + Math.round(th.too_fast_share * 100) +
          ' % of them were faster, or ' + th.streak + ' approvals in a row without a deny.';
      const rv = f.data.reviewers.slice().sort((a, b) => (b.warning - a.warning) ||
                                                     a.reviewer.localeCompare(b.reviewer));
      pager('gov-fatigue-pager', rv, fatigueItem, 'gov-fatigue');
      if (!rv.length) $('gov-fatigue').replaceChildren(I.el('li', 'No reviewer decided anything in the window.', 'muted'));
    } else errs.push('fatigue: ' + errText(f));
    if (d.status === 200) {
      asOf('drift', d.data);
      const sug = {};
      for (const s of d.data.suggestions || []) sug[s.agent_id] = s;
      pager('gov-drift-pager', d.data.agents, (a) => driftItem(a, sug[a.agent_id]), 'gov-drift');
    } else errs.push('drift: ' + errText(d));
    if (t.status === 200) {
      asOf('trust', t.data);
      const rows = t.data.tools.slice().sort((a, b) => (b.eligible - a.eligible));
      pager('gov-trust-pager', rows, trustItem, 'gov-trust');
    } else errs.push('trust: ' + errText(t));
    $('gov-status').textContent = errs.length ? errs.join('; ')
        : 'Updated ' + new Date().toLocaleTimeString();
    // A report being recomputed in the background: show the new one when it is done.
    const pending = [f, d, t].some((x) => x.status === 200 && x.data.refreshing);
    if (pending && (polls || 0) < 300) {
      await sleep(2000);
      if (gen === govGen) await loadGovernance(false, (polls || 0) + 1);
    }
  }
  function startGovernance() {
    const u = new URLSearchParams(location.search);
    $('gov-agent').value = u.get('agent') || '';
    if (u.get('days')) $('gov-days').value = u.get('days');
    $('gov-filter').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const u = new URLSearchParams(location.search);
      history.replaceState(null, '', '/ui/governance' + qs({
        agent: $('gov-agent').value.trim(), days: $('gov-days').value,
        min_runs: u.get('min_runs'), min_days: u.get('min_days')}));
      loadGovernance(false).catch(() => {});
    });
    $('gov-refresh').addEventListener('click', () => { loadGovernance(true).catch(() => {}); });
    loadGovernance(false).catch(() => {});
  }

  const STARTS = {runs: startRuns, run: startRun, audit: startAudit, kill: startKill,
                  metrics: startMetrics, governance: startGovernance};
  let started = false;
  window.InterlockConsole = {
    start(page) {
      I = window.Interlock;
      if (poll) { clearInterval(poll); poll = null; }
      if (started) { location.reload(); return; }  // signed in again: fresh listeners
      started = true;
      const fn = STARTS[page];
      if (fn) Promise.resolve(fn()).catch(() => {});
    },
    // Signed out: the page's polling stops (no request without credentials).
    stop() {
      if (poll) { clearInterval(poll); poll = null; }
    },
  };
})();
