/**
 * Line counting for the agents' edit tools (pure, no I/O): unified-diff hunks as Claude Code
 * logs them (`structuredPatch`), old/new string pairs, and Codex `apply_patch` texts.
 */
import { isObject } from './json';

export interface LineDelta {
  added: number;
  removed: number;
}

/** Lines in a text: '' has none, a trailing newline does not start another. */
export function lineCount(text: string): number {
  if (text === '') return 0;
  let n = 1;
  let i = text.indexOf('\n');
  while (i >= 0) {
    if (i < text.length - 1) n++;
    i = text.indexOf('\n', i + 1);
  }
  return n;
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Above this many lines (after trimming what both sides share) the exact LCS is skipped. */
const LCS_MAX = 2_000;

/**
 * Lines added and removed going from `before` to `after`: common leading and trailing lines
 * are trimmed, the rest is diffed by longest common subsequence (or, when that would be too
 * large, counted whole: an upper bound).
 */
export function diffLines(before: string, after: string): LineDelta {
  const a = splitLines(before);
  const b = splitLines(after);
  let s = 0;
  while (s < a.length && s < b.length && a[s] === b[s]) s++;
  let ea = a.length;
  let eb = b.length;
  while (ea > s && eb > s && a[ea - 1] === b[eb - 1]) {
    ea--;
    eb--;
  }
  const n = ea - s;
  const m = eb - s;
  if (n === 0 || m === 0 || n > LCS_MAX || m > LCS_MAX || n * m > 1_000_000) return { added: m, removed: n };
  // One-row LCS length.
  const row = new Uint16Array(m + 1);
  for (let i = 0; i < n; i++) {
    let diag = 0;
    const ai = a[s + i];
    for (let j = 0; j < m; j++) {
      const up = row[j + 1]!;
      row[j + 1] = ai === b[s + j] ? diag + 1 : Math.max(up, row[j]!);
      diag = up;
    }
  }
  const common = row[m]!;
  return { added: m - common, removed: n - common };
}

/** `+` / `-` lines of Claude Code's `structuredPatch` hunks; undefined when it is not a hunk list. */
export function countHunks(patch: unknown): LineDelta | undefined {
  if (!Array.isArray(patch)) return undefined;
  const d: LineDelta = { added: 0, removed: 0 };
  for (const hunk of patch) {
    if (!isObject(hunk) || !Array.isArray(hunk['lines'])) return undefined;
    for (const line of hunk['lines']) {
      if (typeof line !== 'string') continue;
      if (line.startsWith('+')) d.added++;
      else if (line.startsWith('-')) d.removed++;
    }
  }
  return d;
}

export interface PatchFile extends LineDelta {
  path: string;
  /** False for a deleted file (its removed lines are not in the patch). */
  exact: boolean;
}

const BEGIN = '*** Begin Patch';
const END = '*** End Patch';

/** The `*** Begin Patch` … `*** End Patch` text inside a string (an apply_patch input or a shell script), if any. */
export function extractPatch(text: string): string | undefined {
  const start = text.indexOf(BEGIN);
  if (start < 0) return undefined;
  const end = text.indexOf(END, start + BEGIN.length);
  return text.slice(start, end < 0 ? text.length : end + END.length);
}

/** Files of a Codex `apply_patch` text with their `+` / `-` lines, in order. */
export function parseApplyPatch(patch: string): PatchFile[] {
  const files: PatchFile[] = [];
  let current: PatchFile | undefined;
  let mode: 'add' | 'update' | 'delete' | undefined;
  for (const raw of patch.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.startsWith('*** ')) {
      const header = /^\*\*\* (Add|Update|Delete) File: (.+)$/.exec(line);
      if (header) {
        mode = header[1] === 'Add' ? 'add' : header[1] === 'Update' ? 'update' : 'delete';
        current = { path: header[2]!.trim(), added: 0, removed: 0, exact: mode !== 'delete' };
        files.push(current);
        continue;
      }
      const move = /^\*\*\* Move to: (.+)$/.exec(line);
      if (move && current) current.path = move[1]!.trim();
      continue; // Begin/End Patch, End of File
    }
    if (!current || mode === 'delete') continue;
    if (line.startsWith('+')) current.added++;
    else if (line.startsWith('-') && mode === 'update') current.removed++;
  }
  return files;
}
