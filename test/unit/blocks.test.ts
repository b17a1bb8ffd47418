import * as assert from 'node:assert/strict';
import { BLOCK_MS, blockLines, currentBlock } from '../../src/core/blocks';
import type { RequestRecord } from '../../src/core/ledger';
import { tokens } from './helpers';

const USD = 1e9;
const MIN = 60_000;
const HOUR = 60 * MIN;

let seq = 0;
function rec(p: Partial<RequestRecord> & { timestamp: number }): RequestRecord {
  return { key: `b${seq++}`, agent: 'claude-code', sessionId: 's1', project: '/p', model: 'claude-sonnet-4-5', tokens: tokens({ input: 100, output: 50, cacheRead: 1000, cacheWrite5m: 10 }), costNanos: USD, file: '/f', ...p };
}

/** 2026-04-15 at hh:mm UTC. */
const utc = (h: number, m = 0) => Date.UTC(2026, 3, 15, h, m);

describe('5-hour blocks', () => {
  it('none without Claude Code requests (other agents do not count)', () => {
    assert.equal(currentBlock([], utc(12)), undefined);
    assert.equal(currentBlock([rec({ timestamp: utc(10), agent: 'codex' })], utc(12)), undefined);
    assert.equal(currentBlock([rec({ timestamp: utc(13) })], utc(12)), undefined, 'requests after now are ignored');
  });

  it('an active block: hour floor start, 5 h long, tokens by type, spend, burn rate and projection', () => {
    const records = [
      rec({ timestamp: utc(11, 20), costNanos: 2 * USD, model: 'claude-opus-4-1' }),
      rec({ timestamp: utc(10, 20) }),
      rec({ timestamp: utc(10, 50), costNanos: null }),
      rec({ timestamp: utc(10, 30), agent: 'codex', costNanos: 50 * USD }),
    ];
    const b = currentBlock(records, utc(12))!;
    assert.equal(b.estimate, true);
    assert.equal(b.start, utc(10));
    assert.equal(b.end, utc(15));
    assert.equal(b.active, true);
    assert.equal(b.timeLeftMs, 3 * HOUR);
    assert.equal(b.requests, 3);
    assert.deepEqual(b.tokens, { input: 300, output: 150, cacheWrite5m: 30, cacheWrite1h: 0, cacheRead: 3000, reasoning: 0 });
    assert.equal(b.totalTokens, 3480);
    assert.equal(b.spendNanos, 3 * USD);
    assert.equal(b.unpricedRequests, 1);
    assert.equal(b.firstRequest, utc(10, 20));
    assert.equal(b.lastRequest, utc(11, 20));
    assert.equal(b.burnRateNanosPerMin, 3 * USD / 60); // $3 over the 60 min from first to last request
    assert.equal(b.tokensPerMin, 450 / 60);
    assert.equal(b.projectedNanos, 3 * USD + 180 * (3 * USD / 60)); // + 180 min left
    assert.equal(b.projectedTokens, 450 + 180 * 7.5);
    assert.deepEqual(b.models, ['claude-sonnet-4-5', 'claude-opus-4-1']);
  });

  it('a gap of 5 h or more starts a new block at the hour of the next request', () => {
    const b = currentBlock([rec({ timestamp: utc(3, 10) }), rec({ timestamp: utc(9, 30) }), rec({ timestamp: utc(9, 45) })], utc(10))!;
    assert.equal(b.start, utc(9));
    assert.equal(b.requests, 2);
    // Exactly 5 h after the previous request (and after the block's end): a new block.
    const exact = currentBlock([rec({ timestamp: utc(4, 0) }), rec({ timestamp: utc(9, 0) })], utc(9, 30))!;
    assert.equal(exact.start, utc(9));
    assert.equal(exact.requests, 1);
    assert.equal(exact.burnRateNanosPerMin, undefined, 'one request: no rate');
    assert.equal(exact.projectedNanos, USD);
  });

  it('continuous activity: the next block starts at the hour of the first request after the previous block ended', () => {
    const records: RequestRecord[] = [];
    for (let t = utc(10, 10); t <= utc(17, 40); t += 30 * MIN) records.push(rec({ timestamp: t }));
    records.reverse(); // order does not matter
    const first = currentBlock(records, utc(14, 59))!;
    assert.deepEqual([first.start, first.end, first.requests], [utc(10), utc(15), 10]);
    const second = currentBlock(records, utc(17, 45))!;
    assert.equal(second.start, utc(15)); // 15:10 is after 15:00, floored to 15:00
    assert.equal(second.end, utc(20));
    assert.equal(second.requests, 6); // 15:10 … 17:40
    assert.equal(second.timeLeftMs, 2 * HOUR + 15 * MIN);
    // A block started mid-hour: 10:50 → block 10:00–15:00; 15:05 opens 15:00–20:00, not 15:50.
    const mid = currentBlock([rec({ timestamp: utc(10, 50) }), rec({ timestamp: utc(14, 55) }), rec({ timestamp: utc(15, 5) })], utc(15, 30))!;
    assert.deepEqual([mid.start, mid.requests], [utc(15), 1]);
  });

  it('inactive: the last block has ended; no time left, no projection beyond the spend', () => {
    const b = currentBlock([rec({ timestamp: utc(10, 20) }), rec({ timestamp: utc(11, 20) })], utc(16))!;
    assert.equal(b.start, utc(10));
    assert.equal(b.end, utc(10) + BLOCK_MS);
    assert.equal(b.active, false);
    assert.equal(b.timeLeftMs, 0);
    assert.equal(b.projectedNanos, 2 * USD);
    assert.equal(b.burnRateNanosPerMin, 2 * USD / 60);
  });

  it('tooltip lines say it is an estimate', () => {
    const b = currentBlock([rec({ timestamp: utc(10, 20) }), rec({ timestamp: utc(11, 20) })], utc(12));
    const text = blockLines(b, utc(12), 'en-US').join('\n');
    assert.match(text, /\*\*5-hour block\*\* \(estimate\)/);
    assert.match(text, /3h 0m left/);
    assert.match(text, /\$2\.00 · 2\.32k tokens/);
    assert.match(text, /Burn rate \$2\.00\/h · projected \$8\.00 by/);
    assert.match(blockLines(currentBlock([rec({ timestamp: utc(10, 20) })], utc(16)), utc(16), 'en-US').join('\n'), /no active block/);
    assert.match(blockLines(undefined, utc(12)).join('\n'), /no Claude Code usage yet/);
  });
});
