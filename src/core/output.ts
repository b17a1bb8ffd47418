/**
 * Output versus spend (pure): what a session's agent changed (its own edit tools' lines and
 * files, and — when git could tell — the commits made and how many of its lines survive in
 * HEAD) set against what the session cost. Every figure that cannot be known is null, never 0.
 */
import type { EditEvent } from './events';

/** An edit as the ledger keeps it (agent and kind dropped: the session says which agent). */
export type EditRecord = Omit<EditEvent, 'kind' | 'agent'>;

export interface EditSummary {
  linesAdded: number;
  linesRemoved: number;
  /** Distinct files changed by applied edits. */
  filesTouched: number;
  /** Applied edit calls (per file), and calls the tool reported as failed. */
  edits: number;
  failedEdits: number;
  /** False when some pre-image was unknown: the line counts are then a lower bound. */
  exact: boolean;
  /** The touched files (as logged), for git's surviving-lines count. */
  paths: string[];
}

export function summarizeEdits(edits: Iterable<EditRecord>): EditSummary {
  const s: EditSummary = { linesAdded: 0, linesRemoved: 0, filesTouched: 0, edits: 0, failedEdits: 0, exact: true, paths: [] };
  const paths = new Set<string>();
  for (const e of edits) {
    if (e.failed) {
      s.failedEdits++;
      continue;
    }
    s.edits++;
    s.linesAdded += e.linesAdded;
    s.linesRemoved += e.linesRemoved;
    if (!e.exact) s.exact = false;
    if (e.path) paths.add(e.path);
  }
  s.paths = [...paths].sort();
  s.filesTouched = s.paths.length;
  return s;
}

/** What git said about the session's repository; null fields: unknown (no repository, no git, timeout). */
export interface GitOutput {
  commits: number | null;
  /** Lines added / removed by those commits. */
  commitLinesAdded?: number | null;
  commitLinesRemoved?: number | null;
  /** Of the lines the agent added, how many are still in HEAD (null: not measured). */
  survivingLines?: number | null;
}

export interface OutputMetrics {
  spendNanos: number;
  linesAdded: number;
  linesRemoved: number;
  changedLines: number;
  filesTouched: number;
  exact: boolean;
  commits: number | null;
  /** Spend per 100 changed (added + removed) lines, nano-USD; null with no changed line. */
  costPer100LinesNanos: number | null;
  /** Spend per commit, nano-USD; null when commits are unknown or none. */
  costPerCommitNanos: number | null;
  /** Surviving agent lines / agent lines added (0..1); null when unknown or nothing was added. */
  survivingShare: number | null;
}

export function outputMetrics(spendNanos: number, edits: EditSummary, git?: GitOutput): OutputMetrics {
  const changed = edits.linesAdded + edits.linesRemoved;
  const commits = git?.commits ?? null;
  const surviving = git?.survivingLines ?? null;
  return {
    spendNanos,
    linesAdded: edits.linesAdded,
    linesRemoved: edits.linesRemoved,
    changedLines: changed,
    filesTouched: edits.filesTouched,
    exact: edits.exact,
    commits,
    costPer100LinesNanos: changed > 0 ? Math.round((spendNanos * 100) / changed) : null,
    costPerCommitNanos: commits !== null && commits > 0 ? Math.round(spendNanos / commits) : null,
    survivingShare: surviving !== null && edits.linesAdded > 0 ? Math.min(1, surviving / edits.linesAdded) : null,
  };
}

/**
 * "Spend without output": the session spent more than `thresholdUSD` and changed no line with
 * its edit tools, and no commit is known (none made, or git could not tell).
 */
export function spendWithoutOutput(m: OutputMetrics, thresholdUSD: number): boolean {
  return m.spendNanos > Math.round(thresholdUSD * 1e9) && m.changedLines === 0 && !(m.commits !== null && m.commits > 0);
}
