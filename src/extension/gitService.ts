/**
 * Git facts for the output view, computed in the background: commits made in a session's
 * folder during the session (+10 min) and how many of their lines are still in HEAD. git runs
 * read-only, with a timeout, one session at a time, only in trusted workspaces and never in a
 * folder that is not a repository; anything that fails is "unknown", never an error.
 */
import * as vscode from 'vscode';
import type { Ledger } from '../core/ledger';
import { summarizeEdits } from '../core/output';
import { execGit, gitFacts, GRACE_MS, survivingLines, UNKNOWN, type GitDeps } from '../git/gitFacts';
import type { Log } from './log';

export interface SessionGitFacts {
  commits: number;
  survivingLines: number | null;
}

/** Sessions looked at, most recently active first (older ones are computed on request). */
const MAX_SESSIONS = 200;
/** A session still being written is looked at again at most this often. */
const REFRESH_MS = 5 * 60_000;
const TIMEOUT_MS = 10_000;

interface Entry {
  facts: SessionGitFacts | null;
  /** The session's last request when computed: recomputed once it grows (and REFRESH_MS passed). */
  lastRequest: number;
  at: number;
}

export class GitService implements vscode.Disposable {
  private readonly cache = new Map<string, Entry>();
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private running = false;
  private disposed = false;
  private readonly changed = new vscode.EventEmitter<string[]>();
  /** Session ids whose facts arrived. */
  readonly onDidChange = this.changed.event;
  private readonly deps: GitDeps;

  constructor(private readonly ledger: () => Ledger, private readonly log: Log, run = execGit) {
    this.deps = { run, timeoutMs: TIMEOUT_MS, trusted: vscode.workspace.isTrusted };
  }

  /** Facts of a session: undefined while not computed yet (it is queued), null when unknown. */
  facts(sessionId: string): SessionGitFacts | null | undefined {
    const entry = this.cache.get(sessionId);
    if (!entry || this.stale(sessionId, entry)) this.enqueue(sessionId);
    return entry?.facts;
  }

  /** Queues the most recently active sessions (after a scan). */
  refresh(): void {
    if (!vscode.workspace.isTrusted) return;
    const sessions = [...this.ledger().group('session')].sort((a, b) => b[1].lastTimestamp - a[1].lastTimestamp).slice(0, MAX_SESSIONS);
    for (const [id] of sessions) {
      const entry = this.cache.get(id);
      if (!entry || this.stale(id, entry)) this.enqueue(id);
    }
  }

  dispose(): void {
    this.disposed = true;
    this.changed.dispose();
  }

  private stale(sessionId: string, entry: Entry): boolean {
    const totals = this.ledger().group('session').get(sessionId);
    return !!totals && totals.lastTimestamp > entry.lastRequest && Date.now() - entry.at > REFRESH_MS;
  }

  private enqueue(sessionId: string): void {
    if (!vscode.workspace.isTrusted || this.queued.has(sessionId)) return;
    this.queued.add(sessionId);
    this.queue.push(sessionId);
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    const done: string[] = [];
    try {
      while (this.queue.length > 0 && !this.disposed) {
        const id = this.queue.shift()!;
        this.queued.delete(id);
        await this.compute(id);
        done.push(id);
        if (done.length >= 20) this.changed.fire(done.splice(0));
      }
    } finally {
      this.running = false;
      if (done.length > 0 && !this.disposed) this.changed.fire(done);
    }
  }

  private async compute(sessionId: string): Promise<void> {
    const ledger = this.ledger();
    const totals = ledger.group('session').get(sessionId);
    const info = ledger.session(sessionId);
    if (!totals || !info) return;
    const entry: Entry = { facts: null, lastRequest: totals.lastTimestamp, at: Date.now() };
    try {
      if (info.project) {
        const window = { start: totals.firstTimestamp, end: totals.lastTimestamp + GRACE_MS };
        const commits = await gitFacts(info.project, window, this.deps);
        if (commits !== UNKNOWN) {
          const touched = summarizeEdits(ledger.sessionEdits(sessionId)).paths;
          const survival = touched.length > 0 ? await survivingLines(info.project, touched, commits.hashes, this.deps) : UNKNOWN;
          entry.facts = { commits: commits.commits, survivingLines: survival === UNKNOWN ? null : survival.surviving };
        }
      }
    } catch (err) {
      this.log.warn(`git facts for session ${sessionId}: ${err instanceof Error ? err.message : String(err)} (shown as unknown)`);
    }
    this.cache.set(sessionId, entry);
  }
}
