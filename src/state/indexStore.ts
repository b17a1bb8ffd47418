/**
 * Where the index lives on disk: `<dir>/index.bin`, written atomically (temp file +
 * rename, so a reader never sees half a file) under a lock file, so two VS Code windows
 * (or the CLI) never interleave writes. A lock left by a crashed writer is taken over
 * once it is older than STALE_LOCK_MS or its process is gone.
 *
 * Beside it, `<dir>/index.delta` may hold what changed since: the requests added or replaced,
 * the rows of index.bin they supersede, the files read since and the new edits, in the same
 * format, naming the index.bin it extends by its id. A save after a small append writes only
 * that (a few KB instead of the whole index); once the delta grows past a tenth of the index,
 * the next save writes a whole new index.bin and removes it. A delta that names another
 * index.bin (one written meanwhile) is ignored: the new index already holds it.
 */
import * as path from 'node:path';
import type { EditRecord } from '../core/output';
import { parserStateValue } from '../sources/source';
import { decodeIndexColumns, encodeIndex, IndexFormatError, RequestColumns, type DecodedIndex, type FileEntry, type IndexBytes, type IndexSnapshot } from './indexCodec';

export interface IndexFs {
  readFile(p: string): Promise<Buffer>;
  writeFile(p: string, data: string | Uint8Array, opts: { flag: 'wx' | 'w' }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(p: string): Promise<void>;
  mkdir(p: string, opts: { recursive: true }): Promise<unknown>;
  stat(p: string): Promise<{ mtimeMs: number }>;
  /**
   * Opens a file to read in parts, synchronously (optional: the CLI's). A lazy load then reads
   * the index's head and, only when needed, the rest, from the same open file, whatever a writer
   * renames over its path meanwhile.
   */
  openParts?(p: string): FileParts;
}

export interface FileParts {
  readonly size: number;
  /** Up to `length` bytes at `at` (fewer only at the end of the file). */
  read(at: number, length: number): Buffer;
  close(): void;
}

export const STALE_LOCK_MS = 30_000;
/** A delta is written while it holds at most this share of the index's requests (or DELTA_MIN_ROWS). */
const DELTA_MAX_SHARE = 0.1;
const DELTA_MIN_ROWS = 2_000;

/**
 * The index as loaded: index.bin with its delta folded in. `requests` are index.bin's rows, of
 * which `gone` marks those the delta supersedes; `extra` are the delta's own rows (keys that are
 * not alive in `requests`). Files, edits, prompts and limits are already merged.
 */
export class LoadedIndex implements DecodedIndex {
  readonly savedAt: number;
  readonly files: FileEntry[];
  readonly requests: RequestColumns;
  readonly limits: DecodedIndex['limits'];
  readonly id: string | undefined;
  readonly gone: Uint8Array | undefined;
  readonly extra: RequestColumns | undefined;

  constructor(readonly full: DecodedIndex, readonly changes?: DecodedIndex) {
    const base = full;
    const delta = changes;
    this.requests = base.requests;
    this.id = base.id;
    this.savedAt = delta?.savedAt ?? base.savedAt;
    this.limits = delta?.limits && delta.limits.length > 0 ? delta.limits : base.limits;
    if (!delta?.delta) {
      this.files = base.files;
      this.gone = undefined;
      this.extra = undefined;
      return;
    }
    const gone = new Uint8Array(base.requests.length);
    for (const i of delta.delta.goneRows) if (i < gone.length) gone[i] = 1;
    this.gone = gone;
    this.extra = delta.requests;
    const removed = new Set(delta.delta.removedFiles);
    const changed = new Map(delta.files.map((f) => [f.path, f]));
    this.files = base.files.filter((f) => !removed.has(f.path)).map((f) => changed.get(f.path) ?? f);
    const known = new Set(base.files.map((f) => f.path));
    for (const f of delta.files) if (!known.has(f.path)) this.files.push(f);
  }

  get prompts(): DecodedIndex['prompts'] {
    return this.changes ? [...this.full.prompts, ...this.changes.prompts] : this.full.prompts;
  }

  /** The index's edits, then the delta's (the ledger keeps the earliest copy of a key, whichever comes first). */
  get edits(): EditRecord[] {
    return this.changes ? [...this.full.edits, ...this.changes.edits] : this.full.edits;
  }

  /** The rollup of every request alive: the delta's when there is one (it is always of the whole index). */
  get rollup(): DecodedIndex['rollup'] {
    return this.changes ? this.changes.rollup : this.full.rollup;
  }

  /** Every request alive: index.bin's rows not superseded, then the delta's. */
  *allRecords(): IterableIterator<import('../core/events').UsageEvent> {
    for (let i = 0; i < this.requests.length; i++) if (!this.gone?.[i]) yield this.requests.record(i);
    if (this.extra) yield* this.extra.records();
  }
}

export type LoadResult =
  | { kind: 'loaded'; snapshot: LoadedIndex; bytes: number }
  | { kind: 'missing' }
  /** Corrupt or from another version: the caller rebuilds from the logs. */
  | { kind: 'unusable'; reason: string };

export interface IndexStoreOptions {
  now?: () => number;
  pid?: number;
  /** Whether a process id is alive (same machine). */
  isAlive?: (pid: number) => boolean;
}

export class IndexStore {
  readonly file: string;
  readonly deltaFile: string;
  /** The text index of versions 1–4, removed once a binary one is written. */
  private readonly legacyFile: string;
  private readonly lock: string;
  private readonly now: () => number;
  private readonly pid: number;
  private readonly isAlive: (pid: number) => boolean;

  constructor(readonly dir: string, private readonly fs: IndexFs, opts: IndexStoreOptions = {}) {
    this.file = path.join(dir, 'index.bin');
    this.deltaFile = path.join(dir, 'index.delta');
    this.legacyFile = path.join(dir, 'index.json');
    this.lock = path.join(dir, 'index.lock');
    this.now = opts.now ?? Date.now;
    this.pid = opts.pid ?? process.pid;
    this.isAlive = opts.isAlive ?? processAlive;
  }

  /**
   * Reads the index. Every request, prompt and edit is checked here too unless `lazy` (they are then
   * checked as they are read, and a damaged one throws IndexFormatError there).
   */
  async load(opts: { lazy?: boolean } = {}): Promise<LoadResult> {
    let buf: Buffer | IndexBytes;
    try {
      // In parts where that is safe: Windows may refuse a writer's rename over a file held open.
      buf = opts.lazy && this.fs.openParts && process.platform !== 'win32' ? this.openInParts() : await this.fs.readFile(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        const legacy = await this.fs.stat(this.legacyFile).then(() => true, () => false);
        return legacy ? { kind: 'unusable', reason: 'it is in the text format of an older version' } : { kind: 'missing' };
      }
      return { kind: 'unusable', reason: `cannot read ${this.file}: ${(err as Error).message}` };
    }
    let base: DecodedIndex;
    try {
      base = decodeIndexColumns(buf);
      if (base.delta) throw new IndexFormatError('index.bin holds a delta');
      if (!opts.lazy) {
        base.requests.validate();
        void [base.prompts, base.edits, base.rollup];
      }
    } catch (err) {
      this.release();
      if (err instanceof IndexFormatError) return { kind: 'unusable', reason: err.message };
      throw err;
    }
    const delta = await this.loadDelta(base, opts.lazy === true);
    return { kind: 'loaded', snapshot: new LoadedIndex(base, delta?.index), bytes: (Buffer.isBuffer(buf) ? buf.length : buf.size) + (delta?.bytes ?? 0) };
  }

  /** index.bin, open to be read in parts (closed by `release`, or once its end is read). */
  private openInParts(): IndexBytes {
    this.release();
    const file = this.fs.openParts!(this.file);
    this.openFile = file;
    return {
      size: file.size,
      read: (at, length) => {
        if (this.openFile !== file) throw new IndexFormatError('index read after it was released');
        const b = file.read(at, length);
        if (b.length !== length) throw new IndexFormatError(`truncated while read (${at + b.length} of ${file.size} bytes)`);
        if (at + length === file.size) this.release(); // the rest is read: nothing more to read
        return b;
      },
    };
  }

  private openFile: FileParts | undefined;

  /** Closes index.bin if a lazy load left it open (the parts not read then cannot be read any more). */
  release(): void {
    const f = this.openFile;
    this.openFile = undefined;
    try {
      f?.close();
    } catch {
      // already closed: nothing to release
    }
  }

  /** The delta beside `base`, when there is one that extends it; a damaged or foreign one is ignored (the logs have it). */
  private async loadDelta(base: DecodedIndex, lazy: boolean): Promise<{ index: DecodedIndex; bytes: number } | undefined> {
    if (base.id === undefined) return undefined;
    let buf: Buffer;
    try {
      buf = await this.fs.readFile(this.deltaFile);
    } catch {
      return undefined;
    }
    try {
      const index = decodeIndexColumns(buf);
      if (index.delta?.of !== base.id || index.delta.goneRows.some((i) => i >= base.requests.length)) return undefined;
      if (!lazy) {
        index.requests.validate();
        void [index.prompts, index.edits, index.rollup];
      }
      return { index, bytes: buf.length };
    } catch (err) {
      if (err instanceof IndexFormatError) return undefined;
      throw err;
    }
  }

  /**
   * Writes the snapshot; false when another writer holds the lock (the caller tries again later).
   * With `deltaOf` (the index this snapshot was loaded from, whose rows are `snapshot.base`), only
   * what changed since is written, while that stays small.
   *
   * With `allEdits`, `snapshot.edits` are only those not read from index.bin (the delta's and new
   * ones; a repeat of one of index.bin's is harmless, readers keep the earliest copy of a key), and
   * `allEdits()` gives every edit for a whole index: a delta is written without decoding index.bin's.
   */
  async save(snapshot: IndexSnapshot, opts: { deltaOf?: LoadedIndex; allEdits?: () => EditRecord[] } = {}): Promise<boolean> {
    await this.fs.mkdir(this.dir, { recursive: true });
    if (!(await this.acquire())) return false;
    try {
      const delta = opts.deltaOf ? deltaSnapshot(snapshot, opts.deltaOf, opts.allEdits === undefined) : undefined;
      if (delta) {
        await this.writeAtomically(this.deltaFile, encodeIndex(delta));
        return true;
      }
      const edits = opts.allEdits ? opts.allEdits() : snapshot.edits;
      await this.writeAtomically(this.file, encodeIndex({ ...snapshot, edits, id: newIndexId(), delta: undefined }));
      await this.fs.unlink(this.deltaFile).catch(() => undefined);
      await this.fs.unlink(this.legacyFile).catch(() => undefined);
      return true;
    } finally {
      await this.fs.unlink(this.lock).catch(() => undefined);
    }
  }

  private async writeAtomically(file: string, bytes: Buffer): Promise<void> {
    const tmp = `${file}.${this.pid}.${this.now()}.tmp`;
    await this.fs.writeFile(tmp, bytes, { flag: 'w' });
    await this.fs.rename(tmp, file);
  }

  /** Removes the index (history clear). */
  async clear(): Promise<void> {
    for (const f of [this.file, this.deltaFile, this.legacyFile]) {
      await this.fs.unlink(f).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
  }

  private async acquire(): Promise<boolean> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.fs.writeFile(this.lock, JSON.stringify({ pid: this.pid, at: this.now() }), { flag: 'wx' });
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (!(await this.lockIsStale())) return false;
        await this.fs.unlink(this.lock).catch(() => undefined);
      }
    }
    return false;
  }

  private async lockIsStale(): Promise<boolean> {
    try {
      const held = JSON.parse((await this.fs.readFile(this.lock)).toString('utf8')) as { pid?: unknown; at?: unknown };
      const at = typeof held.at === 'number' ? held.at : (await this.fs.stat(this.lock)).mtimeMs;
      if (this.now() - at > STALE_LOCK_MS) return true;
      return typeof held.pid === 'number' && held.pid !== this.pid && !this.isAlive(held.pid);
    } catch {
      // unreadable or half-written lock: stale only once old enough
      try {
        return this.now() - (await this.fs.stat(this.lock)).mtimeMs > STALE_LOCK_MS;
      } catch {
        return true; // vanished meanwhile
      }
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * What `snapshot` adds to the index it was loaded from, as a delta; undefined when a whole index
 * should be written instead (no id to refer to, rows not from it, or the change is no longer small).
 */
function deltaSnapshot(snapshot: IndexSnapshot, from: LoadedIndex, editsIncludeIndex: boolean): IndexSnapshot | undefined {
  const rows = from.requests;
  if (from.id === undefined || !snapshot.base || snapshot.base.columns !== rows) return undefined;
  const goneRows: number[] = [];
  for (let i = 0; i < rows.length; i++) if (snapshot.base.gone[i]) goneRows.push(i);
  if (snapshot.records.length + goneRows.length > Math.max(DELTA_MIN_ROWS, DELTA_MAX_SHARE * rows.length)) return undefined;
  const baseFiles = new Map(from.full.files.map((f) => [f.path, f]));
  const files = snapshot.files.filter((f) => !sameFile(f, baseFiles.get(f.path)));
  const tracked = new Set(snapshot.files.map((f) => f.path));
  const removedFiles = from.full.files.filter((f) => !tracked.has(f.path)).map((f) => f.path);
  const baseEdits = editsIncludeIndex ? new Map(from.full.edits.map((e) => [e.key, e])) : new Map<string, EditRecord>();
  const basePrompts = new Map(from.full.prompts.map((p) => [p.key, p]));
  return {
    savedAt: snapshot.savedAt,
    files,
    records: snapshot.records,
    edits: snapshot.edits.filter((e) => !sameRecord(e, baseEdits.get(e.key))),
    prompts: snapshot.prompts.filter((p) => !sameRecord(p, basePrompts.get(p.key))),
    limits: snapshot.limits ?? [],
    ...(snapshot.rollup ? { rollup: snapshot.rollup } : {}),
    delta: { of: from.id, goneRows, removedFiles },
  };
}

/** A random id for a whole index (a delta names it). node:crypto is required here, not at start-up (a few ms of every CLI run). */
function newIndexId(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:crypto') as typeof import('node:crypto')).randomBytes(8).toString('hex');
}

/** A file's entry as index.bin has it: same position, fingerprints and parser state (the very object, when not read since). */
function sameFile(a: FileEntry, b: FileEntry | undefined): boolean {
  if (!b) return false;
  const c = a.cursor;
  const d = b.cursor;
  const sameCursor = c === d || (c !== undefined && d !== undefined && c.offset === d.offset && c.size === d.size && c.mtimeMs === d.mtimeMs &&
    c.ino === d.ino && c.head === d.head && c.tail === d.tail);
  return sameCursor && a.docStamp === b.docStamp && a.root === b.root &&
    (a.parserState === b.parserState || JSON.stringify(parserStateValue(a.parserState)) === JSON.stringify(parserStateValue(b.parserState)));
}

function sameRecord<T extends object>(a: T, b: T | undefined): boolean {
  if (!b) return false;
  const keys = Object.keys(a) as Array<keyof T>;
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}
