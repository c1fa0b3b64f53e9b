// examples/agents/typescript end to end: the example's program (copied next to this suite's
// node_modules, so it needs no second npm install) against a real daemon with the seed's
// policy, a reviewer approving the email while the agent waits.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startDaemon, pendingApproval } from "./harness.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const example = path.join(here, "..", "..", "..", "..", "examples", "agents", "typescript");
const seed = readFileSync(path.join(here, "..", "..", "..", "..", "examples", "policies", "support-agent-v2.yaml"), "utf8");

let daemon, copy;
after(async () => {
  await daemon?.stop();
  if (copy) rmSync(copy, { recursive: true, force: true });
});

test("Example.SupportAgentRunsEndToEndThroughInterlock", async () => {
  daemon = await startDaemon({ "support-agent-v2.yaml": seed });
  const agent = daemon.token("--agent", "support-agent-v2");
  const reviewer = daemon.token("--reviewer", "rita");
  copy = mkdtempSync(path.join(here, ".example-"));
  for (const f of ["agent.mjs", "scripted-model.mjs"]) cpSync(path.join(example, f), path.join(copy, f));
  const env = { ...process.env, INTERLOCK_URL: daemon.url, INTERLOCK_TOKEN: agent };
  delete env.OPENAI_BASE_URL;
  const child = spawn(process.execPath, [path.join(copy, "agent.mjs")], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (b) => (out += b));
  child.stderr.on("data", (b) => (out += b));
  const exited = new Promise((r) => child.on("exit", r));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const id = await pendingApproval(daemon, reviewer, "send_customer_email", 30_000);
  const v = await daemon.api("POST", `/v1/approvals/${id}`, reviewer, { verdict: "approve", comment: "ok" });
  assert.equal(v.status, 200);
  const code = await exited;
  clearTimeout(timer);
  assert.equal(code, 0, out);
  assert.match(out, /\[tool\] read_customer_record C-1042/);
  assert.match(out, /\[tool\] update_order_status O-7731 -> refunded/);
  assert.match(out, /denied delete_customer_record \(TOOL_BLOCKED\)/);
  assert.doesNotMatch(out, /must never print/);
  assert.match(out, /send_customer_email waits for a reviewer: http/);
  assert.match(out, /\[tool\] send_customer_email C-1042/);
  assert.match(out, /agent: Order O-7731 is refunded/);
  assert.match(out, /4 steps, 5000 tokens/);
  assert.ok(!out.includes(agent), "the token was printed");
  assert.doesNotMatch(out, /Tracing/, "a scripted run must not try to export traces");
});
