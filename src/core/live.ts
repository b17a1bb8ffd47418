/**
 * What is running now: per-session activity state, spend so far, burn rate and context fill.
 * Pure: no I/O, no `vscode`; the clock, file write times and status-line figures are passed in.
 *
 * Cost of `liveSessions`: one pass over `ledger.group('session')` (running totals already kept
 * by the ledger, with each session's first and last request time), then, only for sessions
 * active within the lookback (24 h by default), one pass over that session's own requests
 * (`sessionRequests`). No sorting, and no pass over the records of older sessions.
 */
import type { AgentId } from './events';
import { agentLabel, folderName, formatDuration, formatUSD, md } from './format';
import { spendNanosOf, type Ledger, type RequestRecord } from './ledger';
import { contextWindowFor } from './pricing';

export type SessionState = 'running' | 'idle' | 'finished';

/** Written in the last minute: running (the `runningSeconds` setting's default). */
export const DEFAULT_RUNNING_SECONDS = 60;
/** Written in the last 30 minutes (but not the last minute): idle. Older: finished. */
export const DEFAULT_FINISHED_AFTER_SECONDS = 30 * 60;
/** Sessions whose last activity is older than this are not looked at. */
export const LIVE_LOOKBACK_MS = 24 * 60 * 60_000;
/** Burn rate window: the session's spend over the last 10 minutes, per hour. */
export const DEFAULT_BURN_WINDOW_MS = 10 * 60_000;
export const DEFAULT_CONTEXT_WARN_PERCENT = 80;

/**
 * `running` when the session's last activity (a request or a write to its log) is at most
 * `runningSeconds` old, `idle` up to `finishedAfterSeconds`, else `finished`. A last activity in
 * the future (clock skew) counts as now.
 */
export function sessionActivity(
  lastActivityMs: number,
  now: number,
  runningSeconds = DEFAULT_RUNNING_SECONDS,
  finishedAfterSeconds = DEFAULT_FINISHED_AFTER_SECONDS,
): SessionState {
  const age = Math.max(0, now - lastActivityMs);
  if (age <= runningSeconds * 1000) return 'running';
  if (age <= Math.max(runningSeconds, finishedAfterSeconds) * 1000) return 'idle';
  return 'finished';
}

// ---------------------------------------------------------------------------------------
// Context fill

/** The agent's own context figure for a session (Claude Code's status line `context_window`). */
export interface ContextFigure {
  sessionId: string;
  /** Epoch ms when the figure was observed. */
  observedAt: number;
  /** 0–100, as the agent reports it (`used_percentage`). */
  usedPercent?: number;
  /** The window size the agent uses (`context_window_size`). */
  contextWindowSize?: number;
  /**
   * Tokens in the context now, when the reader knows them (e.g. summed from `current_usage`);
   * NOT a cumulative session total. Used with `contextWindowSize` when `usedPercent` is absent.
   */
  totalInputTokens?: number;
}

export interface ContextFill {
  /** null when unknown (the status line gave only a percent without a window size). */
  usedTokens: number | null;
  windowTokens: number | null;
  /** null when the window is unknown: never a made-up percent. */
  percent: number | null;
  source: 'statusline' | 'latest-request';
  /** percent ≥ the warn threshold. */
  warn: boolean;
}

const finite = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n);

/**
 * The session's context fill: the agent's own figure when there is one newer than the latest
 * request (and it holds a percent, or tokens and a window size); else the latest request's
 * prompt size (input + cache read + cache writes) against the model's context window
 * (`contextWindowFor`). Null when neither gives anything; `percent` null when the window is unknown.
 */
export function contextFill(
  latest: RequestRecord | undefined,
  figure: ContextFigure | undefined,
  warnAt = DEFAULT_CONTEXT_WARN_PERCENT,
  windowFor: (model: string | null) => number | undefined = contextWindowFor,
): ContextFill | null {
  if (figure && (!latest || figure.observedAt > latest.timestamp)) {
    const size = finite(figure.contextWindowSize) && figure.contextWindowSize > 0 ? figure.contextWindowSize : null;
    let percent: number | null = finite(figure.usedPercent) ? Math.max(0, figure.usedPercent) : null;
    let used: number | null = null;
    if (finite(figure.totalInputTokens) && figure.totalInputTokens >= 0) used = figure.totalInputTokens;
    if (percent === null && used !== null && size !== null) percent = (used / size) * 100;
    if (used === null && percent !== null && size !== null) used = Math.round((percent * size) / 100);
    if (percent !== null) return { usedTokens: used, windowTokens: size, percent, source: 'statusline', warn: percent >= warnAt };
  }
  if (!latest) return null;
  const t = latest.tokens;
  const used = t.input + t.cacheRead + t.cacheWrite5m + t.cacheWrite1h;
  const size = windowFor(latest.model) ?? null;
  const percent = size !== null && size > 0 ? (used / size) * 100 : null;
  return { usedTokens: used, windowTokens: size, percent, source: 'latest-request', warn: percent !== null && percent >= warnAt };
}

// ---------------------------------------------------------------------------------------
// Live sessions

export interface LiveInput {
  /** A ledger in live mode (`group('session')` and `sessionRequests`). */
  ledger: Pick<Ledger, 'group' | 'session' | 'sessionRequests'>;
  now: number;
  /** Session id → last write time of its log file (mtime), epoch ms. */
  lastWrites?: ReadonlyMap<string, number>;
  /** Session id → the agent's own context figure. */
  context?: ReadonlyMap<string, ContextFigure>;
  runningSeconds?: number;
  finishedAfterSeconds?: number;
  lookbackMs?: number;
  burnWindowMs?: number;
  contextWarnPercent?: number;
  /** Context window per model (default: the bundled table). */
  windowFor?: (model: string | null) => number | undefined;
  /** Also return finished sessions within the lookback (default false: running and idle only). */
  includeFinished?: boolean;
}

export interface LiveSession {
  sessionId: string;
  agent: AgentId;
  project: string;
  /** Model of the latest request of the main conversation (subagents' requests only if it has none). */
  model: string | null;
  state: SessionState;
  /** First request, epoch ms. */
  startedAt: number;
  /** max(last request, last write to its log). */
  lastActivity: number;
  /** now − startedAt. */
  ageMs: number;
  /** Spend so far (logged cost where the agent logged one, else the estimate), nano-USD. */
  spendNanos: number;
  /** Requests with neither a price nor a logged cost (not in spendNanos). */
  unpricedRequests: number;
  /**
   * Spend of the session's requests in the last `burnWindowMs` (default 10 min), scaled to one
   * hour, nano-USD/h (0 when none in the window).
   */
  burnNanosPerHour: number;
  context: ContextFill | null;
}

const STATE_ORDER: Record<SessionState, number> = { running: 0, idle: 1, finished: 2 };

/** Sessions active now (running, idle; finished too if asked) within the lookback, running first, then latest activity first. */
export function liveSessions(input: LiveInput): LiveSession[] {
  const { ledger, now } = input;
  const lookback = input.lookbackMs ?? LIVE_LOOKBACK_MS;
  const burnWindow = input.burnWindowMs ?? DEFAULT_BURN_WINDOW_MS;
  const out: LiveSession[] = [];
  for (const [sessionId, totals] of ledger.group('session')) {
    const write = input.lastWrites?.get(sessionId);
    const lastActivity = Math.max(totals.lastTimestamp, write ?? -Infinity);
    if (now - lastActivity > lookback) continue;
    const state = sessionActivity(lastActivity, now, input.runningSeconds, input.finishedAfterSeconds);
    if (state === 'finished' && !input.includeFinished) continue;
    const info = ledger.session(sessionId);
    let latestMain: RequestRecord | undefined;
    let latestAny: RequestRecord | undefined;
    let burn = 0;
    for (const r of ledger.sessionRequests(sessionId)) {
      if (!latestAny || r.timestamp > latestAny.timestamp) latestAny = r;
      if (!r.sidechain && !r.subagentId && (!latestMain || r.timestamp > latestMain.timestamp)) latestMain = r;
      if (r.timestamp > now - burnWindow && r.timestamp <= now) burn += spendNanosOf(r) ?? 0;
    }
    const latest = latestMain ?? latestAny;
    out.push({
      sessionId,
      agent: info?.agent ?? latest?.agent ?? 'claude-code',
      project: info?.project ?? latest?.project ?? '',
      model: latest?.model ?? null,
      state,
      startedAt: totals.firstTimestamp,
      lastActivity,
      ageMs: Math.max(0, now - totals.firstTimestamp),
      spendNanos: totals.spendNanos,
      unpricedRequests: totals.unpricedRequests,
      burnNanosPerHour: Math.round((burn * 3_600_000) / burnWindow),
      context: contextFill(latest, input.context?.get(sessionId), input.contextWarnPercent, input.windowFor),
    });
  }
  return out.sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || b.lastActivity - a.lastActivity);
}

// ---------------------------------------------------------------------------------------
// Text


/** `$(pulse) 3 running`; '' when nothing runs. */
export function liveStatusText(sessions: readonly LiveSession[]): string {
  const n = sessions.filter((s) => s.state === 'running').length;
  return n > 0 ? `$(pulse) ${n} running` : '';
}

/** "45%" or "45% ⚠"; "?" when the window is unknown. */
export function contextText(c: ContextFill | null): string {
  if (!c || c.percent === null) return '?';
  return `${Math.round(c.percent)}%${c.warn ? ' ⚠' : ''}`;
}

/**
 * Tooltip lines (markdown; each entry followed by an empty line) for running and idle sessions:
 * `- **Claude Code** · my-repo · claude-opus-4-5 · 12m · $1.23 · context 45%`. Prompts, paths and
 * model ids are log text: backticks and markdown characters are escaped.
 */
export function liveTooltipLines(sessions: readonly LiveSession[], opts: { locale?: string; max?: number } = {}): string[] {
  const shown = sessions.filter((s) => s.state !== 'finished').slice(0, opts.max ?? 10);
  if (shown.length === 0) return [];
  const running = shown.filter((s) => s.state === 'running').length;
  const lines = [`**Active now** (${shown.length}${running > 0 && running < shown.length ? `, ${running} running` : ''})`, ''];
  for (const s of shown) {
    const parts = [`**${agentLabel(s.agent, true)}**`];
    if (s.project) parts.push(md(folderName(s.project)));
    if (s.model) parts.push(md(s.model));
    parts.push(formatDuration(s.ageMs));
    parts.push(`${formatUSD(s.spendNanos, opts.locale)}${s.unpricedRequests > 0 ? '+' : ''}`);
    if (s.context) parts.push(`context ${contextText(s.context)}`);
    if (s.state === 'idle') parts.push('idle');
    lines.push(`- ${parts.join(' · ')}`, '');
  }
  return lines;
}
