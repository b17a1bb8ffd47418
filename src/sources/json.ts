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
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
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
