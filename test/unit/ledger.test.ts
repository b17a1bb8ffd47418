import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { UsageEvent } from '../../src/core/events';
import { costBasis, Ledger, localDayKey } from '../../src/core/ledger';
import { Pricer } from '../../src/core/pricing';
import { buildReport } from '../../src/core/report';
import { ClineSource } from '../../src/sources/cline';
import { Scanner } from '../../src/sources/scanner';
import { Tailer } from '../../src/sources/tailer';
import { tempDir, tokens } from './helpers';

/** 1 nano-USD per token of any kind; model "free-unknown" is unpriced. */
const pricer = {
  priceNanos: (model: string | null, t: { input: number; output: number; cacheRead: number }) =>
    model === null || model === 'free-unknown' ? null : t.input + t.output + t.cacheRead,
};

function ev(p: Partial<UsageEvent> & { key: string }): UsageEvent {
  return { agent: 'claude-code', sessionId: 's1', project: '/p', model: 'm', timestamp: Date.UTC(2026, 0, 1, 12), tokens: tokens({ output: 10 }), file: '/f', ...p };
}

describe('ledger', () => {
  it('merges copies: largest output, earliest attribution, totals adjusted incrementally', () => {
    const l = new Ledger(pricer);
    assert.equal(l.add(ev({ key: 'a', timestamp: 2000, sessionId: 'late', tokens: tokens({ output: 5 }) })), 'added');
    assert.equal(l.add(ev({ key: 'a', timestamp: 1000, sessionId: 'early', tokens: tokens({ output: 3 }) })), 'merged');
    assert.equal(l.add(ev({ key: 'a', timestamp: 3000, sessionId: 'later', tokens: tokens({ output: 9 }) })), 'merged');
    assert.equal(l.add(ev({ key: 'a', timestamp: 3000, sessionId: 'later', tokens: tokens({ output: 9 }) })), 'unchanged');
    assert.equal(l.totals.requests, 1);
    assert.equal(l.totals.outputTokens, 9);
    assert.equal(l.totals.costNanos, 9);
    assert.equal(l.get('a')!.sessionId, 'early');
    assert.deepEqual([...l.group('session').keys()], ['early']);
    assert.equal(l.group('session').get('early')!.outputTokens, 9);
  });

  it('counts unknown models as unpriced, never as $0', () => {
    const l = new Ledger(pricer);
    l.add(ev({ key: 'a', model: 'free-unknown', tokens: tokens({ output: 1000 }) }));
    l.add(ev({ key: 'b', model: null, agent: 'codex' }));
    l.add(ev({ key: 'c', tokens: tokens({ output: 7 }) }));
    assert.equal(l.totals.unpricedRequests, 2);
    assert.equal(l.totals.costNanos, 7);
    assert.equal(l.group('model').get('(unknown)')!.unpricedRequests, 1);
    assert.equal(l.group('agent').get('codex')!.unpricedRequests, 1);
  });

  it('a logged cost is the spend; the estimate is kept beside it; unpriced means neither', () => {
    const l = new Ledger(pricer);
    l.add(ev({ key: 'est', tokens: tokens({ output: 100 }) })); // estimate 100, no log
    l.add(ev({ key: 'both', agent: 'cline', tokens: tokens({ output: 200 }), loggedCostUSD: 0.00000025 })); // logged 250, estimate 200
    l.add(ev({ key: 'logonly', agent: 'cline', model: null, loggedCostUSD: 0.000001 })); // logged 1000, no model
    l.add(ev({ key: 'free', agent: 'opencode', model: 'free-unknown', loggedCostUSD: 0 })); // logged $0: priced, not unpriced
    l.add(ev({ key: 'none', agent: 'aider', model: 'free-unknown' })); // neither
    const t = l.totals;
    assert.equal(t.spendNanos, 100 + 250 + 1000 + 0);
    assert.equal(t.costNanos, 100 + 200);
    assert.equal(t.unpricedRequests, 1);
    assert.equal(t.estimateUnpricedRequests, 3);
    assert.equal(t.loggedRequests, 3);
    assert.equal(t.loggedCostNanos, 1250);
    assert.deepEqual([t.estimateOfLoggedNanos, t.loggedOfEstimatedNanos], [200, 250]);
    assert.equal(costBasis(t), 'mixed');
    assert.equal(costBasis(l.group('agent').get('cline')!), 'logged');
    assert.equal(costBasis(l.group('agent').get('claude-code')!), 'estimated');
    assert.equal(l.costBetween(0, Number.MAX_SAFE_INTEGER / 2), 1350, 'burn rate follows the spend');
  });

  it('groups by local day, project, agent and branch', () => {
    const l = new Ledger(pricer, (ts) => new Date(ts).toISOString().slice(0, 10));
    l.add(ev({ key: 'a', timestamp: Date.UTC(2026, 0, 1, 23, 30), branch: 'main' }));
    l.add(ev({ key: 'b', timestamp: Date.UTC(2026, 0, 2, 0, 30), project: '/q' }));
    assert.deepEqual([...l.group('day').keys()].sort(), ['2026-01-01', '2026-01-02']);
    assert.deepEqual([...l.group('project').keys()].sort(), ['/p', '/q']);
    assert.deepEqual([...l.group('branch').keys()].sort(), ['(none)', 'main']);
  });

  it('localDayKey follows the process time zone', () => {
    const saved = process.env['TZ'];
    try {
      process.env['TZ'] = 'America/New_York';
      assert.equal(localDayKey(Date.UTC(2026, 0, 2, 3, 0)), '2026-01-01');
      process.env['TZ'] = 'Asia/Tokyo';
      assert.equal(localDayKey(Date.UTC(2026, 0, 1, 16, 0)), '2026-01-02');
    } finally {
      if (saved === undefined) delete process.env['TZ'];
      else process.env['TZ'] = saved;
    }
  });

  it('costBetween sums minute buckets and follows merges', () => {
    const l = new Ledger(pricer);
    const t = Date.UTC(2026, 0, 1, 12, 0);
    l.add(ev({ key: 'a', timestamp: t, tokens: tokens({ output: 10 }) }));
    l.add(ev({ key: 'b', timestamp: t + 5 * 60_000, tokens: tokens({ output: 20 }) }));
    l.add(ev({ key: 'b', timestamp: t + 5 * 60_000, tokens: tokens({ output: 25 }) }));
    assert.equal(l.costBetween(t, t + 10 * 60_000), 35);
    assert.equal(l.costBetween(t + 60_000, t + 10 * 60_000), 25);
    assert.equal(l.costBetween(0, Number.MAX_SAFE_INTEGER / 2), 35);
  });

  it('reprices every request when prices change', () => {
    const l = new Ledger(pricer);
    l.add(ev({ key: 'a', tokens: tokens({ output: 10 }) }));
    l.reprice({ priceNanos: (_m, t) => t.output * 100 });
    assert.equal(l.totals.costNanos, 1000);
    assert.equal(l.group('day').size, 1);
  });

  it('buildReport filters by day range and agent after dedup', () => {
    const l = new Ledger(pricer);
    l.add(ev({ key: 'a', timestamp: Date.UTC(2026, 0, 1, 12) }));
    l.add(ev({ key: 'b', timestamp: Date.UTC(2026, 0, 3, 12), agent: 'codex' }));
    l.add(ev({ key: 'c', timestamp: Date.UTC(2026, 0, 5, 12) }));
    const dk = (ts: number) => new Date(ts).toISOString().slice(0, 10);
    const r = buildReport(l.allRecords(), { since: '2026-01-02', until: '2026-01-05' }, 'day', dk);
    assert.deepEqual(r.groups.map((g) => g.key), ['2026-01-03', '2026-01-05']);
    assert.equal(r.totals.requests, 2);
    const onlyCodex = buildReport(l.allRecords(), { agents: ['codex'] }, 'agent', dk);
    assert.deepEqual(onlyCodex.groups.map((g) => [g.key, g.requests]), [['codex', 1]]);
  });
});

describe('documents re-read whole (Cline checkpoint restore)', () => {
  const req = (ts: number, tokensOut: number, cost: number) => ({ ts, type: 'say', say: 'api_req_started', text: JSON.stringify({ request: 'x', tokensIn: 10, tokensOut, cacheWrites: 0, cacheReads: 0, cost }) });

  it('requests removed by a restore and folded into deleted_api_reqs are counted once', async () => {
    const home = tempDir();
    try {
      const task = path.join(home, '.config', 'Code', 'User', 'globalStorage', 'saoudrizwan.claude-dev', 'tasks', '1700000000000');
      fs.mkdirSync(task, { recursive: true });
      const file = path.join(task, 'ui_messages.json');
      const first = { ts: 1700000000000, type: 'say', say: 'task', text: 'Fix the build' };
      fs.writeFileSync(file, JSON.stringify([first, req(1700000001000, 100, 0.01), req(1700000002000, 200, 0.02), req(1700000003000, 300, 0.03)]));
      const ledger = new Ledger(new Pricer());
      const scanner = new Scanner([new ClineSource({ env: {}, home, platform: 'linux' }, fsp)], new Tailer(fsp),
        (events, replacing) => (replacing ? ledger.replaceFile(replacing, events) : ledger.addAll(events)));
      await scanner.scanAll();
      assert.equal(ledger.totals.outputTokens, 600);
      // restore to after the first request: the other two become one aggregate entry
      const aggregate = { ts: 1700000004000, type: 'say', say: 'deleted_api_reqs', text: JSON.stringify({ tokensIn: 20, tokensOut: 500, cacheWrites: 0, cacheReads: 0, cost: 0.05 }) };
      fs.writeFileSync(file, JSON.stringify([first, req(1700000001000, 100, 0.01), aggregate]));
      fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
      await scanner.scanAll();
      assert.equal(ledger.totals.outputTokens, 600, 'the aggregate replaces the two removed requests');
      assert.equal(ledger.totals.loggedCostNanos, 60_000_000);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
