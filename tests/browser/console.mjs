// End-to-end test of the operator console (/ui/runs, /ui/runs/{id}, /ui/audit, /ui/kill,
// /ui/metrics) in headless Chromium against the real daemon.
//   node console.mjs URL ADMIN_TOKEN REVIEWER_TOKEN AGENT_TOKEN ARTIFACT_DIR
// Prints "test <name>: ok" per passed test; exits non-zero on the first failure.
// Loopback only; a fresh profile; screenshots of every page at phone (390x844) and desktop
// (1280x800) size in ARTIFACT_DIR (console-<page>-<size>.png).
import { join } from 'node:path';

import {
  consoleScriptArgs, fail, noHorizontalScroll, runInBrowser, signInWithToken,
} from './harness.mjs';

const { url, admin, reviewer, agent, artifacts, call, agentApi } =
    consoleScriptArgs('console.mjs');

// The scripted run: an allowed read (with its result), a blocked delete, a call that needs
// approval (with a redacted secret), and another allowed read.
async function scriptedRun() {
  const run = await agentApi('POST', '/v1/runs');
  if (run.status !== 201) fail('create run: ' + run.status);
  const id = run.json.run_id;
  const expected = [];
  const step = async (tool, args, code) => {
    const r = await agentApi('POST', `/v1/runs/${id}/calls`, { tool, args });
    if (r.json?.code !== code) fail(`${tool}: expected ${code}, got ${JSON.stringify(r.json)}`);
    expected.push({ tool, code });
    return r.json;
  };
  const first = await step('read_file', { path: '/srv/report.txt' }, 'ALLOWED');
  const res = await agentApi('POST', `/v1/calls/${first.call_id}/result`,
                             { ok: true, output: { bytes: 42 } });
  if (res.status !== 204) fail('result: ' + res.status);
  await step('drop_database', { name: 'prod' }, 'TOOL_BLOCKED');
  await step('send_email', { to: 'ops@example.com', api_key: 'sk-console-secret' },
             'APPROVAL_REQUIRED');
  await step('read_file', { path: '/srv/other.txt' }, 'ALLOWED');
  return { id, expected };
}

async function shoot(page, name) {
  for (const [size, w, h] of [['phone', 390, 844], ['desktop', 1280, 800]]) {
    await page.setViewportSize({ width: w, height: h });
    await page.waitForTimeout(150);
    if (size === 'phone') await noHorizontalScroll(page, name);
    await page.screenshot({ path: join(artifacts, `console-${name}-${size}.png`), fullPage: true });
  }
}

// The reviewer test provokes a 403 on purpose; Chromium logs the failed fetch.
const expected403 = (text) => text.includes('403');
await runInBrowser({ viewport: { width: 1280, height: 800 } }, expected403, async (page) => {
  const signIn = (path, token) => signInWithToken(page, url, path, token);

  // Sign in (admin) on the runs page.
  const run = await scriptedRun();
  await signIn('/ui/runs', admin);
  await page.waitForSelector('#runs-view:not([hidden])', { timeout: 10000 });
  await page.waitForSelector(`#runs-list li[data-run="${run.id}"]`, { timeout: 10000 });
  if (await page.isHidden('#nav')) fail('navigation hidden after sign-in');
  console.log('test sign-in: ok');

  // Runs filter by agent and state.
  await page.fill('#runs-agent', 'nobody-agent');
  await page.click('#runs-filter button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('#runs-list li').length === 0);
  await page.fill('#runs-agent', 'console-agent');
  await page.selectOption('#runs-state', 'active');
  await page.click('#runs-filter button[type=submit]');
  await page.waitForSelector(`#runs-list li[data-run="${run.id}"]`, { timeout: 10000 });
  const runText = await page.textContent(`#runs-list li[data-run="${run.id}"]`);
  if (!runText.includes('Steps') || !runText.includes('/ 50')) {
    fail('run card does not show steps against the limit: ' + runText);
  }
  await shoot(page, 'runs');
  console.log('test runs: ok');

  // The run's timeline: every call in order with its code; the secret stays masked.
  await page.click(`#runs-list li[data-run="${run.id}"] a.run-link`);
  await page.waitForURL(`**/ui/runs/${run.id}`);
  await page.waitForSelector('#timeline li', { timeout: 10000 });
  const rows = await page.$$eval('#timeline li', (lis) => lis.map((li) => ({
    tool: li.dataset.tool, code: li.dataset.code })));
  if (JSON.stringify(rows) !== JSON.stringify(run.expected)) {
    fail('timeline differs: ' + JSON.stringify(rows) + ' vs ' + JSON.stringify(run.expected));
  }
  const tl = await page.textContent('#run-view');
  if (tl.includes('sk-console-secret')) fail('a redacted value is visible on the timeline');
  if (!tl.includes('(redacted)')) fail('the redacted argument is not masked');
  if (!tl.includes('Audit chain verified')) fail('chain verification not shown: ' + tl);
  if (!tl.includes('tools.blocked')) fail('the deciding rule is not shown');
  if (!tl.includes('Result: ok')) fail('the result is not shown');
  await shoot(page, 'timeline');
  console.log('test timeline: ok');

  // The tree of runs (docs/governance.md#child-runs): a child run started by the agent
  // (a framework's handoff) shows its parent and role, and both pages draw the same tree.
  const child = await agentApi('POST', '/v1/runs', { parent_run_id: run.id, role: 'reader' });
  if (child.status !== 201) fail('create child run: ' + child.status + ' ' + JSON.stringify(child.json));
  const childId = child.json.run_id;
  await page.goto(url + '/ui/runs/' + encodeURIComponent(childId));
  await page.waitForSelector(`#run-tree li[data-run="${run.id}"] li[data-run="${childId}"] a[aria-current]`,
                             { timeout: 10000 });
  const facts = await page.textContent('#run-facts');
  if (!facts.includes('Child run of') || !facts.includes(run.id) || !facts.includes('reader')) {
    fail('the child run does not name its parent and role: ' + facts);
  }
  await page.goto(url + '/ui/runs/' + encodeURIComponent(run.id));
  await page.waitForSelector(`#run-tree li[data-run="${run.id}"] > a[aria-current]`, { timeout: 10000 });
  await page.waitForSelector(`#run-tree li[data-run="${childId}"]`, { timeout: 10000 });
  await shoot(page, 'run-tree');
  console.log('test run tree: ok');

  // Audit search by tool and code.
  await page.goto(url + '/ui/audit');
  await page.waitForSelector('#audit-view:not([hidden])');
  await page.fill('#a-tool', 'drop_database');
  await page.fill('#a-code', 'TOOL_BLOCKED');
  await page.click('#a-search');
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('#audit-rows tr')];
    return rows.length === 1 && rows[0].textContent.includes('TOOL_BLOCKED') &&
        rows[0].textContent.includes('drop_database');
  }, null, { timeout: 10000 });
  await page.fill('#a-tool', 'read_file');
  await page.fill('#a-code', 'TOOL_BLOCKED');
  await page.click('#a-search');
  await page.waitForFunction(() => document.querySelectorAll('#audit-rows tr').length === 0,
                             null, { timeout: 10000 });
  await page.fill('#a-tool', '');
  await page.fill('#a-code', '');
  await page.fill('#a-text', 'other.txt');
  await page.click('#a-search');
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('#audit-rows tr')];
    return rows.length >= 1 && rows.every((r) => r.textContent.includes('read_file'));
  }, null, { timeout: 10000 });
  await page.fill('#a-text', '');
  await page.click('#a-search');
  await page.waitForFunction(() => document.querySelectorAll('#audit-rows tr').length > 5);
  await shoot(page, 'audit');
  console.log('test audit search: ok');

  // Kill switch: the admin engages it for the agent through the page; the daemon denies a
  // call; the admin releases it; the next call is allowed again.
  await page.goto(url + '/ui/kill');
  await page.waitForSelector('#kill-view:not([hidden])');
  await page.selectOption('#kill-scope', 'agent');
  await page.fill('#kill-target', 'console-agent');
  await page.fill('#kill-reason', 'incident 42: runaway loop');
  await page.fill('#kill-confirm', 'wrong phrase');
  await page.click('#kill-engage');
  await page.waitForFunction(() => document.getElementById('kill-error').textContent.includes('to confirm'));
  if ((await call(admin, 'GET', '/v1/kill')).json.kill_switches.some((k) => k.engaged)) {
    fail('engaged without the typed confirmation');
  }
  await page.fill('#kill-confirm', 'STOP console-agent');
  await page.click('#kill-engage');
  await page.waitForSelector('#kill-current li[data-target="console-agent"]', { timeout: 10000 });
  const killed = await agentApi('POST', `/v1/runs/${run.id}/calls`,
                                { tool: 'read_file', args: { path: '/srv/x' } });
  if (killed.json?.code !== 'KILL_SWITCH') fail('call not denied while engaged: ' + JSON.stringify(killed.json));
  await page.waitForFunction(() => document.getElementById('kill-history').textContent.includes('incident 42'),
                             null, { timeout: 10000 });
  // Every page shows a banner while a switch is engaged (issue 56), and none once released.
  await page.goto(url + '/ui/runs');
  await page.waitForFunction(() => {
    const b = document.getElementById('kill-banner');
    return b && !b.hidden && b.textContent.includes('console-agent') && b.textContent.includes('incident 42');
  }, null, { timeout: 10000 });
  await shoot(page, 'kill-banner');
  await page.goto(url + '/ui/kill');
  await page.waitForSelector('#kill-current li[data-target="console-agent"]', { timeout: 10000 });
  await shoot(page, 'kill');
  await page.click('#kill-current li[data-target="console-agent"] button.release');
  await page.waitForSelector('#kill-none:not([hidden])', { timeout: 10000 });
  await page.waitForFunction(() => document.getElementById('kill-banner').hidden, null, { timeout: 10000 });
  const fresh = await agentApi('POST', '/v1/runs');
  const after = await agentApi('POST', `/v1/runs/${fresh.json.run_id}/calls`,
                               { tool: 'read_file', args: { path: '/srv/y' } });
  if (after.json?.code !== 'ALLOWED') fail('call still denied after release: ' + JSON.stringify(after.json));
  console.log('test kill switch: ok');

  // Kill-switch drill (issue 59): none on record is shown as such; the admin runs one from
  // the page; the page shows it passed with each door; no switch is left engaged.
  await page.waitForFunction(() => document.getElementById('kill-drill').textContent.includes('No drill'),
                             null, { timeout: 10000 });
  await page.click('#kill-drill-run');
  await page.waitForFunction(() => document.getElementById('kill-drill').textContent.startsWith('Passed') &&
                                   document.getElementById('kill-drill-doors').textContent.includes('claude_code_hook: KILL_SWITCH'),
                             null, { timeout: 15000 });
  if ((await call(admin, 'GET', '/v1/kill')).json.kill_switches.some((k) => k.engaged)) {
    fail('the drill left a switch engaged');
  }
  await shoot(page, 'kill-drill');
  console.log('test kill drill: ok');

  // Metrics at a glance.
  await page.goto(url + '/ui/metrics');
  await page.waitForSelector('#metrics-view:not([hidden])');
  await page.waitForFunction(() => document.getElementById('m-codes').textContent.includes('TOOL_BLOCKED'),
                             null, { timeout: 10000 });
  await shoot(page, 'metrics');
  console.log('test metrics: ok');

  // Keyboard: the navigation is reachable with Tab and follows Enter.
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.focus('#nav a[data-page="runs"]');
  await page.keyboard.press('Enter');
  await page.waitForURL('**/ui/runs');
  console.log('test keyboard: ok');

  // A reviewer token cannot reach admin actions: the page shows the daemon's refusal and
  // nothing is engaged.
  await signIn('/ui/kill', reviewer);
  await page.waitForSelector('#kill-view:not([hidden])');
  await page.selectOption('#kill-scope', 'global');
  await page.fill('#kill-reason', 'not allowed');
  await page.fill('#kill-confirm', 'STOP ALL');
  await page.click('#kill-engage');
  await page.waitForFunction(() => document.getElementById('kill-error').textContent.includes('Refused'),
                             null, { timeout: 10000 });
  const direct = await call(reviewer, 'POST', '/v1/kill', { scope: 'global', engaged: true, reason: 'x' });
  if (direct.status !== 403) fail('reviewer POST /v1/kill answered ' + direct.status);
  if ((await call(admin, 'GET', '/v1/kill')).json.kill_switches.some((k) => k.engaged)) {
    fail('a reviewer engaged a kill switch');
  }
  console.log('test reviewer cannot kill: ok');

  // An agent token is not a console token.
  await signIn('/ui/runs', agent);
  await page.waitForSelector('#signin-view:not([hidden])', { timeout: 10000 });
  await page.waitForFunction(() => document.getElementById('signin-error').textContent.length > 0);
  console.log('test agent token refused: ok');
});
