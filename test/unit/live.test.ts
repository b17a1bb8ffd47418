import * as assert from 'node:assert/strict';
import type { UsageEvent } from '../../src/core/events';
import { Ledger, type RequestRecord } from '../../src/core/ledger';
import { contextFill, liveSessions, liveStatusText, liveTooltipLines, sessionActivity, type ContextFigure } from '../../src/core/live';
import { tokens } from './helpers';

const S = 1000;
const M = 60 * S;
const NOW = Date.UTC(2026, 3, 8, 12, 0, 0);

describe('live: session activity', () => {
  it('running within the running seconds, idle up to 30 min, finished after (injected clock)', () => {
    const last = NOW;
    const at = (dt: number) => sessionActivity(last, NOW + dt);
    assert.equal(at(0), 'running');
    assert.equal(at(60 * S), 'running');
    assert.equal(at(60 * S + 1), 'idle');
    assert.equal(at(30 * M), 'idle');
    assert.equal(at(30 * M + 1), 'finished');
    assert.equal(at(-5 * S), 'running'); // a write "in the future" (clock skew) is now
    assert.equal(sessionActivity(last, NOW + 100 * S, 120), 'running');
    assert.equal(sessionActivity(last, NOW + 3 * M, 60, 120), 'finished');
  });
});

describe('live: context fill', () => {
  const rec = (p: Partial<RequestRecord> = {}): RequestRecord => ({
    key: 'k', agent: 'claude-code', sessionId: 's', project: '/p', model: 'claude-sonnet-4-5', timestamp: NOW,
    tokens: tokens({ input: 1_000, cacheRead: 150_000, cacheWrite5m: 8_000, cacheWrite1h: 1_000, output: 5_000 }), costNanos: 1, file: '/f', ...p,
  });

  it('from the latest request: input + cache read + cache writes against the model window', () => {
    assert.deepEqual(contextFill(rec(), undefined), { usedTokens: 160_000, windowTokens: 200_000, percent: 80, source: 'latest-request', warn: true });
    assert.equal(contextFill(rec(), undefined, 81)!.warn, false);
    // a 1M model id
    assert.deepEqual(contextFill(rec({ model: 'claude-sonnet-4-5[1m]' }), undefined), { usedTokens: 160_000, windowTokens: 1_000_000, percent: 16, source: 'latest-request', warn: false });
    // unknown window: tokens known, percent unknown (never made up)
    assert.deepEqual(contextFill(rec({ model: 'some-local-model' }), undefined), { usedTokens: 160_000, windowTokens: null, percent: null, source: 'latest-request', warn: false });
    assert.equal(contextFill(undefined, undefined), null);
  });

  it('the status line figure wins when newer than the latest request, loses when older', () => {
    const newer: ContextFigure = { sessionId: 's', observedAt: NOW + 1, usedPercent: 42, contextWindowSize: 200_000 };
    assert.deepEqual(contextFill(rec(), newer), { usedTokens: 84_000, windowTokens: 200_000, percent: 42, source: 'statusline', warn: false });
    const older: ContextFigure = { ...newer, observedAt: NOW - 1 };
    assert.equal(contextFill(rec(), older)!.source, 'latest-request');
    // only tokens and size: the percent is computed
    assert.deepEqual(contextFill(undefined, { sessionId: 's', observedAt: NOW, totalInputTokens: 50_000, contextWindowSize: 200_000 }), { usedTokens: 50_000, windowTokens: 200_000, percent: 25, source: 'statusline', warn: false });
    // only a percent
    assert.deepEqual(contextFill(undefined, { sessionId: 's', observedAt: NOW, usedPercent: 91 }), { usedTokens: null, windowTokens: null, percent: 91, source: 'statusline', warn: true });
    // a figure without anything usable falls back to the request
    assert.equal(contextFill(rec(), { sessionId: 's', observedAt: NOW + 1, usedPercent: NaN })!.source, 'latest-request');
  });
});

describe('live: liveSessions', () => {
  /** 1 nano-USD per output token, so costs are easy to read. */
  const pricer = { priceNanos: (m: string | null, t: { output: number }) => (m === 'unpriced' ? null : t.output) };
  const ev = (p: Partial<UsageEvent> & { key: string; timestamp: number }): UsageEvent => ({
    agent: 'claude-code', sessionId: 'a', project: '/work/app', model: 'claude-sonnet-4-5', tokens: tokens({ input: 10, output: 1_000 }), file: '/f', ...p,
  });

  function ledger(): Ledger {
    const l = new Ledger(pricer);
    l.addAll([
      // a: running, three requests, the last one from a subagent
      ev({ key: 'a1', timestamp: NOW - 40 * M, tokens: tokens({ input: 10, output: 6_000 }) }),
      ev({ key: 'a2', timestamp: NOW - 5 * M, tokens: tokens({ input: 100, cacheRead: 99_900, output: 2_000 }) }),
      ev({ key: 'a3', timestamp: NOW - 30 * S, model: 'claude-haiku-4-5', subagentId: 'sub', tokens: tokens({ input: 5, output: 1_000 }) }),
      // b: Codex, last request 20 min ago, but its log was written 10 s ago → running
      ev({ key: 'b1', agent: 'codex', sessionId: 'b', project: '/work/api', model: 'gpt-5-codex', timestamp: NOW - 20 * M }),
      // c: idle
      ev({ key: 'c1', sessionId: 'c', timestamp: NOW - 15 * M, model: 'unpriced' }),
      // d: finished (2 h ago); e: outside the lookback
      ev({ key: 'd1', sessionId: 'd', timestamp: NOW - 2 * 60 * M }),
      ev({ key: 'e1', sessionId: 'e', timestamp: NOW - 25 * 60 * M }),
    ]);
    return l;
  }

  it('states, cost so far, burn rate over the last 10 minutes, latest main-conversation model and context', () => {
    const l = ledger();
    const sessions = liveSessions({ ledger: l, now: NOW, lastWrites: new Map([['b', NOW - 10 * S], ['c', NOW - 16 * M]]) });
    assert.deepEqual(sessions.map((s) => [s.sessionId, s.state]), [['b', 'running'], ['a', 'running'], ['c', 'idle']]);
    const a = sessions.find((s) => s.sessionId === 'a')!;
    assert.equal(a.agent, 'claude-code');
    assert.equal(a.model, 'claude-sonnet-4-5'); // the subagent's haiku request is not the conversation's model
    assert.equal(a.startedAt, NOW - 40 * M);
    assert.equal(a.lastActivity, NOW - 30 * S);
    assert.equal(a.ageMs, 40 * M);
    assert.equal(a.spendNanos, 9_000);
    assert.equal(a.burnNanosPerHour, 3_000 * 6); // a2 + a3 in the last 10 minutes, × 6
    assert.deepEqual(a.context, { usedTokens: 100_000, windowTokens: 200_000, percent: 50, source: 'latest-request', warn: false });
    const b = sessions.find((s) => s.sessionId === 'b')!;
    assert.equal(b.lastActivity, NOW - 10 * S);
    assert.equal(b.burnNanosPerHour, 0);
    const c = sessions.find((s) => s.sessionId === 'c')!;
    assert.equal(c.unpricedRequests, 1);
    assert.equal(c.spendNanos, 0);
    assert.deepEqual(c.context, { usedTokens: 10, windowTokens: null, percent: null, source: 'latest-request', warn: false }); // unknown model window

    const all = liveSessions({ ledger: l, now: NOW, includeFinished: true });
    assert.deepEqual(all.map((s) => [s.sessionId, s.state]), [['a', 'running'], ['c', 'idle'], ['b', 'idle'], ['d', 'finished']]);

    // a status line figure for a newer than its latest request
    const withFigure = liveSessions({ ledger: l, now: NOW, context: new Map([['a', { sessionId: 'a', observedAt: NOW - M, usedPercent: 85, contextWindowSize: 200_000 }]]) });
    assert.deepEqual(withFigure.find((s) => s.sessionId === 'a')!.context, { usedTokens: 170_000, windowTokens: 200_000, percent: 85, source: 'statusline', warn: true });
  });

  it('status text and tooltip lines', () => {
    const sessions = liveSessions({ ledger: ledger(), now: NOW, lastWrites: new Map([['b', NOW - 10 * S]]) });
    assert.equal(liveStatusText(sessions), '$(pulse) 2 running');
    assert.equal(liveStatusText([]), '');
    assert.deepEqual(liveTooltipLines(sessions, { locale: 'en-US' }), [
      '**Active now** (3, 2 running)', '',
      '- **Codex** · api · gpt\\-5\\-codex · 20m · <$0.01 · context 0%', '',
      '- **Claude Code** · app · claude\\-sonnet\\-4\\-5 · 40m · <$0.01 · context 50%', '',
      '- **Claude Code** · app · unpriced · 15m · $0.00+ · context ? · idle', '',
    ]);
    assert.deepEqual(liveTooltipLines([]), []);
  });
});
