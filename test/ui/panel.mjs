#!/usr/bin/env node
// UI checks of the breakdown panel in the real VS Code workbench (../shared/vscode-offline):
// the status bar click opens it, the fixture session and its cost are there, its tasks open,
// sorting by cost sorts, the keyboard moves through the table, a prompt made of markup shows
// as literal text and runs nothing, and live appends update it in place. Screenshots of a dark
// and a light theme go to docs/screenshots/panel-*.png (committed, used in the README).
//   node test/ui/panel.mjs [--no-screenshots] [--themes dark,light,hc]
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { checker, trackViolations } from './checks.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const harnessPath = path.resolve(root, '../shared/vscode-offline/harness.mjs');
const { startWorkbench, waitForStatusBarItem, runCommand, webviewFrame } = await import(harnessPath);
const fixtures = createRequire(import.meta.url)(path.join(root, 'out/test/host/fixtures.js'));
const { writeHostFixture, claudeLine, FIXTURE_PROMPT_TITLE, CLAUDE_SESSION_ID } = fixtures;

const arg = (name) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
const shots = !process.argv.includes('--no-screenshots');
const themes = (arg('--themes') ?? 'dark,light').split(',');
const shotDir = path.join(root, 'docs', 'screenshots');
fs.mkdirSync(shotDir, { recursive: true });

const { check, finish } = checker();

/** The visible grid rows once `ok(rows)` holds (filters apply after a short debounce), or the last ones after 5 s. */
async function rowsWhen(frame, ok) {
  let rows = [];
  for (let i = 0; i < 50; i++) {
    rows = await visibleRows(frame);
    if (ok(rows)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return rows;
}

const THEMES = {
  dark: 'Default Dark Modern',
  light: 'Default Light Modern',
  hc: 'Default High Contrast',
};
const ITEM = '[id="agent-spend.agent-spend.agentSpend.spend"]';

// ------------------------------------------------------------------ a few weeks of believable history

/** Deterministic pseudo-random numbers (the screenshots stay the same run to run). */
function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const PROMPTS = [
  'Add pagination to the orders endpoint',
  'Fix the flaky checkout test on CI',
  'Refactor the auth middleware to use the new session store',
  'Why does the import job run out of memory on large files?',
  'Write a migration that backfills the invoice totals',
  'Add dark mode to the settings page',
  'Speed up the search query, it takes 4 s on production data',
  'Review this PR and list what is risky',
  'Upgrade to React 19 and fix the type errors',
  'Add retries with backoff to the webhook sender',
];
const PROJECTS = ['/home/dev/webshop', '/home/dev/api-server', '/home/dev/infra', '/home/dev/mobile-app'];
const BRANCHES = ['main', 'feature/pagination', 'fix/checkout-flake', 'refactor/auth', 'chore/react-19'];

/** Claude Code sessions and Codex rollouts on the days before today (today keeps the fixture's $1.15). */
function writeHistory(home, now) {
  const rand = rng(20261124);
  const pick = (a) => a[Math.floor(rand() * a.length)];
  let n = 0;
  for (let daysAgo = 1; daysAgo <= 24; daysAgo++) {
    const day = new Date(now);
    day.setDate(day.getDate() - daysAgo);
    day.setHours(9 + Math.floor(rand() * 8), Math.floor(rand() * 60), 0, 0);
    if (day.getDay() === 0 && rand() < 0.7) continue; // quiet Sundays
    const sessions = 1 + Math.floor(rand() * 2.2);
    for (let s = 0; s < sessions; s++) {
      n++;
      let t = day.getTime() + s * 2.5 * 3_600_000;
      const project = pick(PROJECTS);
      const branch = pick(BRANCHES);
      if (rand() < 0.72) {
        const sessionId = `7c1e${String(n).padStart(4, '0')}-5d2a-4b7e-9f00-${String(100000000000 + n * 7919).slice(-12)}`;
        const dir = path.join(home, '.claude', 'projects', project.replaceAll('/', '-'));
        fs.mkdirSync(dir, { recursive: true });
        const model = rand() < 0.3 ? 'claude-opus-4-5-20251101' : 'claude-sonnet-4-5-20250929';
        const logged = rand() < 0.12; // an older Claude Code that logged its own cost
        const lines = [];
        const prompts = 1 + Math.floor(rand() * 4);
        for (let p = 0; p < prompts; p++) {
          t += 60_000 + rand() * 600_000;
          lines.push(JSON.stringify({ type: 'user', message: { role: 'user', content: pick(PROMPTS) }, uuid: `up-${n}-${p}`, timestamp: new Date(t).toISOString(), sessionId, cwd: project, gitBranch: branch, isSidechain: false }));
          const calls = 3 + Math.floor(rand() * 14);
          const agentId = rand() < 0.35 ? `a${(n * 31 + p).toString(16).padStart(7, '0')}` : undefined;
          for (let c = 0; c < calls; c++) {
            t += 4_000 + rand() * 40_000;
            const sub = agentId && c >= calls / 2;
            const usage = {
              input_tokens: 20 + Math.floor(rand() * 400),
              cache_creation_input_tokens: Math.floor(rand() * 9000),
              cache_read_input_tokens: 20_000 + Math.floor(rand() * 90_000),
              output_tokens: 200 + Math.floor(rand() * 2500),
            };
            const rec = {
              parentUuid: null, isSidechain: Boolean(sub), type: 'assistant', requestId: `req_${n}_${p}_${c}`, uuid: `ua-${n}-${p}-${c}`,
              timestamp: new Date(t).toISOString(), cwd: project, sessionId, version: logged ? '1.0.20' : '2.0.58', gitBranch: branch,
              message: { model: sub ? 'claude-haiku-4-5-20251001' : model, id: `msg_${n}_${p}_${c}`, type: 'message', role: 'assistant', content: [{ type: 'text', text: 'ok' }], usage },
            };
            if (sub) rec.agentId = agentId;
            if (logged) rec.costUSD = Number((0.02 + rand() * 0.09).toFixed(6));
            lines.push(JSON.stringify(rec));
          }
        }
        fs.writeFileSync(path.join(dir, `${sessionId}.jsonl`), lines.join('\n') + '\n');
      } else {
        const id = `0199cc${String(n).padStart(2, '0')}-aaaa-7bbb-8ccc-${String(200000000000 + n * 104729).slice(-12)}`;
        const d = new Date(t);
        const dir = path.join(home, '.codex', 'sessions', String(d.getFullYear()), String(d.getMonth() + 1).padStart(2, '0'), String(d.getDate()).padStart(2, '0'));
        fs.mkdirSync(dir, { recursive: true });
        const recs = [
          { timestamp: d.toISOString(), type: 'session_meta', payload: { id, cwd: project, cli_version: '0.58.0', git: { branch } } },
          { timestamp: d.toISOString(), type: 'turn_context', payload: { model: 'gpt-5-codex', cwd: project } },
        ];
        const total = { input_tokens: 0, cached_input_tokens: 0, output_tokens: 0, reasoning_output_tokens: 0, total_tokens: 0 };
        const prompts = 1 + Math.floor(rand() * 3);
        for (let p = 0; p < prompts; p++) {
          t += 60_000 + rand() * 600_000;
          recs.push({ timestamp: new Date(t).toISOString(), type: 'event_msg', payload: { type: 'user_message', message: pick(PROMPTS) } });
          const calls = 2 + Math.floor(rand() * 10);
          for (let c = 0; c < calls; c++) {
            t += 5_000 + rand() * 30_000;
            const last = { input_tokens: 8000 + Math.floor(rand() * 40_000), cached_input_tokens: 0, output_tokens: 300 + Math.floor(rand() * 3000), reasoning_output_tokens: 0, total_tokens: 0 };
            last.cached_input_tokens = Math.floor(last.input_tokens * 0.7);
            last.reasoning_output_tokens = Math.floor(last.output_tokens * 0.4);
            last.total_tokens = last.input_tokens + last.output_tokens;
            for (const k of Object.keys(total)) total[k] += last[k];
            recs.push({ timestamp: new Date(t).toISOString(), type: 'event_msg', payload: { type: 'token_count', info: { total_token_usage: { ...total }, last_token_usage: last }, rate_limits: null } });
          }
        }
        fs.writeFileSync(path.join(dir, `rollout-${d.toISOString().slice(0, 19).replaceAll(':', '-')}-${id}.jsonl`), recs.map((r) => JSON.stringify(r)).join('\n') + '\n');
      }
    }
  }
}

// ------------------------------------------------------------------ helpers in the webview

/** Texts of the rendered rows' cells (what the user sees), top to bottom. */
async function visibleRows(frame) {
  return frame.locator('.grid-body .grid-row').evaluateAll((rows) => rows
    .map((r) => ({ index: Number(r.getAttribute('aria-rowindex')), id: r.getAttribute('data-row-id'), cells: [...r.querySelectorAll('[role=gridcell]')].map((c) => c.textContent ?? '') }))
    .sort((a, b) => a.index - b.index));
}

const COL = { project: 0, agent: 1, cost: 11 };
const dollars = (text) => Number((text.match(/\$([\d,]+\.\d\d)(?!.*\$)/)?.[1] ?? 'NaN').replaceAll(',', ''));

async function session(label) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-spend-ui-panel-'));
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-spend-ui-panel-ws-'));
  const now = Date.now();
  const fixture = writeHostFixture(home, now);
  writeHistory(home, now);
  const wb = await startWorkbench({
    extension: root,
    workspace,
    env: { HOME: home, USERPROFILE: home, CLAUDE_CONFIG_DIR: '', CODEX_HOME: '' },
    settings: { 'workbench.colorTheme': THEMES[label], 'workbench.startupEditor': 'none' },
    viewport: { width: 1500, height: 1000 },
  });
  // Counts any alert() and any CSP violation in every frame, the webview's included.
  await trackViolations(wb.context, { alerts: true });
  try {
    const { page } = wb;
    let frame;
    await check(`${label}: a click on the status bar opens the panel`, async () => {
      await waitForStatusBarItem(page, /\$1\.15 today/, { timeout: 60000 });
      await runCommand(page, 'View: Close Primary Side Bar').catch(() => {});
      await page.locator(ITEM).click();
      frame = await webviewFrame(page);
      await frame.locator('#app[data-loaded="true"]').waitFor({ timeout: 20000 });
      assert.equal(await page.locator('iframe.webview.ready').count(), 1);
      await page.locator(ITEM).click(); // again: the same panel, revealed
      await page.waitForTimeout(300);
      assert.equal(await page.locator('iframe.webview.ready').count(), 1, 'one panel');
    });
    if (!frame) return;

    await check(`${label}: overview shows today's spend and the chart`, async () => {
      assert.equal((await frame.locator('#card-today-value').textContent()).trim(), '$1.15');
      assert.match(await frame.locator('#card-today-sub').textContent(), /^2 requests · /);
      const month = dollars(await frame.locator('#card-month-value').textContent());
      assert.ok(month >= 1.15, `month ${month}`);
      assert.ok(await frame.locator('canvas#timeline').evaluate((c) => c.width > 100 && c.height > 100));
      assert.match(await frame.locator('canvas#timeline').getAttribute('aria-label'), /^Daily spend by agent, last 30 days: \$[\d,.]+ in total/);
      const agents = await frame.locator('#by-agent tbody tr th').allTextContents();
      assert.deepEqual([...agents].sort(), ['Claude Code', 'Codex CLI']);
    });

    await check(`${label}: the fixture session is listed with its cost`, async () => {
      const rows = await visibleRows(frame);
      const claude = rows.find((r) => r.id === CLAUDE_SESSION_ID);
      assert.ok(claude, JSON.stringify(rows.slice(0, 3)));
      assert.match(claude.cells[COL.project], /host-demo/);
      assert.equal(claude.cells[COL.agent], 'Claude Code');
      assert.equal(claude.cells[COL.cost], '$0.60');
      const codex = rows.find((r) => r.cells[COL.project].includes('codex-demo'));
      assert.equal(codex?.cells[COL.cost], '$0.55');
      const title = await frame.locator(`.grid-row[data-row-id="${CLAUDE_SESSION_ID}"] .col-project`).getAttribute('title');
      assert.match(title, /^\/work\/host-demo\nSession host-test-session-1/, 'full path in the tooltip');
    });

    await check(`${label}: its tasks open; the markup prompt is literal text and runs nothing`, async () => {
      await frame.locator(`.grid-row[data-row-id="${CLAUDE_SESSION_ID}"]`).click();
      const titles = frame.locator('#detail .task-title');
      await titles.first().waitFor({ timeout: 10000 });
      assert.equal(await titles.first().textContent(), FIXTURE_PROMPT_TITLE);
      assert.equal(await titles.nth(1).textContent(), 'Now write the tests');
      assert.equal(await frame.locator('#detail img, #detail script, img[src="x"]').count(), 0, 'no element made from the prompt');
      // scripts in the page: VS Code's own acquireVsCodeApi shim, and the bundle; nothing else
      const scripts = await frame.locator('script').evaluateAll((ss) => ss.map((x) => x.src ? x.src.split('/').pop() : x.textContent.includes('acquireVsCodeApi') ? 'vscode-shim' : x.textContent.slice(0, 80)));
      assert.deepEqual(scripts, ['vscode-shim', 'webview.js']);
      await frame.locator('#detail tr.task').first().locator('button.twisty-button').click();
      await frame.locator('#detail table.requests tbody tr').first().waitFor({ timeout: 10000 });
      assert.equal(await frame.locator('#detail table.requests tbody tr').count(), 1);
      assert.match(await frame.locator('#detail table.requests tbody tr').first().textContent(), /claude-sonnet-4-5-20250929.*\$0\.60/);
      assert.equal(await frame.locator('#detail .facts').getByText(fixture.claudeSession).count(), 1, 'the log file is named');
      const counters = await frame.locator('body').evaluate(() => ({ alerts: window.__asAlerts, violations: window.__asViolations }));
      assert.equal(counters.alerts, 0, 'alert() was never called');
      assert.deepEqual(counters.violations, [], 'nothing tried to run against the CSP');
    });

    await check(`${label}: sorting by cost sorts both ways`, async () => {
      const header = frame.locator('[role=columnheader]').filter({ hasText: 'Cost' });
      await header.locator('button').click();
      assert.equal(await header.getAttribute('aria-sort'), 'descending');
      let costs = (await visibleRows(frame)).map((r) => dollars(r.cells[COL.cost]));
      assert.ok(costs.length > 5, `${costs.length} rows`);
      assert.deepEqual(costs, [...costs].sort((a, b) => b - a), `descending: ${costs}`);
      await header.locator('button').click();
      assert.equal(await header.getAttribute('aria-sort'), 'ascending');
      costs = (await visibleRows(frame)).map((r) => dollars(r.cells[COL.cost]));
      assert.deepEqual(costs, [...costs].sort((a, b) => a - b), `ascending: ${costs}`);
      await frame.locator('[role=columnheader]').filter({ hasText: 'Started' }).locator('button').click(); // back to most recent first
    });

    await check(`${label}: keyboard moves through the table and opens a row`, async () => {
      const grid = frame.locator('#sessions-grid');
      await grid.focus();
      await page.keyboard.press('Home');
      assert.equal(await grid.getAttribute('aria-activedescendant'), 'session-row-0');
      await page.keyboard.press('ArrowDown');
      assert.equal(await grid.getAttribute('aria-activedescendant'), 'session-row-1');
      const second = (await visibleRows(frame))[1];
      await page.keyboard.press('Enter');
      await frame.locator(`.grid-row.selected[data-row-id="${second.id}"]`).waitFor({ timeout: 5000 });
      await frame.locator('#detail-title').filter({ hasText: second.cells[COL.project].replace(/\d+$/, '') }).waitFor({ timeout: 5000 });
      await page.keyboard.press('Home');
      await page.keyboard.press('Enter');
      await frame.locator(`.grid-row.selected[data-row-id="${CLAUDE_SESSION_ID}"]`).waitFor({ timeout: 5000 });
    });

    await check(`${label}: subagents nest under their session with own and combined cost`, async () => {
      await frame.locator('#filter-text').fill('a');
      await frame.locator('#filter-text').fill('');
      const parent = frame.locator('.grid-row[aria-expanded="false"]').first();
      await parent.waitFor({ timeout: 5000 });
      const id = await parent.getAttribute('data-row-id');
      await parent.locator('.twisty').click();
      const children = frame.locator(`.grid-row[aria-level="2"]`);
      await children.first().waitFor({ timeout: 5000 });
      assert.match(await children.first().locator('.col-project').textContent(), /^subagent /);
      const costCell = await frame.locator(`.grid-row[data-row-id="${id}"] .col-cost`).textContent();
      assert.match(costCell, /^own \$[\d,.]+\$[\d,.]+$/, costCell);
      await frame.locator(`.grid-row[data-row-id="${id}"] .twisty`).click();
    });

    await check(`${label}: live appends update the row in place, keeping selection and scroll`, async () => {
      const grid = frame.locator('#sessions-grid');
      const before = await grid.evaluate((g) => g.scrollTop);
      const seq = Number(await frame.locator('#app').getAttribute('data-seq'));
      // 100,000 output × $15/M = $1.50 → the session goes from $0.60 to $2.10
      fs.appendFileSync(fixture.claudeSession, claudeLine('msg_ui_live', Date.now(), 0, 100_000));
      await frame.locator(`.grid-row[data-row-id="${CLAUDE_SESSION_ID}"] .col-cost`).filter({ hasText: '$2.10' }).waitFor({ timeout: 10000 });
      assert.ok(Number(await frame.locator('#app').getAttribute('data-seq')) > seq, 'an update message, not a reload');
      assert.equal(await frame.locator(`.grid-row.selected[data-row-id="${CLAUDE_SESSION_ID}"]`).count(), 1, 'still selected');
      assert.equal(await grid.evaluate((g) => g.scrollTop), before);
      assert.equal((await frame.locator('#card-today-value').textContent()).trim(), '$2.65');
      await frame.locator('#detail .task-title').first().waitFor();
      assert.equal(await frame.locator('#detail tr.task').count(), 2);
    });

    await check(`${label}: filters by text and agent`, async () => {
      await frame.locator('#filter-text').fill('codex-demo');
      let rows = await rowsWhen(frame, (rs) => rs.length === 1);
      assert.deepEqual(rows.map((r) => r.cells[COL.project]), ['codex-demo']);
      await frame.locator('#filter-text').fill('');
      await frame.locator('#filter-agent').selectOption('codex');
      rows = await rowsWhen(frame, (rs) => rs.length > 1 && rs.every((r) => r.cells[COL.agent] === 'Codex CLI'));
      assert.ok(rows.length > 1 && rows.every((r) => r.cells[COL.agent] === 'Codex CLI'), JSON.stringify(rows.map((r) => r.cells[COL.agent])));
      assert.match(await frame.locator('#sessions-summary').textContent(), /^\d+ sessions of \d+ · \$/);
      await frame.locator('#clear-filters').click();
    });

    if (shots) {
      await check(`${label}: screenshots`, async () => {
        // a session with subagents and a task open, for the pictures
        await frame.locator('#filter-text').fill('');
        await frame.locator('#filter-agent').selectOption('');
        await frame.locator('.grid-row[aria-expanded="false"]').first().locator('.twisty').click();
        await frame.locator('body').evaluate(() => window.scrollTo(0, 0));
        await page.mouse.move(5, 500);
        await page.waitForTimeout(400);
        const editor = await page.locator('.part.editor').boundingBox();
        await page.screenshot({ path: path.join(shotDir, `panel-${label}.png`), clip: editor });
        await frame.locator('.grid-row[data-row-id]').filter({ hasText: 'webshop' }).first().click();
        await frame.locator('#detail tr.task').first().waitFor();
        const toggles = frame.locator('#detail tr.task button.twisty-button:not([disabled])');
        if (await toggles.count()) await toggles.first().click();
        await frame.locator('#detail table.requests').first().waitFor({ timeout: 5000 }).catch(() => {});
        await frame.locator('#detail').evaluate((d) => d.scrollIntoView({ block: 'start' }));
        await page.waitForTimeout(300);
        await page.screenshot({ path: path.join(shotDir, `panel-detail-${label}.png`), clip: editor });
      });
    }
  } finally {
    await wb.stop();
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

for (const t of themes) await session(t);
finish('ui panel');
