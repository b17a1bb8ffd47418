import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { Ledger } from '../../src/core/ledger';
import { Pricer } from '../../src/core/pricing';
import { buildReport } from '../../src/core/report';
import { createSources } from '../../src/sources/registry';
import { Scanner } from '../../src/sources/scanner';
import { Tailer } from '../../src/sources/tailer';
import type { UsageEvent } from '../../src/core/events';
import { decodeIndex, decodeIndexColumns, encodeIndex, INDEX_VERSION, IndexFormatError, type DecodedIndex, type IndexSnapshot } from '../../src/state/indexCodec';
import { parserStateValue, SavedParserState } from '../../src/sources/source';
import { IndexStore, STALE_LOCK_MS, type LoadedIndex } from '../../src/state/indexStore';
import { REAL_LOGS, REPO_ROOT, claudeAssistant, tempDir, writeFile } from './helpers';

/** One scan of the real logs, resumed from `snapshot` when given; returns the ledger, scanner and bytes read. */
async function scanReal(snapshot?: IndexSnapshot) {
  const env = { env: { CLAUDE_CONFIG_DIR: path.join(REAL_LOGS, 'claude-code'), CODEX_HOME: path.join(REAL_LOGS, 'codex') }, home: '/none', platform: 'linux' as const };
  const ledger = new Ledger(new Pricer());
  const scanner = new Scanner(createSources(env, fsp), new Tailer(fsp), (e) => ledger.addAll(e));
  if (snapshot) {
    ledger.restore(snapshot.records);
    for (const p of snapshot.prompts) ledger.addPrompt(p);
    for (const e of snapshot.edits) ledger.addEdit(e);
    scanner.restoreFiles(snapshot.files);
  }
  const stats = await scanner.scanAll();
  return { ledger, scanner, stats };
}

function totalsOf(l: Ledger) {
  return buildReport(l.allRecords(), {}).totals;
}

describe('persistent index', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('round-trips every request and read position of the real logs; a warm scan reads nothing', async function () {
    this.timeout(60000);
    const cold = await scanReal();
    const bytes = encodeIndex({ savedAt: 1, files: cold.scanner.exportFiles(), records: [...cold.ledger.allRecords()], prompts: [...cold.ledger.allPrompts()], edits: [...cold.ledger.allEdits()] });
    // at an odd offset inside a larger buffer (as a pooled Buffer may be): columns are copied to aligned memory
    const shifted = Buffer.concat([Buffer.alloc(3), bytes]).subarray(3);
    const snapshot = decodeIndex(shifted);
    assert.equal(snapshot.records.length, cold.ledger.size);
    const coldPrompts = [...cold.ledger.allPrompts()];
    assert.ok(coldPrompts.length > 100, `${coldPrompts.length} prompts`);
    assert.deepEqual(snapshot.prompts.map((p) => p.key).sort(), coldPrompts.map((p) => p.key).sort());
    const coldEdits = [...cold.ledger.allEdits()];
    assert.ok(coldEdits.length > 50, `${coldEdits.length} edits`);
    assert.deepEqual(snapshot.edits, coldEdits, 'edits round-trip exactly');
    const warm = await scanReal(snapshot);
    assert.equal(warm.stats.bytesRead, 0, 'nothing new to read');
    assert.deepEqual(totalsOf(warm.ledger), totalsOf(cold.ledger));
    assert.equal(totalsOf(warm.ledger).requests, 1712 + 1172);
    // every record identical after the round trip
    for (const r of cold.ledger.allRecords()) assert.deepEqual(warm.ledger.get(r.key), r);
    // tasks survive the restart: same titles and request counts per session
    for (const id of [...cold.ledger.group('session').keys()].slice(0, 20)) {
      assert.deepEqual(warm.ledger.tasks(id).map((t) => [t.title, t.requests.length, t.linesAdded, t.filesTouched]), cold.ledger.tasks(id).map((t) => [t.title, t.requests.length, t.linesAdded, t.filesTouched]));
    }
  });

  it('resumes Codex cumulative totals mid-file from the saved parser state', async () => {
    const home = path.join(dir, 'codex');
    const file = path.join(home, 'sessions', '2026', '01', '01', 'rollout-2026-01-01T00-00-00-0199aaaa-bbbb-7ccc-8ddd-eeeeffff0000.jsonl');
    const tc = (total: number) => JSON.stringify({ timestamp: '2026-01-01T00:00:00Z', type: 'event_msg', payload: { type: 'token_count', info: {
      total_token_usage: { input_tokens: total, cached_input_tokens: 0, output_tokens: total / 10, reasoning_output_tokens: 0, total_tokens: total * 1.1 },
      last_token_usage: { input_tokens: 100, cached_input_tokens: 0, output_tokens: 10, reasoning_output_tokens: 0, total_tokens: 110 } } } });
    writeFile(file, [JSON.stringify({ timestamp: '2026-01-01T00:00:00Z', type: 'session_meta', payload: { id: 's1', cwd: '/w' } }),
      JSON.stringify({ timestamp: '2026-01-01T00:00:00Z', type: 'turn_context', payload: { model: 'gpt-5-codex' } }), tc(1000), tc(3000)].join('\n') + '\n');
    const env = { env: { CODEX_HOME: home }, home: '/none', platform: 'linux' as const };
    const first = new Ledger(new Pricer());
    const s1 = new Scanner(createSources(env, fsp, { enabled: ['codex'] }), new Tailer(fsp), (e) => first.addAll(e));
    await s1.scanAll();
    const snapshot = decodeIndex(encodeIndex({ savedAt: 1, files: s1.exportFiles(), records: [...first.allRecords()], prompts: [], edits: [] }));
    fs.appendFileSync(file, tc(7000) + '\n');
    const second = new Ledger(new Pricer());
    second.addAll(snapshot.records);
    const s2 = new Scanner(createSources(env, fsp, { enabled: ['codex'] }), new Tailer(fsp), (e) => second.addAll(e));
    s2.restoreFiles(snapshot.files);
    const stats = await s2.scanAll();
    assert.ok(stats.bytesRead < 400, `read only the appended line (${stats.bytesRead} bytes)`);
    assert.equal(second.totals.requests, 3);
    assert.equal(second.totals.inputTokens, 7000, 'deltas 1000 + 2000 + 4000: the model of the restored turn context still applies');
    assert.equal(second.totals.unpricedRequests, 0);
  });

  it('rejects a corrupt, truncated, other-version or text-format index with a reason', async () => {
    const store = new IndexStore(dir, fsp);
    assert.deepEqual(await store.load(), { kind: 'missing' });
    const good = encodeIndex({ savedAt: 1, files: [], prompts: [], edits: [], records: [
      { agent: 'codex', key: 'k1', sessionId: 's', project: '/p', model: 'gpt-5', timestamp: 1, file: '/f', tokens: { input: 1, output: 2, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 0, reasoning: 0 } },
      { agent: 'claude-code', key: 'k2', sessionId: 's', project: '/p', model: null, timestamp: 2, file: '/f', tokens: { input: 3, output: 4, cacheWrite5m: 5, cacheWrite1h: 6, cacheRead: 7, reasoning: 0 }, loggedCostUSD: 0.5, sidechain: true, branch: 'main' },
    ] });
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(store.file, good);
    const loaded = await store.load();
    assert.equal(loaded.kind, 'loaded');
    assert.deepEqual([...(loaded as { snapshot: DecodedIndex }).snapshot.requests.records()].map((r) => [r.key, r.tokens.cacheRead, r.loggedCostUSD, r.sidechain, r.branch, r.model]),
      [['k1', 0, undefined, undefined, undefined, 'gpt-5'], ['k2', 7, 0.5, true, 'main', null]]);
    const reason = async (bytes: Buffer | string) => {
      fs.writeFileSync(store.file, bytes);
      const r = await store.load();
      assert.equal(r.kind, 'unusable');
      return (r as { reason: string }).reason;
    };
    assert.match(await reason(good.subarray(0, good.length - 3)), /does not match 2 requests/);
    const future = Buffer.from(good);
    future.writeUInt32LE(INDEX_VERSION + 1, 4);
    assert.match(await reason(future), new RegExp(`version ${INDEX_VERSION + 1}, this build reads version ${INDEX_VERSION}`));
    const header = Buffer.from(good);
    header[12] = 0x78; // the header JSON's opening brace
    assert.match(await reason(header), /header is not valid JSON/);
    // a token count damaged into a fraction (the last f64 column, first request)
    const damaged = Buffer.from(good);
    const tokensAt = ((12 + damaged.readUInt32LE(8) + 7) & ~7) /* the columns, after the header */ + 8 * (7 * 2 + 0);
    damaged.writeDoubleLE(0.5, tokensAt);
    assert.match(await reason(damaged), /request 0: bad token count 0.5/);
    assert.match(await reason('{"format":"agent-spend-index","version":4,"strings":[]'), /not an Agent Spend index/);
    // a text index of an older version beside no binary one: rebuilt (and removed by the next save)
    fs.rmSync(store.file);
    fs.writeFileSync(path.join(dir, 'index.json'), '{"format":"agent-spend-index","version":4}');
    assert.match(((await store.load()) as { reason: string }).reason, /text format of an older version/);
    assert.equal(await store.save({ savedAt: 2, files: [], records: [], prompts: [], edits: [] }), true);
    assert.ok(!fs.existsSync(path.join(dir, 'index.json')));
    assert.equal((await store.load()).kind, 'loaded');
  });

  it('decodes parser states, edits and prompts on use; a state not read again is written back byte for byte', async () => {
    const state = { lastTimestamp: 7, pending: [{ id: 'toolu_1', name: 'Write', note: 'ünïcode' }] };
    const files = [
      { path: '/l/a.jsonl', root: '/l', cursor: { path: '/l/a.jsonl', offset: 10, size: 10, mtimeMs: 1, ino: 2, head: 'ab' }, parserState: state },
      { path: '/l/b.jsonl', root: '/l' },
    ];
    const edits = [{ key: 'cce:1', sessionId: 's', timestamp: 3, file: '/l/a.jsonl', path: '/src/x.ts', linesAdded: 2, linesRemoved: 1, exact: true }];
    const first = encodeIndex({ savedAt: 1, files, records: [], prompts: [{ key: 'p', sessionId: 's', timestamp: 1, text: 'hi', file: '/l/a.jsonl' }], edits });
    const decoded = decodeIndexColumns(first);
    const saved = decoded.files[0]!.parserState;
    assert.ok(saved instanceof SavedParserState, 'kept as JSON until its file is read again');
    assert.deepEqual(parserStateValue(saved), state);
    assert.equal(decoded.files[1]!.parserState, undefined);
    assert.deepEqual(decoded.edits, edits);
    assert.deepEqual(decoded.prompts.map((p) => p.text), ['hi']);
    const again = encodeIndex({ savedAt: 1, files: decoded.files, records: [], prompts: decoded.prompts, edits: decoded.edits });
    assert.ok(again.equals(first), 'same bytes');
    assert.equal(new SavedParserState('{"lastTim').value(), undefined, 'damaged state: none (the parser starts afresh at the saved position)');
    // A damaged edits section: unusable on an eager load, thrown on first use after a lazy one.
    fs.mkdirSync(dir, { recursive: true });
    const store = new IndexStore(dir, fsp);
    const at = first.lastIndexOf('[["cce:1"');
    const damaged = Buffer.from(first);
    damaged[at + 1] = 0x7b;
    fs.writeFileSync(store.file, damaged);
    const eager = await store.load();
    assert.equal(eager.kind, 'unusable');
    assert.match((eager as { reason: string }).reason, /edits are not valid JSON/);
    const lazy = await store.load({ lazy: true });
    assert.equal(lazy.kind, 'loaded');
    assert.throws(() => (lazy as { snapshot: DecodedIndex }).snapshot.edits, IndexFormatError);
  });

  it('a lazy load reads the head (header and rollup) only; the rest from the same open file when asked, whatever is renamed over it', async () => {
    const { cliStateFs } = await import('../../src/cli/cliFs');
    const { Rollup } = await import('../../src/core/rollup');
    const pricer = new Pricer();
    const records: UsageEvent[] = Array.from({ length: 500 }, (_, i) => ({
      key: `k${i}`, agent: 'claude-code', sessionId: `s${i % 7}`, project: '/p', model: 'claude-sonnet-4-5', timestamp: Date.UTC(2026, 0, 1 + (i % 3)),
      tokens: { input: i, output: 2 * i, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 3 * i, reasoning: 0 }, file: '/f',
    }));
    const rollup = Rollup.build(records.map((r) => ({ ...r, costNanos: pricer.priceNanos(r.model, r.tokens) })), (m) => pricer.rateKey(m)).toData();
    const reads: Array<[number, number]> = [];
    const fsSpy = { ...cliStateFs, openParts: (p: string) => {
      const f = cliStateFs.openParts!(p);
      return { ...f, read: (at: number, length: number) => (reads.push([at, length]), f.read(at, length)) };
    } };
    const store = new IndexStore(dir, fsSpy);
    const edits = [{ key: 'e1', sessionId: 's1', timestamp: 5, file: '/f', path: '/a.ts', linesAdded: 3, linesRemoved: 1, exact: true }];
    assert.ok(await store.save({ savedAt: 1, files: [], records, prompts: [], edits, rollup }));
    const size = fs.statSync(store.file).size;
    const loaded = await store.load({ lazy: true });
    assert.equal(loaded.kind, 'loaded');
    if (loaded.kind !== 'loaded') return;
    assert.equal(loaded.snapshot.rollup!.cells.length, rollup.cells.length);
    const head = reads.reduce((t, [, l]) => t + l, 0);
    assert.ok(head < size / 3, `read ${head} of ${size} bytes before any request row`);
    // another writer replaces index.bin meanwhile: this load still reads the file it opened
    assert.ok(await new IndexStore(dir, fsSpy).save({ savedAt: 2, files: [], records: records.slice(0, 3), prompts: [], edits: [] }));
    assert.deepEqual(loaded.snapshot.requests.record(499), records[499]);
    assert.deepEqual(loaded.snapshot.edits, edits);
    const read = reads.reduce((t, [, l]) => t + l, 0);
    assert.ok(read <= size && size - read < 16, `every byte read once, but the padding (${read} of ${size})`);
    // released once its end was read; a later read is refused, not answered from another file
    const again = await store.load({ lazy: true });
    assert.ok(again.kind === 'loaded' && again.snapshot.requests.length === 3);
    store.release();
    assert.throws(() => again.kind === 'loaded' && again.snapshot.requests.record(0), /index read after it was released/);
  });

  it('a delta folds into the index for every reader: rows it supersedes go, its own come after, files merge', async () => {
    const rec = (key: string, output: number): UsageEvent => ({ agent: 'codex', key, sessionId: 's', project: '/p', model: 'gpt-5', timestamp: 1, file: '/l/a.jsonl', tokens: { input: 1, output, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 0, reasoning: 0 } });
    const file = (p: string, offset: number) => ({ path: p, root: '/l', cursor: { path: p, offset, size: offset, mtimeMs: 1, ino: 1, head: '' } });
    fs.mkdirSync(dir, { recursive: true });
    const store = new IndexStore(dir, fsp);
    fs.writeFileSync(store.file, encodeIndex({ savedAt: 1, id: 'base1', files: [file('/l/a.jsonl', 10), file('/l/gone.jsonl', 5)], records: [rec('k1', 1), rec('k2', 2)], prompts: [], edits: [] }));
    fs.writeFileSync(store.deltaFile, encodeIndex({ savedAt: 2, files: [file('/l/a.jsonl', 20), file('/l/new.jsonl', 3)], records: [rec('k2', 5), rec('k3', 3)], prompts: [], edits: [],
      delta: { of: 'base1', goneRows: [1], removedFiles: ['/l/gone.jsonl'] } }));
    const loaded = await store.load();
    assert.equal(loaded.kind, 'loaded');
    const snap = (loaded as { snapshot: LoadedIndex }).snapshot;
    assert.deepEqual([...snap.allRecords()].map((r) => [r.key, r.tokens.output]), [['k1', 1], ['k2', 5], ['k3', 3]]);
    assert.deepEqual(snap.files.map((f) => [f.path, f.cursor?.offset]), [['/l/a.jsonl', 20], ['/l/new.jsonl', 3]]);
    assert.equal(snap.savedAt, 2);
    // a delta of another index is not applied
    fs.writeFileSync(store.file, encodeIndex({ savedAt: 1, id: 'base2', files: [file('/l/a.jsonl', 10)], records: [rec('k1', 1), rec('k2', 2)], prompts: [], edits: [] }));
    const other = (await store.load()) as { snapshot: LoadedIndex };
    assert.deepEqual([...other.snapshot.allRecords()].map((r) => [r.key, r.tokens.output]), [['k1', 1], ['k2', 2]]);
    await store.clear();
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  it('an index saved from a totals-only ledger (base columns copied, merged copies moved out) equals one saved from scratch', () => {
    const ev = (key: string, output: number, extra: Partial<UsageEvent> = {}): UsageEvent => ({
      agent: 'claude-code', key, sessionId: 's', project: '/p', model: 'claude-sonnet-4-5', timestamp: 1_000 + output, file: '/f',
      tokens: { input: 10, output, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 0, reasoning: 0 }, ...extra,
    });
    const first = [ev('k1', 1), ev('k2', 2, { branch: 'main', loggedCostUSD: 0.25 }), ev('kä3', 3, { sidechain: true, subagentId: 'a1' }), ev('k4', 4)];
    const columns = decodeIndexColumns(encodeIndex({ savedAt: 1, files: [], records: first, prompts: [], edits: [] })).requests;
    assert.equal(columns.findKey('kä3'), 2);
    assert.equal(columns.findKey('k4'), 3);
    assert.equal(columns.findKey('nope'), -1);
    const ledger = new Ledger(new Pricer(), undefined, 'totals-only');
    ledger.restoreRows(columns);
    // a later copy of k2 with more output (merged), a new request, a later and smaller copy of k1 (changes
    // nothing, but any copy moves its request out of the columns)
    ledger.addAll([ev('k2', 20, { branch: 'main', loggedCostUSD: 0.25, timestamp: 1_002 }), ev('k5', 5, { model: 'new-model' }), ev('k1', 0, { timestamp: 5_000 })]);
    const saved = ledger.forSave();
    assert.equal(saved.base?.columns, columns, 'the loaded columns are reused');
    assert.deepEqual(saved.records.map((r) => r.key).sort(), ['k1', 'k2', 'k5']);
    const limits = [{ agent: 'codex' as const, source: 'logged' as const, observedAt: 9, planType: 'plus', windows: [{ kind: 'five-hour' as const, windowMinutes: 300, usedPercent: 42, resetsAt: 99 }] }];
    const round = decodeIndex(encodeIndex({ savedAt: 2, files: [], ...saved, prompts: [], edits: [], limits }));
    assert.deepEqual(round.limits, limits, 'the latest plan limits survive a restart');
    const expected = new Ledger(new Pricer());
    expected.addAll([...first, ev('k2', 20, { branch: 'main', loggedCostUSD: 0.25, timestamp: 1_002 }), ev('k5', 5, { model: 'new-model' }), ev('k1', 0, { timestamp: 5_000 })]);
    const strip = (r: UsageEvent) => { const { costNanos: _c, ...rest } = r as UsageEvent & { costNanos?: unknown }; return rest; };
    const byKey = (rs: Iterable<UsageEvent>) => [...rs].map(strip).sort((a, b) => (a.key < b.key ? -1 : 1));
    assert.deepEqual(byKey(round.records), byKey(expected.allRecords()));
    assert.equal(round.records.find((r) => r.key === 'k2')!.tokens.output, 20);
  });

  it('writes atomically under a lock; a second writer backs off, a stale lock is taken over', async () => {
    let clock = 1_000_000;
    const a = new IndexStore(dir, fsp, { pid: 111, now: () => clock, isAlive: () => true });
    const b = new IndexStore(dir, fsp, { pid: 222, now: () => clock, isAlive: () => true });
    const snap: IndexSnapshot = { savedAt: 5, files: [], records: [], prompts: [], edits: [] };
    // A holds the lock (as if mid-write): B must not write
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'index.lock'), JSON.stringify({ pid: 111, at: clock }));
    assert.equal(await b.save(snap), false);
    assert.ok(!fs.existsSync(a.file));
    // the holder's process died: B takes over at once
    const c = new IndexStore(dir, fsp, { pid: 222, now: () => clock, isAlive: (pid) => pid !== 111 });
    assert.equal(await c.save(snap), true);
    assert.ok(!fs.existsSync(path.join(dir, 'index.lock')), 'lock released');
    // an old lock of a live process is stale after STALE_LOCK_MS
    fs.writeFileSync(path.join(dir, 'index.lock'), JSON.stringify({ pid: 111, at: clock }));
    clock += STALE_LOCK_MS + 1;
    assert.equal(await b.save({ ...snap, savedAt: 6 }), true);
    assert.equal((await a.load() as { snapshot: DecodedIndex }).snapshot.savedAt, 6);
    // concurrent saves from two stores: both complete, the file is whole, no temp files left
    const results = await Promise.all([a.save({ ...snap, savedAt: 7 }), b.save({ ...snap, savedAt: 8 })]);
    assert.ok(results.includes(true));
    assert.equal((await a.load()).kind, 'loaded');
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
  });

  describe('agent-spend report --index', () => {
    const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
    const run = (home: string, index: string) => {
      const r = spawnSync(process.execPath, [CLI, 'report', '--json', '--index', index], { env: { PATH: process.env['PATH'] ?? '', HOME: home, TZ: 'UTC' }, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as { totals: { requests: number; outputTokens: number }; warnings: string[] };
    };

    it("keeps a deleted log's requests, counts a rewritten file once, rebuilds a corrupt index", () => {
      const home = path.join(dir, 'home');
      const index = path.join(dir, 'index');
      const proj = path.join(home, '.claude', 'projects', '-w');
      const a = writeFile(path.join(proj, 'a.jsonl'), claudeAssistant({ sessionId: 'a', messageId: 'm1', requestId: 'r1', timestamp: '2026-01-01T00:00:00Z', output: 5 }) + '\n');
      const b = writeFile(path.join(proj, 'b.jsonl'), claudeAssistant({ sessionId: 'b', messageId: 'm2', requestId: 'r2', timestamp: '2026-01-01T00:00:00Z', output: 7 }) + '\n');
      assert.deepEqual(run(home, index).totals.requests, 2);
      fs.rmSync(a); // the agent's cleanup
      assert.equal(run(home, index).totals.outputTokens, 12, 'history kept');
      // b rewritten in place with its old line and a new one
      fs.writeFileSync(b, claudeAssistant({ sessionId: 'b', messageId: 'm2', requestId: 'r2', timestamp: '2026-01-01T00:00:00Z', output: 7 }) + '\n' +
        claudeAssistant({ sessionId: 'b', messageId: 'm3', requestId: 'r3', timestamp: '2026-01-01T00:01:00Z', output: 11 }) + '\n');
      const after = run(home, index);
      assert.equal(after.totals.requests, 3);
      assert.equal(after.totals.outputTokens, 23);
      fs.writeFileSync(path.join(index, 'index.bin'), 'garbage');
      const rebuilt = run(home, index);
      assert.equal(rebuilt.totals.outputTokens, 18, 'rebuilt from the logs on disk (the deleted log is gone for good)');
      assert.ok(rebuilt.warnings.some((w) => /index .* was unusable \(not an Agent Spend index/.test(w)), rebuilt.warnings.join('\n'));
      assert.equal(run(home, index).totals.outputTokens, 18);
    });

    it('an append writes a small delta beside the index; later runs fold it in; past a tenth of the index, a whole new index', () => {
      const home = path.join(dir, 'home');
      const index = path.join(dir, 'index');
      const proj = path.join(home, '.claude', 'projects', '-w');
      const line = (s: string, i: number, output: number) =>
        claudeAssistant({ sessionId: s, messageId: `m${s}${i}`, requestId: `r${s}${i}`, timestamp: `2026-01-01T00:${String(i % 60).padStart(2, '0')}:00Z`, output }) + '\n';
      const cold = (files: Record<string, string>) => {
        const h = path.join(dir, `cold-${Object.keys(files).length}-${Math.random()}`);
        for (const [name, text] of Object.entries(files)) writeFile(path.join(h, '.claude', 'projects', '-w', name), text);
        return run(h, path.join(h, 'no-index-used')).totals;
      };
      let a = '';
      for (let i = 0; i < 40; i++) a += line('a', i, i + 1);
      let b = line('b', 0, 100);
      writeFile(path.join(proj, 'a.jsonl'), a);
      writeFile(path.join(proj, 'b.jsonl'), b);
      run(home, index);
      const bin = path.join(index, 'index.bin');
      const delta = path.join(index, 'index.delta');
      const full = fs.readFileSync(bin);
      assert.equal(fs.existsSync(delta), false);
      // append two requests and a later streamed copy of an indexed one (larger output: it supersedes
      // its row in index.bin), and rewrite b in place with its line and a new one
      const more = line('a', 40, 1000) + line('a', 41, 2000) + line('a', 5, 500);
      fs.appendFileSync(path.join(proj, 'a.jsonl'), more);
      a += more;
      b += line('b', 1, 7);
      fs.writeFileSync(path.join(proj, 'b.jsonl'), b);
      const appended = run(home, index);
      assert.ok(fs.readFileSync(bin).equals(full), 'index.bin left as it was');
      assert.ok(fs.statSync(delta).size < full.length, `delta ${fs.statSync(delta).size} B, index ${full.length} B`);
      assert.deepEqual(appended.totals, cold({ 'a.jsonl': a, 'b.jsonl': b }));
      assert.equal(appended.totals.requests, 44);
      assert.match(fs.readFileSync(delta).toString('latin1'), /"goneRows":\[\d+\]/, 'the superseded row is named');
      const warm = run(home, index);
      assert.deepEqual(warm.totals, appended.totals, 'the delta folded in');
      assert.deepEqual(warm.warnings, []);
      // a delta naming another index is ignored: the logs are read again from index.bin's positions
      const kept = fs.readFileSync(delta);
      fs.writeFileSync(delta, Buffer.from(kept.toString('latin1').replace(/"of":"[0-9a-f]+"/, '"of":"0000000000000000"'), 'latin1'));
      assert.deepEqual(run(home, index).totals, appended.totals);
      fs.writeFileSync(delta, Buffer.from('damaged'));
      assert.deepEqual(run(home, index).totals, appended.totals, 'a damaged delta is ignored too');
      // the log of a is deleted by the agent's cleanup: its requests stay, through the delta
      fs.rmSync(path.join(proj, 'a.jsonl'));
      const afterCleanup = run(home, index);
      assert.deepEqual(afterCleanup.totals, appended.totals);
      assert.deepEqual(run(home, index).totals, appended.totals);
      // many more requests than a tenth of the index: a whole new index.bin, no delta
      let c = '';
      for (let i = 0; i < 2100; i++) c += claudeAssistant({ sessionId: 'c', messageId: `mc${i}`, requestId: `rc${i}`, timestamp: '2026-01-02T00:00:00Z', output: 1 }) + '\n';
      writeFile(path.join(proj, 'c.jsonl'), c);
      const big = run(home, index);
      assert.equal(big.totals.requests, appended.totals.requests + 2100);
      assert.equal(fs.existsSync(delta), false, 'folded into a new index.bin');
      assert.ok(!fs.readFileSync(bin).equals(full));
      assert.deepEqual(run(home, index).totals, big.totals);
    });

    const runWith = (home: string, index: string, tz: string, ...extra: string[]) => {
      const r = spawnSync(process.execPath, [CLI, 'report', '--json', '--index', index, ...extra], { env: { PATH: process.env['PATH'] ?? '', HOME: home, TZ: tz }, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as { totals: Record<string, number>; groups: Array<Record<string, unknown>>; warnings: string[] };
    };
    /** Byte offset of request `row`'s input token count in index.bin (see the layout in indexCodec.ts). */
    const inputTokensAt = (bytes: Buffer, row: number) => {
      const headerLen = bytes.readUInt32LE(8);
      const header = JSON.parse(bytes.toString('utf8', 12, 12 + headerLen)) as { requests: number; rollup: { cells: number } | null };
      const pad8 = (x: number) => (x + 7) & ~7;
      // after the head: the header, then the rollup's 17 f64 and 6 i32 columns
      const restAt = pad8(pad8(12 + headerLen) + (header.rollup?.cells ?? 0) * (17 * 8 + 6 * 4));
      return restAt + 8 * (2 * header.requests + row);
    };
    const twoDays = (proj: string) => {
      let text = '';
      // 20:00 UTC on Jan 1 is already Jan 2 in Kolkata (+05:30)
      for (let i = 0; i < 6; i++) text += claudeAssistant({ sessionId: 'a', messageId: `m${i}`, requestId: `r${i}`, timestamp: `2026-01-01T${String(16 + i).padStart(2, '0')}:30:00Z`, output: i + 1 }) + '\n';
      return writeFile(path.join(proj, 'a.jsonl'), text);
    };

    it('a rollup of another time zone is rebuilt silently: days as a cold run in the new zone gives them', () => {
      const home = path.join(dir, 'home');
      const index = path.join(dir, 'index');
      twoDays(path.join(home, '.claude', 'projects', '-w'));
      const utc = runWith(home, index, 'UTC', '--by', 'day');
      assert.deepEqual(utc.groups.map((g) => [g['key'], g['outputTokens']]), [['2026-01-01', 21]]);
      const cold = runWith(home, path.join(dir, 'other-index'), 'Asia/Kolkata', '--by', 'day');
      assert.deepEqual(cold.groups.map((g) => [g['key'], g['outputTokens']]), [['2026-01-01', 3], ['2026-01-02', 18]]);
      const kolkata = runWith(home, index, 'Asia/Kolkata', '--by', 'day');
      assert.deepEqual(kolkata.groups, cold.groups);
      assert.deepEqual(kolkata.warnings, []);
      const delta = path.join(index, 'index.delta');
      assert.ok(fs.existsSync(delta), 'the new rollup saved (a delta: no request changed)');
      const written = fs.readFileSync(delta);
      assert.deepEqual(runWith(home, index, 'Asia/Kolkata', '--by', 'day').groups, cold.groups);
      assert.ok(fs.readFileSync(delta).equals(written), 'the next run uses it and writes nothing');
      assert.deepEqual(runWith(home, index, 'UTC', '--by', 'day').groups, utc.groups);
    });

    it('--agent with an index filters the report only: every agent stays indexed', () => {
      const home = path.join(dir, 'home');
      const index = path.join(dir, 'index');
      twoDays(path.join(home, '.claude', 'projects', '-w'));
      const all = runWith(home, index, 'UTC');
      const bin = fs.readFileSync(path.join(index, 'index.bin'));
      const codex = runWith(home, index, 'UTC', '--agent', 'codex');
      assert.equal(codex.totals['requests'], 0);
      assert.ok(fs.readFileSync(path.join(index, 'index.bin')).equals(bin), 'nothing to save: no file dropped from the index');
      assert.equal(fs.existsSync(path.join(index, 'index.delta')), false);
      assert.deepEqual(runWith(home, index, 'UTC', '--agent', 'claude-code').totals, all.totals);
    });

    it('a damaged request row is found when the row is read, and the index rebuilt with the same totals', () => {
      const home = path.join(dir, 'home');
      const index = path.join(dir, 'index');
      const a = twoDays(path.join(home, '.claude', 'projects', '-w'));
      const before = runWith(home, index, 'UTC');
      const file = path.join(index, 'index.bin');
      const bytes = fs.readFileSync(file);
      bytes.writeDoubleLE(-1, inputTokensAt(bytes, 0));
      fs.writeFileSync(file, bytes);
      // a warm report reads the rollup, not the rows: the damage is not met
      const warm = runWith(home, index, 'UTC');
      assert.deepEqual(warm.totals, before.totals);
      assert.deepEqual(warm.warnings, []);
      // another time zone sums the rows again: the damaged one is met, the index rebuilt from the logs
      const rebuilt = runWith(home, index, 'Asia/Kolkata');
      assert.deepEqual(rebuilt.totals, before.totals);
      assert.ok(rebuilt.warnings.some((w) => /was unusable \(request 0: bad token count -1\)/.test(w)), rebuilt.warnings.join('\n'));
      assert.deepEqual(runWith(home, index, 'Asia/Kolkata').warnings, []);
      // and a damaged row that an append supersedes is met inside the scan: the ledger's error ends it (no file is skipped)
      const again = fs.readFileSync(file);
      again.writeDoubleLE(-1, inputTokensAt(again, 0));
      fs.writeFileSync(file, again);
      fs.rmSync(path.join(index, 'index.delta'), { force: true });
      fs.appendFileSync(a, claudeAssistant({ sessionId: 'a', messageId: 'm0', requestId: 'r0', timestamp: '2026-01-01T16:30:00Z', output: 50 }) + '\n');
      const appended = runWith(home, index, 'Asia/Kolkata');
      assert.equal(appended.totals['outputTokens'], before.totals['outputTokens']! - 1 + 50, 'the later streamed copy of m0 counts');
      assert.ok(appended.warnings.some((w) => /was unusable \(request \d+: bad token count -1\)/.test(w)), appended.warnings.join('\n'));
      assert.ok(!appended.warnings.some((w) => /unreadable/.test(w)), appended.warnings.join('\n'));
    });

    it('a damaged edits section, found only when the edits are needed, rebuilds the index with the same totals', () => {
      const home = path.join(dir, 'home');
      const index = path.join(dir, 'index');
      const proj = path.join(home, '.claude', 'projects', '-w');
      const a = writeFile(path.join(proj, 'a.jsonl'), claudeAssistant({ sessionId: 'a', messageId: 'm1', requestId: 'r1', timestamp: '2026-01-01T00:00:00Z', output: 5 }) + '\n');
      assert.equal(run(home, index).totals.outputTokens, 5);
      // the edits section is '[]' just before the prompts' '[]' at the very end: damage its first byte
      const file = path.join(index, 'index.bin');
      const bytes = fs.readFileSync(file);
      assert.equal(bytes.toString('latin1', bytes.length - 4), '[][]');
      bytes[bytes.length - 4] = 0x78;
      fs.writeFileSync(file, bytes);
      const warm = run(home, index);
      assert.equal(warm.totals.outputTokens, 5, 'nothing changed: the edits were not needed, and not read');
      assert.deepEqual(warm.warnings, []);
      fs.appendFileSync(a, claudeAssistant({ sessionId: 'a', messageId: 'm2', requestId: 'r2', timestamp: '2026-01-01T00:01:00Z', output: 6 }) + '\n');
      const delta = run(home, index);
      assert.equal(delta.totals.outputTokens, 11);
      assert.deepEqual(delta.warnings, [], 'a delta holds the edits read since: index.bin\'s are not decoded');
      // lines changed per session need every edit
      const appended = runWith(home, index, 'UTC', '--by', 'session');
      assert.equal(appended.totals['outputTokens'], 11);
      assert.ok(appended.warnings.some((w) => /was unusable \(edits are not valid JSON/.test(w)), appended.warnings.join('\n'));
      assert.equal(fs.readFileSync(file).toString('latin1', fs.statSync(file).size - 4), '[][]', 'a sound index was written');
      assert.deepEqual(run(home, index).warnings, []);
    });
  });
});
