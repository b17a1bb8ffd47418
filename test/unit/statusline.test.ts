import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { RequestRecord } from '../../src/core/ledger';
import { contextPercent, FALLBACK_LINE, formatLeft, formatStatusline, formatUSD, parseStatusline, parseStatuslineValue, statuslineLimits } from '../../src/core/statusline';
import { readStdin, runStatusline, type StatuslineDeps, type StdinReader } from '../../src/cli/statusline';
import { buildSpendSummary, localDay, readSpendSummary, summaryFigures, SUMMARY_MAX_SESSIONS, writeSpendSummary, type SpendSummary } from '../../src/state/spendSummary';
import { decodeSnapshot, latestStatuslineLimits, pruneSnapshots, readSnapshots, snapshotFileName, writeSnapshot, type StateFs } from '../../src/state/statuslineSnapshots';
import { REPO_ROOT, claudeAssistant, tempDir, writeFile } from './helpers';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
const STATUSLINE_JS = path.join(REPO_ROOT, 'dist', 'statusline.js');
const HOUR = 3600_000;
const NOW = Date.UTC(2026, 10, 24, 12, 0, 0);
const SESSION = '3f2a9c1e-5b7d-4e0a-9c2b-1a2b3c4d5e6f';

function sample(overrides: Record<string, unknown> = {}, now = NOW): Record<string, unknown> {
  return {
    session_id: SESSION,
    transcript_path: `/home/u/.claude/projects/-home-u-proj/${SESSION}.jsonl`,
    cwd: '/home/u/proj',
    model: { id: 'claude-opus-4-6', display_name: 'Opus 4.6' },
    workspace: { current_dir: '/home/u/proj', project_dir: '/home/u/proj' },
    version: '2.1.90',
    output_style: { name: 'default' },
    cost: { total_cost_usd: 3.2012, total_duration_ms: 3_600_000, total_api_duration_ms: 1_200_000, total_lines_added: 256, total_lines_removed: 31 },
    context_window: {
      total_input_tokens: 84_000, total_output_tokens: 12_000, context_window_size: 200_000, used_percentage: 42, remaining_percentage: 58,
      current_usage: { input_tokens: 8, output_tokens: 420, cache_creation_input_tokens: 1200, cache_read_input_tokens: 82_000 },
    },
    exceeds_200k_tokens: false,
    rate_limits: {
      five_hour: { used_percentage: 31, resets_at: Math.floor((now + 2 * HOUR + 10 * 60_000 + 30_000) / 1000) },
      seven_day: { used_percentage: 12, resets_at: Math.floor((now + 4 * 24 * HOUR) / 1000) },
    },
    ...overrides,
  };
}

function record(sessionId: string, timestamp: number, costNanos: number | null, loggedCostUSD?: number): RequestRecord {
  return {
    key: `${sessionId}:${timestamp}:${Math.random()}`, agent: 'claude-code', sessionId, project: '/p', model: 'claude-opus-4-6', timestamp,
    tokens: { input: 1, output: 1, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 0, reasoning: 0 }, costNanos, file: '/f.jsonl',
    ...(loggedCostUSD !== undefined ? { loggedCostUSD } : {}),
  };
}

describe('status line: parsing Claude Code input', () => {
  it('keeps every documented field, camelCased, resets_at in epoch ms', () => {
    const p = parseStatusline(JSON.stringify(sample()));
    assert.equal(p.error, undefined);
    assert.deepEqual(p.dropped, []);
    const i = p.input;
    assert.equal(i.sessionId, SESSION);
    assert.equal(i.transcriptPath, `/home/u/.claude/projects/-home-u-proj/${SESSION}.jsonl`);
    assert.deepEqual(i.model, { id: 'claude-opus-4-6', displayName: 'Opus 4.6' });
    assert.deepEqual(i.workspace, { currentDir: '/home/u/proj', projectDir: '/home/u/proj' });
    assert.equal(i.version, '2.1.90');
    assert.deepEqual(i.cost, { totalCostUSD: 3.2012, totalDurationMs: 3_600_000, totalApiDurationMs: 1_200_000, totalLinesAdded: 256, totalLinesRemoved: 31 });
    assert.equal(i.contextWindow?.usedPercent, 42);
    assert.equal(i.contextWindow?.remainingPercent, 58);
    assert.deepEqual(i.contextWindow?.currentUsage, { inputTokens: 8, outputTokens: 420, cacheCreationInputTokens: 1200, cacheReadInputTokens: 82_000 });
    assert.equal(i.exceeds200kTokens, false);
    assert.equal(i.rateLimits?.fiveHour?.usedPercent, 31);
    assert.equal(i.rateLimits?.fiveHour?.resetsAt, Math.floor((NOW + 2 * HOUR + 10 * 60_000 + 30_000) / 1000) * 1000);
    assert.ok(!('outputStyle' in i), 'unknown fields are not carried');
  });

  it('keeps what is valid and drops wrong-typed fields one by one, never throwing', () => {
    const p = parseStatusline(JSON.stringify(sample({
      session_id: 42,
      model: { id: 'claude-sonnet-4-6', display_name: ['x'] },
      workspace: 'not an object',
      cost: { total_cost_usd: '3.20', total_lines_added: -5, total_lines_removed: 2 },
      context_window: { used_percentage: null, context_window_size: 200_000, total_input_tokens: true, current_usage: 7 },
      rate_limits: { five_hour: { used_percentage: 'high', resets_at: 1_900_000_000 }, seven_day: [] },
      version: { major: 2 },
    })));
    assert.equal(p.error, undefined);
    const i = p.input;
    assert.equal(i.sessionId, undefined);
    assert.deepEqual(i.model, { id: 'claude-sonnet-4-6' });
    assert.equal(i.workspace, undefined);
    assert.deepEqual(i.cost, { totalLinesRemoved: 2 });
    assert.deepEqual(i.contextWindow, { contextWindowSize: 200_000 });
    assert.deepEqual(i.rateLimits, { fiveHour: { resetsAt: 1_900_000_000_000 } });
    assert.equal(i.cwd, '/home/u/proj');
    assert.deepEqual(p.dropped.sort(), [
      'context_window.current_usage', 'context_window.total_input_tokens', 'cost.total_cost_usd', 'cost.total_lines_added', 'model.display_name',
      'rate_limits.five_hour.used_percentage', 'rate_limits.seven_day', 'session_id', 'version', 'workspace',
    ]);
    assert.equal(statuslineLimits(i, NOW), undefined, 'a window without a used figure is no limit');
  });

  it('reports (never throws on) empty, malformed and non-object input', () => {
    for (const text of ['', '   \n', '{"session_id": "x"', 'null', '[1,2]', '"str"', '42', 'true']) {
      const p = parseStatusline(text);
      assert.ok(p.error, `error for ${JSON.stringify(text)}`);
      assert.deepEqual(p.input, {});
    }
    assert.deepEqual(parseStatuslineValue(undefined).input, {});
    assert.deepEqual(parseStatusline('{}'), { input: {}, dropped: [] });
  });

  it('tolerates resets_at in ms or as an ISO date', () => {
    const i = parseStatusline(JSON.stringify({ rate_limits: { five_hour: { used_percentage: 5, resets_at: 1_900_000_000_000 }, seven_day: { used_percentage: 6, resets_at: '2030-01-01T00:00:00Z' } } })).input;
    assert.equal(i.rateLimits?.fiveHour?.resetsAt, 1_900_000_000_000);
    assert.equal(i.rateLimits?.sevenDay?.resetsAt, Date.parse('2030-01-01T00:00:00Z'));
  });

  it('maps rate limits to the shared LimitsSnapshot (source statusline, 300 / 10080 minutes)', () => {
    const i = parseStatusline(JSON.stringify(sample())).input;
    assert.deepEqual(statuslineLimits(i, NOW), {
      agent: 'claude-code', source: 'statusline', observedAt: NOW, sessionId: SESSION,
      windows: [
        { kind: 'five-hour', windowMinutes: 300, usedPercent: 31, resetsAt: i.rateLimits!.fiveHour!.resetsAt },
        { kind: 'weekly', windowMinutes: 10_080, usedPercent: 12, resetsAt: i.rateLimits!.sevenDay!.resetsAt },
      ],
    });
    const { rate_limits: _, ...without } = sample();
    assert.equal(statuslineLimits(parseStatusline(JSON.stringify(without)).input, NOW), undefined);
  });

  it('context fill: Claude\'s figure, else remaining, else current usage over the window', () => {
    assert.equal(contextPercent({ contextWindow: { usedPercent: 42 } }), 42);
    assert.equal(contextPercent({ contextWindow: { remainingPercent: 70 } }), 30);
    assert.equal(contextPercent({ contextWindow: { contextWindowSize: 200_000, currentUsage: { inputTokens: 1000, cacheReadInputTokens: 49_000, outputTokens: 999 } } }), 25);
    assert.equal(contextPercent({}), undefined);
  });
});

describe('status line: the line', () => {
  it('formats every known part', () => {
    const i = parseStatusline(JSON.stringify(sample())).input;
    assert.equal(formatStatusline(i, { now: NOW, todayCostUSD: 41.07 }), 'Opus 4.6 · ctx 42% · 5h 31% (2h 10m) · 7d 12% · session $3.20 · today $41.07');
  });

  it('leaves out unknown parts, and a window whose reset has passed', () => {
    const { rate_limits: _, cost: __, ...rest } = sample();
    assert.equal(formatStatusline(parseStatusline(JSON.stringify(rest)).input, { now: NOW }), 'Opus 4.6 · ctx 42%');
    const i = parseStatusline(JSON.stringify(sample())).input;
    assert.equal(formatStatusline(i, { now: NOW + 3 * HOUR }), 'Opus 4.6 · ctx 42% · 7d 12% · session $3.20');
  });

  it('session cost: Claude\'s own figure first, else the summary\'s', () => {
    const i = parseStatusline(JSON.stringify(sample())).input;
    assert.match(formatStatusline(i, { now: NOW, sessionCostUSD: 99 }), /session \$3\.20/);
    const { cost: _, ...noCost } = sample();
    assert.match(formatStatusline(parseStatusline(JSON.stringify(noCost)).input, { now: NOW, sessionCostUSD: 2.5 }), /session \$2\.50/);
  });

  it('is never empty and never more than one line', () => {
    assert.equal(formatStatusline({}, { now: NOW }), FALLBACK_LINE);
    const line = formatStatusline({ model: { displayName: 'Evil\nModel\u001b[31m\u2028name that is far too long to be shown in full here' } }, { now: NOW });
    assert.ok(!/[\n\r\u001b\u2028]/.test(line), line);
    assert.ok(line.length <= 40, line);
    assert.equal(formatStatusline({ model: { id: 'claude-sonnet-4-5-20250929' } }, { now: NOW }), 'sonnet-4-5');
  });

  it('formats money and time left compactly', () => {
    assert.deepEqual([0, 0.004, 0.005, 3.2012, 999.999, 1234.5].map(formatUSD), ['$0.00', '<$0.01', '$0.01', '$3.20', '$1000.00', '$1,235']);
    assert.deepEqual([0, 59_999, 60_000, 45 * 60_000, 130 * 60_000, 26 * HOUR + 5 * 60_000].map(formatLeft), ['<1m', '<1m', '1m', '45m', '2h 10m', '1d 2h']);
  });
});

describe('status line: spend summary', () => {
  it('is bounded to 14 local days and sessions active in the last 48 hours, with today always present', () => {
    const now = new Date(2026, 10, 24, 12).getTime();
    const day = 24 * HOUR;
    const records = [
      record('old', now - 30 * day, 5e9), // outside both windows
      record('a', now - 20 * day, 1e9), // session a: last request 2 days ago minus 1 h → out
      record('a', now - 49 * HOUR, 1e9),
      record('b', now - 20 * day, 2e9), // session b: whole total counts (also days before the window)
      record('b', now - 13 * day, 1e9),
      record('b', now - HOUR, 3e9),
      record('c', now - 10 * HOUR, null), // unpriced: adds nothing
      record('d', now - 2 * HOUR, 1e9, 0.5), // logged cost wins over the estimate
    ];
    const s = buildSpendSummary(records, now);
    assert.equal(s.version, 1);
    assert.equal(s.writtenAt, now);
    assert.deepEqual(Object.keys(s.sessions).sort(), ['b', 'c', 'd']);
    assert.equal(s.sessions['b'], 6e9);
    assert.equal(s.sessions['c'], 0);
    assert.equal(s.sessions['d'], 0.5e9);
    const keys = Object.keys(s.days);
    assert.ok(keys.every((k) => k >= localDay(now - 13 * day) && k <= localDay(now)), keys.join());
    assert.equal(s.days[localDay(now - 13 * day)], 1e9);
    assert.equal(s.days[localDay(now)], 3.5e9);
    assert.equal(buildSpendSummary([], now).days[localDay(now)], 0);
  });

  it('keeps at most the most recent sessions', () => {
    const now = NOW;
    const records = Array.from({ length: SUMMARY_MAX_SESSIONS + 50 }, (_, k) => record(`s${k}`, now - HOUR + k, 1));
    const s = buildSpendSummary(records, now);
    assert.equal(Object.keys(s.sessions).length, SUMMARY_MAX_SESSIONS);
    assert.ok(!('s0' in s.sessions) && `s${SUMMARY_MAX_SESSIONS + 49}` in s.sessions);
  });

  it('today\'s figure only when the summary was written today (injected clock); never a stale day', () => {
    const written = new Date(2026, 10, 24, 9).getTime();
    const summary: SpendSummary = { version: 1, writtenAt: written, days: { [localDay(written)]: 41.07e9, [localDay(written - 24 * HOUR)]: 12e9 }, sessions: { [SESSION]: 3.5e9 } };
    assert.deepEqual(summaryFigures(summary, SESSION, new Date(2026, 10, 24, 23, 59).getTime()), { todayUSD: 41.07, sessionUSD: 3.5 });
    assert.deepEqual(summaryFigures(summary, SESSION, new Date(2026, 10, 25, 0, 1).getTime()), { sessionUSD: 3.5 }, 'next day: yesterday\'s figure is not today\'s');
    assert.deepEqual(summaryFigures(summary, 'other', written), { todayUSD: 41.07 });
    assert.deepEqual(summaryFigures(summary, 'constructor', written), { todayUSD: 41.07 }, 'no prototype keys');
    assert.deepEqual(summaryFigures(undefined, SESSION, written), {});
  });

  it('round-trips atomically and reports unusable files', async () => {
    const dir = tempDir();
    try {
      assert.deepEqual(await readSpendSummary(fsp, dir), { kind: 'missing' });
      const s = buildSpendSummary([record('x', NOW - HOUR, 7e9)], NOW);
      await writeSpendSummary(fsp as unknown as StateFs, dir, s);
      assert.deepEqual(await readSpendSummary(fsp, dir), { kind: 'ok', summary: s });
      assert.deepEqual(fs.readdirSync(dir), ['spend-summary.json']);
      if (process.platform !== 'win32') assert.equal(fs.statSync(path.join(dir, 'spend-summary.json')).mode & 0o777, 0o600);
      fs.writeFileSync(path.join(dir, 'spend-summary.json'), '{"version":2}');
      assert.equal((await readSpendSummary(fsp, dir)).kind, 'unusable');
      fs.writeFileSync(path.join(dir, 'spend-summary.json'), '{"vers');
      assert.equal((await readSpendSummary(fsp, dir)).kind, 'unusable');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is not rewritten with the same figures later the same day; is with new figures or on a new day', async () => {
    const dir = tempDir();
    try {
      const morning = new Date(2026, 10, 24, 9).getTime();
      const at = (t: number, usd: number): SpendSummary => ({ version: 1, writtenAt: t, days: { [localDay(t)]: usd * 1e9 }, sessions: { [SESSION]: usd * 1e9 } });
      const written = async () => ((await readSpendSummary(fsp, dir)) as { summary: SpendSummary }).summary;
      await writeSpendSummary(fsp as unknown as StateFs, dir, at(morning, 5));
      await writeSpendSummary(fsp as unknown as StateFs, dir, at(morning + HOUR, 5));
      assert.equal((await written()).writtenAt, morning, 'same figures, same day: left alone');
      await writeSpendSummary(fsp as unknown as StateFs, dir, at(morning + 2 * HOUR, 6));
      assert.deepEqual(await written(), at(morning + 2 * HOUR, 6));
      const nextDay = new Date(2026, 10, 25, 9).getTime();
      await writeSpendSummary(fsp as unknown as StateFs, dir, { ...at(nextDay, 6), days: { [localDay(morning)]: 6e9 } });
      assert.equal((await written()).writtenAt, nextDay, 'a new day is written even with the same figures');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('status line: snapshots', () => {
  let dir: string;
  beforeEach(() => { dir = tempDir(); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('names files after the session, sanitised (with a hash when changed)', () => {
    assert.equal(snapshotFileName(SESSION), `${SESSION}.json`);
    assert.match(snapshotFileName('../../etc/passwd'), /^______etc_passwd~[0-9a-f]{8}\.json$/);
    assert.notEqual(snapshotFileName('a/b'), snapshotFileName('a:b'));
    assert.equal(snapshotFileName(undefined), '_no-session.json');
    assert.ok(snapshotFileName('x'.repeat(500)).length < 120);
  });

  it('writes atomically into a new folder (0700 / 0600), leaves no temp file, reads back', async () => {
    const input = parseStatusline(JSON.stringify(sample())).input;
    const file = await writeSnapshot(fsp as unknown as StateFs, dir, input, NOW);
    assert.equal(file, path.join(dir, 'statusline', `${SESSION}.json`));
    assert.deepEqual(fs.readdirSync(path.join(dir, 'statusline')), [`${SESSION}.json`]);
    if (process.platform !== 'win32') {
      assert.equal(fs.statSync(path.join(dir, 'statusline')).mode & 0o777, 0o700);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    }
    const { snapshots, problems } = await readSnapshots(fsp as unknown as StateFs, dir);
    assert.deepEqual(problems, []);
    assert.deepEqual(snapshots, [{ format: 'agent-spend/statusline', version: 1, receivedAt: NOW, input }]);
    assert.equal(latestStatuslineLimits(snapshots)?.windows.length, 2);
  });

  it('skips and reports partial, malformed and foreign files; ignores temp files; no folder is no problem', async () => {
    assert.deepEqual(await readSnapshots(fsp as unknown as StateFs, dir), { snapshots: [], problems: [] });
    await writeSnapshot(fsp as unknown as StateFs, dir, { sessionId: 'good' }, NOW);
    const sl = path.join(dir, 'statusline');
    writeFile(path.join(sl, 'partial.json'), '{"format":"agent-spend/statusline","version":1,"recei');
    writeFile(path.join(sl, 'empty.json'), '');
    writeFile(path.join(sl, 'other-version.json'), JSON.stringify({ format: 'agent-spend/statusline', version: 2, receivedAt: 1, input: {} }));
    writeFile(path.join(sl, 'wrong-types.json'), JSON.stringify({ format: 'agent-spend/statusline', version: 1, receivedAt: 1, input: { model: { id: 5 } } }));
    writeFile(path.join(sl, 'notes.txt'), 'hello');
    writeFile(path.join(sl, '.good.json.123.abc.tmp'), '{');
    const { snapshots, problems } = await readSnapshots(fsp as unknown as StateFs, dir);
    assert.deepEqual(snapshots.map((s) => s.input.sessionId), ['good']);
    assert.deepEqual(problems.map((p) => path.basename(p.file)).sort(), ['empty.json', 'notes.txt', 'other-version.json', 'partial.json', 'wrong-types.json']);
    assert.throws(() => decodeSnapshot('[]'), /not a version 1/);
  });

  it('prunes only its own old files (snapshots after 7 days, temp files after a minute)', async () => {
    const sl = path.join(dir, 'statusline');
    await writeSnapshot(fsp as unknown as StateFs, dir, { sessionId: 'fresh' }, NOW);
    await writeSnapshot(fsp as unknown as StateFs, dir, { sessionId: 'old' }, NOW);
    writeFile(path.join(sl, 'foreign-old.txt'), 'x');
    writeFile(path.join(sl, '.old.json.1.x.tmp'), '{');
    writeFile(path.join(sl, '.fresh.json.1.y.tmp'), '{');
    const t = Date.now();
    const past = (ms: number) => new Date(t - ms);
    fs.utimesSync(path.join(sl, 'old.json'), past(8 * 24 * HOUR), past(8 * 24 * HOUR));
    fs.utimesSync(path.join(sl, 'foreign-old.txt'), past(30 * 24 * HOUR), past(30 * 24 * HOUR));
    fs.utimesSync(path.join(sl, '.old.json.1.x.tmp'), past(5 * 60_000), past(5 * 60_000));
    const removed = await pruneSnapshots(fsp as unknown as StateFs, dir, t);
    assert.deepEqual(removed.map((f) => path.basename(f)).sort(), ['.old.json.1.x.tmp', 'old.json']);
    assert.deepEqual(fs.readdirSync(sl).sort(), ['.fresh.json.1.y.tmp', 'foreign-old.txt', 'fresh.json']);
    assert.deepEqual(await pruneSnapshots(fsp as unknown as StateFs, path.join(dir, 'missing'), t), []);
  });

  it('a concurrent reader never sees a partial file (200 writes by another process)', async function () {
    this.timeout(60_000);
    const mod = path.join(REPO_ROOT, 'out', 'src', 'state', 'statuslineSnapshots.js');
    const script = `
      const fsp = require('node:fs/promises');
      const { writeSnapshot } = require(${JSON.stringify(mod)});
      (async () => {
        const pad = 'x'.repeat(20000);
        for (let k = 0; k < 200; k++) await writeSnapshot(fsp, ${JSON.stringify(dir)}, { sessionId: 's', cwd: pad + k, cost: { totalCostUSD: k } }, Date.now());
      })().catch((e) => { console.error(e); process.exit(1); });`;
    // the first write happens before the reader starts, so the file always exists while reading
    await writeSnapshot(fsp as unknown as StateFs, dir, { sessionId: 's' }, NOW);
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => { stderr += c; });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let running = true;
    void exited.then(() => { running = false; });
    const file = path.join(dir, 'statusline', 's.json');
    let reads = 0;
    const seen = new Set<number>();
    while (running) {
      const snap = decodeSnapshot(await fsp.readFile(file, 'utf8')); // throws on a partial file
      seen.add(snap.input.cost?.totalCostUSD ?? -1);
      reads++;
    }
    assert.equal(await exited, 0, stderr);
    assert.ok(reads > 10 && seen.size > 2, `reads ${reads}, distinct ${seen.size}`);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'statusline')), ['s.json'], 'no temp file left');
    assert.equal(decodeSnapshot(fs.readFileSync(file, 'utf8')).input.cost?.totalCostUSD, 199);
  });
});

describe('status line: stdin', () => {
  function reader(chunks: (Buffer | Error)[], end = true): StdinReader & { stopped: boolean } {
    return {
      stopped: false,
      readable: () => true,
      start(on) {
        let k = 0;
        const step = () => {
          const c = chunks[k++];
          if (c === undefined) return end ? on.end() : undefined;
          if (c instanceof Error) return on.error(c);
          on.data(c);
          setImmediate(step);
        };
        setImmediate(step);
      },
      stop() { this.stopped = true; },
    };
  }
  it('reads every chunk until end of input', async () => {
    const r = reader([Buffer.from('{"a"'), Buffer.from(':1}')]);
    assert.deepEqual(await readStdin(r), { text: '{"a":1}' });
    assert.ok(r.stopped);
  });
  it('stops at the size cap, on errors and at the timeout; a terminal is not waited for', async () => {
    const big = await readStdin(reader([Buffer.alloc(600), Buffer.alloc(600)]), 1000, 1000);
    assert.ok('error' in big && /larger than 1000 bytes/.test(big.error));
    const bad = await readStdin(reader([Object.assign(new Error('x'), { code: 'EIO' })]));
    assert.deepEqual(bad, { error: 'cannot read stdin: EIO' });
    const t = Date.now();
    const hung = reader([Buffer.from('{"half"')], false);
    assert.deepEqual(await readStdin(hung, 50), { text: '{"half"' });
    assert.ok(hung.stopped && Date.now() - t < 1000);
    assert.deepEqual(await readStdin(reader([], false), 20), { error: 'no input within 20 ms' });
    assert.deepEqual(await readStdin({ readable: () => false, start: () => assert.fail('read'), stop: () => undefined }), { error: 'no input (stdin is a terminal or closed)' });
  });
});

describe('status line: runStatusline (injected)', () => {
  it('prints one line, writes the snapshot and uses the summary with an injected clock', async () => {
    const dir = tempDir();
    try {
      const now = new Date(2026, 10, 24, 15).getTime();
      const { cost: _, ...noCost } = sample({}, now);
      await writeSpendSummary(fsp as unknown as StateFs, dir, { version: 1, writtenAt: now - HOUR, days: { [localDay(now)]: 41.07e9 }, sessions: { [SESSION]: 2.5e9 } });
      const lines: string[] = [];
      const body = Buffer.from(JSON.stringify(noCost));
      let sent = false;
      const deps: StatuslineDeps = {
        stdin: { readable: () => true, start: (on) => setImmediate(() => { if (!sent) on.data(body); sent = true; on.end(); }), stop: () => undefined },
        out: (l) => lines.push(l), env: {}, home: '/nowhere', platform: 'linux', now: () => now,
        fs: fsp as unknown as StatuslineDeps['fs'], random: () => 0.99,
      };
      assert.equal(await runStatusline(['--state-dir', dir], deps), 0);
      assert.deepEqual(lines, ['Opus 4.6 · ctx 42% · 5h 31% (2h 10m) · 7d 12% · session $2.50 · today $41.07']);
      const { snapshots } = await readSnapshots(fsp as unknown as StateFs, dir);
      assert.equal(snapshots[0]?.receivedAt, now);
      // the next day, the same summary gives no "today"
      lines.length = 0;
      sent = false;
      await runStatusline([`--state-dir=${dir}`], { ...deps, now: () => now + 24 * HOUR });
      assert.ok(!lines[0]!.includes('today'), lines[0]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('agent-spend statusline (built CLI)', () => {
  let state: string;
  before(() => {
    assert.ok(fs.existsSync(CLI) && fs.existsSync(STATUSLINE_JS), `build first (node scripts/build.mjs): ${CLI}, ${STATUSLINE_JS}`);
  });
  beforeEach(() => { state = tempDir('agent-spend-state-'); });
  afterEach(() => fs.rmSync(state, { recursive: true, force: true }));

  function run(input: string | Buffer, args: string[] = [], extraEnv: Record<string, string> = {}, entry = CLI) {
    const argv = entry === CLI ? [CLI, 'statusline', ...args] : [entry, ...args];
    const t = Date.now();
    const r = spawnSync(process.execPath, argv, { input, env: { PATH: process.env['PATH'] ?? '', HOME: state, AGENT_SPEND_STATE_DIR: state, TZ: 'UTC', ...extraEnv }, encoding: 'utf8', timeout: 20_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t };
  }
  function oneLine(stdout: string): string {
    assert.match(stdout, /^[^\n]+\n$/, `exactly one non-empty line: ${JSON.stringify(stdout)}`);
    return stdout.slice(0, -1);
  }
  function snapshotFiles(): string[] {
    const sl = path.join(state, 'statusline');
    return fs.existsSync(sl) ? fs.readdirSync(sl) : [];
  }

  it('with rate limits: the full line, exit 0, snapshot written, no temp file', () => {
    const r = run(JSON.stringify(sample({}, Date.now())));
    assert.equal(r.code, 0, r.stderr);
    assert.match(oneLine(r.stdout), /^Opus 4\.6 · ctx 42% · 5h 31% \(2h 1\dm\) · 7d 12% · session \$3\.20$/);
    assert.deepEqual(snapshotFiles(), [`${SESSION}.json`]);
    const snap = decodeSnapshot(fs.readFileSync(path.join(state, 'statusline', `${SESSION}.json`), 'utf8'));
    assert.ok(Math.abs(snap.receivedAt - Date.now()) < 60_000);
    assert.equal(snap.input.rateLimits?.fiveHour?.usedPercent, 31);
    assert.equal(r.stderr, '');
  });

  it('without rate limits (API key users, before the first response)', () => {
    const { rate_limits: _, ...rest } = sample();
    const r = run(JSON.stringify(rest));
    assert.equal(r.code, 0);
    assert.equal(oneLine(r.stdout), 'Opus 4.6 · ctx 42% · session $3.20');
  });

  it('today from a summary written today, not from one written yesterday; --state-dir', () => {
    const other = tempDir('agent-spend-state2-');
    try {
      const now = Date.now();
      const today = new Date(now).toISOString().slice(0, 10); // TZ=UTC in the child
      fs.writeFileSync(path.join(other, 'spend-summary.json'), JSON.stringify({ version: 1, writtenAt: now, days: { [today]: 41.07e9 }, sessions: {} }));
      const input = JSON.stringify(sample({}, now));
      assert.match(oneLine(run(input, ['--state-dir', other]).stdout), / · today \$41\.07$/);
      fs.writeFileSync(path.join(other, 'spend-summary.json'), JSON.stringify({ version: 1, writtenAt: now - 2 * 24 * HOUR, days: { [today]: 41.07e9 }, sessions: {} }));
      assert.doesNotMatch(oneLine(run(input, ['--state-dir', other]).stdout), /today/);
      assert.deepEqual(snapshotFiles(), [], 'the flag wins over AGENT_SPEND_STATE_DIR');
      assert.equal(fs.readdirSync(path.join(other, 'statusline')).length, 1);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  it('malformed JSON, empty stdin, wrong types, huge input: one line, exit 0, never a stack trace', () => {
    const cases: [string, string | Buffer, RegExp][] = [
      ['malformed', '{"session_id": "abc", "model": {', /^agent-spend$/],
      ['empty', '', /^agent-spend$/],
      ['array', '[]', /^agent-spend$/],
      ['wrong types', JSON.stringify({ session_id: 7, model: { display_name: 9, id: 'claude-haiku-4-5' }, context_window: 'full', cost: { total_cost_usd: 'free' }, rate_limits: { five_hour: 3 } }), /^haiku-4-5$/],
      ['huge', Buffer.alloc(3 * 1024 * 1024, 0x20), /^agent-spend$/],
      ['huge valid JSON', JSON.stringify({ ...sample(), padding: 'x'.repeat(2 * 1024 * 1024) }), /^agent-spend$/],
      ['binary', Buffer.from([0xff, 0xfe, 0x00, 0x7b]), /^agent-spend$/],
    ];
    for (const [name, input, expected] of cases) {
      const r = run(input);
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.match(oneLine(r.stdout), expected, name);
      assert.equal(r.stderr, '', name);
    }
    const log = fs.readFileSync(path.join(state, 'statusline-errors.log'), 'utf8');
    assert.match(log, /not JSON/);
    assert.match(log, /empty input/);
    assert.match(log, /larger than 1048576 bytes/);
    assert.ok(log.split('\n').every((l) => l.length < 700));
    // only the well-typed remainder was kept
    assert.deepEqual(snapshotFiles(), ['_no-session.json']);
  });

  it('an unwritable state folder still prints the line and exits 0', () => {
    const blocker = path.join(state, 'file');
    fs.writeFileSync(blocker, 'x');
    const r = run(JSON.stringify(sample()), ['--state-dir', path.join(blocker, 'sub')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(oneLine(r.stdout), /^Opus 4\.6 · ctx 42%/);
  });

  it('dist/statusline.js answers on its own; --help', () => {
    const r = run(JSON.stringify(sample()), [], {}, STATUSLINE_JS);
    assert.equal(r.code, 0);
    assert.match(oneLine(r.stdout), /^Opus 4\.6 · ctx 42%/);
    const h = run('', ['--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /statusLine/);
  });

  it('a stdin that never closes: the line after ~1 s, exit 0', async function () {
    this.timeout(20_000);
    const child = spawn(process.execPath, [CLI, 'statusline'], { env: { PATH: process.env['PATH'] ?? '', HOME: state, AGENT_SPEND_STATE_DIR: state }, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.write(JSON.stringify(sample()).slice(0, 50)); // half an object, and no end
    let out = '';
    child.stdout.on('data', (c) => { out += c; });
    const t = Date.now();
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    const ms = Date.now() - t;
    child.stdin.destroy();
    assert.equal(code, 0);
    assert.equal(oneLine(out), 'agent-spend');
    assert.ok(ms >= 900 && ms < 10_000, `${ms} ms`);
  });
});

describe('agent-spend now / limits (built CLI)', () => {
  it('now --json: a running session with Claude\'s own context figure; limits --json: the status line\'s windows', () => {
    const home = tempDir('agent-spend-home-');
    const state = tempDir('agent-spend-state-');
    try {
      const t = Date.now() - 5_000;
      writeFile(path.join(home, '.claude', 'projects', '-w', `${SESSION}.jsonl`),
        claudeAssistant({ sessionId: SESSION, messageId: 'm1', requestId: 'r1', timestamp: new Date(t).toISOString(), model: 'claude-opus-4-6', cwd: '/w', input: 1000, output: 100 }) + '\n');
      const env = { PATH: process.env['PATH'] ?? '', HOME: home, AGENT_SPEND_STATE_DIR: state };
      const sl = spawnSync(process.execPath, [CLI, 'statusline'], { input: JSON.stringify(sample({}, Date.now())), env, encoding: 'utf8' });
      assert.equal(sl.status, 0);
      const now = spawnSync(process.execPath, [CLI, 'now', '--json', '--aider', home], { env, encoding: 'utf8', cwd: home });
      assert.equal(now.status, 0, now.stderr);
      const j = JSON.parse(now.stdout);
      assert.equal(j.sessions.length, 1, now.stdout);
      assert.equal(j.sessions[0].sessionId, SESSION);
      assert.equal(j.sessions[0].state, 'running');
      assert.equal(j.sessions[0].context.source, 'statusline');
      assert.equal(j.sessions[0].context.percent, 42);
      const lim = spawnSync(process.execPath, [CLI, 'limits', '--json', '--aider', home], { env, encoding: 'utf8', cwd: home });
      assert.equal(lim.status, 0, lim.stderr);
      const l = JSON.parse(lim.stdout);
      assert.deepEqual(l.limits.map((x: { agent: string; source: string }) => [x.agent, x.source]), [['claude-code', 'statusline']]);
      assert.deepEqual(l.limits[0].windows.map((w: { kind: string; usedPercent: number }) => [w.kind, w.usedPercent]), [['five-hour', 31], ['weekly', 12]]);
      assert.ok(!Number.isNaN(Date.parse(l.limits[0].windows[0].resetsAt)));
      const bad = spawnSync(process.execPath, [CLI, 'limits', '--all'], { env, encoding: 'utf8' });
      assert.equal(bad.status, 2);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
      fs.rmSync(state, { recursive: true, force: true });
    }
  });
});
