/**
 * Git facts about a session's working folder: commits made during the session (its time window
 * plus a grace period) with their lines, and how many lines from that window survive in HEAD.
 *
 * Read-only and bounded: only `rev-parse`, `log` and `blame` run, each with `-c core.fsmonitor=false`
 * (no hook or daemon starts), `GIT_OPTIONAL_LOCKS=0` (no index refresh writes) and a timeout; a
 * folder that is not a repository is never touched further. Anything that fails — no git, not a
 * repository, a timeout, a huge output — gives 'unknown', never an error and never a wait beyond
 * the timeouts. The caller decides whether the workspace is trusted (VS Code) and passes `trusted`.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';

export interface RunResult {
  stdout: string;
  /** Exit code; null when the process was killed (timeout) or could not start (no git). */
  code: number | null;
}

export type GitRunner = (args: readonly string[], opts: { cwd: string; timeoutMs: number }) => Promise<RunResult>;

export interface GitDeps {
  run: GitRunner;
  /** Per git command. */
  timeoutMs: number;
  /** False in an untrusted workspace: git is not run at all. Default true (the CLI). */
  trusted?: boolean;
}

export interface TimeWindow {
  /** Epoch ms. */
  start: number;
  end: number;
}

export const UNKNOWN = 'unknown' as const;
export type Unknown = typeof UNKNOWN;

export interface CommitFacts {
  commits: number;
  linesAdded: number;
  linesRemoved: number;
  /** Hashes, newest first. */
  hashes: string[];
}

/** Commits made after the session ends still count as its output for this long. */
export const GRACE_MS = 10 * 60_000;
const BASE = ['-c', 'core.fsmonitor=false', '-c', 'core.quotepath=false'];
/** Largest output read from one git command (a huge log or blame degrades to unknown). */
const MAX_BUFFER = 32 * 1024 * 1024;

/** The default runner: `git` from PATH, no shell, a timeout, no optional locks, no prompts. */
export const execGit: GitRunner = (args, opts) =>
  new Promise((resolve) => {
    execFile('git', [...args], {
      cwd: opts.cwd, timeout: opts.timeoutMs, maxBuffer: MAX_BUFFER, windowsHide: true, encoding: 'utf8',
      env: { ...process.env, GIT_OPTIONAL_LOCKS: '0', GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
    }, (err, stdout) => {
      if (!err) return resolve({ stdout, code: 0 });
      const e = err as NodeJS.ErrnoException & { code?: unknown; killed?: boolean };
      resolve({ stdout: stdout ?? '', code: e.killed || typeof e.code !== 'number' ? null : e.code });
    });
  });

async function git(deps: GitDeps, cwd: string, args: readonly string[]): Promise<RunResult> {
  try {
    return await deps.run([...BASE, ...args], { cwd, timeoutMs: deps.timeoutMs });
  } catch {
    return { stdout: '', code: null };
  }
}

/** The repository's top folder when `dir` is inside a work tree; undefined otherwise (or unknown). */
export async function repositoryRoot(dir: string, deps: GitDeps): Promise<string | undefined> {
  if (deps.trusted === false || !dir || !path.isAbsolute(dir)) return undefined;
  const r = await git(deps, dir, ['rev-parse', '--is-inside-work-tree', '--show-toplevel']);
  if (r.code !== 0) return undefined;
  const [inside, top] = r.stdout.split('\n').map((s) => s.trim());
  return inside === 'true' && top ? top : undefined;
}

export async function isRepository(dir: string, deps: GitDeps): Promise<boolean> {
  return (await repositoryRoot(dir, deps)) !== undefined;
}

const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * Commits reachable from HEAD whose commit time falls in [start, end + 10 min], with their
 * `--numstat` lines (binary files count no lines). Works on a detached HEAD; an unborn HEAD has none.
 */
export async function gitFacts(repoDir: string, window: TimeWindow, deps: GitDeps): Promise<CommitFacts | Unknown> {
  const root = await repositoryRoot(repoDir, deps);
  if (!root) return UNKNOWN;
  const head = await git(deps, root, ['rev-parse', '--verify', '--quiet', 'HEAD']);
  if (head.code === 1) return { commits: 0, linesAdded: 0, linesRemoved: 0, hashes: [] }; // no commit yet
  if (head.code !== 0) return UNKNOWN;
  const r = await git(deps, root, [
    'log', 'HEAD', '--no-color', '--no-renames', '--numstat', '--format=%x01%H',
    `--since=${isoSeconds(window.start)}`, `--until=${isoSeconds(window.end + GRACE_MS)}`,
  ]);
  if (r.code !== 0) return UNKNOWN;
  return parseNumstatLog(r.stdout);
}

/** `git log --numstat --format=%x01%H` output → commits and lines. */
export function parseNumstatLog(stdout: string): CommitFacts {
  const facts: CommitFacts = { commits: 0, linesAdded: 0, linesRemoved: 0, hashes: [] };
  for (const line of stdout.split('\n')) {
    if (line.startsWith('\u0001')) {
      facts.commits++;
      facts.hashes.push(line.slice(1).trim());
      continue;
    }
    const m = /^(\d+|-)\t(\d+|-)\t/.exec(line);
    if (!m) continue;
    if (m[1] !== '-') facts.linesAdded += Number(m[1]);
    if (m[2] !== '-') facts.linesRemoved += Number(m[2]);
  }
  return facts;
}

export interface SurvivalLimits {
  /** Files blamed at most (the first ones, sorted). */
  maxFiles: number;
  /** Total time for all blames; files not reached leave the answer partial. */
  budgetMs: number;
}

export interface Survival {
  /** Lines in HEAD (of the blamed files) last changed by a commit of the window. */
  surviving: number;
  filesBlamed: number;
  /** Touched files skipped: outside the repository, missing in HEAD, over the limits. */
  filesSkipped: number;
  /** False when the limits cut the work short. */
  complete: boolean;
}

/**
 * Of the lines the session's commits brought in, how many are still in HEAD: `git blame
 * --line-porcelain HEAD` over the files the agent touched (only those, at most `maxFiles`,
 * within `budgetMs`), counting lines whose commit is one of `hashes` (the window's commits).
 */
export async function survivingLines(
  repoDir: string, touched: readonly string[], hashes: readonly string[], deps: GitDeps,
  limits: SurvivalLimits = { maxFiles: 50, budgetMs: 10_000 }, now: () => number = Date.now,
): Promise<Survival | Unknown> {
  const root = await repositoryRoot(repoDir, deps);
  if (!root) return UNKNOWN;
  const result: Survival = { surviving: 0, filesBlamed: 0, filesSkipped: 0, complete: true };
  if (hashes.length === 0) return result;
  const wanted = new Set(hashes);
  const files = new Set<string>();
  for (const p of touched) {
    const rel = path.relative(root, path.resolve(repoDir, p));
    if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) result.filesSkipped++;
    else files.add(rel.split(path.sep).join('/'));
  }
  const started = now();
  for (const file of [...files].sort()) {
    if (result.filesBlamed >= limits.maxFiles || now() - started > limits.budgetMs) {
      result.filesSkipped++;
      result.complete = false;
      continue;
    }
    const r = await git(deps, root, ['blame', '--line-porcelain', 'HEAD', '--', file]);
    if (r.code === null) {
      result.complete = false;
      result.filesSkipped++;
      continue;
    }
    if (r.code !== 0) {
      result.filesSkipped++; // not in HEAD (deleted, never committed)
      continue;
    }
    result.filesBlamed++;
    for (const line of r.stdout.split('\n')) {
      // Each blamed line starts with "<40-hex> <orig> <final>[ <count>]"; content lines start with a tab.
      if (line.length >= 40 && line.charCodeAt(0) !== 9 && /^[0-9a-f]{40} \d+ \d+/.test(line) && wanted.has(line.slice(0, 40))) result.surviving++;
    }
  }
  return result;
}
