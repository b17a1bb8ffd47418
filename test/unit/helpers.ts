/** Shared test helpers: temp folders, real-log paths, record builders in the agents' real shapes. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EditEventSchema, isEdit, isLimits, isPrompt, isUsage, PromptEventSchema, UsageEventSchema, type SourceEvent, type TokenCounts, type UsageEvent } from '../../src/core/events';

/** Repository root (tests run from out/test/unit). */
export const REPO_ROOT = path.resolve(__dirname, '../../..');
/** Real agent logs, read in place (never copied into the repo). */
export const REAL_LOGS = path.resolve(REPO_ROOT, '../shared/real-logs');

export function tempDir(prefix = 'agent-spend-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function writeFile(file: string, content: string | Buffer): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

export interface ClaudeAssistantOpts {
  sessionId: string;
  messageId: string;
  requestId?: string;
  model?: string;
  timestamp: string;
  cwd?: string;
  gitBranch?: string;
  input?: number;
  output?: number;
  cacheWrite?: number;
  cacheWrite1h?: number;
  cacheRead?: number;
  isSidechain?: boolean;
  agentId?: string;
  costUSD?: number;
  content?: unknown[];
}

/** One `assistant` transcript line as Claude Code 2.x writes it. */
export function claudeAssistant(o: ClaudeAssistantOpts): string {
  const usage: Record<string, unknown> = {
    input_tokens: o.input ?? 3,
    cache_creation_input_tokens: o.cacheWrite ?? 0,
    cache_read_input_tokens: o.cacheRead ?? 0,
    output_tokens: o.output ?? 10,
    service_tier: 'standard',
  };
  if (o.cacheWrite1h !== undefined) {
    usage['cache_creation'] = { ephemeral_5m_input_tokens: (o.cacheWrite ?? 0) - o.cacheWrite1h, ephemeral_1h_input_tokens: o.cacheWrite1h };
  }
  const rec: Record<string, unknown> = {
    parentUuid: null,
    isSidechain: o.isSidechain ?? false,
    message: {
      model: o.model ?? 'claude-sonnet-4-5-20250929',
      id: o.messageId,
      type: 'message',
      role: 'assistant',
      content: o.content ?? [{ type: 'text', text: 'ok' }],
      stop_reason: null,
      usage,
    },
    type: 'assistant',
    uuid: `${o.messageId}-${o.output ?? 10}-${Math.random().toString(16).slice(2)}`,
    timestamp: o.timestamp,
    cwd: o.cwd ?? '/home/u/proj',
    sessionId: o.sessionId,
    version: '2.0.58',
    gitBranch: o.gitBranch ?? 'main',
  };
  if (o.requestId !== undefined) rec['requestId'] = o.requestId;
  if (o.agentId !== undefined) rec['agentId'] = o.agentId;
  if (o.costUSD !== undefined) rec['costUSD'] = o.costUSD;
  return JSON.stringify(rec);
}

export function claudeUser(sessionId: string, text: string, timestamp: string): string {
  return JSON.stringify({ parentUuid: null, isSidechain: false, type: 'user', message: { role: 'user', content: text }, uuid: 'u-' + timestamp, timestamp, cwd: '/home/u/proj', sessionId });
}

export function tokens(p: Partial<TokenCounts>): TokenCounts {
  return { input: 0, output: 0, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 0, reasoning: 0, ...p };
}

/** The event as a usage event (throws on a prompt): tests of usage parsing. */
export function asUsage(e: SourceEvent | undefined): UsageEvent {
  if (!e || !isUsage(e)) throw new Error(`expected a usage event, got ${JSON.stringify(e)}`);
  return e;
}

/** Only the usage events (prompts dropped). */
export function usageOnly(events: readonly SourceEvent[]): UsageEvent[] {
  return events.filter(isUsage);
}

/** Validates an event against its schema (usage or prompt); throws on a malformed one. */
export function validateEvent(e: SourceEvent): void {
  if (isPrompt(e)) PromptEventSchema.parse(e);
  else if (isEdit(e)) EditEventSchema.parse(e);
  else if (isLimits(e)) assert.ok(e.snapshot.windows.length > 0 && e.snapshot.source === 'logged', 'a limits event has windows');
  else UsageEventSchema.parse(e);
}

/** Epoch ms of a local time (the process's TZ). */
export function localTime(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0): number {
  return new Date(y, mo - 1, d, h, mi, s, ms).getTime();
}

/** Runs `fn` with process.env.TZ set to `tz`, then restores it. */
export function withTZ<T>(tz: string, fn: () => T): T {
  const old = process.env.TZ;
  process.env.TZ = tz;
  try {
    return fn();
  } finally {
    if (old === undefined) delete process.env.TZ;
    else process.env.TZ = old;
  }
}
