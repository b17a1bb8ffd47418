/**
 * Drives every source: discovers their files, reads what is new in each through
 * the tailer (bounded concurrency), and hands the events to a sink (the ledger).
 * Keeps one cursor and one parser per file between scans, and every problem once.
 */
import { isPrompt, isUsage, type SourceEvent } from '../core/events';
import type { Ledger } from '../core/ledger';
import { toNeedles, type Needle } from './needle';
import { parserStateValue, type LineParser, type Source } from './source';
import type { FileEntry } from '../state/indexCodec';
import type { FileCursor, Tailer } from './tailer';
import { errorText } from './walk';

export interface ScanStats {
  files: number;
  filesRead: number;
  bytesRead: number;
  /** Usage events read (copies included); prompts are counted apart. */
  events: number;
  prompts: number;
  durationMs: number;
}

export type WarningKind = 'unreadable-folder' | 'unreadable-file' | 'malformed-lines' | 'oversized-lines' | 'malformed-document';

/** Documents above this size are not read (a rewritten-in-place JSON file this large is not a session log). */
const MAX_DOCUMENT_BYTES = 256 * 1024 * 1024;

/** A warning as one line: `agent: path: message (3×)`. */
export function formatWarning(w: ScanWarning): string {
  return `${w.agent}: ${w.path}: ${w.message}${w.count > 1 ? ` (${w.count}×)` : ''}`;
}

export interface ScanWarning {
  agent: string;
  path: string;
  kind: WarningKind;
  message: string;
  count: number;
}

const NEEDLES = new WeakMap<Source, Needle[]>();

/** A source's needles, made once per source (not once per file). */
function needlesOf(source: Source): Needle[] {
  let n = NEEDLES.get(source);
  if (!n) NEEDLES.set(source, (n = toNeedles(source.needles)));
  return n;
}

interface TrackedFile {
  source: Source;
  root: string;
  needles: Needle[];
  cursor?: FileCursor;
  parser?: LineParser;
  /** A restored line file's parser state, until its parser is needed (most files of a warm start never are). */
  savedState?: { state: unknown };
  /** Documents: size and mtime of the last reading, and whether it parsed. */
  docStamp?: string;
  docFailures?: number;
  /** Serialises reads of one file: a watcher event during a scan waits for it. */
  busy?: Promise<void>;
}

export interface ScannerOptions {
  concurrency?: number;
  /** Called once per new problem (file/folder + kind); later repeats only raise its count. */
  onWarning?: (w: ScanWarning) => void;
  now?: () => number;
}

/** Progress of one scan: files read so far out of the files to read, and bytes. */
export type ScanProgress = (done: number, total: number, bytesRead: number) => void;

export class Scanner {
  private readonly files = new Map<string, TrackedFile>();
  private readonly warnings = new Map<string, ScanWarning>();
  /** Read positions from the persistent index, applied when discovery finds their files. */
  private restored = new Map<string, FileEntry>();
  private watchRoots: string[] = [];

  constructor(
    private readonly sources: readonly Source[],
    private readonly tailer: Tailer,
    /** Receives new events; `replacing` names a document whose earlier events this reading replaces. */
    private readonly sink: (events: SourceEvent[], replacing?: string) => void,
    private readonly opts: ScannerOptions = {},
  ) {}

  /** Folders that exist and hold (or will hold) the sources' logs. */
  get roots(): readonly string[] {
    return this.watchRoots;
  }

  get trackedFiles(): number {
    return this.files.size;
  }

  /** Each read file's modification time as of its last reading (epoch ms): line files and documents. */
  *fileTimes(): IterableIterator<[path: string, mtimeMs: number]> {
    for (const [path, t] of this.files) {
      const mtime = t.cursor ? t.cursor.mtimeMs : t.docStamp ? Number(t.docStamp.slice(t.docStamp.indexOf(':') + 1)) : NaN;
      if (Number.isFinite(mtime)) yield [path, mtime];
    }
  }

  /**
   * Session id → the latest write (as last read) to a log holding one of its requests, for files
   * written since `sinceMs`. `ledger` must be in live mode (it knows each file's requests).
   */
  lastWrites(ledger: Pick<Ledger, 'sessionsOfFile'>, sinceMs = -Infinity): Map<string, number> {
    const out = new Map<string, number>();
    for (const [file, mtime] of this.fileTimes()) {
      if (mtime < sinceMs) continue;
      for (const session of ledger.sessionsOfFile(file)) if (mtime > (out.get(session) ?? -Infinity)) out.set(session, mtime);
    }
    return out;
  }

  /** Every tracked file with the root it was found under. */
  *trackedPaths(): IterableIterator<{ path: string; root: string }> {
    for (const [path, t] of this.files) yield { path, root: t.root };
  }

  allWarnings(): ScanWarning[] {
    return [...this.warnings.values()];
  }

  /** Discovers every source's files and reads what is new in each. */
  async scanAll(onProgress?: ScanProgress): Promise<ScanStats> {
    const started = this.now();
    const seen = await this.discoverAll();
    const stats = await this.readMany(seen, onProgress);
    stats.durationMs = this.now() - started;
    return stats;
  }

  /** Finds every source's files and tracks them, without reading; returns their paths. */
  async discoverAll(): Promise<string[]> {
    const seen = new Set<string>();
    const roots = new Set<string>();
    for (const source of this.sources) {
      const found = await source.discover();
      for (const r of found.roots) roots.add(r);
      for (const p of found.problems) this.warn(source.agent, p.path, 'unreadable-folder', p.message);
      for (const f of found.files) {
        seen.add(f.path);
        if (!this.files.has(f.path)) this.files.set(f.path, this.track(source, f.root, this.restored.get(f.path)));
      }
    }
    this.watchRoots = [...roots];
    this.restored.clear();
    // A vanished file's events stay in the ledger (history); only its cursor goes.
    for (const path of this.files.keys()) if (!seen.has(path)) this.files.delete(path);
    return [...seen];
  }

  /** Bytes not read yet of each tracked file (its size, less what its cursor covers), for planning a scan. */
  async pendingBytes(stat: (p: string) => Promise<{ size: number }>): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    await Promise.all([...this.files].map(async ([path, t]) => {
      const size = await stat(path).then((st) => st.size, () => 0);
      out.set(path, Math.max(0, size - (t.cursor?.offset ?? 0)));
    }));
    return out;
  }

  /** Read positions and parser states of files another scanner (a worker) read, as if read here. */
  adoptFiles(entries: readonly FileEntry[]): void {
    for (const e of entries) {
      const t = this.files.get(e.path);
      if (!t) continue;
      if (e.docStamp) t.docStamp = e.docStamp;
      if (e.cursor) t.cursor = e.cursor;
      t.parser = undefined;
      t.savedState = e.parserState !== undefined ? { state: e.parserState } : undefined;
    }
  }

  /** Reads what is new in the given files (e.g. from a watcher); unknown paths trigger no discovery. */
  async readFiles(paths: readonly string[]): Promise<ScanStats> {
    const started = this.now();
    const stats = await this.readMany(paths.filter((p) => this.files.has(p)));
    stats.durationMs = this.now() - started;
    return stats;
  }

  /** Every file's read position and parser state, for the persistent index. */
  exportFiles(): FileEntry[] {
    const out: FileEntry[] = [];
    for (const [path, t] of this.files) {
      const e: FileEntry = { path, root: t.root };
      if (t.cursor) e.cursor = t.cursor;
      if (t.docStamp) e.docStamp = t.docStamp;
      const state = t.parser ? t.parser.saveState?.() : t.savedState?.state;
      if (state !== undefined) e.parserState = state;
      out.push(e);
    }
    return out;
  }

  /** Positions to resume from (before the first scanAll): files not found again are ignored. */
  restoreFiles(entries: readonly FileEntry[]): void {
    this.restored = new Map(entries.map((e) => [e.path, e]));
  }

  private track(source: Source, root: string, saved: FileEntry | undefined): TrackedFile {
    const t: TrackedFile = { source, root, needles: needlesOf(source) };
    if (!saved) return t;
    if (saved.docStamp) t.docStamp = saved.docStamp;
    // A line file resumes only with its parser's state; without it, it is read again from the start.
    if (saved.cursor && saved.parserState !== undefined) {
      t.cursor = saved.cursor;
      t.savedState = { state: saved.parserState };
    }
    return t;
  }

  isTracked(path: string): boolean {
    return this.files.has(path);
  }

  private async readMany(all: readonly string[], onProgress?: ScanProgress): Promise<ScanStats> {
    const stats: ScanStats = { files: all.length, filesRead: 0, bytesRead: 0, events: 0, prompts: 0, durationMs: 0 };
    // A warm CLI run finds nearly every file unchanged: one immediate stat each, not a read each.
    const paths = all.filter((p) => !this.unchangedNow(p));
    let done = all.length - paths.length;
    if (done > 0) onProgress?.(done, all.length, 0);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < paths.length) {
        const path = paths[next++]!;
        await this.readOne(path, stats);
        onProgress?.(++done, all.length, stats.bytesRead);
      }
    };
    const n = Math.max(1, Math.min(this.opts.concurrency ?? 4, paths.length));
    await Promise.all(Array.from({ length: n }, worker));
    return stats;
  }

  /** A line file read before (documents have no cursor), not being read, and unchanged since: known without waiting. */
  private unchangedNow(path: string): boolean {
    const t = this.files.get(path);
    return t !== undefined && t.busy === undefined && t.cursor !== undefined && this.tailer.unchangedNow(path, t.cursor);
  }

  private async readOne(path: string, stats: ScanStats): Promise<void> {
    const tracked = this.files.get(path);
    if (!tracked) return;
    while (tracked.busy) await tracked.busy;
    let done!: () => void;
    tracked.busy = new Promise<void>((r) => (done = r));
    try {
      if (tracked.source.isDocument?.(path) && tracked.source.parseDocument) {
        await this.readDocument(path, tracked, stats);
        return;
      }
      const result = await this.tailer.read(
        path,
        tracked.needles,
        (fresh) => {
          if (fresh) tracked.parser = tracked.source.createParser(path);
          else tracked.parser ??= tracked.source.createParser(path, parserStateValue(tracked.savedState?.state));
          tracked.savedState = undefined;
          return tracked.parser;
        },
        tracked.cursor,
      );
      tracked.cursor = result.cursor;
      if (result.bytesRead > 0) stats.filesRead++;
      stats.bytesRead += result.bytesRead;
      countEvents(stats, result.events);
      if (result.events.length > 0) this.deliver(result.events);
      const agent = tracked.source.agent;
      if (result.malformedLines > 0) {
        this.warn(agent, path, 'malformed-lines', `skipped malformed line(s): ${result.firstError ?? 'invalid JSON'}`, result.malformedLines);
      }
      if (result.oversizedLines > 0) this.warn(agent, path, 'oversized-lines', 'skipped line(s) over the line size limit', result.oversizedLines);
    } catch (err) {
      if (err instanceof SinkFailure) throw err.error;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') this.files.delete(path); // vanished between discovery and read: not a problem
      else this.warn(tracked.source.agent, path, 'unreadable-file', errorText(err));
    } finally {
      tracked.busy = undefined;
      done();
    }
  }

  /**
   * Reads a rewritten-in-place document whole when its size or mtime changed. A reading
   * that does not parse (caught mid-write) keeps what the ledger has and is retried on
   * the next change; it is reported only if it keeps failing across three changes.
   */
  private async readDocument(path: string, tracked: TrackedFile, stats: ScanStats): Promise<void> {
    const handle = await this.tailer.fs.open(path, 'r');
    let content: Buffer;
    try {
      const st = await handle.stat();
      const stamp = `${st.size}:${st.mtimeMs}`;
      if (stamp === tracked.docStamp) return;
      tracked.docStamp = stamp;
      if (tracked.source.opensItself?.(path)) {
        content = Buffer.alloc(0);
      } else if (st.size > MAX_DOCUMENT_BYTES) {
        this.warn(tracked.source.agent, path, 'oversized-lines', `skipped: ${Math.round(st.size / 1e6)} MB is over the document size limit`);
        return;
      } else {
        content = await handle.readFile();
      }
    } finally {
      await handle.close();
    }
    stats.filesRead++;
    stats.bytesRead += content.length;
    let events: SourceEvent[];
    try {
      events = tracked.source.parseDocument!(path, content);
    } catch (err) {
      tracked.docFailures = (tracked.docFailures ?? 0) + 1;
      if (tracked.docFailures >= 3) this.warn(tracked.source.agent, path, 'malformed-document', `does not parse: ${errorText(err)}`);
      return;
    }
    tracked.docFailures = 0;
    countEvents(stats, events);
    if (tracked.source.replacesOnReread) this.deliver(events, path);
    else if (events.length > 0) this.deliver(events);
  }

  /** Hands events to the sink; what it throws is its own failure (not the file's) and ends the scan. */
  private deliver(events: SourceEvent[], replacing?: string): void {
    try {
      this.sink(events, replacing);
    } catch (err) {
      throw new SinkFailure(err);
    }
  }

  private warn(agent: string, path: string, kind: WarningKind, message: string, count = 1): void {
    const id = `${kind}\u0000${path}`;
    const existing = this.warnings.get(id);
    if (existing) {
      existing.count += count;
      return;
    }
    const w: ScanWarning = { agent, path, kind, message, count };
    this.warnings.set(id, w);
    this.opts.onWarning?.(w);
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }
}

function countEvents(stats: ScanStats, events: readonly SourceEvent[]): void {
  for (const e of events) {
    if (isPrompt(e)) stats.prompts++;
    else if (isUsage(e)) stats.events++;
  }
}

/** Carries an error of the sink past readOne's handling of file errors. */
class SinkFailure {
  constructor(readonly error: unknown) {}
}
