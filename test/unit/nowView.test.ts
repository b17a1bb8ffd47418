import * as assert from 'node:assert/strict';
import type { LiveSession } from '../../src/core/live';
import type { AgentLimits, EstimatedBlockInfo } from '../../src/core/limits';
import { agoText, buildNowView, NOW_MAX_ROWS, type NowView } from '../../src/core/nowView';
import type { PlanWorth } from '../../src/core/plans';
import { parseHostMessage, type NowViewMessage } from '../../src/shared/protocol';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const USD = 1e9;
const NOW = Date.UTC(2026, 10, 24, 12, 0, 0);

function live(p: Partial<LiveSession> & { sessionId: string }): LiveSession {
  return {
    agent: 'claude-code', project: '/home/dev/webshop', model: 'claude-opus-4-5', state: 'running',
    startedAt: NOW - 12 * M, lastActivity: NOW - 12 * S, ageMs: 12 * M, spendNanos: 1_234_000_000, unpricedRequests: 0,
    burnNanosPerHour: 4_100_000_000,
    context: { usedTokens: 92_000, windowTokens: 200_000, percent: 46, source: 'statusline', warn: false },
    ...p,
  };
}

const claudeLimits: AgentLimits = {
  agent: 'claude-code', source: 'statusline', observedAt: NOW - 2 * M,
  windows: [
    { kind: 'five-hour', windowMinutes: 300, usedPercent: 42.4, resetsAt: NOW + 2 * H + 14 * M, reset: false },
    { kind: 'weekly', windowMinutes: 10080, usedPercent: 85, resetsAt: NOW + 50 * H, reset: false },
  ],
};
const codexLimits: AgentLimits = {
  agent: 'codex', source: 'logged', observedAt: NOW - 30 * S, planType: 'plus',
  windows: [{ kind: 'five-hour', windowMinutes: 300, usedPercent: null, resetsAt: NOW - M, reset: true }, { kind: 'other', windowMinutes: 1440, usedPercent: 100, reset: false }],
};

const maxPlan: PlanWorth = {
  plan: { agent: 'claude-code', name: 'Max', monthlyUSD: 200, setting: 'agentSpend.plans[0]' },
  months: [
    { month: '2026-11', current: true, requests: 900, pricedNanos: 3_412 * USD, unpricedRequests: 0, planNanos: 200 * USD, multiple: 17.06 },
    { month: '2026-10', current: false, requests: 700, pricedNanos: 2_900 * USD, unpricedRequests: 3, planNanos: 200 * USD, multiple: 14.5 },
  ],
};
maxPlan.current = maxPlan.months[0]!;

function view(p: Partial<Parameters<typeof buildNowView>[0]> = {}): NowView {
  return buildNowView({ sessions: [], limits: [], plans: [], now: NOW, locale: 'en-US', contextWarnPercent: 80, ...p });
}

describe('nowView: sessions', () => {
  it('one row per running or idle session with worded figures', () => {
    const v = view({ sessions: [live({ sessionId: 's1' })] });
    assert.equal(v.running, 1);
    assert.equal(v.idle, 0);
    assert.equal(v.moreSessions, 0);
    assert.deepEqual(v.sessions, [{
      sessionId: 's1', agent: 'claude-code', agentLabel: 'Claude Code', project: 'webshop', projectPath: '/home/dev/webshop', model: 'claude-opus-4-5',
      state: 'running', startedAt: NOW - 12 * M, lastActivity: NOW - 12 * S, ageText: '12m', lastActivityText: '12 s ago',
      spendNanos: 1_234_000_000, unpricedRequests: 0, costText: '$1.23', burnNanosPerHour: 4_100_000_000, burnText: '$4.10/h',
      context: { percent: 46, text: '46%', tokensText: '92k of 200k tokens', source: 'statusline', sourceLabel: 'from Claude Code', warn: false },
    }]);
  });

  it('running first, then idle, newest activity first; finished sessions left out', () => {
    const v = view({
      sessions: [
        live({ sessionId: 'idle-new', state: 'idle', lastActivity: NOW - 2 * M }),
        live({ sessionId: 'run-old', lastActivity: NOW - 50 * S }),
        live({ sessionId: 'done', state: 'finished', lastActivity: NOW - 2 * H }),
        live({ sessionId: 'idle-old', state: 'idle', lastActivity: NOW - 20 * M }),
        live({ sessionId: 'run-new', lastActivity: NOW - 3 * S }),
      ],
    });
    assert.deepEqual(v.sessions.map((s) => s.sessionId), ['run-new', 'run-old', 'idle-new', 'idle-old']);
    assert.deepEqual(v.sessions.map((s) => s.lastActivityText), ['3 s ago', '50 s ago', '2 min ago', '20 min ago']);
    assert.equal(v.running, 2);
    assert.equal(v.idle, 2);
  });

  it('unpriced requests add a "+", no burn shows "—", an unknown window shows "?" with the tokens', () => {
    const [r] = view({
      sessions: [live({
        sessionId: 's', project: 'C:\\Users\\dev\\api', model: null, unpricedRequests: 2, burnNanosPerHour: 0,
        context: { usedTokens: 160_000, windowTokens: null, percent: null, source: 'latest-request', warn: false },
      })],
    }).sessions;
    assert.equal(r!.costText, '$1.23+');
    assert.equal(r!.burnText, '—');
    assert.equal(r!.model, '');
    assert.equal(r!.project, 'api');
    assert.deepEqual(r!.context, { percent: null, text: '?', tokensText: '160k tokens', source: 'latest-request', sourceLabel: 'estimated from the latest request', warn: false });
    assert.equal(view({ sessions: [live({ sessionId: 's', context: null })] }).sessions[0]!.context, null);
  });

  it('the context warn flag follows the setting, not the session figure', () => {
    const s = live({ sessionId: 's', context: { usedTokens: 150_000, windowTokens: 200_000, percent: 75, source: 'latest-request', warn: false } });
    assert.equal(view({ sessions: [s], contextWarnPercent: 80 }).sessions[0]!.context!.warn, false);
    assert.equal(view({ sessions: [s], contextWarnPercent: 75 }).sessions[0]!.context!.warn, true);
  });

  it(`at most ${NOW_MAX_ROWS} rows; the rest is counted`, () => {
    const sessions = Array.from({ length: 60 }, (_, i) => live({ sessionId: `s${i}`, lastActivity: NOW - i * S, state: i < 5 ? 'running' : 'idle' }));
    const v = view({ sessions });
    assert.equal(v.sessions.length, 50);
    assert.equal(v.moreSessions, 10);
    assert.equal(v.running, 5);
    assert.equal(v.idle, 55);
    assert.equal(v.sessions[0]!.sessionId, 's0');
  });

  it('the empty state names the thresholds', () => {
    assert.equal(view().emptyText, 'No agent is running. Sessions written in the last 1 minute show here (as idle up to 30 minutes).');
    assert.equal(view({ runningSeconds: 90, finishedAfterSeconds: 3600 }).emptyText, 'No agent is running. Sessions written in the last 90 seconds show here (as idle up to 1 hour).');
  });

  it('ago texts', () => {
    assert.deepEqual([0, 999, 12 * S, 59 * S, 60 * S, 59 * M, 3 * H, 72 * H].map(agoText), ['just now', 'just now', '12 s ago', '59 s ago', '1 min ago', '59 min ago', '3 h ago', '3 days ago']);
  });
});

describe('nowView: limits', () => {
  it('per agent and window: label, percent, reset and where the figure comes from', () => {
    const v = view({ limits: [claudeLimits, codexLimits] });
    assert.deepEqual(v.limits, [
      {
        agent: 'claude-code', agentLabel: 'Claude Code', source: 'statusline', sourceLabel: 'from the status line', observedText: '2 min ago', planType: '',
        windows: [
          { kind: 'five-hour', label: '5h', name: '5-hour', percent: 42.4, percentText: '42%', resetText: 'resets in 2h 14m', level: 'ok' },
          { kind: 'weekly', label: '7d', name: 'weekly', percent: 85, percentText: '85%', resetText: 'resets in 2d 2h', level: 'warn' },
        ],
      },
      {
        agent: 'codex', agentLabel: 'Codex CLI', source: 'logged', sourceLabel: 'logged by Codex CLI', observedText: '30 s ago', planType: 'plus',
        windows: [
          { kind: 'five-hour', label: '5h', name: '5-hour', percent: null, percentText: 'reset', resetText: 'reset', level: 'ok' },
          { kind: 'other', label: '1d', name: '1d', percent: 100, percentText: '100%', resetText: '', level: 'over' },
        ],
      },
    ]);
  });

  const block: EstimatedBlockInfo = {
    agent: 'claude-code', source: 'estimated', start: NOW - H, resetsAt: NOW + 4 * H, requests: 42,
    spendNanos: 12_400_000_000, unpricedRequests: 1, totalTokens: 1_200_000,
  };

  it('the estimated block: spend and time left, no percent of a real limit', () => {
    const v = view({ limits: [codexLimits], estimatedBlock: block });
    assert.deepEqual(v.limits.map((l) => l.agent), ['claude-code', 'codex']);
    assert.deepEqual(v.limits[0], {
      agent: 'claude-code', agentLabel: 'Claude Code', source: 'estimated', sourceLabel: 'estimate, not a real limit', observedText: 'just now', planType: '', windows: [],
      estimate: { spendText: '$12.40+', usageText: '1.2M tokens · 42 requests', resetText: 'resets in 4h 0m', budgetPercent: null, budgetText: '' },
    });
    const withBudget = view({ estimatedBlock: { ...block, budgetPercent: 62.5, budgetBasis: 'usd' } });
    assert.equal(withBudget.limits[0]!.estimate!.budgetText, '63% of your block budget');
    assert.equal(withBudget.limits[0]!.estimate!.budgetPercent, 62.5);
  });

  it('a real Claude figure wins over the estimated block', () => {
    const v = view({ limits: [claudeLimits], estimatedBlock: block });
    assert.equal(v.limits.length, 1);
    assert.equal(v.limits[0]!.source, 'statusline');
  });
});

describe('nowView: plans', () => {
  it('absent without plans (the webview shows the hint)', () => {
    const v = view();
    assert.equal(v.plans, undefined);
    assert.match(v.plansHint, /agentSpend\.plans/);
  });

  it('the current month as a sentence, earlier months with their multiple', () => {
    const v = view({ plans: [maxPlan] });
    assert.deepEqual(v.plans, [{
      agent: 'claude-code', agentLabel: 'Claude Code', name: 'Max', priceText: '$200/month', setting: 'agentSpend.plans[0]',
      sentence: '$3,412 at API prices so far this month on a $200 plan — 17×',
      current: { month: '2026-11', label: 'Nov 2026', pricedNanos: 3_412 * USD, pricedText: '$3,412', multiple: 17.06, multipleText: '17×' },
      previous: [{ month: '2026-10', label: 'Oct 2026', pricedNanos: 2_900 * USD, pricedText: '$2,900+', multiple: 14.5, multipleText: '15×' }],
    }]);
  });

  it('a plan that does not cover this month has no sentence', () => {
    const old: PlanWorth = { plan: { ...maxPlan.plan, until: '2026-10' }, months: [maxPlan.months[1]!] };
    const [p] = view({ plans: [old] }).plans!;
    assert.equal(p!.sentence, '');
    assert.equal(p!.current, null);
    assert.equal(p!.previous.length, 1);
  });
});

describe('nowView: protocol', () => {
  it('a built view passes the host message validation (and has the message type)', () => {
    const v: NowViewMessage = view({
      sessions: [live({ sessionId: 's1' }), live({ sessionId: 's2', state: 'idle', context: null })],
      limits: [claudeLimits, codexLimits],
      estimatedBlock: undefined,
      plans: [maxPlan],
    });
    const r = parseHostMessage(JSON.parse(JSON.stringify({ type: 'now', view: v })));
    assert.ok(r.ok, r.ok ? '' : r.error);
    if (r.ok && r.message.type === 'now') {
      const back: NowView = r.message.view;
      assert.deepEqual(back, v);
    }
  });
});
