/**
 * The live ledger behind every view: runs the first scan after activation, watches
 * the agents' log folders (outside the workspace too), folds appended bytes in
 * within milliseconds, and rescans slowly as a safety net for missed watch events.
 */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Ledger } from '../core/ledger';
import { Pricer } from '../core/pricing';
import { summarize, type SpendSummary } from '../core/summary';
import { DirWatcher, foldersToWatch } from '../sources/dirWatcher';
import { createSources } from '../sources/registry';
import { splitAiderPaths } from '../sources/locations';
import { formatWarning, Scanner, type ScanStats, type ScanWarning } from '../sources/scanner';
import { Tailer } from '../sources/tailer';
import type { IndexSnapshot } from '../state/indexCodec';
import { IndexStore } from '../state/indexStore';
import type { Config } from './config';
import { Disposable } from './disposable';
import type { Log } from './log';

/** Appends are coalesced for this long before reading (an agent writes several lines per response). */
const CHANGE_DEBOUNCE_MS = 25;
const LOG_EXTENSIONS = new Set(['.jsonl', '.json', '.md']);
/** New files/folders trigger a discovery pass after this delay. */
const DISCOVERY_DEBOUNCE_MS = 250;
/** Index writes are batched: at most one per this interval while agents write. */
const SAVE_DEBOUNCE_MS = 5_000;

export interface LiveCounters {
  /** Discovery passes (first scan, refresh, new files, safety-net rescans). */
  fullScans: number;
  /** Reads of changed files triggered by watch events. */
  incrementalReads: number;
  lastScan?: ScanStats;
  /** When the first scan finished (ms since activation), for the activation report. */
  firstScanMs?: number;
  /** What the persistent index gave at start: requests, files, ms to load, ms since start to the first total. */
  index?: { requests: number; files: number; loadMs: number; firstTotalMs: number };
  indexSaves: number;
}

/** Passes on at most one progress report per 200 ms (and the last one). */
function throttledProgress(report: (done: number, total: number, bytes: number) => void) {
  let last = 0;
  return (done: number, total: number, bytes: number) => {
    const now = Date.now();
    if (done === total || now - last >= 200) {
      last = now;
      report(done, total, bytes);
    }
  };
}

export class LiveSpend extends Disposable {
  private ledger: Ledger;
  private scanner: Scanner;
  private readonly updated = this.own(new vscode.EventEmitter<void>());
  /** Fires after the ledger changed (throttling is up to the listener). */
  readonly onDidUpdate = this.updated.event;
  readonly counters: LiveCounters = { fullScans: 0, incrementalReads: 0, indexSaves: 0 };
  private readonly store: IndexStore | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
  private dirty = false;
  private readonly watcher = new DirWatcher({
    onPath: (p, event) => this.onChanged(p, event),
    onError: (dir, err) => this.watchProblem(dir, err),
  });
  private watchProblems = 0;
  private pendingFiles = new Set<string>();
  private changeTimer: NodeJS.Timeout | undefined;
  private discoveryTimer: NodeJS.Timeout | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly startedAt = Date.now();
  private resolveReady!: () => void;
  /** Resolves when the first scan has finished. */
  readonly ready = new Promise<void>((r) => (this.resolveReady = r));

  /** `storageDir`: where the persistent index lives (the extension's global storage); none: no index. */
  constructor(private config: Config, private readonly log: Log, storageDir?: string) {
    super();
    this.ledger = new Ledger(new Pricer(undefined, config.priceOverrides));
    this.scanner = this.createScanner();
    if (storageDir) this.store = new IndexStore(storageDir, fsp);
  }

  /** Loads the index and catches up on the logs, after activation has returned. */
  start(): void {
    setTimeout(() => {
      void this.enqueue(async () => {
        await this.loadIndex();
        await this.scan(this.counters.index ? 'catch-up after the index' : 'first scan');
      }).then(() => this.resolveReady());
    }, 0);
    this.scheduleRescan();
  }

  /** Writes the index now if anything changed (on deactivation). */
  async flush(): Promise<void> {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    if (this.dirty) await this.enqueue(() => this.saveIndex());
  }

  /** Forgets the stored history (requests of deleted logs too) and reads the logs on disk again. */
  clearHistory(): Promise<void> {
    return this.enqueue(async () => {
      await this.store?.clear();
      this.ledger = new Ledger(new Pricer(undefined, this.config.priceOverrides));
      this.scanner = this.createScanner();
      await this.scan('history cleared, rescan');
    });
  }

  /** Session id → the latest write to one of its logs since `sinceMs` (file mtimes as last read). */
  lastWrites(sinceMs: number): Map<string, number> {
    return this.scanner.lastWrites(this.ledger, sinceMs);
  }

  /** Requests kept from logs that are no longer on disk (the agents' cleanup removed them). */
  historyOnlyRequests(): number {
    let n = 0;
    for (const r of this.ledger.allRecords()) if (!this.scanner.isTracked(r.file)) n++;
    return n;
  }

  private async loadIndex(): Promise<void> {
    if (!this.store) return;
    const started = Date.now();
    const result = await this.store.load();
    if (result.kind === 'missing') {
      this.log.info(`no index yet at ${this.store.file}: reading every log`);
      return;
    }
    if (result.kind === 'unusable') {
      this.log.warn(`index ${this.store.file} is unusable (${result.reason}): rebuilding it from the logs`);
      this.dirty = true;
      return;
    }
    const { snapshot, bytes } = result;
    const keep = this.retained(snapshot.allRecords());
    this.ledger.restore(keep);
    for (const p of snapshot.prompts) this.ledger.addPrompt(p);
    for (const e of snapshot.edits) this.ledger.addEdit(e);
    this.ledger.restoreLimits(snapshot.limits ?? []);
    this.scanner.restoreFiles(snapshot.files);
    const loadMs = Date.now() - started;
    this.counters.index = { requests: keep.length, files: snapshot.files.length, loadMs, firstTotalMs: Date.now() - this.startedAt };
    this.log.info(`index: ${keep.length} requests, ${snapshot.files.length} files (${(bytes / 1e6).toFixed(1)} MB) loaded in ${loadMs} ms`);
    this.updated.fire();
  }

  /** Records within `agentSpend.history.retentionDays` of enabled agents (all, when 0). */
  private retained<T extends { timestamp: number; agent: string }>(records: Iterable<T>): T[] {
    const days = this.config.retentionDays;
    const cutoff = days > 0 ? Date.now() - days * 86_400_000 : -Infinity;
    const agents = new Set<string>(this.config.enabledAgents);
    const out: T[] = [];
    for (const r of records) if (r.timestamp >= cutoff && agents.has(r.agent)) out.push(r);
    return out;
  }

  private scheduleSave(): void {
    if (!this.store) return;
    this.dirty = true;
    this.saveTimer ??= setTimeout(() => {
      this.saveTimer = undefined;
      void this.enqueue(() => this.saveIndex());
    }, SAVE_DEBOUNCE_MS);
  }

  private async saveIndex(): Promise<void> {
    if (!this.store || !this.dirty) return;
    const snapshot: IndexSnapshot = { savedAt: Date.now(), files: this.scanner.exportFiles(), records: this.retained(this.ledger.allRecords()), prompts: [...this.ledger.allPrompts()], edits: [...this.ledger.allEdits()], limits: this.ledger.latestLimits() };
    if (await this.store.save(snapshot)) {
      this.dirty = false;
      this.counters.indexSaves++;
    } else {
      this.scheduleSave(); // another window is writing: try again later
    }
  }

  summary(now = Date.now()): SpendSummary {
    return summarize(this.ledger, now);
  }

  get currentLedger(): Ledger {
    return this.ledger;
  }

  warnings(): ScanWarning[] {
    return this.scanner.allWarnings();
  }

  /**
   * Reads every log again from the start. The ledger keeps its history (requests of logs
   * the agents deleted); re-read requests merge by key, so totals are not doubled.
   */
  refresh(): Promise<void> {
    return this.enqueue(async () => {
      this.scanner = this.createScanner();
      await this.scan('refresh');
    });
  }

  applyConfig(config: Config, change: { sourcesChanged: boolean; pricingChanged: boolean }): void {
    this.config = config;
    if (change.sourcesChanged) {
      this.log.info('sources changed in settings: rescanning');
      void this.refresh();
    } else if (change.pricingChanged) {
      void this.enqueue(async () => {
        this.ledger.reprice(new Pricer(undefined, config.priceOverrides));
        this.log.info('price overrides changed: repriced every request');
        this.updated.fire();
      });
    }
    this.scheduleRescan();
  }

  override dispose(): void {
    for (const t of [this.changeTimer, this.discoveryTimer, this.rescanTimer, this.saveTimer]) if (t) clearTimeout(t);
    this.watcher.dispose();
    super.dispose();
  }

  private createScanner(): Scanner {
    const env = { env: process.env, home: os.homedir(), platform: process.platform };
    const workspaceFolders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
    const sources = createSources(env, fsp, {
      enabled: this.config.enabledAgents,
      claudeCodePaths: this.config.claudeCodePaths,
      ...(this.config.codexHome ? { codexHome: this.config.codexHome } : {}),
      ...(this.config.geminiHome ? { geminiHome: this.config.geminiHome } : {}),
      ...splitAiderPaths([...workspaceFolders, ...this.config.aiderPaths]),
      ...(this.config.openCodeDataDir ? { openCodeDataDir: this.config.openCodeDataDir } : {}),
      clinePaths: this.config.clinePaths,
    });
    return new Scanner(sources, new Tailer(fsp), (events, replacing) => (replacing ? this.ledger.replaceFile(replacing, events) : this.ledger.addAll(events)), {
      onWarning: (w) => this.log.warn(formatWarning(w)),
    });
  }

  private fullScan(reason: string): Promise<void> {
    return this.enqueue(() => this.scan(reason));
  }

  private async scan(reason: string): Promise<void> {
    const before = this.ledger.size;
    // Without an index to start from, a first scan may read gigabytes: show its progress.
    const stats = this.counters.fullScans === 0 && !this.counters.index
      ? await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: 'Agent Spend' },
        (progress) => this.scanner.scanAll(throttledProgress((done, total, bytes) => {
          progress.report({ message: `reading agent logs: ${done}/${total} files, ${(bytes / 1e6).toFixed(0)} MB` });
        })),
      )
      : await this.scanner.scanAll();
    this.counters.fullScans++;
    this.counters.lastScan = stats;
    this.counters.firstScanMs ??= Date.now() - this.startedAt;
    if (reason !== 'rescan' || stats.bytesRead > 0) {
      this.log.info(`${reason}: ${stats.files} files, ${(stats.bytesRead / 1e6).toFixed(1)} MB read, ${this.ledger.size - before} new requests (${this.ledger.size} total) in ${stats.durationMs} ms`);
    }
    this.updateWatchers();
    if (stats.events > 0 || stats.filesRead > 0 || reason !== 'rescan') this.scheduleSave();
    this.updated.fire();
  }

  /** Watches every folder that holds logs, up to the roots (new folders appear as events in their parent). */
  private updateWatchers(): void {
    const before = this.watcher.size;
    this.watcher.update(foldersToWatch(this.scanner.trackedPaths(), this.scanner.roots));
    if (this.watcher.size !== before) this.log.info(`watching ${this.watcher.size} log folders`);
  }

  private watchProblem(dir: string, err: unknown): void {
    // Reported for the first few folders only: a watch limit would otherwise flood the log.
    if (++this.watchProblems <= 3) {
      this.log.warn(`cannot watch ${dir} (${err instanceof Error ? err.message : String(err)}); changes there show up with the periodic rescan`);
    }
  }

  private onChanged(file: string, event: 'change' | 'rename'): void {
    if (this.scanner.isTracked(file)) {
      this.pendingFiles.add(file);
      this.changeTimer ??= setTimeout(() => this.flushChanges(), CHANGE_DEBOUNCE_MS);
    } else if (event === 'rename' || LOG_EXTENSIONS.has(path.extname(file))) {
      // A new session file or a new (day, project, subagents) folder: discover it.
      if (this.discoveryTimer) clearTimeout(this.discoveryTimer);
      this.discoveryTimer = setTimeout(() => {
        this.discoveryTimer = undefined;
        void this.fullScan('new log files');
      }, DISCOVERY_DEBOUNCE_MS);
    }
  }

  private flushChanges(): void {
    this.changeTimer = undefined;
    const files = [...this.pendingFiles];
    this.pendingFiles.clear();
    void this.enqueue(async () => {
      const before = this.ledger.totals.spendNanos + this.ledger.totals.requests;
      const stats = await this.scanner.readFiles(files);
      this.counters.incrementalReads++;
      if (stats.events > 0 || this.ledger.totals.spendNanos + this.ledger.totals.requests !== before) {
        this.scheduleSave();
        this.updated.fire();
      }
    });
  }

  private scheduleRescan(): void {
    if (this.rescanTimer) clearTimeout(this.rescanTimer);
    this.rescanTimer = setTimeout(() => {
      void this.fullScan('rescan').finally(() => this.scheduleRescan());
    }, this.config.rescanSeconds * 1000);
  }

  /** Scans run one at a time, in order; a failure is logged and never reaches the host. */
  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(task).catch((err: unknown) => {
      this.log.error(`scan failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    });
    this.queue = run;
    return run;
  }
}
