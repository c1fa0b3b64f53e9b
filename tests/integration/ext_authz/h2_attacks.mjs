// What a hostile or broken peer sends the ext_authz door that a gRPC client never sends, over
// Node's own HTTP/2 client (node:http2) or a bare socket, for ext_authz_test.cc:
//   node h2_attacks.mjs PORT SCENARIO [CA_FILE] < request.json
// request.json is one request as check.mjs takes it ({method, path, host, headers, body}),
// sent as the CheckRequest Envoy sends. Prints one JSON object: for the HTTP/2 scenarios the
// answer's {status, grpc_status, grpc_message, accept_encoding, data_bytes} or {error}.
// Scenarios: preface (connect, send nothing: {closed, after_ms}), wrong_path,
// wrong_content_type, compressed (a message with the compressed flag), two_messages,
// cut_short (END_STREAM inside the message), oversized (a prefix claiming 64 MiB, then the
// bytes), reset (RESETS Checks, each reset by the client as soon as it is sent: {sent}),
// alpn_http1 (TLS offering only http/1.1: {alpn, error}).
import http2 from "node:http2";
import loader from "@grpc/proto-loader";
import net from "node:net";
import tls from "node:tls";
import { readFileSync } from "node:fs";

const [port, scenario, caFile] = process.argv.slice(2);
const root = new URL("../../../src/doors/ext_authz/proto/", import.meta.url).pathname;
const def = loader.loadSync("envoy/service/auth/v3/external_auth.proto", {
  includeDirs: [root, "/usr/include"], keepCase: true, longs: String, enums: Number, defaults: true,
});
const serialize = def["envoy.service.auth.v3.Authorization"].Check.requestSerialize;
const kPath = "/envoy.service.auth.v3.Authorization/Check";
const print = (o) => process.stdout.write(JSON.stringify(o) + "\n");

function message(req) {
  const http = { id: "1", method: req.method, path: req.path, host: req.host, scheme: "http",
    protocol: "HTTP/1.1", headers: req.headers || {},
    size: String(req.body ? Buffer.byteLength(req.body) : 0), body: req.body || "" };
  return serialize({ attributes: { request: { http } } });
}
function framed(payload, flag = 0, length = payload.length) {
  const prefix = Buffer.alloc(5);
  prefix[0] = flag;
  prefix.writeUInt32BE(length, 1);
  return Buffer.concat([prefix, payload]);
}

// One call on a fresh h2c connection: `headers` over the defaults, then `chunks`, then END_STREAM.
function call(headers, chunks) {
  return new Promise((resolve) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const out = { data_bytes: 0 };
    const done = (extra) => {
      session.close();
      resolve({ ...out, ...extra });
    };
    session.on("error", (e) => done({ error: String(e) }));
    const stream = session.request({ ":method": "POST", ":path": kPath,
      "content-type": "application/grpc", te: "trailers", ...headers });
    stream.on("response", (h) => {
      out.status = h[":status"];
      if (h["grpc-status"] !== undefined) out.grpc_status = Number(h["grpc-status"]);
      if (h["grpc-message"] !== undefined) out.grpc_message = h["grpc-message"];
      if (h["grpc-accept-encoding"] !== undefined) out.accept_encoding = h["grpc-accept-encoding"];
    });
    stream.on("trailers", (t) => {
      if (t["grpc-status"] !== undefined) out.grpc_status = Number(t["grpc-status"]);
    });
    stream.on("data", (d) => { out.data_bytes += d.length; });
    stream.on("error", () => {});  // a reset after the answer: the answer is what counts
    stream.on("close", () => done({}));
    (async () => {
      for (const c of chunks) {
        if (stream.destroyed || out.status !== undefined) break;
        if (!stream.write(c)) await new Promise((r) => stream.once("drain", r).once("close", r));
      }
      if (!stream.destroyed) stream.end();
    })();
  });
}

async function main() {
  const req = JSON.parse(readFileSync(0, "utf8") || "{}");
  const msg = message(req);
  switch (scenario) {
    case "preface": {
      const start = Date.now();
      const socket = net.connect(Number(port), "127.0.0.1");
      socket.resume();  // read (and drop) the server's SETTINGS, so its close is seen
      const closed = await new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), 20000);
        socket.on("close", () => { clearTimeout(timer); resolve(true); });
        socket.on("error", () => {});
      });
      socket.destroy();
      return print({ closed, after_ms: Date.now() - start });
    }
    case "wrong_path":
      return print(await call({ ":path": "/envoy.service.auth.v3.Authorization/Other" },
        [framed(msg)]));
    case "wrong_content_type":
      return print(await call({ "content-type": "application/json" }, [framed(msg)]));
    case "compressed":
      return print(await call({ "grpc-encoding": "gzip" }, [framed(msg, 1)]));
    case "two_messages":
      return print(await call({}, [framed(msg), framed(msg)]));
    case "not_utf8": {
      // A string field that is not UTF-8 (the body): protobuf refuses the message.
      const bad = Buffer.from(msg);
      const at = bad.indexOf("ZZZZ");
      if (at < 0) throw new Error("the body's marker is missing");
      bad.set([0xff, 0xfe, 0xff, 0xfe], at);
      return print(await call({}, [framed(bad)]));
    }
    case "cut_short":
      return print(await call({}, [framed(msg).subarray(0, 20)]));
    case "oversized": {
      const mib = Buffer.alloc(1 << 20, 0x61);
      const chunks = [framed(Buffer.alloc(0), 0, 64 << 20)];
      for (let i = 0; i < 64; ++i) chunks.push(mib);
      return print(await call({}, chunks));
    }
    case "reset": {
      const n = Number(process.env.RESETS || 100);
      const session = http2.connect(`http://127.0.0.1:${port}`);
      session.on("error", () => {});
      await new Promise((r) => session.once("connect", r));
      for (let i = 0; i < n; ++i) {
        const stream = session.request({ ":method": "POST", ":path": kPath,
          "content-type": "application/grpc", te: "trailers" });
        stream.on("error", () => {});
        stream.end(framed(msg), () => stream.close(http2.constants.NGHTTP2_CANCEL));
      }
      await new Promise((r) => setTimeout(r, 200));  // let the resets go out
      session.destroy();
      return print({ sent: n });
    }
    case "alpn_http1": {
      const socket = tls.connect({ host: "127.0.0.1", port: Number(port), ca: readFileSync(caFile),
        ALPNProtocols: ["http/1.1"] });
      const out = await new Promise((resolve) => {
        socket.on("secureConnect", () => resolve({ alpn: socket.alpnProtocol }));
        socket.on("error", (e) => resolve({ alpn: false, error: String(e) }));
        socket.on("close", () => resolve({ alpn: false, error: "closed" }));
      });
      socket.destroy();
      return print(out);
    }
    default:
      console.error(`unknown scenario ${scenario}`);
      process.exit(2);
  }
}

await main();
