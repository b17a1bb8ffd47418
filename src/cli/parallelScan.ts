/**
 * A cold scan on every core: the files to read are split by size between this thread and
 * worker threads; each reads its share with its own sources and a totals-only ledger, and
 * sends back its deduplicated requests as index columns (one transferable buffer, no
 * per-request cloning). The copies of one request read by different threads merge here with
 * the ledger's own rule (largest output, earliest attribution), which does not depend on order,
 * so the totals are those of a single-threaded scan.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { Worker as WorkerType } from 'node:worker_threads';
import type { Ledger } from '../core/ledger';
import type { SourceEnv } from '../sources/source';
import type { SourceSettings } from '../sources/registry';
import type { Scanner, ScanStats, ScanWarning } from '../sources/scanner';
import { decodeIndexColumns } from '../state/indexCodec';

/** What a worker is asked to read. */
export interface ScanJob {
  sourceEnv: SourceEnv;
  settings: SourceSettings;
  paths: string[];
}

/** What a worker sends back (the buffer is an encoded index holding its requests, edits, limits and files). */
export interface ScanPart {
  index: Uint8Array;
  warnings: ScanWarning[];
  stats: ScanStats;
}

/** Below this many bytes to read, starting workers costs more than it saves. */
export const PARALLEL_MIN_BYTES = 48e6;
const MAX_THREADS = 4;
const MIN_CPUS = 4;

/** Splits paths into `n` groups of about equal bytes (largest first, each to the lightest group). */
export function splitBySize(sizes: ReadonlyMap<string, number>, n: number): string[][] {
  const groups = Array.from({ length: n }, () => ({ bytes: 0, paths: [] as string[] }));
  for (const [p, size] of [...sizes].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))) {
    let lightest = groups[0]!;
    for (const g of groups) if (g.bytes < lightest.bytes) lightest = g;
    lightest.bytes += size;
    lightest.paths.push(p);
  }
  return groups.map((g) => g.paths);
}

/**
 * Threads for a cold scan: one per logical CPU up to MAX_THREADS, but none below MIN_CPUS: on the
 * 2-vCPU machine of bench/RESULTS.md two threads read 1 GB in 1.54 s against 1.55 s for one,
 * for 0.5 s more CPU and 50 MB more memory (its two vCPUs share a core). AGENT_SPEND_THREADS
 * overrides (1 = no workers).
 */
export function threadCount(env: NodeJS.ProcessEnv = process.env, cpus = logicalCpus()): number {
  const forced = Number(env['AGENT_SPEND_THREADS']);
  if (Number.isInteger(forced) && forced >= 1) return Math.min(forced, 16);
  return cpus < MIN_CPUS ? 1 : Math.min(MAX_THREADS, cpus);
}

function logicalCpus(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/**
 * Reads the discovered files of `scanner`, sharing them with worker threads when there is
 * enough to read; everything read ends up in `ledger` and the scanner's file positions.
 */
export async function scanParallel(
  scanner: Scanner,
  ledger: Ledger,
  job: Omit<ScanJob, 'paths'>,
  stat: (p: string) => Promise<{ size: number }>,
  onWarning: (w: ScanWarning) => void,
  opts: { threads?: number; minBytes?: number; workerScript?: string } = {},
): Promise<ScanStats> {
  const paths = await scanner.discoverAll();
  const threads = opts.threads ?? threadCount();
  if (threads < 2) return scanner.readFiles(paths); // without a second stat of every file
  const pending = await scanner.pendingBytes(stat);
  let total = 0;
  for (const b of pending.values()) total += b;
  if (total < (opts.minBytes ?? PARALLEL_MIN_BYTES)) return scanner.readFiles(paths);
  const workerScript = opts.workerScript ?? path.join(__dirname, 'scanWorker.js');
  const [mine, ...theirs] = splitBySize(pending, threads);
  const parts = theirs.filter((g) => g.length > 0).map((g) => runWorker(workerScript, { ...job, paths: g }));
  const trace = process.env['AGENT_SPEND_TRACE'] ? (what: string) => process.stderr.write(`[scan] ${what} at ${Math.round(performance.now())} ms\n`) : undefined;
  trace?.(`started ${parts.length} worker(s), ${Math.round(total / 1e6)} MB to read`);
  const own = await scanner.readFiles(mine!);
  trace?.('own share read');
  const stats = { ...own };
  const settledParts = await Promise.allSettled(parts);
  trace?.('workers answered');
  for (const settled of settledParts) {
    if (settled.status === 'rejected') throw settled.reason instanceof Error ? settled.reason : new Error(String(settled.reason));
    const part = settled.value;
    const decoded = decodeIndexColumns(Buffer.from(part.index.buffer, part.index.byteOffset, part.index.byteLength));
    const rows = decoded.requests;
    for (let i = 0; i < rows.length; i++) ledger.add(rows.record(i));
    for (const e of decoded.edits) ledger.addEdit(e);
    ledger.restoreLimits(decoded.limits ?? []);
    scanner.adoptFiles(decoded.files);
    for (const w of part.warnings) onWarning(w);
    stats.files += part.stats.files;
    stats.filesRead += part.stats.filesRead;
    stats.bytesRead += part.stats.bytesRead;
    stats.events += part.stats.events;
    stats.prompts += part.stats.prompts;
  }
  trace?.('merged');
  return stats;
}

function runWorker(script: string, job: ScanJob): Promise<ScanPart> {
  return new Promise((resolve, reject) => {
    // A small young generation: the worker's garbage is short-lived JSON, and its heap adds to the process's RSS.
    // Required here: most runs start no worker, and loading the module is part of every start-up.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Worker } = require('node:worker_threads') as { Worker: typeof WorkerType };
    const worker = new Worker(script, { workerData: job, resourceLimits: { maxYoungGenerationSizeMb: 8 } });
    let done = false;
    worker.once('message', (m: ScanPart) => {
      done = true;
      resolve(m);
    });
    worker.once('error', (e) => {
      done = true;
      reject(e);
    });
    worker.once('exit', (code) => {
      if (!done) reject(new Error(`scan worker exited with code ${code} before answering`));
    });
  });
}
