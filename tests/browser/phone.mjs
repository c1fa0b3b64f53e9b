// The reviewer page made for one decision (issue 56), in headless Chromium at a phone's
// 390 x 844 and a laptop's 1280 x 800, against the real daemon:
//   node phone.mjs URL REVIEWER_TOKEN AGENT_TOKEN ARTIFACT_DIR SCENARIO
// SCENARIO is one of:
//   deeplink        the approval's link (approval_url, as notices and deny reasons carry it)
//                   opens on that approval: tool, why, time left, the arguments' top and
//                   Approve/Deny within the first screen, without scrolling;
//   previews        two pending cards of one tool read differently (their arguments);
//   classification  what the policy does not state reads "not classified", what it states
//                   reads as stated;
//   why             after a grant "Why approval is required" still states the rule (and
//                   where it is written); the outcome is on its own line;
//   wrap            no word that fits its line is split (CONSTRAINT_VIOLATED in the run so
//                   far, times, ids), checked on the rendered text with Range rects.
// Prints "test SCENARIO VIEWPORT: ok" per check. Loopback only; a fresh profile;
// screenshots of the first screen in ARTIFACT_DIR (approvals-SCENARIO-phone.png, -desktop).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { callApi, fail, runInBrowser, scriptArgs } from './harness.mjs';

const [url, reviewer, agent, artifacts, scenario] =
    scriptArgs('node phone.mjs URL REVIEWER_TOKEN AGENT_TOKEN ARTIFACT_DIR SCENARIO', 5);
mkdirSync(artifacts, { recursive: true });

const VIEWPORTS = [['phone', { width: 390, height: 844 }], ['desktop', { width: 1280, height: 800 }]];

const agentApi = (method, path, body) => callApi(url, agent, method, path, body);

async function newRun() {
  const run = await agentApi('POST', '/v1/runs');
  if (run.status !== 201) fail('create run: ' + run.status);
  return run.json.run_id;
}

// Proposes a call needing approval in `runId`; returns the daemon's answer (approval_id,
// approval_url, call_id).
async function propose(runId, tool, args) {
  const call = await agentApi('POST', `/v1/runs/${runId}/calls`, { tool, args });
  if (call.json?.decision !== 'approval_required') {
    fail('expected approval_required: ' + JSON.stringify(call.json));
  }
  if (!/\/ui\/#\/approvals\/apr_[A-Za-z0-9_-]+$/.test(call.json.approval_url || '')) {
    fail('unexpected approval link: ' + call.json.approval_url);
  }
  return call.json;
}

// A call the policy denies, so the run so far holds a long code.
async function violate(runId) {
  const call = await agentApi('POST', `/v1/runs/${runId}/calls`,
                              { tool: 'read_file', args: { path: '/etc/shadow' } });
  if (call.json?.code !== 'CONSTRAINT_VIOLATED') fail('expected CONSTRAINT_VIOLATED: ' + JSON.stringify(call.json));
}

async function signIn(page) {
  await page.waitForSelector('#signin-view:not([hidden])', { timeout: 10000 });
  await page.fill('#token', reviewer);
  await page.click('#signin');
  await page.waitForSelector('#app-view:not([hidden])', { timeout: 10000 });
}

// Opens `link` as a notification does: a fresh page load of the link, signed in.
async function openLink(page, link, approvalId) {
  await page.goto('about:blank');
  await page.goto(link);
  if (await page.isVisible('#signin-view')) await signIn(page);
  await page.waitForSelector(`#detail[data-id="${approvalId}"]`, { timeout: 10000 });
}

async function box(page, sel) {
  const b = await page.evaluate((s) => {
    const e = document.querySelector(s);
    if (!e) return null;
    const r = e.getBoundingClientRect();
    return { top: r.top, bottom: r.bottom, left: r.left, right: r.right, h: r.height };
  }, sel);
  if (!b) fail('no element ' + sel);
  return b;
}

async function noSidewaysScroll(page, where) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  if (wide) fail(where + ': the page scrolls sideways');
}

// Words of the rendered text under `root` that are split over two lines although they fit
// on one line of their box: each word (a run of non-space characters) of every visible text
// node is a Range; a word drawn in more than one rect was broken, which is allowed only when
// the word is wider than the line it sits in (a long path or value).
async function splitWords(page, root) {
  return page.evaluate((rootSel) => {
    const out = [];
    const top = document.querySelector(rootSel);
    if (!top) return ['no ' + rootSel];
    const walker = document.createTreeWalker(top, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const parent = n.parentElement;
      if (!parent || parent.offsetParent === null) continue;  // hidden
      let block = parent;
      while (block && getComputedStyle(block).display.startsWith('inline')) block = block.parentElement;
      const cs = getComputedStyle(block);
      const line = block.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
      const re = /\S+/g;
      for (let m = re.exec(n.data); m; m = re.exec(n.data)) {
        const r = document.createRange();
        r.setStart(n, m.index);
        r.setEnd(n, m.index + m[0].length);
        const rects = [...r.getClientRects()].filter((x) => x.width > 0.5);
        if (rects.length < 2) continue;
        const width = rects.reduce((s, x) => s + x.width, 0);
        if (width <= line + 1) out.push(`"${m[0]}" (${Math.round(width)} px in a ${Math.round(line)} px line)`);
      }
    }
    return out;
  }, root);
}

async function approveOnPage(page, approvalId, comment) {
  await page.waitForSelector(`#detail[data-id="${approvalId}"] #vote-form:not([hidden])`, { timeout: 10000 });
  await page.fill('#comment', comment);
  await page.click('#approve');
  await page.waitForSelector(`#detail[data-id="${approvalId}"][data-state="granted"]`, { timeout: 10000 });
}

const scenarios = {
  // The first screen holds the decision, at both sizes, without scrolling.
  async deeplink(page, vp, name) {
    const runId = await newRun();
    await violate(runId);
    const call = await propose(runId, 'send_email', {
      to: 'customers@example.com', subject: 'Your refund of order 4411',
      body: 'Hello, we have refunded your order in full. '.repeat(12), api_key: 'sk-phone-secret',
    });
    await openLink(page, call.approval_url, call.approval_id);
    await page.waitForSelector('#vote-form:not([hidden])', { timeout: 10000 });
    await page.waitForFunction(() => /left/.test(document.querySelector('#d-left')?.textContent || ''));
    const scrollY = await page.evaluate(() => window.scrollY);
    if (scrollY !== 0) fail(`${name}: the page opened scrolled to ${scrollY}`);
    const H = vp.height;
    const title = await box(page, '#d-title');
    const why = await box(page, '#d-why');
    const left = await box(page, '#d-left');
    const args = await box(page, '#d-args');
    const approve = await box(page, '#approve');
    const deny = await box(page, '#deny');
    const at = `title ${Math.round(title.top)}, why ${Math.round(why.bottom)}, time left ` +
               `${Math.round(left.bottom)}, arguments ${Math.round(args.top)}, Approve ` +
               `${Math.round(approve.bottom)}, Deny ${Math.round(deny.bottom)} (screen ${H})`;
    if (title.top < 0 || title.bottom > H) fail(`${name}: the tool is not on the first screen: ${at}`);
    if (why.bottom > H) fail(`${name}: why is not on the first screen: ${at}`);
    if (left.bottom > H) fail(`${name}: the time left is not on the first screen: ${at}`);
    if (args.top < 0 || args.top + 20 > H) fail(`${name}: the arguments' top is not on the first screen: ${at}`);
    if (approve.bottom > H || approve.top < 0) fail(`${name}: Approve is not on the first screen: ${at}`);
    if (deny.bottom > H || deny.top < 0) fail(`${name}: Deny is not on the first screen: ${at}`);
    if ((await page.textContent('#d-title')).trim() !== 'send_email') fail('the title is not the tool');
    const why_text = await page.textContent('#d-why');
    if (!why_text.includes('tools.allowed["send_email"].requires_approval')) fail('why lacks the rule: ' + why_text);
    const detail = await page.textContent('#detail');
    if (detail.includes('sk-phone-secret')) fail('a redacted value is on the page');
    if (!detail.includes('customers@example.com')) fail('the arguments are not shown');
    await noSidewaysScroll(page, name);
    await page.screenshot({ path: join(artifacts, `approvals-deeplink-${name}.png`) });
    console.log(`test deeplink ${name}: ok (${at})`);
  },

  // Two pending cards of one tool show their distinguishing arguments.
  async previews(page, vp, name) {
    const runId = await newRun();
    const a = await propose(runId, 'send_email',
                            { to: `alice-${name}@example.com`, subject: 'Quarterly report', api_key: 'sk-a' });
    const b = await propose(runId, 'send_email',
                            { to: `bob-${name}@example.com`, subject: 'Quarterly report', api_key: 'sk-b' });
    await page.goto('about:blank');
    await page.goto(url + '/ui/');
    if (await page.isVisible('#signin-view')) await signIn(page);
    const cardA = `#pending li[data-id="${a.approval_id}"] .args`;
    const cardB = `#pending li[data-id="${b.approval_id}"] .args`;
    await page.waitForSelector(cardA, { timeout: 10000 });
    await page.waitForSelector(cardB, { timeout: 10000 });
    const ta = await page.textContent(`#pending li[data-id="${a.approval_id}"]`);
    const tb = await page.textContent(`#pending li[data-id="${b.approval_id}"]`);
    if (ta === tb) fail(`${name}: two cards of one tool look the same: ${ta}`);
    const pa = await page.textContent(cardA);
    const pb = await page.textContent(cardB);
    if (!pa.startsWith(`to: alice-${name}@example.com`) || !pb.startsWith(`to: bob-${name}@example.com`)) {
      fail(`${name}: the distinguishing argument does not come first: "${pa}" / "${pb}"`);
    }
    if (!pa.includes('subject: Quarterly report')) fail(`${name}: the preview lacks the next argument: ${pa}`);
    if ((pa + pb).includes('sk-') || (pa + pb).includes('hmac-sha256')) fail('a redacted value is in a preview');
    // A long value is cut to one short line.
    const c = await propose(runId, 'send_email', { to: 'x'.repeat(200) + '@example.com' });
    const cardC = `#pending li[data-id="${c.approval_id}"] .args`;
    await page.waitForSelector(cardC, { timeout: 10000 });
    const pc = await page.textContent(cardC);
    if (pc.length > 60 || !pc.endsWith('\u2026')) fail(`${name}: a long value is not truncated: ${pc}`);
    await noSidewaysScroll(page, name);
    await page.screenshot({ path: join(artifacts, `approvals-previews-${name}.png`) });
    console.log(`test previews ${name}: ok ("${pa}" / "${pb}")`);
  },

  // Unstated classifications read "not classified"; stated ones read as the policy says.
  async classification(page, vp, name) {
    const runId = await newRun();
    const unstated = await propose(runId, 'send_email', { to: 'ops@example.com' });
    const stated = await propose(runId, 'delete_file', { path: '/srv/reports/old.csv' });
    const facts = async (call) => {
      await openLink(page, call.approval_url, call.approval_id);
      return page.evaluate(() => {
        const out = {};
        for (const dt of document.querySelectorAll('#d-facts dt')) out[dt.textContent] = dt.nextElementSibling.textContent;
        return out;
      });
    };
    const f1 = await facts(unstated);
    if (f1['Reversible'] !== 'not classified' || f1['Blast radius'] !== 'not classified') {
      fail(`${name}: unstated classification shown as ${JSON.stringify(f1)}`);
    }
    await page.screenshot({ path: join(artifacts, `approvals-classification-${name}.png`), fullPage: true });
    const f2 = await facts(stated);
    if (f2['Reversible'] !== 'no' || f2['Blast radius'] !== 'large') {
      fail(`${name}: stated classification shown as ${JSON.stringify(f2)}`);
    }
    // The API says which classifications the policy states (docs/api.md).
    const api = await page.evaluate(async (ids) => {
      const get = async (id) => (await (await fetch('/v1/approvals/' + id, {
        headers: { Authorization: 'Bearer ' + sessionStorage.getItem('interlock_token') } })).json()).classification;
      return [await get(ids[0]), await get(ids[1])];
    }, [unstated.approval_id, stated.approval_id]);
    if (JSON.stringify(api[0].stated) !== '[]' || api[0].reversible !== true ||
        JSON.stringify(api[1].stated) !== '["reversible","blast_radius"]') {
      fail('classification.stated: ' + JSON.stringify(api));
    }
    console.log(`test classification ${name}: ok (${JSON.stringify(f1)} / ${JSON.stringify(f2)})`);
  },

  // After a grant, why states the rule; the outcome has its own line.
  async why(page, vp, name) {
    const runId = await newRun();
    const call = await propose(runId, 'send_email', { to: `granted-${name}@example.com` });
    await openLink(page, call.approval_url, call.approval_id);
    const before = await page.textContent('#d-why');
    await approveOnPage(page, call.approval_id, 'recipient checked');
    await page.waitForFunction(() => /requires_approval/.test(document.querySelector('#d-why').textContent),
                               null, { timeout: 10000 });
    const why = await page.textContent('#d-why');
    const state = await page.textContent('#d-state');
    if (why.includes('approved by')) fail(`${name}: why states the outcome: ${why}`);
    if (!why.includes('tools.allowed["send_email"].requires_approval')) fail(`${name}: why lacks the rule: ${why}`);
    if (!/agent\.yaml:\d+:\d+/.test(why)) fail(`${name}: why lacks where the rule is written: ${why}`);
    if (why !== before) fail(`${name}: why changed with the grant: "${before}" -> "${why}"`);
    if (!state.includes('approved by rita')) fail(`${name}: the outcome line lacks the grant: ${state}`);
    // Opened afresh (the link of a decided approval), the same.
    await openLink(page, call.approval_url, call.approval_id);
    await page.waitForFunction(() => /requires_approval/.test(document.querySelector('#d-why').textContent),
                               null, { timeout: 10000 });
    if ((await page.textContent('#d-why')) !== before) fail(`${name}: a fresh load shows another why`);
    await page.screenshot({ path: join(artifacts, `approvals-why-${name}.png`) });
    console.log(`test why ${name}: ok (why "${why}"; outcome "${state}")`);
  },

  // No word that fits its line is split (the checker itself is checked first).
  async wrap(page, vp, name) {
    const runId = await newRun();
    await violate(runId);
    await violate(runId);
    const call = await propose(runId, 'send_email', { to: 'ops@example.com', subject: 'CONSTRAINT_VIOLATED twice' });
    await openLink(page, call.approval_url, call.approval_id);
    await page.waitForSelector('#d-run td.code', { timeout: 10000 });
    await page.waitForFunction(() => /left/.test(document.querySelector('#d-left')?.textContent || ''));
    // The checker finds what break-all does.
    const control = await page.evaluate(() => {
      const d = document.createElement('div');
      d.id = 'split-control';
      d.style.cssText = 'width:130px;word-break:break-all;font:15px monospace';
      d.textContent = 'abcdefgh CONSTRAINT';  // fits a line, but break-all fills the first
      document.body.appendChild(d);
      return true;
    });
    if (!control || (await splitWords(page, '#split-control')).length === 0) fail('the split-word check finds nothing under break-all');
    await page.evaluate(() => document.getElementById('split-control').remove());
    const codes = await page.$$eval('#d-run td.code', (tds) => tds.map((t) => t.textContent));
    if (!codes.includes('CONSTRAINT_VIOLATED')) fail('the run so far lacks the code: ' + codes);
    const split = await splitWords(page, '#detail');
    if (split.length) fail(`${name}: words split: ${split.join(', ')}`);
    const listSplit = await splitWords(page, '#pending');
    if (listSplit.length) fail(`${name}: words split in the list: ${listSplit.join(', ')}`);
    await noSidewaysScroll(page, name);
    await page.evaluate(() => document.querySelector('#d-run').scrollIntoView());
    await page.screenshot({ path: join(artifacts, `approvals-wrap-${name}.png`) });
    console.log(`test wrap ${name}: ok (${codes.length} codes)`);
  },
};

if (!scenarios[scenario]) {
  console.error('unknown scenario ' + scenario);
  process.exit(2);
}

await runInBrowser({ viewport: VIEWPORTS[0][1] }, undefined, async (page) => {
  for (const [name, vp] of VIEWPORTS) {
    await page.setViewportSize(vp);
    await scenarios[scenario](page, vp, name);
  }
});
