#!/usr/bin/env node
// UI checks of the breakdown panel's "Output vs spend" view in the real VS Code workbench
// (../shared/vscode-offline): the scatter chart has one dot per session in view (counted from
// the data the chart plots, exposed on the canvas as data-points, since a canvas has no DOM per
// dot), clicking a dot (its pixel position from data-hits) opens that session, the "Most
// expensive, least output" table lists the flagged session and opens it from the keyboard, the
// sessions table shows the output columns and the "no output" badge. Screenshots of a dark and
// a light theme go to docs/screenshots/output-*.png.
//   node test/ui/output.mjs [--no-screenshots] [--themes dark,light]
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
const { writeHostFixture, CLAUDE_SESSION_ID } = fixtures;

const arg = (name) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
const shots = !process.argv.includes('--no-screenshots');
const themes = (arg('--themes') ?? 'dark,light').split(',');
const shotDir = path.join(root, 'docs', 'screenshots');
fs.mkdirSync(shotDir, { recursive: true });

const { check, finish } = checker();
const THEMES = { dark: 'Default Dark Modern', light: 'Default Light Modern', hc: 'Default High Contrast' };
const ITEM = '[id="agent-spend.agent-spend.agentSpend.spend"]';

// ------------------------------------------------------------------ sessions with edits (and one without)

const PROJECTS = ['/home/dev/webshop', '/home/dev/api-server', '/home/dev/infra', '/home/dev/mobile-app'];
/** The expensive session that changed nothing: "spend without output" at the $5 default. */
const IDLE_SESSION = '7c1e9999-5d2a-4b7e-9f00-000000000999';

/**
 * Claude Code sessions on the days before today, each with Edit calls and their results
 * (structuredPatch), one expensive session without any edit. Returns the session ids.
 */
function writeOutputHistory(home, now) {
  const ids = [];
  // [days ago, project index, requests, output tokens per request, edits as [added, removed]]
  const plan = [
    [1, 0, 6, 4000, [[40, 12], [18, 3], [60, 0]]],
    [2, 1, 10, 9000, [[5, 2]]],
    [3, 2, 4, 3000, [[120, 40], [30, 30], [8, 1], [14, 0]]],
    [4, 3, 12, 12000, [[2, 1]]],
    [6, 0, 8, 6000, [[75, 20], [22, 9]]],
    [8, 1, 5, 2500, [[10, 4], [16, 2]]],
    [2, 2, 30, 16000, []], // the idle one: $7.20 of sonnet output, no edit
  ];
  plan.forEach(([daysAgo, p, requests, output, edits], n) => {
    const sessionId = n === plan.length - 1 ? IDLE_SESSION : `7c1e${String(9000 + n)}-5d2a-4b7e-9f00-${String(300000000000 + n * 7919).slice(-12)}`;
    ids.push(sessionId);
    const project = PROJECTS[p];
    const dir = path.join(home, '.claude', 'projects', project.replaceAll('/', '-'));
    fs.mkdirSync(dir, { recursive: true });
    const d = new Date(now);
    d.setDate(d.getDate() - daysAgo);
    d.setHours(10 + n, 0, 0, 0);
    let t = d.getTime();
    const base = { cwd: project, sessionId, version: '2.0.58', gitBranch: 'main', isSidechain: false };
    const lines = [JSON.stringify({ ...base, type: 'user', uuid: `o-p-${n}`, timestamp: new Date(t).toISOString(), message: { role: 'user', content: 'Make the change' } })];
    for (let r = 0; r < requests; r++) {
      t += 20_000;
      const edit = edits[r];
      const content = edit
        ? [{ type: 'tool_use', id: `toolu_${n}_${r}`, name: 'Edit', input: { file_path: `${project}/src/file${r}.ts`, old_string: 'a', new_string: 'b' } }]
        : [{ type: 'text', text: 'ok' }];
      lines.push(JSON.stringify({
        ...base, parentUuid: null, type: 'assistant', requestId: `req_o_${n}_${r}`, uuid: `o-a-${n}-${r}`, timestamp: new Date(t).toISOString(),
        message: { model: 'claude-sonnet-4-5-20250929', id: `msg_o_${n}_${r}`, type: 'message', role: 'assistant', content, stop_reason: edit ? 'tool_use' : 'end_turn', usage: { input_tokens: 50, cache_read_input_tokens: 20_000, output_tokens: output } },
      }));
      if (edit) {
        t += 2_000;
        const [added, removed] = edit;
        const hunk = [...Array.from({ length: removed }, (_, i) => `-old ${i}`), ...Array.from({ length: added }, (_, i) => `+new ${i}`)];
        lines.push(JSON.stringify({
          ...base, parentUuid: null, type: 'user', uuid: `o-r-${n}-${r}`, timestamp: new Date(t).toISOString(),
          message: { role: 'user', content: [{ tool_use_id: `toolu_${n}_${r}`, type: 'tool_result', content: 'ok' }] },
          toolUseResult: { filePath: `${project}/src/file${r}.ts`, oldString: 'a', newString: 'b', structuredPatch: [{ oldStart: 1, oldLines: removed, newStart: 1, newLines: added, lines: hunk }], userModified: false, replaceAll: false },
        }));
      }
    }
    fs.writeFileSync(path.join(dir, `${sessionId}.jsonl`), lines.join('\n') + '\n');
  });
  return ids;
}

async function session(label) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-spend-ui-output-'));
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-spend-ui-output-ws-'));
  const now = Date.now();
  writeHostFixture(home, now);
  const historyIds = writeOutputHistory(home, now);
  const wb = await startWorkbench({
    extension: root,
    workspace,
    env: { HOME: home, USERPROFILE: home, CLAUDE_CONFIG_DIR: '', CODEX_HOME: '' },
    settings: { 'workbench.colorTheme': THEMES[label], 'workbench.startupEditor': 'none' },
    viewport: { width: 1500, height: 1000 },
  });
  await trackViolations(wb.context);
  try {
    const { page } = wb;
    let frame;
    await check(`${label}: the panel opens with an output vs spend section`, async () => {
      await waitForStatusBarItem(page, /\$1\.15 today/, { timeout: 60000 });
      await runCommand(page, 'View: Close Primary Side Bar').catch(() => {});
      await page.locator(ITEM).click();
      frame = await webviewFrame(page);
      await frame.locator('#app[data-loaded="true"]').waitFor({ timeout: 20000 });
      await frame.locator('#output-scatter[data-hits]').waitFor({ state: 'attached', timeout: 10000 });
      assert.match(await frame.locator('#output-title').textContent(), /Output vs spend/);
    });
    if (!frame) return;
    const canvas = frame.locator('#output-scatter');
    const sessionCount = 2 + historyIds.length; // the fixture's Claude and Codex sessions, and the history

    await check(`${label}: the scatter has one dot per session, each dot a session row`, async () => {
      assert.equal(Number(await canvas.getAttribute('data-points')), sessionCount);
      const hits = JSON.parse(await canvas.getAttribute('data-hits'));
      assert.equal(hits.length, sessionCount);
      const ids = hits.map(([id]) => id).sort();
      assert.deepEqual(ids, [...new Set(ids)], 'one dot per session');
      for (const id of [CLAUDE_SESSION_ID, ...historyIds]) assert.ok(ids.includes(id), `a dot for ${id}`);
      assert.match(await frame.locator('#sessions-summary').textContent(), new RegExp(`^${sessionCount} sessions`));
      const box = await canvas.boundingBox();
      for (const [, x, y] of hits) assert.ok(x >= 0 && y >= 0 && x <= box.width && y <= box.height, `dot inside the canvas: ${x},${y}`);
      assert.match(await canvas.getAttribute('aria-label'), new RegExp(`^Output versus spend: ${sessionCount} sessions, cost against lines changed; 1 spent without output`));
      assert.equal(await canvas.getAttribute('aria-describedby'), 'output-note');
      assert.match(await frame.locator('#output-note').textContent(), /cannot be reached with the keyboard/);
    });

    await check(`${label}: clicking a dot opens that session`, async () => {
      const hits = JSON.parse(await canvas.getAttribute('data-hits'));
      const target = historyIds[2]; // the session with the most lines
      const [, x, y] = hits.find(([id]) => id === target);
      await canvas.click({ position: { x, y } });
      await frame.locator(`.grid-row.selected[data-row-id="${target}"]`).waitFor({ timeout: 5000 });
      await frame.locator('#detail-title').filter({ hasText: 'infra' }).waitFor({ timeout: 5000 });
      // and another one (the idle, expensive session)
      const [, x2, y2] = hits.find(([id]) => id === IDLE_SESSION);
      await canvas.click({ position: { x: x2, y: y2 } });
      await frame.locator(`.grid-row.selected[data-row-id="${IDLE_SESSION}"]`).waitFor({ timeout: 5000 });
    });

    await check(`${label}: the sessions table shows lines, files, commits, $/100 lines and the "no output" badge`, async () => {
      const row = (id) => frame.locator(`.grid-row[data-row-id="${id}"]`);
      await frame.locator('[role=columnheader]').filter({ hasText: 'Cost' }).locator('button').click(); // most expensive first: the idle one is in view
      assert.equal((await row(historyIds[2]).locator('.col-lines').textContent()).replace(/\s/g, ''), '+172−71');
      assert.equal(await row(historyIds[2]).locator('.col-files').textContent(), '4');
      assert.match(await row(historyIds[2]).locator('.col-per100').textContent(), /^\$[\d.]+$/);
      assert.equal(await row(IDLE_SESSION).locator('.no-output-badge').textContent(), 'no output');
      assert.equal(await row(IDLE_SESSION).locator('.col-per100').textContent(), '—');
      assert.equal(await row(IDLE_SESSION).locator('.col-lines').textContent(), '+0−0');
      // commits are '—' until git facts arrive (the fixture folders are not repositories)
      assert.equal(await row(IDLE_SESSION).locator('.col-commits').textContent(), '—');
      // sortable: most lines first
      const lines = frame.locator('[role=columnheader]').filter({ hasText: '+/− lines' });
      await lines.locator('button').click();
      assert.equal(await lines.getAttribute('aria-sort'), 'descending');
      assert.equal(await frame.locator('.grid-body .grid-row[aria-rowindex="2"]').getAttribute('data-row-id'), historyIds[2]);
      await frame.locator('[role=columnheader]').filter({ hasText: 'Started' }).locator('button').click();
    });

    await check(`${label}: "Most expensive, least output" lists the flagged session first and opens it from the keyboard`, async () => {
      const first = frame.locator('#least-output tbody tr').first();
      assert.equal(await first.getAttribute('data-row'), IDLE_SESSION);
      assert.equal(await first.locator('.no-output-badge').count(), 1);
      await frame.locator(`.grid-row[data-row-id="${CLAUDE_SESSION_ID}"]`).click(); // select another one first
      await frame.locator(`.grid-row.selected[data-row-id="${CLAUDE_SESSION_ID}"]`).waitFor({ timeout: 5000 });
      await first.locator('button.session-link').focus();
      await page.keyboard.press('Enter');
      await frame.locator(`.grid-row.selected[data-row-id="${IDLE_SESSION}"]`).waitFor({ timeout: 5000 });
      assert.equal(await first.getAttribute('class'), 'selected');
    });

    await check(`${label}: the y axis toggles to commits, same dots`, async () => {
      await frame.locator('.segmented [data-y="commits"]').click();
      assert.equal(await canvas.getAttribute('data-y'), 'commits');
      assert.equal(Number(await canvas.getAttribute('data-points')), sessionCount);
      assert.equal(await frame.locator('.segmented [data-y="commits"]').getAttribute('aria-checked'), 'true');
      await frame.locator('.segmented [data-y="lines"]').click();
      assert.equal(await canvas.getAttribute('data-y'), 'lines');
      const violations = await frame.locator('body').evaluate(() => window.__asViolations);
      assert.deepEqual(violations, [], 'nothing ran against the CSP');
    });

    if (shots) {
      await check(`${label}: screenshot`, async () => {
        const hits = JSON.parse(await canvas.getAttribute('data-hits'));
        const [, x, y] = hits.find(([id]) => id === historyIds[0]);
        await canvas.hover({ position: { x, y } }); // a tooltip in the picture
        await frame.locator('#sessions-grid').evaluate((g) => { g.scrollLeft = 0; });
        await frame.locator('#output').evaluate((s) => window.scrollTo(0, s.getBoundingClientRect().top + window.scrollY - (document.querySelector('.toolbar')?.getBoundingClientRect().height ?? 0) - 12));
        await page.waitForTimeout(400);
        await canvas.hover({ position: { x, y } });
        await page.waitForTimeout(300);
        const editor = await page.locator('.part.editor').boundingBox();
        await page.screenshot({ path: path.join(shotDir, `output-${label}.png`), clip: editor });
      });
    }
  } finally {
    await wb.stop();
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

for (const t of themes) await session(t);
finish('ui output');
