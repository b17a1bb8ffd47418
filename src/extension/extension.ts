/**
 * The composition root: wires config → live ledger → views and owns every
 * disposable. Activation does no I/O; the first scan runs right after it.
 */
import * as vscode from 'vscode';
import type { SpendSummary } from '../core/summary';
import type { ScanWarning } from '../sources/scanner';
import { registerCommands } from './commands';
import { ConfigWatcher } from './config';
import { LiveSpend, type LiveCounters } from './liveSpend';
import { Log } from './log';
import { SpendPanel, type PanelSource } from './panel';
import { GitService } from './gitService';
import { monthToDate, reconcile } from '../core/reconcile';
import { Pricer } from '../core/pricing';
import type { Ledger } from '../core/ledger';
import type { StatusViewOptions } from '../core/statusView';
import { ProviderService } from './providers';
import { PROVIDER_NAMES, type ProviderId } from '../sources/providers/http';
import { PROVIDER_IDS } from '../sources/providers/index';
import { BudgetMonitor, type BudgetView } from './budgetAlerts';
import { LimitsStatusItem, SpendStatusItem } from './statusBar';
import { LiveState, type LiveStateView } from './liveState';
import { setUpClaudeStatusLine, type StatusLineSetup } from './claudeStatusLine';
import { buildNowView } from '../core/nowView';

/** Status bar refreshes are throttled to this interval while agents write. */
const UPDATE_THROTTLE_MS = 100;
/** The burn rate and "active" state age with time even without new lines. */
const TICK_MS = 30_000;

/** What the extension exports (used by tests and by other extensions). */
export interface AgentSpendApi {
  /** Resolves when the first scan has finished and the status bar shows it. */
  readonly ready: Promise<void>;
  /** Milliseconds the activate() call took. */
  readonly activationMs: number;
  statusBar(): { text: string; tooltip: string; accessibilityLabel: string; background: 'none' | 'warning' | 'error' };
  summary(): SpendSummary;
  counters(): Readonly<LiveCounters> & { statusUpdates: number; historyOnlyRequests: number };
  warnings(): ScanWarning[];
  logEntries(): readonly string[];
  /** Fires after the status bar was updated. */
  readonly onDidUpdate: vscode.Event<void>;
  refresh(): Promise<void>;
  /** Evaluated budgets and the 5-hour block (estimate). */
  budgets(): BudgetView;
  /** The budget notifications shown so far (their text). */
  budgetNotifications(): readonly string[];
  /** Provider billing: keys (in SecretStorage), pollers and their figures. */
  readonly providers: ProviderService;
  /** The breakdown panel's host (tests watch its messages). */
  readonly panel: SpendPanel;
  /** The plan-limits status bar item. */
  limitsStatusBar(): ReturnType<LimitsStatusItem['current']>;
  /** Running sessions, limits and plan worth as last evaluated. */
  live(): LiveStateView;
  /** The limit notifications shown so far (their text). */
  limitNotifications(): readonly string[];
}

export function activate(context: vscode.ExtensionContext): AgentSpendApi {
  const started = performance.now();
  const log = new Log();
  const config = new ConfigWatcher();
  const live = new LiveSpend(config.current, log, context.globalStorageUri.fsPath);
  const status = new SpendStatusItem();
  const limitsItem = new LimitsStatusItem();
  const updated = new vscode.EventEmitter<void>();
  const liveState = new LiveState(live, config.current, log, context.globalState, () => scheduleRender());
  context.subscriptions.push(log, config, live, status, limitsItem, updated, liveState);
  // Best effort: the index is a cache of what the logs hold (plus history), so a write lost
  // at shutdown only means reading a few more bytes at the next start.
  context.subscriptions.push({ dispose: () => void live.flush() });
  const git = new GitService(() => live.currentLedger, log);
  context.subscriptions.push(git);
  // The most recently active sessions are looked at in the background, at most every 30 s.
  let lastGitRefresh = 0;
  context.subscriptions.push(live.onDidUpdate(() => {
    if (Date.now() - lastGitRefresh < 30_000) return;
    lastGitRefresh = Date.now();
    git.refresh();
  }));
  const panelSource: PanelSource = {
    get currentLedger() { return live.currentLedger; },
    onDidUpdate: live.onDidUpdate,
    gitFacts: (sessionId) => git.facts(sessionId),
    onDidChangeGit: git.onDidChange,
    outputThresholdUSD: () => config.current.outputThresholdUSD,
  };
  const panel = new SpendPanel({ extensionUri: context.extensionUri, source: panelSource, locale: vscode.env.language, log });
  context.subscriptions.push(panel, panel.registerSerializer());

  const providers = new ProviderService(context.secrets, context.globalState, log, config.current);
  context.subscriptions.push(providers, providers.onDidChange(() => scheduleRender()));
  const budgets = new BudgetMonitor(context.globalState, log, () => scheduleRender());
  context.subscriptions.push(budgets);
  let scanned = false; // budgets are judged only on a complete history (after the first scan)
  // Billed vs estimated walks every request: recomputed when the providers report, else at most every 5 s.
  let billed: StatusViewOptions['billed'] = [];
  let lastRecon = 0;
  let providersDirty = true;
  context.subscriptions.push(providers.onDidChange(() => (providersDirty = true)));
  const reconcileBilled = () => {
    const views = providers.views();
    if (views.length === 0) {
      if (billed && billed.length > 0) panel.setReconciliation([], []);
      billed = [];
      return;
    }
    if (!providersDirty && Date.now() - lastRecon < 5_000) return;
    providersDirty = false;
    lastRecon = Date.now();
    const rows = reconcile(live.currentLedger.allRecords(), views, new Pricer(undefined, config.current.priceOverrides));
    panel.setReconciliation(rows, views.map((v) => ({ provider: v.provider, status: v.status, ageMs: v.ageMs, message: v.message })));
    const ages = new Map(views.map((v) => [v.provider, v.ageMs]));
    billed = monthToDate(rows, Date.now()).map((m) => ({ ...m, ageMs: ages.get(m.provider as ProviderId) ?? null }));
  };
  let statusUpdates = 0;
  const render = (forceBudgets = false) => {
    const problems = config.problems.map((p) => `${p.setting}: ${p.message} (using the default)`);
    const budgetView = scanned ? budgets.evaluate(live.currentLedger, config.current, Date.now(), forceBudgets) : budgets.current();
    if (scanned) reconcileBilled();
    const liveView = liveState.evaluate(scanned, budgetView.block);
    status.update(live.summary(), config.current, live.warnings().length, problems, budgetView, billed, linesChangedToday(live.currentLedger), liveView);
    limitsItem.update(liveView, config.current);
    panel.setNow(buildNowView({
      sessions: liveView.sessions, limits: liveView.limits, plans: liveView.plans, now: Date.now(), locale: vscode.env.language,
      contextWarnPercent: config.current.contextWarnPercent, runningSeconds: config.current.runningSeconds,
      ...(liveView.estimated ? { estimatedBlock: liveView.estimated } : {}),
    }));
    panel.setBudgets(budgetView.statuses);
    statusUpdates++;
    updated.fire();
  };
  let throttle: NodeJS.Timeout | undefined;
  let lastRender = 0;
  const scheduleRender = () => {
    if (throttle) return;
    const wait = Math.max(0, lastRender + UPDATE_THROTTLE_MS - Date.now());
    throttle = setTimeout(() => {
      throttle = undefined;
      lastRender = Date.now();
      render();
    }, wait);
  };
  const tick = setInterval(scheduleRender, TICK_MS);
  context.subscriptions.push({ dispose: () => { clearInterval(tick); if (throttle) clearTimeout(throttle); } });
  context.subscriptions.push(live.onDidUpdate(scheduleRender), live.onDidUpdate(() => liveState.ledgerChanged()));

  for (const p of config.problems) log.warn(`setting ${p.setting}: ${p.message} (using the default)`);
  context.subscriptions.push(config.onDidChange((change) => {
    for (const p of config.problems) log.warn(`setting ${p.setting}: ${p.message} (using the default)`);
    live.applyConfig(change.config, change);
    if (change.providersChanged) providers.applyConfig(change.config);
    if (change.liveChanged) liveState.applyConfig(change.config);
    if (change.outputChanged) panel.refreshOutput();
    if (change.budgetsChanged) render(true);
    else scheduleRender();
  }));

  context.subscriptions.push(...registerCommands({
    showPanel: () => panel.show(),
    refresh: () => vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: 'Agent Spend: rescanning agent logs' },
      () => live.refresh(),
    ),
    showLog: () => log.show(),
    clearHistory: async () => {
      const answer = await vscode.window.showWarningMessage(
        'Clear the Agent Spend history? Requests from logs the agents have already deleted are forgotten; logs still on disk are read again.',
        { modal: true },
        'Clear History',
      );
      if (answer === 'Clear History') await live.clearHistory();
    },
    export: (format?: unknown, target?: unknown) => panel.export(format, target),
    setProviderKey: async (provider?: unknown, key?: unknown) => {
      const p = isProvider(provider) ? provider : await pickProvider('Store the usage/cost API key of');
      if (!p) return;
      const value = typeof key === 'string' && key ? key : await vscode.window.showInputBox({
        title: `Agent Spend: ${PROVIDER_NAMES[p]} key`,
        prompt: PROVIDER_KEY_HELP[p],
        password: true,
        ignoreFocusOut: true,
        validateInput: (v) => (v.trim() ? undefined : 'Enter a key, or press Escape'),
      });
      if (value?.trim()) await providers.setKey(p, value.trim());
    },
    clearProviderKey: async (provider?: unknown) => {
      const p = isProvider(provider) ? provider : await pickProvider('Remove the key of');
      if (p) await providers.clearKey(p);
    },
    setUpClaudeStatusLine: async (): Promise<StatusLineSetup | undefined> => {
      try {
        return await setUpClaudeStatusLine(context.extensionUri, liveState.folder, log);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        log.error(`status line setup failed: ${message}`);
        void vscode.window.showErrorMessage(`Agent Spend: could not set up the status line script in ${liveState.folder}: ${message}`);
        return undefined;
      }
    },
  }));

  live.start();
  setTimeout(() => void providers.start(), 0); // reads SecretStorage: not on the activation path
  setTimeout(() => void liveState.start(), 0); // creates and watches the status line folder
  const ready = live.ready.then(() => {
    scanned = true;
    lastRender = Date.now();
    render(true);
  });
  const activationMs = performance.now() - started;
  return {
    ready,
    activationMs,
    statusBar: () => status.current(),
    summary: () => live.summary(),
    counters: () => ({ ...live.counters, statusUpdates, historyOnlyRequests: live.historyOnlyRequests() }),
    warnings: () => live.warnings(),
    logEntries: () => log.entries(),
    onDidUpdate: updated.event,
    refresh: () => live.refresh(),
    budgets: () => budgets.current(),
    budgetNotifications: () => budgets.shown,
    providers,
    panel,
    limitsStatusBar: () => limitsItem.current(),
    live: () => liveState.current(),
    limitNotifications: () => liveState.shown,
  };
}

/** Lines added and removed today (local time) by the agents' own edit tools (failed edits excluded). */
function linesChangedToday(ledger: Ledger): number {
  const midnight = new Date();
  midnight.setHours(0, 0, 0, 0);
  let n = 0;
  for (const e of ledger.allEdits()) if (e.timestamp >= midnight.getTime() && !e.failed) n += e.linesAdded + e.linesRemoved;
  return n;
}

const PROVIDER_KEY_HELP: Record<ProviderId, string> = {
  anthropic: 'An Admin API key (sk-ant-admin…) from the Anthropic Console: it reads the organization\'s usage and cost reports. Stored in the editor\'s secret storage only.',
  openai: 'An admin key from the OpenAI platform (organization usage and costs). Stored in the editor\'s secret storage only.',
  openrouter: 'An OpenRouter API key (its usage and limits; credits need a management key). Stored in the editor\'s secret storage only.',
};

function isProvider(v: unknown): v is ProviderId {
  return typeof v === 'string' && (PROVIDER_IDS as readonly string[]).includes(v);
}

async function pickProvider(title: string): Promise<ProviderId | undefined> {
  const pick = await vscode.window.showQuickPick(PROVIDER_IDS.map((p) => ({ label: PROVIDER_NAMES[p], provider: p })), { title: `Agent Spend: ${title}…` });
  return pick?.provider;
}

export function deactivate(): void {
  // everything is disposed through context.subscriptions
}
