// A hand-run smoke check (not yet a ctest test): node smoke.mjs EXT_AUTHZ_PORT AGENT_TOKEN against a
// daemon serving the gw-agent policy of docs (read_file allowed, delete_all blocked, send_email
// needs approval). The ctest suite with its own daemon fixture is still to be written.
import grpc from "@grpc/grpc-js"; import loader from "@grpc/proto-loader";
const root = new URL("../../../src/doors/ext_authz/proto/", import.meta.url).pathname;
const def = loader.loadSync("envoy/service/auth/v3/external_auth.proto", {includeDirs: [root, "/usr/include"], keepCase: true, longs: String, enums: Number, defaults: true});
const pkg = grpc.loadPackageDefinition(def);
const c = new pkg.envoy.service.auth.v3.Authorization(`127.0.0.1:${process.argv[2]}`, grpc.credentials.createInsecure());
const check = (tool, extra = {}, tok = process.argv[3]) => new Promise((res, rej) => c.Check({attributes: {request: {http: {method: "POST", path: "/mcp", host: "gw", headers: {authorization: `Bearer ${tok}`, "content-type": "application/json", ...extra}, body: JSON.stringify({jsonrpc: "2.0", id: 7, method: "tools/call", params: {name: tool, arguments: {path: "/x"}}})}}}}, {deadline: Date.now() + 10000}, (e, r) => e ? rej(e) : res(r)));
for (const [t, h, tok] of [["read_file"], ["delete_all"], ["send_email"], ["read_file", {"mcp-name": "other"}], ["read_file", {}, "bad"]]) {
  const r = await check(t, h, tok);
  console.log(t, r.status.code, r.denied_response ? r.denied_response.status.code + " " + r.denied_response.body.slice(0, 160) : JSON.stringify(r.ok_response.headers.map(x => x.header.key + "=" + x.header.value)));
}
c.close();
