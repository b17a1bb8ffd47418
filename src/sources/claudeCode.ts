/**
 * Claude Code transcripts: `<config>/projects/<encoded-cwd>/<sessionId>.jsonl`, with
 * subagents inline (`isSidechain`), as project-level `agent-<hex>.jsonl`, or under
 * `<sessionId>/subagents/agent-*.jsonl`. One API response is streamed into several
 * `assistant` lines that repeat its usage; they share the key message.id+requestId
 * and the ledger keeps the copy with the largest output (see FORMATS.md).
 */
import * as path from 'node:path';
import { PROMPT_TEXT_MAX, ZERO_TOKENS, isUsage, type EditEvent, type PromptEvent, type SourceEvent, type TokenCounts, type UsageEvent } from '../core/events';
import { EMPTY_CONTENT, LineTemplate, requestKey, type ClaudeEvents } from './claudeLineTemplate';
import { countHunks, diffLines, lineCount, type LineDelta } from './editCounts';
import type { DiscoveryResult, LineParser, Source, SourceEnv, SourceFs } from './source';
import { expandHome, isObject, nonEmpty as str, parseTime, tokenCount as count } from './json';
import { indexOfNeedle, toNeedle, toNeedles } from './needle';
import { walkFiles } from './walk';

export interface ClaudeCodeOptions {
  /** Extra locations from settings: config folders (holding `projects/`) or `projects/` folders themselves. */
  extraPaths?: readonly string[];
  /** Also read human prompts (task starts); each needle is one more pass over the bytes. Default true. */
  prompts?: boolean;
  /** Also read the edit tools' calls and results (lines added/removed); two more needles. Default true. */
  edits?: boolean;
  /**
   * Assistant lines this source parses in full before it reads lines against templates
   * (claudeLineTemplate.ts). Default TEMPLATE_WARMUP_LINES; tests use 0.
   */
  templateWarmup?: number;
}

/**
 * Templates pay off once V8 has optimised their byte loops: in a fresh process, reading the
 * 140 usage lines of a 1 MB append against templates took 8–9 ms against 5 ms in full. A cold
 * scan of a large tree (or the extension after its first scan) uses them; an append does not.
 */
const TEMPLATE_WARMUP_LINES = 2000;

/**
 * Lines with a request's usage. Every Anthropic usage object has `input_tokens` and `output_tokens`
 * keys, so a quoted `…_tokens"` key marks them (a usage without any would count nothing), and it
 * is found several times faster than the `"usage"` key: `_` is far rarer in logs than `"`.
 */
const USAGE_NEEDLE = '_tokens"';
/** A `user` message whose content is a string or starts with a text block (tool results never match). */
const PROMPT_NEEDLES = ['"role":"user","content":"', '"role":"user","content":[{"type":"text"'];
/**
 * Results of edit tools: a success carries `structuredPatch` in its `toolUseResult`, a failure
 * `"is_error":true` (quoted keys, so tool output that merely mentions them does not match).
 * The calls themselves are in assistant lines, which the usage needle already brings in.
 */
const EDIT_NEEDLES = ['"structuredPatch"', '"is_error":true'];
const EDIT_TOOLS = ['Edit', 'MultiEdit', 'Write', 'NotebookEdit'] as const;
/** Searched from their rarest byte (a capital), not from the `"` that starts them: see needle.ts. */
const TOOL_USE_NEEDLE = toNeedle('"tool_use"');
const EDIT_TOOL_NEEDLES = toNeedles(EDIT_TOOLS.map((n) => `"name":"${n}"`));
/** Assistant-line templates kept per file: two, as lines with and without an extra field often alternate. */
const TEMPLATES = 2;
/** Edit calls waiting for their result, per file; the oldest are dropped beyond this. */
const MAX_PENDING = 256;

export class ClaudeCodeSource implements Source {
  readonly agent = 'claude-code' as const;
  readonly needles: readonly string[];
  /** Assistant lines seen by this source's parsers, against the template warm-up. */
  private readonly seen: { lines: number; warmup: number };

  constructor(
    private readonly env: SourceEnv,
    private readonly fs: SourceFs,
    private readonly opts: ClaudeCodeOptions = {},
  ) {
    this.needles = [USAGE_NEEDLE, ...(opts.prompts === false ? [] : PROMPT_NEEDLES), ...(opts.edits === false ? [] : EDIT_NEEDLES)];
    this.seen = { lines: 0, warmup: opts.templateWarmup ?? TEMPLATE_WARMUP_LINES };
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
    const parser = new ClaudeCodeParser(file, this.opts.edits !== false, this.seen);
    if (isObject(state) && typeof state['lastTimestamp'] === 'number') parser.lastTimestamp = state['lastTimestamp'];
    if (isObject(state) && Array.isArray(state['pending'])) {
      for (const p of state['pending']) if (isPendingEdit(p)) parser.pending.set(p.id, p);
    }
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
const CONTENT_NEEDLE = toNeedle('"content":[');
const STOP_KEY = Buffer.from(',"stop_reason":');
const AGENT_FILE = /^agent-(.+)\.jsonl$/;

/** An edit tool call seen, waiting for its result (small and JSON-able: it is saved with the file's offset). */
interface PendingEdit {
  id: string;
  name: string;
  path: string;
  sessionId: string;
  timestamp: number;
  /** Counts from the call's own input, for a result without a patch. */
  added: number;
  removed: number;
  exact: boolean;
}

function isPendingEdit(v: unknown): v is PendingEdit {
  return isObject(v) && typeof v['id'] === 'string' && typeof v['name'] === 'string' && typeof v['path'] === 'string' &&
    typeof v['sessionId'] === 'string' && typeof v['timestamp'] === 'number' && typeof v['added'] === 'number' &&
    typeof v['removed'] === 'number' && typeof v['exact'] === 'boolean';
}

class ClaudeCodeParser implements LineParser {
  private readonly fileAgentId: string | undefined;
  private readonly folderProject: string;
  /** Timestamp of the latest record: used for a record that lacks its own. */
  lastTimestamp = 0;
  /** Edit calls (tool_use id →) whose result has not been read yet. */
  readonly pending = new Map<string, PendingEdit>();
  /** The last assistant lines parsed in full in this read, most recent first: later lines are read against them (claudeLineTemplate.ts). */
  private templates: LineTemplate[] = [];

  constructor(
    private readonly file: string,
    private readonly edits = true,
    /** Shared by the parsers of one source: templates start after `warmup` lines. */
    private readonly seen = { lines: 0, warmup: 0 },
  ) {
    this.fileAgentId = AGENT_FILE.exec(path.basename(file))?.[1];
    // projects/<encoded-cwd>/... : the encoded folder is lossy, used only when records lack `cwd`.
    const parts = file.split(/[\\/]/);
    const i = parts.lastIndexOf('projects');
    this.folderProject = i >= 0 && parts[i + 1] ? parts[i + 1]! : '';
  }

  parseBytes(buf: Buffer, start: number, end: number): SourceEvent[] {
    const contentAt = indexOfNeedle(buf, CONTENT_NEEDLE, start);
    if (contentAt >= 0 && contentAt < end) {
      const stopAt = buf.lastIndexOf(STOP_KEY, end - STOP_KEY.length);
      if (stopAt > contentAt && !(this.edits && hasEditTool(buf.subarray(contentAt, stopAt)))) {
        const templating = ++this.seen.lines > this.seen.warmup;
        for (const template of this.templates) {
          const event = template.read(buf, start, contentAt, stopAt, end);
          if (event === undefined) continue;
          this.lastTimestamp = template.timestamp;
          if (template !== this.templates[0]) this.templates = [template, ...this.templates.filter((t) => t !== template)]; // most recently matched first
          return event ? [event] : [];
        }
        const skeleton = Buffer.concat([buf.subarray(start, contentAt), EMPTY_CONTENT, buf.subarray(stopAt, end)]);
        let record: unknown;
        try {
          record = JSON.parse(skeleton.toString('utf8'));
        } catch {
          record = undefined;
        }
        if (isObject(record) && record['type'] === 'assistant' && isObject(record['message']) && isObject(record['message']['usage'])) {
          const events = this.parseRecord(record);
          const only = events.length === 1 ? events[0]! : undefined;
          const template = templating && only && isUsage(only) ? LineTemplate.from(skeleton, contentAt - start, only, CLAUDE_EVENTS) : undefined;
          if (template) this.templates = [template, ...this.templates.slice(0, TEMPLATES - 1)];
          return events;
        }
      }
    }
    return this.parseLine(buf.toString('utf8', start, end));
  }

  parseLine(line: string): SourceEvent[] {
    return this.parseRecord(JSON.parse(line) as unknown);
  }

  /** Templates help within one long read (a cold scan); kept across reads, thousands of files would hold them all. */
  readDone(): void {
    this.templates = [];
  }

  saveState(): unknown {
    return this.pending.size > 0 ? { lastTimestamp: this.lastTimestamp, pending: [...this.pending.values()] } : { lastTimestamp: this.lastTimestamp };
  }

  private parseRecord(record: unknown): SourceEvent[] {
    if (!isObject(record)) return [];
    const ts = parseTime(record['timestamp']);
    if (ts !== undefined) this.lastTimestamp = ts;
    if (record['type'] === 'user') {
      const prompt = this.toPrompt(record);
      if (prompt) return [prompt];
      return this.edits && this.pending.size > 0 ? this.editResults(record) : [];
    }
    if (record['type'] === 'assistant') {
      const ev = this.toEvent(record, record);
      const out: SourceEvent[] = ev ? [ev] : [];
      if (this.edits) this.editCalls(record, out);
      return out;
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

  /** Edit tool calls of an assistant record: kept pending until their result (NotebookEdit: counted at once). */
  private editCalls(record: Record<string, unknown>, out: SourceEvent[]): void {
    const message = record['message'];
    if (!isObject(message) || !Array.isArray(message['content'])) return;
    for (const block of message['content']) {
      if (!isObject(block) || block['type'] !== 'tool_use' || !isObject(block['input'])) continue;
      const name = block['name'];
      const id = str(block['id']);
      if (!id || typeof name !== 'string' || !(EDIT_TOOLS as readonly string[]).includes(name)) continue;
      const input = block['input'];
      const call = callCounts(name, input);
      const pending: PendingEdit = {
        id, name, path: str(input['file_path']) ?? str(input['notebook_path']) ?? '',
        sessionId: str(record['sessionId']) ?? path.basename(this.file, '.jsonl'),
        timestamp: parseTime(record['timestamp']) ?? this.lastTimestamp, ...call,
      };
      if (name === 'NotebookEdit') {
        // Its result carries no patch (and a failure is only seen if its line is read): counted from the call.
        out.push(this.editEvent(pending, call));
        continue;
      }
      this.pending.delete(id);
      this.pending.set(id, pending);
      if (this.pending.size > MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
    }
  }

  /** Results of pending edit calls in a user record: what was applied, or a failure (counts nothing). */
  private editResults(record: Record<string, unknown>): EditEvent[] {
    const message = record['message'];
    if (!isObject(message) || !Array.isArray(message['content'])) return [];
    const out: EditEvent[] = [];
    for (const block of message['content']) {
      if (!isObject(block) || block['type'] !== 'tool_result') continue;
      const id = str(block['tool_use_id']);
      const pending = id ? this.pending.get(id) : undefined;
      if (!pending) continue;
      this.pending.delete(pending.id);
      if (block['is_error'] === true) {
        out.push({ ...this.editEvent(pending, { added: 0, removed: 0, exact: true }), failed: true });
        continue;
      }
      const result = record['toolUseResult'];
      if (isObject(result) && str(result['filePath'])) pending.path = str(result['filePath'])!;
      out.push(this.editEvent(pending, resultCounts(pending, result)));
    }
    return out;
  }

  private editEvent(p: PendingEdit, d: LineDelta & { exact: boolean }): EditEvent {
    return {
      kind: 'edit', agent: 'claude-code', key: `cce:${p.id}`, sessionId: p.sessionId, timestamp: p.timestamp,
      file: this.file, path: p.path, linesAdded: d.added, linesRemoved: d.removed, exact: d.exact,
    };
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
    const key = requestKey(messageId, requestId, uuid);
    if (!key) return undefined;
    const sessionId = str(outer['sessionId']) ?? path.basename(this.file, '.jsonl');
    const agentId = mirroredAgentId ?? str(outer['agentId']) ?? this.fileAgentId;
    // The attribution; withRequest adds the request's own fields.
    const base: UsageEvent = { agent: 'claude-code', key: '', sessionId, project: str(outer['cwd']) ?? this.folderProject, model: null, timestamp: 0, tokens: ZERO_TOKENS, file: this.file };
    const branch = str(outer['gitBranch']);
    if (branch) base.branch = branch;
    if (agentId) base.subagentId = agentId;
    if (outer['isSidechain'] === true || mirroredAgentId !== undefined || this.fileAgentId !== undefined) base.sidechain = true;
    if (typeof outer['costUSD'] === 'number' && Number.isFinite(outer['costUSD'])) base.loggedCostUSD = outer['costUSD'];
    return withRequest(base, key, model, parseTime(rec['timestamp']) ?? this.lastTimestamp, claudeTokens(message['usage']));
  }
}

/**
 * `e` with another request's key, model, time and usage. Every Claude Code event is made here
 * (from a parsed line, or a line read against a template), field by field in one order: a
 * spread of events of many shapes would be slow.
 */
function withRequest(e: UsageEvent, key: string, model: string | null, timestamp: number, tokens: TokenCounts): UsageEvent {
  const ev: UsageEvent = { agent: e.agent, key, sessionId: e.sessionId, project: e.project, model, timestamp, tokens, file: e.file };
  if (e.branch !== undefined) ev.branch = e.branch;
  if (e.subagentId !== undefined) ev.subagentId = e.subagentId;
  if (e.sidechain) ev.sidechain = true;
  if (e.loggedCostUSD !== undefined) ev.loggedCostUSD = e.loggedCostUSD;
  return ev;
}

const CLAUDE_EVENTS: ClaudeEvents = { tokens: claudeTokens, withRequest };

/** Whether `content` may hold an edit tool call; most content holds no tool call at all (one search instead of four). */
function hasEditTool(content: Buffer): boolean {
  if (indexOfNeedle(content, TOOL_USE_NEEDLE, 0) < 0) return false;
  for (const needle of EDIT_TOOL_NEEDLES) if (indexOfNeedle(content, needle, 0) >= 0) return true;
  return false;
}

type Counts = LineDelta & { exact: boolean };

/** What a call's input says it changes (the fallback when its result holds no patch). */
function callCounts(name: string, input: Record<string, unknown>): Counts {
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  switch (name) {
    case 'Edit': {
      const d = diffLines(text(input['old_string']), text(input['new_string']));
      return { ...d, exact: input['replace_all'] !== true }; // replace_all: once per occurrence, how many is not logged
    }
    case 'MultiEdit': {
      const sum: Counts = { added: 0, removed: 0, exact: true };
      for (const e of Array.isArray(input['edits']) ? input['edits'] : []) {
        if (!isObject(e)) continue;
        const d = diffLines(text(e['old_string']), text(e['new_string']));
        sum.added += d.added;
        sum.removed += d.removed;
        if (e['replace_all'] === true) sum.exact = false;
      }
      return sum;
    }
    case 'Write':
      // Whether the file existed, and what it held, only the result says.
      return { added: lineCount(text(input['content'])), removed: 0, exact: false };
    default: {
      // NotebookEdit replaces or inserts one cell (the old cell's source is not logged), or deletes one.
      if (input['edit_mode'] === 'delete') return { added: 0, removed: 0, exact: false };
      return { added: lineCount(text(input['new_source'])), removed: 0, exact: input['edit_mode'] === 'insert' };
    }
  }
}

/** What a successful result says was applied: its patch, a created file, or the diff against the original it logs. */
function resultCounts(p: PendingEdit, result: unknown): Counts {
  const fallback: Counts = { added: p.added, removed: p.removed, exact: p.exact };
  if (!isObject(result)) return fallback;
  if (p.name === 'Write') {
    const content = typeof result['content'] === 'string' ? result['content'] : undefined;
    if (result['type'] === 'create') return { added: content !== undefined ? lineCount(content) : p.added, removed: 0, exact: true };
    if (typeof result['originalFile'] === 'string' && content !== undefined) return { ...diffLines(result['originalFile'], content), exact: true };
    const hunks = countHunks(result['structuredPatch']);
    if (result['type'] === 'update' && hunks) return { ...hunks, exact: true };
    return fallback;
  }
  const hunks = countHunks(result['structuredPatch']);
  // An empty patch for a non-empty change (seen when the file was modified meanwhile): keep the call's own counts.
  if (hunks && (hunks.added + hunks.removed > 0 || p.added + p.removed === 0)) return { ...hunks, exact: true };
  return fallback;
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
