// End-to-end test of the reviewer page (/ui/) in headless Chromium.
//   node test.mjs URL REVIEWER_TOKEN AGENT_TOKEN ARTIFACT_DIR
// Test 1: sign in, see a pending call appear, approve it, the waiting agent gets allow.
// Test 2: the same, denied: the waiting agent gets deny/APPROVAL_DENIED.
// Test 3: the reviewer edits the arguments (validated on the page) and approves: the
// waiting agent gets allow with the edited arguments; the granted approval shows the edit
// with its redacted field masked, and neither the page nor its API holds the new secret.
// Loopback only; a fresh profile; screenshots (desktop and phone) in ARTIFACT_DIR.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { callApi, fail, runInBrowser, scriptArgs } from './harness.mjs';

const [url, reviewer, agent, artifacts] =
    scriptArgs('node test.mjs URL REVIEWER_TOKEN AGENT_TOKEN ARTIFACT_DIR', 4);
mkdirSync(artifacts, { recursive: true });

const agentApi = (method, path, body) => callApi(url, agent, method, path, body);

// Proposes a call needing approval; returns its ids and the agent's pending long poll.
async function proposeAndWait(args) {
  const run = await agentApi('POST', '/v1/runs');
  if (run.status !== 201) fail('create run: ' + run.status);
  const call = await agentApi('POST', `/v1/runs/${run.json.run_id}/calls`,
                              { tool: 'send_email', args });
  if (call.json?.decision !== 'approval_required') fail('expected approval_required');
  const waiting = agentApi('GET', `/v1/calls/${call.json.call_id}?wait=30`);
  return { approvalId: call.json.approval_id, runId: run.json.run_id, waiting };
}

// A fresh profile directory (--user-data-dir) per run; loopback only: anything else is
// refused; any console error fails the test.
await runInBrowser({ viewport: { width: 1280, height: 900 } }, undefined, async (page) => {
  await page.goto(url + '/ui/');
  await page.fill('#token', reviewer);
  await page.click('#signin');
  await page.waitForSelector('#app-view:not([hidden])', { timeout: 10000 });
  const stored = await page.evaluate(() => sessionStorage.getItem('interlock_token'));
  if (stored !== reviewer) fail('token not kept in sessionStorage');

  // Test 1: approve.
  const one = await proposeAndWait({ to: 'ops@example.com', api_key: 'sk-secret-1' });
  const item1 = `#pending li[data-id="${one.approvalId}"]`;
  await page.waitForSelector(item1, { timeout: 10000 });
  await page.click(item1);
  await page.waitForSelector(`#detail[data-id="${one.approvalId}"]`, { timeout: 10000 });
  await page.waitForSelector('#vote-form:not([hidden])');
  const text = await page.textContent('#detail');
  if (text.includes('sk-secret-1')) fail('a redacted value is visible on the page');
  if (!text.includes('(redacted)')) fail('the redacted argument is not masked');
  if (!text.includes('send_email')) fail('the tool is not shown');
  await page.screenshot({ path: join(artifacts, 'approvals.png'), fullPage: true });
  await page.fill('#comment', 'checked the recipient');
  await page.click('#approve');
  const r1 = await one.waiting;
  if (r1.json?.decision !== 'allow' || r1.json?.code !== 'ALLOWED') {
    fail('agent did not get allow: ' + JSON.stringify(r1.json));
  }
  await page.waitForSelector(`#history li[data-id="${one.approvalId}"]`, { timeout: 10000 });
  console.log('test 1 (approve): ok');

  // Test 2: deny, on a phone-sized screen.
  await page.setViewportSize({ width: 390, height: 844 });
  const two = await proposeAndWait({ to: 'everyone@example.com' });
  const item2 = `#pending li[data-id="${two.approvalId}"]`;
  await page.waitForSelector(item2, { timeout: 10000 });
  await page.click(item2);
  await page.waitForSelector(`#detail[data-id="${two.approvalId}"] #vote-form:not([hidden])`,
                             { timeout: 10000 });
  await page.screenshot({ path: join(artifacts, 'approvals-phone.png'), fullPage: true });
  await page.fill('#comment', 'too broad');
  await page.click('#deny');
  const r2 = await two.waiting;
  if (r2.json?.decision !== 'deny' || r2.json?.code !== 'APPROVAL_DENIED') {
    fail('agent did not get deny: ' + JSON.stringify(r2.json));
  }
  await page.waitForSelector(`#history li[data-id="${two.approvalId}"]`, { timeout: 10000 });
  console.log('test 2 (deny): ok');

  // Test 3: edit the arguments, then approve: invalid JSON is refused on the page, and the
  // waiting agent gets allow with the edited arguments (docs/approvals.md).
  await page.setViewportSize({ width: 1280, height: 900 });
  const three = await proposeAndWait({ to: 'typo@example.com', api_key: 'sk-secret-3' });
  const item3 = `#pending li[data-id="${three.approvalId}"]`;
  await page.waitForSelector(item3, { timeout: 10000 });
  await page.click(item3);
  await page.waitForSelector(`#detail[data-id="${three.approvalId}"] #vote-form:not([hidden])`,
                             { timeout: 10000 });
  await page.check('#edit-on');
  await page.waitForSelector('#edit-args:not([hidden])');
  const prefilled = await page.inputValue('#edit-args');
  if (prefilled.includes('sk-secret-3')) fail('the editor shows a redacted value');
  if (!prefilled.includes('typo@example.com')) fail('the editor is not prefilled: ' + prefilled);
  await page.click('#approve');  // the redacted api_key is still its hash: refused here
  await page.waitForFunction(() => document.querySelector('#vote-error').textContent.includes('redacted'));
  await page.fill('#edit-args', '{"to": ');
  await page.click('#approve');
  await page.waitForFunction(() => document.querySelector('#vote-error').textContent.includes('not valid JSON'));
  await page.fill('#edit-args', '{"to": "fixed@example.com", "api_key": "sk-new-3"}');
  if ((await page.textContent('#vote-error')).trim() !== '') fail('an old complaint stays after the edit');
  await page.screenshot({ path: join(artifacts, 'approvals-edit.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(artifacts, 'approvals-edit-phone.png'), fullPage: true });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth
    ? [...document.querySelectorAll('*')].filter((e) => e.getBoundingClientRect().right > window.innerWidth)
      .map((e) => e.tagName + '#' + e.id + '.' + e.className + ':' + Math.round(e.getBoundingClientRect().right)).join(' ')
    : '');
  if (wide) fail('the page scrolls sideways on a phone with the editor open: ' + wide);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.fill('#comment', 'fixed the recipient');
  await page.click('#approve');
  const r3 = await three.waiting;
  if (r3.json?.decision !== 'allow' || r3.json?.arguments?.to !== 'fixed@example.com') {
    fail('agent did not get the edited arguments: ' + JSON.stringify(r3.json));
  }
  await page.waitForSelector(`#history li[data-id="${three.approvalId}"]`, { timeout: 10000 });
  // The granted approval shows what ran: the reviewer's edit, its redacted field masked. The
  // new secret reaches neither the page nor the API the page reads (session 25's leak):
  // only its keyed hash does, never the value, never the sealed text.
  await page.waitForSelector(`#detail[data-id="${three.approvalId}"] #d-edit:not([hidden])`,
                             { timeout: 10000 });
  const ran = await page.textContent('#d-edit');
  if (!ran.includes('fixed@example.com') || !ran.includes('(redacted)')) {
    fail('the granted edit is not shown as run, secret masked: ' + ran);
  }
  const html = await page.content();
  if (html.includes('sk-new-3') || html.includes('sealed:')) fail('the page holds the edited secret');
  const review = await page.evaluate(async (id) => {
    const r = await fetch('/v1/approvals/' + id, {
      headers: { Authorization: 'Bearer ' + sessionStorage.getItem('interlock_token') } });
    return r.status + ' ' + await r.text();
  }, three.approvalId);
  if (!review.startsWith('200 ') || !review.includes('hmac-sha256:') ||
      review.includes('sk-new-3') || review.includes('sealed:')) {
    fail('the reviewer API shows the edited secret other than as its hash: ' + review);
  }
  await page.screenshot({ path: join(artifacts, 'approvals-edit-granted.png'), fullPage: true });
  console.log('test 3 (edit and approve): ok');

  // Test 4: approve the tool for the rest of the run; the run's next call of it is allowed,
  // covered by that approval; revoked from the run's page, the next one asks again.
  const four = await proposeAndWait({ to: 'team@example.com' });
  const item4 = `#pending li[data-id="${four.approvalId}"]`;
  await page.waitForSelector(item4, { timeout: 10000 });
  await page.click(item4);
  await page.waitForSelector(`#detail[data-id="${four.approvalId}"] #vote-form:not([hidden])`,
                             { timeout: 10000 });
  await page.check('#for-run');
  await page.fill('#comment', 'fine for this run');
  await page.screenshot({ path: join(artifacts, 'approvals-for-run.png'), fullPage: true });
  await page.click('#approve');
  const r4 = await four.waiting;
  if (r4.json?.decision !== 'allow') fail('for-run approval did not allow: ' + JSON.stringify(r4.json));
  const next = await agentApi('POST', `/v1/runs/${four.runId}/calls`,
                              { tool: 'send_email', args: { to: 'team2@example.com' } });
  if (next.json?.decision !== 'allow' || next.json?.covered_by !== four.approvalId) {
    fail('the next call was not covered: ' + JSON.stringify(next.json));
  }
  await page.goto(url + '/ui/runs/' + four.runId);
  const revoke = 'button[data-tool="send_email"]';
  await page.waitForSelector(revoke, { timeout: 10000 });
  await page.screenshot({ path: join(artifacts, 'run-grants.png'), fullPage: true });
  await page.click(revoke);
  await page.waitForFunction((sel) => !document.querySelector(sel), revoke, { timeout: 10000 });
  const after = await agentApi('POST', `/v1/runs/${four.runId}/calls`,
                               { tool: 'send_email', args: { to: 'team3@example.com' } });
  if (after.json?.decision !== 'approval_required') {
    fail('after the revocation the call was not asked: ' + JSON.stringify(after.json));
  }
  console.log('test 4 (approve for the run, revoke): ok');
});
