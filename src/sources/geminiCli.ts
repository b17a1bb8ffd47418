/**
 * Gemini CLI: `<GEMINI_CLI_HOME or ~>/.gemini/tmp/<project>/chats/`, checked against
 * google-gemini/gemini-cli (`packages/core/src/services/chatRecordingService.ts`,
 * `config/storage.ts`, `config/projectRegistry.ts`, `utils/paths.ts`).
 *
 * Session files, by version:
 *  - up to v0.38: `session-<date>-<id8>.json`, one JSON document `{sessionId, projectHash, startTime,
 *    lastUpdated, kind?, messages[]}` rewritten in place on every change → read as a document;
 *  - since v0.39: `session-<date>-<id8>.jsonl`, append-only: a metadata line, one line per message
 *    WRITE (a message is re-appended whole under the same id when it changes: tokens or tool calls
 *    arrive in a later copy), `{"$set":{…}}` metadata updates, `{"$set":{"messages":[…]}}` (the list
 *    replaced after /compress) and `{"$rewindTo":id}` → read as lines;
 *  - subagents: `chats/<parentSessionId>/<sessionId>.json` (v0.36–v0.38) or `.jsonl` (v0.39+),
 *    `kind: "subagent"`; before v0.36 they were plain `session-*.json` files with that kind.
 * Resuming a legacy session copies it into a `.jsonl` beside the `.json` with the same session and
 * message ids, and the hash→slug project folder migration COPIES `tmp/<sha256>/` to `tmp/<slug>/`:
 * the key `gemini:<sessionId>:<messageId>` makes every copy one request in the ledger.
 * Not sessions: `logs.json`, `checkpoint-*.json` (project folder) and `logs/session-*.jsonl`
 * (activity logs); only `chats/` is read.
 *
 * Pure apart from discovery: no `vscode`, file access only through the injected `SourceFs`.
 */
import type { Dirent } from 'node:fs';
import * as path from 'node:path';
import { PROMPT_TEXT_MAX, type SourceEvent, type TokenCounts, type UsageEvent } from '../core/events';
import type { DiscoveryResult, LineParser, Source, SourceEnv, SourceFs } from './source';
import { errorText, walkFiles } from './walk';

export interface GeminiCliSourceOptions {
  /** Settings override: the `.gemini` folder (or the folder holding it, as GEMINI_CLI_HOME would name). */
  home?: string;
}

const GEMINI_DIR = '.gemini';
const SESSION_FILE = /^session-.+\.jsonl?$/;
const SUBAGENT_FILE = /\.jsonl?$/;
const PROJECT_ROOT_FILE = '.project_root';

/** Where each project folder's sessions were recorded from, as far as the disk tells. */
interface ProjectIndex {
  /** Absolute project folder (`tmp/<name>`) → project path (from `.project_root` or `projects.json`). */
  byFolder: Map<string, string>;
  /** sha256 of a known project path → that path (sessions name their project by this hash). */
  byHash: Map<string, string>;
}

/** What a parser knows about a file from where it lies. */
interface FileContext {
  file: string;
  /** Session id to use until the file states its own (a subagent file is named by its session id). */
  sessionFromName: string;
  /** Set for `chats/<parentSessionId>/<file>`. */
  parentSessionId?: string;
  project(projectHash: string | undefined): string;
}

/** Session metadata as read so far (metadata line, `$set` updates, or the legacy document). */
interface SessionMeta {
  sessionId: string;
  projectHash?: string;
  subagent: boolean;
  /** Last timestamp seen, for a message without its own. */
  lastTime: number;
}

export class GeminiCliSource implements Source {
  readonly agent = 'gemini-cli' as const;
  /**
   * Quoted, so the words inside JSON string values (quotes escaped as `\"`) do not match:
   * `"tokens"` finds messages with usage (also inside `$set.messages` checkpoints), `"sessionId"`
   * the metadata line and `$set` session updates. `$set.lastUpdated` and `$rewindTo` lines are skipped.
   */
  readonly needles: readonly string[] = ['"tokens"', '"sessionId"', '"type":"user"'];
  private index: ProjectIndex = { byFolder: new Map(), byHash: new Map() };

  constructor(
    private readonly env: SourceEnv,
    private readonly fs: SourceFs,
    private readonly opts: GeminiCliSourceOptions = {},
  ) {}

  /** The Gemini folder in use (the first candidate of `geminiDirs()`). */
  get home(): string {
    return this.geminiDirs()[0]!;
  }

  /**
   * Candidate `.gemini` folders, first existing `tmp/` wins. Gemini CLI's `homedir()` returns
   * GEMINI_CLI_HOME in place of the user's home and appends `.gemini` to it (utils/paths.ts,
   * Storage.getGlobalGeminiDir), so the variable names the PARENT. The settings override may name
   * either the `.gemini` folder itself or, like the variable, its parent.
   */
  geminiDirs(): string[] {
    const override = nonEmpty(this.opts.home);
    if (override !== undefined) {
      const dir = this.expandTilde(override);
      return path.basename(dir) === GEMINI_DIR ? [dir] : [dir, path.join(dir, GEMINI_DIR)];
    }
    const envHome = nonEmpty(this.env.env.GEMINI_CLI_HOME);
    return [path.join(envHome !== undefined ? this.expandTilde(envHome) : this.env.home, GEMINI_DIR)];
  }

  async discover(): Promise<DiscoveryResult> {
    const result: DiscoveryResult = { files: [], roots: [], problems: [] };
    const index: ProjectIndex = { byFolder: new Map(), byHash: new Map() };
    for (const geminiDir of this.geminiDirs()) {
      const tmp = path.join(geminiDir, 'tmp');
      const projects = await this.list(tmp, result.problems);
      if (projects === 'missing') continue;
      if (projects !== 'unreadable') {
        result.roots.push(tmp);
        await this.readRegistry(geminiDir, tmp, index);
        const folders = projects.filter((e) => e.isDirectory()).map((e) => path.join(tmp, e.name));
        await Promise.all(folders.map((dir) => this.discoverProject(dir, tmp, result, index)));
      }
      break; // the first Gemini folder that exists is the one in use
    }
    for (const p of index.byFolder.values()) index.byHash.set(sha256(p), p);
    this.index = index;
    result.files.sort((a, b) => compare(a.path, b.path));
    result.problems.sort((a, b) => compare(a.path, b.path));
    return result;
  }

  createParser(file: string): LineParser {
    return new GeminiJsonlParser(this.contextOf(file));
  }

  /** Legacy `.json` sessions are rewritten whole on every change; `.jsonl` ones are appended to. */
  isDocument(file: string): boolean {
    return file.endsWith('.json');
  }

  /** Throws on incomplete JSON (caught mid-write): the scanner keeps what it had and retries. */
  parseDocument(file: string, content: Buffer): SourceEvent[] {
    const doc: unknown = JSON.parse(content.toString('utf8'));
    if (!isObject(doc) || !Array.isArray(doc.messages)) return [];
    const ctx = this.contextOf(file);
    const meta: SessionMeta = { sessionId: ctx.sessionFromName, subagent: ctx.parentSessionId !== undefined, lastTime: 0 };
    updateMeta(meta, doc);
    return messageEvents(ctx, meta, doc.messages);
  }

  /** One project folder: its `.project_root` marker and the sessions under `chats/`. */
  private async discoverProject(dir: string, tmp: string, result: DiscoveryResult, index: ProjectIndex): Promise<void> {
    const entries = await this.list(dir, result.problems);
    if (typeof entries === 'string') return;
    if (entries.some((e) => e.isFile() && e.name === PROJECT_ROOT_FILE)) {
      const root = await this.readText(path.join(dir, PROJECT_ROOT_FILE));
      if (root) index.byFolder.set(dir, root.trim()); // the marker is authoritative over projects.json
    }
    if (!entries.some((e) => e.isDirectory() && e.name === 'chats')) return;
    const chats = path.join(dir, 'chats');
    const found: DiscoveryResult = { files: [], roots: [], problems: [] };
    // chats/session-*.json[l] and chats/<parentSessionId>/<sessionId>.json[l]
    await walkFiles(this.fs, chats, 1, (name) => SUBAGENT_FILE.test(name), () => true, found);
    result.problems.push(...found.problems);
    for (const f of found.files) {
      const inChats = path.dirname(f.path) === chats;
      if (!inChats || SESSION_FILE.test(path.basename(f.path))) result.files.push({ path: f.path, root: tmp });
    }
  }

  /** `projects.json` ({projects: {path: slug}}, since early 2026): slug folders whose marker is missing. */
  private async readRegistry(geminiDir: string, tmp: string, index: ProjectIndex): Promise<void> {
    const text = await this.readText(path.join(geminiDir, 'projects.json'));
    if (!text) return;
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      return; // Gemini CLI itself resets a corrupt registry; nothing to learn from it
    }
    if (!isObject(data) || !isObject(data.projects)) return;
    for (const [projectPath, slug] of Object.entries(data.projects)) {
      if (typeof slug === 'string' && slug !== '') index.byFolder.set(path.join(tmp, slug), projectPath);
    }
  }

  private contextOf(file: string): FileContext {
    const dir = path.dirname(file);
    const nested = path.basename(dir) !== 'chats' && path.basename(path.dirname(dir)) === 'chats';
    const chats = nested ? path.dirname(dir) : dir;
    const folder = path.dirname(chats);
    const ctx: FileContext = {
      file,
      sessionFromName: path.basename(file).replace(/\.jsonl?$/, ''),
      // Looked up per event, in the latest discovery's index (a marker may appear after the parser).
      project: (hash) => this.projectOf(folder, hash),
    };
    if (nested) ctx.parentSessionId = path.basename(dir);
    return ctx;
  }

  /** The session's own projectHash, else the folder's marker/registry path, else a hash folder's known path, else its name. */
  private projectOf(folder: string, projectHash: string | undefined): string {
    const { byFolder, byHash } = this.index;
    const name = path.basename(folder);
    return (projectHash && byHash.get(projectHash)) || byFolder.get(folder) || byHash.get(name) || name;
  }

  /** Entries of a folder; a missing one is silent, an unreadable one a problem. */
  private async list(dir: string, problems: DiscoveryResult['problems']): Promise<Dirent[] | 'missing' | 'unreadable'> {
    try {
      return await this.fs.readdir(dir, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
      problems.push({ path: dir, message: errorText(err) });
      return 'unreadable';
    }
  }

  /** A small optional file (project marker, registry); undefined when absent or unreadable. */
  private async readText(file: string): Promise<string | undefined> {
    try {
      const handle = await this.fs.open(file, 'r');
      try {
        return await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    } catch {
      return undefined;
    }
  }

  private expandTilde(p: string): string {
    if (p === '~') return this.env.home;
    if (p.startsWith('~/') || p.startsWith('~\\')) return path.join(this.env.home, p.slice(2));
    return p;
  }
}

/** Parses one `.jsonl` session, keeping its metadata between calls. */
class GeminiJsonlParser implements LineParser {
  private readonly meta: SessionMeta;

  constructor(private readonly ctx: FileContext) {
    this.meta = { sessionId: ctx.sessionFromName, subagent: ctx.parentSessionId !== undefined, lastTime: 0 };
  }

  /** Record kinds are told apart in the order Gemini CLI's own loader (loadConversationRecord) uses. */
  parseLine(line: string): SourceEvent[] {
    const record: unknown = JSON.parse(line); // malformed: throw, the tailer counts and skips it
    if (!isObject(record)) return [];
    // Rewound messages leave the list but were billed: their events stay in the ledger.
    if (typeof record.$rewindTo === 'string') return [];
    if (typeof record.id === 'string') return messageEvents(this.ctx, this.meta, [record]);
    if (isObject(record.$set)) {
      updateMeta(this.meta, record.$set);
      // A checkpoint (after /compress) repeats messages already read: same keys, counted once.
      return Array.isArray(record.$set.messages) ? messageEvents(this.ctx, this.meta, record.$set.messages) : [];
    }
    if (typeof record.sessionId === 'string' && typeof record.projectHash === 'string') {
      updateMeta(this.meta, record);
      // The loader also accepts a whole legacy record on one line.
      return Array.isArray(record.messages) ? messageEvents(this.ctx, this.meta, record.messages) : [];
    }
    return [];
  }
}

function updateMeta(meta: SessionMeta, fields: Record<string, unknown>): void {
  const id = nonEmpty(fields.sessionId);
  if (id !== undefined) meta.sessionId = id;
  const hash = nonEmpty(fields.projectHash);
  if (hash !== undefined) meta.projectHash = hash;
  if (fields.kind === 'subagent') meta.subagent = true;
  const t = parseTime(fields.startTime) ?? parseTime(fields.lastUpdated);
  if (t !== undefined) meta.lastTime = t;
}

/** What the person typed: a string, or the text parts of a part list. */
function userText(content: unknown): string | undefined {
  if (typeof content === 'string') return content.trim() ? content : undefined;
  if (!Array.isArray(content)) return undefined;
  const texts = content.filter((p): p is { text: string } => isObject(p) && typeof p.text === 'string').map((p) => p.text);
  return texts.length > 0 && texts.join('').trim() ? texts.join('\n') : undefined;
}

/** One event per `gemini` message that carries token counts (the first copies of a message may not yet). */
function messageEvents(ctx: FileContext, meta: SessionMeta, messages: readonly unknown[]): SourceEvent[] {
  const events: SourceEvent[] = [];
  for (const msg of messages) {
    if (!isObject(msg)) continue;
    const time = parseTime(msg.timestamp);
    if (time !== undefined) meta.lastTime = time;
    const id = nonEmpty(msg.id);
    if (msg.type === 'user' && id !== undefined && !meta.subagent) {
      const text = userText(msg.content);
      if (text) {
        events.push({ kind: 'prompt', agent: 'gemini-cli', key: `geminip:${meta.sessionId}:${id}`, sessionId: meta.sessionId,
          timestamp: time ?? meta.lastTime, text: text.slice(0, PROMPT_TEXT_MAX), file: ctx.file });
      }
      continue;
    }
    if (msg.type !== 'gemini' || id === undefined || !isObject(msg.tokens)) continue;
    const ev: UsageEvent = {
      agent: 'gemini-cli',
      key: `gemini:${meta.sessionId}:${id}`,
      sessionId: meta.sessionId,
      project: ctx.project(meta.projectHash),
      model: nonEmpty(msg.model) ?? null,
      timestamp: time ?? meta.lastTime,
      tokens: geminiTokens(msg.tokens),
      file: ctx.file,
    };
    if (ctx.parentSessionId !== undefined) ev.parentSessionId = ctx.parentSessionId;
    if (meta.subagent) ev.sidechain = true;
    events.push(ev);
  }
  return events;
}

/**
 * `tokens` is the response's usageMetadata as recorded by ChatRecordingService.recordMessageTokens:
 * input = promptTokenCount (INCLUDES cachedContentTokenCount), output = candidatesTokenCount
 * (EXCLUDES thoughtsTokenCount), cached, thoughts, tool = toolUsePromptTokenCount, and
 * total = input + output + thoughts + tool. Tool-use prompt tokens (results of built-in tools fed
 * back to the model) are prompt tokens outside promptTokenCount, billed as input: added to input.
 */
export function geminiTokens(t: Record<string, unknown>): TokenCounts {
  const cached = count(t.cached);
  const thoughts = count(t.thoughts);
  return {
    input: Math.max(0, count(t.input) - cached) + count(t.tool),
    output: count(t.output) + thoughts,
    cacheWrite5m: 0,
    cacheWrite1h: 0,
    cacheRead: cached,
    reasoning: thoughts,
  };
}

function sha256(s: string): string {
  // Required on use: loading node:crypto costs a few ms of every CLI start, and most runs hash nothing.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:crypto') as typeof import('node:crypto')).createHash('sha256').update(s).digest('hex');
}

function count(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.trunc(v) : 0;
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseTime(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
