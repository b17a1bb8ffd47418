/**
 * Every agent at once, inside the real extension host: the live ledger behind the status
 * bar, reading the real logs of all six agent families (through the location settings) plus
 * the fixture HOME, totals exactly what the CLI reports agent by agent.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AGENT_IDS } from '../../../src/core/events';
import type { Config } from '../../../src/extension/config';
import { LiveSpend } from '../../../src/extension/liveSpend';
import { Log } from '../../../src/extension/log';

const NO_PROVIDER = { enabled: false, pollMinutes: 15, baseUrl: '' };
const ROOT = path.resolve(__dirname, '../../../..');
const REAL = path.resolve(ROOT, '../shared/real-logs');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const AIDER = ['Monochromatic', 'car-game', 'metadata-aider', 'mozgoslav', 'pgstndtrprt'].map((d) => path.join(REAL, 'aider', d));

interface CliTotals { requests: number; costUSD: number; outputTokens: number; unpricedRequests: number }

function cli(home: string, args: string[]): CliTotals {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-spend-cwd-'));
  try {
    const r = spawnSync(process.execPath, [CLI, 'report', '--json', ...args], {
      cwd: empty, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', HOME: home, TZ: 'UTC', ELECTRON_RUN_AS_NODE: '1' },
    });
    assert.equal(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout) as { totals: CliTotals }).totals;
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
}

describe('all agents at once (issue 9)', function () {
  this.timeout(60_000);

  it('the live total equals the sum of the per-agent CLI totals', async () => {
    assert.ok(fs.existsSync(REAL), `real logs at ${REAL}`);
    const fixtureHome = process.env['AGENT_SPEND_TEST_HOME']!;
    const parts: Array<[string, CliTotals]> = [
      ['claude-code', cli(path.join(REAL, 'claude-code', '..'), ['--agent', 'claude-code', '--claude-dir', path.join(REAL, 'claude-code')])],
      ['codex', cli('/nonexistent', ['--agent', 'codex', '--codex-home', path.join(REAL, 'codex')])],
      ['gemini-cli', cli(path.join(REAL, 'gemini-cli'), ['--agent', 'gemini-cli'])],
      ['opencode', cli(path.join(REAL, 'opencode'), ['--agent', 'opencode'])],
      ['cline', cli(path.join(REAL, 'cline'), ['--agent', 'cline,roo-code,kilo-code'])],
      ['aider', cli('/nonexistent', ['--agent', 'aider', ...AIDER.flatMap((d) => ['--aider', d])])],
      // the fixture HOME's Claude session (its Codex rollout is not read: the codex.home setting replaces the default)
      ['fixture HOME', cli(fixtureHome, ['--agent', 'claude-code'])],
    ];
    for (const [name, t] of parts) assert.ok(t.requests > 0, `${name}: ${t.requests} requests`);
    const expected = {
      requests: parts.reduce((n, [, t]) => n + t.requests, 0),
      outputTokens: parts.reduce((n, [, t]) => n + t.outputTokens, 0),
      unpricedRequests: parts.reduce((n, [, t]) => n + t.unpricedRequests, 0),
      cents: Math.round(parts.reduce((n, [, t]) => n + t.costUSD, 0) * 100),
    };

    const config: Config = {
      period: 'today', showBurnRate: true, enabledAgents: [...AGENT_IDS],
      claudeCodePaths: [path.join(REAL, 'claude-code')], codexHome: path.join(REAL, 'codex'), geminiHome: path.join(REAL, 'gemini-cli'),
      aiderPaths: AIDER, openCodeDataDir: path.join(REAL, 'opencode', '.local', 'share', 'opencode'),
      clinePaths: [path.join(REAL, 'cline', '.config', 'Code', 'User', 'globalStorage', 'saoudrizwan.claude-dev')],
      rescanSeconds: 3600, priceOverrides: {}, retentionDays: 0, budgets: { budgets: [], warnAt: [80, 100], weekStartsOn: 1, problems: [] },
  providers: { anthropic: NO_PROVIDER, openai: NO_PROVIDER, openrouter: NO_PROVIDER }, outputThresholdUSD: 5,
  showLimits: true, runningSeconds: 60, contextWarnPercent: 80, limitWarnAt: [80, 100], stateDir: "", plans: [],
    };
    const log = new Log('Agent Spend (all agents test)');
    const live = new LiveSpend(config, log);
    try {
      live.start();
      await live.ready;
      const all = live.summary().all;
      const byAgent = Object.fromEntries([...live.currentLedger.group('agent')].map(([a, t]) => [a, t.requests]));
      console.log(`    ${JSON.stringify(byAgent)}; ${expected.requests} requests, $${(expected.cents / 100).toFixed(2)}`);
      assert.deepEqual(
        { requests: all.requests, outputTokens: all.outputTokens, unpricedRequests: all.unpricedRequests, cents: Math.round(all.spendNanos / 1e7) },
        expected,
      );
      for (const agent of ['claude-code', 'codex', 'gemini-cli', 'opencode', 'cline', 'aider']) assert.ok(byAgent[agent], agent);
    } finally {
      live.dispose();
      log.dispose();
    }
  });
});
