/**
 * A small summary of recent spend for the status line, which must answer in milliseconds and
 * so never scans logs: `<stateDir>/spend-summary.json` =
 *   `{"version":1,"writtenAt":<epoch ms>,"days":{"YYYY-MM-DD":nanoUSD},"sessions":{"<id>":nanoUSD}}`
 * Days are local days (the writer's time zone) of the last SUMMARY_DAYS days, today included
 * (present, 0 when nothing was spent); sessions are those with a request in the last
 * SUMMARY_SESSION_HOURS hours (at most SUMMARY_MAX_SESSIONS, the most recent). Figures are what
 * the ledger shows (`spendNanosOf`: logged cost where the agent logs one, else the estimate);
 * unpriced requests add nothing.
 *
 * Writers: the extension and `agent-spend report --index`, after a scan. Reader: the status line.
 */
import * as z from 'zod/mini';
import type { RequestRecord } from '../core/ledger';
import type { RollupCell } from '../core/rollup';
import { spendSummaryFile } from './stateDir';
import { writeFileAtomic, type StateFs } from './statuslineSnapshots';

export const SPEND_SUMMARY_VERSION = 1;
export const SUMMARY_DAYS = 14;
export const SUMMARY_SESSION_HOURS = 48;
export const SUMMARY_MAX_SESSIONS = 500;
/** Requests up to this far past `now` (a clock a little ahead) still count for today. */
export const SUMMARY_FUTURE_SLACK_MS = 60_000;
/** A file larger than this is not ours (or broken): not read. */
const MAX_SUMMARY_BYTES = 512 * 1024;

export interface SpendSummary {
  version: typeof SPEND_SUMMARY_VERSION;
  /** Epoch ms. */
  writtenAt: number;
  /** Local day → nano-USD. */
  days: Record<string, number>;
  /** Session id → nano-USD (the whole session, also before the last 48 hours). */
  sessions: Record<string, number>;
}

/** YYYY-MM-DD in the process's local time zone (same as the ledger's `localDayKey`). */
export function localDay(ts: number): string {
  const d = new Date(ts);
  const p = (n: number) => (n < 10 ? `0${n}` : String(n));
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** Local midnight `days - 1` days before the day of `now`. */
function firstDayStart(now: number, days: number): number {
  const d = new Date(now);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() - (days - 1)).getTime();
}

/** Pure: the summary of these records as of `now` (bounded in days and sessions). */
export function buildSpendSummary(records: Iterable<RequestRecord>, now: number): SpendSummary {
  const b = new SpendSummaryBuilder(now);
  for (const r of records) b.add(r);
  return b.build();
}

/** The same, one record at a time (for a caller already making one pass over the requests). */
export class SpendSummaryBuilder {
  private readonly from: number;
  /** The local day of `from` (rollup cells are by day). */
  private readonly fromDay: string;
  private readonly days = new Map<string, number>();
  private readonly sessionTotals = new Map<string, number>();
  private readonly sessionLast = new Map<string, number>();
  private readonly spendNanosOf: (r: RequestRecord) => number | null;

  constructor(private readonly now: number) {
    this.from = firstDayStart(now, SUMMARY_DAYS);
    this.fromDay = localDay(this.from);
    // Required on use: the status line bundles this module to read summaries and must not pay for
    // evaluating the ledger's (and its schemas') module code at start-up.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    this.spendNanosOf = (require('../core/ledger') as typeof import('../core/ledger')).spendNanosOf;
  }

  /** Reads `r` at once (it may be a reused object). */
  add(r: RequestRecord): void {
    const spend = this.spendNanosOf(r) ?? 0;
    if (r.timestamp >= this.from && r.timestamp <= this.now + SUMMARY_FUTURE_SLACK_MS) {
      const k = localDay(r.timestamp);
      this.days.set(k, (this.days.get(k) ?? 0) + spend);
    }
    this.sessionTotals.set(r.sessionId, (this.sessionTotals.get(r.sessionId) ?? 0) + spend);
    if (r.timestamp > (this.sessionLast.get(r.sessionId) ?? -Infinity)) this.sessionLast.set(r.sessionId, r.timestamp);
  }

  /** Adds a rollup cell (requests of one session and local day, none after now + SUMMARY_FUTURE_SLACK_MS). */
  addCell(c: RollupCell): void {
    const spend = c.totals.spendNanos;
    if (c.day >= this.fromDay) this.days.set(c.day, (this.days.get(c.day) ?? 0) + spend);
    this.sessionTotals.set(c.sessionId, (this.sessionTotals.get(c.sessionId) ?? 0) + spend);
    if (c.totals.lastTimestamp > (this.sessionLast.get(c.sessionId) ?? -Infinity)) this.sessionLast.set(c.sessionId, c.totals.lastTimestamp);
  }

  build(): SpendSummary {
    const today = localDay(this.now);
    if (!this.days.has(today)) this.days.set(today, 0);
    const activeFrom = this.now - SUMMARY_SESSION_HOURS * 3600_000;
    const recent = [...this.sessionLast].filter(([, last]) => last >= activeFrom).sort((a, b) => b[1] - a[1]).slice(0, SUMMARY_MAX_SESSIONS);
    const sessions: Record<string, number> = {};
    for (const [id] of recent) sessions[id] = Math.round(this.sessionTotals.get(id)!);
    const dayObj: Record<string, number> = {};
    for (const k of [...this.days.keys()].sort()) dayObj[k] = Math.round(this.days.get(k)!);
    return { version: SPEND_SUMMARY_VERSION, writtenAt: this.now, days: dayObj, sessions };
  }
}

/**
 * Writes the summary, unless the one there already gives the same figures and was written earlier
 * the same local day (what the status line checks): a run that found nothing new writes nothing.
 */
export async function writeSpendSummary(fs: StateFs, stateDir: string, summary: SpendSummary): Promise<void> {
  const there = await readSpendSummary(fs, stateDir);
  if (there.kind === 'ok' && localDay(there.summary.writtenAt) === localDay(summary.writtenAt) && there.summary.writtenAt <= summary.writtenAt &&
      JSON.stringify([there.summary.days, there.summary.sessions]) === JSON.stringify([summary.days, summary.sessions])) return;
  await writeFileAtomic(fs, spendSummaryFile(stateDir), JSON.stringify(summary));
}

const Nanos = z.number().check(z.nonnegative());
const SummarySchema = z.object({
  version: z.literal(SPEND_SUMMARY_VERSION),
  writtenAt: z.number(),
  days: z.record(z.string(), Nanos),
  sessions: z.record(z.string(), Nanos),
});

export type ReadSummaryResult = { kind: 'ok'; summary: SpendSummary } | { kind: 'missing' } | { kind: 'unusable'; reason: string };

/** Reads the summary; never throws. */
export async function readSpendSummary(fs: Pick<StateFs, 'readFile'>, stateDir: string): Promise<ReadSummaryResult> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(spendSummaryFile(stateDir));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? { kind: 'missing' } : { kind: 'unusable', reason: `cannot read: ${code ?? String(e)}` };
  }
  return decodeSpendSummary(buf);
}

export function decodeSpendSummary(buf: Buffer | string): ReadSummaryResult {
  if (buf.length > MAX_SUMMARY_BYTES) return { kind: 'unusable', reason: `larger than ${MAX_SUMMARY_BYTES} bytes` };
  let raw: unknown;
  try {
    raw = JSON.parse(buf.toString());
  } catch {
    return { kind: 'unusable', reason: 'not JSON' };
  }
  const r = SummarySchema.safeParse(raw);
  return r.success ? { kind: 'ok', summary: r.data as SpendSummary } : { kind: 'unusable', reason: `not a version ${SPEND_SUMMARY_VERSION} spend summary` };
}

/**
 * The figures the status line may show from a summary, as of `now`:
 * today's spend only when the summary was written today (local day) — a summary from an earlier
 * day never passes for today; the session's spend when the summary has it.
 */
export function summaryFigures(summary: SpendSummary | undefined, sessionId: string | undefined, now: number): { todayUSD?: number; sessionUSD?: number } {
  if (!summary) return {};
  const out: { todayUSD?: number; sessionUSD?: number } = {};
  const today = localDay(now);
  if (localDay(summary.writtenAt) === today && summary.writtenAt <= now + 60_000) {
    const nanos = summary.days[today];
    if (nanos !== undefined) out.todayUSD = nanos / 1e9;
  }
  if (sessionId && Object.prototype.hasOwnProperty.call(summary.sessions, sessionId)) out.sessionUSD = summary.sessions[sessionId]! / 1e9;
  return out;
}
