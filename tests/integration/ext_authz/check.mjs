// Sends Envoy's CheckRequests to the ext_authz door with the real gRPC client (@grpc/grpc-js and
// @grpc/proto-loader, pinned in package-lock.json) and prints what came back, for
// ext_authz_test.cc: node check.mjs PORT [CA_FILE] < requests.json  (a JSON array of
// {method, path, host, headers, body?, partial?}) -> a JSON array on stdout of
// {code, message, ok_headers, denied_status, denied_headers, denied_body} or {rpc_error}.
// CHECK_ALL_AT_ONCE=1 sends them all at once instead of one after another.
// The request is shaped as Envoy's ext_authz filter sends it with `with_request_body`
// (attributes.request.http: method, path, host, scheme, protocol, headers, body, and the
// x-envoy-auth-partial-body header when the body was cut at max_request_bytes).
// With CA_FILE the channel is TLS, trusting that CA only (the server's name: 127.0.0.1);
// without it, plaintext HTTP/2.
import grpc from "@grpc/grpc-js";
import loader from "@grpc/proto-loader";
import { readFileSync } from "node:fs";

const root = new URL("../../../src/doors/ext_authz/proto/", import.meta.url).pathname;
const def = loader.loadSync("envoy/service/auth/v3/external_auth.proto", {
  includeDirs: [root, "/usr/include"], keepCase: true, longs: String, enums: Number, defaults: true,
});
const pkg = grpc.loadPackageDefinition(def);
const credentials = process.argv[3]
  ? grpc.credentials.createSsl(readFileSync(process.argv[3]))
  : grpc.credentials.createInsecure();
const client = new pkg.envoy.service.auth.v3.Authorization(`127.0.0.1:${process.argv[2]}`,
  credentials);

const headerMap = (list) => Object.fromEntries((list || []).map((h) => [h.header.key, h.header.value]));

function check(req) {
  const headers = { ...req.headers };
  if (req.partial) headers["x-envoy-auth-partial-body"] = "true";
  const http = {
    id: "1", method: req.method, path: req.path, host: req.host, scheme: "http",
    protocol: "HTTP/1.1", headers, size: String(req.body ? Buffer.byteLength(req.body) : 0),
  };
  if (req.body !== undefined) http.body = req.body;
  const attributes = {
    source: { principal: "spiffe://cluster.local/ns/agents/sa/agent" },
    destination: { principal: "spiffe://cluster.local/ns/mcp/sa/tools" },
    request: { time: { seconds: String(Math.floor(Date.now() / 1000)), nanos: 0 }, http },
  };
  return new Promise((resolve) => {
    client.Check({ attributes }, { deadline: Date.now() + 15000 }, (err, r) => {
      if (err) return resolve({ rpc_error: err.code, details: err.details });
      const out = { code: r.status.code, message: r.status.message };
      if (r.ok_response) out.ok_headers = headerMap(r.ok_response.headers);
      if (r.denied_response) {
        out.denied_status = r.denied_response.status ? r.denied_response.status.code : 0;
        out.denied_headers = headerMap(r.denied_response.headers);
        out.denied_body = r.denied_response.body;
      }
      resolve(out);
    });
  });
}

const requests = JSON.parse(readFileSync(0, "utf8"));
let answers = [];
if (process.env.CHECK_ALL_AT_ONCE) {
  answers = await Promise.all(requests.map(check));  // every Check in flight at once
} else {
  for (const req of requests) answers.push(await check(req));  // in order: runs count calls
}
process.stdout.write(JSON.stringify(answers) + "\n");
client.close();
