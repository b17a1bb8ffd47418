/**
 * The records every source produces and every view consumes.
 * Pure types + zod schemas: no I/O, no `vscode`.
 */
import * as z from 'zod/mini';
import type { LimitsSnapshot } from './limits';

export const AGENT_IDS = ['claude-code', 'codex', 'gemini-cli', 'opencode', 'cline', 'roo-code', 'kilo-code', 'aider'] as const;
export const AgentIdSchema = z.enum(AGENT_IDS);
export type AgentId = z.infer<typeof AgentIdSchema>;

/** Token counts of one model request, normalised across agents. */
/** A non-negative integer token count. */
const count = () => z.number().check(z.int(), z.nonnegative());

export const TokenCountsSchema = z.object({
  /** Uncached input tokens (cache reads and writes excluded). */
  input: count(),
  /** Output tokens including reasoning/thinking tokens (what is billed as output). */
  output: count(),
  /** Cache writes billed at the 5-minute rate. */
  cacheWrite5m: count(),
  /** Cache writes billed at the 1-hour rate. */
  cacheWrite1h: count(),
  cacheRead: count(),
  /** Reasoning tokens, a subset of `output` (informational; already billed as output). */
  reasoning: count(),
});
export type TokenCounts = z.infer<typeof TokenCountsSchema>;

export const ZERO_TOKENS: Readonly<TokenCounts> = Object.freeze({
  input: 0, output: 0, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 0, reasoning: 0,
});

/**
 * One model request (API call) as logged by an agent.
 * `key` identifies the request across ALL files of the agent: copies of the same
 * request (streamed chunks, resumed sessions, subagent mirrors) share it.
 */
export const UsageEventSchema = z.object({
  agent: AgentIdSchema,
  key: z.string().check(z.minLength(1)),
  sessionId: z.string(),
  /** Set when the session is a child of another session (agents that give children their own session id). */
  parentSessionId: z.optional(z.string()),
  /** Subagent id when the request was made by a subagent inside `sessionId` (Claude Code `agentId`). */
  subagentId: z.optional(z.string()),
  /** Working folder of the session as logged (absolute path), '' when unknown. */
  project: z.string(),
  branch: z.optional(z.string()),
  /** Model id exactly as logged; null when the log does not say. */
  model: z.nullable(z.string()),
  /** Epoch milliseconds. */
  timestamp: z.number(),
  tokens: TokenCountsSchema,
  /** Cost the agent itself logged for this request, if any. */
  loggedCostUSD: z.optional(z.number()),
  /** The log file this copy was read from. */
  file: z.string(),
  /** True for subagent/sidechain copies: on a tie, the main session's copy is the one attributed. */
  sidechain: z.optional(z.boolean()),
});
export type UsageEvent = z.infer<typeof UsageEventSchema>;

/** What a source reports about a problem in the input, once per file and kind. */
export interface SourceWarning {
  file: string;
  kind: 'malformed-line' | 'oversized-line' | 'unreadable' | 'truncated' | 'other';
  message: string;
  count: number;
}

/**
 * A human prompt that starts a task (one prompt and the agent's work until the next one).
 * `text` is untrusted log text, cut to PROMPT_TEXT_MAX characters.
 */
export const PromptEventSchema = z.object({
  kind: z.literal('prompt'),
  agent: AgentIdSchema,
  /** Unique per prompt across files (copies in resumed sessions share it). */
  key: z.string().check(z.minLength(1)),
  sessionId: z.string(),
  timestamp: z.number(),
  text: z.string(),
  file: z.string(),
});
export type PromptEvent = z.infer<typeof PromptEventSchema>;

export const PROMPT_TEXT_MAX = 500;

/**
 * One change an agent made to a file with its own edit tool (Claude Code Edit / MultiEdit /
 * Write / NotebookEdit, Codex apply_patch), counted from what the log shows was applied.
 * A tool call that touches several files (a Codex patch) gives one event per file.
 */
export const EditEventSchema = z.object({
  kind: z.literal('edit'),
  agent: AgentIdSchema,
  /** Unique per tool call and file across files (copies in resumed sessions share it): the tool_use / call id. */
  key: z.string().check(z.minLength(1)),
  sessionId: z.string(),
  /** Epoch milliseconds of the tool call. */
  timestamp: z.number(),
  /** The log file this copy was read from. */
  file: z.string(),
  /** The edited file as logged (absolute for Claude Code; relative to the session folder for Codex patches). Untrusted. */
  path: z.string(),
  linesAdded: count(),
  linesRemoved: count(),
  /** False when the pre-image was unknown (e.g. a Write over a file the log does not show, a deleted file): the counts are a lower bound. */
  exact: z.boolean(),
  /** The tool reported an error: nothing was applied and the counts are 0. */
  failed: z.optional(z.boolean()),
});
export type EditEvent = z.infer<typeof EditEventSchema>;

/**
 * Plan limits as an agent logged them (Codex `token_count.rate_limits`), emitted when they
 * change. Never usage: the ledger keeps the latest snapshot per agent apart from requests.
 */
export interface LimitsEvent {
  kind: 'limits';
  agent: AgentId;
  /** Unique per observation (the session and the event's time). */
  key: string;
  sessionId: string;
  /** Epoch ms of the log event (= `snapshot.observedAt`). */
  timestamp: number;
  file: string;
  snapshot: LimitsSnapshot;
}

/** What a source emits: usage of a request, a prompt, an edit, or plan limits. */
export type SourceEvent = UsageEvent | PromptEvent | EditEvent | LimitsEvent;

export function isPrompt(e: SourceEvent): e is PromptEvent {
  return (e as PromptEvent).kind === 'prompt';
}

export function isEdit(e: SourceEvent): e is EditEvent {
  return (e as EditEvent).kind === 'edit';
}

export function isLimits(e: SourceEvent): e is LimitsEvent {
  return (e as LimitsEvent).kind === 'limits';
}

/** A request's usage (neither a prompt, an edit nor limits). */
export function isUsage(e: SourceEvent): e is UsageEvent {
  return (e as { kind?: string }).kind === undefined;
}
