// Reviewer sign-in with OpenID Connect in headless Chromium (docs/identity.md):
//   node oidc.mjs URL AGENT_TOKEN LOGIN ARTIFACT_DIR [NO_ROLE_LOGIN]
// The console offers "Sign in with <provider>"; the reviewer clicks it, signs in as LOGIN
// on the provider's own page (tests/idp/idp.mjs, npm oidc-provider), lands on /ui/ signed
// in, approves a pending call (the waiting agent gets allow), and signs out. Then, in a
// fresh profile, NO_ROLE_LOGIN (a person in neither group) signs in at the provider and
// gets the daemon's refusal page (OIDC_NO_ROLE) and no session.
// Loopback only; a fresh profile. The provider's certificate is a test one (ignored here;
// the daemon itself verifies it with identity.oidc.ca_file).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { callApi, fail, launchBrowser, pageErrors, scriptArgs } from './harness.mjs';

const [url, agent, login, artifacts, noRole] =
    scriptArgs('node oidc.mjs URL AGENT_TOKEN LOGIN ARTIFACT_DIR', 4);
mkdirSync(artifacts, { recursive: true });

const agentApi = (method, path, body) => callApi(url, agent, method, path, body);

// A fresh browser; the provider's certificate is a test one.
const launch = () =>
  launchBrowser({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });

// At the provider: the login form, filled in as `who`.
async function providerLogin(page, who) {
  await page.waitForSelector('#login', { timeout: 15000 });
  if (page.url().startsWith(url)) fail('not at the provider: ' + page.url());
  await page.fill('#login', who);
  await page.click('#submit');
}

const first = await launch();
const { page } = first;
let second = null;
let ok = false;
try {
  // Console errors count on the daemon's pages only, not on the provider's.
  const errors = pageErrors(page, () => !page.url().startsWith(url));
  await page.goto(url + '/ui/');
  await page.waitForSelector('#oidc-signin:not([hidden])', { timeout: 10000 });
  const button = (await page.textContent('#oidc-login')).replace(/\s+/g, ' ').trim();
  if (button !== 'Sign in with Test IdP') fail('the button reads: ' + button);
  await page.screenshot({ path: join(artifacts, 'oidc-signin.png'), fullPage: true });
  await page.click('#oidc-login');
  await providerLogin(page, login);
  // Back on the console, signed in.
  await page.waitForURL(url + '/ui/', { timeout: 15000 });
  await page.waitForSelector('#app-view:not([hidden])', { timeout: 10000 });
  await page.waitForSelector('#whoami:not([hidden])', { timeout: 10000 });
  const who = await page.textContent('#whoami');
  if (!who.includes(`oidc:${login}@127.0.0.1`)) fail('whoami: ' + who);
  if (await page.evaluate(() => document.cookie) !== '') fail('the session cookie is readable by script');
  if (await page.evaluate(() => sessionStorage.getItem('interlock_token'))) fail('a token was stored');
  console.log('sign-in: ok');

  // Approve a pending call through the page.
  const run = await agentApi('POST', '/v1/runs');
  if (run.status !== 201) fail('create run: ' + run.status);
  const call = await agentApi('POST', `/v1/runs/${run.json.run_id}/calls`,
                              { tool: 'send_email', args: { to: 'ops@example.com' } });
  if (call.json?.decision !== 'approval_required') fail('expected approval_required');
  const waiting = agentApi('GET', `/v1/calls/${call.json.call_id}?wait=30`);
  const item = `#pending li[data-id="${call.json.approval_id}"]`;
  await page.waitForSelector(item, { timeout: 10000 });
  await page.click(item);
  await page.waitForSelector(`#detail[data-id="${call.json.approval_id}"] #vote-form:not([hidden])`,
                             { timeout: 10000 });
  await page.fill('#comment', 'signed in with the provider');
  await page.screenshot({ path: join(artifacts, 'oidc-approve.png'), fullPage: true });
  await page.click('#approve');
  const r = await waiting;
  if (r.json?.decision !== 'allow') fail('agent did not get allow: ' + JSON.stringify(r.json));
  await page.waitForSelector(`#history li[data-id="${call.json.approval_id}"]`, { timeout: 10000 });
  console.log('approve: ok ' + call.json.approval_id);

  // Sign out: the session is gone.
  await page.click('#signout');
  await page.waitForSelector('#signin-view:not([hidden])', { timeout: 10000 });
  await page.waitForFunction(async () => {
    const s = await (await fetch('/ui/oidc/session', { cache: 'no-store' })).json();
    return s.signed_in === false;
  }, null, { timeout: 10000 });
  console.log('sign-out: ok');
  if (errors.length) fail('page errors: ' + errors.join('; '));

  if (noRole) {
    second = await launch();
    const p2 = second.page;
    await p2.goto(url + '/ui/');
    await p2.waitForSelector('#oidc-signin:not([hidden])', { timeout: 10000 });
    await p2.click('#oidc-login');
    await providerLogin(p2, noRole);
    await p2.waitForSelector('#reason', { timeout: 15000 });
    const reason = await p2.textContent('#reason');
    if (!reason.includes('OIDC_NO_ROLE') || !reason.includes(`oidc:${noRole}@127.0.0.1`)) {
      fail('the refusal page says: ' + reason);
    }
    await p2.screenshot({ path: join(artifacts, 'oidc-no-role.png'), fullPage: true });
    await p2.goto(url + '/ui/');
    const s = await p2.evaluate(async () => (await fetch('/ui/oidc/session')).json());
    if (s.signed_in !== false) fail('a person of no role has a session');
    console.log('no role: ok');
  }
  ok = true;
} finally {
  await first.close();
  if (second) await second.close();
}
process.exit(ok ? 0 : 1);
