/**
 * Requests summed per agent, session, folder, branch, model and local day: what a report adds up
 * instead of every request. The persistent index keeps one beside its rows, so a warm
 * `agent-spend report` reads a few hundred cells, not tens of thousands of requests.
 *
 * A rollup holds figures of the prices and the time zone it was built with. It records both (each
 * model's rates, each day's bounds), and `Rollup.restore` refuses one whose prices or days no
 * longer hold, so a report never shows a figure the rows would not give.
 */
import { AGENT_IDS, type AgentId } from './events';
import { addTotals, applyRecord, emptyTotals, localDayKey, type RequestRecord, type Totals } from './ledger';

export interface RollupCell {
  readonly agent: AgentId;
  readonly sessionId: string;
  readonly project: string;
  readonly branch: string | undefined;
  readonly model: string | null;
  /** Local day, YYYY-MM-DD. */
  readonly day: string;
  readonly totals: Totals;
}

/** What the index stores of a rollup. */
export interface RollupData {
  cells: RollupCell[];
  /** Each day of a cell: [day, local midnight, next local midnight] in the time zone it was built in. */
  days: Array<[day: string, start: number, end: number]>;
  /** Each model of a cell with its rates (Pricer.rateKey; null: unpriced). */
  prices: Array<[model: string | null, rates: string | null]>;
}

/** The rates a model is charged at, as a comparable string (null: unpriced). */
export type RateKeyOf = (model: string | null) => string | null;

export class Rollup {
  /** By cellKey; built on the first change (a warm report only reads `restored`). */
  private byKey: Map<string, RollupCell> | undefined;
  /** The cells as restored, until the first change. */
  private restored: RollupCell[] = [];
  private readonly days = new LocalDays();
  private readonly prices = new Map<string | null, string | null>();
  /** Set when a removal finds no cell to take it from: the figures are no longer exact. */
  private broken = false;
  /** The latest request time in any cell (a report skips the rollup when it lies in the future). */
  private latest = -Infinity;

  constructor(private readonly rateKeyOf: RateKeyOf) {}

  /** A rollup of these requests. */
  static build(records: Iterable<RequestRecord>, rateKeyOf: RateKeyOf): Rollup {
    const r = new Rollup(rateKeyOf);
    for (const rec of records) r.apply(rec, 1);
    return r;
  }

  /**
   * A stored rollup, if its figures still hold: every model at the rates it was summed at and every
   * day with the bounds it had. Otherwise the reason it does not (the caller falls back to the rows).
   * Takes `data.cells` over: they become the rollup's, changed in place by later `apply` calls.
   */
  static restore(data: RollupData, rateKeyOf: RateKeyOf): Rollup | string {
    const r = new Rollup(rateKeyOf);
    for (const [model, rates] of data.prices) {
      if (rateKeyOf(model) !== rates) return `prices of ${model ?? '(unknown model)'} changed`;
      r.prices.set(model, rates);
    }
    for (const [day, start, end] of data.days) {
      if (!r.days.holds(day, start, end)) return `day ${day} has other bounds in this time zone`;
    }
    for (const c of data.cells) {
      if (!r.prices.has(c.model)) return `no rates recorded for ${c.model ?? '(unknown model)'}`;
      if (!r.days.has(c.day)) return `no bounds recorded for ${c.day}`;
      if (c.totals.lastTimestamp > r.latest) r.latest = c.totals.lastTimestamp;
    }
    // Taken as they are (the caller hands them over); a cell twice would be found when the map is built.
    r.restored = data.cells;
    return r;
  }

  /** Adds (1) or removes (-1) one request's contribution; `r.costNanos` must be priced by the same rates. */
  apply(r: RequestRecord, sign: 1 | -1): void {
    const cells = this.cells();
    const day = this.days.keyOf(r.timestamp);
    const key = cellKey(r.agent, r.sessionId, r.project, r.branch, r.model, day);
    let c = cells.get(key);
    if (!c) {
      if (sign < 0) {
        this.broken = true;
        return;
      }
      c = { agent: r.agent, sessionId: r.sessionId, project: r.project, branch: r.branch, model: r.model, day, totals: emptyTotals() };
      cells.set(key, c);
      if (!this.prices.has(r.model)) this.prices.set(r.model, this.rateKeyOf(r.model));
    }
    applyRecord(c.totals, r, sign);
    if (sign > 0 && r.timestamp > this.latest) this.latest = r.timestamp;
    if (c.totals.requests === 0) {
      if (!isZero(c.totals)) this.broken = true;
      cells.delete(key);
    } else if (c.totals.requests < 0) {
      this.broken = true;
    }
  }

  /** Whether the figures are exact and none lies after `now + slackMs` (a clock-skewed log the report must filter by time). */
  usable(now: number, slackMs: number): boolean {
    return !this.broken && this.latest <= now + slackMs;
  }

  get size(): number {
    return this.byKey ? this.byKey.size : this.restored.length;
  }

  values(): IterableIterator<RollupCell> {
    return this.byKey ? this.byKey.values() : this.restored.values();
  }

  private cells(): Map<string, RollupCell> {
    if (this.byKey) return this.byKey;
    const map = new Map<string, RollupCell>();
    for (const c of this.restored) {
      const key = cellKey(c.agent, c.sessionId, c.project, c.branch, c.model, c.day);
      const known = map.get(key);
      if (known) {
        // Not written by a sound index: merge rather than lose requests, and stop trusting the figures.
        addTotals(known.totals, c.totals);
        this.broken = true;
      } else {
        map.set(key, c);
      }
    }
    this.restored = [];
    return (this.byKey = map);
  }

  toData(): RollupData {
    const cells = [...this.values()];
    const days = new Set(cells.map((c) => c.day));
    const models = new Set(cells.map((c) => c.model));
    return {
      cells,
      days: [...days].sort().map((d) => this.days.bounds(d)),
      // every cell's model got its rates when the cell was made (apply) or restored
      prices: [...models].map((m): [string | null, string | null] => [m, this.prices.get(m) ?? null]),
    };
  }
}

function cellKey(agent: AgentId, session: string, project: string, branch: string | undefined, model: string | null, day: string): string {
  // \u0000 never occurs in the ids; \u0001 stands for "none" (distinct from an empty string).
  return `${AGENT_IDS.indexOf(agent)}\u0000${session}\u0000${project}\u0000${branch ?? '\u0001'}\u0000${model ?? '\u0001'}\u0000${day}`;
}

function isZero(t: Totals): boolean {
  return t.inputTokens === 0 && t.outputTokens === 0 && t.cacheCreationTokens === 0 && t.cacheCreation1hTokens === 0 && t.cacheReadTokens === 0 &&
    t.reasoningTokens === 0 && t.spendNanos === 0 && t.unpricedRequests === 0 && t.costNanos === 0 && t.estimateUnpricedRequests === 0 &&
    t.loggedCostNanos === 0 && t.loggedRequests === 0 && t.estimateOfLoggedNanos === 0 && t.loggedOfEstimatedNanos === 0;
}

/**
 * Local days of this process's time zone (the ledger's `localDayKey`), with their bounds. Requests
 * come mostly in time order, so the last day's bounds answer most lookups without a Date.
 */
class LocalDays {
  private readonly known = new Map<string, [string, number, number]>();
  private last: [string, number, number] = ['', 0, 0];

  keyOf(ts: number): string {
    const l = this.last;
    if (ts >= l[1] && ts < l[2]) return l[0];
    const key = localDayKey(ts);
    const b = this.bounds(key);
    this.known.set(key, b);
    // An instant outside the day's computed bounds (a zone whose midnight does not exist) is not cached.
    if (ts >= b[1] && ts < b[2]) this.last = b;
    return key;
  }

  bounds(day: string): [string, number, number] {
    const b = this.known.get(day);
    if (b) return b;
    const [y, m, d] = day.split('-').map(Number) as [number, number, number];
    return [day, new Date(y, m - 1, d).getTime(), new Date(y, m - 1, d + 1).getTime()];
  }

  has(day: string): boolean {
    return this.known.has(day);
  }

  /** Whether `day` has these bounds here (then it is known). */
  holds(day: string, start: number, end: number): boolean {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return false;
    const b = this.bounds(day);
    if (b[1] !== start || b[2] !== end || localDayKey(start) !== day) return false;
    this.known.set(day, b);
    return true;
  }
}
