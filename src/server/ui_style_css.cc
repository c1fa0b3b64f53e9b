// The console stylesheet: readable at 390 px wide (no horizontal scroll) and on a desktop.
// Part of the console's assets (ui_assets.h); compiled in, served as is.
#include "server/ui_assets_internal.h"

namespace interlock::server {

extern const std::string_view kUiAppCss = R"ui(*{box-sizing:border-box}
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
.columns{display:grid;grid-template-columns:minmax(260px,1fr) minmax(0,2fr);gap:16px;align-items:start}
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
a.button{display:inline-block;padding:8px 14px;border-radius:6px;border:1px solid #bbb;
  text-decoration:none}
.buttons{display:flex;gap:8px;margin-top:8px}
.buttons button{flex:1;color:#fff;border:0}
.approve{background:#15803d}.deny{background:#b91c1c}
.error{color:#b91c1c}.muted{color:#777}.status{color:#555;font-size:13px;margin:0}
@media (max-width:720px){
  .columns{grid-template-columns:minmax(0,1fr)}
  header h1{font-size:15px}
  main{padding:8px}
}
.skip{position:absolute;left:-999px;top:0;background:#fff;color:#000;padding:6px}
.skip:focus{left:8px;z-index:10}
header{flex-wrap:wrap}
nav{display:flex;flex-wrap:wrap;gap:4px 12px;flex:10}
nav[hidden]{display:none}
nav a{color:#fff;text-decoration:none;padding:6px 4px;border-bottom:2px solid transparent}
nav a[aria-current="page"]{border-bottom-color:#60a5fa;font-weight:600}
a{color:#1d4ed8}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,
textarea:focus-visible,li:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
select{font:inherit;padding:8px;border:1px solid #bbb;border-radius:6px;background:#fff;width:100%}
.filters{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:8px;
  align-items:end;margin-bottom:10px}
.filters label{display:flex;flex-direction:column;font-size:13px;color:#444;gap:2px}
.buttons-inline{display:flex;gap:8px;flex-wrap:wrap}
.cards li{cursor:default}
.cards li a.run-link{font-weight:600;word-break:break-all}
.pill{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;background:#e5e7eb;
  color:#111;margin-left:6px}
.pill.active{background:#dbeafe}.pill.halted{background:#fee2e2;color:#991b1b}
.pill.ended{background:#e5e7eb}
.pill.ALLOWED,.pill.allow{background:#dcfce7;color:#14532d}
.pill.deny{background:#fee2e2;color:#991b1b}
.pill.approval_required{background:#fef3c7;color:#92400e}
.budgets,.meters{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:6px 14px;
  margin:6px 0}
.meter{font-size:13px;color:#333}
.meter progress{width:100%;height:10px}
.halt{color:#b91c1c;font-weight:600}
.chain{font-weight:600}.chain.ok{color:#15803d}.chain.bad{color:#b91c1c}
.timeline{list-style:none;padding:0;margin:0;counter-reset:step}
.timeline li{background:#fff;border:1px solid #dde;border-left:4px solid #9ca3af;border-radius:8px;
  padding:10px;margin:0 0 8px}
.timeline li.allow{border-left-color:#15803d}.timeline li.deny{border-left-color:#b91c1c}
.timeline li.approval_required{border-left-color:#b45309}
.timeline .head{display:flex;flex-wrap:wrap;gap:4px 10px;align-items:baseline}
.timeline .n{color:#6b7280}.timeline .tool{font-weight:600}
.timeline .code{font-family:ui-monospace,monospace;font-size:13px}
.timeline .sub{font-size:13px;color:#444;margin:4px 0 0;word-break:break-word}
.timeline table{margin-top:4px}
.records td.code{font-family:ui-monospace,monospace}
.scroll-x{overflow-x:auto;max-width:100%}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px}
.tile{background:#fff;border:1px solid #dde;border-radius:8px;padding:10px;display:flex;
  flex-direction:column}
.tile .label{font-size:12px;color:#555}
.tile span:last-child{font-size:22px;font-weight:600}
#kill-form{display:grid;gap:8px;max-width:520px}
#kill-form label{display:flex;flex-direction:column;font-size:13px;gap:2px}
code{word-break:break-all}
@media (max-width:720px){
  table.records thead{display:none}
  table.records tr{display:block;border-bottom:1px solid #ddd;padding:6px 0}
  table.records td{display:block;border:0;padding:1px 4px}
  table.records td:empty{display:none}
  nav{order:3;flex-basis:100%}
}
/* governance page */
.diff{margin:6px 0;padding:6px;background:#f8fafc;border:1px solid #e5e7eb;border-radius:6px;
  font:12px/1.4 ui-monospace,monospace;white-space:pre-wrap;word-break:break-all}
.diff .del{display:block;background:#fee2e2;color:#7f1d1d}
.diff .add{display:block;background:#dcfce7;color:#14532d}
.diff .ctx{display:block;color:#555}.diff .gap{display:block;color:#999}
.warn{border-left:4px solid #b91c1c !important}
.warn-text{color:#991b1b;font-weight:600;margin:4px 0}
.ready{color:#15803d;font-weight:600}
.figs{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:2px 14px;
  font-size:13px;margin:4px 0}
.pager{display:flex;gap:8px;align-items:center;flex-wrap:wrap;margin-bottom:8px;font-size:13px}
.sub-list{margin:4px 0 0 18px;padding:0;font-size:13px;word-break:break-word}
)ui";

}  // namespace interlock::server
