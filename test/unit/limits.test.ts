import * as assert from 'node:assert/strict';
import type { LimitsEvent, UsageEvent } from '../../src/core/events';
import { isLimits, isUsage } from '../../src/core/events';
import { Ledger, type RequestRecord } from '../../src/core/ledger';
import {
  detectLimitCrossings, estimatedClaudeLimits, limitNotificationKey, limitsStatusText, limitsTooltipLines, mergeLimits,
  pruneLimitNotified, resetText, windowLabel, type AgentLimits, type LimitsSnapshot,
} from '../../src/core/limits';
import { tokens } from './helpers';

const H = 60 * 60_000;
const NOW = Date.UTC(2026, 3, 8, 12, 0, 0);

function snap(p: Partial<LimitsSnapshot> & { observedAt: number }): LimitsSnapshot {
  return { agent: 'codex', source: 'logged', windows: [{ kind: 'five-hour', windowMinutes: 300, usedPercent: 42, resetsAt: NOW + 2 * H }], ...p };
}

function limitsEvent(s: LimitsSnapshot): LimitsEvent {
  return { kind: 'limits', agent: s.agent, key: `l:${s.observedAt}`, sessionId: 's', timestamp: s.observedAt, file: '/f', snapshot: s };
}

const pricer = { priceNanos: (_m: string | null, t: { output: number }) => t.output };

describe('limits: ledger', () => {
  it('keeps the latest snapshot per agent and never counts limits as usage', () => {
    const l = new Ledger(pricer);
    const usage: UsageEvent = { agent: 'codex', key: 'u1', sessionId: 's', project: '/p', model: 'm', timestamp: NOW, tokens: tokens({ output: 10 }), file: '/f' };
    const newer = snap({ observedAt: NOW });
    const older = snap({ observedAt: NOW - H, windows: [{ kind: 'five-hour', usedPercent: 99 }] });
    const claude = snap({ agent: 'claude-code', source: 'statusline', observedAt: NOW - 5 * H });
    assert.equal(l.addAll([usage, limitsEvent(newer), limitsEvent(older), limitsEvent(claude)]), 3);
    assert.ok(isLimits(limitsEvent(newer)) && !isUsage(limitsEvent(newer)));
    assert.equal(l.totals.requests, 1);
    assert.equal(l.size, 1);
    assert.deepEqual(l.latestLimits().map((s) => [s.agent, s.observedAt]).sort(), [['claude-code', NOW - 5 * H], ['codex', NOW]]);
    // re-reading the same event changes nothing; restore keeps the newest
    assert.equal(l.addAll([limitsEvent(newer)]), 0);
    const l2 = new Ledger(pricer);
    l2.restoreLimits([older, newer, older]);
    assert.deepEqual(l2.latestLimits(), [newer]);
    // totals-only mode keeps them too
    const l3 = new Ledger(pricer, undefined, 'totals-only');
    l3.addAll([limitsEvent(newer)]);
    assert.deepEqual(l3.latestLimits(), [newer]);
    assert.equal(l3.totals.requests, 0);
  });
});

describe('limits: mergeLimits', () => {
  it('prefers the newest real figure over an estimate, whatever their ages', () => {
    const est = snap({ agent: 'claude-code', source: 'estimated', observedAt: NOW });
    const status = snap({ agent: 'claude-code', source: 'statusline', observedAt: NOW - H, windows: [{ kind: 'five-hour', usedPercent: 12, resetsAt: NOW + H }] });
    const status2 = snap({ agent: 'claude-code', source: 'statusline', observedAt: NOW - 2 * H, windows: [{ kind: 'five-hour', usedPercent: 5, resetsAt: NOW + H }] });
    const logged = snap({ observedAt: NOW - 3 * H, planType: 'plus', sessionId: 'x' });
    const merged = mergeLimits([est, status2, status, logged], NOW);
    assert.deepEqual(merged, [
      { agent: 'claude-code', source: 'statusline', observedAt: NOW - H, windows: [{ kind: 'five-hour', usedPercent: 12, resetsAt: NOW + H, reset: false }] },
      { agent: 'codex', source: 'logged', observedAt: NOW - 3 * H, sessionId: 'x', planType: 'plus', windows: [{ kind: 'five-hour', windowMinutes: 300, usedPercent: 42, resetsAt: NOW + 2 * H, reset: false }] },
    ]);
    // only an estimate: it is used
    assert.equal(mergeLimits([est], NOW)[0]!.source, 'estimated');
  });

  it('a window past its reset shows as reset with no percent; windows are ordered 5h, weekly, other', () => {
    const s = snap({
      observedAt: NOW - 6 * H,
      windows: [
        { kind: 'weekly', windowMinutes: 10080, usedPercent: 30, resetsAt: NOW + 48 * H },
        { kind: 'other', windowMinutes: 1440, usedPercent: 3 },
        { kind: 'five-hour', windowMinutes: 300, usedPercent: 97, resetsAt: NOW - H },
      ],
    });
    const [m] = mergeLimits([s], NOW);
    assert.deepEqual(m!.windows, [
      { kind: 'five-hour', windowMinutes: 300, usedPercent: null, resetsAt: NOW - H, reset: true },
      { kind: 'weekly', windowMinutes: 10080, usedPercent: 30, resetsAt: NOW + 48 * H, reset: false },
      { kind: 'other', windowMinutes: 1440, usedPercent: 3, reset: false },
    ]);
    assert.equal(limitsStatusText([m!]), '5h reset · 7d 30% · 1d 3%');
  });
});

describe('limits: text', () => {
  it('status text, prefixes with several agents, reset times, tooltip', () => {
    const codex = mergeLimits([snap({ observedAt: NOW - 60_000, planType: 'plus', windows: [
      { kind: 'five-hour', windowMinutes: 300, usedPercent: 42.4, resetsAt: NOW + 2 * H + 14 * 60_000 },
      { kind: 'weekly', windowMinutes: 10080, usedPercent: 18, resetsAt: NOW + 50 * H },
    ] })], NOW);
    assert.equal(limitsStatusText(codex, 'en-US'), '5h 42% · 7d 18%');
    const both = mergeLimits([...codex.map((a) => ({ ...a, windows: a.windows.map((w) => ({ ...w, usedPercent: w.usedPercent! })) })),
      snap({ agent: 'claude-code', source: 'statusline', observedAt: NOW, windows: [{ kind: 'five-hour', usedPercent: 7, resetsAt: NOW + H }] })], NOW);
    assert.equal(limitsStatusText(both, 'en-US'), 'Claude 5h 7% | Codex 5h 42% · 7d 18%');
    assert.equal(limitsStatusText([]), '');
    assert.equal(resetText(NOW + 2 * H + 14 * 60_000, NOW), 'resets in 2h 14m');
    assert.equal(resetText(NOW - 1, NOW), 'reset');
    assert.equal(resetText(undefined, NOW), '');
    assert.equal(windowLabel('other', 120), '2h');
    assert.equal(windowLabel('other'), '?');
    assert.deepEqual(limitsTooltipLines(codex, NOW, { locale: 'en-US' }), [
      '**Codex plan limits** (plus) · from the agent\'s log, 1m ago', '',
      '- 5-hour: 42% used · resets in 2h 14m', '',
      '- weekly: 18% used · resets in 2d 2h', '',
    ]);
  });
});

describe('limits: estimated Claude Code block', () => {
  const rec = (ts: number, costNanos: number | null): RequestRecord => ({
    key: `k${ts}`, agent: 'claude-code', sessionId: 's', project: '/p', model: 'claude-sonnet-4-5', timestamp: ts,
    tokens: tokens({ input: 100, output: 50 }), costNanos, file: '/f',
  });
  const start = Date.UTC(2026, 3, 8, 10, 0, 0);

  it('gives the block reset time and no percent without a budget; a percent of the budget with one', () => {
    const records = [rec(start + 10 * 60_000, 2e9), rec(start + 70 * 60_000, 1e9), rec(start + 80 * 60_000, null)];
    const now = start + 2 * H;
    assert.deepEqual(estimatedClaudeLimits(records, now), {
      agent: 'claude-code', source: 'estimated', start, resetsAt: start + 5 * H, requests: 3, spendNanos: 3e9, unpricedRequests: 1, totalTokens: 450,
    });
    const withUsd = estimatedClaudeLimits(records, now, { usd: 12 })!;
    assert.equal(withUsd.budgetPercent, 25);
    assert.equal(withUsd.budgetBasis, 'usd');
    const withTokens = estimatedClaudeLimits(records, now, { tokens: 900 })!;
    assert.equal(withTokens.budgetPercent, 50);
    assert.equal(withTokens.budgetBasis, 'tokens');
    // no active block
    assert.equal(estimatedClaudeLimits(records, start + 6 * H), undefined);
    assert.equal(estimatedClaudeLimits([], now), undefined);
    assert.deepEqual(limitsTooltipLines([], now, { locale: 'en-US', estimated: withUsd }), [
      '**Claude Code 5-hour block** (estimate, no real limit known) · $3.00+, 450 tokens · 25% of your block budget · resets in 3h 0m', '',
    ]);
  });
});

describe('limits: crossings', () => {
  const view = (used: number | null, resetsAt: number, agent: AgentLimits['agent'] = 'codex'): AgentLimits[] =>
    [{ agent, source: 'logged', observedAt: NOW, windows: [{ kind: 'five-hour', windowMinutes: 300, usedPercent: used, resetsAt, reset: used === null }] }];
  const R1 = NOW + 2 * H;

  it('fires once per threshold crossing per window; a jump past both fires once (the highest)', () => {
    let notified = new Set<string>();
    let r = detectLimitCrossings(view(50, R1), notified, NOW);
    assert.equal(r.crossings.length, 0);
    r = detectLimitCrossings(view(81, R1), (notified = r.notified), NOW);
    assert.deepEqual(r.crossings.map((c) => [c.threshold, c.severity, c.message]), [[80, 'warn', 'Codex 5-hour limit: 81% used, resets in 2h 0m']]);
    r = detectLimitCrossings(view(85, R1 + 5_000), (notified = r.notified), NOW); // jittered reset time: same window
    assert.equal(r.crossings.length, 0);
    r = detectLimitCrossings(view(100, R1), (notified = r.notified), NOW);
    assert.deepEqual(r.crossings.map((c) => [c.threshold, c.severity, c.key]), [[100, 'over', `limit|codex|five-hour|${R1}|100`]]);
    r = detectLimitCrossings(view(100, R1), (notified = r.notified), NOW);
    assert.equal(r.crossings.length, 0);
    // a fresh state jumping straight to 100: one notification, both thresholds marked
    const jump = detectLimitCrossings(view(120, R1), new Set(), NOW);
    assert.deepEqual(jump.crossings.map((c) => c.threshold), [100]);
    assert.ok(jump.notified.has(limitNotificationKey('codex', { kind: 'five-hour', resetsAt: R1 }, 80)));
    // a new window (new reset time) notifies again
    const R2 = R1 + 5 * H;
    const again = detectLimitCrossings(view(90, R2), new Set([...r.notified, `limit|codex|five-hour|${R1}|reset`]), NOW);
    assert.deepEqual(again.crossings.map((c) => c.threshold), [80]);
    // off with no thresholds
    assert.equal(detectLimitCrossings(view(120, R1), new Set(), NOW, []).crossings.length, 0);
  });

  it('notifies once when an exhausted window resets: its reset time passes, or a new window shows up below 100 %', () => {
    const full = detectLimitCrossings(view(100, R1), new Set(), NOW);
    assert.ok(full.notified.has(`limit|codex|five-hour|${R1}|full`));
    // before the reset: nothing
    assert.equal(detectLimitCrossings(view(100, R1), full.notified, NOW + H).crossings.length, 0);
    // the reset time passed (the view now says reset)
    const later = R1 + 1;
    const reset = detectLimitCrossings(view(null, R1), full.notified, later);
    assert.deepEqual(reset.crossings.map((c) => [c.threshold, c.severity, c.message]), [['reset', 'info', 'Codex 5-hour limit has reset']]);
    assert.equal(detectLimitCrossings(view(null, R1), reset.notified, later + H).crossings.length, 0);
    // a newer snapshot with a new window below 100 % before the old reset time (the agent reset early)
    const early = detectLimitCrossings(view(3, R1 + 5 * H), full.notified, NOW + H);
    assert.deepEqual(early.crossings.map((c) => [c.threshold, c.window.usedPercent]), [['reset', 3]]);
    // a window that never reached 100 % gives no reset notification
    const partial = detectLimitCrossings(view(90, R1), new Set(), NOW);
    assert.equal(detectLimitCrossings(view(null, R1), partial.notified, R1 + 1).crossings.length, 0);
  });

  it('prunes identities of windows that reset long ago, keeps other keys', () => {
    const keys = new Set([`limit|codex|five-hour|${NOW - 9 * 24 * H}|80`, `limit|codex|weekly|${NOW - H}|80`, 'limit|codex|other|none|80', 'limit|garbage', 'd:2026-04-08|80|x']);
    assert.deepEqual([...pruneLimitNotified(keys, NOW)], [`limit|codex|weekly|${NOW - H}|80`, 'limit|codex|other|none|80', 'd:2026-04-08|80|x']);
  });
});
