'use strict';
(function () {
  const KEY = 'interlock_token';
  const $ = (id) => document.getElementById(id);
  let selected = null;
  let timer = null;
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

  // A console page saw 401/403 on a read: back to sign-in with the reason.
  function signedOut(status) {
    sessionStorage.removeItem(KEY);
    oidc = null;
    if (timer) clearInterval(timer);
    $('signin-error').textContent = status === 401 ? 'That token is not valid.'
        : 'That token cannot use the console (use a reviewer or admin token).';
    show('signin');
  }

  function fmtLeft(s) {
    if (s <= 0) return 'due now';
    const m = Math.floor(s / 60), r = s % 60;
    return (m > 0 ? m + ' min ' : '') + r + ' s left';
  }

  function item(a) {
    const li = el('li');
    li.dataset.id = a.approval_id;
    li.appendChild(el('div', a.tool, 'tool'));
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
    const list = $('pending');
    list.replaceChildren(...pending.map(item));
    $('pending-count').textContent = pending.length;
    $('pending-empty').hidden = pending.length > 0;
    if (d.status === 200) $('history').replaceChildren(...d.data.approvals.map(item));
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
    $('d-title').textContent = a.tool + ' \u2014 ' + a.approval_id;
    const st = $('d-state');
    st.className = 'state ' + a.state;
    st.textContent = a.state === 'pending'
        ? 'Pending: ' + a.approvals + ' of ' + a.required + ' approval(s)'
        : a.state.replace('_', ' ') + (a.outcome_reason ? ': ' + a.outcome_reason : '');
    const facts = $('d-facts');
    facts.replaceChildren();
    const cls = a.classification || {};
    const add = (k, v) => { facts.appendChild(el('dt', k)); facts.appendChild(el('dd', v)); };
    add('Agent', a.agent_id);
    add('Identity', a.identity || a.principal);
    add('Run', a.run_id);
    add('Tool', a.tool);
    add('Reversible', cls.reversible === undefined ? 'unknown' : (cls.reversible ? 'yes' : 'no'));
    add('Blast radius', cls.blast_radius || 'unknown');
    const left = $('d-left') || el('dd');
    left.id = 'd-left';
    facts.appendChild(el('dt', 'Time left'));
    facts.appendChild(left);
    deadline = a.state === 'pending' ? Date.now() + a.time_left_s * 1000 : null;
    tick();
    const dec = a.decision || {};
    $('d-why').textContent = a.state === 'pending'
        ? (dec.reason || '') + (dec.rule ? ' (rule ' + dec.rule + ')' : '')
        : (a.outcome_reason || '');
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
      row(run, [new Date(c.at).toLocaleTimeString(), c.tool, c.code, c.reason],
          c['this'] ? 'this' : '');
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
    if (selected) loadDetail(selected, true); else $('detail').hidden = true;
  }

  function start() {
    show('app');
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
    $('signout').addEventListener('click', () => {
      if (oidc) {
        fetch('/ui/oidc/logout', {method: 'POST', headers: headers(), credentials: 'same-origin'})
            .catch(() => {});
        oidc = null;
      }
      sessionStorage.removeItem(KEY);
      if (timer) clearInterval(timer);
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
