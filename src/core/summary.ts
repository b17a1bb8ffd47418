/**
 * What the status bar and tooltip show, computed from the ledger at a given time:
 * period totals in the local time zone, the active session, the burn rate.
 */
import { emptyTotals, spendNanosOf, type Ledger, type SessionInfo, type Totals } from './ledger';

export type Period = 'today' | 'session' | 'week' | 'month' | 'block';

/** A session counts as active (an agent is working) when its last request is this recent. */
export const ACTIVE_WINDOW_MS = 5 * 60_000;
/** Burn rate: estimated spend over this trailing window, per minute. */
export const BURN_WINDOW_MS = 10 * 60_000;

export interface SessionSummary {
  info: SessionInfo;
  totals: Totals;
}

export interface SpendSummary {
  now: number;
  today: Totals;
  week: Totals;
  month: Totals;
  all: Totals;
  /** The most recently active session (whether or not it is still active). */
  lastSession?: SessionSummary;
  /** Sessions with a request in the last ACTIVE_WINDOW_MS, most recent first. */
  activeSessions: SessionSummary[];
  /** nano-USD per minute over the last BURN_WINDOW_MS; undefined when no agent is active. */
  burnRateNanosPerMin?: number;
  /** This month's models by estimated cost (unpriced ones by requests, after). */
  topModels: Array<{ model: string; costNanos: number; requests: number; unpriced: number }>;
}

export function dayKeyOf(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** First local day (YYYY-MM-DD) of the week containing `now`; weekStartsOn 0 = Sunday, 1 = Monday. */
export function weekStartKey(now: number, weekStartsOn = 1): string {
  const d = new Date(now);
  const back = (d.getDay() - weekStartsOn + 7) % 7;
  return dayKeyOf(new Date(d.getFullYear(), d.getMonth(), d.getDate() - back));
}

export function sumDays(days: ReadonlyMap<string, Totals>, fromKey: string, toKey: string): Totals {
  const t = emptyTotals();
  for (const [key, day] of days) {
    if (key < fromKey || key > toKey) continue;
    t.requests += day.requests;
    t.inputTokens += day.inputTokens;
    t.outputTokens += day.outputTokens;
    t.cacheCreationTokens += day.cacheCreationTokens;
    t.cacheCreation1hTokens += day.cacheCreation1hTokens;
    t.cacheReadTokens += day.cacheReadTokens;
    t.reasoningTokens += day.reasoningTokens;
    t.spendNanos += day.spendNanos;
    t.unpricedRequests += day.unpricedRequests;
    t.costNanos += day.costNanos;
    t.estimateUnpricedRequests += day.estimateUnpricedRequests;
    t.loggedCostNanos += day.loggedCostNanos;
    t.loggedRequests += day.loggedRequests;
    t.estimateOfLoggedNanos += day.estimateOfLoggedNanos;
    t.loggedOfEstimatedNanos += day.loggedOfEstimatedNanos;
    t.firstTimestamp = Math.min(t.firstTimestamp, day.firstTimestamp);
    t.lastTimestamp = Math.max(t.lastTimestamp, day.lastTimestamp);
  }
  return t;
}

export function summarize(ledger: Ledger, now: number, weekStartsOn = 1): SpendSummary {
  const days = ledger.group('day');
  const today = dayKeyOf(new Date(now));
  const monthStart = `${today.slice(0, 7)}-01`;
  const sessions = ledger.group('session');
  const activeSessions: SessionSummary[] = [];
  let lastSession: SessionSummary | undefined;
  for (const [id, totals] of sessions) {
    const info = ledger.session(id);
    if (!info) continue;
    if (!lastSession || totals.lastTimestamp > lastSession.totals.lastTimestamp) lastSession = { info, totals };
    if (now - totals.lastTimestamp <= ACTIVE_WINDOW_MS && totals.lastTimestamp <= now + 60_000) activeSessions.push({ info, totals });
  }
  activeSessions.sort((a, b) => b.totals.lastTimestamp - a.totals.lastTimestamp);
  const summary: SpendSummary = {
    now,
    today: sumDays(days, today, today),
    week: sumDays(days, weekStartKey(now, weekStartsOn), today),
    month: sumDays(days, monthStart, today),
    all: ledger.totals,
    activeSessions,
    topModels: topModelsOf(ledger, new Date(now).getFullYear(), new Date(now).getMonth()),
  };
  if (lastSession) summary.lastSession = lastSession;
  if (activeSessions.length > 0) summary.burnRateNanosPerMin = ledger.costBetween(now - BURN_WINDOW_MS, now + 1) / (BURN_WINDOW_MS / 60_000);
  return summary;
}

function topModelsOf(ledger: Ledger, year: number, month: number): SpendSummary['topModels'] {
  // Per-model totals for one month are not kept incrementally; this walks the records (tooltip only, throttled).
  const from = new Date(year, month, 1).getTime();
  const to = new Date(year, month + 1, 1).getTime();
  const m = new Map<string, { model: string; costNanos: number; requests: number; unpriced: number }>();
  for (const r of ledger.allRecords()) {
    if (r.timestamp < from || r.timestamp >= to) continue;
    const key = r.model ?? '(unknown)';
    let e = m.get(key);
    if (!e) m.set(key, (e = { model: key, costNanos: 0, requests: 0, unpriced: 0 }));
    e.requests++;
    const spend = spendNanosOf(r);
    if (spend === null) e.unpriced++;
    else e.costNanos += spend;
  }
  return [...m.values()].sort((a, b) => b.costNanos - a.costNanos || b.requests - a.requests);
}
