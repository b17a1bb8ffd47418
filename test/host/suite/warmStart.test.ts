/**
 * Warm start inside the real extension host: a LiveSpend with an index present shows
 * its first total from the index, before (and without) rereading the logs, and that
 * total equals the cold one.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Config } from '../../../src/extension/config';
import { LiveSpend } from '../../../src/extension/liveSpend';
import { Log } from '../../../src/extension/log';

const NO_PROVIDER = { enabled: false, pollMinutes: 15, baseUrl: '' };
const config: Config = {
  period: 'today', showBurnRate: true, enabledAgents: ['claude-code', 'codex'], claudeCodePaths: [], codexHome: '', geminiHome: '', aiderPaths: [], openCodeDataDir: '', clinePaths: [],
  rescanSeconds: 3600, priceOverrides: {}, retentionDays: 0, budgets: { budgets: [], warnAt: [80, 100], weekStartsOn: 1, problems: [] },
  providers: { anthropic: NO_PROVIDER, openai: NO_PROVIDER, openrouter: NO_PROVIDER }, outputThresholdUSD: 5,
  showLimits: true, runningSeconds: 60, contextWarnPercent: 80, limitWarnAt: [80, 100], stateDir: "", plans: [],
};

describe('persistent index in the extension host', function () {
  this.timeout(30_000);
  const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-spend-storage-'));
  after(() => fs.rmSync(storage, { recursive: true, force: true }));

  it('warm start: first total from the index, no bytes re-read, equal to the cold total', async () => {
    const coldLog = new Log('Agent Spend (warm start test, cold)');
    const cold = new LiveSpend(config, coldLog, storage);
    cold.start();
    await cold.ready;
    const coldTotals = cold.summary().all;
    assert.ok(coldTotals.requests >= 2, `cold scan found ${coldTotals.requests} requests`);
    assert.ok(cold.counters.lastScan!.bytesRead > 0);
    await cold.flush();
    cold.dispose();
    coldLog.dispose();
    assert.ok(fs.existsSync(path.join(storage, 'index.bin')), 'index written');

    const warmLog = new Log('Agent Spend (warm start test, warm)');
    const warm = new LiveSpend(config, warmLog, storage);
    let first: { requests: number; costNanos: number; bytesReadBefore: number } | undefined;
    const sub = warm.onDidUpdate(() => {
      first ??= { requests: warm.summary().all.requests, costNanos: warm.summary().all.costNanos, bytesReadBefore: warm.counters.lastScan?.bytesRead ?? -1 };
    });
    warm.start();
    await warm.ready;
    sub.dispose();
    console.log(`    index: ${JSON.stringify(warm.counters.index)}`);
    assert.ok(first, 'an update before the end of the catch-up');
    assert.equal(first.bytesReadBefore, -1, 'the first total came before any scan');
    assert.equal(first.requests, coldTotals.requests);
    assert.equal(first.costNanos, coldTotals.costNanos);
    assert.equal(warm.counters.index!.requests, coldTotals.requests);
    assert.ok(warm.counters.index!.firstTotalMs < 300, `first total after ${warm.counters.index!.firstTotalMs} ms`);
    assert.equal(warm.counters.lastScan!.bytesRead, 0, 'the catch-up read nothing: nothing changed');
    assert.equal(warm.summary().all.costNanos, coldTotals.costNanos);
    assert.ok(warmLog.entries().some((e) => e.includes('index: ') && e.includes('loaded in')), warmLog.entries().join('\n'));
    warm.dispose();
    warmLog.dispose();
  });

  it('a corrupt index is reported and rebuilt from the logs', async () => {
    fs.writeFileSync(path.join(storage, 'index.bin'), fs.readFileSync(path.join(storage, 'index.bin')).subarray(0, 200));
    const log = new Log('Agent Spend (corrupt index test)');
    const live = new LiveSpend(config, log, storage);
    live.start();
    await live.ready;
    assert.equal(live.counters.index, undefined);
    assert.ok(live.summary().all.requests >= 2);
    assert.ok(log.entries().some((e) => e.startsWith('[warn] index ') && /unusable \((truncated header|header is not valid JSON|size \d+ does not match)/.test(e)), log.entries().join('\n'));
    await live.flush();
    assert.equal(fs.readFileSync(path.join(storage, 'index.bin')).toString('latin1', 0, 4), 'ASIX');
    live.dispose();
    log.dispose();
  });
});
