import * as assert from 'node:assert/strict';
import {
  clip, defaultViewState, LIMITS, NOW_ROWS_MAX, RECON_ROWS_MAX, parseHostMessage, parseViewState, parseWebviewMessage,
  type HostMessage, type SessionRow, type WebviewMessage,
} from '../../src/shared/protocol';

const row: SessionRow = {
  id: 's1', sessionId: 's1', agent: 'claude-code', project: '/home/u/p', firstDay: '2026-11-24', lastDay: '2026-11-24', models: ['claude-sonnet-4-5'],
  requests: 2, inputTokens: 10, outputTokens: 20, cacheWriteTokens: 0, cacheReadTokens: 5, reasoningTokens: 0,
  spendNanos: 1_500_000_000, costNanos: 1_500_000_000, loggedCostNanos: 0, loggedRequests: 0, unpricedRequests: 0, billedRequests: 0,
  start: 1_764_000_000_000, end: 1_764_000_060_000,
  linesAdded: 12, linesRemoved: 3, filesTouched: 2, commits: null, survivingShare: null, costPer100Lines: 10_000_000_000, noOutput: false,
};
const dayKeys = { today: '2026-11-24', weekStart: '2026-11-24', monthStart: '2026-11-01' };
const day = { day: '2026-11-24', agents: [{ key: 'claude-code', spendNanos: 1, requests: 1, unpricedRequests: 0, tokens: 3 }], models: [] };

const validHost: HostMessage[] = [
  { type: 'state', seq: 0, locale: 'de', now: 1, dayKeys, rows: [row], days: [day], viewState: defaultViewState() },
  { type: 'state', seq: 0, locale: 'en', now: 1, dayKeys, rows: [], days: [] },
  { type: 'update', seq: 3, now: 2, dayKeys, upsert: [{ ...row, subagentId: 'a', parentId: 's0', id: 's1#agent:a', branch: 'main' }], remove: ['x'], days: [{ day: '2026-11-23', agents: [], models: [] }] },
  { type: 'detail', rowId: 's1', detail: null },
  {
    type: 'reconciliation',
    rows: [
      { provider: 'anthropic', date: '2026-11-24', billedNanos: 2_100_000_000, estimatedNanos: 2_000_000_000, diffNanos: 100_000_000, diffPercent: 5, agents: ['claude-code', 'opencode'], requests: 2, unpricedRequests: 0, final: false, status: 'ok' },
      { provider: 'openai', date: '2026-11-23', billedNanos: null, estimatedNanos: 0, diffNanos: null, diffPercent: null, agents: [], requests: 0, unpricedRequests: 0, final: true, status: 'offline' },
    ],
    providers: [
      { provider: 'anthropic', status: 'ok', ageMs: 60_000, message: null },
      { provider: 'openai', status: 'offline', ageMs: null, message: 'request timed out' },
    ],
  },
  { type: 'reconciliation', rows: [], providers: [] },
  {
    type: 'detail', rowId: 's1', detail: {
      ...row, rowId: 's1', file: '/logs/s1.jsonl', subagents: 0,
      costCheck: { loggedNanos: 12, estimateNanos: 10, differencePercent: 20, requests: 1 },
      tasks: [{
        ...row, id: 'p1', title: '<img src=x onerror=alert(1)>', beforeFirstPrompt: false, filesTouched: null,
        requestList: [{ timestamp: 1, model: 'm', inputTokens: 1, outputTokens: 2, cacheWriteTokens: 0, cacheReadTokens: 0, reasoningTokens: 0, spendNanos: null, basis: 'none' }],
      }],
    },
  },
  { type: 'now', view: { now: 1, running: 0, idle: 0, sessions: [], moreSessions: 0, emptyText: 'No agent is running.', limits: [], plansHint: 'Add agentSpend.plans' } },
  {
    type: 'now', view: {
      now: 1, running: 1, idle: 0, moreSessions: 0, emptyText: '', plansHint: '',
      sessions: [{
        sessionId: 's1', agent: 'claude-code', agentLabel: 'Claude Code', project: 'p', projectPath: '/home/u/p', model: '<b>m</b>', state: 'running',
        startedAt: 1, lastActivity: 2, ageText: '12m', lastActivityText: '12 s ago', spendNanos: 1, unpricedRequests: 1, costText: '<$0.01+',
        burnNanosPerHour: 0, burnText: '—', context: { percent: 46, text: '46%', tokensText: '92k of 200k tokens', source: 'statusline', sourceLabel: 'from Claude Code', warn: false },
      }],
      limits: [
        { agent: 'claude-code', agentLabel: 'Claude Code', source: 'statusline', sourceLabel: 'from the status line', observedText: 'just now', planType: '',
          windows: [{ kind: 'five-hour', label: '5h', name: '5-hour', percent: 42, percentText: '42%', resetText: 'resets in 2h', level: 'ok' }, { kind: 'weekly', label: '7d', name: 'weekly', percent: null, percentText: 'reset', resetText: 'reset', level: 'ok' }] },
        { agent: 'claude-code', agentLabel: 'Claude Code', source: 'estimated', sourceLabel: 'estimate, not a real limit', observedText: 'just now', planType: '', windows: [],
          estimate: { spendText: '$1.00', usageText: '1k tokens', resetText: 'resets in 4h', budgetPercent: null, budgetText: '' } },
      ],
      plans: [{ agent: 'claude-code', agentLabel: 'Claude Code', name: 'Max', priceText: '$200/month', setting: 'agentSpend.plans[0]', sentence: 's',
        current: { month: '2026-11', label: 'Nov 2026', pricedNanos: 1, pricedText: '$1', multiple: 17, multipleText: '17×' }, previous: [] }],
    },
  },
  // output figures unknown (an agent whose edits are not read), commits known, flagged
  { type: 'state', seq: 0, locale: 'en', now: 1, dayKeys, rows: [{ ...row, linesAdded: null, linesRemoved: null, filesTouched: null, commits: 4, survivingShare: 0.5, costPer100Lines: null, noOutput: true }], days: [] },
];

const validWebview: WebviewMessage[] = [
  { type: 'ready' },
  { type: 'viewState', state: defaultViewState() },
  { type: 'viewState', state: { ...defaultViewState(), sort: { key: 'costPer100Lines', dir: 'desc' } } },
  { type: 'select', rowId: 's1', expandedTasks: ['p1'] },
  { type: 'select', rowId: null, expandedTasks: [] },
  { type: 'expandTask', rowId: 's1', taskId: 'p1', expanded: true },
  { type: 'reveal', rowId: 's1' },
  { type: 'export', format: 'csv', state: { ...defaultViewState(), range: { preset: 'custom', from: '2026-11-01', to: '2026-11-24' } } },
];

const recon = validHost.find((m) => m.type === 'reconciliation')!;
const nowMsg = validHost.filter((m) => m.type === 'now')[1] as Extract<HostMessage, { type: 'now' }>;
const nowView = nowMsg.view;
const nowRow = nowView.sessions[0]!;
const reconRow = (recon as Extract<HostMessage, { type: 'reconciliation' }>).rows[0]!;

describe('protocol: host → webview', () => {
  it('accepts every well-formed message', () => {
    for (const m of validHost) {
      const r = parseHostMessage(JSON.parse(JSON.stringify(m)));
      assert.ok(r.ok, `${m.type}: ${r.ok ? '' : r.error}`);
    }
  });

  it('rejects malformed messages (the webview drops them)', () => {
    const bad: unknown[] = [
      null, undefined, 42, 'state', [], {},
      { type: 'html', html: '<script>alert(1)</script>' },
      { type: 'state' },
      { ...validHost[0], seq: -1 },
      { ...validHost[0], locale: 'x'.repeat(65) },
      { ...validHost[0], dayKeys: { ...dayKeys, today: 'today' } },
      { ...validHost[0], rows: [{ ...row, requests: 1.5 }] },
      { ...validHost[0], rows: [{ ...row, requests: -1 }] },
      { ...validHost[0], rows: [{ ...row, spendNanos: 0.5 }] },
      { ...validHost[0], rows: [{ ...row, spendNanos: Number.NaN }] },
      { ...validHost[0], rows: [{ ...row, start: Number.POSITIVE_INFINITY }] },
      { ...validHost[0], rows: [{ ...row, id: '' }] },
      // output fields: present, counts non-negative integers, share within 0..1, a boolean flag
      { ...validHost[0], rows: [{ ...row, linesAdded: undefined }] },
      { ...validHost[0], rows: [{ ...row, linesAdded: -1 }] },
      { ...validHost[0], rows: [{ ...row, filesTouched: 1.5 }] },
      { ...validHost[0], rows: [{ ...row, commits: '3' }] },
      { ...validHost[0], rows: [{ ...row, survivingShare: 1.2 }] },
      { ...validHost[0], rows: [{ ...row, costPer100Lines: 0.5 }] },
      { ...validHost[0], rows: [{ ...row, noOutput: 'yes' }] },
      { ...validHost[0], rows: [{ ...row, noOutput: undefined }] },
      { ...validHost[0], rows: [{ ...row, project: 42 }] },
      { ...validHost[0], rows: [{ ...row, models: 'claude' }] },
      { ...validHost[0], rows: [{ ...row, project: 'p'.repeat(LIMITS.path + 1) }] },
      { ...validHost[0], viewState: { ...defaultViewState(), sort: { key: 'innerHTML', dir: 'asc' } } },
      { ...validHost[2], remove: [7] },
      { ...validHost[3], detail: { rowId: 's1' } },
      { type: 'detail', rowId: 's1' },
      { type: 'reconciliation', rows: [] },
      { ...recon, rows: [{ ...reconRow, provider: 'google' }] },
      { ...recon, rows: [{ ...reconRow, date: '24.11.2026' }] },
      { ...recon, rows: [{ ...reconRow, billedNanos: 0.5 }] },
      { ...recon, rows: [{ ...reconRow, requests: -1 }] },
      { ...recon, rows: [{ ...reconRow, diffPercent: Number.NaN }] },
      { ...recon, rows: [{ ...reconRow, agents: 'claude-code' }] },
      { ...recon, rows: [{ ...reconRow, status: 'broken' }] },
      { ...recon, rows: Array.from({ length: RECON_ROWS_MAX + 1 }, () => reconRow) },
      { ...recon, providers: [{ provider: 'anthropic', status: 'ok', ageMs: -1, message: null }] },
      { ...recon, providers: [{ provider: 'anthropic', status: 'ok', ageMs: 0, message: 'x'.repeat(LIMITS.label + 1) }] },
      { type: 'now' },
      { type: 'now', view: { ...nowView, sessions: undefined } },
      { type: 'now', view: { ...nowView, sessions: [{ ...nowRow, state: 'finished' }] } },
      { type: 'now', view: { ...nowView, sessions: [{ ...nowRow, sessionId: '' }] } },
      { type: 'now', view: { ...nowView, sessions: [{ ...nowRow, spendNanos: 0.5 }] } },
      { type: 'now', view: { ...nowView, sessions: [{ ...nowRow, context: { ...nowRow.context, percent: -1 } }] } },
      { type: 'now', view: { ...nowView, sessions: [{ ...nowRow, context: { ...nowRow.context, source: 'guess' } }] } },
      { type: 'now', view: { ...nowView, sessions: [{ ...nowRow, projectPath: 'p'.repeat(LIMITS.path + 1) }] } },
      { type: 'now', view: { ...nowView, sessions: Array.from({ length: NOW_ROWS_MAX + 1 }, () => nowRow) } },
      { type: 'now', view: { ...nowView, limits: [{ ...nowView.limits[0], source: 'rumour' }] } },
      { type: 'now', view: { ...nowView, limits: [{ ...nowView.limits[0], windows: [{ ...nowView.limits[0]!.windows[0], level: 'panic' }] }] } },
      { type: 'now', view: { ...nowView, plans: [{ ...nowView.plans![0], current: { ...nowView.plans![0]!.current, month: 'November' } }] } },
      { type: 'now', view: { ...nowView, plans: 'none' } },
    ];
    for (const m of bad) {
      const r = parseHostMessage(m);
      assert.equal(r.ok, false, JSON.stringify(m)?.slice(0, 200));
      if (!r.ok) assert.ok(r.error.length < 300);
    }
  });

  it('a `__proto__` key in the data cannot pollute anything', () => {
    const raw = JSON.parse(`{"type":"update","seq":1,"now":1,"dayKeys":${JSON.stringify(dayKeys)},"upsert":[],"remove":[],"days":[{"day":"2026-11-24","agents":[{"key":"__proto__","spendNanos":1,"requests":1,"unpricedRequests":0,"tokens":1}],"models":[],"__proto__":{"polluted":true}}]}`);
    const r = parseHostMessage(raw);
    assert.ok(r.ok);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    if (r.ok && r.message.type === 'update') assert.equal(r.message.days[0]!.agents[0]!.key, '__proto__');
  });
});

describe('protocol: webview → host', () => {
  it('accepts every well-formed message', () => {
    for (const m of validWebview) {
      const r = parseWebviewMessage(JSON.parse(JSON.stringify(m)));
      assert.ok(r.ok, `${m.type}: ${r.ok ? '' : r.error}`);
    }
  });

  it('rejects malformed messages (the host ignores them)', () => {
    const bad: unknown[] = [
      null, 'ready', { type: 'READY' }, { type: 'run', command: 'workbench.action.terminal.new' },
      { type: 'reveal' }, { type: 'reveal', rowId: '' }, { type: 'reveal', path: '/etc/passwd' },
      { type: 'export', format: 'xlsx', state: defaultViewState() },
      { type: 'export', format: 'csv' },
      { type: 'select', rowId: 's1' },
      { type: 'select', rowId: 7, expandedTasks: [] },
      { type: 'expandTask', rowId: 's1', taskId: 'p', expanded: 'yes' },
      { type: 'viewState', state: { ...defaultViewState(), range: { preset: 'forever' } } },
      { type: 'viewState', state: { ...defaultViewState(), range: { preset: 'custom', from: '24.11.2026' } } },
      { type: 'viewState', state: { ...defaultViewState(), scrollTop: -5 } },
      { type: 'viewState', state: { ...defaultViewState(), text: 'x'.repeat(501) } },
      { type: 'viewState', state: { ...defaultViewState(), expandedRows: 'all' } },
    ];
    for (const m of bad) assert.equal(parseWebviewMessage(m).ok, false, JSON.stringify(m));
  });

  it('view states from storage are used only when valid', () => {
    assert.deepEqual(parseViewState(defaultViewState()), defaultViewState());
    assert.equal(parseViewState(undefined), undefined);
    assert.equal(parseViewState({ range: 'all' }), undefined);
    assert.equal(parseViewState({ ...defaultViewState(), chartBy: 'project' }), undefined);
  });

  it('clip keeps strings within the limits', () => {
    assert.equal(clip('abc', 5), 'abc');
    assert.equal(clip('abcdef', 5), 'abcd…');
    assert.equal(clip('abcdef', 5).length, 5);
  });
});
