/**
 * Claude Code transcripts: `<config>/projects/<encoded-cwd>/<sessionId>.jsonl`, with
 * subagents inline (`isSidechain`), as project-level `agent-<hex>.jsonl`, or under
 * `<sessionId>/subagents/agent-*.jsonl`. One API response is streamed into several
 * `assistant` lines that repeat its usage; they share the key message.id+requestId
 * and the ledger keeps the copy with the largest output (see FORMATS.md).
 */
import * as path from 'node:path';
import { PROMPT_TEXT_MAX, type PromptEvent, type SourceEvent, type TokenCounts, type UsageEvent } from '../core/events';
import type { DiscoveryResult, LineParser, Source, SourceEnv, SourceFs } from './source';
import { expandHome, isObject, nonEmpty as str, parseTime, tokenCount as count } from './json';
import { walkFiles } from './walk';

export interface ClaudeCodeOptions {
  /** Extra locations from settings: config folders (holding `projects/`) or `projects/` folders themselves. */
  extraPaths?: readonly string[];
  /** Also read human prompts (task starts); each needle is one more pass over the bytes. Default true. */
  prompts?: boolean;
}

const USAGE_NEEDLE = '"usage"';
/** A `user` message whose content is a string or starts with a text block (tool results never match). */
const PROMPT_NEEDLES = ['"role":"user","content":"', '"role":"user","content":[{"type":"text"'];

export class ClaudeCodeSource implements Source {
  readonly agent = 'claude-code' as const;
  readonly needles: readonly string[];

  constructor(
    private readonly env: SourceEnv,
    private readonly fs: SourceFs,
    private readonly opts: ClaudeCodeOptions = {},
  ) {
    this.needles = opts.prompts === false ? [USAGE_NEEDLE] : [USAGE_NEEDLE, ...PROMPT_NEEDLES];
  }

  /** The `projects/` folders to read, most specific first, without duplicates. */
  projectRoots(): string[] {
    const { env: vars, home } = this.env;
    const configured = vars['CLAUDE_CONFIG_DIR']?.trim();
    // CLAUDE_CONFIG_DIR replaces the defaults and may list several folders separated by commas.
    const configDirs = configured
      ? configured.split(',').map((p) => p.trim()).filter(Boolean)
      : [path.join(vars['XDG_CONFIG_HOME']?.trim() || path.join(home, '.config'), 'claude'), path.join(home, '.claude')];
    const roots = configDirs.map((d) => path.join(expandHome(d, home), 'projects'));
    for (const extra of this.opts.extraPaths ?? []) {
      const p = expandHome(extra, home);
      roots.push(path.basename(p) === 'projects' ? p : path.join(p, 'projects'));
    }
    return [...new Set(roots.map((r) => path.resolve(r)))];
  }

  async discover(): Promise<DiscoveryResult> {
    const result: DiscoveryResult = { files: [], roots: [], problems: [] };
    for (const root of this.projectRoots()) {
      // projects/<cwd>/<file>.jsonl and projects/<cwd>/<session>/subagents/<file>.jsonl
      await walkFiles(this.fs, root, 3, (p) => p.endsWith('.jsonl'), (dir) => dir !== 'tool-results' && dir !== 'memory', result);
    }
    return result;
  }

  createParser(file: string, state?: unknown): LineParser {
    const parser = new ClaudeCodeParser(file);
    if (isObject(state) && typeof state['lastTimestamp'] === 'number') parser.lastTimestamp = state['lastTimestamp'];
    return parser;
  }
}

/** Subagent files are named agent-<id>.jsonl; their records carry the parent's sessionId. */
/**
 * The content blocks (thinking, text, tool inputs) are most of an assistant line and none
 * of its usage. The API writes `content` before `stop_reason` in the message, so cutting
 * from the first `"content":[` to the last `,"stop_reason":` leaves the record without its
 * content; anything that does not parse to an assistant message with usage falls back to a
 * full parse.
 */
const CONTENT_KEY = Buffer.from('"content":[');
const STOP_KEY = Buffer.from(',"stop_reason":');
const AGENT_FILE = /^agent-(.+)\.jsonl$/;

class ClaudeCodeParser implements LineParser {
  private readonly fileAgentId: string | undefined;
  private readonly folderProject: string;
  /** Timestamp of the latest record: used for a record that lacks its own. */
  lastTimestamp = 0;

  constructor(private readonly file: string) {
    this.fileAgentId = AGENT_FILE.exec(path.basename(file))?.[1];
    // projects/<encoded-cwd>/... : the encoded folder is lossy, used only when records lack `cwd`.
    const parts = file.split(/[\\/]/);
    const i = parts.lastIndexOf('projects');
    this.folderProject = i >= 0 && parts[i + 1] ? parts[i + 1]! : '';
  }

  parseBytes(buf: Buffer, start: number, end: number): SourceEvent[] {
    const contentAt = buf.indexOf(CONTENT_KEY, start);
    if (contentAt >= 0 && contentAt < end) {
      const stopAt = buf.lastIndexOf(STOP_KEY, end - STOP_KEY.length);
      if (stopAt > contentAt) {
        let skeleton: unknown;
        try {
          skeleton = JSON.parse(`${buf.toString('utf8', start, contentAt)}"content":[]${buf.toString('utf8', stopAt, end)}`);
        } catch {
          skeleton = undefined;
        }
        if (isObject(skeleton) && skeleton['type'] === 'assistant' && isObject(skeleton['message']) && isObject(skeleton['message']['usage'])) {
          return this.parseRecord(skeleton);
        }
      }
    }
    return this.parseLine(buf.toString('utf8', start, end));
  }

  parseLine(line: string): SourceEvent[] {
    return this.parseRecord(JSON.parse(line) as unknown);
  }

  saveState(): unknown {
    return { lastTimestamp: this.lastTimestamp };
  }

  private parseRecord(record: unknown): SourceEvent[] {
    if (!isObject(record)) return [];
    const ts = parseTime(record['timestamp']);
    if (ts !== undefined) this.lastTimestamp = ts;
    if (record['type'] === 'user') {
      const prompt = this.toPrompt(record);
      return prompt ? [prompt] : [];
    }
    if (record['type'] === 'assistant') {
      const ev = this.toEvent(record, record);
      return ev ? [ev] : [];
    }
    // Subagent progress mirrors an assistant message of the subagent (2.1.x); same key as in its own file.
    if (record['type'] === 'progress' && isObject(record['data']) && isObject(record['data']['message'])) {
      const inner = record['data']['message'];
      if (inner['type'] === 'assistant') {
        const agentId = typeof record['data']['agentId'] === 'string' ? record['data']['agentId'] : undefined;
        const ev = this.toEvent({ ...inner, timestamp: inner['timestamp'] ?? record['timestamp'] }, record, agentId);
        return ev ? [ev] : [];
      }
    }
    return [];
  }

  /** A human prompt: not a tool result, not meta or a compaction summary, not a subagent's instructions. */
  private toPrompt(record: Record<string, unknown>): PromptEvent | undefined {
    if (record['isMeta'] === true || record['isCompactSummary'] === true || record['isSidechain'] === true || this.fileAgentId) return undefined;
    const message = record['message'];
    if (!isObject(message)) return undefined;
    const text = promptText(message['content']);
    const uuid = str(record['uuid']);
    if (text === undefined || !uuid) return undefined;
    return {
      kind: 'prompt',
      agent: 'claude-code',
      key: `ccp:${uuid}`,
      sessionId: str(record['sessionId']) ?? path.basename(this.file, '.jsonl'),
      timestamp: parseTime(record['timestamp']) ?? this.lastTimestamp,
      text: text.slice(0, PROMPT_TEXT_MAX),
      file: this.file,
    };
  }

  /** `rec` holds message/requestId/timestamp; `outer` the session fields (the same object for plain records). */
  private toEvent(rec: Record<string, unknown>, outer: Record<string, unknown>, mirroredAgentId?: string): UsageEvent | undefined {
    const message = rec['message'];
    if (!isObject(message) || !isObject(message['usage'])) return undefined;
    const model = typeof message['model'] === 'string' ? message['model'] : null;
    if (model === '<synthetic>') return undefined; // locally generated error message, not a request
    const messageId = typeof message['id'] === 'string' ? message['id'] : undefined;
    const requestId = typeof rec['requestId'] === 'string' ? rec['requestId'] : undefined;
    const uuid = typeof rec['uuid'] === 'string' ? rec['uuid'] : undefined;
    const key = messageId ? `cc:${messageId}${requestId ? `:${requestId}` : ''}` : uuid ? `cc:uuid:${uuid}` : undefined;
    if (!key) return undefined;
    const sessionId = str(outer['sessionId']) ?? path.basename(this.file, '.jsonl');
    const agentId = mirroredAgentId ?? str(outer['agentId']) ?? this.fileAgentId;
    const ev: UsageEvent = {
      agent: 'claude-code',
      key,
      sessionId,
      project: str(outer['cwd']) ?? this.folderProject,
      model,
      timestamp: parseTime(rec['timestamp']) ?? this.lastTimestamp,
      tokens: claudeTokens(message['usage']),
      file: this.file,
    };
    const branch = str(outer['gitBranch']);
    if (branch) ev.branch = branch;
    if (agentId) ev.subagentId = agentId;
    if (outer['isSidechain'] === true || mirroredAgentId !== undefined || this.fileAgentId !== undefined) ev.sidechain = true;
    if (typeof outer['costUSD'] === 'number' && Number.isFinite(outer['costUSD'])) ev.loggedCostUSD = outer['costUSD'];
    return ev;
  }
}

/** The text a person typed: a string, or the text blocks of a content array without tool results. */
function promptText(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  const texts: string[] = [];
  for (const block of content) {
    if (!isObject(block)) continue;
    if (block['type'] === 'tool_result') return undefined;
    if (block['type'] === 'text' && typeof block['text'] === 'string') texts.push(block['text']);
  }
  return texts.length > 0 ? texts.join('\n') : undefined;
}

/** Anthropic usage → normalised counts. `input_tokens` already excludes cache tokens. */
export function claudeTokens(usage: Record<string, unknown>): TokenCounts {
  const cacheWrite = count(usage['cache_creation_input_tokens']);
  const split = isObject(usage['cache_creation']) ? usage['cache_creation'] : undefined;
  // Without the 5m/1h split (older versions) every write is a 5-minute write.
  const write1h = split ? Math.min(count(split['ephemeral_1h_input_tokens']), cacheWrite || Infinity) : 0;
  const write5m = split && !usage['cache_creation_input_tokens'] ? count(split['ephemeral_5m_input_tokens']) : Math.max(0, cacheWrite - write1h);
  return {
    input: count(usage['input_tokens']),
    output: count(usage['output_tokens']),
    cacheWrite5m: write5m,
    cacheWrite1h: write1h,
    cacheRead: count(usage['cache_read_input_tokens']),
    reasoning: 0,
  };
}
