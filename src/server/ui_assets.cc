// The reviewer page (docs/approvals.md#the-page). Kept dependency-free on purpose: one
// HTML file, one stylesheet, one script; every value from the API is inserted with
// textContent (never innerHTML), and the token lives in sessionStorage and travels only
// in the Authorization header.
#include "server/ui_assets.h"

#include <array>
#include <utility>

namespace interlock::server {
namespace {

constexpr std::string_view kIndexHtml = R"ui(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Interlock approvals</title>
<link rel="stylesheet" href="/ui/app.css">
<script src="/ui/app.js" defer></script>
</head>
<body>
<header>
  <h1>Interlock approvals</h1>
  <span id="who"></span>
  <button id="signout" type="button" hidden>Sign out</button>
</header>
<main>
  <section id="signin-view" hidden>
    <h2>Sign in</h2>
    <p>Paste a reviewer token (<code>interlock token create --reviewer NAME</code>).
       It is kept in this tab only.</p>
    <form id="signin-form" autocomplete="off">
      <input id="token" type="password" placeholder="ilk_..." aria-label="Reviewer token">
      <button id="signin" type="submit">Sign in</button>
    </form>
    <p id="signin-error" class="error" role="alert"></p>
  </section>
  <section id="app-view" hidden>
    <p id="status" class="status" role="status"></p>
    <div class="columns">
      <div class="lists">
        <h2>Pending <span id="pending-count" class="badge">0</span></h2>
        <ul id="pending" class="items"></ul>
        <p id="pending-empty" class="muted">Nothing is waiting for you.</p>
        <h2>History</h2>
        <ul id="history" class="items"></ul>
      </div>
      <article id="detail" hidden>
        <h2 id="d-title"></h2>
        <p id="d-state" class="state"></p>
        <dl id="d-facts"></dl>
        <h3>Why approval is required</h3>
        <p id="d-why"></p>
        <h3>Arguments</h3>
        <table id="d-args" class="kv"></table>
        <h3 id="d-reh-h" hidden>Rehearsal</h3>
        <pre id="d-reh" hidden></pre>
        <h3>Run so far</h3>
        <table id="d-run" class="run"></table>
        <h3>Votes</h3>
        <ul id="d-votes"></ul>
        <form id="vote-form" hidden>
          <label for="comment">Comment</label>
          <textarea id="comment" rows="3" maxlength="1024"
                    placeholder="What did you check?"></textarea>
          <div class="buttons">
            <button id="approve" type="button" class="approve">Approve</button>
            <button id="deny" type="button" class="deny">Deny</button>
          </div>
        </form>
        <p id="vote-error" class="error" role="alert"></p>
      </article>
    </div>
  </section>
</main>
</body>
</html>
)ui";

constexpr std::string_view kAppCss = R"ui(*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
  color:#1b1f24;background:#f5f6f8}
header{display:flex;align-items:center;gap:12px;padding:10px 16px;background:#1b1f24;color:#fff}
header h1{font-size:17px;margin:0;flex:1}
header button{background:transparent;color:#fff;border:1px solid #fff6}
main{padding:12px 16px;max-width:1200px;margin:0 auto}
h2{font-size:16px;margin:14px 0 8px}
h3{font-size:14px;margin:14px 0 4px;color:#444}
button{font:inherit;padding:8px 14px;border-radius:6px;border:1px solid #bbb;background:#fff;
  cursor:pointer;min-height:40px}
input,textarea{font:inherit;width:100%;padding:8px;border:1px solid #bbb;border-radius:6px}
#signin-form{display:flex;gap:8px}
#signin-form input{flex:1}
.columns{display:grid;grid-template-columns:minmax(260px,1fr) 2fr;gap:16px;align-items:start}
.items{list-style:none;margin:0;padding:0}
.items li{background:#fff;border:1px solid #dde;border-radius:8px;padding:10px;margin:0 0 8px;
  cursor:pointer}
.items li.selected{border-color:#2563eb;box-shadow:0 0 0 2px #2563eb33}
.items .tool{font-weight:600}
.items .meta{color:#555;font-size:13px}
.badge{background:#2563eb;color:#fff;border-radius:10px;padding:0 8px;font-size:13px}
article{background:#fff;border:1px solid #dde;border-radius:8px;padding:14px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 12px;margin:0}
dt{color:#555}dd{margin:0;word-break:break-all}
table{border-collapse:collapse;width:100%;font-size:13px}
td,th{border-bottom:1px solid #eee;padding:4px 6px;text-align:left;vertical-align:top;
  word-break:break-all}
tr.this td{background:#fff7d6}
.masked{color:#888;font-style:italic}
.state{font-weight:600}
.state.pending{color:#b45309}.state.granted{color:#15803d}
.state.denied,.state.timed_out,.state.cancelled{color:#b91c1c}.state.withdrawn{color:#6b7280}
.buttons{display:flex;gap:8px;margin-top:8px}
.buttons button{flex:1;color:#fff;border:0}
.approve{background:#15803d}.deny{background:#b91c1c}
.error{color:#b91c1c}.muted{color:#777}.status{color:#555;font-size:13px;margin:0}
@media (max-width:720px){
  .columns{grid-template-columns:1fr}
  header h1{font-size:15px}
  main{padding:8px}
}
)ui";

constexpr std::string_view kAppJs = R"ui('use strict';
(function () {
  const KEY = 'interlock_token';
  const $ = (id) => document.getElementById(id);
  let selected = null;
  let timer = null;
  let deadline = null;

  function token() { return sessionStorage.getItem(KEY) || ''; }

  async function api(method, path, body) {
    const opts = {method, headers: {'Authorization': 'Bearer ' + token()}, cache: 'no-store'};
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
    $('signin-view').hidden = view !== 'signin';
    $('app-view').hidden = view !== 'app';
    $('signout').hidden = view !== 'app';
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
    if (resetComment) { $('comment').value = ''; $('vote-error').textContent = ''; }
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

  async function vote(verdict) {
    if (!selected) return;
    $('vote-error').textContent = '';
    const r = await api('POST', '/v1/approvals/' + encodeURIComponent(selected),
                        {verdict, comment: $('comment').value});
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
    route();
    refresh();
    if (timer) clearInterval(timer);
    timer = setInterval(() => { refresh().catch(() => {}); }, 1500);
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
      sessionStorage.removeItem(KEY);
      if (timer) clearInterval(timer);
      show('signin');
    });
    $('approve').addEventListener('click', () => vote('approve'));
    $('deny').addEventListener('click', () => vote('deny'));
    window.addEventListener('hashchange', route);
    setInterval(tick, 1000);
    if (token()) start(); else show('signin');
  });
})();
)ui";

constexpr std::array<std::pair<std::string_view, UiAsset>, 4> kAssets = {{
    {"", {"text/html; charset=utf-8", kIndexHtml}},
    {"index.html", {"text/html; charset=utf-8", kIndexHtml}},
    {"app.css", {"text/css; charset=utf-8", kAppCss}},
    {"app.js", {"text/javascript; charset=utf-8", kAppJs}},
}};

}  // namespace

const UiAsset* FindUiAsset(std::string_view path) {
  for (const auto& [name, asset] : kAssets) {
    if (name == path) return &asset;
  }
  return nullptr;
}

}  // namespace interlock::server
