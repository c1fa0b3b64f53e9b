// Test support: a real `interlock serve` on 127.0.0.1 port 0 (binary from INTERLOCK_BIN), a
// scripted OpenAI-compatible model on 127.0.0.1 port 0, and a TCP proxy that drops the first
// response. Every wait is bounded; everything started here is stopped by stop().
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

export const BIN = process.env.INTERLOCK_BIN;
if (!BIN) throw new Error("INTERLOCK_BIN is not set (the ctest registration sets it)");

export async function startDaemon(policies, { config } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "interlock-ts-"));
  const pdir = path.join(dir, "policies");
  mkdirSync(pdir);
  for (const [name, yaml] of Object.entries(policies)) writeFileSync(path.join(pdir, name), yaml);
  const store = path.join(dir, "interlock.db");
  const ready = path.join(dir, "ready.json");
  const token = (flag, name) =>
    execFileSync(BIN, ["token", "create", "--store", store, flag, name, "--force"], {
      encoding: "utf8",
      timeout: 20_000,
      stdio: ["ignore", "pipe", "ignore"],
    })
      .trim()
      .split("\n")
      .pop();
  const args = ["serve", "--listen", "127.0.0.1:0", "--store", store, "--policies", pdir,
    "--ready-file", ready, "--threads", "2"];
  if (config) {
    writeFileSync(path.join(dir, "config.yaml"), config);
    args.push("--config", path.join(dir, "config.yaml"));
  }
  const log = [];
  const child = spawn(BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.on("data", (b) => log.push(b.toString()));
  child.stderr.on("data", (b) => log.push(b.toString()));
  const deadline = Date.now() + 20_000;
  let port = 0;
  while (Date.now() < deadline) {
    try {
      port = JSON.parse(readFileSync(ready, "utf8")).port;
      if (port) break;
    } catch {}
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!port) {
    child.kill("SIGKILL");
    throw new Error(`interlock serve did not start:\n${log.join("")}`);
  }
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    dir,
    store,
    token,
    log: () => log.join(""),
    async stop() {
      child.kill("SIGKILL");
      await new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));
      rmSync(dir, { recursive: true, force: true });
    },
    // Raw API access for the test's own checks (reviewer/admin side).
    async api(method, p, tok, body) {
      const res = await fetch(url + p, {
        method,
        headers: { authorization: `Bearer ${tok}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : null };
    },
  };
}

// Waits until a pending approval for `tool` shows up; returns its id.
export async function pendingApproval(daemon, reviewer, tool, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await daemon.api("GET", "/v1/approvals?state=pending", reviewer);
    const a = r.json?.approvals?.find((x) => x.tool === tool);
    if (a) return a.approval_id ?? a.id;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`no pending approval for ${tool}`);
}

// A scripted OpenAI-compatible model: POST /v1/chat/completions and POST /v1/responses answer
// the next scripted turn. A turn is {toolCalls: [{name, args}]} or {text}. Requests are kept.
export async function startMockModel(turns) {
  const requests = [];
  let next = 0;
  let seq = 0;
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      let json = {};
      try {
        json = JSON.parse(body || "{}");
      } catch {}
      requests.push({ path: req.url, body: json });
      const turn = turns[Math.min(next++, turns.length - 1)] ?? { text: "done" };
      const n = next;
      const calls = (turn.toolCalls ?? []).map((c) => ({
        id: `call_${++seq}`,
        name: c.name,
        args: JSON.stringify(c.args ?? {}),
      }));
      const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };
      let out;
      if (req.url.endsWith("/chat/completions")) {
        out = {
          id: `chatcmpl-${n}`,
          object: "chat.completion",
          created: 1_700_000_000,
          model: json.model ?? "scripted",
          choices: [{
            index: 0,
            finish_reason: calls.length ? "tool_calls" : "stop",
            message: {
              role: "assistant",
              content: calls.length ? null : turn.text ?? "done",
              ...(calls.length ? { tool_calls: calls.map((c) => ({
                id: c.id, type: "function", function: { name: c.name, arguments: c.args } })) } : {}),
            },
          }],
          usage,
        };
      } else if (req.url.endsWith("/responses")) {
        out = {
          id: `resp_${n}`,
          object: "response",
          created_at: 1_700_000_000,
          status: "completed",
          model: json.model ?? "scripted",
          output: calls.length
            ? calls.map((c) => ({ type: "function_call", id: `fc_${c.id}`, call_id: c.id, name: c.name,
              arguments: c.args, status: "completed" }))
            : [{ type: "message", id: `msg_${n}`, role: "assistant", status: "completed",
              content: [{ type: "output_text", text: turn.text ?? "done", annotations: [] }] }],
          usage: { input_tokens: 10, output_tokens: 5, total_tokens: 15 },
        };
      } else {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(out));
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    // The tool results the model was sent (chat completions: role "tool"; responses:
    // function_call_output items), as strings.
    toolResults() {
      const out = [];
      for (const r of requests) {
        for (const m of r.body.messages ?? []) {
          if (m.role === "tool") out.push(typeof m.content === "string" ? m.content : JSON.stringify(m.content));
        }
        for (const i of Array.isArray(r.body.input) ? r.body.input : []) {
          if (i.type === "function_call_output") out.push(typeof i.output === "string" ? i.output : JSON.stringify(i.output));
        }
      }
      return out;
    },
    stop: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}

// A TCP proxy to `port` that forwards requests but, for the first `drop` connections, closes
// the client side as soon as the daemon's response starts (the request reached the daemon;
// its answer is lost).
export async function startDroppingProxy(port, drop = 1) {
  let dropped = 0;
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, "127.0.0.1");
    sockets.add(client).add(upstream);
    const dropThis = dropped < drop;
    if (dropThis) ++dropped;
    client.on("data", (d) => upstream.write(d));
    upstream.on("data", (d) => {
      if (dropThis) {
        client.destroy();
        upstream.destroy();
      } else {
        client.write(d);
      }
    });
    const close = () => { client.destroy(); upstream.destroy(); };
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    dropped: () => dropped,
    stop: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(r); }),
  };
}
