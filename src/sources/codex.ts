/**
 * OpenAI Codex CLI: `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl` (and `archived_sessions/`).
 *
 * Usage lives in `event_msg` / `token_count` records whose `info.total_token_usage` is the
 * session's running total. A model call is a CHANGE of that total (0.55+ writes every
 * token_count twice; `info: null` events only carry rate limits), worth the difference.
 * Codex `input_tokens` includes cached input and `output_tokens` includes reasoning.
 *
 * Resumes and forks. A rollout that continues another session starts with its own
 * `session_meta`, then the parent's `session_meta`, then the parent's records replayed with
 * NEW timestamps; when the replay ends the running totals restart from zero. The parser keeps a
 * stack of the sessions whose `session_meta` it has seen: calls are attributed (and keyed) to
 * the session on top, and a restart of the totals while a replay is on top ends that replay.
 * Keys are `codex:<session>:<restarts>:<in>/<cached>/<out>/<reasoning>/<total>`, so a replayed
 * call gets exactly the key it has in the parent's own file and the ledger counts it once;
 * `<restarts>` (totals restarts inside one session, e.g. a CLI 0.57 resume in the same file)
 * keeps a later segment from reusing an earlier segment's key.
 *
 * Known limit: a restart while a replay is on top is always read as the end of the replay. If a
 * replayed parent had itself been resumed in place (its own totals restart mid-file), the
 * parent's calls after that restart are attributed to the child and counted a second time.
 * Pure: no `vscode`, file access only through the injected `SourceFs`.
 */
import * as path from 'node:path';
import type { Dirent } from 'node:fs';
import { PROMPT_TEXT_MAX, type EditEvent, type LimitsEvent, type PromptEvent, type SourceEvent, type TokenCounts, type UsageEvent } from '../core/events';
import type { LimitWindow, LimitWindowKind, LimitsSnapshot } from '../core/limits';
import { extractPatch, parseApplyPatch, type PatchFile } from './editCounts';
import type { DiscoveredFile, DiscoveryResult, LineParser, Source, SourceEnv, SourceFs } from './source';
import { expandHome, isMissing, isObject, nonEmpty, parseTime, tokenCount as count } from './json';

export interface CodexSourceOptions {
  /** Settings override of `CODEX_HOME`. */
  home?: string;
  /** Also read prompts (`user_message`, task starts). Default true. */
  prompts?: boolean;
  /** Also read `apply_patch` calls and their outputs (lines added/removed). Default true. */
  edits?: boolean;
  /**
   * Also read plan limits (`token_count.rate_limits`) as `LimitsEvent`s. Default false (opt-in
   * until every consumer of the events handles them; the registry turns it on).
   */
  limits?: boolean;
}

/** An apply_patch call waiting for its output (JSON-able: saved with the file's offset). */
interface PendingPatch {
  callId: string;
  sessionId: string;
  timestamp: number;
  files: PatchFile[];
}

/** Patch calls waiting for their output, per file; the oldest are dropped beyond this. */
const MAX_PENDING = 64;
/** What apply_patch prints when it applied the patch. */
const PATCH_SUCCESS = 'Success. Updated the following files';

/** [input (incl. cached), cached input, output (incl. reasoning), reasoning, total] as logged. */
type Usage = readonly [number, number, number, number, number];

/** One session whose calls the parser may be reading (the file's own, or a replayed ancestor). */
interface SessionCtx {
  id: string;
  project: string;
  branch?: string;
  parent?: string;
  /** False for a placeholder made from the file name before any `session_meta`. */
  fromMeta: boolean;
  /** Running totals of the last call seen for this session (null: none yet). */
  prev: Usage | null;
  /** How many times this session's totals restarted in this file. */
  restarts: number;
}

const ROLLOUT_NAME = /^rollout-.*\.jsonl$/;
const UUID_IN_NAME = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$/i;
const ZERO: Usage = [0, 0, 0, 0, 0];
/** sessions/YYYY/MM/DD is depth 3; allow some slack, never unbounded. */
const MAX_DEPTH = 8;

export class CodexSource implements Source {
  readonly agent = 'codex' as const;
  /** Only `session_meta`, `turn_context` and `token_count` records matter. Quoted, so the same words
   * inside JSON string values (where quotes are escaped as `\"`) do not match. */
  readonly needles: readonly string[];

  constructor(
    private readonly env: SourceEnv,
    private readonly fs: SourceFs,
    private readonly opts: CodexSourceOptions = {},
  ) {
    const usage = ['"session_meta"', '"turn_context"', '"token_count"'];
    this.needles = [...usage, ...(opts.prompts === false ? [] : ['"user_message"']), ...(opts.edits === false ? [] : ['apply_patch', PATCH_SUCCESS])];
  }

  /** The Codex home in use: settings override, else `CODEX_HOME`, else `<home>/.codex`. */
  get home(): string {
    const configured = nonEmpty(this.opts.home) ?? nonEmpty(this.env.env.CODEX_HOME);
    if (configured !== undefined) return this.expandTilde(configured);
    return path.join(this.env.home, '.codex');
  }

  async discover(): Promise<DiscoveryResult> {
    const home = this.home;
    const result: DiscoveryResult = { files: [], roots: [], problems: [] };
    for (const sub of ['sessions', 'archived_sessions']) {
      const root = path.join(home, sub);
      const files: DiscoveredFile[] = [];
      const readable = await this.walk(root, root, 0, files, result.problems);
      if (readable) result.roots.push(root);
      result.files.push(...files);
    }
    result.files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    result.problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return result;
  }

  createParser(file: string, state?: unknown): LineParser {
    const edits = this.opts.edits !== false;
    const limits = this.opts.limits === true;
    if (state !== undefined) return CodexParser.restore(file, state, edits, limits);
    return new CodexParser(file, edits, limits);
  }

  /** Collects rollouts under `dir`; false when `dir` is missing or unreadable. */
  private async walk(
    dir: string,
    root: string,
    depth: number,
    out: DiscoveredFile[],
    problems: DiscoveryResult['problems'],
  ): Promise<boolean> {
    let entries: Dirent[];
    try {
      entries = await this.fs.readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (!isMissing(err)) problems.push({ path: dir, message: errorMessage(err) });
      return false;
    }
    await Promise.all(
      entries.map(async (entry) => {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          if (depth < MAX_DEPTH) await this.walk(full, root, depth + 1, out, problems);
          return;
        }
        if (!ROLLOUT_NAME.test(entry.name)) return;
        if (entry.isFile()) {
          out.push({ path: full, root });
        } else if (entry.isSymbolicLink()) {
          // Follow links to files only (a linked folder could loop).
          try {
            if ((await this.fs.stat(full)).isFile()) out.push({ path: full, root });
          } catch {
            /* dangling link: nothing to read */
          }
        }
      }),
    );
    return true;
  }

  private expandTilde(p: string): string {
    return expandHome(p, this.env.home);
  }
}

/** Parses one rollout file, line by line, keeping its state between calls. */
export class CodexParser implements LineParser {
  /** [0] is the file's own session; above it, replayed ancestors (innermost on top). */
  private readonly stack: SessionCtx[] = [];
  private model: string | null = null;
  private lastTimestamp = 0;
  /** apply_patch calls (call_id →) whose output has not been read yet. */
  private readonly pending = new Map<string, PendingPatch>();
  /** Signature of the last limits emitted from this file (Codex repeats them on every token_count). */
  private lastLimits: string | null = null;

  constructor(private readonly file: string, private readonly edits = true, private readonly limits = false) {}

  saveState(): unknown {
    const state: Record<string, unknown> = { stack: this.stack, model: this.model, lastTimestamp: this.lastTimestamp };
    if (this.pending.size > 0) state.pending = [...this.pending.values()];
    if (this.lastLimits !== null) state.lastLimits = this.lastLimits;
    return state;
  }

  /** A parser continuing from `saveState()`; anything not of that shape gives a fresh parser. */
  static restore(file: string, state: unknown, edits = true, limits = false): CodexParser {
    const parser = new CodexParser(file, edits, limits);
    if (isObject(state) && Array.isArray(state.pending)) {
      for (const p of state.pending) if (isPendingPatch(p)) parser.pending.set(p.callId, p);
    }
    if (isObject(state) && typeof state.lastLimits === 'string') parser.lastLimits = state.lastLimits;
    if (!isObject(state) || !Array.isArray(state.stack) || !state.stack.every(isSessionCtx)) return parser;
    parser.stack.push(...(state.stack as SessionCtx[]).map((c) => ({ ...c, prev: c.prev ? ([...c.prev] as unknown as Usage) : null })));
    parser.model = typeof state.model === 'string' ? state.model : null;
    parser.lastTimestamp = typeof state.lastTimestamp === 'number' ? state.lastTimestamp : 0;
    return parser;
  }

  parseLine(line: string): SourceEvent[] {
    const record: unknown = JSON.parse(line); // malformed: throw, the tailer counts and skips it
    if (!isObject(record) || !isObject(record.payload)) return [];
    const payload = record.payload;
    switch (record.type) {
      case 'session_meta':
        this.onSessionMeta(payload);
        return [];
      case 'turn_context':
        this.onTurnContext(payload);
        return [];
      case 'response_item':
        return this.edits ? this.onResponseItem(payload, this.peekTimestamp(record.timestamp)) : [];
      case 'event_msg':
        if (payload.type === 'user_message') {
          const previous = this.lastTimestamp;
          return this.onUserMessage(payload, this.timestampOf(record.timestamp), previous);
        }
        if (payload.type !== 'token_count') return [];
        return this.onTokenCountAndLimits(payload, this.timestampOf(record.timestamp));
      default:
        return [];
    }
  }

  private onSessionMeta(payload: Record<string, unknown>): void {
    const id = nonEmpty(payload.id) ?? nonEmpty(payload.session_id);
    if (id === undefined) return;
    const project = nonEmpty(payload.cwd) ?? '';
    const branch = isObject(payload.git) ? nonEmpty(payload.git.branch) : undefined;
    const parent = declaredParent(payload);

    const own = this.stack[0];
    if (own === undefined || (this.stack.length === 1 && !own.fromMeta && (own.prev === null || own.id === id))) {
      // The file's own session (possibly replacing the file-name placeholder).
      this.stack[0] = { id, project, branch, parent, fromMeta: true, prev: own?.prev ?? null, restarts: own?.restarts ?? 0 };
      return;
    }
    const seen = this.stack.findIndex((c) => c.id === id);
    if (seen >= 0) {
      // A session already on the stack announces itself again: we are back in it.
      this.stack.length = seen + 1;
      return;
    }
    // A replayed ancestor: the session below continues it.
    const below = this.stack[this.stack.length - 1]!;
    below.parent ??= id;
    this.stack.push({ id, project, branch, parent, fromMeta: true, prev: null, restarts: 0 });
    this.model = null; // the ancestor's calls see only the ancestor's own turn_context records
  }

  private onTurnContext(payload: Record<string, unknown>): void {
    const model = nonEmpty(payload.model);
    if (model !== undefined) this.model = model;
    const cwd = nonEmpty(payload.cwd);
    if (cwd !== undefined) this.top().project = cwd;
  }

  /** A `token_count` record: the call's usage (if any), then the plan limits (if changed). */
  private onTokenCountAndLimits(payload: Record<string, unknown>, timestamp: number): SourceEvent[] {
    const usage: SourceEvent[] = this.onTokenCount(payload, timestamp);
    if (!this.limits) return usage;
    const limits = this.onRateLimits(payload.rate_limits, timestamp);
    return limits ? [...usage, limits] : usage;
  }

  /**
   * Plan limits, emitted only when they differ from the last ones of this file. Skipped while a
   * replayed ancestor is on top: a replay repeats the parent's old figures with new timestamps.
   */
  private onRateLimits(value: unknown, timestamp: number): LimitsEvent | undefined {
    if (this.stack.length > 1) return undefined;
    const read = readRateLimits(value, timestamp);
    if (!read) return undefined;
    const signature = JSON.stringify(read);
    if (signature === this.lastLimits) return undefined;
    this.lastLimits = signature;
    const ctx = this.top();
    const snapshot: LimitsSnapshot = { agent: 'codex', source: 'logged', observedAt: timestamp, sessionId: ctx.id, windows: read.windows };
    if (read.planType !== undefined) snapshot.planType = read.planType;
    return { kind: 'limits', agent: 'codex', key: `codexl:${ctx.id}:${timestamp}`, sessionId: ctx.id, timestamp, file: this.file, snapshot };
  }

  private onTokenCount(payload: Record<string, unknown>, timestamp: number): UsageEvent[] {
    const info = payload.info;
    if (!isObject(info)) return []; // info: null carries only rate limits
    const total = readUsage(info.total_token_usage);
    if (total === null) return [];
    const last = readUsage(info.last_token_usage);

    let ctx = this.top();
    if (ctx.prev !== null && sameUsage(total, ctx.prev)) return []; // re-emission of the same call

    let delta: Usage;
    if (ctx.prev === null) {
      delta = total; // first call of this session in this file: totals count from zero
    } else if (isRestart(total, ctx.prev, last)) {
      if (this.stack.length > 1) {
        this.stack.pop(); // the replay of an ancestor is over: back to the session that replayed it
        ctx = this.top();
      }
      if (ctx.prev !== null) ctx.restarts += 1;
      delta = last ?? total;
    } else {
      delta = subtract(total, ctx.prev);
    }
    ctx.prev = total;
    if (sameUsage(delta, ZERO)) return []; // totals (re)starting at zero: no call was made

    const event: UsageEvent = {
      agent: 'codex',
      key: `codex:${ctx.id}:${ctx.restarts}:${total.join('/')}`,
      sessionId: ctx.id,
      project: ctx.project,
      model: this.model,
      timestamp,
      tokens: toTokenCounts(delta),
      file: this.file,
    };
    if (ctx.parent !== undefined) event.parentSessionId = ctx.parent;
    if (ctx.branch !== undefined) event.branch = ctx.branch;
    return [event];
  }

  /**
   * A prompt typed by the person: starts a task. Keyed by the session that received it and
   * its cumulative totals at that point (not by timestamp: a resumed rollout replays the
   * parent's prompts with new timestamps), plus the text.
   */
  private onUserMessage(payload: Record<string, unknown>, timestamp: number, previous: number): PromptEvent[] {
    const text = typeof payload.message === 'string' ? payload.message : undefined;
    if (!text || !text.trim()) return [];
    // A replay is written in one burst, milliseconds apart; a prompt typed seconds later is the
    // resumed session's own (its first token count, which would end the replay, comes after it).
    if (this.stack.length > 1 && previous > 0 && timestamp - previous > REPLAY_GAP_MS) this.stack.length = 1;
    const ctx = this.top();
    const at = ctx.prev ? ctx.prev.join('/') : '0';
    return [{
      kind: 'prompt', agent: 'codex', key: `codexp:${ctx.id}:${ctx.restarts}:${at}:${textHash(text)}`,
      sessionId: ctx.id, timestamp, text: text.slice(0, PROMPT_TEXT_MAX), file: this.file,
    }];
  }

  /** apply_patch calls (a custom tool, or a shell / exec command running it) and their outputs. */
  private onResponseItem(payload: Record<string, unknown>, timestamp: number): EditEvent[] {
    const type = payload.type;
    if (type === 'custom_tool_call' || type === 'function_call') {
      const raw = type === 'custom_tool_call' ? payload.input : payload.arguments;
      if (typeof raw !== 'string' || !raw.includes('*** Begin Patch')) return [];
      if (type === 'custom_tool_call' && payload.name !== 'apply_patch') return [];
      if (type === 'function_call' && payload.name !== 'apply_patch' && !raw.includes('apply_patch')) return [];
      const patch = extractPatch(type === 'custom_tool_call' ? raw : argumentText(raw));
      const files = patch ? parseApplyPatch(patch) : [];
      if (files.length === 0) return [];
      const callId = nonEmpty(payload.call_id) ?? `${this.top().id}:${timestamp}`;
      this.pending.delete(callId);
      this.pending.set(callId, { callId, sessionId: this.top().id, timestamp, files });
      if (this.pending.size > MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
      return [];
    }
    if (type === 'custom_tool_call_output' || type === 'function_call_output') {
      const callId = nonEmpty(payload.call_id);
      const call = callId !== undefined ? this.pending.get(callId) : undefined;
      if (!call) return [];
      this.pending.delete(call.callId);
      const output = typeof payload.output === 'string' ? payload.output : JSON.stringify(payload.output ?? '');
      const failed = !output.includes(PATCH_SUCCESS);
      return call.files.map((f, i) => {
        const ev: EditEvent = {
          kind: 'edit', agent: 'codex', key: `codexe:${call.callId}:${i}`, sessionId: call.sessionId, timestamp: call.timestamp,
          file: this.file, path: f.path, linesAdded: failed ? 0 : f.added, linesRemoved: failed ? 0 : f.removed, exact: failed || f.exact,
        };
        if (failed) ev.failed = true;
        return ev;
      });
    }
    return [];
  }

  private top(): SessionCtx {
    if (this.stack.length === 0) {
      this.stack.push({ id: sessionIdFromFileName(this.file), project: '', fromMeta: false, prev: null, restarts: 0 });
    }
    return this.stack[this.stack.length - 1]!;
  }

  /** A record's time without moving `lastTimestamp` (whose gaps tell replays from typed prompts). */
  private peekTimestamp(value: unknown): number {
    return timeOf(value) ?? this.lastTimestamp;
  }

  private timestampOf(value: unknown): number {
    const ms = timeOf(value);
    if (ms !== undefined) this.lastTimestamp = ms;
    return this.lastTimestamp;
  }
}

/**
 * The totals restarted from zero: they went down, or (rarer: the first call after a restart is
 * bigger than everything before it) they equal this call's own usage although earlier calls
 * exist, i.e. total = last but total != previous + last.
 */
function isRestart(total: Usage, prev: Usage, last: Usage | null): boolean {
  for (let i = 0; i < total.length; i++) if (total[i]! < prev[i]!) return true;
  return last !== null && sameUsage(total, last) && !sameUsage(subtract(total, prev), last);
}

/**
 * `rate_limits` → windows (null when absent, null, or without a usable window). `primary` /
 * `secondary`: `{used_percent, window_minutes, resets_at (epoch s) | resets_in_seconds (relative
 * to the event, older CLIs)}`. The kind comes from `window_minutes` (300 → five-hour, 10080 →
 * weekly, else other); without it, primary → five-hour and secondary → weekly.
 */
export function readRateLimits(value: unknown, timestamp: number): { windows: LimitWindow[]; planType?: string } | null {
  if (!isObject(value)) return null;
  const windows: LimitWindow[] = [];
  for (const [field, fallback] of [['primary', 'five-hour'], ['secondary', 'weekly']] as const) {
    const w = readWindow(value[field], fallback, timestamp);
    if (w) windows.push(w);
  }
  if (windows.length === 0) return null;
  const planType = nonEmpty(value.plan_type);
  return planType === undefined ? { windows } : { windows, planType };
}

function readWindow(value: unknown, fallback: LimitWindowKind, timestamp: number): LimitWindow | undefined {
  if (!isObject(value)) return undefined;
  const used = value.used_percent;
  if (typeof used !== 'number' || !Number.isFinite(used)) return undefined;
  const minutes = typeof value.window_minutes === 'number' && Number.isFinite(value.window_minutes) && value.window_minutes > 0 ? value.window_minutes : undefined;
  const kind: LimitWindowKind = minutes === undefined ? fallback : minutes === 300 ? 'five-hour' : minutes === 10080 ? 'weekly' : 'other';
  const w: LimitWindow = { kind, usedPercent: Math.max(0, used) };
  if (minutes !== undefined) w.windowMinutes = minutes;
  const at = value.resets_at;
  const inSeconds = value.resets_in_seconds;
  if (typeof at === 'number' && Number.isFinite(at) && at > 0) w.resetsAt = Math.round(at * 1000);
  else if (typeof inSeconds === 'number' && Number.isFinite(inSeconds) && inSeconds >= 0 && timestamp > 0) w.resetsAt = timestamp + Math.round(inSeconds * 1000);
  return w;
}

function readUsage(value: unknown): Usage | null {
  if (!isObject(value)) return null;
  const fields = ['input_tokens', 'cached_input_tokens', 'output_tokens', 'reasoning_output_tokens'] as const;
  if (!fields.some((f) => typeof value[f] === 'number')) return null;
  const input = count(value.input_tokens);
  const output = count(value.output_tokens);
  const total = typeof value.total_tokens === 'number' ? count(value.total_tokens) : input + output;
  return [input, count(value.cached_input_tokens), output, count(value.reasoning_output_tokens), total];
}

function subtract(a: Usage, b: Usage): Usage {
  return [a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3], a[4] - b[4]];
}

function sameUsage(a: Usage, b: Usage): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3] && a[4] === b[4];
}

/** Codex input includes cached input; output includes reasoning (kept as the informational subset). */
function toTokenCounts(u: Usage): TokenCounts {
  return {
    input: Math.max(0, u[0] - u[1]),
    output: u[2],
    cacheWrite5m: 0,
    cacheWrite1h: 0,
    cacheRead: u[1],
    reasoning: u[3],
  };
}

/** A parent named by the session itself: a subagent's spawning thread, else the session it was forked from. */
function declaredParent(payload: Record<string, unknown>): string | undefined {
  const source = payload.source;
  if (isObject(source) && isObject(source.subagent) && isObject(source.subagent.thread_spawn)) {
    const spawner = nonEmpty(source.subagent.thread_spawn.parent_thread_id);
    if (spawner !== undefined) return spawner;
  }
  return nonEmpty(payload.forked_from_id);
}

function sessionIdFromFileName(file: string): string {
  const base = path.basename(file);
  const m = UUID_IN_NAME.exec(base);
  return m ? m[1]!.toLowerCase() : base.replace(/\.jsonl$/, '');
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isSessionCtx(v: unknown): v is SessionCtx {
  return isObject(v) && typeof v.id === 'string' && typeof v.project === 'string' && typeof v.fromMeta === 'boolean' &&
    typeof v.restarts === 'number' && (v.prev === null || (Array.isArray(v.prev) && v.prev.length === 5 && v.prev.every((n) => typeof n === 'number')));
}

function isPendingPatch(v: unknown): v is PendingPatch {
  return isObject(v) && typeof v.callId === 'string' && typeof v.sessionId === 'string' && typeof v.timestamp === 'number' &&
    Array.isArray(v.files) && v.files.every((f) => isObject(f) && typeof f.path === 'string' && typeof f.added === 'number' && typeof f.removed === 'number' && typeof f.exact === 'boolean');
}

/** The strings of a function call's JSON arguments (a shell command array, a script), joined by newlines. */
function argumentText(raw: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return raw;
  }
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (isObject(v)) Object.values(v).forEach(walk);
  };
  walk(parsed);
  return out.join('\n');
}

/** Longer than any gap inside a replayed burst (they are milliseconds apart), shorter than a person types. */
const REPLAY_GAP_MS = 2_000;

/** A short stable hash of a text (FNV-1a), to tell prompts apart in keys. */
function textHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}

/** A record's time: an ISO string (parsed without Date.parse when it is the usual UTC form) or epoch ms. */
function timeOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  return parseTime(value);
}
