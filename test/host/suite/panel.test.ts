/**
 * The breakdown panel inside a real extension host, with its real webview (the page runs
 * in the workbench and says `ready` itself). Runs after extension.test.ts, so the fixture
 * session has the requests that suite appended.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AgentSpendApi } from '../../../src/extension/extension';
import { PANEL_VIEW_TYPE } from '../../../src/extension/panel';
import { reconcile } from '../../../src/core/reconcile';
import { Pricer } from '../../../src/core/pricing';
import type { BilledDay } from '../../../src/sources/providers/types';
import { defaultViewState, parseHostMessage, type DetailMessage, type HostMessage, type StateMessage, type UpdateMessage } from '../../../src/shared/protocol';
import { claudeLine, CLAUDE_SESSION_ID, FIXTURE_PROMPT_TITLE, FIXTURE_PROMPT_2 } from '../fixtures';

const EXTENSION_ID = 'agent-spend.agent-spend';
const home = process.env['AGENT_SPEND_TEST_HOME']!;
const claudeSession = path.join(home, '.claude', 'projects', '-work-host-demo', `${CLAUDE_SESSION_ID}.jsonl`);
const CODEX_SESSION_ID = '0199aaaa-bbbb-7ccc-8ddd-eeeeffff0000';

let api: AgentSpendApi;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the next message the host posts that matches. */
function nextPost<T extends HostMessage>(match: (m: HostMessage) => m is T, timeoutMs = 15_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`no matching message within ${timeoutMs} ms (stats ${JSON.stringify(api.panel.stats)})`));
    }, timeoutMs);
    const sub = api.panel.onDidPost((m) => {
      if (!match(m)) return;
      clearTimeout(timer);
      sub.dispose();
      resolve(m);
    });
  });
}

const isState = (m: HostMessage): m is StateMessage => m.type === 'state';
const isDetail = (id: string) => (m: HostMessage): m is DetailMessage => m.type === 'detail' && m.rowId === id && m.detail !== null;

function panelTabs(): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith(PANEL_VIEW_TYPE));
}

async function closePanel(): Promise<void> {
  for (const tab of panelTabs()) {
    // a tab of a panel disposed a moment ago may already be gone (tab groups update asynchronously)
    await Promise.resolve(vscode.window.tabGroups.close(tab)).catch(() => undefined);
  }
  for (let i = 0; i < 50 && api.panel.isOpen; i++) await sleep(50);
}

describe('breakdown panel in the extension host', function () {
  this.timeout(60_000);
  let state: StateMessage;

  before(async () => {
    const ext = vscode.extensions.getExtension<AgentSpendApi>(EXTENSION_ID);
    assert.ok(ext);
    api = await ext.activate();
    await api.ready;
    await closePanel();
  });

  after(async () => {
    await closePanel();
  });

  it('agentSpend.showPanel opens one panel and posts the whole state after the webview is ready', async () => {
    const posted = nextPost(isState);
    const readyBefore = api.panel.stats.received;
    await vscode.commands.executeCommand('agentSpend.showPanel');
    state = await posted;
    assert.ok(api.panel.stats.received > readyBefore, 'the webview sent ready first');
    await vscode.commands.executeCommand('agentSpend.showPanel');
    await vscode.commands.executeCommand('agentSpend.showPanel');
    await sleep(300);
    assert.equal(panelTabs().length, 1, 'one panel, revealed again');
    assert.equal(api.panel.stats.rejected, 0, 'the webview sent only valid messages');
  });

  it('the posted state matches the ledger for the fixture logs', () => {
    const all = api.summary().all;
    assert.equal(state.rows.reduce((s, r) => s + r.spendNanos, 0), all.spendNanos, 'every request once');
    assert.equal(state.rows.reduce((s, r) => s + r.requests, 0), all.requests);
    const codex = state.rows.find((r) => r.id === CODEX_SESSION_ID);
    assert.ok(codex, JSON.stringify(state.rows.map((r) => r.id)));
    // gpt-5-codex: 200,000 input × $1.25/M + 30,000 output × $10/M = $0.55
    assert.equal(codex.spendNanos, 550_000_000);
    assert.equal(codex.agent, 'codex');
    assert.equal(codex.project, '/work/codex-demo');
    assert.equal(codex.branch, 'dev');
    assert.deepEqual(codex.models, ['gpt-5-codex']);
    const claude = state.rows.find((r) => r.id === CLAUDE_SESSION_ID)!;
    assert.equal(claude.agent, 'claude-code');
    assert.equal(claude.project, '/work/host-demo');
    assert.equal(claude.branch, 'main');
    assert.ok(claude.models.includes('claude-sonnet-4-5-20250929'));
    // $0.60 from the fixture, $0.30 and $1.50 appended by extension.test.ts (and a $0 haiku request)
    assert.equal(claude.spendNanos, 2_400_000_000);
    const today = state.days.find((d) => d.day === state.dayKeys.today)!;
    assert.equal(today.agents.reduce((s, c) => s + c.spendNanos, 0), api.summary().today.spendNanos);
    assert.equal(state.locale, vscode.env.language);
  });

  it('every fixture session row carries its output figures (lines, files, commits, cost per 100 lines, the flag)', async () => {
    const sessions = state.rows.filter((r) => r.subagentId === undefined);
    // one row (one scatter dot) per session: the fixture's, and those other suites appended
    assert.deepEqual(sessions.map((r) => r.sessionId).sort(), [...new Set(state.rows.map((r) => r.sessionId))].sort(), 'one row per session');
    for (const id of [CLAUDE_SESSION_ID, CODEX_SESSION_ID]) assert.ok(sessions.some((r) => r.id === id), `a row for ${id}`);
    const spend = new Map<string, number>();
    for (const r of state.rows) spend.set(r.sessionId, (spend.get(r.sessionId) ?? 0) + r.spendNanos);
    for (const r of sessions) {
      for (const key of ['linesAdded', 'linesRemoved', 'filesTouched', 'commits', 'survivingShare', 'costPer100Lines', 'noOutput'] as const) {
        assert.ok(key in r, `${r.id} has ${key}`);
      }
      // commits: null (unknown: the fixture folders are not repositories) or a count from git
      assert.ok(r.commits === null || (Number.isInteger(r.commits) && r.commits >= 0), `${r.id} commits ${r.commits}`);
      if (r.agent === 'claude-code' || r.agent === 'codex') {
        // their edits are read: the fixture sessions edited nothing
        assert.deepEqual([r.linesAdded, r.linesRemoved, r.filesTouched, r.costPer100Lines], [0, 0, 0, null], r.id);
        assert.equal(r.noOutput, spend.get(r.sessionId)! > 5e9 && !(r.commits !== null && r.commits > 0), `${r.id}: flagged above the $5 default`);
      } else {
        assert.deepEqual([r.linesAdded, r.filesTouched, r.noOutput], [null, null, false], `${r.id}: edits not read`);
      }
    }
    for (const id of [CLAUDE_SESSION_ID, CODEX_SESSION_ID]) assert.equal(sessions.find((r) => r.id === id)!.noOutput, false, `${id} spent less than $5`);
    // a dot click in the webview selects the row like a click in the table
    const posted = nextPost(isDetail(CODEX_SESSION_ID));
    api.panel.handleMessage({ type: 'select', rowId: CODEX_SESSION_ID, expandedTasks: [] });
    const { detail } = await posted;
    assert.equal(detail?.sessionId, CODEX_SESSION_ID);
    assert.equal(detail?.agent, 'codex');
  });

  it("a session's detail has its tasks, titled by their prompts (as text), with requests when expanded", async () => {
    const posted = nextPost(isDetail(CLAUDE_SESSION_ID));
    api.panel.handleMessage({ type: 'select', rowId: CLAUDE_SESSION_ID, expandedTasks: [] });
    const { detail } = await posted;
    assert.ok(detail);
    assert.deepEqual(detail.tasks.map((t) => t.title), [FIXTURE_PROMPT_TITLE, FIXTURE_PROMPT_2]);
    assert.equal(detail.tasks[0]!.requests, 1);
    assert.equal(detail.tasks[0]!.spendNanos, 600_000_000);
    assert.equal(detail.tasks[0]!.filesTouched, 0, 'Claude Code edits are read: none in the fixture task');
    assert.equal(detail.tasks[0]!.requestList, undefined);
    assert.equal(detail.file, claudeSession);
    const expanded = nextPost(isDetail(CLAUDE_SESSION_ID));
    api.panel.handleMessage({ type: 'expandTask', rowId: CLAUDE_SESSION_ID, taskId: detail.tasks[1]!.id, expanded: true });
    const again = (await expanded).detail!;
    assert.equal(again.tasks[1]!.requestList!.length, again.tasks[1]!.requests);
  });

  it('an append produces an incremental update of that session only (and its detail)', async () => {
    const before = (await currentRow(CLAUDE_SESSION_ID)).spendNanos;
    const statesBefore = api.panel.stats.states;
    const update = nextPost((m): m is UpdateMessage => m.type === 'update' && m.upsert.some((r) => r.id === CLAUDE_SESSION_ID));
    const detail = nextPost(isDetail(CLAUDE_SESSION_ID));
    // 10,000 input × $3/M + 1,000 output × $15/M = $0.03 + $0.015 = $0.045
    fs.appendFileSync(claudeSession, claudeLine('msg_panel_1', Date.now(), 10_000, 1_000));
    const msg = await update;
    assert.deepEqual(msg.upsert.map((r) => r.id), [CLAUDE_SESSION_ID], 'only the changed session');
    assert.deepEqual(msg.remove, []);
    assert.deepEqual(msg.days.map((d) => d.day), [msg.dayKeys.today], 'only the changed day');
    assert.equal(msg.upsert[0]!.spendNanos, before + 45_000_000);
    assert.equal(api.panel.stats.states, statesBefore, 'no whole state for an append');
    const d = (await detail).detail!;
    assert.equal(d.tasks[1]!.requestList!.at(-1)!.inputTokens, 10_000, 'the selected session\u2019s detail follows');
  });

  it('ignores invalid messages from the webview', () => {
    const rejected = api.panel.stats.rejected;
    api.panel.handleMessage({ type: 'reveal', path: '/etc/passwd' });
    api.panel.handleMessage({ type: 'run', command: 'workbench.action.terminal.new' });
    api.panel.handleMessage('ready');
    assert.equal(api.panel.stats.rejected, rejected + 3);
    assert.ok(api.logEntries().some((e) => e.startsWith('[warn] panel: ignored a message from the webview')));
  });

  it('"reveal in editor" opens the session log', async () => {
    api.panel.handleMessage({ type: 'reveal', rowId: CLAUDE_SESSION_ID });
    let opened: string | undefined;
    for (let i = 0; i < 50 && opened !== claudeSession; i++) {
      await sleep(100);
      opened = vscode.window.visibleTextEditors.map((e) => e.document.uri.fsPath).find((p) => p === claudeSession);
    }
    assert.equal(opened, claudeSession);
  });

  it('agentSpend.export writes the current view as CSV and JSON', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-spend-export-'));
    try {
      api.panel.handleMessage({ type: 'viewState', state: { ...defaultViewState(), agent: 'codex', sort: { key: 'cost', dir: 'desc' } } });
      const csvUri = await vscode.commands.executeCommand<vscode.Uri>('agentSpend.export', 'csv', vscode.Uri.file(path.join(dir, 'view.csv')));
      const csv = fs.readFileSync(csvUri.fsPath, 'utf8').trim().split('\r\n');
      assert.match(csv[0]!, /^session_id,subagent_id,parent_id,agent,project,branch,start,end,/);
      assert.ok(csv.slice(1).every((l) => l.split(',')[3] === 'codex'), csv.join('\n'));
      assert.ok(csv.some((l) => l.startsWith(`${CODEX_SESSION_ID},`) && l.includes(',0.55,')), csv.join('\n'));
      api.panel.handleMessage({ type: 'viewState', state: defaultViewState() });
      const jsonUri = await vscode.commands.executeCommand<vscode.Uri>('agentSpend.export', 'json', vscode.Uri.file(path.join(dir, 'view.json')));
      const json = JSON.parse(fs.readFileSync(jsonUri.fsPath, 'utf8')) as { sessions: Array<{ sessionId: string; costUSD: number }>; byAgent: unknown[] };
      assert.ok(json.sessions.some((s) => s.sessionId === CLAUDE_SESSION_ID));
      assert.ok(json.sessions.some((s) => s.sessionId === CODEX_SESSION_ID && s.costUSD === 0.55));
      assert.equal(json.byAgent.length, 2);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the page has a strict CSP with a fresh nonce per load', () => {
    const tmp = vscode.window.createWebviewPanel('agentSpend.cspProbe', 'probe', vscode.ViewColumn.Active, {});
    try {
      const a = api.panel.html(tmp.webview);
      const b = api.panel.html(tmp.webview);
      const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(a)![1]!;
      assert.match(csp, /^default-src 'none'; script-src 'nonce-[A-Za-z0-9+/=]+'; style-src /);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|data:|blob:/);
      assert.ok(csp.endsWith(`style-src ${tmp.webview.cspSource}; img-src ${tmp.webview.cspSource}; font-src ${tmp.webview.cspSource}`), csp);
      const nonce = (html: string) => /nonce="([^"]+)"/.exec(html)![1];
      assert.notEqual(nonce(a), nonce(b));
      assert.equal(a.match(/<script/g)!.length, 1, 'one script, the bundle');
    } finally {
      tmp.dispose();
    }
  });

  it('shows each budget with its progress and forecast (a budgets section)', async () => {
    await vscode.commands.executeCommand('agentSpend.showPanel');
    for (let i = 0; i < 100 && !api.panel.isReady; i++) await sleep(100);
    const rejectedBefore = api.panel.stats.rejected;
    const budgets = nextPost((m): m is Extract<HostMessage, { type: 'budgets' }> => m.type === 'budgets' && m.rows.length > 0);
    await vscode.workspace.getConfiguration('agentSpend').update('budgets.monthly', 1000, vscode.ConfigurationTarget.Global);
    try {
      const msg = await budgets;
      const monthly = msg.rows.find((r) => r.title === 'Monthly budget');
      assert.ok(monthly, JSON.stringify(msg.rows.map((r) => r.title)));
      assert.equal(monthly.limitNanos, 1000e9);
      assert.equal(monthly.spentNanos, api.summary().month.spendNanos);
      assert.equal(monthly.state, 'ok');
      assert.equal(monthly.scope, 'this month');
      assert.match(msg.method, /Forecast/);
      await sleep(300);
      assert.equal(api.panel.stats.rejected, rejectedBefore, 'the webview accepted and rendered it without complaint');
    } finally {
      await vscode.workspace.getConfiguration('agentSpend').update('budgets.monthly', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('shows billed vs estimated per UTC day and provider (a reconciliation section), re-posted on ready', async () => {
    await vscode.commands.executeCommand('agentSpend.showPanel');
    for (let i = 0; i < 100 && !api.panel.isReady; i++) await sleep(100);
    const rejectedBefore = api.panel.stats.rejected;
    type Recon = Extract<HostMessage, { type: 'reconciliation' }>;
    const isRecon = (m: HostMessage): m is Recon => m.type === 'reconciliation' && m.providers.length > 0;
    const day = (date: string, costUSD: number | null, final: boolean): BilledDay =>
      ({ date, costUSD, inputTokens: null, outputTokens: null, cacheCreationTokens: null, cacheReadTokens: null, final });
    const ts = Date.parse('2026-03-10T21:30:00Z');
    const base = { sessionId: 'recon', project: '/w/recon', file: '/f', tokens: { input: 1, output: 0, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 0, reasoning: 0 } };
    const rows = reconcile([
      { ...base, key: 'r1', agent: 'claude-code', model: 'claude-sonnet-4-5', timestamp: ts, costNanos: 2_000_000_000 },
      { ...base, key: 'r2', agent: 'opencode', model: 'anthropic/claude-sonnet-4-5', timestamp: ts + 60_000, costNanos: 1_000_000_000, loggedCostUSD: 0.5 },
      { ...base, key: 'r3', agent: 'codex', model: 'gpt-5-codex', timestamp: ts, costNanos: 1_000_000_000 },
    ], [
      { provider: 'anthropic', status: 'ok', fetchedAt: Date.now() - 60_000, days: [day('2026-03-10', 3, true), day('2026-03-11', null, false)] },
      { provider: 'openai', status: 'offline', days: [day('2026-03-10', 0.9, true)] },
    ], new Pricer());
    const providers = [
      { provider: 'anthropic' as const, status: 'ok' as const, ageMs: 60_000, message: null },
      { provider: 'openai' as const, status: 'offline' as const, ageMs: 12 * 60_000, message: 'request timed out <script>' },
    ];
    const posted = nextPost(isRecon);
    api.panel.setReconciliation(rows, providers);
    const msg = await posted;
    const parsed = parseHostMessage(JSON.parse(JSON.stringify(msg)));
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
    assert.deepEqual(msg.rows.map((r) => [r.date, r.provider, r.billedNanos, r.estimatedNanos, r.diffNanos, r.agents]), [
      ['2026-03-11', 'anthropic', null, 0, null, []],
      ['2026-03-10', 'anthropic', 3_000_000_000, 2_500_000_000, 500_000_000, ['claude-code', 'opencode']],
      ['2026-03-10', 'openai', 900_000_000, 1_000_000_000, -100_000_000, ['codex']],
    ]);
    assert.equal(msg.rows[1]!.diffPercent, 20);
    assert.deepEqual(msg.providers.map((p) => p.status), ['ok', 'offline']);

    // the same figures again: nothing new is posted
    let again = 0;
    const sub = api.panel.onDidPost((m) => { if (m.type === 'reconciliation') again++; });
    api.panel.setReconciliation(rows, providers);
    await sleep(300);
    sub.dispose();
    assert.equal(again, 0, 'unchanged figures are not re-posted');
    assert.equal(api.panel.stats.rejected, rejectedBefore, 'the webview kept talking with valid messages');

    // a reopened panel gets them after ready
    await closePanel();
    const onReady = nextPost(isRecon);
    await vscode.commands.executeCommand('agentSpend.showPanel');
    const reposted = await onReady;
    assert.deepEqual(reposted, msg);
    await sleep(300);
    assert.equal(api.panel.stats.rejected, rejectedBefore);

    // no provider configured: the section is hidden (an empty message)
    const cleared = nextPost((m): m is Recon => m.type === 'reconciliation' && m.providers.length === 0);
    api.panel.setReconciliation([], []);
    assert.deepEqual((await cleared).rows, []);
  });

  it('the serializer restores the panel with its filters; one panel at a time', async () => {
    await closePanel();
    assert.equal(api.panel.isOpen, false);
    const restoredState = { ...defaultViewState(), agent: 'codex', text: 'demo', range: { preset: 'all' as const } };
    const posted = nextPost(isState);
    const panel = vscode.window.createWebviewPanel(PANEL_VIEW_TYPE, 'Agent Spend', vscode.ViewColumn.Active, { enableScripts: true });
    api.panel.restore(panel, restoredState);
    const msg = await posted;
    assert.deepEqual(msg.viewState, restoredState);
    assert.deepEqual(api.panel.currentViewState, restoredState);
    const second = vscode.window.createWebviewPanel(PANEL_VIEW_TYPE, 'Agent Spend', vscode.ViewColumn.Active, { enableScripts: true });
    let disposed = false;
    second.onDidDispose(() => (disposed = true));
    api.panel.restore(second, restoredState);
    assert.ok(disposed, 'a second panel is not kept');
    // tab groups follow asynchronously (slower under load): wait for the disposed panel's tab to go
    for (let i = 0; i < 100 && panelTabs().length > 1; i++) await sleep(50);
    assert.equal(panelTabs().length, 1);
  });
});

/** The row as the host last posted it (from a fresh state: asks the webview-facing host directly). */
async function currentRow(id: string) {
  const posted = nextPost(isState);
  api.panel.handleMessage({ type: 'ready' });
  const s = await posted;
  const row = s.rows.find((r) => r.id === id);
  assert.ok(row);
  return row;
}
