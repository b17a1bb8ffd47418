/**
 * Watches exactly the folders that hold agent logs (and the folders above them up
 * to each root), one non-recursive watcher per folder: appends arrive within
 * milliseconds, new files and folders show up as 'rename' events, and a tree of
 * thousands of folders is never walked synchronously. Folders that cannot be
 * watched (watch limits, network file systems) are reported once; the periodic
 * rescan covers them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export type WatchFn = (dir: string, listener: (event: string, filename: string | Buffer | null) => void) => { close(): void; on(event: 'error', cb: (err: Error) => void): unknown };

export interface DirWatcherEvents {
  /** A file or folder inside a watched folder changed or appeared. */
  onPath(fullPath: string, event: 'change' | 'rename'): void;
  onError(dir: string, err: unknown): void;
}

const defaultWatch: WatchFn = (dir, listener) => fs.watch(dir, { persistent: false }, listener);

export class DirWatcher {
  private readonly watchers = new Map<string, { close(): void }>();

  constructor(private readonly events: DirWatcherEvents, private readonly watch: WatchFn = defaultWatch) {}

  get size(): number {
    return this.watchers.size;
  }

  /** Makes the set of watched folders equal to `dirs`. */
  update(dirs: Iterable<string>): void {
    const wanted = new Set(dirs);
    for (const [dir, w] of this.watchers) {
      if (!wanted.has(dir)) {
        w.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of wanted) {
      if (this.watchers.has(dir)) continue;
      try {
        const w = this.watch(dir, (event, filename) => {
          const name = filename === null ? '' : filename.toString();
          this.events.onPath(name ? path.join(dir, name) : dir, event === 'change' ? 'change' : 'rename');
        });
        w.on('error', (err) => {
          this.watchers.delete(dir);
          this.events.onError(dir, err);
        });
        this.watchers.set(dir, w);
      } catch (err) {
        this.events.onError(dir, err);
      }
    }
  }

  dispose(): void {
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }
}

/** Every folder from each file's folder up to (and including) its root. */
export function foldersToWatch(files: Iterable<{ path: string; root: string }>, roots: Iterable<string>): Set<string> {
  const dirs = new Set<string>(roots);
  for (const f of files) {
    let dir = path.dirname(f.path);
    while (!dirs.has(dir) && dir.startsWith(f.root) && dir.length >= f.root.length) {
      dirs.add(dir);
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return dirs;
}
