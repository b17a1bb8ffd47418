/** The file access the CLI's sources use. */
import * as fsSync from 'node:fs';
import type { ReadHandle, SourceFs } from '../sources/source';
import type { IndexFs } from '../state/indexStore';
import type { StateFs } from '../state/statuslineSnapshots';

/**
 * The CLI has no UI thread to keep responsive, so every call is synchronous: a cold scan of
 * gigabytes then spends no thread-pool round trip per chunk (about 7 % of its time), and a
 * warm run none per stat.
 */
export const cliFs: SourceFs = {
  stat: async (p) => fsSync.statSync(p),
  readdir: async (p, opts) => fsSync.readdirSync(p, opts),
  open: async (p, flags) => syncHandle(fsSync.openSync(p, flags)),
  statNow: (p) => fsSync.statSync(p),
};

function syncHandle(fd: number): ReadHandle {
  return {
    stat: async () => fsSync.fstatSync(fd),
    read: async (buffer, offset, length, position) => ({ bytesRead: fsSync.readSync(fd, buffer, offset, length, position) }),
    readFile: (async (encoding?: 'utf8') => fsSync.readFileSync(fd, encoding)) as ReadHandle['readFile'],
    close: async () => fsSync.closeSync(fd),
  };
}

/** The index and state files, also synchronous (an 8 MB index is one read, not a chain of thread-pool reads). */
export const cliStateFs: IndexFs & StateFs = {
  readFile: async (p) => fsSync.readFileSync(p),
  writeFile: async (p: string, data: string | Uint8Array, opts: { flag: 'wx' | 'w'; mode?: number }) => fsSync.writeFileSync(p, data, opts),
  rename: async (from, to) => fsSync.renameSync(from, to),
  unlink: async (p) => fsSync.unlinkSync(p),
  mkdir: async (p, opts) => fsSync.mkdirSync(p, opts),
  readdir: async (p) => fsSync.readdirSync(p),
  stat: async (p) => fsSync.statSync(p),
  openParts: (p) => {
    const fd = fsSync.openSync(p, 'r');
    try {
      const size = fsSync.fstatSync(fd).size;
      return {
        size,
        read: (at, length) => {
          const b = Buffer.allocUnsafeSlow(length); // its own memory, 8-aligned (typed-array views are made on it)
          let got = 0;
          while (got < length) {
            const n = fsSync.readSync(fd, b, got, length - got, at + got);
            if (n === 0) break;
            got += n;
          }
          return got === length ? b : b.subarray(0, got);
        },
        close: () => fsSync.closeSync(fd),
      };
    } catch (e) {
      fsSync.closeSync(fd);
      throw e;
    }
  },
};
