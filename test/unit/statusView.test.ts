import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { UsageEvent } from '../../src/core/events';
import { formatDuration, formatTokens, formatUSD, md, plural } from '../../src/core/format';
import { Ledger } from '../../src/core/ledger';
import { Pricer } from '../../src/core/pricing';
import { buildStatusView } from '../../src/core/statusView';
import { mergeLimits } from '../../src/core/limits';
import { liveSessions } from '../../src/core/live';
import { planWorth } from '../../src/core/plans';
import { summarize, weekStartKey } from '../../src/core/summary';
import { DirWatcher, foldersToWatch } from '../../src/sources/dirWatcher';
import { tempDir, tokens } from './helpers';

const NOW = new Date(2026, 2, 18, 15, 0, 0).getTime(); // Wednesday 18 March 2026, 15:00 local

function ev(p: Partial<UsageEvent> & { key: string; timestamp: number }): UsageEvent {
  return { agent: 'claude-code', sessionId: 's1', project: '/w/app', model: 'claude-sonnet-4-5', tokens: tokens({ input: 100_000 }), file: '/f', ...p };
}

describe('summary and status bar view', () => {
  it('sums today, this week (Monday start) and this month in local time', () => {
    const l = new Ledger(new Pricer());
    l.add(ev({ key: 'today', timestamp: NOW - 60_000 })); // $0.30
    l.add(ev({ key: 'monday', timestamp: new Date(2026, 2, 16, 9).getTime() })); // $0.30
    l.add(ev({ key: 'march1', timestamp: new Date(2026, 2, 1, 9).getTime() })); // $0.30
    l.add(ev({ key: 'feb', timestamp: new Date(2026, 1, 27, 9).getTime() })); // $0.30
    const s = summarize(l, NOW);
    assert.equal(s.today.costNanos, 0.3e9);
    assert.equal(s.week.costNanos, 0.6e9);
    assert.equal(s.month.costNanos, 0.9e9);
    assert.equal(s.all.costNanos, 1.2e9);
    assert.equal(weekStartKey(NOW, 1), '2026-03-16');
    assert.equal(weekStartKey(NOW, 0), '2026-03-15');
  });

  it('shows the burn rate only while a session is active, and marks unpriced figures with +', () => {
    const l = new Ledger(new Pricer());
    l.add(ev({ key: 'a', timestamp: NOW - 2 * 60_000 })); // $0.30 in the last 10 min → $0.03/min
    l.add(ev({ key: 'b', timestamp: NOW - 60_000, model: 'mystery-1', sessionId: 's2', agent: 'codex' }));
    const active = buildStatusView(summarize(l, NOW), { period: 'today', showBurnRate: true, problems: 0, configProblems: [], locale: 'en-US' });
    assert.equal(active.text, '$(pulse) $0.30+ today · $0.03/min');
    assert.match(active.accessibilityLabel, /\$0\.30 plus unpriced requests estimated today, burning \$0\.03 per minute, 2 agent sessions active/);
    assert.match(active.tooltip, /1 unpriced request this month, not in the totals \(no price for mystery\\-1\)/);
    const later = buildStatusView(summarize(l, NOW + 3_600_000), { period: 'today', showBurnRate: true, problems: 2, configProblems: [], locale: 'en-US' });
    assert.equal(later.text, '$(graph-line) $0.30+ today');
    assert.match(later.tooltip, /2 log problems/);
    const noBurn = buildStatusView(summarize(l, NOW), { period: 'month', showBurnRate: false, problems: 0, configProblems: [], locale: 'en-US' });
    assert.equal(noBurn.text, '$(pulse) $0.30+ this month');
  });

  it("'session' follows the most recently active session", () => {
    const l = new Ledger(new Pricer());
    l.add(ev({ key: 'a', timestamp: NOW - 3_600_000, sessionId: 'old' }));
    l.add(ev({ key: 'b', timestamp: NOW - 3_500_000, sessionId: 'new', tokens: tokens({ output: 100_000 }) })); // 100k × $15/M = $1.50
    const v = buildStatusView(summarize(l, NOW), { period: 'session', showBurnRate: true, problems: 0, configProblems: [], locale: 'en-US' });
    assert.equal(v.text, '$(graph-line) $1.50 session');
    assert.match(v.tooltip, /Last session:\*\* claude-code · app · claude\\-sonnet\\-4\\-5/);
  });

  it("shows today's cost per 100 lines changed by the agents' edit tools", () => {
    const l = new Ledger(new Pricer());
    l.add(ev({ key: 'a', timestamp: NOW - 60_000 })); // $0.30 today
    const opts = { period: 'today' as const, showBurnRate: true, problems: 0, configProblems: [], locale: 'en-US' };
    assert.match(buildStatusView(summarize(l, NOW), { ...opts, todayLinesChanged: 150 }).tooltip, /150 lines changed by the agents' edit tools — \$0\.20 per 100 changed lines/);
    assert.match(buildStatusView(summarize(l, NOW), { ...opts, todayLinesChanged: 0 }).tooltip, /no line changed by the agents' edit tools yet/);
    assert.ok(!buildStatusView(summarize(l, NOW), opts).tooltip.includes('Output today'));
  });

  it('escapes log-derived text in the markdown tooltip', () => {
    assert.equal(md('[x](command:evil) $(alert) <img>'), '\\[x\\]\\(command:evil\\) \\$\\(alert\\) \\<img\\>');
    const l = new Ledger(new Pricer());
    l.add(ev({ key: 'a', timestamp: NOW - 1000, project: '/w/[pwn](command:workbench.action.quit)' }));
    const v = buildStatusView(summarize(l, NOW), { period: 'today', showBurnRate: true, problems: 0, configProblems: [], locale: 'en-US' });
    assert.ok(!v.tooltip.includes('](command:workbench.action.quit)'), v.tooltip);
  });

  it('shows billed month-to-date beside the estimate only when given', () => {
    const l = new Ledger(new Pricer());
    l.add(ev({ key: 'a', timestamp: NOW - 60_000 }));
    const base = { period: 'today', showBurnRate: true, problems: 0, configProblems: [], locale: 'en-US' } as const;
    const without = buildStatusView(summarize(l, NOW), base);
    assert.ok(!without.tooltip.includes('Billed this month'), without.tooltip);
    assert.ok(!buildStatusView(summarize(l, NOW), { ...base, billed: [] }).tooltip.includes('Billed this month'));
    const v = buildStatusView(summarize(l, NOW), {
      ...base,
      billed: [
        { provider: 'anthropic', billedNanos: 12_340_000_000, estimatedNanos: 11_000_000_000, ageMs: 12 * 60_000 },
        { provider: 'openai', billedNanos: null, estimatedNanos: 2_500_000_000, ageMs: 3 * 60_000 },
      ],
    });
    assert.ok(v.tooltip.includes('**Billed this month** (provider reports, UTC): Anthropic $12.34 (estimated $11.00) · OpenAI not reported (estimated $2.50) · as of 12 min ago'), v.tooltip);
    assert.equal(v.text, without.text, 'the item text is unchanged');
    const de = buildStatusView(summarize(l, NOW), { ...base, locale: 'de-DE', billed: [{ provider: 'anthropic', billedNanos: 1_500_000_000, estimatedNanos: 0, ageMs: null }] });
    assert.match(de.tooltip, /Anthropic 1,50\s\$ \(estimated 0,00\s\$\)\n/);
  });

  it('leads with the running count, lists active sessions with context fill, limits and the plan multiple', () => {
    const l = new Ledger(new Pricer());
    // 170,000 prompt tokens of Sonnet 4.5's 200k window: 85 % full
    l.add(ev({ key: 'r1', timestamp: NOW - 20_000, sessionId: 'run-1', project: '/w/shop', tokens: tokens({ input: 10_000, cacheRead: 160_000, output: 100 }) }));
    l.add(ev({ key: 'r2', timestamp: NOW - 5 * 60_000, sessionId: 'idle-1', project: '/w/blog' }));
    const sessions = liveSessions({ ledger: l, now: NOW, runningSeconds: 60, contextWarnPercent: 80 });
    assert.deepEqual(sessions.map((x) => [x.sessionId, x.state]).sort(), [['idle-1', 'idle'], ['run-1', 'running']]);
    const plans = planWorth(l.allRecords(), [{ agent: 'claude-code', name: 'Pro', monthlyUSD: 20, setting: 'agentSpend.plans[0]' }], NOW);
    const limits = mergeLimits([{ agent: 'codex', source: 'logged', observedAt: NOW - 60_000, windows: [{ kind: 'five-hour', windowMinutes: 300, usedPercent: 42, resetsAt: NOW + 3_600_000 }] }], NOW);
    const v = buildStatusView(summarize(l, NOW), { period: 'today', showBurnRate: false, problems: 0, configProblems: [], locale: 'en-US', live: { sessions, limits, plans } });
    assert.match(v.text, /^\$\(pulse\) 1 running · \$\d+\.\d\d today$/);
    assert.match(v.accessibilityLabel, /1 agent session running/);
    assert.match(v.tooltip, /\*\*Active now\*\* \(2, 1 running\)/);
    assert.match(v.tooltip, /shop · claude\\-sonnet\\-4\\-5 · .* · context 85% ⚠/);
    assert.match(v.tooltip, /\$\(warning\) context 85% full: shop/);
    assert.match(v.tooltip, /idle/);
    assert.match(v.tooltip, /\*\*Codex plan limits\*\* · from the agent's log, 1m ago/);
    assert.match(v.tooltip, /- 5-hour: 42% used · resets in 1h 0m/);
    assert.match(v.tooltip, /\*\*Pro\*\* \(claude-code\): \$0\.38 at API prices so far this month on a \$20\.00 plan — 0\.02×/);
    // nothing running: the usual text
    const quiet = buildStatusView(summarize(l, NOW + 3 * 3600_000), { period: 'today', showBurnRate: false, problems: 0, configProblems: [], locale: 'en-US', live: { sessions: [], limits: [], plans: [] } });
    assert.doesNotMatch(quiet.text, /running/);
  });

  it('formats money, tokens and durations', () => {
    assert.equal(formatUSD(1_234_560_000_000, 'en-US'), '$1,234.56');
    assert.equal(formatUSD(1_000_000, 'en-US'), '<$0.01');
    assert.equal(formatUSD(0, 'en-US'), '$0.00');
    assert.equal(formatTokens(1_234_567), '1.23M');
    assert.equal(formatTokens(350_000), '350k');
    assert.equal(formatDuration(3 * 3_600_000 + 12 * 60_000), '3h 12m');
    assert.equal(plural(1, 'request'), '1 request');
    assert.equal(plural(2, 'request'), '2 requests');
  });
});

describe('folder watcher', () => {
  it('watches every folder from a log up to its root', () => {
    const dirs = foldersToWatch([
      { path: '/r/projects/-a/s.jsonl', root: '/r/projects' },
      { path: '/r/projects/-a/s/subagents/agent-1.jsonl', root: '/r/projects' },
    ], ['/r/projects', '/c/sessions']);
    assert.deepEqual([...dirs].sort(), ['/c/sessions', '/r/projects', '/r/projects/-a', '/r/projects/-a/s', '/r/projects/-a/s/subagents']);
  });

  it('reports appends and new files with their full path, and stops watching removed folders', async () => {
    const dir = tempDir();
    try {
      const seen: string[] = [];
      const w = new DirWatcher({ onPath: (p, e) => seen.push(`${e}:${path.basename(p)}`), onError: (d, e) => seen.push(`error:${d}:${String(e)}`) });
      w.update([dir, path.join(dir, 'missing')]);
      assert.equal(w.size, 1);
      assert.ok(seen.some((s) => s.startsWith('error:')), 'a missing folder is reported');
      fs.writeFileSync(path.join(dir, 'new.jsonl'), 'x');
      fs.appendFileSync(path.join(dir, 'new.jsonl'), 'y');
      for (let i = 0; i < 50 && !seen.some((s) => s.endsWith(':new.jsonl')); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(seen.some((s) => s.endsWith(':new.jsonl')), seen.join(','));
      w.update([]);
      assert.equal(w.size, 0);
      w.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
