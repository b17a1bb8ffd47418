/**
 * The breakdown panel's host: one webview panel at a time (revealed if open), restored
 * after a reload by its serializer (with the user's filters), a strict CSP with a fresh
 * nonce per load, and typed messages validated on arrival.
 *
 * Handshake: the webview posts `ready`; only then does the host post the whole `state`.
 * After that, changes in the ledger reach the webview as throttled `update` messages
 * that carry the rows and days of the changed sessions only (`PanelModel.apply` over
 * `ledger.drainChangedSessions()`); the selected row's `detail` is posted again when
 * its session changed.
 */
import * as crypto from 'node:crypto';
import * as os from 'node:os';
import * as vscode from 'vscode';
import { budgetTitle, FORECAST_METHOD, forecastSentence, type BudgetStatus } from '../core/budgets';
import type { Ledger } from '../core/ledger';
import type { NowView } from '../core/nowView';
import type { ProviderStatusView, ReconRow as CoreReconRow } from '../core/reconcile';
import { dayKeysAt, exportView, PanelModel, SUBAGENT_SEPARATOR, type OutputSource } from '../core/viewModel';
import {
  BILLING_PROVIDERS, clip, defaultViewState, EXPORT_FORMATS, LIMITS, NowViewSchema, parseViewState, parseWebviewMessage, RECON_ROWS_MAX,
  type BudgetRow, type ReconProvider, type ReconRow, type DayKeys, type ExportFormat, type HostMessage, type ViewState, type WebviewMessage,
} from '../shared/protocol';
import { Disposable } from './disposable';
import type { Log } from './log';

export const PANEL_VIEW_TYPE = 'agentSpend.panel';
/** Live updates reach the panel at most this often. */
export const PANEL_UPDATE_THROTTLE_MS = 250;
const TITLE = 'Agent Spend';

/** What the panel reads: the live ledger (which may be replaced) and when it changed. */
export interface PanelSource {
  readonly currentLedger: Ledger;
  readonly onDidUpdate: vscode.Event<void>;
  /**
   * Git's facts about a session (the integrator's git service): undefined = not computed yet,
   * null = unknown (no repository, untrusted workspace…). Absent: commits are shown as '—'.
   */
  gitFacts?(sessionId: string): { commits: number; survivingLines: number | null } | null | undefined;
  /** Fires with the sessions whose git facts arrived (their rows are posted again). */
  readonly onDidChangeGit?: vscode.Event<string[]>;
  /** The "spend without output" threshold setting, USD (default 5). */
  outputThresholdUSD?(): number;
}

export interface PanelDeps {
  extensionUri: vscode.Uri;
  source: PanelSource;
  /** `vscode.env.language`: numbers and dates in the user's locale. */
  locale: string;
  log: Log;
  now?: () => number;
}

export interface PanelStats {
  /** Messages received from the webview, and those rejected by validation. */
  received: number;
  rejected: number;
  states: number;
  updates: number;
  details: number;
  /** `now` messages (the Now section and plans' worth). */
  nows: number;
  /** Times the page was (re)loaded (each with a fresh nonce). */
  loads: number;
}

export class SpendPanel extends Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private panelSubscriptions: vscode.Disposable[] = [];
  private model: PanelModel | undefined;
  private modelLedger: Ledger | undefined;
  private webviewReady = false;
  private seq = 0;
  private lastDayKeys: DayKeys | undefined;
  private viewState: ViewState = defaultViewState();
  private selection: { rowId: string; expanded: Set<string> } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastPush = 0;
  private readonly posted = this.own(new vscode.EventEmitter<HostMessage>());
  /** Fires with every message posted to the webview (tests watch it). */
  readonly onDidPost = this.posted.event;
  private readonly received = this.own(new vscode.EventEmitter<WebviewMessage>());
  /** Fires with every valid message from the webview. */
  readonly onDidReceive = this.received.event;
  readonly stats: PanelStats = { received: 0, rejected: 0, states: 0, updates: 0, details: 0, nows: 0, loads: 0 };
  private readonly now: () => number;
  /** Sessions whose git facts arrived since the last push (their rows are rebuilt). */
  private readonly gitChanged = new Set<string>();

  constructor(private readonly deps: PanelDeps) {
    super();
    this.now = deps.now ?? Date.now;
    this.own(deps.source.onDidUpdate(() => this.schedule()));
    if (deps.source.onDidChangeGit) {
      this.own(deps.source.onDidChangeGit((ids) => {
        for (const id of ids) if (typeof id === 'string') this.gitChanged.add(id);
        this.schedule();
      }));
    }
    this.own({ dispose: () => this.closePanel() });
  }

  get isOpen(): boolean {
    return this.panel !== undefined;
  }

  /** True between the webview's `ready` and its page going away (hidden, closed). */
  get isReady(): boolean {
    return this.webviewReady;
  }

  /** The view state the host last heard of (filters, sort, selection). */
  get currentViewState(): ViewState {
    return this.viewState;
  }

  /** Opens the panel, or reveals it if it is open. */
  show(): void {
    if (this.panel) {
      this.panel.reveal();
      return;
    }
    // a new panel keeps the last filters and sort, not the last selection or scroll position
    this.viewState = { ...this.viewState, selected: null, expandedTasks: [], scrollTop: 0 };
    const panel = vscode.window.createWebviewPanel(PANEL_VIEW_TYPE, TITLE, vscode.ViewColumn.Active, this.webviewOptions());
    this.attach(panel);
  }

  /** Restores the panel after a reload, with the filters it had. */
  registerSerializer(): vscode.Disposable {
    return vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state) => this.restore(panel, state),
    });
  }

  /** Adopts a panel VS Code restored (the serializer's work; public for tests). */
  restore(panel: vscode.WebviewPanel, state: unknown): void {
    if (this.panel) {
      // one panel at a time: keep the open one
      panel.dispose();
      this.panel.reveal();
      return;
    }
    const restored = parseViewState(state);
    if (state !== undefined && state !== null && !restored) this.deps.log.warn('panel: the restored view state is not valid; using the defaults');
    this.viewState = restored ?? defaultViewState();
    this.attach(panel);
  }

  private webviewOptions(): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return {
      enableScripts: true,
      enableCommandUris: false,
      localResourceRoots: [vscode.Uri.joinPath(this.deps.extensionUri, 'media')],
      enableFindWidget: true,
    };
  }

  private attach(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    this.webviewReady = false;
    panel.webview.options = this.webviewOptions();
    panel.iconPath = vscode.Uri.joinPath(this.deps.extensionUri, 'media', 'icon.png');
    this.panelSubscriptions = [
      panel.webview.onDidReceiveMessage((m: unknown) => this.handleMessage(m)),
      panel.onDidChangeViewState((e) => {
        // a hidden panel's page is unloaded; it sends `ready` again when shown
        if (!e.webviewPanel.visible) this.webviewReady = false;
      }),
      panel.onDidDispose(() => this.onPanelDisposed(panel)),
    ];
    panel.webview.html = this.html(panel.webview);
    this.stats.loads++;
  }

  private onPanelDisposed(panel: vscode.WebviewPanel): void {
    if (this.panel !== panel) return;
    for (const d of this.panelSubscriptions.splice(0)) d.dispose();
    this.panel = undefined;
    this.webviewReady = false;
    this.model = undefined;
    this.modelLedger = undefined;
    this.selection = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private closePanel(): void {
    const p = this.panel;
    if (p) {
      this.onPanelDisposed(p);
      p.dispose();
    }
  }

  /** The page: no data in it (everything comes by message), scripts by nonce, styles from media/ only. */
  html(webview: vscode.Webview): string {
    const nonce = crypto.randomBytes(18).toString('base64');
    const media = (file: string) => webview.asWebviewUri(vscode.Uri.joinPath(this.deps.extensionUri, 'media', file)).toString();
    const csp = [
      "default-src 'none'",
      `script-src 'nonce-${nonce}'`,
      `style-src ${webview.cspSource}`,
      `img-src ${webview.cspSource}`,
      `font-src ${webview.cspSource}`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="${attr(this.deps.locale)}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${attr(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${attr(media('panel.css'))}">
<title>${TITLE}</title>
</head>
<body>
<main id="app" aria-busy="true"><p class="loading">Loading agent spend…</p></main>
<script nonce="${nonce}" src="${attr(media('webview.js'))}"></script>
</body>
</html>`;
  }

  /** A message from the webview (validated here; public so tests can send one). */
  handleMessage(raw: unknown): void {
    this.stats.received++;
    const parsed = parseWebviewMessage(raw);
    if (!parsed.ok) {
      this.stats.rejected++;
      if (this.stats.rejected <= 5) this.deps.log.warn(`panel: ignored a message from the webview: ${parsed.error}`);
      return;
    }
    const msg = parsed.message;
    this.received.fire(msg);
    switch (msg.type) {
      case 'ready':
        this.webviewReady = true;
        this.postState();
        this.postBudgets();
        this.postReconciliation();
        this.postNow();
        break;
      case 'viewState':
        this.viewState = msg.state;
        break;
      case 'select':
        this.selection = msg.rowId === null ? undefined : { rowId: msg.rowId, expanded: new Set(msg.expandedTasks) };
        this.postDetail();
        break;
      case 'expandTask':
        if (this.selection?.rowId === msg.rowId) {
          if (msg.expanded) this.selection.expanded.add(msg.taskId);
          else this.selection.expanded.delete(msg.taskId);
          this.postDetail();
        }
        break;
      case 'reveal':
        void this.reveal(msg.rowId);
        break;
      case 'export':
        this.viewState = msg.state;
        void this.export(msg.format);
        break;
    }
  }

  /** The model of the current ledger (rebuilt when the ledger was replaced); pending changes are not applied here. */
  private ensureModel(): PanelModel {
    const ledger = this.deps.source.currentLedger;
    if (!this.model || this.modelLedger !== ledger) {
      ledger.drainChangedSessions(); // the rebuild covers them
      this.model = new PanelModel(ledger, undefined, this.outputSource());
      this.modelLedger = ledger;
      this.gitChanged.clear();
    }
    return this.model;
  }

  /** The panel model's view of git facts and the threshold (each read when a row is built). */
  private outputSource(): OutputSource {
    const src = this.deps.source;
    return {
      gitFacts: src.gitFacts ? (id) => src.gitFacts!(id) : undefined,
      thresholdUSD: src.outputThresholdUSD ? () => src.outputThresholdUSD!() : undefined,
    };
  }

  /**
   * The "spend without output" threshold (or how git facts are read) changed: every row is
   * built again and the whole state posted (the composition root calls this on a setting change).
   */
  refreshOutput(): void {
    if (!this.panel) return;
    this.model = undefined;
    if (this.webviewReady) this.postState();
  }

  private dayKeys(): DayKeys {
    const keys = dayKeysAt(this.now());
    this.lastDayKeys = keys;
    return keys;
  }

  /** The evaluated budgets (from the composition root, after each evaluation). */
  setBudgets(statuses: readonly BudgetStatus[]): void {
    const rows = statuses.map((st) => toBudgetRow(st, this.deps.locale));
    const key = JSON.stringify(rows);
    if (key === this.budgetsKey) return;
    this.budgetsKey = key;
    this.budgetRows = rows;
    this.postBudgets();
  }

  private budgetRows: BudgetRow[] = [];
  private budgetsKey = '';

  private postBudgets(): void {
    if (this.webviewReady) this.post({ type: 'budgets', rows: this.budgetRows, method: clip(FORECAST_METHOD, LIMITS.label) });
  }

  /**
   * The estimate-vs-invoice rows (src/core/reconcile.ts, newest first) and the status of each
   * configured provider (from the composition root, when a poller reports or the ledger
   * changed). No providers: the webview hides the section. Posted only when it changed.
   */
  setReconciliation(rows: readonly CoreReconRow[], providers: readonly ProviderStatusView[]): void {
    const msgRows = rows.slice(0, RECON_ROWS_MAX).filter((r) => DAY_RE.test(r.date)).map(toReconRow);
    const seen = new Set<string>();
    const msgProviders: ReconProvider[] = [];
    for (const p of providers) {
      if (seen.has(p.provider) || !(BILLING_PROVIDERS as readonly string[]).includes(p.provider)) continue;
      seen.add(p.provider);
      msgProviders.push({
        provider: p.provider,
        status: p.status,
        ageMs: p.ageMs === null || !Number.isFinite(p.ageMs) ? null : Math.max(0, Math.round(p.ageMs)),
        message: p.message === null ? null : clip(p.message, LIMITS.label),
      });
    }
    // ages grow on every call: compared to the minute (what the status line shows), so a re-post
    // happens when something the user reads changed
    const key = JSON.stringify([msgRows, msgProviders.map((p) => ({ ...p, ageMs: p.ageMs === null ? null : Math.floor(p.ageMs / 60_000) }))]);
    if (key === this.reconKey) return;
    this.reconKey = key;
    this.reconRows = msgRows;
    this.reconProviders = msgProviders;
    this.postReconciliation();
  }

  private reconRows: ReconRow[] = [];
  private reconProviders: ReconProvider[] = [];
  private reconKey = '';

  private postReconciliation(): void {
    if (this.webviewReady) this.post({ type: 'reconciliation', rows: this.reconRows, providers: this.reconProviders });
  }

  /**
   * The Now section: running and idle sessions, plan limits and plans' worth (src/core/nowView.ts,
   * from the composition root on each live tick). Kept, posted when the panel is ready (and again
   * on every `ready`: a shown or restored panel gets it); posted only when something besides the
   * clock changed. A view that does not pass the protocol's validation is logged and not kept.
   */
  setNow(view: NowView): void {
    const checked = NowViewSchema.safeParse(view);
    if (!checked.success) {
      if (!this.nowRejected) this.deps.log.warn(`panel: the Now view is not valid (${checked.error.issues[0]?.path.map(String).join('.') ?? '?'}); not shown`);
      this.nowRejected = true;
      return;
    }
    const key = JSON.stringify({ ...view, now: 0 });
    if (key === this.nowKey) return;
    this.nowKey = key;
    this.nowView = view;
    this.postNow();
  }

  /** The last Now view given (tests read it). */
  get currentNow(): NowView | undefined {
    return this.nowView;
  }

  private nowView: NowView | undefined;
  private nowKey = '';
  private nowRejected = false;

  private postNow(): void {
    if (this.webviewReady && this.nowView) this.post({ type: 'now', view: this.nowView });
  }

  private postState(): void {
    const ledger = this.deps.source.currentLedger;
    if (this.model && this.modelLedger === ledger) {
      const changed = ledger.drainChangedSessions();
      for (const id of this.gitChanged) changed.add(id);
      this.gitChanged.clear();
      this.model.apply(changed);
    }
    const model = this.ensureModel();
    this.seq = 0;
    this.post({
      type: 'state',
      seq: this.seq,
      locale: this.deps.locale.slice(0, 64),
      now: this.now(),
      dayKeys: this.dayKeys(),
      rows: model.allRows(),
      days: model.allDays(),
      viewState: this.viewState,
    });
    if (this.selection) this.postDetail();
  }

  private postDetail(): void {
    if (!this.selection || !this.webviewReady) return;
    const model = this.ensureModel();
    const detail = model.detail(this.selection.rowId, this.selection.expanded) ?? null;
    this.post({ type: 'detail', rowId: this.selection.rowId, detail });
  }

  /** Coalesces ledger updates: at most one push per PANEL_UPDATE_THROTTLE_MS. */
  private schedule(): void {
    if (!this.panel || this.timer) return;
    const wait = Math.max(0, this.lastPush + PANEL_UPDATE_THROTTLE_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastPush = Date.now();
      this.push();
    }, wait);
  }

  /** Folds the ledger's changes into the model and posts them (the whole state if the ledger was replaced). */
  private push(): void {
    if (!this.panel) return;
    const ledger = this.deps.source.currentLedger;
    if (this.modelLedger !== ledger) {
      this.model = undefined;
      if (this.webviewReady) this.postState();
      return;
    }
    const model = this.ensureModel();
    const changed = ledger.drainChangedSessions();
    for (const id of this.gitChanged) changed.add(id);
    this.gitChanged.clear();
    const selected = this.selection && (model.row(this.selection.rowId)?.sessionId ?? this.selection.rowId.split(SUBAGENT_SEPARATOR)[0]);
    const delta = model.apply(changed);
    if (!this.webviewReady) return; // the next `ready` gets the whole state
    const before = this.lastDayKeys;
    const keys = this.dayKeys();
    const dayRolled = !before || before.today !== keys.today;
    if (delta || dayRolled) {
      this.post({ type: 'update', seq: ++this.seq, now: this.now(), dayKeys: keys, upsert: delta?.upsert ?? [], remove: delta?.remove ?? [], days: delta?.days ?? [] });
    }
    if (selected !== undefined && changed.has(selected)) this.postDetail();
  }

  /** Posts pending changes now (before an export reads the model). */
  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.lastPush = Date.now();
    this.push();
  }

  private post(msg: HostMessage): void {
    if (!this.panel || !this.webviewReady) return;
    if (msg.type === 'state') this.stats.states++;
    else if (msg.type === 'update') this.stats.updates++;
    else if (msg.type === 'now') this.stats.nows++;
    else this.stats.details++;
    void this.panel.webview.postMessage(msg);
    this.posted.fire(msg);
  }

  private async reveal(rowId: string): Promise<void> {
    const file = this.ensureModel().fileOf(rowId);
    if (!file) {
      void vscode.window.showInformationMessage('Agent Spend: that session is no longer in the logs.');
      return;
    }
    try {
      await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: true, viewColumn: vscode.ViewColumn.Beside });
    } catch (err) {
      this.deps.log.warn(`panel: cannot open ${file}: ${err instanceof Error ? err.message : String(err)}`);
      void vscode.window.showWarningMessage(`Agent Spend: cannot open the log file (${err instanceof Error ? err.message : String(err)}).`);
    }
  }

  /**
   * `agentSpend.export`: the current view (the panel's filters and sort, or the last
   * ones it had) as CSV or JSON. Asks for the format and the file unless given.
   */
  async export(format?: unknown, target?: unknown): Promise<vscode.Uri | undefined> {
    let fmt: ExportFormat | undefined = typeof format === 'string' && (EXPORT_FORMATS as readonly string[]).includes(format) ? (format as ExportFormat) : undefined;
    if (!fmt) {
      const pick = await vscode.window.showQuickPick(
        [{ label: 'CSV', description: 'one row per session and subagent', format: 'csv' as const }, { label: 'JSON', description: 'sessions, filters and spend by agent and model', format: 'json' as const }],
        { title: 'Agent Spend: export the current view as' },
      );
      if (!pick) return undefined;
      fmt = pick.format;
    }
    const ledger = this.deps.source.currentLedger;
    if (this.panel) this.flush();
    const model = this.panel ? this.ensureModel() : new PanelModel(ledger, undefined, this.outputSource());
    const now = this.now();
    const keys = dayKeysAt(now);
    const { text, sessions } = exportView(model.allRows(), model.allDays(), this.viewState, keys, fmt, now);
    let uri = target instanceof vscode.Uri ? target : undefined;
    if (!uri) {
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(os.homedir());
      uri = await vscode.window.showSaveDialog({
        defaultUri: vscode.Uri.joinPath(folder, `agent-spend-${keys.today}.${fmt}`),
        filters: fmt === 'csv' ? { CSV: ['csv'] } : { JSON: ['json'] },
        saveLabel: 'Export',
        title: 'Agent Spend: export the current view',
      });
      if (!uri) return undefined;
    }
    await vscode.workspace.fs.writeFile(uri, Buffer.from(text, 'utf8'));
    this.deps.log.info(`exported ${sessions} rows as ${fmt.toUpperCase()} to ${uri.fsPath}`);
    if (!(target instanceof vscode.Uri)) {
      void vscode.window.showInformationMessage(`Agent Spend: exported ${sessions} rows to ${uri.fsPath}.`, 'Open').then((choice) => {
        if (choice === 'Open') void vscode.window.showTextDocument(uri);
      });
    }
    return uri;
  }
}

function attr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

/** A reconciliation row as the protocol carries it: integers where it wants integers, bounded lists. */
function toReconRow(r: CoreReconRow): ReconRow {
  const int = (n: number) => (Number.isFinite(n) ? Math.round(n) : 0);
  return {
    provider: r.provider,
    date: r.date,
    billedNanos: r.billedNanos === null ? null : int(r.billedNanos),
    estimatedNanos: int(r.estimatedNanos),
    diffNanos: r.diffNanos === null ? null : int(r.diffNanos),
    diffPercent: r.diffPercent === null || !Number.isFinite(r.diffPercent) ? null : r.diffPercent,
    agents: r.agents.slice(0, 64).map((a) => clip(a, 64)),
    requests: Math.max(0, int(r.requests)),
    unpricedRequests: Math.max(0, int(r.unpricedRequests)),
    final: r.final,
    status: r.status,
  };
}

/** A budget status as a panel row: worded on the host, shown as text. */
function toBudgetRow(st: BudgetStatus, locale: string): BudgetRow {
  const scope = st.session
    ? `session ${st.session.sessionId.slice(0, 8)} · ${st.session.agent}${st.session.project ? ` · ${st.session.project}` : ''}`
    : { day: 'today', week: 'this week', month: 'this month', session: 'per session' }[st.budget.period];
  return {
    id: clip(`${st.budget.id}${st.session ? `|${st.session.sessionId}` : ''}`, LIMITS.id),
    title: clip(budgetTitle(st), LIMITS.label),
    state: st.state,
    percent: Math.max(0, st.percent),
    spentNanos: Math.max(0, Math.round(st.spentNanos)),
    limitNanos: Math.max(0, Math.round(st.limitNanos)),
    scope: clip(scope, LIMITS.label),
    forecast: clip(forecastSentence(st, locale), LIMITS.label),
    unpricedRequests: st.unpricedRequests,
  };
}
