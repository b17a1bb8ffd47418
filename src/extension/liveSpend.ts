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
import { Scanner, type ScanStats, type ScanWarning } from '../sources/scanner';
import { Tailer } from '../sources/tailer';
import type { Config } from './config';
import { Disposable } from './disposable';
import type { Log } from './log';

/** Appends are coalesced for this long before reading (an agent writes several lines per response). */
const CHANGE_DEBOUNCE_MS = 25;
const LOG_EXTENSIONS = new Set(['.jsonl', '.json']);
/** New files/folders trigger a discovery pass after this delay. */
const DISCOVERY_DEBOUNCE_MS = 250;

export interface LiveCounters {
  /** Discovery passes (first scan, refresh, new files, safety-net rescans). */
  fullScans: number;
  /** Reads of changed files triggered by watch events. */
  incrementalReads: number;
  lastScan?: ScanStats;
  /** When the first scan finished (ms since activation), for the activation report. */
  firstScanMs?: number;
}

export class LiveSpend extends Disposable {
  private ledger: Ledger;
  private scanner: Scanner;
  private readonly updated = this.own(new vscode.EventEmitter<void>());
  /** Fires after the ledger changed (throttling is up to the listener). */
  readonly onDidUpdate = this.updated.event;
  readonly counters: LiveCounters = { fullScans: 0, incrementalReads: 0 };
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

  constructor(private config: Config, private readonly log: Log) {
    super();
    this.ledger = new Ledger(new Pricer(undefined, config.priceOverrides));
    this.scanner = this.createScanner();
  }

  /** Schedules the first scan (never on the activation path). */
  start(): void {
    setTimeout(() => void this.fullScan('first scan').then(() => this.resolveReady()), 0);
    this.scheduleRescan();
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

  /** Forgets everything and reads every log again from the start. */
  refresh(): Promise<void> {
    return this.enqueue(async () => {
      this.ledger = new Ledger(new Pricer(undefined, this.config.priceOverrides));
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
    for (const t of [this.changeTimer, this.discoveryTimer, this.rescanTimer]) if (t) clearTimeout(t);
    this.watcher.dispose();
    super.dispose();
  }

  private createScanner(): Scanner {
    const env = { env: process.env, home: os.homedir(), platform: process.platform };
    const sources = createSources(env, fsp, {
      enabled: this.config.enabledAgents,
      claudeCodePaths: this.config.claudeCodePaths,
      ...(this.config.codexHome ? { codexHome: this.config.codexHome } : {}),
    });
    return new Scanner(sources, new Tailer(fsp), (events) => this.ledger.addAll(events), {
      onWarning: (w) => this.log.warn(`${w.agent}: ${w.path}: ${w.message}${w.count > 1 ? ` (${w.count})` : ''}`),
    });
  }

  private fullScan(reason: string): Promise<void> {
    return this.enqueue(() => this.scan(reason));
  }

  private async scan(reason: string): Promise<void> {
    const before = this.ledger.size;
    const stats = await this.scanner.scanAll();
    this.counters.fullScans++;
    this.counters.lastScan = stats;
    this.counters.firstScanMs ??= Date.now() - this.startedAt;
    if (reason !== 'rescan' || stats.bytesRead > 0) {
      this.log.info(`${reason}: ${stats.files} files, ${(stats.bytesRead / 1e6).toFixed(1)} MB read, ${this.ledger.size - before} new requests (${this.ledger.size} total) in ${stats.durationMs} ms`);
    }
    this.updateWatchers();
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
      const before = this.ledger.totals.costNanos + this.ledger.totals.requests;
      const stats = await this.scanner.readFiles(files);
      this.counters.incrementalReads++;
      if (stats.events > 0 || this.ledger.totals.costNanos + this.ledger.totals.requests !== before) this.updated.fire();
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
