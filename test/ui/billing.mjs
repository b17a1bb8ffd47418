#!/usr/bin/env node
// UI check in the real workbench (../shared/vscode-offline): a person stores an Anthropic admin
// key through "Agent Spend: Set Provider Key" (quick pick + password box), the extension polls a
// local provider server (loopback only) and the panel shows billed vs estimated per UTC day.
// Screenshots (dark and light) go to docs/screenshots/billing-*.png.
//   node test/ui/billing.mjs [--no-screenshots]
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { checker } from './checks.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { startWorkbench, waitForStatusBarItem, runCommand, webviewFrame } = await import(path.resolve(root, '../shared/vscode-offline/harness.mjs'));
const { writeHostFixture } = createRequire(import.meta.url)(path.join(root, 'out/test/host/fixtures.js'));
const shots = !process.argv.includes('--no-screenshots');
const shotDir = path.join(root, 'docs', 'screenshots');
fs.mkdirSync(shotDir, { recursive: true });

const KEY = 'sk-ant-admin01-UICHECK-0000';
const { check, finish } = checker();

/** Anthropic Admin API shapes for the last 4 UTC days: today $1.2345 (cents as a decimal string), before it $0.80 a day. */
function startProvider() {
  const requests = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push({ path: url.pathname, key: req.headers['x-api-key'] });
    const days = [0, 1, 2, 3].map((n) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10));
    const bucket = (day, results) => ({ starting_at: `${day}T00:00:00Z`, ending_at: `${day}T23:59:59Z`, results });
    const body = url.pathname.endsWith('/usage_report/messages')
      ? { data: days.map((d) => bucket(d, [{ uncached_input_tokens: 100_000, cache_read_input_tokens: 0, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 }, output_tokens: 20_000 }])), has_more: false, next_page: null }
      : { data: days.map((d, i) => bucket(d, [{ amount: i === 0 ? '123.45' : '80', currency: 'USD' }])), has_more: false, next_page: null };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, requests, url: `http://127.0.0.1:${server.address().port}` })));
}

async function session(theme, label) {
  const provider = await startProvider();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-spend-ui-billing-'));
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-spend-ui-ws-'));
  writeHostFixture(home, Date.now());
  const wb = await startWorkbench({
    extension: root,
    workspace,
    env: { HOME: home, USERPROFILE: home, CLAUDE_CONFIG_DIR: '', CODEX_HOME: '' },
    settings: { 'workbench.colorTheme': theme, 'agentSpend.providers.anthropic.baseUrl': provider.url },
  });
  try {
    const { page } = wb;
    await waitForStatusBarItem(page, /\$1\.15 today/, { timeout: 60000 });
    await check(`${label}: the key is entered in a password box and used`, async () => {
      // The key flow through the palette; once more if nothing was polled (seen once under CI load
      // in the web workbench, cause not found yet: reported in the closing note).
      for (let attempt = 1; attempt <= 2 && provider.requests.length < 2; attempt++) {
        if (attempt > 1) console.log('     (no request after the first key entry: entering it again)');
        await runCommand(page, 'Agent Spend: Set Provider Key');
        const input = page.locator('.quick-input-widget input');
        const anthropic = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Anthropic' }).first();
        await anthropic.waitFor({ state: 'visible', timeout: 10000 });
        await anthropic.click();
        await page.waitForFunction(() => document.querySelector('.quick-input-widget input')?.getAttribute('type') === 'password', null, { timeout: 10000 });
        await input.focus();
        await input.fill(KEY);
        await page.waitForFunction((k) => document.querySelector('.quick-input-widget input')?.value === k, KEY, { timeout: 5000 });
        await input.press('Enter');
        await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10000 });
        for (let i = 0; i < 200 && provider.requests.length < 2; i++) await page.waitForTimeout(100);
      }
      assert.ok(provider.requests.length >= 2, `${provider.requests.length} requests`);
      assert.ok(provider.requests.every((r) => r.key === KEY));
    });
    await check(`${label}: the panel shows billed vs estimated per UTC day`, async () => {
      await page.locator('[id="agent-spend.agent-spend.agentSpend.spend"]').click();
      const frame = await webviewFrame(page);
      const section = frame.locator('section', { hasText: 'Billed vs estimated' }).first();
      await section.waitFor({ timeout: 20000 });
      const today = new Date().toISOString().slice(0, 10);
      await frame.locator('section', { hasText: 'Billed vs estimated' }).locator('tr', { hasText: '$1.23' }).first().waitFor({ timeout: 20000 });
      const text = await section.innerText();
      assert.match(text, /Anthropic/);
      assert.ok(!text.includes(KEY), 'the key never reaches the webview');
      if (shots) {
        await section.scrollIntoViewIfNeeded();
        await section.screenshot({ path: path.join(shotDir, `billing-${label}.png`) });
      }
      console.log(`     ${today}: ${text.split('\n').filter((l) => l.includes('$')).slice(0, 3).join(' | ')}`);
    });
  } finally {
    await wb.stop();
    provider.server.close();
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

await session('Default Dark Modern', 'dark');
await session('Default Light Modern', 'light');
finish('ui billing');
