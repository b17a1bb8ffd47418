/**
 * Plan limit windows (5-hour and weekly) as the agents report them, normalised.
 * Pure: no I/O, no `vscode`; the clock is passed in.
 *
 * Where a figure comes from is part of the figure:
 * - `logged`: written by the agent into its own log (Codex `token_count.rate_limits`);
 * - `statusline`: what Claude Code passed to `agent-spend statusline` on stdin;
 * - `estimated`: inferred from the logs (Claude Code's 5-hour block), never a real limit.
 */
import type { AgentId } from './events';
import { currentBlock, type UsageBlock } from './blocks';
import { agentLabel, formatDuration, formatTokens, formatUSD } from './format';
import type { RequestRecord } from './ledger';

export const LIMIT_SOURCES = ['logged', 'statusline', 'estimated'] as const;
export type LimitSource = (typeof LIMIT_SOURCES)[number];

/** `five-hour` ≈ the primary window, `weekly` ≈ the secondary one; `other` for any other length. */
export type LimitWindowKind = 'five-hour' | 'weekly' | 'other';

export interface LimitWindow {
  kind: LimitWindowKind;
  /** Length of the window when known (Codex `window_minutes`; 300 / 10080 for Claude's). */
  windowMinutes?: number;
  /** 0–100 (may exceed 100 if the agent says so; never negative). */
  usedPercent: number;
  /** Epoch ms when the window resets, when known. */
  resetsAt?: number;
}

/** The latest known limits of one agent (one account). */
export interface LimitsSnapshot {
  agent: AgentId;
  source: LimitSource;
  /** Epoch ms of the observation (the log event's timestamp, or when the status line ran). */
  observedAt: number;
  /** The session the figure was seen in, when known. */
  sessionId?: string;
  /** Codex `plan_type` ("plus", "pro", …), when logged. */
  planType?: string;
  windows: LimitWindow[];
}

// ---------------------------------------------------------------------------------------
// Merging: the figure to show per agent

/** A window as shown at `now`. */
export interface LimitWindowView {
  kind: LimitWindowKind;
  windowMinutes?: number;
  /**
   * The agent's percent; null once the window's `resetsAt` has passed: the old figure is stale
   * and the new window's figure is not known until the agent reports again ("reset").
   */
  usedPercent: number | null;
  resetsAt?: number;
  /** `resetsAt` has passed (usedPercent is then null). */
  reset: boolean;
}

/** The limits shown for one agent: the chosen snapshot with its windows as of `now`. */
export interface AgentLimits {
  agent: AgentId;
  source: LimitSource;
  observedAt: number;
  sessionId?: string;
  planType?: string;
  windows: LimitWindowView[];
}

const KIND_ORDER: Record<LimitWindowKind, number> = { 'five-hour': 0, weekly: 1, other: 2 };

/**
 * Per agent, the newest real figure (`statusline` or `logged`, by `observedAt`) over any
 * `estimated` one (an estimate is used only when no real figure exists). The chosen snapshot is
 * taken whole (windows are not mixed across snapshots). Windows whose `resetsAt` is at or before
 * `now` are marked `reset` with `usedPercent: null` rather than showing the stale percent.
 * Sorted by agent id.
 */
export function mergeLimits(candidates: readonly LimitsSnapshot[], now: number): AgentLimits[] {
  const best = new Map<AgentId, LimitsSnapshot>();
  for (const s of candidates) {
    const known = best.get(s.agent);
    if (!known || better(s, known)) best.set(s.agent, s);
  }
  const out: AgentLimits[] = [];
  for (const s of best.values()) {
    const windows = s.windows
      .map((w): LimitWindowView => {
        const reset = w.resetsAt !== undefined && w.resetsAt <= now;
        const v: LimitWindowView = { kind: w.kind, usedPercent: reset ? null : w.usedPercent, reset };
        if (w.windowMinutes !== undefined) v.windowMinutes = w.windowMinutes;
        if (w.resetsAt !== undefined) v.resetsAt = w.resetsAt;
        return v;
      })
      .sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || (a.windowMinutes ?? 0) - (b.windowMinutes ?? 0));
    const a: AgentLimits = { agent: s.agent, source: s.source, observedAt: s.observedAt, windows };
    if (s.sessionId !== undefined) a.sessionId = s.sessionId;
    if (s.planType !== undefined) a.planType = s.planType;
    out.push(a);
  }
  return out.sort((x, y) => (x.agent < y.agent ? -1 : x.agent > y.agent ? 1 : 0));
}

function better(a: LimitsSnapshot, b: LimitsSnapshot): boolean {
  const ra = a.source !== 'estimated';
  const rb = b.source !== 'estimated';
  if (ra !== rb) return ra;
  return a.observedAt > b.observedAt;
}

// ---------------------------------------------------------------------------------------
// Claude Code without a status line: the estimated 5-hour block

/**
 * What is known of Claude Code's current 5-hour window when no status line reports it: the
 * estimated block (src/core/blocks.ts). It has NO percent of a real limit (Anthropic does not
 * log one); `budgetPercent` is the share of a block budget the user configured, if any.
 */
export interface EstimatedBlockInfo {
  agent: 'claude-code';
  source: 'estimated';
  /** Block start and its estimated reset (start + 5 h), epoch ms. */
  start: number;
  resetsAt: number;
  requests: number;
  spendNanos: number;
  unpricedRequests: number;
  totalTokens: number;
  /** spendNanos / budget (USD) or totalTokens / budget (tokens) × 100; absent without a budget. */
  budgetPercent?: number;
  budgetBasis?: 'usd' | 'tokens';
}

export interface BlockBudget {
  /** A block budget in US dollars (takes precedence over tokens). */
  usd?: number;
  tokens?: number;
}

/** The active estimated block at `now`, or undefined when none is active (no usage in the last 5 h). */
export function estimatedClaudeLimits(records: Iterable<RequestRecord>, now: number, budget: BlockBudget = {}): EstimatedBlockInfo | undefined {
  return estimatedFromBlock(currentBlock(records, now), budget);
}

/** The same from a block already found (the extension's budgets find it for the status bar). */
export function estimatedFromBlock(block: UsageBlock | undefined, budget: BlockBudget = {}): EstimatedBlockInfo | undefined {
  if (!block || !block.active) return undefined;
  const info: EstimatedBlockInfo = {
    agent: 'claude-code', source: 'estimated', start: block.start, resetsAt: block.end, requests: block.requests,
    spendNanos: block.spendNanos, unpricedRequests: block.unpricedRequests, totalTokens: block.totalTokens,
  };
  if (budget.usd !== undefined && Number.isFinite(budget.usd) && budget.usd > 0) {
    info.budgetPercent = (block.spendNanos / 1e9 / budget.usd) * 100;
    info.budgetBasis = 'usd';
  } else if (budget.tokens !== undefined && Number.isFinite(budget.tokens) && budget.tokens > 0) {
    info.budgetPercent = (block.totalTokens / budget.tokens) * 100;
    info.budgetBasis = 'tokens';
  }
  return info;
}

// ---------------------------------------------------------------------------------------
// Threshold crossings (notifications), mirroring budgets.ts

export const DEFAULT_LIMIT_THRESHOLDS: readonly number[] = [80, 100];
/**
 * Codex computes `resets_at` per event (now + seconds left), so one window's reset time jitters
 * by seconds between events: reset times this close are the same window. Windows are hours apart.
 */
export const RESET_JITTER_MS = 10 * 60_000;
/** Notified identities are kept this long after their window's reset, then pruned. */
export const LIMIT_NOTIFIED_RETENTION_MS = 8 * 24 * 60 * 60_000;

export interface LimitCrossing {
  key: string;
  agent: AgentId;
  window: LimitWindowView;
  /** The threshold crossed (the highest reached), or 'reset' for an exhausted window that reset. */
  threshold: number | 'reset';
  severity: 'warn' | 'over' | 'info';
  message: string;
}

type Mark = number | 'full' | 'reset';

/**
 * `limit|<agent>|<kind>|<resetsAt ms or none>|<mark>`: mark is a threshold, `full` (the window
 * reached 100 %: armed for a reset notification) or `reset` (that notification was given).
 */
export function limitNotificationKey(agent: AgentId, w: Pick<LimitWindowView, 'kind' | 'resetsAt'>, mark: Mark): string {
  return `limit|${agent}|${w.kind}|${w.resetsAt ?? 'none'}|${mark}`;
}

interface ParsedKey { agent: AgentId; kind: LimitWindowKind; resetsAt: number | undefined; mark: string }

function parseKey(key: string): ParsedKey | undefined {
  const m = /^limit\|([^|]+)\|(five-hour|weekly|other)\|(none|\d+)\|([^|]+)$/.exec(key);
  if (!m) return undefined;
  return { agent: m[1] as AgentId, kind: m[2] as LimitWindowKind, resetsAt: m[3] === 'none' ? undefined : Number(m[3]), mark: m[4]! };
}

function sameWindow(a: number | undefined, b: number | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return Math.abs(a - b) <= RESET_JITTER_MS;
}

/**
 * New crossings. For each window with a current figure, the highest threshold reached fires
 * once per window (its reset time identifies it, within RESET_JITTER_MS), unless it or a higher
 * one was already notified; every threshold reached is then in the returned set, as with
 * budgets. A window at ≥ 100 % is also marked `full`; once such a window resets (its reset time
 * passed, or the agent now reports a different window below 100 %), one 'reset' notification
 * fires. Empty `warnAt` turns everything off. `notified` is not modified.
 */
export function detectLimitCrossings(
  limits: readonly AgentLimits[],
  notified: ReadonlySet<string>,
  now: number,
  warnAt: readonly number[] = DEFAULT_LIMIT_THRESHOLDS,
  opts: { locale?: string } = {},
): { crossings: LimitCrossing[]; notified: Set<string> } {
  const thresholds = [...new Set(warnAt.filter((x) => Number.isFinite(x) && x > 0))].sort((a, b) => a - b);
  const next = new Set(notified);
  const crossings: LimitCrossing[] = [];
  if (thresholds.length === 0) return { crossings, notified: next };
  const parsed = [...notified].map((k) => [k, parseKey(k)] as const);
  const has = (agent: AgentId, w: LimitWindowView, mark: Mark): boolean =>
    parsed.some(([, p]) => p !== undefined && p.agent === agent && p.kind === w.kind && p.mark === String(mark) && sameWindow(p.resetsAt, w.resetsAt));

  for (const a of limits) {
    for (const w of a.windows) {
      if (w.usedPercent === null) continue;
      const used = w.usedPercent;
      const reached = thresholds.filter((t) => used >= t);
      if (used >= 100 && !has(a.agent, w, 'full')) next.add(limitNotificationKey(a.agent, w, 'full'));
      if (reached.length === 0) continue;
      const top = reached[reached.length - 1]!;
      const already = thresholds.some((t) => t >= top && has(a.agent, w, t));
      for (const t of reached) if (!has(a.agent, w, t)) next.add(limitNotificationKey(a.agent, w, t));
      if (already) continue;
      crossings.push({ key: limitNotificationKey(a.agent, w, top), agent: a.agent, window: w, threshold: top, severity: top >= 100 ? 'over' : 'warn', message: limitCrossingMessage(a.agent, w, now, opts.locale) });
    }
  }

  // Exhausted windows that reset.
  for (const [key, p] of parsed) {
    if (!p || p.mark !== 'full' || p.resetsAt === undefined) continue;
    const resetKey = key.slice(0, -'full'.length) + 'reset';
    if (notified.has(resetKey)) continue;
    const current = limits.find((a) => a.agent === p.agent)?.windows.find((w) => w.kind === p.kind);
    const passed = p.resetsAt <= now;
    const replaced = current !== undefined && current.usedPercent !== null && current.usedPercent < 100 && !sameWindow(current.resetsAt, p.resetsAt);
    if (!passed && !replaced) continue;
    next.add(resetKey);
    const w: LimitWindowView = current && !sameWindow(current.resetsAt, p.resetsAt) ? current : { kind: p.kind, usedPercent: null, resetsAt: p.resetsAt, reset: true };
    crossings.push({ key: resetKey, agent: p.agent, window: w, threshold: 'reset', severity: 'info', message: `${agentName(p.agent)} ${windowName(p.kind)} limit has reset` });
  }
  return { crossings, notified: next };
}

/** Drops identities of windows that reset more than LIMIT_NOTIFIED_RETENTION_MS ago (and unreadable `limit|` entries); other keys are kept. */
export function pruneLimitNotified(notified: ReadonlySet<string>, now: number): Set<string> {
  const out = new Set<string>();
  for (const key of notified) {
    if (!key.startsWith('limit|')) {
      out.add(key);
      continue;
    }
    const p = parseKey(key);
    if (!p) continue;
    if (p.resetsAt === undefined || p.resetsAt + LIMIT_NOTIFIED_RETENTION_MS >= now) out.add(key);
  }
  return out;
}

/** "Codex 5-hour limit: 82% used, resets in 1h 5m". */
export function limitCrossingMessage(agent: AgentId, w: LimitWindowView, now: number, locale?: string): string {
  const pct = w.usedPercent === null ? 'reset' : `${percentText(w.usedPercent, locale)} used`;
  const reset = resetText(w.resetsAt, now);
  return `${agentName(agent)} ${windowName(w.kind, w.windowMinutes)} limit: ${pct}${reset ? `, ${reset}` : ''}`;
}

// ---------------------------------------------------------------------------------------
// Text

const SHORT_NAMES: Partial<Record<AgentId, string>> = { 'claude-code': 'Claude', 'gemini-cli': 'Gemini' };

function agentName(a: AgentId): string {
  return agentLabel(a, true);
}

/** "5h", "7d", or the window's length ("24h", "30d"); "?" when unknown. */
export function windowLabel(kind: LimitWindowKind, windowMinutes?: number): string {
  if (kind === 'five-hour') return '5h';
  if (kind === 'weekly') return '7d';
  if (windowMinutes === undefined) return '?';
  return windowMinutes % 1440 === 0 ? `${windowMinutes / 1440}d` : windowMinutes % 60 === 0 ? `${windowMinutes / 60}h` : `${windowMinutes}m`;
}

function windowName(kind: LimitWindowKind, windowMinutes?: number): string {
  return kind === 'five-hour' ? '5-hour' : kind === 'weekly' ? 'weekly' : `${windowLabel(kind, windowMinutes)}`;
}

function percentText(p: number, locale?: string): string {
  return `${Math.round(p).toLocaleString(locale)}%`;
}

/** "resets in 2h 14m"; "reset" once passed; '' when the reset time is unknown. */
export function resetText(resetsAt: number | undefined, now: number): string {
  if (resetsAt === undefined) return '';
  if (resetsAt <= now) return 'reset';
  return `resets in ${formatDuration(resetsAt - now)}`;
}

/**
 * Compact status text: `5h 42% · 7d 18%` for one agent; with several, each prefixed by its
 * short name and separated by `|`: `Claude 5h 42% · 7d 18% | Codex 5h 3%`. A reset window shows
 * `5h reset`. '' when there is nothing to show.
 */
export function limitsStatusText(limits: readonly AgentLimits[], locale?: string): string {
  const shown = limits.filter((a) => a.windows.length > 0);
  const parts = shown.map((a) => {
    const ws = a.windows.map((w) => `${windowLabel(w.kind, w.windowMinutes)} ${w.usedPercent === null ? 'reset' : percentText(w.usedPercent, locale)}`).join(' · ');
    return shown.length > 1 ? `${SHORT_NAMES[a.agent] ?? agentName(a.agent)} ${ws}` : ws;
  });
  return parts.join(' | ');
}

const SOURCE_NOTE: Record<LimitSource, string> = { logged: 'from the agent\'s log', statusline: 'from the status line', estimated: 'estimated' };

/** Tooltip lines (markdown; each entry followed by an empty line, join with '\n'). */
export function limitsTooltipLines(limits: readonly AgentLimits[], now: number, opts: { locale?: string; estimated?: EstimatedBlockInfo } = {}): string[] {
  const lines: string[] = [];
  for (const a of limits) {
    const plan = a.planType ? ` (${a.planType})` : '';
    lines.push(`**${agentName(a.agent)} plan limits**${plan} · ${SOURCE_NOTE[a.source]}, ${formatDuration(Math.max(0, now - a.observedAt))} ago`, '');
    for (const w of a.windows) {
      const name = windowName(w.kind, w.windowMinutes);
      const reset = resetText(w.resetsAt, now);
      if (w.usedPercent === null) lines.push(`- ${name}: reset, no new figure yet`, '');
      else lines.push(`- ${name}: ${percentText(w.usedPercent, opts.locale)} used${reset ? ` · ${reset}` : ''}`, '');
    }
  }
  const e = opts.estimated;
  if (e && !limits.some((a) => a.agent === 'claude-code')) {
    const budget = e.budgetPercent !== undefined ? ` · ${percentText(e.budgetPercent, opts.locale)} of your block budget` : '';
    lines.push(`**Claude Code 5-hour block** (estimate, no real limit known) · ${formatUSD(e.spendNanos, opts.locale)}${e.unpricedRequests > 0 ? '+' : ''}, ${formatTokens(e.totalTokens)} tokens${budget} · ${resetText(e.resetsAt, now)}`, '');
  }
  return lines;
}
