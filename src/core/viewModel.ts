/**
 * The breakdown panel's view model, pure (no vscode, no DOM, no I/O):
 *
 * - host side: `PanelModel` turns the ledger into session rows (subagents as their own
 *   rows) and a day × agent/model spend cube, and keeps both up to date per changed
 *   session (`apply`), so a live append produces a delta of a few rows and one day;
 *   `detail()` builds a session's tasks and, for expanded tasks, their requests.
 * - both sides: the rows → tree (subagents nested, combined figures) → filtered,
 *   sorted, flattened view; range presets; overview sums; timeline series; CSV/JSON
 *   export of the current view. The webview bundles these too, so what is exported is
 *   exactly what is shown.
 */
import { applyRecord, emptyTotals, localDayKey, spendNanosOf, type RequestRecord, type SessionInfo, type Totals } from './ledger';
import { outputMetrics, spendWithoutOutput, summarizeEdits, type EditRecord } from './output';
import { buildTasks, type PromptRecord, type Task } from './tasks';
import { clip, LIMITS } from '../shared/protocol';
import type {
  Cell, CostBasis, CostCheck, DayEntry, DayKeys, RangePreset, RequestView, SessionDetail, SessionRow, SortKey, TaskView, ViewState,
} from '../shared/protocol';

/** What the model reads of the ledger (the Ledger class, or a stand-in in tests). */
export interface LedgerView {
  session(sessionId: string): SessionInfo | undefined;
  allRecords(): Iterable<RequestRecord>;
  sessionRequests(sessionId: string): RequestRecord[];
  tasks(sessionId: string): Task[];
  /** The session's edits (absent in stand-ins without edits: none). */
  sessionEdits?(sessionId: string): readonly EditRecord[];
}

/** What git said about a session: undefined = not computed yet, null = unknown (no repository, untrusted…). */
export type GitFacts = { commits: number; survivingLines: number | null } | null | undefined;

/** Where the output figures come from besides the ledger (both optional). */
export interface OutputSource {
  gitFacts?(sessionId: string): GitFacts;
  /** The "spend without output" threshold, USD (default DEFAULT_OUTPUT_THRESHOLD_USD). */
  thresholdUSD?(): number;
}

export const DEFAULT_OUTPUT_THRESHOLD_USD = 5;

export type OutputFields = Pick<SessionRow, 'linesAdded' | 'linesRemoved' | 'filesTouched' | 'commits' | 'survivingShare' | 'costPer100Lines' | 'noOutput'>;

/** Output fields of a row that has none of its own (a subagent row). */
export function noOutputFields(): OutputFields {
  return { linesAdded: null, linesRemoved: null, filesTouched: null, commits: null, survivingShare: null, costPer100Lines: null, noOutput: false };
}

/**
 * A session's output fields: its edits (agents whose edits are read; else null), git's
 * commits and surviving lines (when known), set against the whole session's spend.
 */
export function sessionOutput(agent: string, spendNanos: number, edits: readonly EditRecord[], git: GitFacts, thresholdUSD: number): OutputFields {
  const tracked = EDIT_TRACKING_AGENTS.has(agent);
  const summary = summarizeEdits(tracked ? edits : []);
  const commits = git ? safeCount(git.commits) : null;
  const surviving = git && git.survivingLines !== null ? safeCount(git.survivingLines) : null;
  const m = outputMetrics(spendNanos, summary, { commits, survivingLines: surviving });
  const threshold = Number.isFinite(thresholdUSD) && thresholdUSD >= 0 ? thresholdUSD : DEFAULT_OUTPUT_THRESHOLD_USD;
  return {
    linesAdded: tracked ? m.linesAdded : null,
    linesRemoved: tracked ? m.linesRemoved : null,
    filesTouched: tracked ? m.filesTouched : null,
    commits,
    survivingShare: tracked ? m.survivingShare : null,
    costPer100Lines: tracked ? m.costPer100LinesNanos : null,
    // lines not read: "no output" cannot be told
    noOutput: tracked && spendWithoutOutput(m, threshold),
  };
}

function safeCount(n: number): number | null {
  return Number.isFinite(n) && n >= 0 ? Math.round(n) : null;
}

/** The session detail says so when a logged cost and the estimate differ by more than this. */
export const COST_CHECK_THRESHOLD = 0.05;
/** An expanded task lists at most this many of its (most recent) requests. */
export const REQUESTS_PER_TASK = 1_000;
/** The timeline shows this many agents/models; the rest are summed as "other". */
export const TIMELINE_SERIES = 8;
export const OTHER_SERIES = '(other)';
export const UNKNOWN_MODEL = '(unknown)';

// ---------------------------------------------------------------- summable figures

export interface Agg {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cacheWriteTokens: number;
  cacheReadTokens: number;
  reasoningTokens: number;
  spendNanos: number;
  costNanos: number;
  loggedCostNanos: number;
  loggedRequests: number;
  unpricedRequests: number;
  billedRequests: number;
  start: number;
  end: number;
}

export function emptyAgg(): Agg {
  return {
    requests: 0, inputTokens: 0, outputTokens: 0, cacheWriteTokens: 0, cacheReadTokens: 0, reasoningTokens: 0,
    spendNanos: 0, costNanos: 0, loggedCostNanos: 0, loggedRequests: 0, unpricedRequests: 0, billedRequests: 0, start: 0, end: 0,
  };
}

export function aggOf(t: Totals): Agg {
  const empty = t.requests === 0 || !Number.isFinite(t.firstTimestamp);
  return {
    requests: t.requests,
    inputTokens: t.inputTokens,
    outputTokens: t.outputTokens,
    cacheWriteTokens: t.cacheCreationTokens,
    cacheReadTokens: t.cacheReadTokens,
    reasoningTokens: t.reasoningTokens,
    spendNanos: t.spendNanos,
    costNanos: t.costNanos,
    loggedCostNanos: t.loggedCostNanos,
    loggedRequests: t.loggedRequests,
    unpricedRequests: t.unpricedRequests,
    billedRequests: 0,
    start: empty ? 0 : t.firstTimestamp,
    end: empty ? 0 : t.lastTimestamp,
  };
}

/** Adds `b` into `a` (time span widened over non-empty parts). */
export function addAgg(a: Agg, b: Agg): Agg {
  if (b.requests > 0 || b.start > 0) {
    if (a.requests === 0 && a.start === 0) {
      a.start = b.start;
      a.end = b.end;
    } else {
      a.start = Math.min(a.start, b.start);
      a.end = Math.max(a.end, b.end);
    }
  }
  a.requests += b.requests;
  a.inputTokens += b.inputTokens;
  a.outputTokens += b.outputTokens;
  a.cacheWriteTokens += b.cacheWriteTokens;
  a.cacheReadTokens += b.cacheReadTokens;
  a.reasoningTokens += b.reasoningTokens;
  a.spendNanos += b.spendNanos;
  a.costNanos += b.costNanos;
  a.loggedCostNanos += b.loggedCostNanos;
  a.loggedRequests += b.loggedRequests;
  a.unpricedRequests += b.unpricedRequests;
  a.billedRequests += b.billedRequests;
  return a;
}

export function pickAgg(x: Agg): Agg {
  return addAgg(emptyAgg(), x);
}

/** Tokens of every type (input, output, cache writes and reads). */
export function tokensOf(a: Pick<Agg, 'inputTokens' | 'outputTokens' | 'cacheWriteTokens' | 'cacheReadTokens'>): number {
  return a.inputTokens + a.outputTokens + a.cacheWriteTokens + a.cacheReadTokens;
}

/** Estimated, logged by the agent, billed, a mix, or none (all unpriced). */
export function basisOf(a: Pick<Agg, 'requests' | 'loggedRequests' | 'unpricedRequests' | 'billedRequests'>): CostBasis {
  if (a.billedRequests > 0 && a.billedRequests === a.requests) return 'billed';
  const kinds = (a.billedRequests > 0 ? 1 : 0) + (a.loggedRequests > 0 ? 1 : 0);
  const estimated = a.requests - a.loggedRequests - a.billedRequests - a.unpricedRequests;
  if (kinds === 0) return estimated > 0 ? 'estimated' : 'none';
  if (kinds > 1 || estimated > 0) return 'mixed';
  return a.loggedRequests > 0 ? 'logged' : 'billed';
}

/** The logged-versus-estimate comparison of some totals, when they differ by more than the threshold. */
export function costCheckOf(t: Totals, threshold = COST_CHECK_THRESHOLD): CostCheck | undefined {
  const logged = t.loggedOfEstimatedNanos;
  const estimate = t.estimateOfLoggedNanos;
  if (t.loggedRequests === 0 || logged + estimate === 0) return undefined;
  const requests = Math.min(t.loggedRequests, t.requests - t.estimateUnpricedRequests);
  if (estimate === 0) return { loggedNanos: logged, estimateNanos: 0, differencePercent: null, requests };
  const diff = (logged - estimate) / estimate;
  if (Math.abs(diff) <= threshold) return undefined;
  return { loggedNanos: logged, estimateNanos: estimate, differencePercent: Math.round(diff * 1000) / 10, requests };
}

function requestTokens(r: RequestRecord): number {
  const k = r.tokens;
  return k.input + k.output + k.cacheWrite5m + k.cacheWrite1h + k.cacheRead;
}

// ---------------------------------------------------------------- host side: ledger → rows + day cube

export const SUBAGENT_SEPARATOR = '#agent:';

export function subagentRowId(sessionId: string, subagentId: string): string {
  return `${sessionId}${SUBAGENT_SEPARATOR}${subagentId}`;
}

interface CellAcc {
  spendNanos: number;
  requests: number;
  unpricedRequests: number;
  tokens: number;
}

interface DayAcc {
  agents: Map<string, CellAcc>;
  models: Map<string, CellAcc>;
}

interface SessionEntry {
  rowIds: string[];
  /** This session's part of the day cube: `${day}\u0000${a|m}\u0000${key}` → figures. */
  cells: Map<string, CellAcc>;
}

export interface ModelDelta {
  upsert: SessionRow[];
  remove: string[];
  days: DayEntry[];
}

/**
 * Session rows and the day cube, kept per session so a change to one session costs
 * the work of that session only (its requests are walked again; nothing else is).
 */
export class PanelModel {
  private readonly rows = new Map<string, SessionRow>();
  private readonly entries = new Map<string, SessionEntry>();
  private readonly days = new Map<string, DayAcc>();

  constructor(
    readonly ledger: LedgerView,
    private readonly dayKey: (ts: number) => string = localDayKey,
    private readonly output: OutputSource = {},
  ) {
    this.rebuild();
  }

  /** Forgets everything and reads the whole ledger again (one pass over its records). */
  rebuild(): void {
    this.rows.clear();
    this.entries.clear();
    this.days.clear();
    const bySession = new Map<string, RequestRecord[]>();
    for (const r of this.ledger.allRecords()) {
      const list = bySession.get(r.sessionId);
      if (list) list.push(r);
      else bySession.set(r.sessionId, [r]);
    }
    for (const [id, records] of bySession) this.setSession(id, records, new Set());
  }

  get rowCount(): number {
    return this.rows.size;
  }

  row(rowId: string): SessionRow | undefined {
    return this.rows.get(rowId);
  }

  allRows(): SessionRow[] {
    return [...this.rows.values()];
  }

  allDays(): DayEntry[] {
    return [...this.days.keys()].sort().map((d) => this.dayEntry(d));
  }

  /** Folds in the sessions that changed in the ledger; undefined when nothing visible changed. */
  apply(changedSessions: Iterable<string>): ModelDelta | undefined {
    const upsert: SessionRow[] = [];
    const remove: string[] = [];
    const touched = new Set<string>();
    for (const id of changedSessions) {
      const before = this.entries.get(id)?.rowIds ?? [];
      const after = this.setSession(id, this.ledger.sessionRequests(id), touched);
      const kept = new Set(after.map((r) => r.id));
      for (const old of before) if (!kept.has(old)) remove.push(old);
      upsert.push(...after);
    }
    if (upsert.length === 0 && remove.length === 0 && touched.size === 0) return undefined;
    return { upsert, remove, days: [...touched].sort().map((d) => this.dayEntry(d)) };
  }

  private dayEntry(day: string): DayEntry {
    const acc = this.days.get(day);
    const cells = (m: Map<string, CellAcc> | undefined): Cell[] =>
      m ? [...m].map(([key, c]) => ({ key, ...c })).sort((a, b) => b.spendNanos - a.spendNanos || (a.key < b.key ? -1 : 1)) : [];
    return { day, agents: cells(acc?.agents), models: cells(acc?.models) };
  }

  /** Replaces one session's rows and cube part; returns its new rows. */
  private setSession(sessionId: string, records: readonly RequestRecord[], touched: Set<string>): SessionRow[] {
    const old = this.entries.get(sessionId);
    if (old) {
      for (const [key, c] of old.cells) this.addCell(key, c, -1, touched);
      for (const id of old.rowIds) this.rows.delete(id);
      this.entries.delete(sessionId);
    }
    const info = this.ledger.session(sessionId);
    // an id longer than a message may carry (no agent writes one) is left out rather than break the panel
    if (records.length === 0 || !info || subagentRowId(sessionId, '').length > LIMITS.id) return [];

    const cells = new Map<string, CellAcc>();
    const whole = emptyTotals();
    const main = emptyTotals();
    const mainModels = new Map<string, number>();
    const subs = new Map<string, { totals: Totals; models: Map<string, number> }>();
    let parentOf: RequestRecord | undefined;
    for (const r of records) {
      applyRecord(whole, r, 1);
      // the parent named by the earliest request that names one (records come in no set order)
      if (r.parentSessionId && r.parentSessionId !== sessionId && (!parentOf || r.timestamp < parentOf.timestamp || (r.timestamp === parentOf.timestamp && r.key < parentOf.key))) parentOf = r;
      const model = clip(r.model ?? UNKNOWN_MODEL, LIMITS.model);
      if (r.subagentId !== undefined && subagentRowId(sessionId, r.subagentId).length <= LIMITS.id) {
        let s = subs.get(r.subagentId);
        if (!s) subs.set(r.subagentId, (s = { totals: emptyTotals(), models: new Map() }));
        applyRecord(s.totals, r, 1);
        s.models.set(model, (s.models.get(model) ?? 0) + 1);
      } else {
        applyRecord(main, r, 1);
        mainModels.set(model, (mainModels.get(model) ?? 0) + 1);
      }
      const day = this.dayKey(r.timestamp);
      const spend = spendNanosOf(r);
      const tokens = requestTokens(r);
      for (const key of [`${day}\u0000a\u0000${r.agent}`, `${day}\u0000m\u0000${model}`]) {
        let c = cells.get(key);
        if (!c) cells.set(key, (c = { spendNanos: 0, requests: 0, unpricedRequests: 0, tokens: 0 }));
        c.requests++;
        c.tokens += tokens;
        if (spend === null) c.unpricedRequests++;
        else c.spendNanos += spend;
      }
    }
    for (const [key, c] of cells) this.addCell(key, c, 1, touched);

    const parent = parentOf?.parentSessionId;
    const mainAgg = aggOf(main);
    if (main.requests === 0) {
      // Only subagent requests (the parent transcript is gone): the row still spans the session.
      mainAgg.start = whole.firstTimestamp;
      mainAgg.end = whole.lastTimestamp;
    }
    const mainRow: SessionRow = {
      id: sessionId,
      sessionId,
      agent: info.agent,
      project: clip(info.project, LIMITS.path),
      firstDay: this.dayKey(mainAgg.start),
      lastDay: this.dayKey(mainAgg.end),
      models: modelsByUse(main.requests > 0 ? mainModels : info.models),
      ...mainAgg,
      ...sessionOutput(
        info.agent,
        whole.spendNanos,
        this.ledger.sessionEdits?.(sessionId) ?? [],
        this.output.gitFacts?.(sessionId),
        this.output.thresholdUSD?.() ?? DEFAULT_OUTPUT_THRESHOLD_USD,
      ),
    };
    if (info.branch) mainRow.branch = clip(info.branch, LIMITS.label);
    if (parent !== undefined && parent.length <= LIMITS.id) mainRow.parentId = parent;
    const rows = [mainRow];
    for (const [subId, s] of [...subs].sort((a, b) => a[1].totals.firstTimestamp - b[1].totals.firstTimestamp)) {
      const agg = aggOf(s.totals);
      const row: SessionRow = {
        id: subagentRowId(sessionId, subId),
        sessionId,
        subagentId: clip(subId, LIMITS.label),
        parentId: sessionId,
        agent: info.agent,
        project: clip(info.project, LIMITS.path),
        firstDay: this.dayKey(agg.start),
        lastDay: this.dayKey(agg.end),
        models: modelsByUse(s.models),
        ...agg,
        ...noOutputFields(),
      };
      if (info.branch) row.branch = clip(info.branch, LIMITS.label);
      rows.push(row);
    }
    for (const row of rows) this.rows.set(row.id, row);
    this.entries.set(sessionId, { rowIds: rows.map((r) => r.id), cells });
    return rows;
  }

  private addCell(key: string, c: CellAcc, sign: 1 | -1, touched: Set<string>): void {
    const [day, kind, name] = splitCellKey(key);
    touched.add(day);
    let acc = this.days.get(day);
    if (!acc) {
      if (sign < 0) return;
      this.days.set(day, (acc = { agents: new Map(), models: new Map() }));
    }
    const map = kind === 'a' ? acc.agents : acc.models;
    let cell = map.get(name);
    if (!cell) {
      if (sign < 0) return;
      map.set(name, (cell = { spendNanos: 0, requests: 0, unpricedRequests: 0, tokens: 0 }));
    }
    cell.spendNanos += sign * c.spendNanos;
    cell.requests += sign * c.requests;
    cell.unpricedRequests += sign * c.unpricedRequests;
    cell.tokens += sign * c.tokens;
    if (cell.requests <= 0) map.delete(name);
    if (acc.agents.size === 0 && acc.models.size === 0) this.days.delete(day);
  }

  /**
   * A row's detail: its tasks (a session row's tasks include the work of its subagents,
   * each request marked with its subagent), with the requests of the expanded tasks.
   */
  detail(rowId: string, expandedTasks: ReadonlySet<string> = new Set()): SessionDetail | undefined {
    const row = this.rows.get(rowId);
    const info = row && this.ledger.session(row.sessionId);
    if (!row || !info) return undefined;
    const all = this.ledger.sessionRequests(row.sessionId);
    let tasks: Task[];
    let records: RequestRecord[];
    if (row.subagentId !== undefined) {
      const sub = subagentOf(row);
      records = all.filter((r) => r.subagentId === sub);
      const prompts = this.ledger.tasks(row.sessionId).flatMap((t) => (t.prompt ? [t.prompt] : [])) as PromptRecord[];
      tasks = buildTasks(row.sessionId, prompts, records).filter((t) => t.requests.length > 0);
    } else {
      records = all;
      tasks = this.ledger.tasks(row.sessionId);
    }
    const totals = emptyTotals();
    for (const r of records) applyRecord(totals, r, 1);
    const hasPrompts = tasks.some((t) => t.prompt);
    const subagents = new Set<string>();
    if (row.subagentId === undefined) for (const r of records) if (r.subagentId !== undefined) subagents.add(r.subagentId);
    const file = row.subagentId !== undefined ? records[0]?.file ?? info.file : info.file;
    const detail: SessionDetail = {
      rowId,
      sessionId: row.sessionId,
      agent: row.agent,
      project: row.project,
      file: clip(file, LIMITS.path),
      ...aggOf(totals),
      subagents: subagents.size,
      tasks: tasks.map((t) => taskView(t, hasPrompts, expandedTasks.has(t.id), EDIT_TRACKING_AGENTS.has(info.agent))),
    };
    if (row.subagentId !== undefined) detail.subagentId = row.subagentId;
    if (row.branch) detail.branch = row.branch;
    const check = costCheckOf(totals);
    if (check) detail.costCheck = check;
    return detail;
  }

  /** The log file of a row (what "reveal in editor" opens). */
  fileOf(rowId: string): string | undefined {
    const row = this.rows.get(rowId);
    if (!row) return undefined;
    if (row.subagentId !== undefined) {
      const sub = subagentOf(row);
      const r = this.ledger.sessionRequests(row.sessionId).find((x) => x.subagentId === sub);
      if (r) return r.file;
    }
    return this.ledger.session(row.sessionId)?.file;
  }
}

/** The subagent id as logged (the row's may be clipped for display; its row id never is). */
function subagentOf(row: SessionRow): string {
  return row.id.slice(row.sessionId.length + SUBAGENT_SEPARATOR.length);
}

function splitCellKey(key: string): [string, string, string] {
  const a = key.indexOf('\u0000');
  const b = key.indexOf('\u0000', a + 1);
  return [key.slice(0, a), key.slice(a + 1, b), key.slice(b + 1)];
}

function modelsByUse(models: ReadonlyMap<string, number>): string[] {
  return [...models].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 200).map(([m]) => clip(m, LIMITS.model));
}

/** Agents whose edit tool calls are read: for the others, files touched are unknown (not 0). */
const EDIT_TRACKING_AGENTS: ReadonlySet<string> = new Set(['claude-code', 'codex']);

function taskView(t: Task, sessionHasPrompts: boolean, expanded: boolean, editsKnown: boolean): TaskView {
  const agg = aggOf(t.totals);
  if (t.requests.length === 0) {
    agg.start = t.start;
    agg.end = t.end;
  } else if (t.prompt) {
    agg.start = Math.min(t.start, agg.start); // from the prompt, not the first response
  }
  const view: TaskView = {
    id: t.id,
    title: clip(t.title, LIMITS.title),
    beforeFirstPrompt: !t.prompt && sessionHasPrompts,
    ...agg,
    models: t.models.slice(0, 200).map((m) => clip(m, LIMITS.model)),
    filesTouched: editsKnown ? t.filesTouched : null,
  };
  if (expanded) {
    const list = t.requests.length > REQUESTS_PER_TASK ? t.requests.slice(-REQUESTS_PER_TASK) : t.requests;
    view.requestList = list.map(requestView);
    if (t.requests.length > list.length) view.requestsOmitted = t.requests.length - list.length;
  }
  return view;
}

export function requestView(r: RequestRecord): RequestView {
  const k = r.tokens;
  const v: RequestView = {
    timestamp: r.timestamp,
    model: clip(r.model ?? UNKNOWN_MODEL, LIMITS.model),
    inputTokens: k.input,
    outputTokens: k.output,
    cacheWriteTokens: k.cacheWrite5m + k.cacheWrite1h,
    cacheReadTokens: k.cacheRead,
    reasoningTokens: k.reasoning,
    spendNanos: spendNanosOf(r),
    basis: r.loggedCostUSD !== undefined ? 'logged' : r.costNanos !== null ? 'estimated' : 'none',
  };
  if (r.subagentId !== undefined) v.subagentId = clip(r.subagentId, LIMITS.label);
  return v;
}

// ---------------------------------------------------------------- both sides: tree, filter, sort

export interface TreeNode {
  row: SessionRow;
  children: TreeNode[];
  /** Own figures plus every descendant's. */
  combined: Agg;
  /** Day span of the subtree. */
  firstDay: string;
  lastDay: string;
  /** Models of the subtree, own first. */
  models: string[];
}

/** Nests rows under their parents (subagents under their session, child sessions under theirs); orphans become roots. */
export function buildForest(rows: Iterable<SessionRow>): TreeNode[] {
  const nodes = new Map<string, TreeNode>();
  for (const row of rows) nodes.set(row.id, { row, children: [], combined: emptyAgg(), firstDay: row.firstDay, lastDay: row.lastDay, models: row.models });
  const roots: TreeNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.row.parentId !== undefined ? nodes.get(node.row.parentId) : undefined;
    if (parent && !createsCycle(node, parent, nodes)) parent.children.push(node);
    else roots.push(node);
  }
  const finish = (n: TreeNode): void => {
    n.combined = pickAgg(n.row);
    if (n.children.length === 0) return;
    const models = new Set(n.row.models);
    n.children.sort((a, b) => a.row.start - b.row.start || (a.row.id < b.row.id ? -1 : 1));
    for (const c of n.children) {
      finish(c);
      addAgg(n.combined, c.combined);
      if (c.firstDay < n.firstDay) n.firstDay = c.firstDay;
      if (c.lastDay > n.lastDay) n.lastDay = c.lastDay;
      for (const m of c.models) models.add(m);
    }
    n.models = [...models];
  };
  for (const r of roots) finish(r);
  return roots;
}

function createsCycle(node: TreeNode, parent: TreeNode, nodes: Map<string, TreeNode>): boolean {
  let p: TreeNode | undefined = parent;
  for (let depth = 0; p && depth < 64; depth++) {
    if (p === node) return true;
    p = p.row.parentId !== undefined ? nodes.get(p.row.parentId) : undefined;
  }
  return p !== undefined; // deeper than 64: treat as a cycle
}

export interface ViewFilter {
  /** Inclusive local day keys; undefined: open. */
  from?: string;
  to?: string;
  agent?: string;
  project?: string;
  text?: string;
}

function nodeMatches(n: TreeNode, f: ViewFilter, needle: string): boolean {
  const r = n.row;
  if (f.agent && r.agent !== f.agent) return false;
  if (f.project && r.project !== f.project) return false;
  if (f.from && r.lastDay < f.from) return false;
  if (f.to && r.firstDay > f.to) return false;
  if (needle) {
    const hay = [r.project, r.branch ?? '', r.agent, r.sessionId, r.subagentId ?? '', ...r.models].join('\n').toLowerCase();
    if (!hay.includes(needle)) return false;
  }
  return true;
}

function treeMatches(n: TreeNode, f: ViewFilter, needle: string): boolean {
  return nodeMatches(n, f, needle) || n.children.some((c) => treeMatches(c, f, needle));
}

const BASIS_ORDER: Record<CostBasis, number> = { billed: 0, logged: 1, mixed: 2, estimated: 3, none: 4 };

export function sortValue(n: TreeNode, key: SortKey): number | string {
  const c = n.combined;
  switch (key) {
    case 'project': return n.row.subagentId ?? folderOf(n.row.project).toLowerCase();
    case 'agent': return n.row.agent;
    case 'branch': return (n.row.branch ?? '').toLowerCase();
    case 'start': return c.start;
    case 'duration': return c.end - c.start;
    case 'models': return (n.models[0] ?? '').toLowerCase();
    case 'requests': return c.requests;
    case 'input': return c.inputTokens;
    case 'output': return c.outputTokens;
    case 'cacheWrite': return c.cacheWriteTokens;
    case 'cacheRead': return c.cacheReadTokens;
    case 'cost': return c.spendNanos;
    case 'basis': return BASIS_ORDER[basisOf(c)];
    // unknown (null) sorts below every known figure
    case 'lines': return n.row.linesAdded === null ? -1 : n.row.linesAdded + (n.row.linesRemoved ?? 0);
    case 'files': return n.row.filesTouched ?? -1;
    case 'commits': return n.row.commits ?? -1;
    case 'costPer100Lines': return n.row.costPer100Lines ?? -1;
  }
}

export function compareNodes(key: SortKey, dir: 'asc' | 'desc'): (a: TreeNode, b: TreeNode) => number {
  const sign = dir === 'asc' ? 1 : -1;
  return (a, b) => {
    const va = sortValue(a, key);
    const vb = sortValue(b, key);
    if (va !== vb) return (va < vb ? -1 : 1) * sign;
    // ties: most recent first, then by id (stable across updates)
    if (a.combined.start !== b.combined.start) return b.combined.start - a.combined.start;
    return a.row.id < b.row.id ? -1 : a.row.id > b.row.id ? 1 : 0;
  };
}

export interface FlatRow {
  node: TreeNode;
  depth: number;
  hasChildren: boolean;
  expanded: boolean;
  /** Position among its siblings (1-based) and their count, for aria-posinset/setsize. */
  pos: number;
  siblings: number;
}

/**
 * The rows as shown: trees with any matching row, sorted (children under their parent,
 * sorted the same way), flattened through the expanded rows (`'all'`: every row).
 */
export function flattenView(
  forest: readonly TreeNode[],
  filter: ViewFilter,
  sort: { key: SortKey; dir: 'asc' | 'desc' },
  expanded: ReadonlySet<string> | 'all',
): FlatRow[] {
  const needle = (filter.text ?? '').trim().toLowerCase();
  const cmp = compareNodes(sort.key, sort.dir);
  const roots = forest.filter((n) => treeMatches(n, filter, needle)).sort(cmp);
  const out: FlatRow[] = [];
  const walk = (nodes: TreeNode[], depth: number): void => {
    nodes.forEach((node, i) => {
      const open = node.children.length > 0 && (expanded === 'all' || expanded.has(node.row.id));
      out.push({ node, depth, hasChildren: node.children.length > 0, expanded: open, pos: i + 1, siblings: nodes.length });
      if (open) walk([...node.children].sort(cmp), depth + 1);
    });
  };
  walk(roots, 0);
  return out;
}

/** Sum of the roots' combined figures (each request once). */
export function sumRoots(rows: readonly FlatRow[]): Agg {
  const a = emptyAgg();
  for (const r of rows) if (r.depth === 0) addAgg(a, r.node.combined);
  return a;
}

export function folderOf(p: string): string {
  const parts = p.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? p;
}

// ---------------------------------------------------------------- days, ranges, overview, timeline

export function addDays(day: string, n: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d + n));
  return `${t.getUTCFullYear()}-${String(t.getUTCMonth() + 1).padStart(2, '0')}-${String(t.getUTCDate()).padStart(2, '0')}`;
}

/** Every day from `from` to `to`, inclusive (at most `max`, the most recent ones). */
export function daysBetween(from: string, to: string, max = 3_700): string[] {
  if (from > to) return [];
  const out: string[] = [];
  for (let d = to; d >= from && out.length < max; d = addDays(d, -1)) out.push(d);
  return out.reverse();
}

/** The inclusive day range of a preset; `all` starts at the first day with spend. */
export function resolveRange(range: ViewState['range'], keys: DayKeys, firstDay?: string): { from: string; to: string } {
  const today = keys.today;
  switch (range.preset) {
    case 'today': return { from: today, to: today };
    case 'week': return { from: keys.weekStart, to: today };
    case 'month': return { from: keys.monthStart, to: today };
    case '7d': return { from: addDays(today, -6), to: today };
    case '30d': return { from: addDays(today, -29), to: today };
    case '90d': return { from: addDays(today, -89), to: today };
    case 'all': return { from: firstDay && firstDay < today ? firstDay : today, to: firstDay && firstDay > today ? firstDay : today };
    case 'custom': {
      const from = range.from ?? firstDay ?? today;
      const to = range.to ?? today;
      return from <= to ? { from, to } : { from: to, to: from };
    }
  }
}

export function viewFilterOf(state: Pick<ViewState, 'range' | 'agent' | 'project' | 'text'>, keys: DayKeys, firstDay?: string): ViewFilter {
  const f: ViewFilter = { agent: state.agent, project: state.project, text: state.text };
  if (state.range.preset !== 'all') Object.assign(f, resolveRange(state.range, keys, firstDay));
  return f;
}

export interface PeriodSum {
  spendNanos: number;
  requests: number;
  unpricedRequests: number;
  tokens: number;
}

function emptyPeriod(): PeriodSum {
  return { spendNanos: 0, requests: 0, unpricedRequests: 0, tokens: 0 };
}

/** Spend, requests and tokens of the days in [from, to]. */
export function sumDays(days: Iterable<DayEntry>, from: string, to: string): PeriodSum {
  const s = emptyPeriod();
  for (const d of days) {
    if (d.day < from || d.day > to) continue;
    for (const c of d.agents) {
      s.spendNanos += c.spendNanos;
      s.requests += c.requests;
      s.unpricedRequests += c.unpricedRequests;
      s.tokens += c.tokens;
    }
  }
  return s;
}

/** Spend by agent or model over [from, to], largest first. */
export function breakdown(days: Iterable<DayEntry>, from: string, to: string, by: 'agent' | 'model'): Cell[] {
  const m = new Map<string, Cell>();
  for (const d of days) {
    if (d.day < from || d.day > to) continue;
    for (const c of by === 'agent' ? d.agents : d.models) {
      let e = m.get(c.key);
      if (!e) m.set(c.key, (e = { key: c.key, spendNanos: 0, requests: 0, unpricedRequests: 0, tokens: 0 }));
      e.spendNanos += c.spendNanos;
      e.requests += c.requests;
      e.unpricedRequests += c.unpricedRequests;
      e.tokens += c.tokens;
    }
  }
  return [...m.values()].sort((a, b) => b.spendNanos - a.spendNanos || b.requests - a.requests || (a.key < b.key ? -1 : 1));
}

export interface Timeline {
  days: string[];
  /** One series per agent/model (the largest `max`, then "(other)"), nano-USD per day. */
  series: Array<{ key: string; values: number[] }>;
  totals: number[];
}

/** Daily spend over [from, to], stacked by agent or model. */
export function timeline(days: ReadonlyMap<string, DayEntry>, from: string, to: string, by: 'agent' | 'model', max = TIMELINE_SERIES): Timeline {
  const dayList = daysBetween(from, to);
  const ranked = breakdown(dayList.map((d) => days.get(d)).filter((d): d is DayEntry => d !== undefined), from, to, by);
  const keep = ranked.length > max ? ranked.slice(0, max - 1) : ranked;
  const index = new Map(keep.map((c, i) => [c.key, i]));
  const series = keep.map((c) => ({ key: c.key, values: new Array<number>(dayList.length).fill(0) }));
  const other = ranked.length > keep.length ? { key: OTHER_SERIES, values: new Array<number>(dayList.length).fill(0) } : undefined;
  const totals = new Array<number>(dayList.length).fill(0);
  dayList.forEach((day, i) => {
    const d = days.get(day);
    if (!d) return;
    for (const c of by === 'agent' ? d.agents : d.models) {
      const s = index.get(c.key);
      if (s !== undefined) series[s]!.values[i]! += c.spendNanos;
      else if (other) other.values[i]! += c.spendNanos;
      totals[i]! += c.spendNanos;
    }
  });
  if (other) series.push(other);
  return { days: dayList, series, totals };
}

// ---------------------------------------------------------------- export

export interface ExportRow {
  sessionId: string;
  subagentId?: string;
  parentId?: string;
  agent: string;
  project: string;
  branch?: string;
  start: string;
  end: string;
  durationSeconds: number;
  models: string[];
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cacheWriteTokens: number;
  cacheReadTokens: number;
  reasoningTokens: number;
  /** This row's own spend (USD); `combinedCostUSD` adds its subagents/child sessions. */
  costUSD: number;
  combinedCostUSD: number;
  basis: CostBasis;
  estimatedUSD: number;
  loggedUSD: number;
  unpricedRequests: number;
}

const usd = (nanos: number): number => nanos / 1e9;
/** Exact to the nano-dollar, at least two decimals: 0.50, 0.000001405. */
export function usdText(v: number): string {
  return v.toFixed(9).replace(/0{1,7}$/, '');
}
const iso = (ms: number): string => (ms > 0 ? new Date(ms).toISOString() : '');

export function exportRows(rows: readonly FlatRow[]): ExportRow[] {
  return rows.map(({ node }) => {
    const r = node.row;
    const e: ExportRow = {
      sessionId: r.sessionId,
      agent: r.agent,
      project: r.project,
      start: iso(r.start),
      end: iso(r.end),
      durationSeconds: Math.max(0, Math.round((r.end - r.start) / 1000)),
      models: r.models,
      requests: r.requests,
      inputTokens: r.inputTokens,
      outputTokens: r.outputTokens,
      cacheWriteTokens: r.cacheWriteTokens,
      cacheReadTokens: r.cacheReadTokens,
      reasoningTokens: r.reasoningTokens,
      costUSD: usd(r.spendNanos),
      combinedCostUSD: usd(node.combined.spendNanos),
      basis: basisOf(r),
      estimatedUSD: usd(r.costNanos),
      loggedUSD: usd(r.loggedCostNanos),
      unpricedRequests: r.unpricedRequests,
    };
    if (r.subagentId !== undefined) e.subagentId = r.subagentId;
    if (r.parentId !== undefined) e.parentId = r.parentId;
    if (r.branch !== undefined) e.branch = r.branch;
    return e;
  });
}

const CSV_COLUMNS: Array<[string, (e: ExportRow) => string | number]> = [
  ['session_id', (e) => e.sessionId],
  ['subagent_id', (e) => e.subagentId ?? ''],
  ['parent_id', (e) => e.parentId ?? ''],
  ['agent', (e) => e.agent],
  ['project', (e) => e.project],
  ['branch', (e) => e.branch ?? ''],
  ['start', (e) => e.start],
  ['end', (e) => e.end],
  ['duration_s', (e) => e.durationSeconds],
  ['models', (e) => e.models.join(' ')],
  ['requests', (e) => e.requests],
  ['input_tokens', (e) => e.inputTokens],
  ['output_tokens', (e) => e.outputTokens],
  ['cache_write_tokens', (e) => e.cacheWriteTokens],
  ['cache_read_tokens', (e) => e.cacheReadTokens],
  ['reasoning_tokens', (e) => e.reasoningTokens],
  ['cost_usd', (e) => usdText(e.costUSD)],
  ['combined_cost_usd', (e) => usdText(e.combinedCostUSD)],
  ['cost_basis', (e) => e.basis],
  ['estimated_usd', (e) => usdText(e.estimatedUSD)],
  ['logged_usd', (e) => usdText(e.loggedUSD)],
  ['unpriced_requests', (e) => e.unpricedRequests],
];

/**
 * One CSV field (RFC 4180 quoting). Text that a spreadsheet would run as a formula
 * (`=`, `+`, `-`, `@`, tab, CR first) gets a leading `'`: log-derived strings are untrusted.
 */
export function csvField(v: string | number): string {
  if (typeof v === 'number') return String(v);
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function toCsv(rows: readonly ExportRow[]): string {
  const lines = [CSV_COLUMNS.map(([name]) => name).join(',')];
  for (const e of rows) lines.push(CSV_COLUMNS.map(([, get]) => csvField(get(e))).join(','));
  return lines.join('\r\n') + '\r\n';
}

export interface ExportView {
  generatedAt: string;
  view: {
    from?: string;
    to?: string;
    range: RangePreset;
    agent: string;
    project: string;
    text: string;
    sort: { key: SortKey; dir: 'asc' | 'desc' };
  };
  totals: { spendUSD: number; requests: number; unpricedRequests: number; sessions: number };
  byAgent: Array<{ agent: string; spendUSD: number; requests: number; unpricedRequests: number }>;
  byModel: Array<{ model: string; spendUSD: number; requests: number; unpricedRequests: number }>;
  sessions: ExportRow[];
}

/**
 * The current view as CSV (its sessions, subagent rows included) or JSON (the same
 * sessions plus the view's filters and the range's spend by agent and by model).
 */
export function exportView(
  rows: Iterable<SessionRow>,
  days: readonly DayEntry[],
  state: ViewState,
  keys: DayKeys,
  format: 'csv' | 'json',
  now: number,
): { text: string; sessions: number } {
  const forest = buildForest(rows);
  const firstDay = days.length ? days.reduce((m, d) => (d.day < m ? d.day : m), days[0]!.day) : undefined;
  const filter = viewFilterOf(state, keys, firstDay);
  const flat = flattenView(forest, filter, state.sort, 'all');
  const out = exportRows(flat);
  if (format === 'csv') return { text: toCsv(out), sessions: out.length };
  const range = resolveRange(state.range, keys, firstDay);
  const total = sumRoots(flat);
  const cells = (by: 'agent' | 'model') => breakdown(days, range.from, range.to, by);
  const view: ExportView = {
    generatedAt: new Date(now).toISOString(),
    view: { range: state.range.preset, agent: state.agent, project: state.project, text: state.text, sort: state.sort },
    totals: { spendUSD: usd(total.spendNanos), requests: total.requests, unpricedRequests: total.unpricedRequests, sessions: flat.filter((r) => r.depth === 0).length },
    byAgent: cells('agent').map((c) => ({ agent: c.key, spendUSD: usd(c.spendNanos), requests: c.requests, unpricedRequests: c.unpricedRequests })),
    byModel: cells('model').map((c) => ({ model: c.key, spendUSD: usd(c.spendNanos), requests: c.requests, unpricedRequests: c.unpricedRequests })),
    sessions: out,
  };
  if (filter.from) view.view.from = filter.from;
  if (filter.to) view.view.to = filter.to;
  return { text: JSON.stringify(view, null, 2) + '\n', sessions: out.length };
}

/** Day keys for "today", the week (from Monday) and the month, in the local time zone. */
export function dayKeysAt(now: number, weekStartsOn = 1, dayKey: (ts: number) => string = localDayKey): DayKeys {
  const d = new Date(now);
  const back = (d.getDay() - weekStartsOn + 7) % 7;
  const today = dayKey(now);
  return { today, weekStart: dayKey(new Date(d.getFullYear(), d.getMonth(), d.getDate() - back, 12).getTime()), monthStart: `${today.slice(0, 7)}-01` };
}

