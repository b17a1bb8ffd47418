/**
 * Runs inside a real VS Code extension host, with HOME pointing at the fixture
 * written by runTest.ts (a Claude Code session: $0.60, a Codex rollout: $0.55,
 * both a minute or two old).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { md } from '../../../src/core/format';
import type { AgentSpendApi } from '../../../src/extension/extension';
import { claudeLine, CLAUDE_SESSION_ID } from '../fixtures';

const EXTENSION_ID = 'agent-spend.agent-spend';
const home = process.env['AGENT_SPEND_TEST_HOME']!;
const claudeSession = path.join(home, '.claude', 'projects', '-work-host-demo', `${CLAUDE_SESSION_ID}.jsonl`);

let api: AgentSpendApi;

/** Resolves with the status bar text once `predicate` holds (checked after every update). */
function waitForStatus(predicate: (text: string) => boolean, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    if (predicate(api.statusBar().text)) return resolve(api.statusBar().text);
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`status bar stayed "${api.statusBar().text}"`));
    }, timeoutMs);
    const sub = api.onDidUpdate(() => {
      const text = api.statusBar().text;
      if (predicate(text)) {
        clearTimeout(timer);
        sub.dispose();
        resolve(text);
      }
    });
  });
}

async function setSetting(key: string, value: unknown): Promise<void> {
  await vscode.workspace.getConfiguration('agentSpend').update(key, value, vscode.ConfigurationTarget.Global);
}

describe('Agent Spend in the extension host', function () {
  this.timeout(30_000);

  before(async () => {
    assert.ok(home && fs.existsSync(claudeSession), `fixture HOME missing: ${home}`);
    const ext = vscode.extensions.getExtension<AgentSpendApi>(EXTENSION_ID);
    assert.ok(ext, 'extension is installed');
    api = await ext.activate();
    await api.ready;
  });

  after(async () => {
    await setSetting('statusBar.period', undefined);
  });

  it('activates quickly and registers its commands', async () => {
    console.log(`    activate() took ${api.activationMs.toFixed(1)} ms; first scan done ${api.counters().firstScanMs} ms after activation`);
    assert.ok(api.activationMs < 50, `activation took ${api.activationMs} ms`);
    const commands = await vscode.commands.getCommands(true);
    for (const id of ['agentSpend.showPanel', 'agentSpend.refresh', 'agentSpend.showLog']) assert.ok(commands.includes(id), id);
  });

  it("shows today's spend of both agents, with the burn rate while they are active", () => {
    const { text, tooltip, accessibilityLabel } = api.statusBar();
    // $0.60 (Claude Code, sonnet 4.5) + $0.55 (Codex, gpt-5-codex) = $1.15; burn rate = $1.15 / 10 min
    // the fixture logs were written at start-up: running for the first minute, idle after
    assert.match(text, /^\$\(pulse\) (2 running · )?\$1\.15 today · \$0\.1[12]\/min$/);
    assert.match(tooltip, /\| Today \| \$1\.15 \| 2 \|/);
    assert.match(tooltip, /Active now\*\* \(2\)/);
    assert.match(tooltip, /command:agentSpend\.showPanel/);
    assert.match(accessibilityLabel, /^Agent Spend: \$1\.15 estimated today, burning \$0\.1[12] per minute, 2 agent sessions (running|active)$/);
    assert.equal(api.summary().today.requests, 2);
    assert.equal(api.summary().today.unpricedRequests, 0);
  });

  it('folds an appended line into the status bar within 250 ms of the write', async () => {
    // a new request: 50,000 input × $3/M + 10,000 output × $15/M = $0.15 + $0.15 = $0.30 → $1.45
    const before = api.counters();
    const written = Date.now();
    fs.appendFileSync(claudeSession, claudeLine('msg_h2', Date.now(), 50_000, 10_000));
    const text = await waitForStatus((t) => t.includes('$1.45'));
    const latency = Date.now() - written;
    console.log(`    append → status bar: ${latency} ms`);
    assert.match(text, /\$1\.45 today/);
    assert.ok(latency < 250, `latency ${latency} ms`);
    const after = api.counters();
    assert.equal(after.fullScans, before.fullScans, 'no full rescan for an append');
    assert.ok(after.incrementalReads > before.incrementalReads);
  });

  it('does not double count streamed copies of the same request', async () => {
    fs.appendFileSync(claudeSession, claudeLine('msg_h2', Date.now(), 50_000, 10_000));
    fs.appendFileSync(claudeSession, claudeLine('msg_h3', Date.now(), 0, 0, 'claude-haiku-4-5-20251001'));
    await waitForStatus(() => api.summary().today.requests === 4);
    assert.match(api.statusBar().text, /\$1\.45 today/);
  });

  it('follows agentSpend.statusBar.period live', async () => {
    await setSetting('statusBar.period', 'month');
    assert.match(await waitForStatus((t) => t.includes('this month')), /\$1\.45 this month/);
    await setSetting('statusBar.period', 'session');
    // the most recently active session is the Claude one: $0.60 + $0.30
    assert.match(await waitForStatus((t) => t.includes('session')), /\$0\.90 session/);
    await setSetting('statusBar.period', 'today');
    await waitForStatus((t) => t.includes('today'));
  });

  it('names an invalid setting in the log and the tooltip, and keeps working with the default', async () => {
    await setSetting('statusBar.period', 'yesterday');
    const problem = md('agentSpend.statusBar.period: must be one of "today", "session", "week", "month", "block" (using the default)');
    await waitForStatus(() => api.statusBar().tooltip.includes(problem));
    assert.match(api.statusBar().text, /today/);
    assert.ok(api.logEntries().some((e) => e.startsWith('[warn] setting agentSpend.statusBar.period: must be one of')), api.logEntries().join('\n'));
    await setSetting('statusBar.period', undefined);
    await waitForStatus(() => !api.statusBar().tooltip.includes(problem));
  });

  it('reports a malformed line once in the log and keeps counting', async () => {
    fs.appendFileSync(claudeSession, '{"type":"assistant","message":{"usage":{"output_tokens": oops\n');
    fs.appendFileSync(claudeSession, claudeLine('msg_h4', Date.now(), 0, 100_000));
    // 100,000 output × $15/M = $1.50 → $2.95
    await waitForStatus((t) => t.includes('$2.95'));
    const warnings = api.warnings();
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.kind, 'malformed-lines');
    assert.equal(warnings[0]!.path, claudeSession);
    assert.ok(api.logEntries().some((e) => e.startsWith('[warn]') && e.includes(claudeSession) && e.includes('malformed')), api.logEntries().join('\n'));
    assert.match(api.statusBar().tooltip, /1 log problem/);
  });

  it('picks up a new session file (new Codex day folder)', async () => {
    const dir = path.join(home, '.codex', 'sessions', '2031', '01', '02');
    fs.mkdirSync(dir, { recursive: true });
    const now = new Date().toISOString();
    const usage = { input_tokens: 1_000_000, cached_input_tokens: 0, output_tokens: 0, reasoning_output_tokens: 0, total_tokens: 1_000_000 };
    fs.writeFileSync(path.join(dir, 'rollout-2031-01-02T00-00-00-0199bbbb-bbbb-7ccc-8ddd-eeeeffff0001.jsonl'), [
      { timestamp: now, type: 'session_meta', payload: { id: '0199bbbb-bbbb-7ccc-8ddd-eeeeffff0001', cwd: '/work/other' } },
      { timestamp: now, type: 'turn_context', payload: { model: 'gpt-5-codex' } },
      { timestamp: now, type: 'event_msg', payload: { type: 'token_count', info: { total_token_usage: usage, last_token_usage: usage } } },
    ].map((r) => JSON.stringify(r)).join('\n') + '\n');
    // 1,000,000 input × $1.25/M = $1.25 → $4.20
    assert.match(await waitForStatus((t) => t.includes('$4.20')), /\$4\.20 today/);
  });

  it('agentSpend.showPanel opens the breakdown panel, one at a time (details in panel.test.ts)', async () => {
    await vscode.commands.executeCommand('agentSpend.showPanel');
    await vscode.commands.executeCommand('agentSpend.showPanel');
    for (let i = 0; i < 100 && !api.panel.isReady; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(api.panel.isReady, 'the webview said ready');
    const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('agentSpend.panel'));
    assert.equal(tabs.length, 1);
    assert.ok(api.panel.stats.states >= 1, 'the whole state was posted after ready');
  });

  it('agentSpend.refresh rescans from scratch to the same totals', async () => {
    const before = api.summary().today;
    const scans = api.counters().fullScans;
    await vscode.commands.executeCommand('agentSpend.refresh');
    assert.equal(api.counters().fullScans, scans + 1);
    const after = api.summary().today;
    assert.equal(after.costNanos, before.costNanos);
    assert.equal(after.requests, before.requests);
  });

  it('a daily budget: crossing 80 % then 100 % raises exactly two notifications and colours the item; a rescan repeats none', async () => {
    const today = api.summary().today.spendNanos;
    // a limit just above today's spend / 0.75: at 75 % now, nothing to announce
    const limitUSD = Math.ceil((today / 0.75) / 1e7) / 100;
    await setSetting('budgets.daily', limitUSD);
    await waitForStatus(() => api.budgets().statuses.length === 1);
    assert.equal(api.budgets().statuses[0]!.state, 'ok');
    assert.equal(api.statusBar().background, 'none');
    assert.deepEqual(api.budgetNotifications(), []);
    const usd = (n: number) => n * 1e9;
    // sonnet 4.5 output at $15/M: add enough for ~85 %, then enough for ~110 %
    const outputFor = (nanos: number) => Math.ceil(nanos / 15_000);
    // a session of its own, so the fixture session keeps the figures other suites assert
    const budgetSession = path.join(path.dirname(claudeSession), 'budget-test-session.jsonl');
    const line = (id: string, output: number) => claudeLine(id, Date.now(), 0, output).split(CLAUDE_SESSION_ID).join('budget-test-session');
    fs.appendFileSync(budgetSession, line('msg_b1', outputFor(usd(limitUSD) * 0.85 - api.summary().today.spendNanos)));
    await waitForStatus(() => api.statusBar().background === 'warning');
    assert.equal(api.budgetNotifications().length, 1);
    assert.match(api.budgetNotifications()[0]!, /^Daily budget: 8\d\s?% of \$/);
    assert.match(api.statusBar().tooltip, /Budgets/);
    assert.match(api.statusBar().accessibilityLabel, /a budget is near its limit/);
    fs.appendFileSync(budgetSession, line('msg_b2', outputFor(usd(limitUSD) * 0.25)));
    await waitForStatus(() => api.statusBar().background === 'error');
    assert.equal(api.budgetNotifications().length, 2);
    assert.match(api.budgetNotifications()[1]!, /^Daily budget: 1\d\d\s?% of \$/);
    // a full rescan (as after a reload) re-reads everything: the crossings are remembered in globalState
    await vscode.commands.executeCommand('agentSpend.refresh');
    await new Promise((r) => setTimeout(r, 1500));
    await vscode.commands.executeCommand('agentSpend.refresh');
    assert.equal(api.budgetNotifications().length, 2);
    assert.equal(api.statusBar().background, 'error');
  });

  it("the 'block' period shows the current 5-hour block with its time left", async () => {
    await setSetting('statusBar.period', 'block');
    const text = await waitForStatus((t) => t.includes('block'));
    assert.match(text, /\$\d+\.\d\d block · \d+h \d+m left/);
    assert.match(api.statusBar().tooltip, /estimate/i);
    await setSetting('statusBar.period', undefined);
    await setSetting('budgets.daily', undefined);
    await waitForStatus(() => api.statusBar().background === 'none');
  });
});
