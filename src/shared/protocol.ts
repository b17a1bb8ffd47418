/**
 * Every message between the panel host (src/extension/panel.ts) and its webview
 * (src/webview/main.ts), as discriminated unions on `type`, validated with zod on
 * both ends: a message that does not match is dropped (and counted), never acted on.
 *
 * Keys chosen by the logs (agent, model ids) travel in arrays of `{ key, … }`, never
 * as object keys, so no log-derived string can become `__proto__` of anything.
 * Strings are bounded so a malformed message cannot make either side allocate much.
 */
import * as z from 'zod/mini';

// ---------------------------------------------------------------- building blocks

const count = () => z.number().check(z.int(), z.nonnegative());
/** Nano-USD amounts are integers (they may exceed 2^31; a logged refund could be negative). */
const nanos = () => z.number().check(z.int());
/** Epoch milliseconds (finite: zod rejects NaN and Infinity). */
const time = () => z.number();
const text = (max: number) => z.string().check(z.maxLength(max));
const id = () => z.string().check(z.minLength(1), z.maxLength(LIMITS.id));
const DAY = /^\d{4,6}-\d{2}-\d{2}$/;
const dayKey = () => z.string().check(z.regex(DAY));

/**
 * Longest strings a message may carry. The host clips display strings to these (ids are
 * never clipped: a row whose id is longer is left out), so it never posts what the
 * webview would reject.
 */
export const LIMITS = { id: 4_096, path: 4_096, label: 1_000, model: 500, title: 1_000 } as const;

export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** How a cost figure was obtained: list-price estimate, the agent's own log, both, a provider bill, or none. */
export const COST_BASES = ['estimated', 'logged', 'mixed', 'billed', 'none'] as const;
export type CostBasis = (typeof COST_BASES)[number];
const CostBasisSchema = z.enum(COST_BASES);

/** Summable figures of a session row (own) or a subtree (combined). */
const AggFields = {
  requests: count(),
  inputTokens: count(),
  outputTokens: count(),
  cacheWriteTokens: count(),
  cacheReadTokens: count(),
  reasoningTokens: count(),
  /** Headline spend: logged cost where the agent logged one, else the estimate. */
  spendNanos: nanos(),
  /** Estimate at list prices (of the requests whose model has a price). */
  costNanos: nanos(),
  loggedCostNanos: nanos(),
  loggedRequests: count(),
  /** Requests with neither a logged cost nor a price. */
  unpricedRequests: count(),
  /** Requests billed by a provider endpoint (none yet: kept so the basis can say "billed"). */
  billedRequests: count(),
  start: time(),
  end: time(),
};

/**
 * One row of the sessions table: a session, or a subagent inside a session.
 * `own` figures only; the view sums children into their parent.
 */
export const SessionRowSchema = z.object({
  /** Row id: the session id, or `<sessionId>#agent:<subagentId>` for a subagent. */
  id: id(),
  sessionId: id(),
  subagentId: z.optional(text(LIMITS.label)),
  /** Row id of the parent row (a subagent's session, or the parent session of a child session). */
  parentId: z.optional(id()),
  agent: text(64),
  /** Working folder as logged (absolute path); '' when unknown. Untrusted text. */
  project: text(LIMITS.path),
  branch: z.optional(text(LIMITS.label)),
  /** Local days (host time zone) of the first and last request. */
  firstDay: dayKey(),
  lastDay: dayKey(),
  /** Model ids by request count, most used first. Untrusted text. */
  models: z.array(text(LIMITS.model)).check(z.maxLength(200)),
  ...AggFields,
  /**
   * Output (src/core/output.ts), on session rows; a subagent row has nulls (its session row
   * counts the whole session's edits). Lines and files: null for agents whose edits are not read.
   */
  linesAdded: z.nullable(count()),
  linesRemoved: z.nullable(count()),
  filesTouched: z.nullable(count()),
  /** Commits git found for the session; null: not known (yet), not a repository, or untrusted. */
  commits: z.nullable(count()),
  /** Of the lines the agent added, the share still in HEAD (0..1); null when unknown. */
  survivingShare: z.nullable(z.number().check(z.gte(0), z.lte(1))),
  /** The whole session's spend per 100 changed lines, nano-USD; null with no changed line. */
  costPer100Lines: z.nullable(nanos()),
  /** "Spend without output": spend above the threshold, no line changed, no commit known. */
  noOutput: z.boolean(),
});
export type SessionRow = z.infer<typeof SessionRowSchema>;

/** Spend of one agent or model on one day. */
export const CellSchema = z.object({
  key: text(LIMITS.model),
  spendNanos: nanos(),
  requests: count(),
  unpricedRequests: count(),
  tokens: count(),
});
export type Cell = z.infer<typeof CellSchema>;

/** One local day of the timeline: spend by agent and by model. Empty lists: the day has no requests (any more). */
export const DayEntrySchema = z.object({
  day: dayKey(),
  agents: z.array(CellSchema).check(z.maxLength(1_000)),
  models: z.array(CellSchema).check(z.maxLength(10_000)),
});
export type DayEntry = z.infer<typeof DayEntrySchema>;

/** Where "today", "this week" and "this month" start, in the host's time zone. */
export const DayKeysSchema = z.object({ today: dayKey(), weekStart: dayKey(), monthStart: dayKey() });
export type DayKeys = z.infer<typeof DayKeysSchema>;

export const RequestViewSchema = z.object({
  timestamp: time(),
  model: text(LIMITS.model),
  inputTokens: count(),
  outputTokens: count(),
  cacheWriteTokens: count(),
  cacheReadTokens: count(),
  reasoningTokens: count(),
  /** null: unpriced (no logged cost, no price). */
  spendNanos: z.nullable(nanos()),
  basis: CostBasisSchema,
  subagentId: z.optional(text(LIMITS.label)),
});
export type RequestView = z.infer<typeof RequestViewSchema>;

export const TaskViewSchema = z.object({
  id: id(),
  /** The prompt's first line; '' when the task has no prompt. Untrusted text: render as text only. */
  title: text(LIMITS.title),
  /** True for the requests before the first prompt of a session that has prompts. */
  beforeFirstPrompt: z.boolean(),
  ...AggFields,
  models: z.array(text(LIMITS.model)).check(z.maxLength(200)),
  /** Files the task touched; null until edit tracking lands (shown as '—'). */
  filesTouched: z.nullable(count()),
  /** The task's requests, only for expanded tasks (oldest first, at most REQUESTS_PER_TASK). */
  requestList: z.optional(z.array(RequestViewSchema).check(z.maxLength(5_000))),
  /** Requests left out of `requestList` (the oldest ones). */
  requestsOmitted: z.optional(count()),
});
export type TaskView = z.infer<typeof TaskViewSchema>;

/** Where the agent logged its own cost and the estimate differs: both figures. */
export const CostCheckSchema = z.object({
  loggedNanos: nanos(),
  estimateNanos: nanos(),
  /** (logged − estimate) / estimate × 100; null when the estimate is 0. */
  differencePercent: z.nullable(z.number()),
  /** Requests compared (those with both a logged cost and a price). */
  requests: count(),
});
export type CostCheck = z.infer<typeof CostCheckSchema>;

export const SessionDetailSchema = z.object({
  rowId: id(),
  sessionId: id(),
  subagentId: z.optional(text(LIMITS.label)),
  agent: text(64),
  project: text(LIMITS.path),
  branch: z.optional(text(LIMITS.label)),
  /** The log file to reveal. Untrusted text. */
  file: text(LIMITS.path),
  /** Figures of the row (the whole session, subagents included, for a session row). */
  ...AggFields,
  subagents: count(),
  tasks: z.array(TaskViewSchema).check(z.maxLength(100_000)),
  /** Set when the agent's logged cost and the estimate differ by more than COST_CHECK_THRESHOLD. */
  costCheck: z.optional(CostCheckSchema),
});
export type SessionDetail = z.infer<typeof SessionDetailSchema>;

// ---------------------------------------------------------------- view state (webview-owned, persisted)

export const SORT_KEYS = [
  'project', 'agent', 'branch', 'start', 'duration', 'models', 'requests', 'input', 'output', 'cacheWrite', 'cacheRead', 'cost', 'basis',
  'lines', 'files', 'commits', 'costPer100Lines',
] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export const RANGE_PRESETS = ['today', 'week', 'month', '7d', '30d', '90d', 'all', 'custom'] as const;
export type RangePreset = (typeof RANGE_PRESETS)[number];
export const CHART_BYS = ['agent', 'model'] as const;
export type ChartBy = (typeof CHART_BYS)[number];

/**
 * What the user chose: filters, sort, chart grouping, selection, expansion, scroll.
 * The webview persists it (setState); the serializer hands it back after a reload.
 */
export const ViewStateSchema = z.object({
  range: z.object({ preset: z.enum(RANGE_PRESETS), from: z.optional(dayKey()), to: z.optional(dayKey()) }),
  agent: text(64),
  project: text(LIMITS.path),
  text: text(500),
  sort: z.object({ key: z.enum(SORT_KEYS), dir: z.enum(['asc', 'desc']) }),
  chartBy: z.enum(CHART_BYS),
  selected: z.nullable(id()),
  expandedRows: z.array(id()).check(z.maxLength(10_000)),
  expandedTasks: z.array(id()).check(z.maxLength(10_000)),
  scrollTop: z.number().check(z.nonnegative()),
});
export type ViewState = z.infer<typeof ViewStateSchema>;

export function defaultViewState(): ViewState {
  return {
    range: { preset: '30d' },
    agent: '',
    project: '',
    text: '',
    sort: { key: 'start', dir: 'desc' },
    chartBy: 'agent',
    selected: null,
    expandedRows: [],
    expandedTasks: [],
    scrollTop: 0,
  };
}

/** One budget as the panel shows it (evaluated by the host; texts already worded). */
export const BudgetRowSchema = z.object({
  id: id(),
  title: text(LIMITS.label),
  state: z.enum(['ok', 'warn', 'over']),
  /** Percent of the limit spent (may exceed 100). */
  percent: z.number().check(z.nonnegative()),
  spentNanos: count(),
  limitNanos: count(),
  /** "today", "this week", "session abc · Claude Code"… */
  scope: text(LIMITS.label),
  /** "At this rate you reach the limit at 16:40…" */
  forecast: text(LIMITS.label),
  unpricedRequests: count(),
});
export type BudgetRow = z.infer<typeof BudgetRowSchema>;

/** Providers whose billing the extension reads, and the states of their pollers. */
export const BILLING_PROVIDERS = ['anthropic', 'openai', 'openrouter'] as const;
export const POLLER_STATUSES = ['idle', 'ok', 'stale', 'offline', 'auth-error'] as const;
/** Rows of the reconciliation the host posts at most (31 days × 3 providers fit many times). */
export const RECON_ROWS_MAX = 500;

/** One (UTC day, provider) of the estimate-vs-invoice reconciliation (src/core/reconcile.ts). */
export const ReconRowSchema = z.object({
  provider: z.enum(BILLING_PROVIDERS),
  /** UTC day of the provider's bucket. */
  date: dayKey(),
  billedNanos: z.nullable(nanos()),
  estimatedNanos: nanos(),
  diffNanos: z.nullable(nanos()),
  /** (billed − estimated) / estimated × 100. */
  diffPercent: z.nullable(z.number()),
  agents: z.array(text(64)).check(z.maxLength(64)),
  requests: count(),
  unpricedRequests: count(),
  final: z.boolean(),
  status: z.enum(POLLER_STATUSES),
});
export type ReconRow = z.infer<typeof ReconRowSchema>;

/** How fresh one provider's billed figures are. */
export const ReconProviderSchema = z.object({
  provider: z.enum(BILLING_PROVIDERS),
  status: z.enum(POLLER_STATUSES),
  /** Age of the figures; null before the first successful fetch. */
  ageMs: z.nullable(count()),
  /** The last error (already free of the key); null after a success. */
  message: z.nullable(text(LIMITS.label)),
});
export type ReconProvider = z.infer<typeof ReconProviderSchema>;

/** Rows of the Now section the host posts at most (src/core/nowView.ts NOW_MAX_ROWS). */
export const NOW_ROWS_MAX = 50;

const NowContextSchema = z.object({
  percent: z.nullable(z.number().check(z.nonnegative())),
  text: text(64),
  tokensText: text(LIMITS.label),
  source: z.enum(['statusline', 'latest-request']),
  sourceLabel: text(LIMITS.label),
  warn: z.boolean(),
});

/** One running or idle session of the Now section (texts worded by the host). */
export const NowSessionRowSchema = z.object({
  sessionId: id(),
  agent: text(64),
  agentLabel: text(64),
  /** Folder name and full path. Untrusted text. */
  project: text(LIMITS.label),
  projectPath: text(LIMITS.path),
  model: text(LIMITS.model),
  state: z.enum(['running', 'idle']),
  startedAt: time(),
  lastActivity: time(),
  ageText: text(64),
  lastActivityText: text(64),
  spendNanos: nanos(),
  unpricedRequests: count(),
  costText: text(64),
  burnNanosPerHour: count(),
  burnText: text(64),
  context: z.nullable(NowContextSchema),
});

const NowLimitWindowSchema = z.object({
  kind: z.enum(['five-hour', 'weekly', 'other']),
  label: text(16),
  name: text(64),
  percent: z.nullable(z.number().check(z.nonnegative())),
  percentText: text(64),
  resetText: text(LIMITS.label),
  level: z.enum(['ok', 'warn', 'over']),
});

/** One agent's plan limits: a real figure (logged, status line) or the estimated block. */
export const NowLimitsSchema = z.object({
  agent: text(64),
  agentLabel: text(64),
  source: z.enum(['logged', 'statusline', 'estimated']),
  sourceLabel: text(LIMITS.label),
  observedText: text(64),
  planType: text(64),
  windows: z.array(NowLimitWindowSchema).check(z.maxLength(8)),
  estimate: z.optional(z.object({
    spendText: text(64),
    usageText: text(LIMITS.label),
    resetText: text(LIMITS.label),
    budgetPercent: z.nullable(z.number().check(z.nonnegative())),
    budgetText: text(LIMITS.label),
  })),
});

const NowPlanMonthSchema = z.object({
  month: z.string().check(z.regex(/^\d{4}-\d{2}$/)),
  label: text(64),
  pricedNanos: nanos(),
  pricedText: text(64),
  multiple: z.number(),
  multipleText: text(64),
});

/** What a flat-rate plan is worth at API prices: this month and the months before. */
export const NowPlanSchema = z.object({
  agent: text(64),
  agentLabel: text(64),
  name: text(LIMITS.label),
  priceText: text(64),
  setting: text(LIMITS.label),
  sentence: text(LIMITS.label),
  current: z.nullable(NowPlanMonthSchema),
  previous: z.array(NowPlanMonthSchema).check(z.maxLength(12)),
});

/** The panel's "Now" section and plans' worth (src/core/nowView.ts `NowView`). */
export const NowViewSchema = z.object({
  now: time(),
  running: count(),
  idle: count(),
  sessions: z.array(NowSessionRowSchema).check(z.maxLength(NOW_ROWS_MAX)),
  moreSessions: count(),
  emptyText: text(LIMITS.label),
  limits: z.array(NowLimitsSchema).check(z.maxLength(64)),
  /** Absent: no plan set (the webview says how to add one). */
  plans: z.optional(z.array(NowPlanSchema).check(z.maxLength(50))),
  plansHint: text(LIMITS.label),
});
export type NowViewMessage = z.infer<typeof NowViewSchema>;

// ---------------------------------------------------------------- host → webview

export const HostMessageSchema = z.discriminatedUnion('type', [
  /** The whole state: the answer to `ready` (and after the ledger was replaced). */
  z.object({
    type: z.literal('state'),
    seq: count(),
    locale: text(64),
    now: time(),
    dayKeys: DayKeysSchema,
    rows: z.array(SessionRowSchema).check(z.maxLength(1_000_000)),
    days: z.array(DayEntrySchema).check(z.maxLength(100_000)),
    /** The view state the host knows (restored by the serializer); the webview's own state wins. */
    viewState: z.optional(ViewStateSchema),
  }),
  /** What changed since the last `state`/`update` (`seq` is one more than the last one). */
  z.object({
    type: z.literal('update'),
    seq: count(),
    now: time(),
    dayKeys: DayKeysSchema,
    upsert: z.array(SessionRowSchema).check(z.maxLength(1_000_000)),
    remove: z.array(id()).check(z.maxLength(1_000_000)),
    /** Replaces these days (an entry with no cells removes the day). */
    days: z.array(DayEntrySchema).check(z.maxLength(100_000)),
  }),
  /** The budgets, re-sent whole when they are re-evaluated (a handful of rows). */
  z.object({
    type: z.literal('budgets'),
    rows: z.array(BudgetRowSchema).check(z.maxLength(1_000)),
    /** How the forecast is computed, for a note under the list. */
    method: text(LIMITS.label),
  }),
  /** Estimate vs invoice per UTC day and provider, re-sent whole; no providers: the section is hidden. */
  z.object({
    type: z.literal('reconciliation'),
    rows: z.array(ReconRowSchema).check(z.maxLength(RECON_ROWS_MAX)),
    providers: z.array(ReconProviderSchema).check(z.maxLength(BILLING_PROVIDERS.length)),
  }),
  /** Running and idle sessions, plan limits and plans' worth, re-sent whole when they change. */
  z.object({
    type: z.literal('now'),
    view: NowViewSchema,
  }),
  /** The selected row's detail, with its tasks; null when the row is gone. */
  z.object({
    type: z.literal('detail'),
    rowId: id(),
    detail: z.nullable(SessionDetailSchema),
  }),
]);
export type HostMessage = z.infer<typeof HostMessageSchema>;
export type StateMessage = Extract<HostMessage, { type: 'state' }>;
export type UpdateMessage = Extract<HostMessage, { type: 'update' }>;
export type DetailMessage = Extract<HostMessage, { type: 'detail' }>;
export type ReconciliationMessage = Extract<HostMessage, { type: 'reconciliation' }>;
export type NowMessage = Extract<HostMessage, { type: 'now' }>;

// ---------------------------------------------------------------- webview → host

export const EXPORT_FORMATS = ['csv', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const WebviewMessageSchema = z.discriminatedUnion('type', [
  /** The script is running and listening: the host may post `state`. */
  z.object({ type: z.literal('ready') }),
  /** The user changed filters, sort, selection…: kept by the host for export and restore. */
  z.object({ type: z.literal('viewState'), state: ViewStateSchema }),
  /** Open a row's detail (null: close it), with the tasks whose requests to list. */
  z.object({ type: z.literal('select'), rowId: z.nullable(id()), expandedTasks: z.array(id()).check(z.maxLength(10_000)) }),
  /** Expand or collapse one task of the selected row (its request list comes with the next `detail`). */
  z.object({ type: z.literal('expandTask'), rowId: id(), taskId: id(), expanded: z.boolean() }),
  /** Open the row's log file in an editor (the host looks the file up; no path crosses over). */
  z.object({ type: z.literal('reveal'), rowId: id() }),
  /** Export the current view (the webview's filters and sort at the time of the click). */
  z.object({ type: z.literal('export'), format: z.enum(EXPORT_FORMATS), state: ViewStateSchema }),
]);
export type WebviewMessage = z.infer<typeof WebviewMessageSchema>;

// ---------------------------------------------------------------- parsing

export type Parsed<T> = { ok: true; message: T } | { ok: false; error: string };

function parseWith<T>(schema: z.ZodMiniType<T>, raw: unknown): Parsed<T> {
  const r = schema.safeParse(raw);
  if (r.success) return { ok: true, message: r.data };
  const first = r.error.issues[0];
  const where = first && first.path.length ? ` at ${first.path.map(String).join('.')}` : '';
  const type = raw && typeof raw === 'object' && typeof (raw as { type?: unknown }).type === 'string' ? (raw as { type: string }).type.slice(0, 40) : '?';
  return { ok: false, error: `invalid ${JSON.stringify(type)} message: ${first?.code ?? 'invalid'}${where}` };
}

/** Validates a message the webview received (host → webview). */
export function parseHostMessage(raw: unknown): Parsed<HostMessage> {
  return parseWith(HostMessageSchema, raw);
}

/** Validates a message the host received (webview → host). */
export function parseWebviewMessage(raw: unknown): Parsed<WebviewMessage> {
  return parseWith(WebviewMessageSchema, raw);
}

/** A persisted view state (from the serializer or getState), or undefined when it is not one. */
export function parseViewState(raw: unknown): ViewState | undefined {
  const r = ViewStateSchema.safeParse(raw);
  return r.success ? r.data : undefined;
}
