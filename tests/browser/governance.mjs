// End-to-end test of the console's Governance page (/ui/governance) in headless Chromium
// against the real daemon.
//   node governance.mjs URL ADMIN_TOKEN REVIEWER_TOKEN AGENT_TOKEN ARTIFACT_DIR
// Prints "test <name>: ok" per passed test; exits non-zero on the first failure.
// The scripted history: three runs of read_file calls and six send_email approvals granted
// within a second each by the reviewer ("rita"), so drift has evidence (min_runs=1,
// min_days=0 on the page's URL), the ledger has rows and rita is warned about.
// Screenshots at 390x844 and 1280x800 in ARTIFACT_DIR (console-governance-<size>.png).
import { join } from 'node:path';

import {
  consoleScriptArgs, fail, noHorizontalScroll, runInBrowser, signInWithToken,
} from './harness.mjs';

const { url, admin, reviewer, agent, artifacts, call, agentApi } =
    consoleScriptArgs('governance.mjs');
// A governance report: 202 while it is being computed, asked again (bounded).
async function report(token, path) {
  for (let i = 0; i < 200; ++i) {
    const r = await call(token, 'GET', path);
    if (r.status !== 202) return r;
    await new Promise((ok) => setTimeout(ok, 50));
  }
  fail(path + ' was still being computed after 10 s');
}

async function scriptedHistory() {
  for (let r = 0; r < 3; ++r) {
    const run = await agentApi('POST', '/v1/runs');
    if (run.status !== 201) fail('create run: ' + run.status);
    const id = run.json.run_id;
    for (let i = 0; i < 2; ++i) {
      const d = await agentApi('POST', `/v1/runs/${id}/calls`,
                               { tool: 'read_file', args: { path: `/srv/r${r}-${i}.txt` } });
      if (d.json?.code !== 'ALLOWED') fail('read_file: ' + JSON.stringify(d.json));
      await agentApi('POST', `/v1/calls/${d.json.call_id}/result`, { ok: true, output: {} });
    }
    for (let i = 0; i < 2; ++i) {
      const d = await agentApi('POST', `/v1/runs/${id}/calls`, {
        tool: 'send_email',
        args: { to: `user${r}${i}@example.com`, subject: 'Quarterly numbers',
                body: 'Please find the figures attached; the totals changed since last week.' },
      });
      if (d.json?.code !== 'APPROVAL_REQUIRED') fail('send_email: ' + JSON.stringify(d.json));
      const v = await call(reviewer, 'POST', `/v1/approvals/${d.json.approval_id}`,
                           { verdict: 'approve', comment: '' });
      if (v.status !== 200) fail('approve: ' + v.status + ' ' + JSON.stringify(v.json));
    }
    await agentApi('POST', `/v1/runs/${id}/end`);
  }
}

// The reviewer test provokes 403s on purpose; Chromium logs the failed fetches.
const expected403 = (text) => text.includes('403');
await runInBrowser({ viewport: { width: 1280, height: 800 } }, expected403, async (page) => {
  const signIn = (path, token) => signInWithToken(page, url, path, token);

  // Reports being computed answer 202 and the page asks again (the daemon runs with
  // governance.wait_ms 0, as if every report were slow).
  let computing = 0;
  page.on('response', (r) => {
    if (r.url().includes('/v1/governance/') && r.status() === 202) computing++;
  });

  await scriptedHistory();
  await signIn('/ui/governance', admin);
  await page.waitForSelector('#governance-view:not([hidden])', { timeout: 10000 });
  await page.waitForSelector('#gov-fatigue li[data-reviewer="rita"]', { timeout: 20000 });
  if (!(await page.$('#nav a[href="/ui/governance"][aria-current="page"]'))) {
    fail('the nav does not mark the Governance page');
  }
  console.log('test nav: ok');

  const rita = await page.textContent('#gov-fatigue li[data-reviewer="rita"]');
  if (!rita.includes('rubber-stamping') || !rita.includes('faster than the arguments can be read')) {
    fail('no rubber-stamp warning for rita: ' + rita);
  }
  console.log('test fatigue warning: ok');

  // Drift with a suggestion: the page's query asks for little evidence (one run, no days).
  await page.goto(url + '/ui/governance?min_runs=1&min_days=0');
  await page.waitForSelector('#gov-drift li[data-agent="gov-agent"] .diff', { timeout: 20000 });
  const drift = await page.textContent('#gov-drift li[data-agent="gov-agent"]');
  if (!drift.includes('Unused tools: delete_file')) fail('unused tool not shown: ' + drift);
  const removed = await page.$$eval('#gov-drift li[data-agent="gov-agent"] .diff .del',
                                    (s) => s.map((e) => e.textContent));
  if (!removed.some((t) => t.includes('delete_file'))) fail('the diff does not remove delete_file: ' + removed);
  console.log('test drift: ok');

  const api = await report(admin, '/v1/governance/drift?agent=gov-agent&min_runs=1&min_days=0');
  if (api.status !== 200) fail('drift API: ' + api.status);
  const diff = api.json.suggestions[0].diff || [];
  if (!diff.some((l) => l.op === '-' && l.text.includes('delete_file'))) {
    fail('the suggested policy does not remove delete_file: ' + JSON.stringify(api.json.suggestions));
  }
  console.log('test drift API diff: ok');

  const ledger = await page.textContent('#gov-trust');
  if (!ledger.includes('gov-agent / read_file') || !ledger.includes('Ready to graduate')) {
    fail('the ledger does not show read_file ready to graduate: ' + ledger);
  }
  console.log('test ledger: ok');

  // Each report says how old it is; a record appended since makes it stale (not recomputed
  // per request: min_interval), and "Recompute now" brings it up to date.
  if (computing === 0) fail('no report was ever answered 202 (computing)');
  const asof = await page.textContent('#gov-trust-asof');
  if (!asof.startsWith('As of')) fail('the ledger does not say how old it is: ' + asof);
  const run = await agentApi('POST', '/v1/runs');
  const more = await agentApi('POST', `/v1/runs/${run.json.run_id}/calls`,
                              { tool: 'read_file', args: { path: '/srv/late.txt' } });
  if (more.json?.code !== 'ALLOWED') fail('late read_file: ' + JSON.stringify(more.json));
  await page.goto(url + '/ui/governance?min_runs=1&min_days=0');
  await page.waitForFunction(
      () => document.getElementById('gov-trust-asof').textContent.includes('newer records exist'),
      null, { timeout: 20000 });
  await page.click('#gov-refresh');
  await page.waitForFunction(() => {
    const t = document.getElementById('gov-trust-asof').textContent;
    return t.startsWith('As of') && !t.includes('newer') && !t.includes('being computed');
  }, null, { timeout: 20000 });
  console.log('test report age and recompute: ok');

  for (const [size, w, h] of [['phone', 390, 844], ['desktop', 1280, 800]]) {
    await page.setViewportSize({ width: w, height: h });
    await page.waitForTimeout(150);
    await noHorizontalScroll(page, 'governance ' + size);
    await page.screenshot({ path: join(artifacts, `console-governance-${size}.png`), fullPage: true });
  }
  console.log('test phone layout: ok');

  // Keyboard: the filter is reachable and submits with Enter.
  await page.focus('#gov-agent');
  await page.keyboard.type('gov-agent');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => location.search.includes('agent=gov-agent'));
  console.log('test keyboard: ok');

  // A reviewer token cannot reach the admin-only reports, on the page or directly.
  await signIn('/ui/governance', reviewer);
  await page.waitForSelector('#governance-view:not([hidden])', { timeout: 10000 });
  await page.waitForFunction(() => document.getElementById('gov-status').textContent.includes('Admins only'),
                             null, { timeout: 10000 });
  if ((await page.$$('#gov-fatigue li')).length) fail('a reviewer sees fatigue data');
  for (const r of ['drift', 'trust', 'fatigue']) {
    const s = (await call(reviewer, 'GET', '/v1/governance/' + r)).status;
    if (s !== 403) fail(`reviewer GET /v1/governance/${r} answered ${s}`);
  }
  console.log('test reviewer refused: ok');
});
