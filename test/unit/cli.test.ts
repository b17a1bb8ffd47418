import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseReportArgs, UsageError } from '../../src/cli/main';
import { REAL_LOGS, REPO_ROOT, claudeAssistant, tempDir, writeFile } from './helpers';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');

function run(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env }, encoding: 'utf8', timeout: 60000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('agent-spend CLI', () => {
  let home: string;
  let claude: string;
  before(() => {
    assert.ok(fs.existsSync(CLI), `build the CLI first (${CLI})`);
  });
  beforeEach(() => {
    home = tempDir('agent-spend-home-');
    claude = path.join(home, '.claude', 'projects', '-w');
    // 23:30 UTC on Jan 1 is Jan 2 in Tokyo, Jan 1 in New York
    writeFile(path.join(claude, 's1.jsonl'), [
      claudeAssistant({ sessionId: 's1', messageId: 'm1', requestId: 'r1', timestamp: '2026-01-01T23:30:00Z', model: 'claude-sonnet-4-5-20250929', input: 1000, output: 2000, cacheWrite: 3000, cacheWrite1h: 1000, cacheRead: 4000 }),
      claudeAssistant({ sessionId: 's1', messageId: 'm1', requestId: 'r1', timestamp: '2026-01-01T23:30:01Z', model: 'claude-sonnet-4-5-20250929', input: 1000, output: 2500, cacheWrite: 3000, cacheWrite1h: 1000, cacheRead: 4000 }),
      claudeAssistant({ sessionId: 's1', messageId: 'm2', requestId: 'r2', timestamp: '2026-01-03T10:00:00Z', model: 'mystery-model-9', input: 10, output: 20 }),
    ].join('\n') + '\n');
  });
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  it('--json prints exactly one object of the documented shape, with exact totals', () => {
    const r = run(['report', '--json'], { HOME: home, TZ: 'UTC' });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(out).sort(), ['generatedAt', 'groups', 'totals', 'warnings']);
    assert.ok(!Number.isNaN(Date.parse(out.generatedAt)));
    // sonnet 4.5: $3 in, $15 out, 5m write $3.75, 1h write $6, read $0.30 per MTok
    // 1000*3 + 2500*15 + 2000*3.75 + 1000*6 + 4000*0.3 = 3000+37500+7500+6000+1200 = 55200 µ$ = $0.0552
    assert.deepEqual(out.totals, {
      requests: 2, inputTokens: 1010, outputTokens: 2520, cacheCreationTokens: 3000, cacheReadTokens: 4000,
      reasoningTokens: 0, costUSD: 0.0552, unpricedRequests: 1,
    });
    assert.deepEqual(out.groups, []);
    assert.ok(out.warnings.some((w: string) => w.includes('mystery-model-9')), out.warnings.join('\n'));
  });

  it('--by day uses the local time zone (TZ)', () => {
    const tokyo = JSON.parse(run(['report', '--json', '--by', 'day'], { HOME: home, TZ: 'Asia/Tokyo' }).stdout);
    assert.deepEqual(tokyo.groups.map((g: { key: string }) => g.key), ['2026-01-02', '2026-01-03']);
    const ny = JSON.parse(run(['report', '--json', '--by', 'day'], { HOME: home, TZ: 'America/New_York' }).stdout);
    assert.deepEqual(ny.groups.map((g: { key: string }) => g.key), ['2026-01-01', '2026-01-03']);
    const since = JSON.parse(run(['report', '--json', '--by', 'model', '--since', '2026-01-02'], { HOME: home, TZ: 'America/New_York' }).stdout);
    assert.deepEqual(since.groups.map((g: { key: string; requests: number }) => [g.key, g.requests]), [['mystery-model-9', 1]]);
  });

  it('prints a readable table by default', () => {
    const r = run(['report', '--by', 'model'], { HOME: home, TZ: 'UTC' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /claude-sonnet-4-5-20250929\s+1\s+1,000\s+2,500/);
    assert.match(r.stdout, /total\s+2\s+1,010\s+2,520\s+3,000\s+4,000\s+\$0\.06\+\s+estimated\s+1/);
    assert.match(r.stdout, /mystery-model-9\s+1\s+10\s+20\s+0\s+0\s+—\s+1/);
    assert.match(r.stdout, /warning: unpriced/);
  });

  it('says where it looked when there are no logs', () => {
    const empty = tempDir('agent-spend-empty-');
    try {
      const r = run(['report', '--json'], { HOME: empty });
      assert.equal(r.code, 0);
      const out = JSON.parse(r.stdout);
      assert.equal(out.totals.requests, 0);
      assert.match(out.warnings.join('\n'), new RegExp(`no agent logs found \\(HOME=${empty.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('exits 2 with one clear line on bad arguments or an unreadable explicit path', () => {
    for (const args of [['report', '--by', 'week'], ['report', '--since', '2026-13-01'], ['report', '--agent', 'nope'], ['frobnicate'], ['report', '--claude-dir', path.join(home, 'missing')]]) {
      const r = run(args, { HOME: home });
      assert.equal(r.code, 2, `${args.join(' ')} → ${r.code}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^agent-spend: /);
      assert.equal(r.stdout, '');
    }
  });

  it('reads CLAUDE_CONFIG_DIR and CODEX_HOME like the agents do (real logs)', function () {
    this.timeout(60000);
    const r = run(['report', '--json', '--by', 'agent'], { HOME: home, CLAUDE_CONFIG_DIR: path.join(REAL_LOGS, 'claude-code'), CODEX_HOME: path.join(REAL_LOGS, 'codex'), TZ: 'UTC' });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const byAgent = Object.fromEntries(out.groups.map((g: { key: string; requests: number }) => [g.key, g.requests]));
    assert.equal(byAgent['claude-code'], 1712);
    assert.equal(byAgent['codex'], 1172);
    assert.equal(out.totals.requests, byAgent['claude-code'] + byAgent['codex']);
  });

  it('parses arguments strictly', () => {
    assert.deepEqual(parseReportArgs(['--json', '--by=session', '--agent', 'codex,claude-code']), { json: true, by: 'session', agents: ['codex', 'claude-code'], claudeDirs: [], aiderPaths: [] });
    assert.throws(() => parseReportArgs(['--since', '2026-02-30']), UsageError);
    assert.throws(() => parseReportArgs(['--since', '2026-02-03', '--until', '2026-02-01']), UsageError);
    assert.throws(() => parseReportArgs(['--by']), UsageError);
  });
});
