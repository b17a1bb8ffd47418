#!/usr/bin/env node
// UI checks of the breakdown panel's "Now" section in the real VS Code workbench
// (../shared/vscode-offline): two Claude Code sessions whose logs were written seconds ago are
// listed (running), an older one is not; the session Claude Code's status line reported shows
// its context percent "from Claude Code", the other one its estimate from the latest request;
// the plan limits show the status line's 5-hour and weekly windows labelled "from the status
// line"; "What your plan is worth" shows the sentence for `agentSpend.plans` and last month;
// clicking a row (and Enter on a focused row) opens that session's detail. Screenshots of a dark
// and a light theme go to docs/screenshots/now-*.png.
//   node test/ui/now.mjs [--no-screenshots] [--themes dark,light]
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checker, trackViolations } from './checks.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const harnessPath = path.resolve(root, '../shared/vscode-offline/harness.mjs');
const { startWorkbench, waitForStatusBarItem, runCommand, webviewFrame } = await import(harnessPath);

const arg = (name) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
const shots = !process.argv.includes('--no-screenshots');
const themes = (arg('--themes') ?? 'dark,light').split(',');
const shotDir = path.join(root, 'docs', 'screenshots');
fs.mkdirSync(shotDir, { recursive: true });

const { check, finish } = checker();
const THEMES = { dark: 'Default Dark Modern', light: 'Default Light Modern', hc: 'Default High Contrast' };
const MIN = 60_000;
const HOUR = 60 * MIN;

/** Running: written seconds ago; the status line reports this one. */
const WEBSHOP = '5a1f0c2e-7d41-4c3b-9e55-0a1b2c3d4e01';
/** Running: written seconds ago; no status line (context estimated from its latest request). */
const API = '5a1f0c2e-7d41-4c3b-9e55-0a1b2c3d4e02';
/** Finished three hours ago: not in the Now section. */
const OLD = '5a1f0c2e-7d41-4c3b-9e55-0a1b2c3d4e03';

/** Deterministic pseudo-random numbers (the screenshots stay the same run to run). */
function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

/** One Claude Code session log: requests at the given times; the file's mtime is its last request (or `mtime`). */
function writeClaudeSession(home, { sessionId, project, model, times, usage, prompt, mtime }) {
  const dir = path.join(home, '.claude', 'projects', project.replaceAll('/', '-'));
  fs.mkdirSync(dir, { recursive: true });
  const base = { cwd: project, sessionId, version: '2.0.58', gitBranch: 'main', isSidechain: false };
  const lines = [JSON.stringify({ ...base, type: 'user', uuid: `${sessionId}-p`, timestamp: new Date(times[0] - 5_000).toISOString(), message: { role: 'user', content: prompt } })];
  times.forEach((t, i) => {
    lines.push(JSON.stringify({
      ...base, parentUuid: null, type: 'assistant', requestId: `req_${sessionId}_${i}`, uuid: `${sessionId}-a${i}`, timestamp: new Date(t).toISOString(),
      message: { model, id: `msg_${sessionId}_${i}`, type: 'message', role: 'assistant', content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', usage: usage(i) },
    }));
  });
  const file = path.join(dir, `${sessionId}.jsonl`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  const m = new Date(mtime ?? times[times.length - 1]);
  fs.utimesSync(file, m, m);
}

function writeFixture(home, stateDir, now) {
  const rand = rng(20261124);
  const opus = 'claude-opus-4-5-20251101';
  const sonnet = 'claude-sonnet-4-5-20250929';
  // the two running sessions: requests over the last minutes (a burn rate), the last seconds ago, written now and 20 s ago
  const recent = (n, lastAgo) => Array.from({ length: n }, (_, i) => now - lastAgo - (n - 1 - i) * 40_000);
  writeClaudeSession(home, {
    sessionId: WEBSHOP, project: '/home/dev/webshop', model: opus, prompt: 'Add pagination to the orders endpoint', mtime: now,
    times: recent(14, 8_000),
    usage: (i) => ({ input_tokens: 40, cache_creation_input_tokens: 2_000 + i * 300, cache_read_input_tokens: 60_000 + i * 2_500, output_tokens: 900 + i * 40 }),
  });
  writeClaudeSession(home, {
    sessionId: API, project: '/home/dev/api-server', model: sonnet, prompt: 'Why does the import job run out of memory?', mtime: now - 20_000,
    times: recent(9, 25_000),
    usage: (i) => ({ input_tokens: 30, cache_creation_input_tokens: 4_000, cache_read_input_tokens: 120_000 + i * 6_000, output_tokens: 1_400 }),
  });
  // finished three hours ago
  writeClaudeSession(home, {
    sessionId: OLD, project: '/home/dev/infra', model: sonnet, prompt: 'Upgrade the Terraform providers',
    times: Array.from({ length: 20 }, (_, i) => now - 3 * HOUR - (20 - i) * 30_000),
    usage: () => ({ input_tokens: 30, cache_creation_input_tokens: 3_000, cache_read_input_tokens: 80_000, output_tokens: 2_000 }),
  });
  // history: earlier days of this month and last month (what the plan is worth)
  const d = new Date(now);
  for (let k = 1; k <= 40; k++) {
    const day = new Date(d.getFullYear(), d.getMonth(), d.getDate() - k, 9 + Math.floor(rand() * 8), Math.floor(rand() * 60));
    const n = 60 + Math.floor(rand() * 80);
    const times = Array.from({ length: n }, (_, i) => day.getTime() + i * 45_000);
    writeClaudeSession(home, {
      sessionId: `5a1f0c2e-7d41-4c3b-9e55-${String(100000000000 + k).slice(-12)}`, project: ['/home/dev/webshop', '/home/dev/api-server', '/home/dev/infra'][k % 3],
      model: rand() < 0.8 ? opus : sonnet, prompt: 'Refactor the auth middleware', times,
      usage: () => ({ input_tokens: 50, cache_creation_input_tokens: 20_000 + Math.floor(rand() * 40_000), cache_read_input_tokens: 120_000 + Math.floor(rand() * 60_000), output_tokens: 8_000 + Math.floor(rand() * 16_000) }),
    });
  }
  // what `agent-spend statusline` wrote for the webshop session (src/state/statuslineSnapshots.ts)
  const dir = path.join(stateDir, 'statusline');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const snapshot = {
    format: 'agent-spend/statusline', version: 1, receivedAt: now,
    input: {
      sessionId: WEBSHOP, cwd: '/home/dev/webshop', model: { id: opus, displayName: 'Opus 4.5' }, version: '2.0.58',
      contextWindow: { contextWindowSize: 200_000, usedPercent: 46, currentUsage: { inputTokens: 40, cacheCreationInputTokens: 5_900, cacheReadInputTokens: 86_000 } },
      rateLimits: { fiveHour: { usedPercent: 42, resetsAt: now + 2 * HOUR + 14 * MIN }, sevenDay: { usedPercent: 18, resetsAt: now + 3 * 24 * HOUR + 5 * HOUR } },
    },
  };
  fs.writeFileSync(path.join(dir, `${WEBSHOP}.json`), JSON.stringify(snapshot), { mode: 0o600 });
}

async function session(label) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-spend-ui-now-'));
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-spend-ui-now-ws-'));
  const stateDir = path.join(home, 'state');
  const now = Date.now();
  writeFixture(home, stateDir, now);
  const wb = await startWorkbench({
    extension: root,
    workspace,
    env: { HOME: home, USERPROFILE: home, CLAUDE_CONFIG_DIR: '', CODEX_HOME: '', AGENT_SPEND_STATE_DIR: stateDir },
    settings: {
      'workbench.colorTheme': THEMES[label], 'workbench.startupEditor': 'none',
      'agentSpend.plans': [{ agent: 'claude-code', name: 'Max', monthlyUSD: 200 }],
    },
    viewport: { width: 1500, height: 1000 },
  });
  await trackViolations(wb.context);
  try {
    const { page } = wb;
    let frame;
    await check(`${label}: the panel opens with the Now section at the top`, async () => {
      await waitForStatusBarItem(page, /today/, { timeout: 60000 });
      await runCommand(page, 'View: Close Primary Side Bar').catch(() => {});
      await runCommand(page, 'Agent Spend: Show Spend Breakdown');
      frame = await webviewFrame(page);
      await frame.locator('#app[data-loaded="true"]').waitFor({ timeout: 20000 });
      await frame.locator('#now:not([hidden]) .now-row').first().waitFor({ timeout: 20000 });
      const first = await frame.locator('#app > *').evaluateAll((els) => els.map((e) => e.id || e.className).slice(0, 2));
      assert.deepEqual(first[1], 'now', `the Now section follows the toolbar (${first.join(', ')})`);
    });
    if (!frame) return;

    await check(`${label}: status bar: the running count, and the limits item from the status line`, async () => {
      const spend = page.locator('[id="agent-spend.agent-spend.agentSpend.spend"]');
      const limits = page.locator('[id="agent-spend.agent-spend.agentSpend.limits"]');
      await limits.filter({ hasText: '5h 42% · 7d 18%' }).waitFor({ timeout: 20000 });
      assert.match(await spend.textContent(), /2 running · \$[\d,]+\.\d\d today/);
      const a11y = await limits.locator('a, [role="button"]').first().getAttribute('aria-label').catch(() => null) ?? await limits.getAttribute('aria-label');
      assert.match(a11y ?? '', /Agent Spend plan limits: 5-hour window 42% · weekly window 18%/);
      if (shots) {
        const bar = await page.locator('#workbench\\.parts\\.statusbar').boundingBox();
        const box = await spend.boundingBox();
        const x = Math.max(0, box.x - 420);
        await page.screenshot({ path: path.join(shotDir, `now-statusbar-${label}.png`), clip: { x, y: bar.y, width: bar.x + bar.width - x, height: bar.height } });
      }
    });

    await check(`${label}: the two running sessions are listed, the old one is not`, async () => {
      const rows = frame.locator('#now-list .now-row');
      assert.equal(await rows.count(), 2);
      const ids = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-session')));
      assert.deepEqual(ids, [WEBSHOP, API], 'newest activity first');
      assert.deepEqual(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-state'))), ['running', 'running']);
      assert.equal(await frame.locator(`.now-row[data-session="${OLD}"]`).count(), 0);
      assert.match(await frame.locator('#now-summary').textContent(), /^2 running$/);
      const web = frame.locator(`.now-row[data-session="${WEBSHOP}"]`);
      assert.equal(await web.locator('.now-project').textContent(), 'webshop');
      assert.match(await web.locator('.now-main .now-sub').textContent(), /^Claude Code · claude-opus-4-5/);
      assert.match(await web.locator('.now-cost-text').textContent(), /^\$\d+\.\d\d$/);
      assert.match(await web.locator('.now-burn').textContent(), /^\$[\d,]+\.\d\d\/h$/);
      assert.match(await web.locator('.now-activity-text').textContent(), /^(\d+ s ago|just now)$/);
      assert.match(await web.getAttribute('aria-label'), /^webshop, Claude Code, claude-opus-4-5.*, running, .*Open this session\.$/);
    });

    await check(`${label}: context percent from Claude Code's status line, or estimated from the latest request`, async () => {
      const web = frame.locator(`.now-row[data-session="${WEBSHOP}"]`);
      assert.equal(await web.locator('.now-context-text').textContent(), '46%');
      assert.equal(await web.locator('.now-context .now-sub').textContent(), 'from Claude Code');
      const api = frame.locator(`.now-row[data-session="${API}"]`);
      assert.match(await api.locator('.now-context-text').textContent(), /^\d+%$/);
      assert.equal(await api.locator('.now-context .now-sub').textContent(), 'estimated from the latest request');
    });

    await check(`${label}: plan limits from the status line, per window with its reset`, async () => {
      const box = frame.locator('#now-limits .limit-agent-box[data-agent="claude-code"]');
      assert.equal(await box.getAttribute('data-source'), 'statusline');
      assert.equal(await box.locator('.source-badge').textContent(), 'from the status line');
      const five = box.locator('.limit-window[data-kind="five-hour"]');
      assert.equal(await five.locator('.limit-label').textContent(), '5h');
      assert.equal(await five.locator('.limit-pct').textContent(), '42%');
      assert.match(await five.locator('.limit-reset').textContent(), /^resets in 2h 1[34]m$/);
      const week = box.locator('.limit-window[data-kind="weekly"]');
      assert.equal(await week.locator('.limit-label').textContent(), '7d');
      assert.equal(await week.locator('.limit-pct').textContent(), '18%');
      assert.match(await five.getAttribute('aria-label'), /^Claude Code 5-hour limit: 42% used, resets in .* \(from the status line\)$/);
    });

    await check(`${label}: what the plan is worth: this month's sentence and last month`, async () => {
      const plan = frame.locator('#now-plans .plan[data-agent="claude-code"]');
      // the plans' worth is recomputed every few seconds: the first one may predate the scan ($0)
      await plan.locator('.plan-sentence').filter({ hasText: /\$[1-9][\d,]* at API prices/ }).waitFor({ timeout: 20000 });
      assert.equal(await plan.locator('.plan-head').textContent(), 'Claude Code · Max · $200/month');
      assert.match(await plan.locator('.plan-sentence').textContent(), /^[\d.]+×\s*\$[\d,]+ at API prices so far this month on a \$200 plan — [\d.]+×$/);
      assert.ok(await plan.locator('table.plan-months tbody tr').count() >= 1, 'last month is listed');
      assert.match(await plan.locator('table.plan-months tbody tr td').first().textContent(), /^\$[\d,]+$/);
    });

    await check(`${label}: a Now row opens its session (click, and Enter from the keyboard)`, async () => {
      await frame.locator(`.now-row[data-session="${API}"]`).click();
      await frame.locator('#detail-title').filter({ hasText: 'api-server' }).waitFor({ timeout: 5000 });
      await frame.locator(`.now-row.selected[data-session="${API}"]`).waitFor({ timeout: 5000 });
      assert.equal(await frame.locator(`.grid-row.selected[data-row-id="${API}"]`).count(), 1, 'the same selection as the grid');
      await frame.locator(`.now-row[data-session="${WEBSHOP}"]`).focus();
      await page.keyboard.press('Enter');
      await frame.locator('#detail-title').filter({ hasText: 'webshop' }).waitFor({ timeout: 5000 });
      assert.equal(await frame.locator(`.now-row[data-session="${WEBSHOP}"]`).getAttribute('aria-current'), 'true');
      const violations = await frame.locator('body').evaluate(() => window.__asViolations);
      assert.deepEqual(violations, [], 'nothing ran against the CSP');
    });

    if (shots) {
      await check(`${label}: screenshot`, async () => {
        await page.waitForTimeout(800); // opening a session scrolls smoothly to its detail: let that end first
        await frame.locator('body').evaluate(() => window.scrollTo({ top: 0, behavior: 'instant' }));
        await page.waitForTimeout(200);
        assert.equal(await frame.locator('body').evaluate(() => window.scrollY), 0);
        await frame.locator(`.now-row[data-session="${API}"]`).hover();
        await page.waitForTimeout(400);
        const editor = await page.locator('.part.editor').boundingBox();
        await page.screenshot({ path: path.join(shotDir, `now-${label}.png`), clip: { ...editor, height: Math.min(editor.height, 560) } });
      });
    }
  } finally {
    await wb.stop();
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

for (const t of themes) await session(t);
finish('ui now');
