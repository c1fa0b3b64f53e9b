'use strict';
(function () {
  const KEY = 'interlock_token';
  const $ = (id) => document.getElementById(id);
  let selected = null;
  let timer = null;
  let bannerTimer = null;  // the kill switch banner's (killBanner)
  let deadline = null;
  // Which console page this is (docs/console.md): /ui/ is the approvals page.
  const PAGE = (function () {
    const p = location.pathname.replace(/\/+$/, '');
    if (p === '/ui' || p === '/ui/index.html') return 'approvals';
    if (/^\/ui\/runs\/[A-Za-z0-9._:-]+$/.test(p)) return 'run';
    const m = p.match(/^\/ui\/(runs|audit|kill|metrics|governance)$/);
    return m ? m[1] : 'approvals';
  })();
  const VIEWS = {approvals: 'app-view', runs: 'runs-view', run: 'run-view', audit: 'audit-view',
                 kill: 'kill-view', metrics: 'metrics-view',
                 governance: 'governance-view'};

  function token() { return sessionStorage.getItem(KEY) || ''; }
  // Signed in with OpenID Connect: {name, role, csrf} of GET /ui/oidc/session. The session
  // cookie (HttpOnly) goes along by itself; changes carry the CSRF token.
  let oidc = null;
  function headers() {
    if (oidc) return {'X-Interlock-CSRF': oidc.csrf};
    return {'Authorization': 'Bearer ' + token()};
  }

  async function api(method, path, body) {
    const opts = {method, headers: headers(), cache: 'no-store', credentials: 'same-origin'};
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    const res = await fetch(path, opts);
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    return {status: res.status, data};
  }

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function show(view) {
    const target = view === 'signin' ? 'signin-view' : VIEWS[PAGE];
    for (const id of ['signin-view', ...Object.values(VIEWS)]) $(id).hidden = id !== target;
    $('signout').hidden = view === 'signin';
    $('whoami').hidden = view === 'signin' || !oidc;
    if (oidc) $('whoami').textContent = 'Signed in as ' + oidc.name + ' (' + oidc.role + ')';
    $('nav').hidden = view === 'signin';
  }

  // Signed out (or refused): nothing polls any more, neither the page's list nor the kill
  // switch banner, so no request leaves without credentials (each would be a 401).
  function stopPolling() {
    if (timer) clearInterval(timer);
    timer = null;
    if (bannerTimer) clearInterval(bannerTimer);
    bannerTimer = null;
    if (window.InterlockConsole) window.InterlockConsole.stop();
  }

  // A console page saw 401/403 on a read: back to sign-in with the reason.
  function signedOut(status) {
    stopPolling();
    sessionStorage.removeItem(KEY);
    oidc = null;
    $('signin-error').textContent = status === 401 ? 'That token is not valid.'
        : 'That token cannot use the console (use a reviewer or admin token).';
    show('signin');
  }

  function fmtLeft(s) {
    if (s <= 0) return 'due now';
    const m = Math.floor(s / 60), r = s % 60;
    return (m > 0 ? m + ' min ' : '') + r + ' s left';
  }

  // Each approval's arguments as stored (redacted), fetched once per approval for the list's
  // previews (GET /v1/approvals/{id}; the arguments of an approval never change).
  const argsCache = new Map();
  const MAX_PREVIEW_FETCHES = 20;  // per refresh; the rest on the next ones

  async function fetchArgs(approvals) {
    const missing = approvals.filter((a) => !argsCache.has(a.approval_id))
        .slice(0, MAX_PREVIEW_FETCHES);
    await Promise.all(missing.map(async (a) => {
      const r = await api('GET', '/v1/approvals/' + encodeURIComponent(a.approval_id));
      if (r.status === 200 && r.data) argsCache.set(a.approval_id, r.data.args || {});
    }));
  }

  function isMasked(v) { return typeof v === 'string' && v.startsWith('hmac-sha256:'); }

  // One argument's value, one line, at most `max` characters.
  function shortValue(v, max) {
    const text = (typeof v === 'string' ? v : JSON.stringify(v)).replace(/\s+/g, ' ').trim();
    return text.length > max ? text.slice(0, max - 1) + '\u2026' : text;
  }

  // A card's preview: three of its arguments, those that tell it apart from the other
  // pending cards of the same tool first (the argument differing from the most of them;
  // redacted ones never: their hashes differ by design), so two cards of one tool read
  // differently. null: the arguments are not loaded yet.
  function preview(a, peers) {
    const args = argsCache.get(a.approval_id);
    if (!args) return null;
    const others = peers.filter((p) => p.tool === a.tool && p.approval_id !== a.approval_id)
        .map((p) => argsCache.get(p.approval_id)).filter(Boolean);
    const differs = (k) => others.filter(
        (o) => JSON.stringify(o[k]) !== JSON.stringify(args[k])).length;
    const keys = Object.keys(args).filter((k) => !isMasked(args[k]));
    const rank = new Map(keys.map((k) => [k, differs(k)]));
    const shown = keys.slice().sort((x, y) => rank.get(y) - rank.get(x)).slice(0, 3);
    if (shown.length === 0) return Object.keys(args).length ? '(arguments redacted)' : '(no arguments)';
    return shown.map((k) => k + ': ' + shortValue(args[k], 48)).join(' \u00b7 ');
  }

  function item(a, peers) {
    const li = el('li');
    li.dataset.id = a.approval_id;
    li.appendChild(el('div', a.tool, 'tool'));
    const pv = preview(a, peers || []);
    if (pv !== null) li.appendChild(el('div', pv, 'args'));
    let meta = a.agent_id + ' \u00b7 run ' + a.run_id;
    if (a.state === 'pending') {
      meta += ' \u00b7 ' + fmtLeft(a.time_left_s) + ' \u00b7 ' + a.approvals + '/' + a.required;
    } else {
      meta += ' \u00b7 ' + a.state;
    }
    li.appendChild(el('div', meta, 'meta'));
    if (a.approval_id === selected) li.classList.add('selected');
    li.addEventListener('click', () => { location.hash = '#/approvals/' + a.approval_id; });
    return li;
  }

  async function refresh() {
    const [p, d] = await Promise.all([
      api('GET', '/v1/approvals?state=pending'),
      api('GET', '/v1/approvals?state=decided&limit=50')]);
    if (p.status === 401 || p.status === 403) {
      sessionStorage.removeItem(KEY);
      oidc = null;
      $('signin-error').textContent = p.status === 401 ? 'That token is not valid.'
          : 'That token cannot review approvals (use a reviewer or admin token).';
      show('signin');
      return;
    }
    if (p.status !== 200) { $('status').textContent = 'Cannot reach the daemon.'; return; }
    $('status').textContent = 'Updated ' + new Date().toLocaleTimeString();
    const pending = p.data.approvals;
    await fetchArgs(pending);
    const list = $('pending');
    list.replaceChildren(...pending.map((a) => item(a, pending)));
    $('pending-count').textContent = pending.length;
    $('pending-empty').hidden = pending.length > 0;
    if (d.status === 200) {
      $('history').replaceChildren(...d.data.approvals.map((a) => item(a, [])));
    }
    if (selected) await loadDetail(selected, false);
  }

  function row(table, cells, cls) {
    const tr = el('tr', null, cls);
    for (const c of cells) {
      const td = el('td');
      if (c instanceof Node) td.appendChild(c); else td.textContent = c;
      tr.appendChild(td);
    }
    table.appendChild(tr);
  }

  function valueNode(v) {
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    if (typeof v === 'string' && v.startsWith('hmac-sha256:')) {
      return el('span', '\u2022\u2022\u2022\u2022\u2022\u2022 (redacted)', 'masked');
    }
    return el('span', text);
  }

  async function loadDetail(id, resetComment) {
    const r = await api('GET', '/v1/approvals/' + encodeURIComponent(id));
    const box = $('detail');
    if (r.status !== 200) { box.hidden = true; return; }
    const a = r.data;
    box.hidden = false;
    box.dataset.id = a.approval_id;
    box.dataset.state = a.state;
    $('d-title').textContent = a.tool;
    $('d-sub').textContent = a.agent_id + ' \u00b7 run ' + a.run_id + ' \u00b7 ' + a.approval_id;
    // The state line: while pending, the votes and the time left; once decided, the outcome
    // (who decided, why), on its own line, never in "why approval is required".
    const st = $('d-state');
    st.className = 'state ' + a.state;
    const left = $('d-left') || el('span');
    left.id = 'd-left';
    if (a.state === 'pending') {
      st.replaceChildren('Pending \u00b7 ' + a.approvals + ' of ' + a.required +
                         ' approval' + (a.required === 1 ? '' : 's') + ' \u00b7 ', left);
    } else {
      const name = a.state.replace('_', ' ');
      st.replaceChildren('Outcome: ' + name + (a.outcome_reason ? ' \u2014 ' + a.outcome_reason : ''));
    }
    deadline = a.state === 'pending' ? Date.now() + a.time_left_s * 1000 : null;
    tick();
    const facts = $('d-facts');
    facts.replaceChildren();
    const add = (k, v) => { facts.appendChild(el('dt', k)); facts.appendChild(el('dd', v)); };
    add('Agent', a.agent_id);
    add('Identity', a.identity || a.principal);
    add('Run', a.run_id);
    add('Tool', a.tool);
    const cls = a.classification || {};
    add('Reversible', classified(cls, 'reversible', (v) => (v ? 'yes' : 'no')));
    add('Blast radius', classified(cls, 'blast_radius', (v) => String(v)));
    add('Approval', a.approval_id);
    const dec = a.decision || {};
    showWhy(a, dec);
    const args = $('d-args');
    args.replaceChildren();
    for (const [k, v] of Object.entries(a.args || {})) row(args, [k, valueNode(v)]);
    // A granted edit: the arguments the call ran with instead (a redacted field's new value
    // comes as its hash, shown masked like the agent's).
    const edit = $('d-edit');
    edit.replaceChildren();
    const edited = a.state !== 'pending' && dec.arguments && typeof dec.arguments === 'object'
        ? dec.arguments : null;
    $('d-edit-h').hidden = edit.hidden = !edited;
    for (const [k, v] of Object.entries(edited || {})) row(edit, [k, valueNode(v)]);
    // What the call's rehearsal showed (text only, never markup), beside the arguments.
    const reh = a.rehearsal;
    $('d-reh-h').hidden = $('d-reh').hidden = !reh;
    $('d-reh').textContent = reh
        ? (reh.ok ? 'succeeded' : 'failed') + ' (call ' + (reh.call_id || '?') + '): ' +
          (reh.output || reh.error || '')
        : '';
    const run = $('d-run');
    run.replaceChildren();
    for (const c of a.run_calls || []) {
      // Cells by kind: a time and a code never break inside (app.css, "Run so far").
      const tr = el('tr', null, c['this'] ? 'this' : '');
      tr.append(el('td', new Date(c.at).toLocaleTimeString(), 'at'), el('td', c.tool, 'tool'),
                el('td', c.code, 'code'), el('td', c.reason, 'reason'));
      run.appendChild(tr);
    }
    const votes = $('d-votes');
    votes.replaceChildren(...(a.votes || []).map(
        (v) => el('li', v.reviewer + ': ' + v.verdict + (v.comment ? ' \u2014 ' + v.comment : ''))));
    $('vote-form').hidden = a.state !== 'pending';
    // "Edit arguments" (docs/approvals.md, "Editing the arguments"): a JSON editor, only for
    // an approval one person decides (two-person approvals cannot be edited).
    ensureEditor();
    $('edit-box').hidden = a.state !== 'pending' || a.required > 1;
    // "For the rest of this run" (docs/approvals.md): never offered for an irreversible
    // tool or one that needs two approvers (the daemon refuses those too).
    ensureForRun();
    $('run-box').hidden = a.state !== 'pending' || a.required > 1 || cls.reversible === false;
    if (resetComment) {
      $('comment').value = '';
      $('vote-error').textContent = '';
      $('edit-on').checked = false;
      $('for-run').checked = false;
      $('edit-args').hidden = true;
      $('edit-args').value = JSON.stringify(a.args || {}, null, 2);
      redacted = a.redacted_fields || [];
    }
    for (const li of document.querySelectorAll('.items li')) {
      li.classList.toggle('selected', li.dataset.id === id);
    }
  }

  // A classification the policy states, or "not classified" when the tool's rule does not
  // write it (classification.stated, docs/api.md): the value is then a default, not a fact.
  // A daemon without `stated` is taken at its word; no classification at all: "unknown".
  function classified(cls, key, fmt) {
    if (!(key in cls)) return 'unknown';
    if (Array.isArray(cls.stated) && !cls.stated.includes(key)) return 'not classified';
    return fmt(cls[key]);
  }

  // The decision that asked for approval, per approval: while pending it is the call's
  // decision; once decided the call's decision is the outcome ("approved by rita"), and the
  // rule that asked is read from the call's APPROVAL_REQUIRED record in the audit log.
  const requirements = new Map();

  async function requirementOf(a) {
    if (requirements.has(a.approval_id)) return requirements.get(a.approval_id);
    const q = new URLSearchParams({run_id: a.run_id, type: 'decision', code: 'APPROVAL_REQUIRED',
                                   q: a.call_id, limit: '10'});
    const r = await api('GET', '/v1/audit?' + q.toString());
    let found = null;
    if (r.status === 200 && r.data && Array.isArray(r.data.records)) {
      const rec = r.data.records.find((x) => x.call_id === a.call_id);
      if (rec && rec.data && rec.data.decision) found = rec.data.decision;
    }
    if (r.status === 200) requirements.set(a.approval_id, found);
    return found;
  }

  // "Why approval is required": the reason, then the rule and where it is written.
  function whyNodes(d) {
    const nodes = [el('span', d.reason || 'The policy requires approval for this call.', 'reason')];
    if (d.rule) {
      const rule = el('span', null, 'rule');
      rule.append('Rule ', el('code', d.rule));
      if (d.at) rule.append(' at ', el('code', d.at));
      nodes.push(rule);
    }
    return nodes;
  }

  function showWhy(a, dec) {
    const why = $('d-why');
    if (a.state === 'pending' || dec.code === 'APPROVAL_REQUIRED') {
      why.replaceChildren(...whyNodes(dec));
      why.dataset.id = a.approval_id;
      return;
    }
    if (why.dataset.id !== a.approval_id) why.replaceChildren(el('span', '\u2026', 'muted'));
    why.dataset.id = a.approval_id;
    requirementOf(a).then((d) => {
      if (selected !== a.approval_id) return;
      why.replaceChildren(...(d ? whyNodes(d)
          : [el('span', 'The call\u2019s APPROVAL_REQUIRED record is not in the audit log ' +
                        '(pruned, or not readable).', 'muted')]));
    }).catch(() => {});
  }

  function tick() {
    const left = $('d-left');
    if (!left) return;
    left.textContent = deadline === null ? '\u2014'
        : fmtLeft(Math.max(0, Math.round((deadline - Date.now()) / 1000)));
  }

  let redacted = [];

  // A box `boxId` at the top of the vote form holding a labelled checkbox `id` (text only,
  // never markup), built once; returns the box and the checkbox, or null when built.
  function voteFormCheckbox(boxId, id, text) {
    if ($(boxId)) return null;
    const box = el('div');
    box.id = boxId;
    const on = document.createElement('input');
    on.type = 'checkbox';
    on.id = id;
    on.style.width = 'auto';
    const label = el('label', ' ' + text);
    label.setAttribute('for', id);
    box.append(on, label);
    const form = $('vote-form');
    form.insertBefore(box, form.firstChild);
    return {box, on};
  }

  // The editor, built once inside the vote form.
  function ensureEditor() {
    const made = voteFormCheckbox('edit-box', 'edit-on', 'Edit arguments before approving');
    if (made === null) return;
    const area = document.createElement('textarea');
    area.id = 'edit-args';
    area.rows = 8;
    area.spellcheck = false;
    area.hidden = true;
    area.setAttribute('aria-label', 'Edited arguments (JSON object)');
    made.on.addEventListener('change', () => { area.hidden = !made.on.checked; });
    // A complaint about the edit goes once the reviewer changes it.
    area.addEventListener('input', () => { $('vote-error').textContent = ''; });
    made.box.append(area);
  }

  // The "for the rest of this run" choice, built once inside the vote form.
  function ensureForRun() {
    voteFormCheckbox('run-box', 'for-run', 'Approve this tool for the rest of this run');
  }

  // The edited arguments, checked before sending (the server checks again): a JSON object,
  // with no redacted value carried over as its hash. null: not editing; an Error: invalid.
  function editedArguments() {
    if (!$('edit-on') || !$('edit-on').checked) return null;
    let v;
    try {
      v = JSON.parse($('edit-args').value);
    } catch (e) {
      return new Error('The edited arguments are not valid JSON: ' + e.message);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      return new Error('The edited arguments must be a JSON object');
    }
    for (const f of redacted) {
      if (typeof v[f] === 'string' && v[f].startsWith('hmac-sha256:')) {
        return new Error('"' + f + '" is redacted: type its new value or remove it');
      }
    }
    return v;
  }

  async function vote(verdict) {
    if (!selected) return;
    $('vote-error').textContent = '';
    const body = {verdict, comment: $('comment').value};
    if (verdict === 'approve') {
      const edited = editedArguments();
      if (edited instanceof Error) { $('vote-error').textContent = edited.message; return; }
      if (edited !== null) body.arguments = edited;
      if ($('for-run') && $('for-run').checked) body.scope = 'run';
    }
    const r = await api('POST', '/v1/approvals/' + encodeURIComponent(selected), body);
    if (r.status !== 200) {
      $('vote-error').textContent = (r.data && r.data.reason) || ('Error ' + r.status);
    } else {
      $('comment').value = '';
    }
    await refresh();
  }

  function route() {
    const m = location.hash.match(/^#\/approvals\/([A-Za-z0-9_-]+)$/);
    selected = m ? m[1] : null;
    if (!selected) { $('detail').hidden = true; return; }
    // A phone shows the approval above the lists (app.css): opening one (a notification's
    // link, or a tap on a card further down) starts at the top, on the decision.
    loadDetail(selected, true).then(() => {
      if (window.matchMedia('(max-width: 720px)').matches) window.scrollTo(0, 0);
    }).catch(() => {});
  }

  const RETURN_KEY = 'interlock_return_hash';

  // A banner on every page while any kill switch is engaged (GET /v1/kill, every 5 s).
  async function killBanner() {
    const r = await api('GET', '/v1/kill');
    const box = document.getElementById('kill-banner');
    if (!box || r.status !== 200 || !r.data || !Array.isArray(r.data.kill_switches)) return;
    const on = r.data.kill_switches.filter((k) => k.engaged);
    box.hidden = on.length === 0;
    box.textContent = on.length === 0 ? '' : 'Kill switch engaged: ' + on.map((k) =>
        k.scope + (k.target ? ' ' + k.target : '') + ' \u2014 ' + (k.reason || 'no reason') +
        ' (by ' + (k.actor || '?') + ')').join('; ');
  }

  function start() {
    show('app');
    killBanner().catch(() => {});
    if (!bannerTimer) bannerTimer = setInterval(() => { killBanner().catch(() => {}); }, 5000);
    // Back from the OpenID Connect provider: the approval link the reviewer opened (the
    // provider's redirect cannot carry the #fragment).
    const back = sessionStorage.getItem(RETURN_KEY);
    sessionStorage.removeItem(RETURN_KEY);
    if (back && !location.hash && PAGE === 'approvals') history.replaceState(null, '', back);
    if (PAGE !== 'approvals') {
      if (window.InterlockConsole) window.InterlockConsole.start(PAGE);
      return;
    }
    route();
    refresh();
    if (timer) clearInterval(timer);
    timer = setInterval(() => { refresh().catch(() => {}); }, 1500);
  }

  window.Interlock = {api, headers, el, row, valueNode, signedOut, page: PAGE};

  // OpenID Connect sign-in (docs/identity.md): the button when the daemon has a provider,
  // and the session when this browser is signed in.
  async function checkOidc() {
    let r = null;
    try {
      const res = await fetch('/ui/oidc/session', {cache: 'no-store', credentials: 'same-origin'});
      if (res.status === 200) r = await res.json();
    } catch (e) { r = null; }
    if (!r || !r.configured) return false;
    $('oidc-provider').textContent = r.provider;
    $('oidc-signin').hidden = false;
    if (!r.signed_in) return false;
    oidc = {name: r.name, role: r.role, csrf: r.csrf};
    return true;
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('signin-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const t = $('token').value.trim();
      if (!t) return;
      sessionStorage.setItem(KEY, t);
      $('token').value = '';
      $('signin-error').textContent = '';
      start();
    });
    $('oidc-login').addEventListener('click', () => {
      if (/^#\/approvals\/[A-Za-z0-9_-]+$/.test(location.hash)) {
        sessionStorage.setItem(RETURN_KEY, location.hash);
      }
    });
    $('signout').addEventListener('click', () => {
      stopPolling();
      if (oidc) {
        fetch('/ui/oidc/logout', {method: 'POST', headers: headers(), credentials: 'same-origin'})
            .catch(() => {});
        oidc = null;
      }
      sessionStorage.removeItem(KEY);
      show('signin');
    });
    for (const a of document.querySelectorAll('#nav a')) {
      if (a.dataset.page === PAGE || (PAGE === 'run' && a.dataset.page === 'runs')) {
        a.setAttribute('aria-current', 'page');
      }
    }
    $('approve').addEventListener('click', () => vote('approve'));
    $('deny').addEventListener('click', () => vote('deny'));
    if (PAGE === 'approvals') window.addEventListener('hashchange', route);
    setInterval(tick, 1000);
    if (token()) { start(); checkOidc().catch(() => {}); return; }
    show('signin');
    checkOidc().then((signedIn) => { if (signedIn) start(); }).catch(() => {});
  });
})();
