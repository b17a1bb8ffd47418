import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import type { UsageEvent } from '../../src/core/events';
import { Ledger, localDayKey } from '../../src/core/ledger';
import {
  basisOf, breakdown, buildForest, csvField, dayKeysAt, exportView, flattenView, PanelModel, resolveRange, subagentRowId, sumDays, sumRoots,
  timeline, toCsv, viewFilterOf, type ExportRow,
} from '../../src/core/viewModel';
import { defaultViewState, HostMessageSchema, type DayEntry, type SessionRow, type ViewState } from '../../src/shared/protocol';
import { tokens } from './helpers';

/** 1 nano-USD per token of any kind; model "free-unknown" is unpriced. */
const pricer = {
  priceNanos: (model: string | null, t: { input: number; output: number; cacheRead: number }) =>
    model === null || model === 'free-unknown' ? null : t.input + t.output + t.cacheRead,
};

const T0 = new Date(2026, 10, 20, 10, 0, 0).getTime(); // a local Friday morning
const MIN = 60_000;
const DAY = 86_400_000;

function ev(p: Partial<UsageEvent> & { key: string }): UsageEvent {
  return { agent: 'claude-code', sessionId: 's1', project: '/home/u/alpha', model: 'm-a', timestamp: T0, tokens: tokens({ output: 10 }), file: '/logs/s1.jsonl', ...p };
}

const XSS = '<img src=x onerror=alert(1)> </script><script>alert(2)</script>';

/** Two Claude sessions (one with two subagents and prompts), a Codex session with a child session. */
function fixtureLedger(): Ledger {
  const l = new Ledger(pricer);
  l.addPrompt({ key: 'p1', sessionId: 's1', timestamp: T0 - MIN, text: `${XSS}\nsecond line`, file: '/logs/s1.jsonl' });
  l.add(ev({ key: 'a1', timestamp: T0, tokens: tokens({ input: 100, output: 50 }) }));
  l.add(ev({ key: 'a2', timestamp: T0 + MIN, tokens: tokens({ output: 30, cacheRead: 20 }), subagentId: 'agent-1', sidechain: true, file: '/logs/s1/subagents/agent-1.jsonl' }));
  l.addPrompt({ key: 'p2', sessionId: 's1', timestamp: T0 + 5 * MIN, text: 'Now add tests', file: '/logs/s1.jsonl' });
  l.add(ev({ key: 'a3', timestamp: T0 + 6 * MIN, tokens: tokens({ output: 200 }), model: 'm-b' }));
  l.add(ev({ key: 'a4', timestamp: T0 + 7 * MIN, tokens: tokens({ output: 5 }), subagentId: 'agent-2', sidechain: true, file: '/logs/s1/subagents/agent-2.jsonl' }));
  l.add(ev({ key: 'b1', sessionId: 's2', project: '/home/u/beta', branch: 'feature/x', timestamp: T0 - DAY, tokens: tokens({ output: 1000 }), file: '/logs/s2.jsonl' }));
  l.add(ev({ key: 'c1', agent: 'codex', sessionId: 'c-parent', project: '/home/u/gamma', model: 'gpt-x', timestamp: T0 - 2 * DAY, tokens: tokens({ input: 400 }), file: '/codex/p.jsonl' }));
  l.add(ev({ key: 'c2', agent: 'codex', sessionId: 'c-child', parentSessionId: 'c-parent', project: '/home/u/gamma', model: null, timestamp: T0 - 2 * DAY + MIN, tokens: tokens({ input: 7 }), file: '/codex/c.jsonl' }));
  return l;
}

function byId(rows: readonly SessionRow[]): Map<string, SessionRow> {
  return new Map(rows.map((r) => [r.id, r]));
}

/** What a model says, independent of order (to compare incremental and rebuilt models). */
function canonical(m: PanelModel) {
  return {
    rows: m.allRows().sort((a, b) => (a.id < b.id ? -1 : 1)),
    days: m.allDays(),
  };
}

describe('view model: ledger → rows', () => {
  it('one row per session and per subagent, own figures, subagents and child sessions under their parent', () => {
    const l = fixtureLedger();
    const m = new PanelModel(l);
    const rows = byId(m.allRows());
    assert.deepEqual([...rows.keys()].sort(), ['c-child', 'c-parent', 's1', subagentRowId('s1', 'agent-1'), subagentRowId('s1', 'agent-2'), 's2'].sort());
    const s1 = rows.get('s1')!;
    assert.equal(s1.requests, 2); // a1 + a3, the subagents' requests are theirs
    assert.equal(s1.spendNanos, 150 + 200);
    assert.deepEqual(s1.models, ['m-a', 'm-b']);
    assert.equal(s1.parentId, undefined);
    const sub1 = rows.get(subagentRowId('s1', 'agent-1'))!;
    assert.equal(sub1.parentId, 's1');
    assert.equal(sub1.subagentId, 'agent-1');
    assert.equal(sub1.spendNanos, 50);
    assert.equal(rows.get('s2')!.branch, 'feature/x');
    assert.equal(rows.get('s2')!.firstDay, localDayKey(T0 - DAY));
    const child = rows.get('c-child')!;
    assert.equal(child.parentId, 'c-parent');
    assert.equal(child.unpricedRequests, 1);
    assert.equal(basisOf(child), 'none');
    // every request once: rows add up to the ledger
    const all = m.allRows();
    assert.equal(all.reduce((s, r) => s + r.spendNanos, 0), l.totals.spendNanos);
    assert.equal(all.reduce((s, r) => s + r.requests, 0), l.totals.requests);
    // and so do the days (by agent and by model alike)
    const days = m.allDays();
    assert.equal(sumDays(days, '0000-01-01', '9999-12-31').spendNanos, l.totals.spendNanos);
    assert.equal(days.flatMap((d) => d.models).reduce((s, c) => s + c.spendNanos, 0), l.totals.spendNanos);
    assert.deepEqual(days.map((d) => d.day), [localDayKey(T0 - 2 * DAY), localDayKey(T0 - DAY), localDayKey(T0)]);
  });

  it('the whole state it produces is a valid host message', () => {
    const m = new PanelModel(fixtureLedger());
    const msg = { type: 'state', seq: 0, locale: 'en', now: T0, dayKeys: dayKeysAt(T0), rows: m.allRows(), days: m.allDays(), viewState: defaultViewState() };
    const r = HostMessageSchema.safeParse(msg);
    assert.ok(r.success, JSON.stringify(r.error?.issues));
  });

  it('clips absurd log strings instead of posting a message the webview would reject', () => {
    const l = new Ledger(pricer);
    l.add(ev({ key: 'x', project: '/' + 'p'.repeat(10_000), branch: 'b'.repeat(5_000), model: 'm'.repeat(2_000) }));
    const m = new PanelModel(l);
    const msg = { type: 'state', seq: 0, locale: 'en', now: T0, dayKeys: dayKeysAt(T0), rows: m.allRows(), days: m.allDays() };
    assert.ok(HostMessageSchema.safeParse(msg).success);
    const d = m.detail('s1', new Set(l.tasks('s1').map((t) => t.id)))!;
    assert.ok(HostMessageSchema.safeParse({ type: 'detail', rowId: 's1', detail: d }).success);
  });

  it('an append changes only its session and its day', () => {
    const l = fixtureLedger();
    const m = new PanelModel(l);
    l.drainChangedSessions();
    l.add(ev({ key: 'a5', timestamp: T0 + 10 * MIN, tokens: tokens({ output: 1 }) }));
    const delta = m.apply(l.drainChangedSessions())!;
    assert.deepEqual(delta.upsert.map((r) => r.id).sort(), ['s1', subagentRowId('s1', 'agent-1'), subagentRowId('s1', 'agent-2')].sort());
    assert.deepEqual(delta.remove, []);
    assert.deepEqual(delta.days.map((d) => d.day), [localDayKey(T0)]);
    assert.equal(byId(delta.upsert).get('s1')!.requests, 3);
    assert.equal(m.apply(l.drainChangedSessions()), undefined, 'nothing changed since');
  });

  it('a request moving to an earlier session removes the rows that lost it', () => {
    const l = new Ledger(pricer);
    l.add(ev({ key: 'r', sessionId: 'late', timestamp: T0 }));
    const m = new PanelModel(l);
    l.drainChangedSessions();
    l.add(ev({ key: 'r', sessionId: 'early', timestamp: T0 - MIN })); // same request, earlier copy wins attribution
    const delta = m.apply(l.drainChangedSessions())!;
    assert.deepEqual(delta.remove, ['late']);
    assert.deepEqual(delta.upsert.map((r) => r.id), ['early']);
  });

  it('incremental updates equal a rebuild, whatever arrives in whatever order (property)', () => {
    const event = fc.record({
      key: fc.constantFrom('k1', 'k2', 'k3', 'k4', 'k5', 'k6'),
      sessionId: fc.constantFrom('s1', 's2', 's3'),
      sub: fc.option(fc.constantFrom('ag1', 'ag2'), { nil: undefined }),
      parent: fc.option(fc.constantFrom('s1', 's2'), { nil: undefined }),
      minute: fc.integer({ min: -3000, max: 3000 }),
      output: fc.integer({ min: 0, max: 50 }),
      model: fc.constantFrom('m-a', 'm-b', 'free-unknown', null),
      logged: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
    });
    fc.assert(fc.property(fc.array(fc.array(event, { maxLength: 6 }), { maxLength: 6 }), (batches) => {
      const l = new Ledger(pricer);
      const m = new PanelModel(l);
      for (const batch of batches) {
        for (const e of batch) {
          const u = ev({ key: e.key, sessionId: e.sessionId, timestamp: T0 + e.minute * MIN, tokens: tokens({ output: e.output }), model: e.model });
          if (e.sub) u.subagentId = e.sub;
          if (e.parent && e.parent !== e.sessionId) u.parentSessionId = e.parent;
          if (e.logged !== undefined) u.loggedCostUSD = e.logged / 1e9;
          l.add(u);
        }
        m.apply(l.drainChangedSessions());
      }
      assert.deepEqual(canonical(m), canonical(new PanelModel(l)));
    }), { numRuns: 200 });
  });
});

describe('view model: output versus spend', () => {
  const edits = [
    { kind: 'edit' as const, agent: 'claude-code' as const, key: 'e1', sessionId: 's1', timestamp: T0, file: '/log', path: '/w/a.ts', linesAdded: 30, linesRemoved: 10, exact: true },
    { kind: 'edit' as const, agent: 'claude-code' as const, key: 'e2', sessionId: 's1', timestamp: T0, file: '/log', path: '/w/b.ts', linesAdded: 10, linesRemoved: 0, exact: true },
    { kind: 'edit' as const, agent: 'claude-code' as const, key: 'e3', sessionId: 's1', timestamp: T0, file: '/log', path: '/w/c.ts', linesAdded: 99, linesRemoved: 99, exact: true, failed: true },
  ];

  it('a session row carries its edits: lines, files, and the whole session\'s cost per 100 changed lines', () => {
    const l = fixtureLedger();
    l.addAll(edits);
    const rows = byId(new PanelModel(l).allRows());
    const s1 = rows.get('s1')!;
    assert.equal(s1.linesAdded, 40, 'failed edits do not count');
    assert.equal(s1.linesRemoved, 10);
    assert.equal(s1.filesTouched, 2);
    // spend of the whole session (own 350 + subagents 50 + 5) over 50 changed lines, per 100
    assert.equal(s1.costPer100Lines, Math.round((405 * 100) / 50));
    assert.equal(s1.commits, null, 'no git facts: unknown, not 0');
    assert.equal(s1.survivingShare, null);
    assert.equal(s1.noOutput, false);
    // a subagent row has no output figures of its own (its session's row counts them)
    const sub = rows.get(subagentRowId('s1', 'agent-1'))!;
    assert.deepEqual([sub.linesAdded, sub.filesTouched, sub.commits, sub.costPer100Lines, sub.noOutput], [null, null, null, null, false]);
    // a tracked agent's session without edits: 0 lines, no cost per 100 lines
    const s2 = rows.get('s2')!;
    assert.deepEqual([s2.linesAdded, s2.linesRemoved, s2.filesTouched, s2.costPer100Lines], [0, 0, 0, null]);
  });

  it('agents whose edits are not read have null lines and files, and are never flagged', () => {
    const l = new Ledger(pricer);
    l.add(ev({ key: 'g1', agent: 'gemini-cli', sessionId: 'g', tokens: tokens({ output: 10_000_000_000 }) }));
    const g = new PanelModel(l, undefined, { thresholdUSD: () => 1 }).row('g')!;
    assert.deepEqual([g.linesAdded, g.linesRemoved, g.filesTouched, g.costPer100Lines, g.noOutput], [null, null, null, null, false]);
  });

  it('"spend without output": above the threshold, no line changed and no commit', () => {
    const l = new Ledger(pricer);
    // s-big costs $10 (1 nano-USD per token), s-small $1; neither edited anything
    l.add(ev({ key: 'x1', sessionId: 's-big', tokens: tokens({ output: 10_000_000_000 }) }));
    l.add(ev({ key: 'x2', sessionId: 's-small', tokens: tokens({ output: 1_000_000_000 }) }));
    l.add(ev({ key: 'x3', agent: 'codex', sessionId: 's-commit', tokens: tokens({ output: 10_000_000_000 }) }));
    l.add(ev({ key: 'x4', sessionId: 's-edit', tokens: tokens({ output: 10_000_000_000 }) }));
    l.addAll([{ ...edits[0]!, key: 'ed', sessionId: 's-edit' }]);
    const facts: Record<string, { commits: number; survivingLines: number | null } | null> = { 's-commit': { commits: 2, survivingLines: null }, 's-big': null };
    const m = new PanelModel(l, undefined, { gitFacts: (id) => facts[id], thresholdUSD: () => 5 });
    assert.equal(m.row('s-big')!.noOutput, true, 'git unknown: no commit known');
    assert.equal(m.row('s-big')!.commits, null);
    assert.equal(m.row('s-small')!.noOutput, false, 'below the threshold');
    assert.equal(m.row('s-commit')!.noOutput, false, 'it committed');
    assert.equal(m.row('s-commit')!.commits, 2);
    assert.equal(m.row('s-edit')!.noOutput, false, 'it changed lines');
    // the default threshold is $5; a higher one unflags
    assert.equal(new PanelModel(l).row('s-big')!.noOutput, true);
    assert.equal(new PanelModel(l, undefined, { thresholdUSD: () => 20 }).row('s-big')!.noOutput, false);
    // surviving share from git's surviving lines
    facts['s-edit'] = { commits: 1, survivingLines: 15 };
    assert.equal(new PanelModel(l, undefined, { gitFacts: (id) => facts[id] }).row('s-edit')!.survivingShare, 0.5);
    // every row is still a valid message
    assert.ok(HostMessageSchema.safeParse({ type: 'state', seq: 0, locale: 'en', now: T0, dayKeys: dayKeysAt(T0), rows: m.allRows(), days: m.allDays() }).success);
  });

  it('edits and git facts arriving later re-post the session\'s rows (incremental = rebuild)', () => {
    const l = fixtureLedger();
    let facts: { commits: number; survivingLines: number | null } | undefined;
    const src = { gitFacts: (id: string) => (id === 's2' ? facts : undefined) };
    const m = new PanelModel(l, undefined, src);
    l.drainChangedSessions();
    l.addAll(edits);
    const delta = m.apply(l.drainChangedSessions())!;
    assert.equal(byId(delta.upsert).get('s1')!.linesAdded, 40);
    facts = { commits: 3, survivingLines: null };
    const gitDelta = m.apply(['s2'])!;
    assert.deepEqual(gitDelta.upsert.map((r) => [r.id, r.commits]), [['s2', 3]]);
    assert.deepEqual(canonical(m), canonical(new PanelModel(l, undefined, src)));
  });

  it('sorts by lines, files, commits and cost per 100 lines, unknown last', () => {
    const l = fixtureLedger();
    l.addAll(edits);
    const forest = buildForest(new PanelModel(l).allRows());
    const ids = (key: 'lines' | 'files' | 'costPer100Lines') => flattenView(forest, {}, { key, dir: 'desc' }, new Set()).map((r) => r.node.row.id);
    assert.deepEqual(ids('lines'), ['s1', 's2', 'c-parent']);
    assert.deepEqual(ids('files'), ['s1', 's2', 'c-parent']);
    assert.equal(ids('costPer100Lines')[0], 's1');
  });
});

describe('view model: session detail and tasks', () => {
  it('tasks are prompts with their work (subagents included), titles are the first line as given', () => {
    const l = fixtureLedger();
    // the agent edited two files in the first task (one of them twice)
    l.addAll([
      { kind: 'edit', agent: 'claude-code', key: 'e1', sessionId: 's1', timestamp: T0, file: '/log', path: '/w/a.ts', linesAdded: 3, linesRemoved: 1, exact: true },
      { kind: 'edit', agent: 'claude-code', key: 'e2', sessionId: 's1', timestamp: T0, file: '/log', path: '/w/a.ts', linesAdded: 1, linesRemoved: 0, exact: true },
      { kind: 'edit', agent: 'claude-code', key: 'e3', sessionId: 's1', timestamp: T0, file: '/log', path: '/w/b.ts', linesAdded: 2, linesRemoved: 2, exact: true },
    ]);
    const m = new PanelModel(l);
    const d = m.detail('s1')!;
    assert.equal(d.tasks.length, 2);
    assert.equal(d.tasks[0]!.title, XSS);
    assert.equal(d.tasks[0]!.requests, 2); // a1 + subagent a2
    assert.equal(d.tasks[1]!.title, 'Now add tests');
    assert.equal(d.tasks[1]!.spendNanos, 205);
    assert.equal(d.tasks[0]!.filesTouched, 2);
    assert.equal(d.tasks[1]!.filesTouched, 0);
    assert.equal(d.tasks[0]!.start, T0 - MIN, 'a task starts with its prompt');
    assert.equal(d.requests, 4);
    assert.equal(d.subagents, 2);
    assert.equal(d.file, '/logs/s1.jsonl');
    assert.equal(d.tasks[0]!.requestList, undefined, 'requests only for expanded tasks');
    const expanded = m.detail('s1', new Set(['p2']))!;
    assert.equal(expanded.tasks[0]!.requestList, undefined);
    assert.deepEqual(expanded.tasks[1]!.requestList!.map((r) => [r.model, r.spendNanos, r.subagentId]), [['m-b', 200, undefined], ['m-a', 5, 'agent-2']]);
  });

  it('a subagent row has its own requests under the prompts that started them, and its own file', () => {
    const m = new PanelModel(fixtureLedger());
    const id = subagentRowId('s1', 'agent-2');
    const d = m.detail(id)!;
    assert.equal(d.subagentId, 'agent-2');
    assert.equal(d.requests, 1);
    assert.deepEqual(d.tasks.map((t) => t.title), ['Now add tests']);
    assert.equal(m.fileOf(id), '/logs/s1/subagents/agent-2.jsonl');
    assert.equal(m.fileOf('s1'), '/logs/s1.jsonl');
    assert.equal(m.detail('nope'), undefined);
  });

  it('a session without prompts is one untitled task', () => {
    const d = new PanelModel(fixtureLedger()).detail('s2')!;
    assert.equal(d.tasks.length, 1);
    assert.equal(d.tasks[0]!.title, '');
    assert.equal(d.tasks[0]!.beforeFirstPrompt, false);
  });

  it('says so when a logged cost differs from the estimate by more than 5 %, not when within', () => {
    const l = new Ledger(pricer);
    l.add(ev({ key: 'x1', sessionId: 'off', agent: 'cline', tokens: tokens({ output: 1000 }), loggedCostUSD: 1200e-9 })); // +20 %
    l.add(ev({ key: 'y1', sessionId: 'near', agent: 'cline', tokens: tokens({ output: 1000 }), loggedCostUSD: 1040e-9 })); // +4 %
    l.add(ev({ key: 'z1', sessionId: 'est', tokens: tokens({ output: 1000 }) }));
    const m = new PanelModel(l);
    assert.deepEqual(m.detail('off')!.costCheck, { loggedNanos: 1200, estimateNanos: 1000, differencePercent: 20, requests: 1 });
    assert.equal(m.detail('near')!.costCheck, undefined);
    assert.equal(m.detail('est')!.costCheck, undefined);
    assert.equal(basisOf(m.row('off')!), 'logged');
    assert.equal(basisOf(m.row('est')!), 'estimated');
  });
});

describe('view model: tree, filters, sort', () => {
  const rows = () => new PanelModel(fixtureLedger()).allRows();
  const keys = dayKeysAt(T0);

  it('nests subagents and child sessions; parents carry their own and the combined cost', () => {
    const forest = buildForest(rows());
    const s1 = forest.find((n) => n.row.id === 's1')!;
    assert.equal(s1.children.length, 2);
    assert.equal(s1.row.spendNanos, 350);
    assert.equal(s1.combined.spendNanos, 350 + 50 + 5);
    assert.equal(s1.combined.requests, 4);
    const parent = forest.find((n) => n.row.id === 'c-parent')!;
    assert.deepEqual(parent.children.map((c) => c.row.id), ['c-child']);
    assert.equal(parent.combined.unpricedRequests, 1);
    assert.equal(basisOf(parent.combined), 'estimated');
    assert.equal(forest.length, 3);
  });

  it('a cycle or a missing parent makes a root, never a lost row', () => {
    const base = rows()[0]!;
    const a: SessionRow = { ...base, id: 'A', sessionId: 'A', parentId: 'B' };
    const b: SessionRow = { ...base, id: 'B', sessionId: 'B', parentId: 'A' };
    const c: SessionRow = { ...base, id: 'C', sessionId: 'C', parentId: 'gone' };
    const forest = buildForest([a, b, c]);
    const count = (ns: typeof forest): number => ns.reduce((s, n) => s + 1 + count(n.children), 0);
    assert.equal(count(forest), 3);
    assert.ok(forest.some((n) => n.row.id === 'C'));
  });

  it('flattens through expanded rows only, children after their parent', () => {
    const forest = buildForest(rows());
    const sort = { key: 'cost' as const, dir: 'desc' as const };
    // combined: s2 1000, s1 350 + 50 + 5 = 405, c-parent 400 (+ its unpriced child)
    const collapsed = flattenView(forest, {}, sort, new Set());
    assert.deepEqual(collapsed.map((r) => r.node.row.id), ['s2', 's1', 'c-parent']);
    const open = flattenView(forest, {}, sort, new Set(['s1']));
    assert.deepEqual(open.map((r) => [r.node.row.id, r.depth]), [['s2', 0], ['s1', 0], [subagentRowId('s1', 'agent-1'), 1], [subagentRowId('s1', 'agent-2'), 1], ['c-parent', 0]]);
    assert.equal(open[1]!.expanded, true);
    assert.equal(open[2]!.pos, 1);
    assert.equal(open[2]!.siblings, 2);
    assert.equal(open[4]!.expanded, false);
    assert.equal(open[4]!.hasChildren, true);
    const asc = flattenView(forest, {}, { key: 'cost', dir: 'asc' }, 'all');
    assert.deepEqual(asc.filter((r) => r.depth === 0).map((r) => r.node.row.id), ['c-parent', 's1', 's2']);
    assert.deepEqual(asc.slice(2, 5).map((r) => r.node.row.id), ['s1', subagentRowId('s1', 'agent-2'), subagentRowId('s1', 'agent-1')], 'children sorted too');
    assert.equal(sumRoots(asc).spendNanos, 405 + 1000 + 400);
  });

  it('sorts by every column without throwing, most recent first on ties', () => {
    const forest = buildForest(rows());
    for (const key of ['project', 'agent', 'branch', 'start', 'duration', 'models', 'requests', 'input', 'output', 'cacheWrite', 'cacheRead', 'cost', 'basis'] as const) {
      for (const dir of ['asc', 'desc'] as const) assert.equal(flattenView(forest, {}, { key, dir }, 'all').length, 6, key);
    }
    const byStart = flattenView(forest, {}, { key: 'start', dir: 'desc' }, new Set());
    assert.deepEqual(byStart.map((r) => r.node.row.id), ['s1', 's2', 'c-parent']);
    const byProject = flattenView(forest, {}, { key: 'project', dir: 'asc' }, new Set());
    assert.deepEqual(byProject.map((r) => r.node.row.id), ['s1', 's2', 'c-parent']); // alpha, beta, gamma
  });

  it('filters by agent, project, date range and text; a matching child keeps its tree', () => {
    const forest = buildForest(rows());
    const ids = (f: Parameters<typeof flattenView>[1]) => flattenView(forest, f, { key: 'start', dir: 'desc' }, new Set()).map((r) => r.node.row.id);
    assert.deepEqual(ids({ agent: 'codex' }), ['c-parent']);
    assert.deepEqual(ids({ project: '/home/u/beta' }), ['s2']);
    assert.deepEqual(ids({ text: 'FEATURE/' }), ['s2']);
    assert.deepEqual(ids({ text: 'agent-2' }), ['s1'], 'the subagent matches, its session is shown');
    assert.deepEqual(ids({ text: 'm-b' }), ['s1']);
    assert.deepEqual(ids({ from: localDayKey(T0), to: localDayKey(T0) }), ['s1']);
    assert.deepEqual(ids({ from: localDayKey(T0 - 2 * DAY), to: localDayKey(T0 - DAY) }), ['s2', 'c-parent']);
    assert.deepEqual(ids({ text: 'nothing like it' }), []);
  });

  it('range presets resolve against the host day keys', () => {
    assert.deepEqual(resolveRange({ preset: 'today' }, keys), { from: keys.today, to: keys.today });
    assert.deepEqual(resolveRange({ preset: '7d' }, { today: '2026-03-02', weekStart: '2026-03-02', monthStart: '2026-03-01' }), { from: '2026-02-24', to: '2026-03-02' });
    assert.deepEqual(resolveRange({ preset: 'all' }, keys, '2025-01-05'), { from: '2025-01-05', to: keys.today });
    assert.deepEqual(resolveRange({ preset: 'custom', from: '2026-02-10', to: '2026-02-01' }, keys), { from: '2026-02-01', to: '2026-02-10' });
    assert.equal(dayKeysAt(new Date(2026, 10, 22, 15).getTime()).weekStart, '2026-11-16'); // Sunday → the Monday before
    assert.equal(dayKeysAt(new Date(2026, 10, 23, 1).getTime()).weekStart, '2026-11-23'); // Monday
    assert.equal(dayKeysAt(new Date(2026, 10, 24, 23).getTime()).weekStart, '2026-11-23'); // Tuesday
    assert.equal(dayKeysAt(new Date(2026, 10, 24, 1).getTime()).monthStart, '2026-11-01');
    const all: ViewState = { ...defaultViewState(), range: { preset: 'all' } };
    assert.equal(viewFilterOf(all, keys).from, undefined);
  });
});

describe('view model: overview and timeline', () => {
  const days: DayEntry[] = [
    { day: '2026-11-01', agents: [{ key: 'claude-code', spendNanos: 5e9, requests: 5, unpricedRequests: 0, tokens: 50 }], models: [{ key: 'm1', spendNanos: 5e9, requests: 5, unpricedRequests: 0, tokens: 50 }] },
    { day: '2026-11-03', agents: [{ key: 'codex', spendNanos: 2e9, requests: 3, unpricedRequests: 1, tokens: 30 }, { key: 'claude-code', spendNanos: 1e9, requests: 1, unpricedRequests: 0, tokens: 5 }],
      models: [{ key: 'm2', spendNanos: 2e9, requests: 3, unpricedRequests: 1, tokens: 30 }, { key: 'm3', spendNanos: 1e9, requests: 1, unpricedRequests: 0, tokens: 5 }] },
  ];

  it('sums periods and breaks them down by agent and model', () => {
    assert.deepEqual(sumDays(days, '2026-11-01', '2026-11-30'), { spendNanos: 8e9, requests: 9, unpricedRequests: 1, tokens: 85 });
    assert.deepEqual(sumDays(days, '2026-11-02', '2026-11-02'), { spendNanos: 0, requests: 0, unpricedRequests: 0, tokens: 0 });
    assert.deepEqual(breakdown(days, '2026-11-01', '2026-11-30', 'agent').map((c) => [c.key, c.spendNanos]), [['claude-code', 6e9], ['codex', 2e9]]);
    assert.deepEqual(breakdown(days, '2026-11-02', '2026-11-03', 'model').map((c) => c.key), ['m2', 'm3']);
  });

  it('the timeline has every day of the range, a series per key, and "(other)" past the limit', () => {
    const map = new Map(days.map((d) => [d.day, d]));
    const t = timeline(map, '2026-10-31', '2026-11-03', 'agent');
    assert.deepEqual(t.days, ['2026-10-31', '2026-11-01', '2026-11-02', '2026-11-03']);
    assert.deepEqual(t.series.map((s) => [s.key, s.values]), [['claude-code', [0, 5e9, 0, 1e9]], ['codex', [0, 0, 0, 2e9]]]);
    assert.deepEqual(t.totals, [0, 5e9, 0, 3e9]);
    const capped = timeline(map, '2026-11-01', '2026-11-03', 'model', 2);
    assert.deepEqual(capped.series.map((s) => s.key), ['m1', '(other)']);
    assert.deepEqual(capped.series[1]!.values, [0, 0, 3e9]);
    assert.deepEqual(timeline(map, '2026-11-01', '2026-11-03', 'model', 2).totals, [5e9, 0, 3e9]);
  });
});

describe('view model: export', () => {
  it('CSV quotes fields and defuses spreadsheet formulas from log text', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('line\nbreak'), '"line\nbreak"');
    assert.equal(csvField('=HYPERLINK("http://x")'), '"\'=HYPERLINK(""http://x"")"');
    assert.equal(csvField('+1'), "'+1");
    assert.equal(csvField('@SUM(A1)'), "'@SUM(A1)");
    assert.equal(csvField(42), '42');
    const row: ExportRow = {
      sessionId: 's', agent: 'codex', project: '/p', start: '', end: '', durationSeconds: 0, models: ['a', 'b'], requests: 1, inputTokens: 1, outputTokens: 2,
      cacheWriteTokens: 0, cacheReadTokens: 0, reasoningTokens: 0, costUSD: 0.5, combinedCostUSD: 0.5, basis: 'estimated', estimatedUSD: 0.5, loggedUSD: 0, unpricedRequests: 0,
    };
    const csv = toCsv([row]);
    const [head, line] = csv.split('\r\n');
    assert.equal(head!.split(',').length, line!.split(',').length);
    assert.equal(line, 's,,,codex,/p,,,,0,a b,1,1,2,0,0,0,0.50,0.50,estimated,0.50,0.00,0');
  });

  it('exports the current view: filters and sort applied, subagent rows included', () => {
    const l = fixtureLedger();
    const m = new PanelModel(l);
    const keys = dayKeysAt(T0);
    const state: ViewState = { ...defaultViewState(), range: { preset: 'all' }, agent: 'claude-code', sort: { key: 'cost', dir: 'desc' } };
    const csv = exportView(m.allRows(), m.allDays(), state, keys, 'csv', T0);
    assert.equal(csv.sessions, 4); // s2, s1 and its two subagents
    const lines = csv.text.trim().split('\r\n');
    assert.equal(lines.length, 5);
    assert.match(lines[1]!, /^s2,/);
    assert.match(lines[2]!, /^s1,,,claude-code,/);
    assert.match(lines[3]!, /^s1,agent-1,s1,/);
    const json = JSON.parse(exportView(m.allRows(), m.allDays(), state, keys, 'json', T0).text);
    assert.equal(json.view.agent, 'claude-code');
    assert.equal(json.view.range, 'all');
    assert.equal(json.sessions.length, 4);
    assert.equal(json.totals.sessions, 2);
    assert.equal(json.totals.spendUSD, (1000 + 405) / 1e9);
    assert.equal(json.byAgent.length, 2, 'the range breakdown is of every agent');
    assert.equal(json.sessions[1].combinedCostUSD, 405 / 1e9);
    assert.equal(json.sessions[1].costUSD, 350 / 1e9);
  });
});

describe('view model: 10,000 sessions', () => {
  it('builds, filters and sorts fast enough to stay responsive', () => {
    const l = new Ledger(pricer);
    for (let i = 0; i < 10_000; i++) {
      for (let j = 0; j < 3; j++) {
        l.add(ev({ key: `k${i}-${j}`, sessionId: `sess-${i}`, project: `/home/u/proj-${i % 50}`, model: j === 2 ? 'm-b' : 'm-a', timestamp: T0 - i * 10 * MIN + j * MIN, tokens: tokens({ output: 10 + j }), ...(j === 2 && i % 10 === 0 ? { subagentId: 'sub' } : {}) }));
      }
    }
    let t = performance.now();
    const m = new PanelModel(l);
    const buildMs = performance.now() - t;
    t = performance.now();
    const forest = buildForest(m.allRows());
    const flat = flattenView(forest, { text: 'proj-1' }, { key: 'cost', dir: 'desc' }, new Set());
    const viewMs = performance.now() - t;
    l.drainChangedSessions();
    l.add(ev({ key: 'new', sessionId: 'sess-5', project: '/home/u/proj-5', timestamp: T0 + MIN }));
    t = performance.now();
    const delta = m.apply(l.drainChangedSessions())!;
    const applyMs = performance.now() - t;
    console.log(`      10,000 sessions: model ${buildMs.toFixed(0)} ms, tree+filter+sort ${viewMs.toFixed(0)} ms, one append ${applyMs.toFixed(2)} ms (${delta.upsert.length} row)`);
    assert.equal(m.rowCount, 11_000);
    assert.ok(flat.length > 0);
    assert.equal(delta.upsert.length, 1);
    assert.equal(delta.days.length, 1);
    assert.ok(buildMs < 5_000 && viewMs < 2_000 && applyMs < 50, 'far from interactive');
  });
});
