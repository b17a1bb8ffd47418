/** Report shapes shared by the CLI's JSON output and the extension's views. */
import { Aggregator, costBasis, spendNanosOf, type GroupBy, type RequestRecord, type Totals, localDayKey } from './ledger';
import type { RollupCell } from './rollup';

/** The public totals shape (`agent-spend report --json`). */
export interface ReportTotals {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cacheCreationTokens: number;
  cacheReadTokens: number;
  reasoningTokens: number;
  costUSD: number;
  unpricedRequests: number;
}

export interface ReportFilter {
  /** Inclusive local days, YYYY-MM-DD. */
  since?: string;
  until?: string;
  agents?: readonly string[];
}

export interface Report {
  totals: ReportTotals;
  groups: Array<{ key: string } & ReportTotals>;
  /** How each figure was obtained (for labels; not part of the JSON report): by group key, and '' for the total. */
  basis: Map<string, ReturnType<typeof costBasis>>;
}

export function nanosToUSD(nanos: number): number {
  // micro-dollar precision: exact to the cent, without float noise in the output
  return Math.round(nanos / 1000) / 1e6;
}

export function toReportTotals(t: Totals): ReportTotals {
  return {
    requests: t.requests,
    inputTokens: t.inputTokens,
    outputTokens: t.outputTokens,
    cacheCreationTokens: t.cacheCreationTokens,
    cacheReadTokens: t.cacheReadTokens,
    reasoningTokens: t.reasoningTokens,
    costUSD: nanosToUSD(t.spendNanos),
    unpricedRequests: t.unpricedRequests,
  };
}

/** Totals (and groups) of the deduplicated records that pass the filter. */
export function buildReport(
  records: Iterable<RequestRecord>,
  filter: ReportFilter,
  by?: GroupBy,
  dayKey: (ts: number) => string = localDayKey,
): Report {
  const agg = new Aggregator(by ? [by] : [], dayKey);
  for (const r of records) {
    if (filter.agents && !filter.agents.includes(r.agent)) continue;
    if (filter.since || filter.until) {
      const day = dayKey(r.timestamp);
      if (filter.since && day < filter.since) continue;
      if (filter.until && day > filter.until) continue;
    }
    agg.apply(r, 1);
  }
  return finish(agg, by);
}

/** The same report from a rollup's cells (requests already summed per session, model and local day). */
export function buildReportFromCells(cells: Iterable<RollupCell>, filter: ReportFilter, by?: GroupBy): Report {
  const agg = new Aggregator(by ? [by] : []);
  for (const c of cells) {
    if (filter.agents && !filter.agents.includes(c.agent)) continue;
    if (filter.since && c.day < filter.since) continue;
    if (filter.until && c.day > filter.until) continue;
    agg.addSummed(c.totals, c, c.day);
  }
  return finish(agg, by);
}

function finish(agg: Aggregator, by: GroupBy | undefined): Report {
  const basis = new Map<string, ReturnType<typeof costBasis>>([['', costBasis(agg.totals)]]);
  const groups = by
    ? [...agg.group(by)].map(([key, t]) => {
      basis.set(key, costBasis(t));
      return { key, ...toReportTotals(t) };
    })
    : [];
  if (by === 'day') groups.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  else groups.sort((a, b) => b.costUSD - a.costUSD || b.requests - a.requests || (a.key < b.key ? -1 : 1));
  return { totals: toReportTotals(agg.totals), groups, basis };
}

/** Unpriced model ids with their request counts, most requests first. */
export function unpricedModels(records: Iterable<RequestRecord>): Array<[string, number]> {
  const m = new Map<string, number>();
  for (const r of records) if (spendNanosOf(r) === null) m.set(r.model ?? '(unknown model)', (m.get(r.model ?? '(unknown model)') ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1]);
}
