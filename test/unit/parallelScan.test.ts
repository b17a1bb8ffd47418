import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { scanParallel, splitBySize, threadCount } from '../../src/cli/parallelScan';
import { Ledger } from '../../src/core/ledger';
import { Pricer } from '../../src/core/pricing';
import { buildReport } from '../../src/core/report';
import { createSources, type SourceSettings } from '../../src/sources/registry';
import { Scanner, type ScanWarning } from '../../src/sources/scanner';
import { Tailer } from '../../src/sources/tailer';
import { REAL_LOGS, tempDir, writeFile } from './helpers';

const WORKER = path.join(__dirname, '..', '..', 'src', 'cli', 'scanWorker.js');

describe('parallel cold scan', () => {
  it('splits files into groups of about equal bytes, every file once', () => {
    const sizes = new Map([['a', 100], ['b', 60], ['c', 50], ['d', 40], ['e', 10], ['f', 0]]);
    const groups = splitBySize(sizes, 2);
    assert.deepEqual(groups.flat().sort(), ['a', 'b', 'c', 'd', 'e', 'f']);
    const bytes = groups.map((g) => g.reduce((s, p) => s + sizes.get(p)!, 0));
    assert.deepEqual(bytes, [140, 120], "largest first, each to the lightest group");
    assert.deepEqual(splitBySize(sizes, 1), [["a", "b", "c", "d", "e", "f"]]);
    assert.equal(splitBySize(new Map([["x", 5]]), 3).filter((g) => g.length > 0).length, 1);
  });

  async function scan(threads: number, env: { env: Record<string, string>; home: string; platform: NodeJS.Platform }, settings: SourceSettings) {
    const ledger = new Ledger(new Pricer(), undefined, 'totals-only');
    const warnings: ScanWarning[] = [];
    const scanner = new Scanner(createSources(env, fsp, settings), new Tailer(fsp), (e) => ledger.addAll(e), { onWarning: (w) => warnings.push(w) });
    const stats = await scanParallel(scanner, ledger, { sourceEnv: env, settings }, (p) => fsp.stat(p), (w) => warnings.push(w), { threads, minBytes: 0, workerScript: WORKER });
    return { ledger, scanner, stats, warnings };
  }

  it('gives exactly the totals, records, edits and file positions of a single-threaded scan of the real logs', async function () {
    this.timeout(60000);
    const env = { env: { CLAUDE_CONFIG_DIR: path.join(REAL_LOGS, 'claude-code'), CODEX_HOME: path.join(REAL_LOGS, 'codex') }, home: '/none', platform: 'linux' as const };
    const settings: SourceSettings = { enabled: ['claude-code', 'codex'], prompts: false, edits: true };
    const one = await scan(1, env, settings);
    const three = await scan(3, env, settings);
    assert.equal(three.stats.bytesRead, one.stats.bytesRead);
    assert.equal(three.stats.files, one.stats.files);
    assert.deepEqual(buildReport(three.ledger.allRecords(), {}, 'session'), buildReport(one.ledger.allRecords(), {}, 'session'));
    assert.equal(one.ledger.size, 1712 + 1172);
    const byKey = (l: Ledger) => new Map([...l.allRecords()].map((r) => [r.key, { ...r }]));
    assert.deepEqual(byKey(three.ledger), byKey(one.ledger), 'the same copy of every request is kept');
    const edits = (l: Ledger) => [...l.allEdits()].map((e) => e.key).sort();
    assert.ok(edits(one.ledger).length > 50);
    assert.deepEqual(edits(three.ledger), edits(one.ledger));
    const files = (s: Scanner) => s.exportFiles().map((f) => [f.path, f.cursor?.offset, JSON.stringify(f.parserState ?? null)]).sort();
    assert.deepEqual(files(three.scanner), files(one.scanner));
    assert.deepEqual(three.ledger.latestLimits(), one.ledger.latestLimits());
  });

  it("a worker's problems reach the caller once, with their counts", async function () {
    this.timeout(30000);
    const dir = tempDir();
    try {
      const proj = path.join(dir, 'claude', 'projects', '-w');
      for (let i = 0; i < 6; i++) writeFile(path.join(proj, `s${i}.jsonl`), `{"type":"assistant","usage":{"input_tokens" broken\n`.repeat(i + 1));
      const env = { env: { CLAUDE_CONFIG_DIR: path.join(dir, 'claude') }, home: dir, platform: 'linux' as const };
      const r = await scan(3, env, { enabled: ['claude-code'], prompts: false, edits: false });
      const malformed = r.warnings.filter((w) => w.kind === 'malformed-lines');
      assert.deepEqual(malformed.map((w) => [path.basename(w.path), w.count]).sort(), [1, 2, 3, 4, 5, 6].map((n) => [`s${n - 1}.jsonl`, n]));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('thread count', () => {
  it('one thread below 4 logical CPUs, one per CPU up to 4 above; AGENT_SPEND_THREADS overrides', () => {
    assert.equal(threadCount({}, 1), 1);
    assert.equal(threadCount({}, 2), 1);
    assert.equal(threadCount({}, 4), 4);
    assert.equal(threadCount({}, 16), 4);
    assert.equal(threadCount({ AGENT_SPEND_THREADS: '3' }, 2), 3);
    assert.equal(threadCount({ AGENT_SPEND_THREADS: '0' }, 8), 4, 'an invalid value is ignored');
  });
});
