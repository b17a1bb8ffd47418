/**
 * Claude Code's status line: the JSON object it pipes to the `statusLine` command on every
 * render, parsed field by field, and the one line `agent-spend statusline` prints back.
 * Pure: no I/O, no `vscode`; the clock is passed in.
 *
 * Every field is guarded on its own: newer versions add fields, any may be missing, null or of
 * another type. A bad field is dropped (and named in `dropped`), the rest kept; nothing throws.
 * Field list checked 2026-11 against Claude Code's status line docs and public scripts:
 * session_id, transcript_path, cwd, model{id,display_name}, workspace{current_dir,project_dir},
 * version, cost{total_cost_usd,total_duration_ms,total_api_duration_ms,total_lines_added,
 * total_lines_removed}, context_window{total_input_tokens,total_output_tokens,context_window_size,
 * used_percentage,remaining_percentage,current_usage{input_tokens,output_tokens,
 * cache_creation_input_tokens,cache_read_input_tokens}}, exceeds_200k_tokens, and on Pro/Max
 * after the first response rate_limits{five_hour,seven_day:{used_percentage,resets_at}}.
 */
import * as z from 'zod/mini';
import type { LimitsSnapshot, LimitWindow } from './limits';

const Str = z.string();
const NonEmpty = z.string().check(z.minLength(1));
const Num = z.number().check(z.nonnegative()); // zod rejects NaN and ±Infinity for z.number()
const Bool = z.boolean();

/** Epoch seconds (what Claude Code sends) or, tolerated, an ISO date string. */
const ResetsAt = z.union([z.number().check(z.positive()), z.string().check(z.minLength(1))]);

export interface StatuslineWindow {
  /** 0–100 (may exceed 100 when over the limit). */
  usedPercent?: number;
  /** Epoch ms. */
  resetsAt?: number;
}

/** The fields of one status line input that were present and well-typed, camelCased. */
export interface StatuslineInput {
  sessionId?: string;
  transcriptPath?: string;
  cwd?: string;
  model?: { id?: string; displayName?: string };
  workspace?: { currentDir?: string; projectDir?: string };
  version?: string;
  cost?: {
    totalCostUSD?: number;
    totalDurationMs?: number;
    totalApiDurationMs?: number;
    totalLinesAdded?: number;
    totalLinesRemoved?: number;
  };
  contextWindow?: {
    totalInputTokens?: number;
    totalOutputTokens?: number;
    contextWindowSize?: number;
    usedPercent?: number;
    remainingPercent?: number;
    currentUsage?: { inputTokens?: number; outputTokens?: number; cacheCreationInputTokens?: number; cacheReadInputTokens?: number };
  };
  exceeds200kTokens?: boolean;
  rateLimits?: { fiveHour?: StatuslineWindow; sevenDay?: StatuslineWindow };
}

export interface ParsedStatusline {
  input: StatuslineInput;
  /** Dotted paths of fields that were present but unusable (wrong type, negative, …). */
  dropped: string[];
  /** Set when the text was not a JSON object at all (empty, malformed, an array, …). */
  error?: string;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Picker {
  readonly dropped: string[] = [];
  /** The field if it validates; undefined (and noted when present) otherwise. */
  pick<T>(o: Obj, key: string, schema: z.ZodMiniType<T>, at: string): T | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    const r = schema.safeParse(v);
    if (r.success) return r.data;
    this.dropped.push(at + key);
    return undefined;
  }
  /** A nested object, or undefined (noted when present but not an object). */
  obj(o: Obj, key: string, at: string): Obj | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (isObj(v)) return v;
    this.dropped.push(at + key);
    return undefined;
  }
}

/** Drops undefined members; undefined when nothing is left. */
function compact<T extends object>(o: T): T | undefined {
  let any = false;
  for (const k of Object.keys(o) as (keyof T)[]) {
    if (o[k] === undefined) delete o[k];
    else any = true;
  }
  return any ? o : undefined;
}

function resetsAtMs(v: number | string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return Math.round(v < 1e11 ? v * 1000 : v); // seconds; tolerate ms
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

function parseWindow(p: Picker, o: Obj | undefined, at: string): StatuslineWindow | undefined {
  if (!o) return undefined;
  return compact({
    usedPercent: p.pick(o, 'used_percentage', Num, at),
    resetsAt: resetsAtMs(p.pick(o, 'resets_at', ResetsAt, at)),
  });
}

/** Parses an already-decoded value (anything). Never throws. */
export function parseStatuslineValue(raw: unknown): ParsedStatusline {
  if (!isObj(raw)) return { input: {}, dropped: [], error: `expected a JSON object, got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}` };
  const p = new Picker();
  const model = p.obj(raw, 'model', '');
  const workspace = p.obj(raw, 'workspace', '');
  const cost = p.obj(raw, 'cost', '');
  const ctx = p.obj(raw, 'context_window', '');
  const usage = ctx ? p.obj(ctx, 'current_usage', 'context_window.') : undefined;
  const limits = p.obj(raw, 'rate_limits', '');
  const input: StatuslineInput = {
    sessionId: p.pick(raw, 'session_id', NonEmpty, ''),
    transcriptPath: p.pick(raw, 'transcript_path', NonEmpty, ''),
    cwd: p.pick(raw, 'cwd', NonEmpty, ''),
    model: model && compact({ id: p.pick(model, 'id', NonEmpty, 'model.'), displayName: p.pick(model, 'display_name', NonEmpty, 'model.') }),
    workspace: workspace && compact({
      currentDir: p.pick(workspace, 'current_dir', NonEmpty, 'workspace.'),
      projectDir: p.pick(workspace, 'project_dir', NonEmpty, 'workspace.'),
    }),
    version: p.pick(raw, 'version', Str, ''),
    cost: cost && compact({
      totalCostUSD: p.pick(cost, 'total_cost_usd', Num, 'cost.'),
      totalDurationMs: p.pick(cost, 'total_duration_ms', Num, 'cost.'),
      totalApiDurationMs: p.pick(cost, 'total_api_duration_ms', Num, 'cost.'),
      totalLinesAdded: p.pick(cost, 'total_lines_added', Num, 'cost.'),
      totalLinesRemoved: p.pick(cost, 'total_lines_removed', Num, 'cost.'),
    }),
    contextWindow: ctx && compact({
      totalInputTokens: p.pick(ctx, 'total_input_tokens', Num, 'context_window.'),
      totalOutputTokens: p.pick(ctx, 'total_output_tokens', Num, 'context_window.'),
      contextWindowSize: p.pick(ctx, 'context_window_size', Num, 'context_window.'),
      usedPercent: p.pick(ctx, 'used_percentage', Num, 'context_window.'),
      remainingPercent: p.pick(ctx, 'remaining_percentage', Num, 'context_window.'),
      currentUsage: usage && compact({
        inputTokens: p.pick(usage, 'input_tokens', Num, 'context_window.current_usage.'),
        outputTokens: p.pick(usage, 'output_tokens', Num, 'context_window.current_usage.'),
        cacheCreationInputTokens: p.pick(usage, 'cache_creation_input_tokens', Num, 'context_window.current_usage.'),
        cacheReadInputTokens: p.pick(usage, 'cache_read_input_tokens', Num, 'context_window.current_usage.'),
      }),
    }),
    exceeds200kTokens: p.pick(raw, 'exceeds_200k_tokens', Bool, ''),
    rateLimits: limits && compact({
      fiveHour: parseWindow(p, p.obj(limits, 'five_hour', 'rate_limits.'), 'rate_limits.five_hour.'),
      sevenDay: parseWindow(p, p.obj(limits, 'seven_day', 'rate_limits.'), 'rate_limits.seven_day.'),
    }),
  };
  return { input: compact(input) ?? {}, dropped: p.dropped };
}

/** Parses the text Claude Code wrote to stdin. Never throws. */
export function parseStatusline(text: string): ParsedStatusline {
  const trimmed = text.trim();
  if (trimmed === '') return { input: {}, dropped: [], error: 'empty input' };
  let raw: unknown;
  try {
    raw = JSON.parse(trimmed);
  } catch (e) {
    return { input: {}, dropped: [], error: `not JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  return parseStatuslineValue(raw);
}

export const FIVE_HOUR_MINUTES = 300;
export const WEEK_MINUTES = 10_080;

/** The plan limits the input carries, as the shared snapshot type; undefined when it has none. */
export function statuslineLimits(input: StatuslineInput, observedAt: number): LimitsSnapshot | undefined {
  const windows: LimitWindow[] = [];
  const add = (w: StatuslineWindow | undefined, kind: 'five-hour' | 'weekly', windowMinutes: number) => {
    if (w?.usedPercent === undefined) return;
    windows.push({ kind, windowMinutes, usedPercent: w.usedPercent, ...(w.resetsAt !== undefined ? { resetsAt: w.resetsAt } : {}) });
  };
  add(input.rateLimits?.fiveHour, 'five-hour', FIVE_HOUR_MINUTES);
  add(input.rateLimits?.sevenDay, 'weekly', WEEK_MINUTES);
  if (windows.length === 0) return undefined;
  return { agent: 'claude-code', source: 'statusline', observedAt, ...(input.sessionId ? { sessionId: input.sessionId } : {}), windows };
}

/** Context fill in percent: Claude's own figure, else current usage over the window size. */
export function contextPercent(input: StatuslineInput): number | undefined {
  const c = input.contextWindow;
  if (!c) return undefined;
  if (c.usedPercent !== undefined) return c.usedPercent;
  if (c.remainingPercent !== undefined && c.remainingPercent <= 100) return 100 - c.remainingPercent;
  const u = c.currentUsage;
  if (u && c.contextWindowSize) {
    const used = (u.inputTokens ?? 0) + (u.cacheCreationInputTokens ?? 0) + (u.cacheReadInputTokens ?? 0);
    return (used / c.contextWindowSize) * 100;
  }
  return undefined;
}

export const FALLBACK_LINE = 'agent-spend';
const SEP = ' · ';
const MAX_LABEL = 40;

export interface LineExtras {
  /** Now, epoch ms (for the time left in a window). */
  now: number;
  /** The session's cost when Claude's input does not carry one (from the spend summary). */
  sessionCostUSD?: number;
  /** Today's spend over all agents, only when known for today. */
  todayCostUSD?: number;
}

/** `$3.20`, `$1,204`, `<$0.01` */
export function formatUSD(usd: number): string {
  if (usd > 0 && usd < 0.005) return '<$0.01';
  if (usd >= 1000) return '$' + Math.round(usd).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return '$' + usd.toFixed(2);
}

/** `2h 10m`, `45m`, `<1m`, `3d 4h` */
export function formatLeft(ms: number): string {
  const m = Math.floor(ms / 60_000);
  if (m < 1) return '<1m';
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

function pct(n: number): string {
  return `${Math.round(n)}%`;
}

/** Untrusted text for a terminal line: no control characters, bounded length. */
function label(s: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
  return clean.length > MAX_LABEL ? clean.slice(0, MAX_LABEL - 1) + '…' : clean;
}

/** Short model name: Claude's display name, else the id without the `claude-` prefix and date. */
function modelLabel(input: StatuslineInput): string | undefined {
  const m = input.model;
  if (m?.displayName) return label(m.displayName);
  if (m?.id) return label(m.id.replace(/^claude-/, '').replace(/-\d{8}$/, ''));
  return undefined;
}

function windowPart(name: string, w: StatuslineWindow | undefined, now: number, withLeft: boolean): string | undefined {
  if (w?.usedPercent === undefined) return undefined;
  if (w.resetsAt !== undefined && w.resetsAt <= now) return undefined; // the window has reset since: the figure is stale
  const left = withLeft && w.resetsAt !== undefined ? ` (${formatLeft(w.resetsAt - now)})` : '';
  return `${name} ${pct(w.usedPercent)}${left}`;
}

/**
 * The one line for Claude Code's terminal, e.g.
 * `Opus 4.6 · ctx 42% · 5h 31% (2h 10m) · 7d 12% · session $3.20 · today $41.07`.
 * Parts that are unknown are left out; never empty.
 */
export function formatStatusline(input: StatuslineInput, extras: LineExtras): string {
  const parts: string[] = [];
  const model = modelLabel(input);
  if (model) parts.push(model);
  const ctx = contextPercent(input);
  if (ctx !== undefined) parts.push(`ctx ${pct(ctx)}`);
  const five = windowPart('5h', input.rateLimits?.fiveHour, extras.now, true);
  if (five) parts.push(five);
  const week = windowPart('7d', input.rateLimits?.sevenDay, extras.now, false);
  if (week) parts.push(week);
  const session = input.cost?.totalCostUSD ?? extras.sessionCostUSD;
  if (session !== undefined && Number.isFinite(session)) parts.push(`session ${formatUSD(session)}`);
  if (extras.todayCostUSD !== undefined && Number.isFinite(extras.todayCostUSD)) parts.push(`today ${formatUSD(extras.todayCostUSD)}`);
  const line = parts.join(SEP);
  return line === '' ? FALLBACK_LINE : line;
}
