// An OTLP/HTTP receiver for the telemetry integration tests (tests/integration/telemetry):
// listens on 127.0.0.1 port 0, decodes every POST /v1/{traces,logs,metrics} with the
// official OpenTelemetry protobuf definitions (the generated root of
// @opentelemetry/otlp-transformer, pinned in tests/integration/mcp/node/package-lock.json),
// from binary protobuf or OTLP/JSON, and appends one JSON line per request to --out:
//   {"signal":"traces","content_type":...,"headers":{...},"body":{...decoded...}}
// or {"signal":...,"error":"..."} when the body does not decode (answered 400).
// Ids (traceId, spanId, parentSpanId) are written as lower-case hex, 64-bit integers as
// decimal strings. --delay-ms N holds every answer N ms (a slow collector).
// Usage: node otlp_receiver.cjs --node-dir DIR --ready FILE --out FILE [--delay-ms N]
"use strict";
const fs = require("fs");
const http = require("http");
const path = require("path");
const { createRequire } = require("module");

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1];
const req = createRequire(path.join(path.resolve(args["node-dir"]), "package.json"));
const root = req("@opentelemetry/otlp-transformer/build/src/generated/root.js");
const collector = root.opentelemetry.proto.collector;
const types = {
  "/v1/traces": ["traces", collector.trace.v1.ExportTraceServiceRequest],
  "/v1/logs": ["logs", collector.logs.v1.ExportLogsServiceRequest],
  "/v1/metrics": ["metrics", collector.metrics.v1.ExportMetricsServiceRequest],
};
const delayMs = Number(args["delay-ms"] || 0);
const idKeys = new Set(["traceId", "spanId", "parentSpanId"]);

// OTLP/JSON ids are hex; protobufjs's fromObject wants bytes as base64.
function hexIdsToBase64(v) {
  if (Array.isArray(v)) return v.map(hexIdsToBase64);
  if (v && typeof v === "object") {
    const out = {};
    for (const [k, x] of Object.entries(v)) {
      if (idKeys.has(k) && typeof x === "string") {
        if (!/^[0-9a-f]*$/.test(x)) throw new Error(`${k} is not lower-case hex: ${x}`);
        out[k] = Buffer.from(x, "hex").toString("base64");
      } else {
        out[k] = hexIdsToBase64(x);
      }
    }
    return out;
  }
  return v;
}

function base64IdsToHex(v) {
  if (Array.isArray(v)) return v.map(base64IdsToHex);
  if (v && typeof v === "object") {
    const out = {};
    for (const [k, x] of Object.entries(v)) {
      out[k] = idKeys.has(k) && typeof x === "string" ? Buffer.from(x, "base64").toString("hex")
                                                     : base64IdsToHex(x);
    }
    return out;
  }
  return v;
}

function unknownKeys(sent, decoded, where) {
  if (Array.isArray(sent)) {
    for (let i = 0; i < sent.length; ++i) {
      const u = unknownKeys(sent[i], Array.isArray(decoded) ? decoded[i] : undefined, `${where}[${i}]`);
      if (u) return u;
    }
    return "";
  }
  if (sent && typeof sent === "object") {
    for (const k of Object.keys(sent)) {
      if (!decoded || typeof decoded !== "object" || !(k in decoded)) return `${where}.${k}`;
      const u = unknownKeys(sent[k], decoded[k], `${where}.${k}`);
      if (u) return u;
    }
  }
  return "";
}

function decode(type, contentType, body) {
  let msg;
  if (contentType.startsWith("application/x-protobuf")) {
    msg = type.decode(body);
  } else if (contentType.startsWith("application/json")) {
    const obj = hexIdsToBase64(JSON.parse(body.toString("utf8")));
    msg = type.fromObject(obj);
    // fromObject ignores names the schema lacks: every member sent must be a field of the
    // official message (a misspelt field name would otherwise pass unnoticed).
    const unknown = unknownKeys(obj, type.toObject(msg, { longs: String, enums: Number, bytes: String,
                                                         defaults: true }), "");
    if (unknown) throw new Error("JSON member not in the OTLP schema: " + unknown);
  } else {
    throw new Error("unexpected content type " + contentType);
  }
  return base64IdsToHex(type.toObject(msg, { longs: String, enums: Number, bytes: String }));
}

const server = http.createServer((request, response) => {
  const chunks = [];
  request.on("data", (c) => chunks.push(c));
  request.on("end", () => {
    const entry = types[request.url];
    const line = { signal: entry ? entry[0] : request.url, content_type: request.headers["content-type"] || "",
                   headers: request.headers };
    let status = 200;
    try {
      if (!entry || request.method !== "POST") throw new Error(`unexpected ${request.method} ${request.url}`);
      line.body = decode(entry[1], line.content_type, Buffer.concat(chunks));
    } catch (e) {
      status = 400;
      line.error = String(e && e.message ? e.message : e);
    }
    fs.appendFileSync(args.out, JSON.stringify(line) + "\n");
    setTimeout(() => {
      const json = line.content_type.startsWith("application/json");
      response.writeHead(status, { "content-type": json ? "application/json" : "application/x-protobuf" });
      response.end(json ? "{}" : "");
    }, delayMs);
  });
});
server.listen(0, "127.0.0.1", () => {
  const tmp = args.ready + ".tmp";
  fs.writeFileSync(tmp, JSON.stringify({ port: server.address().port }));
  fs.renameSync(tmp, args.ready);
});
// The test kills us; never outlive a lost parent for long.
setTimeout(() => process.exit(0), Number(args["max-seconds"] || 300) * 1000).unref();
process.on("SIGTERM", () => process.exit(0));
