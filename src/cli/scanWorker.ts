/** A scan worker (bundled to dist/scanWorker.js): reads the files it is given, see parallelScan.ts. */
import { parentPort, workerData } from 'node:worker_threads';
import { Ledger } from '../core/ledger';
import { Pricer } from '../core/pricing';
import { createSources } from '../sources/registry';
import { Scanner, type ScanWarning } from '../sources/scanner';
import { Tailer } from '../sources/tailer';
import { encodeIndex } from '../state/indexCodec';
import type { ScanJob, ScanPart } from './parallelScan';
import { cliFs } from './cliFs';

async function run(job: ScanJob): Promise<void> {
  const ledger = new Ledger(new Pricer(), undefined, 'totals-only');
  const warnings: ScanWarning[] = [];
  const scanner = new Scanner(createSources(job.sourceEnv, cliFs, job.settings), new Tailer(cliFs), (events) => ledger.addAll(events), {
    onWarning: (w) => warnings.push(w),
  });
  const trace = process.env['AGENT_SPEND_TRACE'] ? (what: string) => process.stderr.write(`[worker] ${what} at ${Math.round(performance.now())} ms\n`) : undefined;
  trace?.('started');
  await scanner.discoverAll();
  const stats = await scanner.readFiles(job.paths);
  trace?.('read');
  const mine = new Set(job.paths);
  const index = encodeIndex({
    savedAt: 0, files: scanner.exportFiles().filter((f) => mine.has(f.path)), records: [...ledger.allRecords()], prompts: [],
    edits: [...ledger.allEdits()], limits: ledger.latestLimits(),
  });
  // Warnings carry their final counts (the scanner raises the count of a repeated problem in place);
  // folder problems are the main thread's to report (it discovered the same folders).
  const part: ScanPart = { index, warnings: warnings.filter((w) => mine.has(w.path)), stats };
  trace?.('encoded');
  parentPort!.postMessage(part, [index.buffer as ArrayBuffer]);
}

run(workerData as ScanJob).catch((e: unknown) => {
  throw e instanceof Error ? e : new Error(String(e));
});
