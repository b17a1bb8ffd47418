import * as assert from 'node:assert/strict';
import type { RequestRecord } from '../../src/core/ledger';
import { Pricer } from '../../src/core/pricing';
import {
  agoText, isFlagged, monthToDate, providerOfModel, providerStatusLine, reconcile, usdToNanos, type BilledInput,
} from '../../src/core/reconcile';
import type { BilledDay } from '../../src/sources/providers/types';
import { tokens } from './helpers';

const pricer = new Pricer();

let n = 0;
function rec(p: Partial<RequestRecord> & { timestamp: number }): RequestRecord {
  n++;
  return {
    key: `k${n}`, agent: 'claude-code', sessionId: 's1', project: '/w', model: 'claude-sonnet-4-5',
    tokens: tokens({ input: 1_000 }), costNanos: 1_000_000_000, file: '/f', ...p,
  };
}

function day(date: string, costUSD: number | null, final = true): BilledDay {
  return { date, costUSD, inputTokens: null, outputTokens: null, cacheCreationTokens: null, cacheReadTokens: null, final };
}

describe('reconciliation (estimate vs invoice)', () => {
  it('attributes logged model ids to the provider whose API bills them', () => {
    assert.equal(providerOfModel('claude-sonnet-4-5-20250929', pricer), 'anthropic');
    assert.equal(providerOfModel('claude-opus-4-1[1m]', pricer), 'anthropic');
    assert.equal(providerOfModel('anthropic/claude-sonnet-4-5', pricer), 'anthropic');
    assert.equal(providerOfModel('gpt-5-codex', pricer), 'openai');
    assert.equal(providerOfModel('o3', pricer), 'openai');
    assert.equal(providerOfModel('o4-mini', pricer), 'openai');
    assert.equal(providerOfModel('codex-mini-latest', pricer), 'openai');
    assert.equal(providerOfModel('openai/gpt-5', pricer), 'openai');
    assert.equal(providerOfModel('gemini-2.5-pro', pricer), 'google');
    assert.equal(providerOfModel('models/gemini-2.5-flash', pricer), 'google');
    // the agent routed through OpenRouter (OpenCode `<providerID>/<modelID>`, litellm ids)
    assert.equal(providerOfModel('openrouter/anthropic/claude-sonnet-4.5', pricer), 'openrouter');
    assert.equal(providerOfModel('OpenRouter/openai/gpt-5', pricer), 'openrouter');
    // billed by a cloud or a subscription, not the vendor's API
    assert.equal(providerOfModel('bedrock/claude-sonnet-4-5', pricer), undefined);
    assert.equal(providerOfModel('us.anthropic.claude-sonnet-4-5-20250929-v1:0', pricer), undefined);
    assert.equal(providerOfModel('claude-sonnet-4-5@20250929', pricer), undefined);
    assert.equal(providerOfModel('github-copilot/gpt-5', pricer), undefined);
    assert.equal(providerOfModel('openai/claude-sonnet-4-5', pricer), undefined);
    // unknown models are never attributed
    assert.equal(providerOfModel('mystery-1', pricer), undefined);
    assert.equal(providerOfModel('claude-unreleased-9', pricer), undefined);
    assert.equal(providerOfModel(null, pricer), undefined);
    assert.equal(providerOfModel('  ', pricer), undefined);
  });

  it('groups the estimate by UTC day, for the days the provider reported, with exact figures', () => {
    const records = [
      // 23:30 local in UTC+2 is 21:30Z the same day
      rec({ timestamp: Date.parse('2026-03-10T23:30:00+02:00'), costNanos: 1_200_000_000 }),
      // 00:30 local on the 11th in UTC+2 is still the 10th in UTC
      rec({ timestamp: Date.parse('2026-03-11T00:30:00+02:00'), costNanos: 800_000_000, agent: 'opencode', model: 'anthropic/claude-sonnet-4-5' }),
      // 23:30 local in UTC−5 is the next UTC day
      rec({ timestamp: Date.parse('2026-03-10T23:30:00-05:00'), costNanos: 500_000_000 }),
      // logged cost wins over the estimate (the headline figure)
      rec({ timestamp: Date.parse('2026-03-11T12:00:00Z'), costNanos: 900_000_000, loggedCostUSD: 0.25, agent: 'cline' }),
      // unpriced Anthropic model: counted, not in the estimate; unknown model: not attributed
      rec({ timestamp: Date.parse('2026-03-11T13:00:00Z'), costNanos: null, model: 'claude-sonnet-4-5', agent: 'roo-code' }),
      rec({ timestamp: Date.parse('2026-03-11T13:00:00Z'), costNanos: null, model: 'mystery-1', agent: 'aider' }),
      // a day the provider did not report
      rec({ timestamp: Date.parse('2026-03-09T12:00:00Z'), costNanos: 7_000_000_000 }),
      // OpenAI
      rec({ timestamp: Date.parse('2026-03-10T08:00:00Z'), costNanos: 2_000_000_000, model: 'gpt-5-codex', agent: 'codex' }),
      // OpenRouter: no billed figures given → not in any row
      rec({ timestamp: Date.parse('2026-03-10T08:00:00Z'), costNanos: 3_000_000_000, model: 'openrouter/anthropic/claude-sonnet-4.5', agent: 'opencode' }),
    ];
    const billed: BilledInput[] = [
      { provider: 'anthropic', status: 'ok', fetchedAt: 0, days: [day('2026-03-10', 2.1), day('2026-03-11', 0.7, false)] },
      { provider: 'openai', status: 'offline', message: 'network down', days: [day('2026-03-10', 1.9), day('2026-03-12', null, false)] },
    ];
    const rows = reconcile(records, billed, pricer);
    assert.deepEqual(rows.map((r) => `${r.date} ${r.provider}`), ['2026-03-12 openai', '2026-03-11 anthropic', '2026-03-10 anthropic', '2026-03-10 openai']);

    const a10 = rows.find((r) => r.provider === 'anthropic' && r.date === '2026-03-10')!;
    assert.deepEqual(a10, {
      provider: 'anthropic', date: '2026-03-10', billedNanos: 2_100_000_000, estimatedNanos: 2_000_000_000,
      diffNanos: 100_000_000, diffPercent: 5, agents: ['claude-code', 'opencode'], requests: 2, unpricedRequests: 0, final: true, status: 'ok',
    });

    const a11 = rows.find((r) => r.provider === 'anthropic' && r.date === '2026-03-11')!;
    // 0.50 (the UTC−5 request) + 0.25 logged; the unpriced one is counted only
    assert.equal(a11.estimatedNanos, 750_000_000);
    assert.equal(a11.billedNanos, 700_000_000);
    assert.equal(a11.diffNanos, -50_000_000);
    assert.ok(Math.abs(a11.diffPercent! - -6.666666666666667) < 1e-9, String(a11.diffPercent));
    assert.ok(a11.diffPercent! < 0, 'billed below the estimate: negative');
    assert.deepEqual(a11.agents, ['claude-code', 'cline', 'roo-code']);
    assert.equal(a11.requests, 3);
    assert.equal(a11.unpricedRequests, 1);
    assert.equal(a11.final, false);

    const o10 = rows.find((r) => r.provider === 'openai' && r.date === '2026-03-10')!;
    assert.equal(o10.estimatedNanos, 2_000_000_000);
    assert.equal(o10.diffNanos, -100_000_000);
    assert.equal(o10.diffPercent, -5);
    assert.equal(o10.status, 'offline');
    assert.deepEqual(o10.agents, ['codex']);

    // not reported by the provider: no difference, no percent
    const o12 = rows.find((r) => r.provider === 'openai' && r.date === '2026-03-12')!;
    assert.deepEqual({ b: o12.billedNanos, e: o12.estimatedNanos, d: o12.diffNanos, p: o12.diffPercent, a: o12.agents, r: o12.requests }, { b: null, e: 0, d: null, p: null, a: [], r: 0 });
  });

  it('difference percent: positive when billed above the estimate, null when nothing was estimated', () => {
    const ts = Date.parse('2026-03-10T12:00:00Z');
    const rows = reconcile([rec({ timestamp: ts, costNanos: 4_000_000_000 })], [
      { provider: 'anthropic', status: 'ok', days: [day('2026-03-10', 5)] },
      { provider: 'openrouter', status: 'ok', days: [day('2026-03-10', 0.01)] },
    ], pricer);
    const a = rows.find((r) => r.provider === 'anthropic')!;
    assert.equal(a.diffNanos, 1_000_000_000);
    assert.equal(a.diffPercent, 25);
    assert.equal(isFlagged(a), true);
    const o = rows.find((r) => r.provider === 'openrouter')!;
    assert.equal(o.estimatedNanos, 0);
    assert.equal(o.diffNanos, 10_000_000);
    assert.equal(o.diffPercent, null);
    assert.equal(isFlagged(o), true, 'billed with nothing estimated is flagged');
    assert.equal(isFlagged({ diffNanos: 50, diffPercent: 5 }), false, 'exactly 5 % is not flagged');
    assert.equal(isFlagged({ diffNanos: -51, diffPercent: -5.1 }), true);
    assert.equal(isFlagged({ diffNanos: null, diffPercent: null }), false);
  });

  it('turns provider dollars into nanos exactly', () => {
    assert.equal(usdToNanos(0.1 + 0.2), 300_000_000); // 0.30000000000000004 → exact to the nano
    assert.equal(usdToNanos(123.456789012), 123_456_789_012);
    assert.equal(usdToNanos(0.0000000005), 1); // half a nano rounds away from zero
    assert.equal(usdToNanos(-1.5), -1_500_000_000);
    assert.equal(usdToNanos(0), 0);
  });

  it('handles null figures and empty inputs', () => {
    assert.deepEqual(reconcile([rec({ timestamp: 0 })], [], pricer), []);
    const rows = reconcile([], [{ provider: 'anthropic', status: 'idle', days: [day('2026-03-10', null)] }], pricer);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.billedNanos, null);
    assert.equal(rows[0]!.diffPercent, null);
    // a model with a null id is not attributed
    const r2 = reconcile([rec({ timestamp: Date.parse('2026-03-10T12:00:00Z'), model: null, costNanos: null })],
      [{ provider: 'anthropic', status: 'ok', days: [day('2026-03-10', 1)] }], pricer);
    assert.equal(r2[0]!.requests, 0);
  });

  it('month to date: the current UTC month only, per provider', () => {
    const rows = reconcile([
      rec({ timestamp: Date.parse('2026-03-31T23:30:00Z'), costNanos: 1_000_000_000 }),
      rec({ timestamp: Date.parse('2026-04-01T00:30:00Z'), costNanos: 2_000_000_000 }),
      rec({ timestamp: Date.parse('2026-04-02T10:00:00Z'), costNanos: 3_000_000_000 }),
    ], [
      { provider: 'anthropic', status: 'ok', days: [day('2026-03-31', 1.1), day('2026-04-01', 2.2), day('2026-04-02', null, false)] },
      { provider: 'openai', status: 'ok', days: [day('2026-04-01', null)] },
    ], pricer);
    // 01:30 on 1 April in UTC+2 is still March in UTC: the March day is not in April's total
    const mtd = monthToDate(rows, Date.parse('2026-04-02T12:00:00Z'));
    assert.deepEqual(mtd, [
      { provider: 'anthropic', billedNanos: 2_200_000_000, estimatedNanos: 5_000_000_000, days: 2 },
      { provider: 'openai', billedNanos: null, estimatedNanos: 0, days: 1 },
    ]);
    assert.deepEqual(monthToDate(rows, Date.parse('2026-03-31T23:59:59Z')).map((m) => [m.provider, m.billedNanos]), [['anthropic', 1_100_000_000]]);
  });

  it('words each provider status', () => {
    assert.equal(providerStatusLine({ provider: 'openai', status: 'offline', ageMs: 12 * 60_000 + 5_000, message: 'x' }), 'OpenAI: figures from 12 min ago (offline)');
    assert.equal(providerStatusLine({ provider: 'anthropic', status: 'auth-error', ageMs: null, message: 'HTTP 401' }), 'Anthropic: key rejected — run Agent Spend: Set Provider Key');
    assert.equal(providerStatusLine({ provider: 'openrouter', status: 'ok', ageMs: 30_000, message: null }), 'OpenRouter: figures from under a minute ago');
    assert.equal(providerStatusLine({ provider: 'openai', status: 'stale', ageMs: 3 * 3_600_000, message: 'HTTP 500' }), 'OpenAI: figures from 3 h ago (stale: HTTP 500)');
    assert.equal(providerStatusLine({ provider: 'openai', status: 'offline', ageMs: null, message: null }), 'OpenAI: no figures yet (offline)');
    assert.equal(providerStatusLine({ provider: 'openai', status: 'idle', ageMs: null, message: null }), 'OpenAI: fetching the first figures…');
    assert.equal(agoText(3 * 86_400_000), '3 days ago');
  });
});
