import * as assert from 'node:assert/strict';
import {
  budgetLines,
  compileProjectPattern,
  crossingMessage,
  detectCrossings,
  evaluateBudgets,
  notificationKey,
  parseBudgetSettings,
  periodBounds,
  progressBar,
  pruneNotified,
  type Budget,
  type BudgetStatus,
  type RawBudgetSettings,
} from '../../src/core/budgets';
import type { RequestRecord } from '../../src/core/ledger';
import { localTime as at, tokens, withTZ } from './helpers';

const USD = 1e9;
const MIN = 60_000;
const HOUR = 60 * MIN;

let seq = 0;
/** A request costing $1 (estimate) unless told otherwise. */
function rec(p: Partial<RequestRecord> & { timestamp: number }): RequestRecord {
  return { key: `k${seq++}`, agent: 'claude-code', sessionId: 's1', project: '/work/app', model: 'claude-sonnet-4-5', tokens: tokens({ output: 10 }), costNanos: USD, file: '/f', ...p };
}

function settings(raw: RawBudgetSettings): ReturnType<typeof parseBudgetSettings> {
  const s = parseBudgetSettings(raw);
  return s;
}

function budgetsOf(raw: RawBudgetSettings): Budget[] {
  const s = parseBudgetSettings(raw);
  assert.deepEqual(s.problems, []);
  return s.budgets;
}

const OPTS = { warnAt: [80, 100], weekStartsOn: 1 };

function evalOne(records: RequestRecord[], raw: RawBudgetSettings, now: number, opts = OPTS): BudgetStatus {
  const st = evaluateBudgets(records, budgetsOf(raw), now, opts);
  assert.equal(st.length, 1);
  return st[0]!;
}

describe('budgets: settings', () => {
  it('defaults: no budgets, warnAt [80, 100], weeks start on Monday', () => {
    assert.deepEqual(parseBudgetSettings({}), { budgets: [], warnAt: [80, 100], weekStartsOn: 1, problems: [] });
  });

  it('daily, weekly, monthly and per-session limits; 0, empty and null are off', () => {
    const s = settings({ daily: 10, weekly: 0, monthly: '', perSession: 2.5, warnAt: [100, 50, 80, 80], weekStartsOn: 'Sunday', rules: null });
    assert.deepEqual(s.problems, []);
    assert.deepEqual(s.budgets.map((b) => [b.label, b.period, b.limitNanos, b.setting]), [
      ['Daily budget', 'day', 10 * USD, 'agentSpend.budgets.daily'],
      ['Session budget', 'session', 2.5 * USD, 'agentSpend.budgets.perSession'],
    ]);
    assert.deepEqual(s.warnAt, [50, 80, 100]);
    assert.equal(s.weekStartsOn, 0);
    assert.equal(settings({ weekStartsOn: 'saturday' }).weekStartsOn, 6);
    assert.equal(settings({ monthly: null }).budgets.length, 0);
  });

  it('rules: scope fields kept, limit 0 turns a rule off', () => {
    const s = settings({
      rules: [
        { name: 'Opus', period: 'day', limitUSD: 5, model: 'claude-opus-4*' },
        { name: 'Work', period: 'month', limitUSD: 200, project: '/home/me/work/**', agent: 'Codex' },
        { name: 'Paused', period: 'week', limitUSD: 0 },
      ],
    });
    assert.deepEqual(s.problems, []);
    assert.deepEqual(s.budgets.map((b) => [b.label, b.period, b.limitNanos, b.scope, b.setting, b.rule]), [
      ['Opus', 'day', 5 * USD, { model: 'claude-opus-4*' }, 'agentSpend.budgets.rules[0]', true],
      ['Work', 'month', 200 * USD, { project: '/home/me/work/**', agent: 'codex' }, 'agentSpend.budgets.rules[1]', true],
    ]);
  });

  it('each invalid setting is named; only that budget is dropped, the rest keep working', () => {
    const s = settings({
      daily: -5,
      weekly: 'ten',
      monthly: 100,
      perSession: Number.NaN,
      warnAt: [80, -1, 'x', 100],
      weekStartsOn: 'funday',
      rules: [
        { name: 'Good', period: 'day', limitUSD: 3 },
        { name: 'Bad period', period: 'daily', limitUSD: 3 },
        { name: 'Negative', period: 'week', limitUSD: -3 },
        { name: 'Relative', period: 'day', limitUSD: 1, project: 'my-repo' },
        { name: 'Brackets', period: 'day', limitUSD: 1, project: '/work/[ab]' },
        { name: 'Stars', period: 'day', limitUSD: 1, project: '/work/a**' },
        { name: 'Who', period: 'day', limitUSD: 1, agent: 'claude' },
        { name: 'Typo', period: 'day', limitUSD: 1, projet: '/work' },
        'not a rule',
        { period: 'session', limitUSD: 1 },
        { name: 'No limit', period: 'month' },
        { name: 'Also good', period: 'session', limitUSD: 2, agent: 'codex' },
      ],
    });
    assert.deepEqual(s.budgets.map((b) => b.label), ['Monthly budget', 'Good', 'Also good']);
    assert.deepEqual(s.warnAt, [80, 100]);
    assert.equal(s.weekStartsOn, 1);
    const r = 'agentSpend.budgets.rules';
    assert.deepEqual(s.problems.map((p) => p.setting), [
      'agentSpend.budgets.daily',
      'agentSpend.budgets.weekly',
      'agentSpend.budgets.perSession',
      `${r}[1].period`,
      `${r}[2].limitUSD`,
      `${r}[3].project`,
      `${r}[4].project`,
      `${r}[5].project`,
      `${r}[6].agent`,
      `${r}[7].projet`,
      `${r}[8]`,
      `${r}[9].name`,
      `${r}[10].limitUSD`,
      'agentSpend.budgets.warnAt[1]',
      'agentSpend.budgets.warnAt[2]',
      'agentSpend.budgets.weekStartsOn',
    ]);
    const msg = (setting: string) => s.problems.find((p) => p.setting === setting)!.message;
    assert.match(msg('agentSpend.budgets.daily'), /must not be negative \(got -5\)/);
    assert.match(msg('agentSpend.budgets.weekly'), /must be a number of US dollars.*got "ten"/);
    assert.match(msg(`${r}[1].period`), /must be "day", "week", "month" or "session" \(got "daily"; did you mean "day"\?\); this rule is ignored/);
    assert.match(msg(`${r}[3].project`), /absolute folder path or a glob/);
    assert.match(msg(`${r}[4].project`), /only the wildcards \*, \*\* and \?/);
    assert.match(msg(`${r}[5].project`), /\*\* must be a whole path segment/);
    assert.match(msg(`${r}[6].agent`), /must be one of "claude-code", "codex"/);
    assert.match(msg('agentSpend.budgets.weekStartsOn'), /"monday" … "sunday".*weeks start on Monday/);
  });

  it('rules, warnAt and weekStartsOn of the wrong type fall back with a problem', () => {
    const s = settings({ daily: 1, rules: { name: 'x' }, warnAt: 80, weekStartsOn: 9 });
    assert.equal(s.budgets.length, 1);
    assert.deepEqual(s.warnAt, [80, 100]);
    assert.deepEqual(s.problems.map((p) => p.setting), ['agentSpend.budgets.rules', 'agentSpend.budgets.warnAt', 'agentSpend.budgets.weekStartsOn']);
  });

  it('a duplicate rule is counted once; ids are stable across reordering and change with the limit', () => {
    const a = { name: 'A', period: 'day', limitUSD: 1 };
    const b = { name: 'B', period: 'week', limitUSD: 2, model: 'gpt-5*' };
    const s = settings({ rules: [a, b, { ...a }] });
    assert.deepEqual(s.budgets.map((x) => x.label), ['A', 'B']);
    assert.deepEqual(s.problems.map((p) => p.setting), ['agentSpend.budgets.rules[2]']);
    assert.match(s.problems[0]!.message, /same budget as agentSpend\.budgets\.rules\[0\]/);
    const reordered = settings({ rules: [b, a] });
    assert.deepEqual(reordered.budgets.map((x) => x.id).sort(), s.budgets.map((x) => x.id).sort());
    assert.notEqual(settings({ rules: [{ ...a, limitUSD: 2 }] }).budgets[0]!.id, s.budgets[0]!.id);
  });

  it('~ in a project is expanded with the home folder given, else reported', () => {
    const ok = parseBudgetSettings({ rules: [{ name: 'H', period: 'day', limitUSD: 1, project: '~/work/*' }] }, { homeDir: '/home/me/' });
    assert.deepEqual(ok.problems, []);
    assert.equal(ok.budgets[0]!.scope.project, '/home/me/work/*');
    const bad = parseBudgetSettings({ rules: [{ name: 'H', period: 'day', limitUSD: 1, project: '~/work/*' }] });
    assert.deepEqual(bad.problems.map((p) => p.setting), ['agentSpend.budgets.rules[0].project']);
  });
});

describe('budgets: project globs', () => {
  const test = (pattern: string, path: string): boolean => {
    const c = compileProjectPattern(pattern);
    if ('error' in c) throw new Error(c.error);
    return c.regex.test(path.replace(/\\/g, '/'));
  };

  it('a plain path matches that folder and its subfolders, not a sibling with the same prefix', () => {
    assert.equal(test('/work/app', '/work/app'), true);
    assert.equal(test('/work/app/', '/work/app/packages/ui'), true);
    assert.equal(test('/work/app', '/work/app2'), false);
    assert.equal(test('/work/app', '/work'), false);
  });

  it('* and ? stay within a segment; ** spans folders', () => {
    assert.equal(test('/work/*', '/work/a'), true);
    assert.equal(test('/work/*', '/work/a/b'), true, 'subfolders of a match');
    assert.equal(test('/work/*', '/work'), false);
    assert.equal(test('/work/app-?', '/work/app-1'), true);
    assert.equal(test('/work/app-?', '/work/app-10'), false);
    assert.equal(test('/w*k/app', '/work/app'), true);
    assert.equal(test('/w*k/app', '/wo/rk/app'), false);
    assert.equal(test('**/agent-spend', '/home/me/src/agent-spend'), true);
    assert.equal(test('**/agent-spend', '/home/me/src/agent-spend-old'), false);
    assert.equal(test('/work/**/api', '/work/api'), true);
    assert.equal(test('/work/**/api', '/work/a/b/api/src'), true);
    assert.equal(test('/work/**/api', '/other/api'), false);
    assert.equal(test('**', '/anything/at/all'), true);
    assert.equal(test('/a.b/c', '/aXb/c'), false, 'regex characters are literal');
  });

  it('both separators, drive letters; case-sensitive', () => {
    assert.equal(test('C:\\Users\\me\\work\\**', 'C:\\Users\\me\\work\\app'), true);
    assert.equal(test('C:/Users/me/work', 'C:\\Users\\me\\work\\app'), true);
    assert.equal(test('/Work/App', '/work/app'), false);
  });
});

describe('budgets: periods', () => {
  it('midnight: yesterday\'s last millisecond is not today; the burn rate window reaches back', () => {
    const records = [rec({ timestamp: at(2026, 5, 12, 23, 59, 59, 999), costNanos: 3 * USD }), rec({ timestamp: at(2026, 5, 13, 0, 0), costNanos: 2 * USD })];
    const justBefore = evalOne(records, { daily: 10 }, at(2026, 5, 12, 23, 59, 59, 999));
    assert.equal(justBefore.spentNanos, 3 * USD);
    assert.equal(justBefore.period.key, 'd:2026-05-12');
    const after = evalOne(records, { daily: 10 }, at(2026, 5, 13, 0, 30));
    assert.equal(after.spentNanos, 2 * USD);
    assert.equal(after.period.start, at(2026, 5, 13));
    assert.equal(after.period.end, at(2026, 5, 14));
    assert.equal(after.period.key, 'd:2026-05-13');
    assert.equal(after.forecast.windowSpendNanos, 5 * USD, 'last hour includes 23:59');
  });

  it('week start follows the setting (Monday vs Sunday)', () => {
    // 2026-02-28 is a Saturday, 2026-03-01 a Sunday, 2026-03-02 a Monday.
    const records = [
      rec({ timestamp: at(2026, 2, 28, 12), costNanos: 1 * USD }),
      rec({ timestamp: at(2026, 3, 1, 12), costNanos: 2 * USD }),
      rec({ timestamp: at(2026, 3, 2, 12), costNanos: 4 * USD }),
      rec({ timestamp: at(2026, 3, 3, 9), costNanos: 8 * USD }),
    ];
    const now = at(2026, 3, 3, 12);
    const monday = evalOne(records, { weekly: 100 }, now, { warnAt: [80, 100], weekStartsOn: 1 });
    assert.equal(monday.spentNanos, 12 * USD);
    assert.equal(monday.period.start, at(2026, 3, 2));
    assert.equal(monday.period.end, at(2026, 3, 9));
    assert.equal(monday.period.key, 'w:2026-03-02');
    const sunday = evalOne(records, { weekly: 100, weekStartsOn: 'sunday' }, now, { warnAt: [80, 100], weekStartsOn: 0 });
    assert.equal(sunday.spentNanos, 14 * USD);
    assert.equal(sunday.period.key, 'w:2026-03-01');
    // On the start day itself, at midnight, the week is new.
    const onMonday = evalOne(records, { weekly: 100 }, at(2026, 3, 2, 0, 0));
    assert.equal(onMonday.spentNanos, 0);
    assert.equal(onMonday.period.key, 'w:2026-03-02');
    // A week that spans a month end.
    assert.deepEqual(periodBounds('week', at(2026, 3, 1, 12), 1), { start: at(2026, 2, 23), end: at(2026, 3, 2), key: 'w:2026-02-23' });
  });

  it('month end: the 31st to the 1st, and February (28 and 29 days)', () => {
    const records = [rec({ timestamp: at(2026, 1, 31, 23, 30), costNanos: 5 * USD }), rec({ timestamp: at(2026, 2, 1, 0, 5), costNanos: 1 * USD })];
    const jan = evalOne(records, { monthly: 100 }, at(2026, 1, 31, 23, 59));
    assert.equal(jan.spentNanos, 5 * USD);
    assert.equal(jan.period.key, 'm:2026-01');
    assert.equal(jan.period.end, at(2026, 2, 1));
    const feb = evalOne(records, { monthly: 100 }, at(2026, 2, 1, 0, 10));
    assert.equal(feb.spentNanos, 1 * USD);
    assert.equal(feb.period.key, 'm:2026-02');
    assert.equal(feb.period.end, at(2026, 3, 1));
    const feb2026 = periodBounds('month', at(2026, 2, 28, 23, 59), 1);
    assert.equal(feb2026.end, at(2026, 3, 1));
    assert.equal(Math.round((feb2026.end - feb2026.start) / (24 * HOUR)), 28);
    const feb2028 = periodBounds('month', at(2028, 2, 29, 12), 1);
    assert.equal(feb2028.key, 'm:2028-02');
    assert.equal(Math.round((feb2028.end - feb2028.start) / (24 * HOUR)), 29);
    assert.equal(periodBounds('day', at(2026, 12, 31, 18), 1).end, at(2027, 1, 1));
  });

  it('DST (America/New_York): 2026-03-08 has 23 hours, 2026-11-01 has 25; forecast uses real minutes', () => {
    withTZ('America/New_York', () => {
      // Spring forward: 02:00 EST → 03:00 EDT.
      const mar8 = periodBounds('day', Date.UTC(2026, 2, 8, 17), 1);
      assert.equal(mar8.key, 'd:2026-03-08');
      assert.equal(mar8.start, Date.UTC(2026, 2, 8, 5)); // 00:00 EST
      assert.equal(mar8.end, Date.UTC(2026, 2, 9, 4)); // 00:00 EDT
      assert.equal(mar8.end - mar8.start, 23 * HOUR);
      const records = [
        rec({ timestamp: Date.UTC(2026, 2, 8, 4, 59), costNanos: 7 * USD }), // Mar 7 23:59 EST
        rec({ timestamp: Date.UTC(2026, 2, 8, 5, 30), costNanos: 60 * USD }), // Mar 8 00:30 EST
      ];
      const now = Date.UTC(2026, 2, 8, 6); // 01:00 EST
      const st = evalOne(records, { daily: 10_000 }, now);
      assert.equal(st.spentNanos, 60 * USD);
      assert.equal(st.forecast.rateNanosPerMin, USD); // $60 over the last 60 min
      // 01:00 EST → 00:00 EDT next day is 22 real hours.
      assert.equal(st.forecast.projectedNanos, (60 + 22 * 60) * USD);
      // The week (Monday start) holding the spring change is 167 h long.
      const week = periodBounds('week', now, 1);
      assert.equal(week.key, 'w:2026-03-02');
      assert.equal(week.end - week.start, 167 * HOUR);

      // Fall back: 02:00 EDT → 01:00 EST; 01:30 happens twice and both count for Nov 1.
      const nov1 = periodBounds('day', Date.UTC(2026, 10, 1, 17), 1);
      assert.equal(nov1.key, 'd:2026-11-01');
      assert.equal(nov1.start, Date.UTC(2026, 10, 1, 4)); // 00:00 EDT
      assert.equal(nov1.end, Date.UTC(2026, 10, 2, 5)); // 00:00 EST
      assert.equal(nov1.end - nov1.start, 25 * HOUR);
      const fall = [
        rec({ timestamp: Date.UTC(2026, 10, 1, 5, 30), costNanos: 1 * USD }), // 01:30 EDT
        rec({ timestamp: Date.UTC(2026, 10, 1, 6, 30), costNanos: 2 * USD }), // 01:30 EST
        rec({ timestamp: Date.UTC(2026, 10, 2, 5, 0), costNanos: 4 * USD }), // Nov 2 00:00 EST
      ];
      const late = evalOne(fall, { daily: 100 }, Date.UTC(2026, 10, 2, 4, 59)); // Nov 1 23:59 EST
      assert.equal(late.spentNanos, 3 * USD);
      const sunday = periodBounds('week', Date.UTC(2026, 10, 1, 17), 0);
      assert.equal(sunday.key, 'w:2026-11-01');
      assert.equal(sunday.end - sunday.start, 169 * HOUR);
      const month = periodBounds('month', Date.UTC(2026, 10, 15), 1);
      assert.equal(month.start, Date.UTC(2026, 10, 1, 4));
      assert.equal(month.end, Date.UTC(2026, 11, 1, 5));
    });
  });
});

describe('budgets: evaluation', () => {
  it('scoped rules: agent, project glob, model wildcard', () => {
    const now = at(2026, 4, 15, 12);
    const t = at(2026, 4, 15, 10);
    const records = [
      rec({ timestamp: t, agent: 'claude-code', project: '/home/me/work/api', model: 'claude-opus-4-1-20250805', costNanos: 1 * USD }),
      rec({ timestamp: t, agent: 'claude-code', project: '/home/me/play/game', model: 'claude-sonnet-4-5', costNanos: 2 * USD }),
      rec({ timestamp: t, agent: 'codex', project: '/home/me/work/web', model: 'gpt-5-codex', costNanos: 4 * USD }),
      rec({ timestamp: t, agent: 'codex', project: 'C:\\Users\\me\\work\\tool', model: 'gpt-5', costNanos: 8 * USD }),
      rec({ timestamp: t, agent: 'gemini-cli', project: '', model: null, costNanos: 16 * USD }),
    ];
    const budgets = budgetsOf({
      daily: 100,
      rules: [
        { name: 'Codex', period: 'day', limitUSD: 100, agent: 'codex' },
        { name: 'Work', period: 'day', limitUSD: 100, project: '/home/me/work/**' },
        { name: 'Work anywhere', period: 'day', limitUSD: 100, project: '**/work/*' },
        { name: 'Opus', period: 'day', limitUSD: 100, model: 'Claude-Opus-4*' },
        { name: 'GPT-5 family', period: 'day', limitUSD: 100, model: 'gpt-5*', project: '/home/me' },
        { name: 'Exact model', period: 'day', limitUSD: 100, model: 'gpt-5' },
      ],
    });
    const spent = evaluateBudgets(records, budgets, now, OPTS).map((s) => [s.budget.label, s.spentNanos / USD]);
    assert.deepEqual(spent, [
      ['Daily budget', 31],
      ['Codex', 12],
      ['Work', 5],
      ['Work anywhere', 13],
      ['Opus', 1],
      ['GPT-5 family', 4],
      ['Exact model', 8],
    ]);
  });

  it('logged costs count instead of the estimate; unpriced requests are counted apart', () => {
    const t = at(2026, 4, 15, 10);
    const records = [
      rec({ timestamp: t, costNanos: 1 * USD }),
      rec({ timestamp: t, agent: 'cline', costNanos: 1 * USD, loggedCostUSD: 2.5 }),
      rec({ timestamp: t, agent: 'opencode', costNanos: null, loggedCostUSD: 0.5 }),
      rec({ timestamp: t, agent: 'aider', model: 'mystery', costNanos: null }),
      rec({ timestamp: t + 5 * HOUR, costNanos: 100 * USD }), // after now: ignored
    ];
    const st = evalOne(records, { daily: 10 }, at(2026, 4, 15, 12));
    assert.equal(st.spentNanos, 4 * USD);
    assert.equal(st.requests, 4);
    assert.equal(st.unpricedRequests, 1);
    assert.equal(st.loggedRequests, 2);
    assert.match(crossingMessage(st, 'en-US'), /\(\$4\.00 \+ 1 unpriced request\)/);
  });

  it('states and thresholds: ok below the lowest threshold, warn from it, over from 100 %', () => {
    const now = at(2026, 4, 15, 12);
    const opts = { warnAt: [50, 80, 100, 120], weekStartsOn: 1 };
    const state = (nanos: number) => {
      const s = evalOne([rec({ timestamp: at(2026, 4, 15, 9), costNanos: nanos })], { daily: 10 }, now, opts);
      return [s.state, s.threshold, Math.round(s.percent * 100) / 100];
    };
    assert.deepEqual(state(4.99 * USD), ['ok', undefined, 49.9]);
    assert.deepEqual(state(5 * USD), ['warn', 50, 50]);
    assert.deepEqual(state(8.5 * USD), ['warn', 80, 85]);
    assert.deepEqual(state(10 * USD), ['over', 100, 100]);
    assert.deepEqual(state(12.5 * USD), ['over', 120, 125]);
    // Only thresholds ≥ 100: no warn state.
    const s = evalOne([rec({ timestamp: at(2026, 4, 15, 9), costNanos: 9 * USD })], { daily: 10 }, now, { warnAt: [100], weekStartsOn: 1 });
    assert.equal(s.state, 'ok');
  });

  it('forecast: last-hour rate, projection to the end of the day, reachAt only before the period end', () => {
    const records = [
      rec({ timestamp: at(2026, 4, 15, 7), costNanos: 2 * USD }), // outside the last hour
      rec({ timestamp: at(2026, 4, 15, 9, 10), costNanos: 1 * USD }),
      rec({ timestamp: at(2026, 4, 15, 9, 50), costNanos: 2 * USD }),
    ];
    const now = at(2026, 4, 15, 10);
    const st = evalOne(records, { daily: 10 }, now);
    assert.equal(st.spentNanos, 5 * USD);
    assert.equal(st.forecast.windowMs, HOUR);
    assert.equal(st.forecast.rateNanosPerMin, 50_000_000); // $0.05/min
    assert.equal(st.forecast.projectedNanos, 47 * USD); // $5 + $0.05 × 840 min
    assert.equal(st.forecast.reachAt, at(2026, 4, 15, 11, 40)); // $5 left at $0.05/min = 100 min
    assert.equal(crossingMessage(st, 'en-GB'), 'Daily budget: 50% of US$10.00 spent (US$5.00); at this rate you reach the limit at 11:40');
    const big = evalOne(records, { daily: 100 }, now);
    assert.equal(big.forecast.reachAt, undefined, '$95 at $0.05/min is after midnight');
    const idle = evalOne(records, { daily: 10 }, at(2026, 4, 15, 18));
    assert.equal(idle.forecast.rateNanosPerMin, 0);
    assert.equal(idle.forecast.projectedNanos, 5 * USD);
    assert.equal(idle.forecast.reachAt, undefined);
    const over = evalOne(records, { daily: 4 }, now);
    assert.equal(over.forecast.reachAt, undefined, 'already over');
  });

  it('forecast windows: weekly = last 24 h, monthly = last 7 days, reachAt on a later day', () => {
    const now = at(2026, 4, 15, 12); // Wednesday
    const records = [
      rec({ timestamp: at(2026, 4, 14, 13), costNanos: 24 * USD }), // within 24 h
      rec({ timestamp: at(2026, 4, 10, 12), costNanos: 24 * 6 * USD }), // within 7 days, before this week
    ];
    const [weekly, monthly] = evaluateBudgets(records, budgetsOf({ weekly: 100, monthly: 1000 }), now, OPTS);
    assert.equal(weekly!.forecast.windowMs, 24 * HOUR);
    assert.equal(weekly!.forecast.rateNanosPerMin, USD / 60); // $24/day
    assert.equal(weekly!.spentNanos, 24 * USD);
    assert.equal(weekly!.forecast.reachAt, now + (76 / 24) * 24 * HOUR); // $76 left at $1/h
    assert.match(crossingMessage(weekly!, 'en-GB'), /reach the limit on Sat 16:00$/);
    assert.equal(monthly!.forecast.windowMs, 7 * 24 * HOUR);
    assert.equal(monthly!.forecast.rateNanosPerMin, (168 * USD) / (7 * 24 * 60)); // $1/h
    assert.equal(monthly!.spentNanos, 168 * USD);
    assert.equal(monthly!.forecast.projectedNanos, 168 * USD + (at(2026, 5, 1) - now) / HOUR * USD);
  });

  it('session budgets: each session of the last 24 h over a threshold, named, plus the live session', () => {
    const now = at(2026, 4, 15, 12);
    const records = [
      // A: codex, started 3 days ago, $4 then + $2 today → $6 of $5: over.
      rec({ timestamp: at(2026, 4, 12, 10), sessionId: 'aaaaaaaa-1111', agent: 'codex', project: '/work/api', costNanos: 4 * USD }),
      rec({ timestamp: at(2026, 4, 15, 10), sessionId: 'aaaaaaaa-1111', agent: 'codex', project: '/work/api', costNanos: 2 * USD }),
      // B: $4.2 → 84 %: warn.
      rec({ timestamp: at(2026, 4, 15, 9), sessionId: 'bbbbbbbb-2222', costNanos: 4.2 * USD }),
      // C: the live one, $1: ok but shown.
      rec({ timestamp: at(2026, 4, 15, 11, 50), sessionId: 'cccccccc-3333', costNanos: 1 * USD }),
      // D: $1, earlier: ok, not shown.
      rec({ timestamp: at(2026, 4, 15, 8), sessionId: 'dddddddd-4444', costNanos: 1 * USD }),
      // E: over, but idle for 30 h: not evaluated.
      rec({ timestamp: at(2026, 4, 14, 6), sessionId: 'eeeeeeee-5555', costNanos: 10 * USD }),
    ];
    const st = evaluateBudgets(records, budgetsOf({ perSession: 5 }), now, OPTS);
    assert.deepEqual(st.map((s) => [s.session!.sessionId, s.state, s.spentNanos / USD]), [
      ['aaaaaaaa-1111', 'over', 6],
      ['bbbbbbbb-2222', 'warn', 4.2],
      ['cccccccc-3333', 'ok', 1],
    ]);
    const a = st[0]!;
    assert.deepEqual(a.session, { sessionId: 'aaaaaaaa-1111', agent: 'codex', project: '/work/api', firstRequest: at(2026, 4, 12, 10), lastRequest: at(2026, 4, 15, 10) });
    assert.equal(a.period.key, 's:2026-04-12');
    assert.equal(a.period.end, null);
    assert.equal(a.forecast.projectedNanos, null);
    assert.equal(crossingMessage(a, 'en-US'), 'Session budget — Codex CLI session aaaaaaaa in api: 120% of $5.00 spent ($6.00)');
    // A scoped session rule only sees its agent's sessions; the live session is shown with its reachAt.
    const codexOnly = evaluateBudgets(records, budgetsOf({ rules: [{ name: 'Codex session', period: 'session', limitUSD: 10, agent: 'codex' }] }), now, OPTS);
    assert.deepEqual(codexOnly.map((s) => [s.session!.sessionId, s.state]), [['aaaaaaaa-1111', 'ok']]);
    const live = evaluateBudgets(records, budgetsOf({ perSession: 2 }), now, OPTS).find((s) => s.session!.sessionId === 'cccccccc-3333')!;
    assert.equal(live.forecast.rateNanosPerMin, USD / 60);
    assert.equal(live.forecast.reachAt, now + 60 * MIN);
  });
});

describe('budgets: crossings', () => {
  const budgets = budgetsOf({ daily: 10 });
  const day = (d: number, h: number) => at(2026, 4, d, h);
  const statusAt = (records: RequestRecord[], now: number) => evaluateBudgets(records, budgets, now, OPTS);
  const reload = (s: Set<string>): Set<string> => new Set(JSON.parse(JSON.stringify([...s])) as string[]);

  it('one notification per threshold per period: no repeats, a higher one later, re-armed next day', () => {
    const records = [rec({ timestamp: day(15, 9), costNanos: 8.2 * USD })];
    let notified = new Set<string>();
    let r = detectCrossings(statusAt(records, day(15, 10)), notified, OPTS.warnAt, { locale: 'en-US' });
    assert.equal(r.crossings.length, 1);
    assert.equal(r.crossings[0]!.threshold, 80);
    assert.equal(r.crossings[0]!.severity, 'warn');
    assert.equal(r.crossings[0]!.message, 'Daily budget: 82% of $10.00 spent ($8.20)');
    notified = r.notified;
    // Repeated evaluations, a reload (the persisted set), a second window: nothing new.
    for (const now of [day(15, 10), day(15, 11), day(15, 23)]) {
      r = detectCrossings(statusAt(records, now), reload(notified), OPTS.warnAt);
      assert.equal(r.crossings.length, 0);
      notified = r.notified;
    }
    // More spend: 100 % fires once.
    records.push(rec({ timestamp: day(15, 12), costNanos: 2 * USD }));
    r = detectCrossings(statusAt(records, day(15, 13)), notified, OPTS.warnAt);
    assert.deepEqual(r.crossings.map((c) => [c.threshold, c.severity]), [[100, 'over']]);
    notified = r.notified;
    assert.equal(detectCrossings(statusAt(records, day(15, 14)), reload(notified), OPTS.warnAt).crossings.length, 0);
    // Next day: re-armed.
    records.push(rec({ timestamp: day(16, 9), costNanos: 9 * USD }));
    r = detectCrossings(statusAt(records, day(16, 10)), notified, OPTS.warnAt);
    assert.deepEqual(r.crossings.map((c) => c.threshold), [80]);
    assert.ok(r.crossings[0]!.key.startsWith('d:2026-04-16|80|'));
  });

  it('jumping past several thresholds at once gives one notification (the highest); lower ones are marked', () => {
    const records = [rec({ timestamp: day(15, 9), costNanos: 10.5 * USD })];
    const first = detectCrossings(statusAt(records, day(15, 10)), new Set(), OPTS.warnAt);
    assert.deepEqual(first.crossings.map((c) => c.threshold), [100]);
    assert.equal(first.notified.size, 2);
    // Spend lowered by a reprice to 85 %: the 80 % already counted, nothing fires.
    const lower = [rec({ timestamp: day(15, 9), costNanos: 8.5 * USD })];
    assert.equal(detectCrossings(statusAt(lower, day(15, 10)), first.notified, OPTS.warnAt).crossings.length, 0);
    // A threshold added later below one already notified does not fire either.
    assert.equal(detectCrossings(statusAt(records, day(15, 11)), first.notified, [80, 90, 100]).crossings.length, 0);
  });

  it('the input set is not modified; nothing fires below the lowest threshold or with warnAt []', () => {
    const records = [rec({ timestamp: day(15, 9), costNanos: 7 * USD })];
    const notified = new Set<string>();
    assert.equal(detectCrossings(statusAt(records, day(15, 10)), notified, OPTS.warnAt).crossings.length, 0);
    const high = [rec({ timestamp: day(15, 9), costNanos: 12 * USD })];
    const r = detectCrossings(statusAt(high, day(15, 10)), notified, []);
    assert.equal(r.crossings.length, 0);
    assert.equal(notified.size, 0);
  });

  it('session crossings are per session and name the session and its agent', () => {
    const sb = budgetsOf({ perSession: 5 });
    const records = [
      rec({ timestamp: day(15, 9), sessionId: 'one-session', agent: 'claude-code', project: '/work/app', costNanos: 4.5 * USD }),
      rec({ timestamp: day(15, 9), sessionId: 'two-session', agent: 'gemini-cli', project: '/work/site', costNanos: 6 * USD }),
    ];
    const r = detectCrossings(evaluateBudgets(records, sb, day(15, 10), OPTS), new Set(), OPTS.warnAt, { locale: 'en-US' });
    assert.deepEqual(r.crossings.map((c) => c.message), [
      'Session budget — Gemini CLI session two-sess in site: 120% of $5.00 spent ($6.00)',
      'Session budget — Claude Code session one-sess in app: 90% of $5.00 spent ($4.50)',
    ]);
    // The next day the same sessions are not re-armed (a session is one period).
    assert.equal(detectCrossings(evaluateBudgets(records, sb, day(16, 8), OPTS), r.notified, OPTS.warnAt).crossings.length, 0);
  });

  it('pruneNotified keeps the current periods and recent sessions only', () => {
    const records = [
      rec({ timestamp: day(15, 9), costNanos: 9 * USD }),
      rec({ timestamp: at(2026, 2, 1, 9), sessionId: 'long-running', costNanos: 9 * USD }),
      rec({ timestamp: day(15, 9), sessionId: 'long-running', costNanos: 1 * USD }),
    ];
    const bs = budgetsOf({ daily: 10, weekly: 10, monthly: 10, perSession: 5 });
    const st = evaluateBudgets(records, bs, day(15, 10), OPTS);
    const { notified } = detectCrossings(st, new Set(), OPTS.warnAt);
    const old = ['d:2026-04-14|80|x', 'w:2026-04-06|80|x', 'm:2026-03|80|x', 's:2026-03-01|80|x|some-session', 'garbage'];
    const all = new Set([...notified, ...old]);
    const sameDay = pruneNotified(all, day(15, 23), 1, st);
    assert.deepEqual([...sameDay].sort(), [...notified].sort());
    assert.ok([...sameDay].some((k) => k.startsWith('s:2026-02-01|')), 'a session still evaluated is kept though older than 30 days');
    // Next Monday, nothing evaluated: this month's keys and the recent session's; not the 30+ days old session.
    const later = pruneNotified(all, day(20, 0), 1, []);
    assert.deepEqual([...later].sort(), [...notified].filter((k) => k.startsWith('m:2026-04|') || k.startsWith('s:2026-04-15|')).sort());
    assert.equal(later.size, 4);
  });

  it('notification keys: period key, threshold, budget id, session id', () => {
    const st = evaluateBudgets([rec({ timestamp: day(15, 9), costNanos: 9 * USD })], budgets, day(15, 10), OPTS)[0]!;
    assert.equal(notificationKey(st, 80), `d:2026-04-15|80|${budgets[0]!.id}`);
  });
});

describe('budgets: tooltip lines', () => {
  it('progress bar, spend, forecast sentence and the method line', () => {
    assert.equal(progressBar(62), '▓▓▓▓▓▓░░░░');
    assert.equal(progressBar(0), '░░░░░░░░░░');
    assert.equal(progressBar(99.9), '▓▓▓▓▓▓▓▓▓░');
    assert.equal(progressBar(250), '▓▓▓▓▓▓▓▓▓▓');
    const records = [
      rec({ timestamp: at(2026, 4, 15, 7), costNanos: 3.2 * USD, model: null, agent: 'aider' }),
      rec({ timestamp: at(2026, 4, 15, 9, 30), costNanos: 3 * USD }),
      rec({ timestamp: at(2026, 4, 15, 9, 40), costNanos: null }),
    ];
    const bs = budgetsOf({ daily: 10, monthly: 5, rules: [{ name: 'Side_project [x]', period: 'week', limitUSD: 100, project: '/nowhere' }] });
    const lines = budgetLines(evaluateBudgets(records, bs, at(2026, 4, 15, 10), OPTS), 'en-GB');
    const text = lines.join('\n');
    assert.match(text, /^\*\*Budgets\*\*/);
    assert.ok(text.includes('**Daily budget** `▓▓▓▓▓▓░░░░` 62% — US$6.20 + 1 unpriced request not counted of US$10.00 today'), text);
    assert.match(text, /At this rate \(.*3\.00\/h over the last hour\) you reach the limit at 11:16; about .*48\.20 by the end of the day\./);
    assert.match(text, /\$\(error\) \*\*Monthly budget\*\*/);
    assert.match(text, /Over the limit by .*1\.20; at this rate/);
    assert.ok(text.includes('**Side\\_project \\[x\\] \\(weekly budget\\)**'), 'names are escaped');
    assert.match(text, /No spend in the last 24 h: .*0\.00 by the end of the week if it stays so\./);
    assert.match(lines[lines.length - 2]!, /^_Forecast: the in-scope spend rate of the last hour/);
    assert.deepEqual(budgetLines([], 'en-GB'), []);
  });
});
