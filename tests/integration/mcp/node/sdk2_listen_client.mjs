// The official MCP TypeScript SDK 2.x client (@modelcontextprotocol/client) pinned to
// 2026-07-28, through stdio or Streamable HTTP: opens subscriptions/listen
// ({toolsListChanged, promptsListChanged}), calls echo {text} and confirm {what} (which makes
// the server announce a tool list change), waits (at most LISTEN_WAIT_MS, default 10 s) for
// the change to arrive on the subscription, then closes it.
// Usage: node sdk2_listen_client.mjs TEXT (--url URL | -- CMD [ARGS...])
//   HTTP: the bearer token comes from INTERLOCK_TOKEN.
// Prints {"honored": filter, "tools": [...], "results": [echo, confirm], "changes": N,
//         "closed": "local"|...}; a call that throws is {"thrown": message, "code": code}.
import { Client } from "@modelcontextprotocol/client";

import { transportFromArgv } from "./sdk2_transport.mjs";

const text = process.argv[2];
const transport = transportFromArgv();
const client = new Client({ name: "interlock-sdk2-listen", version: "1.0.0" },
                          { versionNegotiation: { mode: { pin: "2026-07-28" } } });
let changes = 0;
let changed;
const seen = new Promise((resolve) => { changed = resolve; });
client.setNotificationHandler("notifications/tools/list_changed", () => {
  changes += 1;
  changed();
});
await client.connect(transport);
const sub = await client.listen({ toolsListChanged: true, promptsListChanged: true },
                                { timeout: 20000 });
const listed = await client.listTools();
const results = [];
for (const [name, args] of [["echo", { text }], ["confirm", { what: "tools" }]]) {
  try {
    results.push(await client.callTool({ name, arguments: args }, { timeout: 30000 }));
  } catch (e) {
    results.push({ thrown: String(e.message ?? e), code: e.code ?? null });
  }
}
// Timers unref'd: a bound that did not fire must not keep the process alive.
const bound = (ms, v) => new Promise((r) => setTimeout(() => r(v), ms).unref());
await Promise.race([seen, bound(Number(process.env.LISTEN_WAIT_MS ?? 10000))]);
await sub.close();
const closed = await Promise.race([sub.closed, bound(5000, "hung")]);
process.stdout.write(JSON.stringify({
  honored: sub.honoredFilter, tools: listed.tools.map((t) => t.name), results, changes, closed,
}) + "\n");
await client.close();
