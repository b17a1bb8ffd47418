/**
 * The ledger: every request once, priced, with running totals per group.
 *
 * Copies of one request (same key) are merged: token counts come from the copy
 * with the largest output (the final streamed usage), attribution (session,
 * time, file) from the earliest copy (the session that made the request).
 * Totals are kept incrementally — a merge subtracts the old record and adds the
 * new one — and costs are integer nano-dollars, so adding and subtracting never
 * drifts and totals are exact to the cent.
 */
import { isEdit, isLimits, isPrompt, type AgentId, type EditEvent, type SourceEvent, type TokenCounts, type UsageEvent } from './events';
import type { EditRecord } from './output';
import type { LimitsSnapshot } from './limits';
import { buildTasks, isHumanPrompt, type PromptRecord, type Task } from './tasks';
import type { Pricer } from './pricing';
import type { Rollup } from './rollup';

/** What the ledger needs of pricing (the Pricer class, or a stand-in in tests). */
export type PriceRequest = Pick<Pricer, 'priceNanos'>;

export const GROUP_BYS = ['day', 'session', 'project', 'model', 'agent', 'branch'] as const;
export type GroupBy = (typeof GROUP_BYS)[number];

export interface Totals {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  /** 5-minute plus 1-hour cache writes. */
  cacheCreationTokens: number;
  cacheCreation1hTokens: number;
  cacheReadTokens: number;
  reasoningTokens: number;
  /**
   * What the requests cost, in nano-USD (integer): the cost the agent logged where it
   * logged one, else the estimate from tokens × list prices. The headline figure.
   */
  spendNanos: number;
  /** Requests with neither a logged cost nor a price for their model: counted, never $0. */
  unpricedRequests: number;
  /** Estimated cost (tokens × prices) of the requests whose model has a price. */
  costNanos: number;
  /** Requests whose model has no price (some may still have a logged cost). */
  estimateUnpricedRequests: number;
  /** Cost the agents logged themselves (nano-USD), and how many requests had one. */
  loggedCostNanos: number;
  loggedRequests: number;
  /** For the requests with both a logged cost and an estimate: the estimate (to compare with what was logged). */
  estimateOfLoggedNanos: number;
  loggedOfEstimatedNanos: number;
  firstTimestamp: number;
  lastTimestamp: number;
}

export interface RequestRecord {
  key: string;
  agent: AgentId;
  sessionId: string;
  parentSessionId?: string;
  subagentId?: string;
  project: string;
  branch?: string;
  model: string | null;
  timestamp: number;
  tokens: TokenCounts;
  /** Estimated cost in nano-USD; null when unpriced. */
  costNanos: number | null;
  loggedCostUSD?: number;
  file: string;
  sidechain?: boolean;
}

export type AddResult = 'added' | 'merged' | 'unchanged';

/** Requests kept as columns (the persistent index's), readable one at a time. */
export interface RequestRows {
  readonly length: number;
  key(i: number): string;
  record(i: number): UsageEvent;
  /** One reusable view moved from row to row (for one-pass readers). */
  cursor?(): { at(i: number): UsageEvent & { costNanos: number | null } };
  /** The row of a key, or -1 (an index lookup that decodes no other key). */
  findKey?(key: string): number;
}

/**
 * totals-only mode: requests restored from the index and untouched since, left as columns.
 * A warm CLI run that reads nothing new builds no lasting object for them; a request is
 * adopted into the map only when a new copy of it arrives.
 */
interface BaseRows {
  rows: RequestRows;
  /** Adopted (or removed) rows: no longer read from the columns. */
  gone: Uint8Array;
  alive: number;
  /** key → row, built on the first lookup (only when something new was read). */
  byKey?: Map<string, number>;
}

/** What is known of a session beyond its totals (which live in `group('session')`). */
export interface SessionInfo {
  sessionId: string;
  agent: AgentId;
  project: string;
  branch?: string;
  /** The log file of its first request (the transcript to open). */
  file: string;
  /** Requests per model. */
  models: Map<string, number>;
}

export function emptyTotals(): Totals {
  return {
    requests: 0, inputTokens: 0, outputTokens: 0, cacheCreationTokens: 0, cacheCreation1hTokens: 0,
    cacheReadTokens: 0, reasoningTokens: 0, spendNanos: 0, unpricedRequests: 0, costNanos: 0, estimateUnpricedRequests: 0,
    loggedCostNanos: 0, loggedRequests: 0, estimateOfLoggedNanos: 0, loggedOfEstimatedNanos: 0,
    firstTimestamp: Infinity, lastTimestamp: -Infinity,
  };
}

/** Adds (sign 1) or removes (sign -1) one record's contribution. First/last timestamps only widen. */
export function applyRecord(t: Totals, r: RequestRecord, sign: 1 | -1): void {
  const k = r.tokens;
  t.requests += sign;
  t.inputTokens += sign * k.input;
  t.outputTokens += sign * k.output;
  t.cacheCreationTokens += sign * (k.cacheWrite5m + k.cacheWrite1h);
  t.cacheCreation1hTokens += sign * k.cacheWrite1h;
  t.cacheReadTokens += sign * k.cacheRead;
  t.reasoningTokens += sign * k.reasoning;
  if (r.costNanos === null) t.estimateUnpricedRequests += sign;
  else t.costNanos += sign * r.costNanos;
  const logged = loggedNanos(r);
  if (logged !== undefined) {
    t.loggedCostNanos += sign * logged;
    t.loggedRequests += sign;
    if (r.costNanos !== null) {
      t.estimateOfLoggedNanos += sign * r.costNanos;
      t.loggedOfEstimatedNanos += sign * logged;
    }
  }
  // spendNanosOf(r), without computing the logged figure twice
  const spend = logged ?? r.costNanos;
  if (spend === null) t.unpricedRequests += sign;
  else t.spendNanos += sign * spend;
  if (sign > 0) {
    if (r.timestamp < t.firstTimestamp) t.firstTimestamp = r.timestamp;
    if (r.timestamp > t.lastTimestamp) t.lastTimestamp = r.timestamp;
  }
}

/** Adds totals `t` into `into` (both sums of requests). */
export function addTotals(into: Totals, t: Readonly<Totals>): void {
  into.requests += t.requests;
  into.inputTokens += t.inputTokens;
  into.outputTokens += t.outputTokens;
  into.cacheCreationTokens += t.cacheCreationTokens;
  into.cacheCreation1hTokens += t.cacheCreation1hTokens;
  into.cacheReadTokens += t.cacheReadTokens;
  into.reasoningTokens += t.reasoningTokens;
  into.spendNanos += t.spendNanos;
  into.unpricedRequests += t.unpricedRequests;
  into.costNanos += t.costNanos;
  into.estimateUnpricedRequests += t.estimateUnpricedRequests;
  into.loggedCostNanos += t.loggedCostNanos;
  into.loggedRequests += t.loggedRequests;
  into.estimateOfLoggedNanos += t.estimateOfLoggedNanos;
  into.loggedOfEstimatedNanos += t.loggedOfEstimatedNanos;
  if (t.firstTimestamp < into.firstTimestamp) into.firstTimestamp = t.firstTimestamp;
  if (t.lastTimestamp > into.lastTimestamp) into.lastTimestamp = t.lastTimestamp;
}

function loggedNanos(r: RequestRecord): number | undefined {
  return r.loggedCostUSD === undefined ? undefined : Math.round(r.loggedCostUSD * 1e9);
}

/** The cost shown for a request: logged by the agent if it was, else estimated; null when neither. */
export function spendNanosOf(r: RequestRecord): number | null {
  return loggedNanos(r) ?? r.costNanos;
}

/** How a figure was obtained, for labels: from prices, from the agents' own logs, or both mixed. */
export function costBasis(t: Totals): 'estimated' | 'logged' | 'mixed' | 'none' {
  const estimated = t.requests - t.loggedRequests - t.unpricedRequests;
  if (t.loggedRequests > 0) return estimated > 0 ? 'mixed' : 'logged';
  return estimated > 0 ? 'estimated' : 'none';
}

/** YYYY-MM-DD in the process's local time zone (TZ is respected). */
export function localDayKey(ts: number): string {
  const d = new Date(ts);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

export function groupKey(r: RequestRecord, by: GroupBy, dayKey: (ts: number) => string): string {
  switch (by) {
    case 'day': return dayKey(r.timestamp);
    case 'session': return r.sessionId;
    case 'project': return r.project || '(unknown)';
    case 'model': return r.model ?? '(unknown)';
    case 'agent': return r.agent;
    case 'branch': return r.branch ?? '(none)';
  }
}

/** Totals overall and per group key for a set of dimensions; supports removal for incremental merges. */
export class Aggregator {
  readonly totals = emptyTotals();
  private readonly groups = new Map<GroupBy, Map<string, Totals>>();

  constructor(readonly dims: readonly GroupBy[], private readonly dayKey: (ts: number) => string = localDayKey) {
    for (const d of dims) this.groups.set(d, new Map());
  }

  apply(r: RequestRecord, sign: 1 | -1): void {
    applyRecord(this.totals, r, sign);
    for (const [by, map] of this.groups) {
      const key = groupKey(r, by, this.dayKey);
      let t = map.get(key);
      if (!t) {
        if (sign < 0) continue;
        t = emptyTotals();
        map.set(key, t);
      }
      applyRecord(t, r, sign);
      if (t.requests === 0) map.delete(key);
    }
  }

  /** Adds totals already summed for one group of every dimension (a rollup cell), of the local day `day`. */
  addSummed(t: Totals, r: Omit<RequestRecord, 'key' | 'timestamp' | 'tokens' | 'costNanos' | 'file'>, day: string): void {
    addTotals(this.totals, t);
    for (const [by, map] of this.groups) {
      const key = by === 'day' ? day : groupKey(r as RequestRecord, by, this.dayKey);
      let g = map.get(key);
      if (!g) map.set(key, (g = emptyTotals()));
      addTotals(g, t);
    }
  }

  group(by: GroupBy): ReadonlyMap<string, Totals> {
    const map = this.groups.get(by);
    if (!map) throw new Error(`not grouped by ${by}`);
    return map;
  }
}

export class Ledger {
  private readonly records = new Map<string, RequestRecord>();
  private agg: Aggregator;
  /** Estimated cost per minute (epoch minute → nano-USD), for burn rates. */
  private readonly costPerMinute = new Map<number, number>();
  private readonly sessionInfo = new Map<string, SessionInfo>();
  /** Live mode: the request keys of each session, its prompts, and the sessions changed since the last drain. */
  private readonly sessionKeys = new Map<string, Set<string>>();
  /** Live mode: the request keys attributed to each file (for documents re-read as a whole). */
  private readonly fileKeys = new Map<string, Set<string>>();
  private readonly prompts = new Map<string, PromptRecord[]>();
  private readonly promptByKey = new Map<string, PromptRecord>();
  /** Edits of the agents' own tools, per session and by key (kept in every mode: the CLI's sources emit them only when asked). */
  private readonly edits = new Map<string, EditRecord[]>();
  private readonly editByKey = new Map<string, EditRecord>();
  private changed = new Set<string>();
  /** One copy of each session id, path, branch and model string (each parsed line brings its own). */
  private readonly strings = new Map<string, string>();
  private base: BaseRows | undefined;
  private rollup: Rollup | undefined;

  /**
   * `live`: keeps every grouping, session and per-minute figure up to date as requests
   * arrive (the extension's views). `totals-only`: dedup and overall totals only, for a
   * one-shot report that groups the records itself (the CLI).
   */
  constructor(
    private pricer: PriceRequest,
    private readonly dayKey: (ts: number) => string = localDayKey,
    private readonly mode: 'live' | 'totals-only' = 'live',
  ) {
    this.agg = this.newAggregator();
  }

  private newAggregator(): Aggregator {
    return new Aggregator(this.mode === 'live' ? GROUP_BYS : [], this.dayKey);
  }

  get size(): number {
    return this.records.size + (this.base?.alive ?? 0);
  }

  get totals(): Readonly<Totals> {
    if (!this.base || this.base.alive === 0) return this.agg.totals;
    const t = { ...this.agg.totals };
    for (const r of this.baseRecords()) applyRecord(t, r, 1);
    return t;
  }

  group(by: GroupBy): ReadonlyMap<string, Totals> {
    return this.agg.group(by);
  }

  allRecords(): IterableIterator<RequestRecord> {
    return this.base && this.base.alive > 0 ? this.recordsWithBase() : this.records.values();
  }

  private *recordsWithBase(): IterableIterator<RequestRecord> {
    yield* this.records.values();
    yield* this.baseRecords();
  }

  /**
   * Every request, for a reader that keeps no reference to them (totals, a report): rows
   * still in columns come through one reused object, valid until the next step.
   */
  *transientRecords(): IterableIterator<RequestRecord> {
    yield* this.records.values();
    const base = this.base;
    if (!base || base.alive === 0) return;
    if (!base.rows.cursor) {
      yield* this.baseRecords();
      return;
    }
    const cursor = base.rows.cursor();
    for (let i = 0; i < base.rows.length; i++) {
      if (base.gone[i]) continue;
      const rec = cursor.at(i);
      rec.costNanos = this.pricer.priceNanos(rec.model, rec.tokens);
      yield rec as RequestRecord;
    }
  }

  /** The base rows still in columns, each as a fresh priced record (short-lived: nothing keeps it). */
  private *baseRecords(): IterableIterator<RequestRecord> {
    const base = this.base;
    if (!base) return;
    for (let i = 0; i < base.rows.length; i++) {
      if (base.gone[i]) continue;
      const rec = base.rows.record(i) as RequestRecord;
      rec.costNanos = this.pricer.priceNanos(rec.model, rec.tokens);
      yield rec;
    }
  }

  /** Moves a base row into the map (a new copy of its request arrived). */
  private adoptBase(key: string): void {
    const base = this.base!;
    let i: number | undefined;
    if (base.rows.findKey) {
      i = base.rows.findKey(key);
    } else {
      if (!base.byKey) {
        base.byKey = new Map();
        for (let r = 0; r < base.rows.length; r++) if (!base.gone[r]) base.byKey.set(base.rows.key(r), r);
      }
      i = base.byKey.get(key);
    }
    if (i === undefined || i < 0 || base.gone[i]) return;
    base.gone[i] = 1;
    base.alive--;
    base.byKey?.delete(key);
    const rec = base.rows.record(i) as RequestRecord;
    if (this.rollup) {
      // The rollup counted the row; restore() below counts it again as a record.
      rec.costNanos = this.pricer.priceNanos(rec.model, rec.tokens);
      this.rollup.apply(rec, -1);
    }
    this.restore([rec]);
  }

  /**
   * From now on, keeps `rollup` in step with every change. It must already hold every request
   * restored so far (the index saves one with its rows; see core/rollup.ts).
   */
  trackRollup(rollup: Rollup): void {
    this.rollup = rollup;
  }

  /** The rollup being kept (trackRollup), if any. */
  trackedRollup(): Rollup | undefined {
    return this.rollup;
  }

  /**
   * For saving: the requests in the map, and the base rows still in columns (written by copying
   * them). Without a base, `base` is undefined and `records` are all the requests.
   */
  forSave(): { records: RequestRecord[]; base?: { columns: RequestRows; gone: Uint8Array } } {
    const records = [...this.records.values()];
    return this.base && this.base.alive > 0 ? { records, base: { columns: this.base.rows, gone: this.base.gone } } : { records };
  }

  /**
   * Restores the index's deduplicated requests. In totals-only mode they stay as columns
   * (see BaseRows); in live mode every view needs them as records.
   */
  restoreRows(rows: RequestRows, gone?: Uint8Array): void {
    if (this.mode === 'live' || this.base || this.records.size > 0) {
      const all: UsageEvent[] = [];
      for (let i = 0; i < rows.length; i++) if (!gone?.[i]) all.push(rows.record(i));
      this.restore(all);
      return;
    }
    let alive = rows.length;
    if (gone) for (let i = 0; i < rows.length; i++) alive -= gone[i] ? 1 : 0;
    this.base = { rows, gone: gone ? Uint8Array.from(gone) : new Uint8Array(rows.length), alive };
  }

  session(sessionId: string): SessionInfo | undefined {
    return this.sessionInfo.get(sessionId);
  }

  sessions(): IterableIterator<SessionInfo> {
    return this.sessionInfo.values();
  }

  /** Live mode: the sessions of the requests attributed to `file` (usually one). */
  sessionsOfFile(file: string): Set<string> {
    const out = new Set<string>();
    for (const k of this.fileKeys.get(file) ?? []) {
      const s = this.records.get(k)?.sessionId;
      if (s !== undefined) out.add(s);
    }
    return out;
  }

  get(key: string): RequestRecord | undefined {
    if (this.base && !this.records.has(key)) this.adoptBase(key);
    return this.records.get(key);
  }

  add(ev: UsageEvent): AddResult {
    if (this.base && this.base.alive > 0 && !this.records.has(ev.key)) this.adoptBase(ev.key);
    const existing = this.records.get(ev.key);
    if (!existing) {
      const rec = this.toRecord(ev, ev);
      this.records.set(ev.key, rec);
      this.apply(rec, 1);
      return 'added';
    }
    const tokensFromNew = hasMoreUsage(ev.tokens, existing.tokens);
    const attributionFromNew = isEarlier(ev, existing);
    if (!tokensFromNew && !attributionFromNew) return 'unchanged';
    const merged = this.toRecord(attributionFromNew ? ev : existing, tokensFromNew ? ev : existing);
    this.apply(existing, -1);
    this.records.set(ev.key, merged);
    this.apply(merged, 1);
    return 'merged';
  }

  /**
   * Adds deduplicated requests from the persistent index. Takes ownership of the objects
   * (they become the records, priced afresh) instead of copying them: a warm start adopts
   * tens of thousands at once.
   */
  restore(events: Iterable<UsageEvent>): void {
    for (const e of events) {
      if (this.records.has(e.key)) {
        this.add(e);
        continue;
      }
      const rec = e as RequestRecord;
      rec.sessionId = this.intern(rec.sessionId);
      rec.project = this.intern(rec.project);
      rec.file = this.intern(rec.file);
      if (rec.model !== null) rec.model = this.intern(rec.model);
      rec.costNanos = this.pricer.priceNanos(rec.model, rec.tokens);
      this.records.set(rec.key, rec);
      this.apply(rec, 1);
    }
  }

  /** The latest plan limits per agent (never usage; kept in every mode). */
  private readonly limitsByAgent = new Map<AgentId, LimitsSnapshot>();

  /** Keeps `s` if it is the agent's newest snapshot (by `observedAt`; a tie keeps the known one). */
  addLimits(s: LimitsSnapshot): boolean {
    const known = this.limitsByAgent.get(s.agent);
    if (known && known.observedAt >= s.observedAt) return false;
    this.limitsByAgent.set(s.agent, s);
    return true;
  }

  /** The latest limits snapshot of each agent that logged one. */
  latestLimits(): LimitsSnapshot[] {
    return [...this.limitsByAgent.values()];
  }

  /** Snapshots saved by the persistent index (the newest per agent wins, as in `addLimits`). */
  restoreLimits(snapshots: Iterable<LimitsSnapshot>): void {
    for (const s of snapshots) this.addLimits(s);
  }

  /** Adds usage, prompt, edit and limits events; returns how many changed the ledger. */
  addAll(events: Iterable<SourceEvent>): number {
    let changed = 0;
    for (const e of events) {
      if (isPrompt(e)) {
        if (this.addPrompt(e)) changed++;
      } else if (isEdit(e)) {
        if (this.addEdit(e)) changed++;
      } else if (isLimits(e)) {
        if (this.addLimits(e.snapshot)) changed++;
      } else if (this.add(e) !== 'unchanged') {
        changed++;
      }
    }
    return changed;
  }

  /**
   * A new reading of a whole document: requests attributed to `file` that are not in
   * `events` any more are removed, then `events` are added. Returns the number removed.
   */
  replaceFile(file: string, events: readonly SourceEvent[]): number {
    const fresh = new Set(events.map((e) => e.key));
    let removed = 0;
    for (const key of [...(this.fileKeys.get(file) ?? [])]) {
      if (fresh.has(key)) continue;
      const rec = this.records.get(key);
      if (!rec) continue;
      this.apply(rec, -1);
      this.records.delete(key);
      removed++;
    }
    this.addAll(events);
    return removed;
  }

  /**
   * Keeps a human prompt (a task start) once; of several copies, the earliest (a resumed
   * session replays its parent's prompts later). Command wrappers and empty texts are not tasks.
   */
  addPrompt(p: PromptRecord): boolean {
    if (this.mode !== 'live' || !isHumanPrompt(p.text)) return false;
    const known = this.promptByKey.get(p.key);
    if (known && (known.timestamp < p.timestamp || (known.timestamp === p.timestamp && known.file <= p.file))) return false;
    if (known) this.removePrompt(known);
    const rec: PromptRecord = { key: p.key, sessionId: this.intern(p.sessionId), timestamp: p.timestamp, text: p.text, file: this.intern(p.file) };
    this.promptByKey.set(rec.key, rec);
    const list = this.prompts.get(rec.sessionId);
    if (list) list.push(rec);
    else this.prompts.set(rec.sessionId, [rec]);
    this.changed.add(rec.sessionId);
    return true;
  }

  private removePrompt(p: PromptRecord): void {
    const list = this.prompts.get(p.sessionId);
    const i = list?.indexOf(p) ?? -1;
    if (list && i >= 0) list.splice(i, 1);
    this.changed.add(p.sessionId);
  }

  /**
   * Keeps an edit once per key; of several copies (a resumed session replays its parent's),
   * the earliest, like prompts. Returns whether the ledger changed.
   */
  addEdit(e: EditEvent | EditRecord): boolean {
    const known = this.editByKey.get(e.key);
    if (known && (known.timestamp < e.timestamp || (known.timestamp === e.timestamp && known.file <= e.file))) return false;
    if (known) {
      const list = this.edits.get(known.sessionId);
      const i = list?.indexOf(known) ?? -1;
      if (list && i >= 0) list.splice(i, 1);
      this.changed.add(known.sessionId);
    }
    const rec: EditRecord = {
      key: e.key, sessionId: this.intern(e.sessionId), timestamp: e.timestamp, file: this.intern(e.file), path: this.intern(e.path),
      linesAdded: e.linesAdded, linesRemoved: e.linesRemoved, exact: e.exact,
    };
    if (e.failed) rec.failed = true;
    this.editByKey.set(rec.key, rec);
    const list = this.edits.get(rec.sessionId);
    if (list) list.push(rec);
    else this.edits.set(rec.sessionId, [rec]);
    this.changed.add(rec.sessionId);
    return true;
  }

  /** The session's edits (failed ones included, marked), in arrival order. */
  sessionEdits(sessionId: string): readonly EditRecord[] {
    return this.edits.get(sessionId) ?? [];
  }

  allEdits(): IterableIterator<EditRecord> {
    return this.editByKey.values();
  }

  allPrompts(): IterableIterator<PromptRecord> {
    return this.promptByKey.values();
  }

  /** The session's requests (live mode). */
  sessionRequests(sessionId: string): RequestRecord[] {
    const keys = this.sessionKeys.get(sessionId);
    return keys ? [...keys].map((k) => this.records.get(k)!) : [];
  }

  /** The session's tasks: each prompt with the requests until the next one. */
  tasks(sessionId: string): Task[] {
    return buildTasks(sessionId, this.prompts.get(sessionId) ?? [], this.sessionRequests(sessionId), this.edits.get(sessionId) ?? []);
  }

  /** Sessions whose requests or prompts changed since the last call (for incremental view updates). */
  drainChangedSessions(): Set<string> {
    const out = this.changed;
    this.changed = new Set();
    return out;
  }

  /** Re-prices every request (after the user changed price overrides). */
  reprice(pricer: PriceRequest): void {
    this.pricer = pricer;
    this.agg = this.newAggregator();
    this.rollup = undefined; // its figures are of the old prices
    this.costPerMinute.clear();
    this.sessionInfo.clear();
    this.sessionKeys.clear();
    this.fileKeys.clear();
    for (const [key, r] of this.records) {
      const repriced = { ...r, costNanos: pricer.priceNanos(r.model, r.tokens) };
      this.records.set(key, repriced);
      this.apply(repriced, 1);
    }
  }

  /** Spend (nano-USD) of requests in [fromMs, toMs), at minute resolution. */
  costBetween(fromMs: number, toMs: number): number {
    let sum = 0;
    const first = Math.floor(fromMs / 60_000);
    const last = Math.ceil(toMs / 60_000);
    if (last - first < this.costPerMinute.size) {
      for (let m = first; m < last; m++) sum += this.costPerMinute.get(m) ?? 0;
    } else {
      for (const [m, c] of this.costPerMinute) if (m >= first && m < last) sum += c;
    }
    return sum;
  }

  private apply(r: RequestRecord, sign: 1 | -1): void {
    this.agg.apply(r, sign);
    this.rollup?.apply(r, sign);
    if (this.mode !== 'live') return;
    this.applySession(r, sign);
    const spend = spendNanosOf(r);
    if (spend) {
      const minute = Math.floor(r.timestamp / 60_000);
      const next = (this.costPerMinute.get(minute) ?? 0) + sign * spend;
      if (next === 0) this.costPerMinute.delete(minute);
      else this.costPerMinute.set(minute, next);
    }
  }

  private intern(s: string): string {
    const known = this.strings.get(s);
    if (known !== undefined) return known;
    this.strings.set(s, s);
    return s;
  }

  private applySession(r: RequestRecord, sign: 1 | -1): void {
    this.changed.add(r.sessionId);
    let byFile = this.fileKeys.get(r.file);
    if (sign > 0) {
      if (!byFile) this.fileKeys.set(r.file, (byFile = new Set()));
      byFile.add(r.key);
    } else if (byFile) {
      byFile.delete(r.key);
      if (byFile.size === 0) this.fileKeys.delete(r.file);
    }
    let keys = this.sessionKeys.get(r.sessionId);
    if (sign > 0) {
      if (!keys) this.sessionKeys.set(r.sessionId, (keys = new Set()));
      keys.add(r.key);
    } else if (keys) {
      keys.delete(r.key);
      if (keys.size === 0) this.sessionKeys.delete(r.sessionId);
    }
    let info = this.sessionInfo.get(r.sessionId);
    if (!info) {
      if (sign < 0) return;
      info = { sessionId: r.sessionId, agent: r.agent, project: r.project, file: r.file, models: new Map() };
      if (r.branch) info.branch = r.branch;
      this.sessionInfo.set(r.sessionId, info);
    } else if (sign > 0) {
      // Prefer the main transcript over a subagent file as "the" session file.
      if (info.file !== r.file && !r.sidechain && !r.subagentId) info.file = r.file;
      if (!info.project && r.project) info.project = r.project;
      if (r.branch) info.branch = r.branch;
    }
    const model = r.model ?? '(unknown)';
    const n = (info.models.get(model) ?? 0) + sign;
    if (n > 0) info.models.set(model, n);
    else info.models.delete(model);
    if (info.models.size === 0) this.sessionInfo.delete(r.sessionId);
  }

  private toRecord(attr: UsageEvent | RequestRecord, usage: UsageEvent | RequestRecord): RequestRecord {
    const model = usage.model ?? attr.model;
    const rec: RequestRecord = {
      key: attr.key,
      agent: attr.agent,
      sessionId: this.intern(attr.sessionId),
      project: this.intern(attr.project),
      model: model === null ? null : this.intern(model),
      timestamp: attr.timestamp,
      tokens: usage.tokens,
      costNanos: this.pricer.priceNanos(model, usage.tokens),
      file: this.intern(attr.file),
    };
    if (attr.parentSessionId !== undefined) rec.parentSessionId = this.intern(attr.parentSessionId);
    if (attr.subagentId !== undefined) rec.subagentId = this.intern(attr.subagentId);
    if (attr.branch !== undefined) rec.branch = this.intern(attr.branch);
    if (attr.sidechain) rec.sidechain = true;
    const logged = usage.loggedCostUSD ?? attr.loggedCostUSD;
    if (logged !== undefined) rec.loggedCostUSD = logged;
    return rec;
  }
}

/** The final streamed copy has the largest output; on equal output, more tokens overall. */
function hasMoreUsage(a: TokenCounts, b: TokenCounts): boolean {
  if (a.output !== b.output) return a.output > b.output;
  return totalTokens(a) > totalTokens(b);
}

function totalTokens(t: TokenCounts): number {
  return t.input + t.output + t.cacheWrite5m + t.cacheWrite1h + t.cacheRead;
}

/** Earliest copy wins attribution; ties go to the main session's copy, then to the file path (deterministic). */
function isEarlier(a: UsageEvent | RequestRecord, b: UsageEvent | RequestRecord): boolean {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp;
  const sa = a.sidechain ? 1 : 0;
  const sb = b.sidechain ? 1 : 0;
  if (sa !== sb) return sa < sb;
  return a.file < b.file;
}
