/**
 * The panel's "Now" section and "What your plan is worth", as the webview shows them: running and
 * idle sessions, the plan limits per agent and window, and the plans' worth at API prices.
 * Pure: no I/O, no `vscode`; the clock is passed in. Every text is worded here (the webview only
 * places it, as text); the figures travel beside the texts for bars, colours and sorting.
 * Small and JSON-serialisable: at most NOW_MAX_ROWS session rows.
 */
import { agentLabel, folderName, formatDuration, formatTokens, formatUSD } from './format';
import { DEFAULT_FINISHED_AFTER_SECONDS, DEFAULT_RUNNING_SECONDS, type LiveSession } from './live';
import { resetText, windowLabel, type AgentLimits, type EstimatedBlockInfo, type LimitSource, type LimitWindowKind } from './limits';
import { multipleText, planWorthSentence, type PlanMonth, type PlanWorth } from './plans';
import { clip, LIMITS } from '../shared/protocol';

/** Session rows shown at most (running first, then idle; newest activity first). */
export const NOW_MAX_ROWS = 50;
/** Plan limit windows: warn from this percent, "over" from 100. */
export const LIMIT_WARN_PERCENT = 80;
/** The setting users add plans with (the hint shown when there is none). */
export const PLANS_SETTING = 'agentSpend.plans';

export type NowContextSource = 'statusline' | 'latest-request';

export interface NowContext {
  /** 0–100 (may exceed 100); null when the model's window is unknown. */
  percent: number | null;
  /** "45%", "?" when the percent is unknown. */
  text: string;
  /** "92k of 200k tokens", "92k tokens" (window unknown), '' when nothing is known. */
  tokensText: string;
  source: NowContextSource;
  /** "from Claude Code" / "estimated from the latest request". */
  sourceLabel: string;
  /** percent ≥ the context warn setting. */
  warn: boolean;
}

export interface NowSessionRow {
  sessionId: string;
  agent: string;
  agentLabel: string;
  /** The project's folder name ('' when unknown) and its full path (for a tooltip). */
  project: string;
  projectPath: string;
  /** '' when unknown. */
  model: string;
  state: 'running' | 'idle';
  /** Epoch ms (host clock). */
  startedAt: number;
  lastActivity: number;
  /** How long the session has been going: "12m", "1h 5m". */
  ageText: string;
  /** "12 s ago", "3 min ago". */
  lastActivityText: string;
  spendNanos: number;
  unpricedRequests: number;
  /** "$1.23", "$1.23+" when some requests have no price. */
  costText: string;
  burnNanosPerHour: number;
  /** "$4.10/h"; "—" when nothing was spent in the burn window. */
  burnText: string;
  context: NowContext | null;
}

export interface NowLimitWindow {
  kind: LimitWindowKind;
  /** "5h", "7d". */
  label: string;
  /** "5-hour", "weekly" (for screen readers and tooltips). */
  name: string;
  /** null once the window reset (no new figure yet). */
  percent: number | null;
  /** "42%", "reset". */
  percentText: string;
  /** "resets in 2h 14m", "reset", '' when unknown. */
  resetText: string;
  level: 'ok' | 'warn' | 'over';
}

/** What the logs show of Claude Code's 5-hour block when no real limit is known. */
export interface NowEstimate {
  /** "$12.40", "$12.40+". */
  spendText: string;
  /** "1.2M tokens · 42 requests". */
  usageText: string;
  /** "resets in 2h 14m" (estimated: block start + 5 h). */
  resetText: string;
  /** Share of the block budget the user set; null without one. */
  budgetPercent: number | null;
  /** "42% of your block budget", '' without one. */
  budgetText: string;
}

export interface NowLimits {
  agent: string;
  agentLabel: string;
  source: LimitSource;
  /** "logged by Codex" / "from the status line" / "estimate, not a real limit". */
  sourceLabel: string;
  /** "2 min ago" (when the figure was observed). */
  observedText: string;
  /** Codex `plan_type` ("plus", "pro"), '' when unknown. */
  planType: string;
  windows: NowLimitWindow[];
  /** Only for the estimated block (no percent of a real limit). */
  estimate?: NowEstimate;
}

export interface NowPlanMonth {
  /** YYYY-MM. */
  month: string;
  /** "Oct 2026". */
  label: string;
  pricedNanos: number;
  /** "$2,900" (whole dollars, "+" when some requests had no price). */
  pricedText: string;
  multiple: number;
  /** "14.5×". */
  multipleText: string;
}

export interface NowPlan {
  agent: string;
  agentLabel: string;
  name: string;
  /** "$200/month". */
  priceText: string;
  /** `agentSpend.plans[0]`. */
  setting: string;
  /** The current month's sentence ("$3,412 at API prices so far this month on a $200 plan — 17×"); '' when the plan does not cover this month. */
  sentence: string;
  current: NowPlanMonth | null;
  /** Earlier months with usage, newest first. */
  previous: NowPlanMonth[];
}

export interface NowView {
  /** Host clock when built (epoch ms). */
  now: number;
  running: number;
  idle: number;
  sessions: NowSessionRow[];
  /** Running or idle sessions left out beyond NOW_MAX_ROWS. */
  moreSessions: number;
  /** What the empty list says: "No agent is running. …" */
  emptyText: string;
  limits: NowLimits[];
  /** Absent when the user has no plan (the webview shows how to add one). */
  plans?: NowPlan[];
  /** "Add your plans in settings: agentSpend.plans …" (shown when `plans` is absent). */
  plansHint: string;
}

export interface NowInput {
  sessions: readonly LiveSession[];
  limits: readonly AgentLimits[];
  estimatedBlock?: EstimatedBlockInfo;
  plans: readonly PlanWorth[];
  now: number;
  locale?: string;
  contextWarnPercent: number;
  /** The running / finished thresholds (the empty state says them); defaults as in core/live. */
  runningSeconds?: number;
  finishedAfterSeconds?: number;
}


const finite = (n: number | null | undefined): n is number => typeof n === 'number' && Number.isFinite(n);
const int = (n: number) => (Number.isFinite(n) ? Math.round(n) : 0);

/** "just now", "12 s ago", "3 min ago", "2 h ago", "3 days ago". */
export function agoText(ms: number): string {
  const s = Math.floor(Math.max(0, ms) / 1000);
  if (s < 1) return 'just now';
  if (s < 60) return `${s} s ago`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min ago`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} days ago`;
}

/** "45%" (whole percent), "?" when unknown. */
export function percentText(p: number | null, locale?: string): string {
  return p === null ? '?' : `${Math.round(p).toLocaleString(locale)}%`;
}

function seconds(n: number): string {
  if (n % 3600 === 0) return `${n / 3600} ${n === 3600 ? 'hour' : 'hours'}`;
  if (n % 60 === 0) return `${n / 60} ${n === 60 ? 'minute' : 'minutes'}`;
  return `${n} ${n === 1 ? 'second' : 'seconds'}`;
}

const CONTEXT_SOURCE: Record<NowContextSource, string> = {
  statusline: 'from Claude Code',
  'latest-request': 'estimated from the latest request',
};

function contextOf(s: LiveSession, warnAt: number, locale?: string): NowContext | null {
  const c = s.context;
  if (!c) return null;
  const percent = finite(c.percent) ? Math.max(0, c.percent) : null;
  const used = finite(c.usedTokens) ? c.usedTokens : null;
  const size = finite(c.windowTokens) && c.windowTokens > 0 ? c.windowTokens : null;
  const tokensText = used === null ? '' : size === null ? `${formatTokens(used)} tokens` : `${formatTokens(used)} of ${formatTokens(size)} tokens`;
  return {
    percent,
    text: percentText(percent, locale),
    tokensText,
    source: c.source,
    sourceLabel: CONTEXT_SOURCE[c.source],
    warn: percent !== null && percent >= warnAt,
  };
}

function sessionRow(s: LiveSession, now: number, warnAt: number, locale?: string): NowSessionRow {
  const spend = int(s.spendNanos);
  const burn = Math.max(0, int(s.burnNanosPerHour));
  return {
    sessionId: s.sessionId,
    agent: clip(s.agent, 64),
    agentLabel: clip(agentLabel(s.agent), 64),
    project: clip(s.project ? folderName(s.project) : '', LIMITS.label),
    projectPath: clip(s.project, LIMITS.path),
    model: clip(s.model ?? '', LIMITS.model),
    state: s.state === 'running' ? 'running' : 'idle',
    startedAt: s.startedAt,
    lastActivity: s.lastActivity,
    ageText: formatDuration(Math.max(0, now - s.startedAt)),
    lastActivityText: agoText(now - s.lastActivity),
    spendNanos: spend,
    unpricedRequests: Math.max(0, int(s.unpricedRequests)),
    costText: `${formatUSD(spend, locale)}${s.unpricedRequests > 0 ? '+' : ''}`,
    burnNanosPerHour: burn,
    burnText: burn > 0 ? `${formatUSD(burn, locale)}/h` : '—',
    context: contextOf(s, warnAt, locale),
  };
}

const SOURCE_LABEL = (source: LimitSource, agent: string): string =>
  source === 'logged' ? `logged by ${agentLabel(agent)}` : source === 'statusline' ? 'from the status line' : 'estimate, not a real limit';

function levelOf(p: number | null): NowLimitWindow['level'] {
  if (p === null) return 'ok';
  return p >= 100 ? 'over' : p >= LIMIT_WARN_PERCENT ? 'warn' : 'ok';
}

function windowName(kind: LimitWindowKind, minutes?: number): string {
  return kind === 'five-hour' ? '5-hour' : kind === 'weekly' ? 'weekly' : windowLabel(kind, minutes);
}

function limitsOf(a: AgentLimits, now: number, locale?: string): NowLimits {
  return {
    agent: clip(a.agent, 64),
    agentLabel: clip(agentLabel(a.agent), 64),
    source: a.source,
    sourceLabel: SOURCE_LABEL(a.source, a.agent),
    observedText: agoText(now - a.observedAt),
    planType: clip(a.planType ?? '', 64),
    windows: a.windows.slice(0, 8).map((w): NowLimitWindow => {
      const percent = finite(w.usedPercent) ? Math.max(0, w.usedPercent) : null;
      return {
        kind: w.kind,
        label: windowLabel(w.kind, w.windowMinutes),
        name: windowName(w.kind, w.windowMinutes),
        percent,
        percentText: percent === null ? 'reset' : percentText(percent, locale),
        resetText: resetText(w.resetsAt, now),
        level: levelOf(percent),
      };
    }),
  };
}

function estimateOf(e: EstimatedBlockInfo, now: number, locale?: string): NowLimits {
  const budget = finite(e.budgetPercent) ? Math.max(0, e.budgetPercent) : null;
  return {
    agent: 'claude-code',
    agentLabel: agentLabel('claude-code'),
    source: 'estimated',
    sourceLabel: SOURCE_LABEL('estimated', 'claude-code'),
    observedText: agoText(0),
    planType: '',
    windows: [],
    estimate: {
      spendText: `${formatUSD(int(e.spendNanos), locale)}${e.unpricedRequests > 0 ? '+' : ''}`,
      usageText: `${formatTokens(Math.max(0, int(e.totalTokens)))} tokens · ${e.requests.toLocaleString(locale)} ${e.requests === 1 ? 'request' : 'requests'}`,
      resetText: resetText(e.resetsAt, now),
      budgetPercent: budget,
      budgetText: budget === null ? '' : `${percentText(budget, locale)} of your block budget`,
    },
  };
}

function monthLabel(key: string, locale?: string): string {
  const [y, m] = key.split('-').map(Number) as [number, number];
  try {
    return new Intl.DateTimeFormat(locale, { month: 'short', year: 'numeric', timeZone: 'UTC' }).format(Date.UTC(y, m - 1, 1));
  } catch {
    return key;
  }
}

function wholeUSD(nanos: number, locale?: string): string {
  const opts = { style: 'currency', currency: 'USD', minimumFractionDigits: 0, maximumFractionDigits: 0 } as const;
  let f: Intl.NumberFormat;
  try {
    f = new Intl.NumberFormat(locale, opts);
  } catch {
    f = new Intl.NumberFormat(undefined, opts);
  }
  return f.format(Math.round(nanos / 1e9));
}

function planMonth(m: PlanMonth, locale?: string): NowPlanMonth {
  const multiple = finite(m.multiple) ? m.multiple : 0;
  return {
    month: m.month,
    label: monthLabel(m.month, locale),
    pricedNanos: int(m.pricedNanos),
    pricedText: `${wholeUSD(m.pricedNanos, locale)}${m.unpricedRequests > 0 ? '+' : ''}`,
    multiple,
    multipleText: multipleText(multiple),
  };
}

function planOf(p: PlanWorth, locale?: string): NowPlan {
  const current = p.current ?? p.months.find((m) => m.current);
  return {
    agent: clip(p.plan.agent, 64),
    agentLabel: clip(agentLabel(p.plan.agent), 64),
    name: clip(p.plan.name, LIMITS.label),
    priceText: `${wholeUSD(p.plan.monthlyUSD * 1e9, locale)}/month`,
    setting: clip(p.plan.setting, LIMITS.label),
    sentence: current ? clip(planWorthSentence(current, locale), LIMITS.label) : '',
    current: current ? planMonth(current, locale) : null,
    previous: p.months.filter((m) => !m.current).slice(0, 12).map((m) => planMonth(m, locale)),
  };
}

/** The Now section and the plans' worth, worded for the panel. */
export function buildNowView(input: NowInput): NowView {
  const { now, locale } = input;
  const running = input.runningSeconds ?? DEFAULT_RUNNING_SECONDS;
  const finished = Math.max(running, input.finishedAfterSeconds ?? DEFAULT_FINISHED_AFTER_SECONDS);
  const order = { running: 0, idle: 1, finished: 2 } as const;
  const active = input.sessions
    .filter((s) => s.state !== 'finished' && s.sessionId.length > 0 && s.sessionId.length <= LIMITS.id)
    .slice()
    .sort((a, b) => order[a.state] - order[b.state] || b.lastActivity - a.lastActivity);
  const view: NowView = {
    now,
    running: active.filter((s) => s.state === 'running').length,
    idle: active.filter((s) => s.state === 'idle').length,
    sessions: active.slice(0, NOW_MAX_ROWS).map((s) => sessionRow(s, now, input.contextWarnPercent, locale)),
    moreSessions: Math.max(0, active.length - NOW_MAX_ROWS),
    emptyText: `No agent is running. Sessions written in the last ${seconds(running)} show here (as idle up to ${seconds(finished)}).`,
    limits: input.limits.map((a) => limitsOf(a, now, locale)),
    plansHint: `Add your subscription in the ${PLANS_SETTING} setting, e.g. { "agent": "claude-code", "name": "Max", "monthlyUSD": 200 }, to see what it is worth at API prices.`,
  };
  const e = input.estimatedBlock;
  if (e && !input.limits.some((a) => a.agent === 'claude-code')) {
    view.limits.push(estimateOf(e, now, locale));
    view.limits.sort((x, y) => (x.agent < y.agent ? -1 : x.agent > y.agent ? 1 : 0));
  }
  if (input.plans.length > 0) view.plans = input.plans.slice(0, 50).map((p) => planOf(p, locale));
  return view;
}
