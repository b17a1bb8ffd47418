/**
 * What is running now, in the editor: live sessions (ledger + log file activity), Claude
 * Code's status-line snapshots (watched in the state folder shared with
 * `agent-spend statusline`), plan limits (status line, logged or estimated), what each plan is
 * worth at API prices, and one notification per limit crossing (kept in globalState, like
 * budgets). It also writes the small spend summary the status line prints "today" from.
 */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as vscode from 'vscode';
import { detectLimitCrossings, estimatedFromBlock, mergeLimits, pruneLimitNotified, type AgentLimits, type EstimatedBlockInfo, type LimitCrossing, type LimitsSnapshot } from '../core/limits';
import type { UsageBlock } from '../core/blocks';
import { DEFAULT_FINISHED_AFTER_SECONDS, liveSessions, type ContextFigure, type LiveSession } from '../core/live';
import { planWorth, type PlanWorth } from '../core/plans';
import { DirWatcher } from '../sources/dirWatcher';
import { expandHome } from '../sources/json';
import { buildSpendSummary, writeSpendSummary } from '../state/spendSummary';
import { resolveStateDir, statuslineDir } from '../state/stateDir';
import { contextFigures, latestStatuslineLimits, pruneSnapshots, readSnapshots } from '../state/statuslineSnapshots';
import { COMMANDS } from './commands';
import type { Config } from './config';
import type { LiveSpend } from './liveSpend';
import type { Log } from './log';

const NOTIFIED_KEY = 'agentSpend.limits.notified';
/** Sessions age from running to idle to finished without new lines: re-judged this often. */
export const LIVE_TICK_MS = 5_000;
/** Plan worth walks every request: at most this often. */
const SLOW_PARTS_MS = 5_000;
/** The spend summary for the status line: at most this often. */
const SUMMARY_EVERY_MS = 10_000;
const SNAPSHOT_DEBOUNCE_MS = 150;

export interface LiveStateView {
  /** Running and idle sessions, running first (finished ones are not listed). */
  sessions: LiveSession[];
  running: number;
  limits: AgentLimits[];
  /** Claude Code's estimated 5-hour block, when no real figure for Claude Code exists. */
  estimated?: EstimatedBlockInfo;
  plans: PlanWorth[];
  stateDir: string;
}

export class LiveState implements vscode.Disposable {
  private stateDir: string;
  private readonly watcher: DirWatcher;
  private snapshotLimits: LimitsSnapshot | undefined;
  private context = new Map<string, ContextFigure>();
  private view: LiveStateView;
  private slowAt = 0;
  private plans: PlanWorth[] = [];
  private summaryAt = 0;
  private summaryTimer: NodeJS.Timeout | undefined;
  private snapshotTimer: NodeJS.Timeout | undefined;
  private readonly tick: NodeJS.Timeout;
  private disposed = false;
  private scanned = false;
  private snapshotProblemsLogged = new Set<string>();
  /** Every limit notification shown (its text), for the exported API. */
  readonly shown: string[] = [];

  constructor(
    private readonly live: LiveSpend,
    private config: Config,
    private readonly log: Log,
    private readonly memento: vscode.Memento,
    private readonly onChange: () => void,
    private readonly now: () => number = Date.now,
  ) {
    this.stateDir = this.resolveDir();
    this.view = { sessions: [], running: 0, limits: [], plans: [], stateDir: this.stateDir };
    this.watcher = new DirWatcher({
      onPath: (p) => {
        if (!p.split(/[\\/]/).pop()?.startsWith('.')) this.scheduleSnapshots(); // temp files start with '.'
      },
      onError: (dir, err) => this.log.warn(`cannot watch ${dir} (${err instanceof Error ? err.message : String(err)}); status line snapshots are read every ${LIVE_TICK_MS / 1000} s instead`),
    });
    this.tick = setInterval(() => {
      if (!this.watcher.size) this.scheduleSnapshots();
      this.onChange();
    }, LIVE_TICK_MS);
  }

  get folder(): string {
    return this.stateDir;
  }

  /** Creates the snapshot folder (our own), watches it and reads what is there. Not on the activation path. */
  async start(): Promise<void> {
    const dir = statuslineDir(this.stateDir);
    try {
      await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      this.log.warn(`cannot create the status line folder ${dir}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (this.disposed) return;
    this.watcher.update([dir]);
    await this.readSnapshots();
    void pruneSnapshots(fsp, this.stateDir, this.now()).catch(() => undefined);
  }

  applyConfig(config: Config): void {
    this.config = config;
    const dir = this.resolveDir();
    this.slowAt = 0;
    if (dir === this.stateDir) return;
    this.stateDir = dir;
    this.snapshotLimits = undefined;
    this.context.clear();
    this.watcher.update([]);
    void this.start();
  }

  current(): LiveStateView {
    return this.view;
  }

  /**
   * Recomputes the view; `scanned` says the first scan is done (limits are notified only then,
   * as budgets are: a half-read history is not a crossing). `block` is the current estimated
   * 5-hour block (the budgets evaluate it already; it is not looked for twice).
   */
  evaluate(scanned: boolean, block: UsageBlock | undefined): LiveStateView {
    const now = this.now();
    const ledger = this.live.currentLedger;
    const finishedAfter = DEFAULT_FINISHED_AFTER_SECONDS;
    const sessions = liveSessions({
      ledger, now, lastWrites: this.live.lastWrites(now - finishedAfter * 1000), context: this.context,
      runningSeconds: this.config.runningSeconds, finishedAfterSeconds: finishedAfter, contextWarnPercent: this.config.contextWarnPercent,
    });
    if (scanned && !this.scanned) {
      this.scanned = true;
      this.slowAt = 0; // the plan worth computed on a half-read history is stale now
    }
    const candidates = [...ledger.latestLimits(), ...(this.snapshotLimits ? [this.snapshotLimits] : [])];
    const limits = mergeLimits(candidates, now);
    if (now - this.slowAt >= SLOW_PARTS_MS) {
      this.slowAt = now;
      this.plans = this.config.plans.length > 0 ? planWorth(ledger.allRecords(), this.config.plans, now) : [];
    }
    const claudeIsReal = limits.some((l) => l.agent === 'claude-code' && l.source !== 'estimated');
    const estimated = claudeIsReal || !this.config.enabledAgents.includes('claude-code') ? undefined : estimatedFromBlock(block);
    this.view = {
      sessions, running: sessions.filter((s) => s.state === 'running').length, limits,
      ...(estimated ? { estimated } : {}), plans: this.plans, stateDir: this.stateDir,
    };
    if (scanned) this.notify(limits, now);
    return this.view;
  }

  /** The ledger changed: the status line's summary is rewritten (at most every 10 s). */
  ledgerChanged(): void {
    if (this.summaryTimer) return;
    const wait = Math.max(0, this.summaryAt + SUMMARY_EVERY_MS - this.now());
    this.summaryTimer = setTimeout(() => {
      this.summaryTimer = undefined;
      this.summaryAt = this.now();
      void this.writeSummary();
    }, wait);
  }

  private async writeSummary(): Promise<void> {
    try {
      await writeSpendSummary(fsp, this.stateDir, buildSpendSummary(this.live.currentLedger.allRecords(), this.now()));
    } catch (err) {
      this.log.warn(`cannot write the status line summary in ${this.stateDir}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private notify(limits: readonly AgentLimits[], now: number): void {
    const before = new Set(this.memento.get<string[]>(NOTIFIED_KEY, []));
    const { crossings, notified } = detectLimitCrossings(limits, before, now, this.config.limitWarnAt, { locale: vscode.env.language });
    const pruned = pruneLimitNotified(notified, now);
    if (pruned.size !== before.size || [...pruned].some((k) => !before.has(k))) void this.memento.update(NOTIFIED_KEY, [...pruned]);
    for (const c of crossings) this.show(c);
  }

  private show(c: LimitCrossing): void {
    this.shown.push(c.message);
    this.log.info(`limit notification: ${c.message}`);
    const show = c.severity === 'info' ? vscode.window.showInformationMessage : vscode.window.showWarningMessage;
    void show(`Agent Spend: ${c.message}`, 'Open breakdown').then((pick) => {
      if (pick) void vscode.commands.executeCommand(COMMANDS.showPanel);
    });
  }

  private scheduleSnapshots(): void {
    if (this.snapshotTimer) return;
    this.snapshotTimer = setTimeout(() => {
      this.snapshotTimer = undefined;
      void this.readSnapshots();
    }, SNAPSHOT_DEBOUNCE_MS);
  }

  private async readSnapshots(): Promise<void> {
    const dir = this.stateDir;
    const { snapshots, problems } = await readSnapshots(fsp, dir);
    if (this.disposed || dir !== this.stateDir) return;
    for (const p of problems) {
      if (this.snapshotProblemsLogged.has(p.file)) continue;
      this.snapshotProblemsLogged.add(p.file);
      this.log.warn(`status line snapshot ${p.file} skipped: ${p.reason}`);
    }
    this.snapshotLimits = latestStatuslineLimits(snapshots);
    this.context = contextFigures(snapshots);
    this.onChange();
  }

  private resolveDir(): string {
    return resolveStateDir({ env: process.env, home: os.homedir(), platform: process.platform, override: expandHome(this.config.stateDir, os.homedir()) });
  }

  dispose(): void {
    this.disposed = true;
    clearInterval(this.tick);
    if (this.snapshotTimer) clearTimeout(this.snapshotTimer);
    if (this.summaryTimer) clearTimeout(this.summaryTimer);
    this.watcher.dispose();
  }
}
