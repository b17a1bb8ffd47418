/**
 * Shared shapes and helpers of the provider billing clients. No I/O, no `vscode`.
 *
 * TIME ZONE. All three providers bucket by UTC day (Anthropic: "each time bucket will be
 * snapped to the start of the minute/hour/day in UTC"; OpenAI: buckets start at
 * `start_time` unix seconds on UTC midnights; OpenRouter: "completed UTC days", key limits
 * reset "at midnight UTC"). A provider's daily bucket cannot be split into local days, so
 * a `BilledDay.date` is the UTC calendar date of the bucket's start (YYYY-MM-DD), and a
 * range `{since, until}` selects the UTC days with those labels: since 00:00Z up to the
 * end of until (until+1 00:00Z, exclusive). Views that show local days must say so.
 *
 * FINAL. A day is final once it is over in UTC and a reporting lag has passed: cost
 * reports lag by hours and late corrections land for a while (FORMATS.md), so we take
 * 48 h (`REPORTING_LAG_MS`): day D is final when now ≥ (D+1) 00:00Z + 48 h. Final days
 * are not fetched again by the poller.
 */

export interface BilledDay {
  /** UTC day of the provider's bucket, YYYY-MM-DD. */
  date: string;
  /** Dollars; null when the provider does not report a cost for this day. */
  costUSD: number | null;
  /** Uncached input tokens; null when not reported. */
  inputTokens: number | null;
  outputTokens: number | null;
  cacheCreationTokens: number | null;
  cacheReadTokens: number | null;
  /** Over and older than the reporting lag: will not change any more. */
  final: boolean;
}

export interface DayRange {
  /** First UTC day label, YYYY-MM-DD (inclusive). */
  since: string;
  /** Last UTC day label, YYYY-MM-DD (inclusive). */
  until: string;
}

export interface BillingClient {
  readonly provider: import('./http').ProviderId;
  fetchDays(range: DayRange): Promise<BilledDay[]>;
}

export const REPORTING_LAG_MS = 48 * 3600_000;
const DAY_MS = 86_400_000;

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function isDay(s: string): boolean {
  const m = DATE_RE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

/** Epoch ms of 00:00Z of a YYYY-MM-DD day. */
export function dayStartMs(day: string): number {
  const m = DATE_RE.exec(day);
  if (!m) throw new Error(`not a day: ${day}`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
}

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function addDays(day: string, n: number): string {
  return utcDay(dayStartMs(day) + n * DAY_MS);
}

export function isFinal(day: string, nowMs: number, lagMs = REPORTING_LAG_MS): boolean {
  return nowMs >= dayStartMs(day) + DAY_MS + lagMs;
}

/** 00:00Z of `since` and 00:00Z of the day after `until` (exclusive end). */
export function rangeBounds(range: DayRange): { startMs: number; endMs: number } {
  return { startMs: dayStartMs(range.since), endMs: dayStartMs(range.until) + DAY_MS };
}

export function inRange(day: string, range: DayRange): boolean {
  return day >= range.since && day <= range.until;
}

// ---------------------------------------------------------------------------------------
// Money without float drift: amounts are held as BigInt counts of 1e-12 dollars
// ("picodollars"), summed exactly, and turned into a number once, through a decimal string
// (so "123.4567" cents becomes exactly the double nearest to 1.234567).

const SCALE_DIGITS = 12;

const DECIMAL_RE = /^([+-])?(\d+)(?:\.(\d+))?$/;

/** A decimal string in units of 10^-exp dollars (exp = 2 for cents) → picodollars. Throws on a non-decimal. */
export function decimalToPico(s: string, exp: number): bigint {
  const m = DECIMAL_RE.exec(s.trim());
  if (!m) throw new Error(`not a decimal amount: "${s}"`);
  const neg = m[1] === '-';
  const digits = m[2]! + (m[3] ?? '');
  let shift = SCALE_DIGITS - exp - (m[3]?.length ?? 0); // power of ten to multiply by
  let v = BigInt(digits);
  if (shift >= 0) {
    v *= 10n ** BigInt(shift);
  } else {
    // more precision than a picodollar: round half away from zero
    shift = -shift;
    const div = 10n ** BigInt(shift);
    const q = v / div;
    const r = v % div;
    v = r * 2n >= div ? q + 1n : q;
  }
  return neg ? -v : v;
}

/** A dollar number (as JSON gives it) → picodollars, via its shortest decimal form. */
export function dollarsToPico(n: number): bigint {
  if (!Number.isFinite(n)) throw new Error(`not a finite amount: ${n}`);
  const s = Math.abs(n) < 1e-6 && n !== 0 ? n.toFixed(SCALE_DIGITS) : String(n);
  if (/e/i.test(s)) return decimalToPico(n.toFixed(SCALE_DIGITS), 0);
  return decimalToPico(s, 0);
}

/** Picodollars → dollars as the nearest double of the exact decimal. */
export function picoToDollars(p: bigint): number {
  const neg = p < 0n;
  const a = neg ? -p : p;
  const s = a.toString().padStart(SCALE_DIGITS + 1, '0');
  const text = `${neg ? '-' : ''}${s.slice(0, -SCALE_DIGITS)}.${s.slice(-SCALE_DIGITS)}`;
  return Number(text);
}

/** Exact sum of dollar figures (nulls skipped); null when every figure is null. */
export function sumUSD(values: Iterable<number | null>): number | null {
  let total = 0n;
  let any = false;
  for (const v of values) {
    if (v === null) continue;
    any = true;
    total += dollarsToPico(v);
  }
  return any ? picoToDollars(total) : null;
}
