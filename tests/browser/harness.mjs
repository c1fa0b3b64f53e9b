// What the browser tests (test.mjs, console.mjs, governance.mjs, phone.mjs, oidc.mjs) share:
// their arguments, the daemon's HTTP API as a token's holder calls it, and headless Chromium
// on a fresh profile that reaches loopback only, run so that a test prints "FAIL: ..." and
// exits non-zero on its first failure or on any error the page logged.
import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function fail(msg) { throw new Error(msg); }

// The script's arguments; exits 2 with `usage` unless the first `required` are given.
export function scriptArgs(usage, required) {
  const argv = process.argv.slice(2);
  for (let i = 0; i < required; ++i) {
    if (!argv[i]) {
      console.error('usage: ' + usage);
      process.exit(2);
    }
  }
  return argv;
}

// One call of the daemon's HTTP API with `token`: { status, json } (json null when the
// answer is not JSON).
export async function callApi(url, token, method, path, body) {
  const res = await fetch(url + path, {
    method,
    headers: { 'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json().catch(() => null) };
}

// What the console's scripts (console.mjs, governance.mjs) are given: URL ADMIN_TOKEN
// REVIEWER_TOKEN AGENT_TOKEN ARTIFACT_DIR (`script` names the script in the usage line).
// Makes the artifacts directory; call(token, ...) and agentApi(...) call the daemon's API.
export function consoleScriptArgs(script) {
  const [url, admin, reviewer, agent, artifacts] = scriptArgs(
      `node ${script} URL ADMIN_TOKEN REVIEWER_TOKEN AGENT_TOKEN ARTIFACT_DIR`, 5);
  mkdirSync(artifacts, { recursive: true });
  const call = (token, method, path, body) => callApi(url, token, method, path, body);
  const agentApi = (method, path, body) => call(agent, method, path, body);
  return { url, admin, reviewer, agent, artifacts, call, agentApi };
}

// Headless Chromium on a fresh profile directory (--user-data-dir) with `options` (viewport,
// ignoreHTTPSErrors) and its first page, which reaches 127.0.0.1 and localhost only.
// close() closes the browser and removes the profile.
export async function launchBrowser(options) {
  const profile = mkdtempSync(join(tmpdir(), 'interlock-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    ...options,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] || await context.newPage();
  await page.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (u.hostname === '127.0.0.1' || u.hostname === 'localhost') return route.continue();
    return route.abort();
  });
  const close = async () => {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, page, profile, close };
}

// The errors `page` reports from now on: uncaught exceptions, and console errors unless
// `expected(text)` says the test provoked them.
export function pageErrors(page, expected = () => false) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && !expected(m.text())) errors.push(m.text());
  });
  return errors;
}

// Runs `body(page)` in a browser of `options` (launchBrowser): fails if the page reported an
// error (pageErrors with `expected`), prints "FAIL: " and the stack of a failure, closes the
// browser and exits 0 only when the body passed.
export async function runInBrowser(options, expected, body) {
  const browser = await launchBrowser(options);
  let ok = false;
  try {
    const errors = pageErrors(browser.page, expected);
    await body(browser.page);
    if (errors.length) fail('page errors: ' + errors.join('; '));
    ok = true;
  } catch (e) {
    console.error('FAIL: ' + (e && e.stack || e));
  } finally {
    await browser.close();
  }
  process.exit(ok ? 0 : 1);
}

// Fails when `page` scrolls sideways at its current width (`what` names the page).
export async function noHorizontalScroll(page, what) {
  const [sw, cw] = await page.evaluate(() => [document.documentElement.scrollWidth,
                                              document.documentElement.clientWidth]);
  if (sw > cw) fail(`${what}: horizontal scroll at ${cw}px (content ${sw}px wide)`);
}

// Signs in on the console at `path` with `token`, from a session with no token stored.
export async function signInWithToken(page, url, path, token) {
  await page.goto(url + '/ui/');
  await page.evaluate(() => sessionStorage.clear());
  await page.goto(url + path);
  await page.fill('#token', token);
  await page.click('#signin');
}
