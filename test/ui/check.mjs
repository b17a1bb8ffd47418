#!/usr/bin/env node
// UI checks in the real VS Code workbench (../shared/vscode-offline): the status bar text and
// tooltip in a dark and a light theme, the budget warning colour, and the packaged VSIX
// installed as a user would (the panel has its own checks in panel.mjs). Screenshots go to docs/screenshots/ (committed, used in the README).
//   node test/ui/check.mjs [--vsix agent-spend.vsix] [--no-screenshots]
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { checker } from './checks.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const harnessPath = path.resolve(root, '../shared/vscode-offline/harness.mjs');
const { startWorkbench, waitForStatusBarItem, statusBarTexts } = await import(harnessPath);
const { writeHostFixture } = createRequire(import.meta.url)(path.join(root, 'out/test/host/fixtures.js'));

const arg = (name) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
const vsix = arg('--vsix');
const shots = !process.argv.includes('--no-screenshots');
const shotDir = path.join(root, 'docs', 'screenshots');
fs.mkdirSync(shotDir, { recursive: true });

const { check, finish } = checker();

const ITEM = '[id="agent-spend.agent-spend.agentSpend.spend"]';

/**
 * Hovers the item until its tooltip (containing `text`) shows: a hover is lost when the item
 * re-renders under the pointer (it updates as the first scan settles), so move away and retry.
 */
async function hoverTooltip(page, text) {
  const hover = page.locator('.monaco-hover, .workbench-hover').filter({ hasText: text }).first();
  for (let attempt = 1; ; attempt++) {
    await page.mouse.move(200, 200);
    await page.locator(ITEM).hover();
    try {
      await hover.waitFor({ timeout: 5000 });
      return hover;
    } catch (e) {
      if (attempt >= 3) throw e;
    }
  }
}

async function session({ theme, label, vsixFile }) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-spend-ui-'));
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-spend-ui-ws-'));
  writeHostFixture(home, Date.now());
  const wb = await startWorkbench({
    ...(vsixFile ? { vsix: [vsixFile] } : { extension: root }),
    workspace,
    env: { HOME: home, USERPROFILE: home, CLAUDE_CONFIG_DIR: '', CODEX_HOME: '' },
    settings: { 'workbench.colorTheme': theme, ...(vsixFile ? {} : { 'agentSpend.budgets.daily': 1.3 }) },
  });
  try {
    const { page } = wb;
    await check(`${label}: status bar shows today's spend`, async () => {
      const text = await waitForStatusBarItem(page, /\$1\.15 today/, { timeout: 60000 });
      assert.match(text, /\$1\.15 today · \$0\.1[12]\/min/);
      const item = page.locator(ITEM);
      assert.equal(await item.count(), 1, `status items: ${JSON.stringify(await statusBarTexts(page))}`);
      const aria = await item.locator('a').first().getAttribute('aria-label');
      assert.match(aria ?? '', /Agent Spend: \$1\.15 estimated today/);
    });
    if (vsixFile) return;
    await check(`${label}: tooltip lists periods and active sessions`, async () => {
      const hover = await hoverTooltip(page, 'Agent Spend');
      const text = await hover.innerText();
      assert.match(text, /Today\s+\$1\.15\s+2/);
      assert.match(text, /Active now \(2\)/);
      assert.match(text, /Open breakdown/);
      if (shots) await page.screenshot({ path: path.join(shotDir, `statusbar-tooltip-${label}.png`), clip: { x: 700, y: 380, width: 700, height: 520 } });
    });
    await check(`${label}: a daily budget near its limit colours the item and lists the budget`, async () => {
      await page.mouse.move(200, 200);
      await page.keyboard.press('Escape');
      const item = page.locator(ITEM);
      // the workbench was started with a $1.30 daily budget: $1.15 is 88 %
      await page.waitForFunction((sel) => document.querySelector(sel)?.classList.contains('warning-kind'), ITEM, { timeout: 20000 });
      if (shots) await page.screenshot({ path: path.join(shotDir, `statusbar-budget-item-${label}.png`), clip: { x: 900, y: 860, width: 500, height: 40 } });
      const hover = await hoverTooltip(page, 'Daily budget');
      assert.match(await hover.innerText(), /Daily budget[\s\S]*88\s?%[\s\S]*\$1\.15 of \$1\.30/);
      if (shots) await page.screenshot({ path: path.join(shotDir, `statusbar-budget-${label}.png`), clip: { x: 700, y: 330, width: 700, height: 570 } });
    });
  } finally {
    await wb.stop();
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

await session({ theme: 'Default Dark Modern', label: 'dark' });
await session({ theme: 'Default Light Modern', label: 'light' });
if (vsix) {
  const file = path.resolve(vsix);
  await check('VSIX exists', () => assert.ok(fs.existsSync(file), file));
  if (fs.existsSync(file)) await session({ theme: 'Default Dark Modern', label: 'vsix', vsixFile: file });
}
finish('ui');
