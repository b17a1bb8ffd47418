/** Small guards for reading untrusted JSON records and paths, shared by the adapters. */
import * as path from 'node:path';

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The string, unless it is missing or blank. */
export function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

/** A token count: a finite non-negative number as an integer, anything else 0. */
export function tokenCount(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.round(v) : 0;
}

/** Epoch ms of an ISO-8601 timestamp, or undefined. */
export function parseTime(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const fast = parseUtcIso(v);
  if (fast !== undefined) return fast;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * The form every agent writes, `YYYY-MM-DDTHH:MM:SS[.fff…]Z`, without Date.parse (a cold scan
 * parses one per request line); anything else (offsets, no zone, odd digits) is left to Date.parse.
 */
function parseUtcIso(v: string): number | undefined {
  const n = v.length;
  if (n < 20 || n > 30 || v.charCodeAt(n - 1) !== 90 /* Z */ || v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45 ||
      v.charCodeAt(10) !== 84 /* T */ || v.charCodeAt(13) !== 58 || v.charCodeAt(16) !== 58) return undefined;
  const year = digits(v, 0, 4);
  const month = digits(v, 5, 2);
  const day = digits(v, 8, 2);
  const hour = digits(v, 11, 2);
  const minute = digits(v, 14, 2);
  const second = digits(v, 17, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  let ms = 0;
  if (n > 20) {
    // a fraction: '.', then 1–9 digits; milliseconds are its first three (truncated, as Date.parse does)
    if (v.charCodeAt(19) !== 46 || n === 21) return undefined;
    const fraction = digits(v, 20, n - 21);
    if (fraction < 0) return undefined;
    const firstThree = n - 21 >= 3 ? digits(v, 20, 3) : digits(v, 20, n - 21) * (n - 21 === 1 ? 100 : 10);
    ms = firstThree;
  }
  const dayMs = utcDay(year, month, day);
  return dayMs === undefined ? undefined : dayMs + ((hour * 60 + minute) * 60 + second) * 1000 + ms;
}

// The day of the previous timestamp: a log's timestamps come in runs of the same day.
let lastYear = -1;
let lastMonth = -1;
let lastDay = -1;
let lastDayMs: number | undefined;

/** Epoch ms of a UTC calendar day, or undefined when it is not one (31 April, month 13, year < 100). */
function utcDay(year: number, month: number, day: number): number | undefined {
  if (year === lastYear && month === lastMonth && day === lastDay) return lastDayMs;
  let t: number | undefined;
  if (year >= 100 && month >= 1 && month <= 12 && day >= 1 && day <= 31) {
    t = Date.UTC(year, month - 1, day);
    // Date.UTC rolls 31 April into 1 May; Date.parse rejects it.
    if (new Date(t).getUTCDate() !== day) t = undefined;
  }
  lastYear = year;
  lastMonth = month;
  lastDay = day;
  lastDayMs = t;
  return t;
}

/** The decimal number in v[at, at + len), or -1 when any of it is not a digit. */
function digits(v: string, at: number, len: number): number {
  let x = 0;
  for (let i = at; i < at + len; i++) {
    const c = v.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    x = x * 10 + c;
  }
  return x;
}

/** `~` and `~/…` (or `~\…`) against the given home folder. */
export function expandHome(p: string, home: string): string {
  if (p === '~') return home;
  return p.startsWith('~/') || p.startsWith('~\\') ? path.join(home, p.slice(2)) : p;
}

/** A missing file or folder (not worth reporting). */
export function isMissing(err: unknown): boolean {
  const code = isObject(err) ? err['code'] : undefined;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
