import * as assert from 'node:assert/strict';
import type { RequestRecord } from '../../src/core/ledger';
import { MAX_PLAN_MONTHS, multipleText, parsePlans, planWorth, planWorthSentence, type Plan } from '../../src/core/plans';
import { localTime as at, tokens, withTZ } from './helpers';

const USD = 1e9;
let seq = 0;
function rec(p: Partial<RequestRecord> & { timestamp: number }): RequestRecord {
  return { key: `k${seq++}`, agent: 'claude-code', sessionId: 's', project: '/p', model: 'claude-sonnet-4-5', tokens: tokens({ output: 10 }), costNanos: USD, file: '/f', ...p };
}

describe('plans: settings', () => {
  it('accepts valid plans and reports each bad field by its setting; only bad plans are dropped', () => {
    const { plans, problems } = parsePlans([
      { agent: 'claude-code', name: 'Max', monthlyUSD: 200 },
      { agent: 'Codex', name: ' Plus ', monthlyUSD: 20, since: '2026-01', until: '2026-12' },
      { agent: 'cursor', name: '', monthlyUSD: 0 },
      { agent: 'codex', name: 'Pro', monthlyUSD: '200', colour: 'red' },
      { agent: 'codex', name: 'Pro', monthlyUSD: 200, since: '2026-13' },
      { agent: 'codex', name: 'Pro', monthlyUSD: 200, since: '2026-05', until: '2026-04' },
      'Max',
    ]);
    assert.deepEqual(plans, [
      { agent: 'claude-code', name: 'Max', monthlyUSD: 200, setting: 'agentSpend.plans[0]' },
      { agent: 'codex', name: 'Plus', monthlyUSD: 20, since: '2026-01', until: '2026-12', setting: 'agentSpend.plans[1]' },
    ]);
    assert.deepEqual(problems.map((p) => p.setting), [
      'agentSpend.plans[2].agent', 'agentSpend.plans[2].name', 'agentSpend.plans[2].monthlyUSD',
      'agentSpend.plans[3].colour', 'agentSpend.plans[3].monthlyUSD',
      'agentSpend.plans[4].since',
      'agentSpend.plans[5].until',
      'agentSpend.plans[6]',
    ]);
    assert.match(problems[2]!.message, /above 0 \(got 0\); this plan is ignored/);
    assert.deepEqual(parsePlans(undefined), { plans: [], problems: [] });
    assert.deepEqual(parsePlans({ agent: 'codex' }).problems.map((p) => p.setting), ['agentSpend.plans']);
  });
});

describe('plans: worth', () => {
  const max: Plan = { agent: 'claude-code', name: 'Max', monthlyUSD: 200, setting: 'agentSpend.plans[0]' };

  it('per local calendar month across a month boundary: 23:59 on the 31st vs 00:00 on the 1st', () => {
    withTZ('America/New_York', () => {
      const now = at(2026, 4, 15, 12);
      const records = [
        rec({ timestamp: at(2026, 3, 31, 23, 59), costNanos: 3_000 * USD }),
        rec({ timestamp: at(2026, 4, 1, 0, 0), costNanos: 400 * USD }),
        rec({ timestamp: at(2026, 4, 2, 9, 0), costNanos: null }),
        rec({ timestamp: at(2026, 4, 2, 9, 0), agent: 'codex', costNanos: 99 * USD }), // another agent
        rec({ timestamp: at(2026, 4, 2, 9, 0), costNanos: 1 * USD, loggedCostUSD: 0 }), // logged $0 (subscription): the estimate counts
        rec({ timestamp: at(2026, 4, 16, 9, 0), costNanos: 5_000 * USD }), // after now
        rec({ timestamp: at(2025, 1, 10), costNanos: 7 * USD }), // older than 12 months
      ];
      const [w] = planWorth(records, [max], now);
      assert.deepEqual(w!.months, [
        { month: '2026-04', current: true, requests: 3, pricedNanos: 401 * USD, unpricedRequests: 1, planNanos: 200 * USD, multiple: 2.005 },
        { month: '2026-03', current: false, requests: 1, pricedNanos: 3_000 * USD, unpricedRequests: 0, planNanos: 200 * USD, multiple: 15 },
      ]);
      assert.equal(w!.current, w!.months[0]);
      assert.equal(planWorthSentence(w!.months[1]!, 'en-US'), '$3,000 at API prices on a $200 plan — 15×');
      assert.equal(planWorthSentence(w!.months[0]!, 'en-US'), '$401 (+ 1 unpriced request) at API prices so far this month on a $200 plan — 2×');
    });
  });

  it('the same instants fall in other months in another time zone', () => {
    const utc = Date.UTC(2026, 3, 1, 2, 0); // 1 April 02:00 UTC = 31 March 22:00 in New York
    const now = Date.UTC(2026, 3, 15);
    const inUtc = withTZ('UTC', () => planWorth([rec({ timestamp: utc })], [max], now)[0]!.months.map((m) => [m.month, m.requests]));
    const inNy = withTZ('America/New_York', () => planWorth([rec({ timestamp: utc })], [max], now)[0]!.months.map((m) => [m.month, m.requests]));
    assert.deepEqual(inUtc, [['2026-04', 1]]);
    assert.deepEqual(inNy, [['2026-04', 0], ['2026-03', 1]]);
  });

  it('at most 12 months; since/until limit the months; the current month shows even without usage', () => {
    withTZ('UTC', () => {
      const now = at(2026, 12, 20);
      const records = Array.from({ length: 20 }, (_, i) => rec({ timestamp: at(2025, 5 + i, 10) })); // May 2025 … Dec 2026
      const [w] = planWorth(records, [max], now);
      assert.equal(w!.months.length, MAX_PLAN_MONTHS);
      assert.equal(w!.months[0]!.month, '2026-12');
      assert.equal(w!.months[11]!.month, '2026-01');
      const [limited] = planWorth(records, [{ ...max, since: '2026-03', until: '2026-05' }], now);
      assert.deepEqual(limited!.months.map((m) => m.month), ['2026-05', '2026-04', '2026-03']);
      assert.equal(limited!.current, undefined);
      const [empty] = planWorth([], [max], now);
      assert.deepEqual(empty!.months, [{ month: '2026-12', current: true, requests: 0, pricedNanos: 0, unpricedRequests: 0, planNanos: 200 * USD, multiple: 0 }]);
      assert.equal(planWorthSentence(empty!.months[0]!, 'en-US'), '$0.00 at API prices so far this month on a $200 plan — 0×');
    });
  });

  it('multiples: whole numbers from 10×, one decimal below', () => {
    assert.equal(multipleText(17.06), '17×');
    assert.equal(multipleText(2.46), '2.5×');
    assert.equal(multipleText(0.04), '0.04×', 'a small multiple is not rounded to 0×');
    assert.equal(multipleText(0), '0×');
    assert.equal(multipleText(1), '1×');
  });
});
