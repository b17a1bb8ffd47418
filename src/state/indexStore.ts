/**
 * Where the index lives on disk: `<dir>/index.bin`, written atomically (temp file +
 * rename, so a reader never sees half a file) under a lock file, so two VS Code windows
 * (or the CLI) never interleave writes. A lock left by a crashed writer is taken over
 * once it is older than STALE_LOCK_MS or its process is gone.
 */
import * as path from 'node:path';
import { decodeIndexColumns, encodeIndex, IndexFormatError, type DecodedIndex, type IndexSnapshot } from './indexCodec';

export interface IndexFs {
  readFile(p: string): Promise<Buffer>;
  writeFile(p: string, data: string | Uint8Array, opts: { flag: 'wx' | 'w' }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(p: string): Promise<void>;
  mkdir(p: string, opts: { recursive: true }): Promise<unknown>;
  stat(p: string): Promise<{ mtimeMs: number }>;
}

export const STALE_LOCK_MS = 30_000;

export type LoadResult =
  | { kind: 'loaded'; snapshot: DecodedIndex; bytes: number }
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
  /** The text index of versions 1–4, removed once a binary one is written. */
  private readonly legacyFile: string;
  private readonly lock: string;
  private readonly now: () => number;
  private readonly pid: number;
  private readonly isAlive: (pid: number) => boolean;

  constructor(readonly dir: string, private readonly fs: IndexFs, opts: IndexStoreOptions = {}) {
    this.file = path.join(dir, 'index.bin');
    this.legacyFile = path.join(dir, 'index.json');
    this.lock = path.join(dir, 'index.lock');
    this.now = opts.now ?? Date.now;
    this.pid = opts.pid ?? process.pid;
    this.isAlive = opts.isAlive ?? processAlive;
  }

  /**
   * Reads the index. Its prompts and edits are checked here too unless `lazy` (they are then
   * decoded on first use, and a damaged section throws IndexFormatError there).
   */
  async load(opts: { lazy?: boolean } = {}): Promise<LoadResult> {
    let buf: Buffer;
    try {
      buf = await this.fs.readFile(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        const legacy = await this.fs.stat(this.legacyFile).then(() => true, () => false);
        return legacy ? { kind: 'unusable', reason: 'it is in the text format of an older version' } : { kind: 'missing' };
      }
      return { kind: 'unusable', reason: `cannot read ${this.file}: ${(err as Error).message}` };
    }
    try {
      const snapshot = decodeIndexColumns(buf);
      if (!opts.lazy) void [snapshot.prompts, snapshot.edits];
      return { kind: 'loaded', snapshot, bytes: buf.length };
    } catch (err) {
      if (err instanceof IndexFormatError) return { kind: 'unusable', reason: err.message };
      throw err;
    }
  }

  /** Writes the snapshot; false when another writer holds the lock (the caller tries again later). */
  async save(snapshot: IndexSnapshot): Promise<boolean> {
    await this.fs.mkdir(this.dir, { recursive: true });
    if (!(await this.acquire())) return false;
    try {
      const tmp = `${this.file}.${this.pid}.${this.now()}.tmp`;
      await this.fs.writeFile(tmp, encodeIndex(snapshot), { flag: 'w' });
      await this.fs.rename(tmp, this.file);
      await this.fs.unlink(this.legacyFile).catch(() => undefined);
      return true;
    } finally {
      await this.fs.unlink(this.lock).catch(() => undefined);
    }
  }

  /** Removes the index (history clear). */
  async clear(): Promise<void> {
    for (const f of [this.file, this.legacyFile]) {
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
