/**
 * Loads a CommonJS bundle through V8's code cache.
 *
 * Node compiles a function the first time it runs; a warm `report` spends ~10 ms of its ~0.1 s
 * doing that for the same few hundred functions on every run. V8 can serialise the compiled code
 * (`Script#createCachedData`) and take it back on the next run. V8 checks a cache against its own
 * version and flags but only against the LENGTH of the source, so the cache file is named after
 * the source's CRC-32 and length: a new release never runs the old release's code. (zlib's CRC,
 * not node:crypto: loading that module alone costs more than this whole check.) The cache
 * lives in the user's cache folder; failing to read or write it only costs the compile.
 *
 * The run that makes the cache compiles the whole bundle at once (V8's --no-lazy, for that one
 * compile): a cache holding only what its first run happened to call (a report without an index,
 * say) would leave every other kind of run compiling the rest, each time.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

export interface LoadedModule {
  exports: unknown;
  /** The cache file for this source and command. */
  cacheFile: string;
  /** Whether V8 took the compiled code from the cache. */
  fromCache: boolean;
  /** Writes the cache (after the run, so it holds every function the run compiled), unless it was used. Never throws. */
  saveCache(): void;
}

/**
 * Loads `file` as a CommonJS module with the code cache kept in `cacheDir` for `command`: a cache
 * holds what its first run compiled, so `report` and `now` each keep their own.
 */
export function loadWithCodeCache(file: string, cacheDir: string, command: string): LoadedModule {
  const bytes = fs.readFileSync(file);
  const source = bytes.toString('utf8');
  const hash = `${contentCrc(bytes).toString(16).padStart(8, '0')}${bytes.length.toString(16)}`;
  const name = /^[a-z]{1,20}$/.test(command) ? command : 'other';
  const cacheFile = path.join(cacheDir, `cli-${hash}-${name}.v8cache`);
  let cached: Buffer | undefined;
  try {
    cached = fs.readFileSync(cacheFile);
  } catch {
    cached = undefined; // none yet, or unreadable: compile as usual
  }
  const code = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  const fromCacheScript = cached ? new vm.Script(code, { filename: file, cachedData: cached }) : undefined;
  const fromCache = fromCacheScript !== undefined && !fromCacheScript.cachedDataRejected;
  const script = fromCache ? fromCacheScript! : compileEagerly(code, file);
  const mod = { exports: {} as unknown };
  const wrapper = script.runInThisContext() as (e: unknown, r: NodeJS.Require, m: typeof mod, f: string, d: string) => void;
  wrapper.call(mod.exports, mod.exports, createRequire(file), mod, file, path.dirname(file));
  return {
    exports: mod.exports,
    cacheFile,
    fromCache,
    saveCache: () => {
      if (fromCache) return;
      try {
        fs.mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
        // Caches of other releases of this command are of no more use.
        for (const f of fs.readdirSync(cacheDir)) {
          if (f.startsWith('cli-') && f.endsWith(`-${name}.v8cache`) && f !== path.basename(cacheFile)) fs.rmSync(path.join(cacheDir, f), { force: true });
        }
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
        fs.renameSync(tmp, cacheFile);
      } catch {
        // read-only home, full disk: the next run compiles again
      }
    },
  };
}

/**
 * Compiles every function of `code` now, not on first call, so that the cache made from it holds
 * them all. The flag is restored at once (a cache records V8's flags, and is refused by a process
 * whose flags differ): the cache then loads in any run of the same Node.
 */
function compileEagerly(code: string, filename: string): vm.Script {
  try {
    v8.setFlagsFromString('--no-lazy');
    return new vm.Script(code, { filename });
  } finally {
    v8.setFlagsFromString('--lazy');
  }
}

/** CRC-32 of the bytes: zlib's (Node ≥ 20.15), else computed here. */
function contentCrc(bytes: Buffer): number {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const native = (require('node:zlib') as { crc32?: (b: Uint8Array) => number }).crc32;
  return native ? native(bytes) >>> 0 : crc32(bytes);
}

/** CRC-32 (the zlib/PNG polynomial), for a Node without zlib.crc32. */
export function crc32(bytes: Uint8Array): number {
  let table = crcTable;
  if (!table) {
    table = crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = table[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
let crcTable: Uint32Array | undefined;
