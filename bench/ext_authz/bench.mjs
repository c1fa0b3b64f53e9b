// The ext_authz door's Check beside the HTTP API's decision, in one run against one daemon:
// node bench.mjs GRPC_PORT HTTP_PORT TOKEN N. Sequential (one call in flight), alternating
// rounds, so both see the same machine; prints p50/p90/p99 in microseconds for each.
// Uses the suite's pinned @grpc/grpc-js (tests/integration/ext_authz/node_modules).
import { createRequire } from "node:module";
const require = createRequire(new URL("../../tests/integration/ext_authz/", import.meta.url));
const grpc = require("@grpc/grpc-js");
const loader = require("@grpc/proto-loader");

const [grpcPort, httpPort, token, nArg] = process.argv.slice(2);
const n = Number(nArg || 2000);
const root = new URL("../../src/doors/ext_authz/proto/", import.meta.url).pathname;
const def = loader.loadSync("envoy/service/auth/v3/external_auth.proto",
  { includeDirs: [root, "/usr/include"], keepCase: true, longs: String, enums: Number, defaults: true });
const pkg = grpc.loadPackageDefinition(def);
const client = new pkg.envoy.service.auth.v3.Authorization(`127.0.0.1:${grpcPort}`,
  grpc.credentials.createInsecure());
const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call",
  params: { name: "read_file", arguments: { path: "/x" } } });
const check = () => new Promise((res, rej) => client.Check({ attributes: { request: { http: {
  method: "POST", path: "/mcp", host: "tools", body,
  headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } } } } },
  (e, r) => (e || r.status.code !== 0 ? rej(e || new Error(r.status.message)) : res())));
const run = await (await fetch(`http://127.0.0.1:${httpPort}/v1/runs`, { method: "POST",
  headers: { authorization: `Bearer ${token}` } })).json();
const decide = async () => {
  const r = await fetch(`http://127.0.0.1:${httpPort}/v1/runs/${run.run_id}/calls`, {
    method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ tool: "read_file", args: { path: "/x" } }) });
  const j = await r.json();
  if (j.code !== "ALLOWED") throw new Error(JSON.stringify(j));
};
const times = { check: [], http: [] };
for (let i = 0; i < 200; ++i) { await check(); await decide(); }  // warm up
for (let round = 0; round < 10; ++round) {
  for (const [name, fn] of [["check", check], ["http", decide]]) {
    for (let i = 0; i < n / 10; ++i) {
      const t = process.hrtime.bigint();
      await fn();
      times[name].push(Number(process.hrtime.bigint() - t) / 1000);
    }
  }
}
const pct = (a, p) => a.sort((x, y) => x - y)[Math.floor(a.length * p)].toFixed(0);
for (const [name, a] of Object.entries(times)) {
  console.log(`${name === "check" ? "ext_authz Check " : "HTTP decide     "} n=${a.length} ` +
    `p50 ${pct(a, 0.5)} us  p90 ${pct(a, 0.9)} us  p99 ${pct(a, 0.99)} us`);
}
client.close();
