// The console page: one HTML document for every view (app.js picks the view by path).
// Part of the console's assets (ui_assets.h); compiled in, served as is.
#include "server/ui_assets_internal.h"

namespace interlock::server {

extern const std::string_view kUiIndexHtml = R"ui(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Interlock console</title>
<link rel="stylesheet" href="/ui/app.css">
<script src="/ui/app.js" defer></script>
<script src="/ui/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
  <h1>Interlock</h1>
  <nav id="nav" aria-label="Console" hidden>
    <a href="/ui/" data-page="approvals">Approvals</a>
    <a href="/ui/runs" data-page="runs">Runs</a>
    <a href="/ui/audit" data-page="audit">Audit</a>
    <a href="/ui/kill" data-page="kill">Kill switch</a>
    <a href="/ui/metrics" data-page="metrics">Metrics</a>
    <a href="/ui/governance" data-page="governance">Governance</a>
  </nav>
  <span id="whoami" class="muted" hidden></span>
  <button id="signout" type="button" hidden>Sign out</button>
</header>
<main id="main" tabindex="-1">
  <section id="signin-view" hidden>
    <h2>Sign in</h2>
    <p id="oidc-signin" hidden><a id="oidc-login" class="button" href="/ui/oidc/login">Sign in
       with <span id="oidc-provider"></span></a></p>
    <p>Paste a reviewer or admin token (<code>interlock token create --reviewer NAME</code>).
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
  <section id="runs-view" hidden>
    <h2>Runs</h2>
    <form id="runs-filter" class="filters" autocomplete="off">
      <label>Agent <input id="runs-agent" type="text" placeholder="any agent"></label>
      <label>State
        <select id="runs-state">
          <option value="">any</option><option value="active">active</option>
          <option value="ended">ended</option><option value="halted">halted</option>
        </select>
      </label>
      <button type="submit">Show</button>
    </form>
    <p id="runs-status" class="status" role="status"></p>
    <ul id="runs-list" class="items cards"></ul>
    <button id="runs-more" type="button" hidden>Older runs</button>
  </section>
  <section id="run-view" hidden>
    <p><a href="/ui/runs">&larr; All runs</a></p>
    <h2 id="run-title"></h2>
    <p id="run-chain" class="chain" role="status"></p>
    <dl id="run-facts"></dl>
    <div id="run-budgets" class="budgets"></div>
    <h3>Timeline</h3>
    <ol id="timeline" class="timeline"></ol>
    <p id="run-error" class="error" role="alert"></p>
  </section>
  <section id="audit-view" hidden>
    <h2>Audit search</h2>
    <form id="audit-filter" class="filters" autocomplete="off">
      <label>Agent <input id="a-agent" type="text"></label>
      <label>Tool <input id="a-tool" type="text"></label>
      <label>Code <input id="a-code" type="text" placeholder="e.g. TOOL_BLOCKED"></label>
      <label>Run <input id="a-run" type="text"></label>
      <label>From <input id="a-since" type="datetime-local"></label>
      <label>To <input id="a-until" type="datetime-local"></label>
      <label>Text <input id="a-text" type="text" placeholder="substring of the record"></label>
      <div class="buttons-inline">
        <button id="a-search" type="submit">Search</button>
        <button id="a-export" type="button">Export JSON lines</button>
      </div>
    </form>
    <p id="audit-status" class="status" role="status"></p>
    <div class="scroll-x">
      <table id="audit-table" class="records">
        <thead><tr><th>Seq</th><th>Time</th><th>Type</th><th>Agent</th><th>Tool</th>
          <th>Code</th><th>Detail</th></tr></thead>
        <tbody id="audit-rows"></tbody>
      </table>
    </div>
    <button id="audit-more" type="button" hidden>Older records</button>
  </section>
  <section id="kill-view" hidden>
    <h2>Kill switch</h2>
    <p class="muted">Admins only: the daemon refuses other tokens. Engaging denies every
      call the switch covers at once (code KILL_SWITCH) until it is released.</p>
    <h3>Engaged now</h3>
    <ul id="kill-current" class="items"></ul>
    <p id="kill-none" class="muted">No kill switch is engaged.</p>
    <h3>Engage</h3>
    <form id="kill-form" autocomplete="off">
      <label>Scope
        <select id="kill-scope">
          <option value="global">global (every agent)</option>
          <option value="agent">one agent</option>
          <option value="run">one run</option>
        </select>
      </label>
      <label id="kill-target-l" hidden>Agent or run id <input id="kill-target" type="text"></label>
      <label>Reason <input id="kill-reason" type="text" maxlength="1024" required></label>
      <label>Type <strong id="kill-phrase"></strong> to confirm
        <input id="kill-confirm" type="text"></label>
      <button id="kill-engage" type="submit" class="deny">Engage kill switch</button>
    </form>
    <p id="kill-error" class="error" role="alert"></p>
    <h3>History</h3>
    <ul id="kill-history" class="items"></ul>
  </section>
  <section id="metrics-view" hidden>
    <h2>Metrics at a glance</h2>
    <p id="metrics-status" class="status" role="status"></p>
    <div class="tiles">
      <div class="tile"><span class="label">Decisions/s</span><span id="m-rate">&ndash;</span></div>
      <div class="tile"><span class="label">Denial rate</span><span id="m-deny">&ndash;</span></div>
      <div class="tile"><span class="label">Pending approvals</span><span id="m-pending">&ndash;</span></div>
      <div class="tile"><span class="label">Decision p99</span><span id="m-p99">&ndash;</span></div>
      <div class="tile"><span class="label">Active runs</span><span id="m-runs">&ndash;</span></div>
      <div class="tile"><span class="label">Kill switches engaged</span><span id="m-kills">&ndash;</span></div>
    </div>
    <h3>Decisions by code (since the daemon started; per second over the last interval)</h3>
    <table id="m-codes" class="records"></table>
  </section>
  <section id="governance-view" hidden>
    <h2>Governance</h2>
    <p class="muted">Admins only. Drift and approval fatigue over the last days chosen
      below; the trust ledger over the whole retained log (docs/governance.md).</p>
    <form id="gov-filter" class="filters" autocomplete="off">
      <label>Agent <input id="gov-agent" type="text" placeholder="every agent"></label>
      <label>Days <input id="gov-days" type="number" min="1" max="3650" value="30"></label>
      <button type="submit">Show</button>
      <button type="button" id="gov-refresh">Recompute now</button>
    </form>
    <p id="gov-status" class="status" role="status"></p>
    <h3 id="gov-fatigue-h">Approval fatigue per reviewer</h3>
    <p id="gov-fatigue-asof" class="muted asof"></p>
    <p id="gov-fatigue-model" class="muted"></p>
    <ul id="gov-fatigue" class="items cards" aria-labelledby="gov-fatigue-h"></ul>
    <div class="pager" id="gov-fatigue-pager"></div>
    <h3 id="gov-drift-h">Permission drift per agent</h3>
    <p id="gov-drift-asof" class="muted asof"></p>
    <ul id="gov-drift" class="items cards" aria-labelledby="gov-drift-h"></ul>
    <div class="pager" id="gov-drift-pager"></div>
    <h3 id="gov-trust-h">Trust ledger per action type</h3>
    <p id="gov-trust-asof" class="muted asof"></p>
    <ul id="gov-trust" class="items cards" aria-labelledby="gov-trust-h"></ul>
    <div class="pager" id="gov-trust-pager"></div>
  </section>
</main>
</body>
</html>
)ui";

}  // namespace interlock::server
