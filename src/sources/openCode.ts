/**
 * OpenCode (sst/opencode, now anomalyco/opencode): usage of every model call, from its two stores.
 *
 * Data folder: `$XDG_DATA_HOME/opencode`, else `~/.local/share/opencode` on EVERY platform
 * (OpenCode's `global/index.ts` takes the `xdg-basedir` paths, which do not special-case
 * macOS or Windows).
 *
 * 1. File storage (versions before the SQLite store): `storage/session/<projectId>/<id>.json`
 *    (`directory`, `parentID`, `version`), `storage/message/<sessionId>/<msgId>.json` (assistant
 *    messages: `providerID`, `modelID`, `time`, `cost`, `tokens`) and
 *    `storage/part/<msgId>/<partId>.json`. The processor (`session/processor.ts`, on every
 *    `finish-step`) writes one `step-finish` part per model call with that call's `tokens` and
 *    `cost`, THEN adds the cost to the message and REPLACES the message's `tokens` with the
 *    call's. So a request = one `step-finish` part (key `opencode:<partId>`); the message's own
 *    tokens are only its last call. Every part-storage version had `StepFinishPart` from the
 *    first `message-v2.ts`; a message is read as a request itself (key `opencode:<msgId>`) only
 *    when it has no part file at all (V1 messages of June 2025 kept their parts inline under
 *    `metadata`; copies that lost their parts) and is finished (completed, errored, or left
 *    unfinished for a day), so a message still being written is never counted twice.
 *    Discovery reads each session file once and each message once it is finished (for model,
 *    time, project), classifies a finished message's parts from their first 4 KB (the part's own
 *    `"type"` precedes any nested object) and hands on only its step-finish parts, so neither
 *    the scanner nor this parser ever reads a large attachment part; a message still being
 *    written keeps all its parts tracked (its folder stays watched).
 * 2. SQLite (current versions): `opencode.db` (or `opencode-<channel>.db`) in the data folder,
 *    WAL mode, tables `session` (columns), `message(id, session_id, time_created, time_updated,
 *    data)` and `part(id, message_id, session_id, time_created, time_updated, data)`, `data`
 *    being the JSON above without its ids. The WAL is the tracked file while it exists (every
 *    commit changes it), the main file otherwise; either opens the database with `node:sqlite`
 *    READ-ONLY (a WAL reader never blocks OpenCode's writer and sees every committed
 *    transaction), queries ONLY `part`, `message` and `session` (the same file holds account
 *    tokens), and reads incrementally (rowid cursors checked against the row id they pointed at,
 *    so a revert that deleted the newest rows cannot hide the rows written after it). The
 *    JSON→SQLite migration keeps part and message ids, so a step found in both stores has one key.
 *
 * Normalisation (OpenCode `Session.getUsage`, per version):
 *  - input: before 1.0.62 (PR #4256, merged 2025-11-12, "correct cache cost for OpenRouter and
 *    other OpenAI-compatible providers") `tokens.input` was the AI SDK's raw `inputTokens`, which
 *    INCLUDES cache reads for every provider but Anthropic/Bedrock; later versions subtract them
 *    (the AI SDK v6 versions subtract reads and writes). Per step: when the session's `version`
 *    is below 1.0.62, the provider is not Anthropic's API, and input ≥ cache.read (true on every
 *    such step), uncached input = input − cache.read.
 *  - output: OpenCode charges `output + reasoning` at the output rate in every version, and the
 *    current `getUsage` stores `output = outputTokens − reasoning` (PR #21047); 0.x grok steps
 *    log reasoning > output. So output (incl. reasoning) = output + reasoning, unless the step's
 *    `tokens.total` (later versions) equals input + cache + output, i.e. reasoning is already
 *    inside output.
 *  - cost: the step's `cost` is the logged cost; free OpenCode-hosted models log 0 (a logged
 *    zero, not "unpriced").
 *  - model: `<providerID>/<modelID>` (so `openrouter/…`, `anthropic/…`, `openai/…`, `google/…`
 *    price through the table's prefix stripping and OpenCode Zen ids like `opencode/grok-code`
 *    stay unpriced), except Bedrock/Vertex/Azure whose model ids the price table knows bare.
 *  - time: a step part has no time of its own; its id does (OpenCode ids are
 *    `prefix_` + 12 hex of (ms·4096 + counter) mod 2^48), taken nearest the message's creation.
 *  - fork copies (`Session.fork` copies messages and parts with NEW ids but the original
 *    `time.created`): a message whose id is more than a minute younger than its `time.created`
 *    is a copy; it and its steps are skipped (the original session counts them).
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Dirent } from 'node:fs';
import type { TokenCounts, UsageEvent } from '../core/events';
import type { DiscoveryResult, LineParser, ReadHandle, Source, SourceEnv, SourceFs } from './source';
import { expandHome, isMissing, isObject, nonEmpty, tokenCount } from './json';
import { errorText } from './walk';

export interface OpenCodeOptions {
  /** Settings override of the data folder (holding `storage/` and `opencode.db`). */
  dataDir?: string;
  /** Test seam: loads `node:sqlite` (default: `require('node:sqlite')`, undefined when the runtime lacks it). */
  loadSqlite?: () => SqliteModule | undefined;
}

// ---------------------------------------------------------------------------------------------
// Constants

/** A `step-finish` part is a few hundred bytes; anything this large is another part (attachments, tool output). */
const MAX_STEP_BYTES = 64 * 1024;
const STEP_NEEDLE = Buffer.from('"step-finish"');
/** The part's own `"type": "…"` comes before any nested object in every version's key order. */
const TYPE_RE = /"type"\s*:\s*"([^"\\]{1,40})"/;
const TYPE_SCAN_BYTES = 4096;
/** Session versions before this stored raw (cache-inclusive) input for non-Anthropic providers. */
const UNCACHED_INPUT_SINCE: readonly [number, number, number] = [1, 0, 62];
/** Providers whose API (Anthropic SDK / Bedrock) reports input without cache tokens. */
const ANTHROPIC_API_PROVIDERS: ReadonlySet<string> = new Set(['anthropic', 'amazon-bedrock', 'google-vertex-anthropic']);
/** Providers whose model ids the price table resolves without the provider prefix. */
const BARE_MODEL_PROVIDERS: ReadonlySet<string> = new Set(['amazon-bedrock', 'google-vertex', 'google-vertex-anthropic', 'azure']);
/** A message id minted this long after the message's `time.created` was copied by a fork. */
const FORK_COPY_MS = 60_000;
/** A message never completed (OpenCode killed mid-stream) is taken as finished after this. */
const STALE_MESSAGE_MS = 24 * 60 * 60 * 1000;
const ID_TIME_CYCLE = 2 ** 36;
const READ_CONCURRENCY = 16;
const DB_NAME = /^opencode(?:-[A-Za-z0-9._-]+)?\.db$/;
const DB_FILE = /^(opencode(?:-[A-Za-z0-9._-]+)?\.db)(-wal)?$/;
const SQL_BATCH = 500;
const NO_STEPS: string[] = [];

// ---------------------------------------------------------------------------------------------
// Metadata kept between reads

export interface SessionMeta {
  /** Working folder of the session ('' when unknown). */
  directory: string;
  parentId?: string;
  /** OpenCode version that created the session. */
  version?: string;
  created?: number;
}

export interface MessageMeta {
  role: 'assistant' | 'user' | 'other';
  sessionId: string;
  providerID?: string;
  modelID?: string;
  created?: number;
  completed?: number;
  /** Completed, errored, not an assistant message, or stale: its parts are all written. */
  final: boolean;
  /** Any token count or cost above zero. */
  hasUsage: boolean;
  /** Copied by `Session.fork` (new id, original time): its usage belongs to the original. */
  copied: boolean;
}

/** Per-message part listing while its parts are still being classified (file storage). */
interface PartFolder {
  /** part file name -> is a step-finish (absent: not read yet). */
  classified: Map<string, boolean>;
}

// ---------------------------------------------------------------------------------------------
// The source

export class OpenCodeSource implements Source {
  readonly agent = 'opencode' as const;
  /** Every file of this source is a document (read whole); no line needles. */
  readonly needles: readonly string[] = [];

  private readonly sessions = new Map<string, SessionMeta>();
  private readonly projects = new Map<string, string>();
  private readonly messages = new Map<string, MessageMeta>();
  /** Messages whose part folder is fully classified and finished: only their step part names. */
  private readonly settled = new Map<string, string[]>();
  private readonly folders = new Map<string, PartFolder>();
  /** Finished messages with usage and no part file: counted from the message itself. */
  private readonly fallbackMessages = new Set<string>();
  private readonly dbStates = new Map<string, OpenCodeDbState>();
  private sqlite: SqliteModule | undefined | null = null;

  constructor(
    private readonly env: SourceEnv,
    private readonly fs: SourceFs,
    private readonly opts: OpenCodeOptions = {},
  ) {}

  /** The data folder: settings override, else `$XDG_DATA_HOME/opencode`, else `~/.local/share/opencode`. */
  get dataDir(): string {
    const configured = nonEmpty(this.opts.dataDir)?.trim();
    if (configured !== undefined) return path.resolve(expandHome(configured, this.env.home));
    const xdg = nonEmpty(this.env.env['XDG_DATA_HOME'])?.trim();
    const base = xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(this.env.home, '.local', 'share');
    return path.join(base, 'opencode');
  }

  isDocument(file: string): boolean {
    return file.endsWith('.json') || DB_FILE.test(path.basename(file));
  }

  /**
   * Files this source opens itself (by path) instead of using the content the scanner read:
   * the SQLite database and its WAL. The scanner stats them for the change stamp and calls
   * parseDocument(file, empty buffer) without reading them.
   */
  opensItself(file: string): boolean {
    return DB_FILE.test(path.basename(file));
  }

  createParser(): LineParser {
    return { parseLine: () => [] };
  }

  parseDocument(file: string, content: Buffer): UsageEvent[] {
    const base = path.basename(file);
    const db = DB_FILE.exec(base);
    if (db) return this.readDatabase(path.join(path.dirname(file), db[1]!));
    const kind = path.basename(path.dirname(path.dirname(file)));
    if (kind === 'part') return this.parsePartFile(file, content);
    if (kind === 'message') return this.parseMessageFile(file, content);
    return [];
  }

  // ------------------------------------------------------------------------------------------
  // Discovery

  async discover(): Promise<DiscoveryResult> {
    const out: DiscoveryResult = { files: [], roots: [], problems: [] };
    const dataDir = this.dataDir;
    const top = await this.list(dataDir, out);
    if (top === undefined) return out;
    out.roots.push(dataDir);
    const hasStorage = top.some((e) => e.isDirectory() && e.name === 'storage');
    if (hasStorage) await this.discoverStorage(path.join(dataDir, 'storage'), dataDir, out);
    this.discoverDatabases(dataDir, top, out);
    out.files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return out;
  }

  private discoverDatabases(dataDir: string, entries: Dirent[], out: DiscoveryResult): void {
    const names = new Set(entries.filter((e) => e.isFile()).map((e) => e.name));
    for (const name of [...names].sort()) {
      if (!DB_NAME.test(name)) continue;
      const dbPath = path.join(dataDir, name);
      if (!this.sqliteModule()) {
        out.problems.push({
          path: dbPath,
          message: `OpenCode database needs Node 22.5+ / newer VS Code (node:sqlite is missing in Node ${process.versions.node}); its usage is not read`,
        });
        continue;
      }
      // While OpenCode runs, every commit lands in the WAL (the main file changes only at
      // checkpoints): the WAL is the file to watch. Without a WAL (OpenCode closed), the main file.
      out.files.push({ path: names.has(`${name}-wal`) ? `${dbPath}-wal` : dbPath, root: dataDir });
    }
  }

  private async discoverStorage(storage: string, root: string, out: DiscoveryResult): Promise<void> {
    const sessionDir = path.join(storage, 'session');
    const messageDir = path.join(storage, 'message');
    const partDir = path.join(storage, 'part');

    // 1. Sessions: each file read once (metadata does not change once written).
    await this.readSessions(storage, sessionDir, out);

    // 2. Messages (listed before the parts: a finished message's step parts were written before it).
    const messageFiles = await this.listMessages(messageDir, out);
    if (messageFiles) {
      const fresh = await this.readMessages(messageFiles);
      // A session created after the session listing above: list the sessions again.
      if (fresh.some((m) => !this.sessions.has(m.sessionId))) await this.readSessions(storage, sessionDir, out);
    }

    // 3. Parts. A finished message's parts are classified from their first bytes (the part's own
    // "type" comes first), so only its step-finish parts are handed on: the scanner never reads
    // a large attachment part. Parts of a message still being written all stay tracked, which
    // keeps their folder watched.
    const partFolders = await this.list(partDir, out);
    const inPartStore = new Set<string>();
    if (partFolders) {
      out.roots.push(partDir);
      const open: Array<{ msgId: string; folder: string; names: string[]; state: PartFolder }> = [];
      await forEachLimit(partFolders.filter((d) => d.isDirectory()), READ_CONCURRENCY, async (d) => {
        const msgId = d.name;
        const folder = path.join(partDir, msgId);
        inPartStore.add(msgId); // an unreadable folder still means the message has parts
        const settled = this.settled.get(msgId);
        if (settled) {
          for (const name of settled) out.files.push({ path: path.join(folder, name), root });
          return;
        }
        const entries = await this.list(folder, out);
        if (entries === undefined) return;
        const names = entries.filter((e) => jsonName(e) !== undefined).map((e) => e.name);
        if (names.length === 0) {
          inPartStore.delete(msgId);
          return;
        }
        let state = this.folders.get(msgId);
        if (!state) this.folders.set(msgId, (state = { classified: new Map() }));
        open.push({ msgId, folder, names, state });
      });
      // Parts of a message created after the message listing above: list the messages again.
      if (messageFiles && open.some((o) => !this.messages.has(o.msgId))) {
        const again = await this.listMessages(messageDir, out);
        if (again) {
          for (const [id, file] of again) messageFiles.set(id, file);
          await this.readMessages(again);
        }
      }
      const heads: Array<[string, string, PartFolder]> = [];
      for (const o of open) {
        if (!this.messages.get(o.msgId)?.final) continue;
        for (const name of o.names) if (!o.state.classified.has(name)) heads.push([o.folder, name, o.state]);
      }
      await forEachLimit(heads, READ_CONCURRENCY, async ([folder, name, state]) => {
        const type = await this.headType(path.join(folder, name));
        if (type !== undefined) state.classified.set(name, type === 'step-finish');
      });
      for (const { msgId, folder, names, state } of open) {
        let keep = names;
        if (this.messages.get(msgId)?.final) {
          keep = names.filter((n) => state.classified.get(n) !== false);
          if (names.every((n) => state.classified.has(n))) {
            this.settled.set(msgId, keep.length === 0 ? NO_STEPS : keep);
            this.folders.delete(msgId);
          }
        }
        for (const name of keep) out.files.push({ path: path.join(folder, name), root });
      }
    }
    for (const id of this.settled.keys()) if (partFolders && !inPartStore.has(id)) this.settled.delete(id);
    for (const id of this.folders.keys()) if (!inPartStore.has(id)) this.folders.delete(id);

    // 4. Finished messages with usage and no part file: the message is the request.
    this.fallbackMessages.clear();
    if (!messageFiles) return;
    for (const [msgId, file] of messageFiles) {
      const meta = this.messages.get(msgId);
      if (!meta || meta.role !== 'assistant' || !meta.final || !meta.hasUsage || meta.copied) continue;
      if (inPartStore.has(msgId)) continue;
      this.fallbackMessages.add(msgId);
      out.files.push({ path: file, root });
    }
    for (const id of this.messages.keys()) if (!messageFiles.has(id)) this.messages.delete(id);
  }

  /** Reads the session files not read yet (and the project file of a session without a directory). */
  private async readSessions(storage: string, sessionDir: string, out: DiscoveryResult): Promise<void> {
    const todo: Array<[string, string, string]> = []; // [sessionId, file, projectId]
    const projectDirs = await this.list(sessionDir, out);
    if (!projectDirs) return;
    if (!out.roots.includes(sessionDir)) out.roots.push(sessionDir);
    await forEachLimit(projectDirs.filter((d) => d.isDirectory()), READ_CONCURRENCY, async (d) => {
      for (const f of (await this.list(path.join(sessionDir, d.name), out)) ?? []) {
        const id = jsonName(f);
        if (id !== undefined && !this.sessions.has(id)) todo.push([id, path.join(sessionDir, d.name, f.name), d.name]);
      }
    });
    await forEachLimit(todo, READ_CONCURRENCY, async ([id, file, projectId]) => {
      const json = await this.readJson(file);
      if (!isObject(json)) return; // missing or mid-write: tried again next time
      const meta = sessionMetaOf(json);
      if (!meta.directory) meta.directory = await this.projectWorktree(storage, nonEmpty(json['projectID']) ?? projectId);
      this.sessions.set(id, meta);
    });
  }

  /** msgId -> message file, for every message file on disk; undefined when `message/` is missing or unreadable. */
  private async listMessages(messageDir: string, out: DiscoveryResult): Promise<Map<string, string> | undefined> {
    const files = new Map<string, string>();
    const sessionDirs = await this.list(messageDir, out);
    if (!sessionDirs) return undefined;
    if (!out.roots.includes(messageDir)) out.roots.push(messageDir);
    await forEachLimit(sessionDirs.filter((d) => d.isDirectory()), READ_CONCURRENCY, async (d) => {
      for (const f of (await this.list(path.join(messageDir, d.name), out)) ?? []) {
        const id = jsonName(f);
        if (id !== undefined) files.set(id, path.join(messageDir, d.name, f.name));
      }
    });
    return files;
  }

  /** Reads the messages not known yet, and those not finished when last read; returns what it read. */
  private async readMessages(files: Map<string, string>): Promise<MessageMeta[]> {
    const todo: Array<[string, string]> = [];
    for (const [id, file] of files) {
      const meta = this.messages.get(id);
      if (!meta || !meta.final) todo.push([id, file]);
    }
    const now = Date.now();
    const read: MessageMeta[] = [];
    await forEachLimit(todo, READ_CONCURRENCY, async ([id, file]) => {
      const json = await this.readJson(file);
      if (!isObject(json)) return;
      const meta = messageMetaOf(json, id, path.basename(path.dirname(file)), now);
      this.messages.set(id, meta);
      read.push(meta);
    });
    return read;
  }

  private async projectWorktree(storage: string, projectId: string): Promise<string> {
    const known = this.projects.get(projectId);
    if (known !== undefined) return known;
    const json = await this.readJson(path.join(storage, 'project', `${projectId}.json`));
    const worktree = isObject(json) ? nonEmpty(json['worktree']) ?? '' : '';
    if (isObject(json)) this.projects.set(projectId, worktree);
    return worktree;
  }

  private async list(dir: string, out: DiscoveryResult): Promise<Dirent[] | undefined> {
    try {
      return await this.fs.readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (!isMissing(err)) out.problems.push({ path: dir, message: errorText(err) });
      return undefined;
    }
  }

  /** Parsed JSON, or undefined when the file is missing, unreadable or not (yet) complete JSON. */
  private async readJson(file: string): Promise<unknown> {
    let handle: ReadHandle;
    try {
      handle = await this.fs.open(file, 'r');
    } catch {
      return undefined;
    }
    try {
      return JSON.parse((await handle.readFile()).toString('utf8')) as unknown;
    } catch {
      return undefined;
    } finally {
      await handle.close();
    }
  }

  /** A part's own `type` from its first bytes; undefined when not readable there (or when unsure). */
  private async headType(file: string): Promise<string | undefined> {
    let handle: ReadHandle;
    try {
      handle = await this.fs.open(file, 'r');
    } catch {
      return undefined;
    }
    try {
      const buf = Buffer.alloc(TYPE_SCAN_BYTES);
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      return partTypeOf(buf.subarray(0, bytesRead));
    } catch {
      return undefined;
    } finally {
      await handle.close();
    }
  }

  // ------------------------------------------------------------------------------------------
  // File storage documents

  private parsePartFile(file: string, content: Buffer): UsageEvent[] {
    const name = path.basename(file);
    const msgId = path.basename(path.dirname(file));
    const folder = this.folders.get(msgId);
    const note = (isStep: boolean) => folder?.classified.set(name, isStep);
    if (content.length > MAX_STEP_BYTES) {
      note(false); // attachments, tool output: never a step, never parsed
      return [];
    }
    if (content.indexOf(STEP_NEEDLE) < 0) {
      // Not a step; classified only when its own type is readable (a step caught mid-write is not).
      if (partTypeOf(content) !== undefined) note(false);
      return [];
    }
    const part = JSON.parse(content.toString('utf8')) as unknown; // mid-write: throws, read again on the next change
    if (!isObject(part) || part['type'] !== 'step-finish') {
      note(false);
      return [];
    }
    note(true);
    const partId = nonEmpty(part['id']) ?? name.slice(0, -'.json'.length);
    const messageId = nonEmpty(part['messageID']) ?? msgId;
    const msg = this.messages.get(messageId);
    const sessionId = nonEmpty(part['sessionID']) ?? msg?.sessionId ?? '';
    const ev = stepEvent(part, { partId, messageId, sessionId }, msg, this.sessions.get(sessionId), file);
    return ev ? [ev] : [];
  }

  private parseMessageFile(file: string, content: Buffer): UsageEvent[] {
    const msgId = path.basename(file, '.json');
    if (!this.fallbackMessages.has(msgId)) return [];
    const json = JSON.parse(content.toString('utf8')) as unknown;
    if (!isObject(json)) return [];
    const sessionId = messageSessionId(json) ?? path.basename(path.dirname(file));
    const ev = messageEvent(json, msgId, sessionId, this.sessions.get(sessionId), file, Date.now());
    return ev ? [ev] : [];
  }

  // ------------------------------------------------------------------------------------------
  // SQLite

  private sqliteModule(): SqliteModule | undefined {
    if (this.sqlite === null) this.sqlite = (this.opts.loadSqlite ?? loadNodeSqlite)();
    return this.sqlite;
  }

  private readDatabase(dbPath: string): UsageEvent[] {
    const sqlite = this.sqliteModule();
    if (!sqlite) throw new Error('node:sqlite is not available in this runtime');
    let state = this.dbStates.get(dbPath);
    if (!state) this.dbStates.set(dbPath, (state = new OpenCodeDbState()));
    return readOpenCodeDb(sqlite, dbPath, state);
  }
}

// ---------------------------------------------------------------------------------------------
// Record -> event mapping (shared by both stores; pure)

export interface RawUsage {
  input: number;
  output: number;
  reasoning: number;
  cacheRead: number;
  cacheWrite: number;
  /** `tokens.total` (later versions): the provider's total, when logged. */
  total?: number;
}

/** OpenCode `tokens` {input, output, reasoning, cache {read, write}, total?}; undefined when absent. */
export function readUsage(tokens: unknown): RawUsage | undefined {
  if (!isObject(tokens)) return undefined;
  const cache = isObject(tokens['cache']) ? tokens['cache'] : {};
  const u: RawUsage = {
    input: tokenCount(tokens['input']),
    output: tokenCount(tokens['output']),
    reasoning: tokenCount(tokens['reasoning']),
    cacheRead: tokenCount(cache['read']),
    cacheWrite: tokenCount(cache['write']),
  };
  if (typeof tokens['total'] === 'number' && Number.isFinite(tokens['total'])) u.total = tokenCount(tokens['total']);
  return u;
}

/** See the file header: uncached input and output including reasoning, decided per step. */
export function normaliseTokens(raw: RawUsage, ctx: { version?: string; providerID?: string; modelID?: string }): TokenCounts {
  let input = raw.input;
  if (storesRawInput(ctx.version) && !anthropicApi(ctx.providerID, ctx.modelID) && input >= raw.cacheRead) input -= raw.cacheRead;
  const reasoningInOutput = raw.total !== undefined && raw.reasoning > 0 && raw.reasoning <= raw.output && raw.total === input + raw.cacheRead + raw.cacheWrite + raw.output;
  return {
    input,
    output: reasoningInOutput ? raw.output : raw.output + raw.reasoning,
    cacheWrite5m: raw.cacheWrite,
    cacheWrite1h: 0,
    cacheRead: raw.cacheRead,
    reasoning: raw.reasoning,
  };
}

/** True for session versions that logged the AI SDK's cache-inclusive input (before 1.0.62). */
export function storesRawInput(version: string | undefined): boolean {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version ?? '');
  if (!m) return false; // unknown: take the input as logged
  const v = [Number(m[1]), Number(m[2]), Number(m[3])];
  for (let i = 0; i < 3; i++) if (v[i] !== UNCACHED_INPUT_SINCE[i]) return v[i]! < UNCACHED_INPUT_SINCE[i]!;
  return false;
}

function anthropicApi(providerID: string | undefined, modelID: string | undefined): boolean {
  if (providerID !== undefined && ANTHROPIC_API_PROVIDERS.has(providerID)) return true;
  // OpenCode Zen serves Claude through the Anthropic SDK.
  return providerID === 'opencode' && (modelID ?? '').startsWith('claude');
}

/** The model as priced: `<providerID>/<modelID>`, bare for Bedrock/Vertex/Azure; null when not logged. */
export function modelName(providerID: string | undefined, modelID: string | undefined): string | null {
  if (modelID === undefined) return null;
  if (providerID === undefined || BARE_MODEL_PROVIDERS.has(providerID)) return modelID;
  return `${providerID}/${modelID}`;
}

/** Epoch ms an OpenCode id (`prt_…`, `msg_…`) was minted at, taken nearest `reference`; undefined for other ids. */
export function idTime(id: string, reference: number): number | undefined {
  const m = /^[a-z]+_([0-9a-f]{12})/.exec(id);
  if (!m || !Number.isFinite(reference)) return undefined;
  const low = Math.floor(parseInt(m[1]!, 16) / 4096); // ms mod 2^36
  let t = reference - (((reference % ID_TIME_CYCLE) + ID_TIME_CYCLE) % ID_TIME_CYCLE) + low;
  if (t - reference > ID_TIME_CYCLE / 2) t -= ID_TIME_CYCLE;
  else if (reference - t > ID_TIME_CYCLE / 2) t += ID_TIME_CYCLE;
  return t;
}

export function sessionMetaOf(json: Record<string, unknown>): SessionMeta {
  const meta: SessionMeta = { directory: nonEmpty(json['directory']) ?? '' };
  const parent = nonEmpty(json['parentID']);
  if (parent !== undefined) meta.parentId = parent;
  const version = nonEmpty(json['version']);
  if (version !== undefined) meta.version = version;
  const time = isObject(json['time']) ? json['time'] : {};
  if (typeof time['created'] === 'number') meta.created = time['created'];
  return meta;
}

/** V2 messages carry their fields at the top; V1 (June 2025) under `metadata` / `metadata.assistant`. */
function messageFields(json: Record<string, unknown>): { role: unknown; assistant: Record<string, unknown>; time: Record<string, unknown>; error: unknown } {
  const metadata = isObject(json['metadata']) ? json['metadata'] : undefined;
  if (metadata && isObject(metadata['assistant'])) {
    return { role: 'assistant', assistant: metadata['assistant'], time: isObject(metadata['time']) ? metadata['time'] : {}, error: metadata['error'] };
  }
  return { role: json['role'], assistant: json, time: isObject(json['time']) ? json['time'] : {}, error: json['error'] };
}

function messageSessionId(json: Record<string, unknown>): string | undefined {
  const metadata = isObject(json['metadata']) ? json['metadata'] : undefined;
  return nonEmpty(json['sessionID']) ?? (metadata ? nonEmpty(metadata['sessionID']) : undefined);
}

export function messageMetaOf(json: Record<string, unknown>, msgId: string, sessionIdHint: string, now: number): MessageMeta {
  const f = messageFields(json);
  const role = f.role === 'assistant' ? 'assistant' : f.role === 'user' ? 'user' : 'other';
  const created = typeof f.time['created'] === 'number' ? f.time['created'] : undefined;
  const completed = typeof f.time['completed'] === 'number' ? f.time['completed'] : undefined;
  const usage = readUsage(f.assistant['tokens']);
  const cost = typeof f.assistant['cost'] === 'number' ? f.assistant['cost'] : 0;
  const meta: MessageMeta = {
    role,
    sessionId: messageSessionId(json) ?? sessionIdHint,
    final: role !== 'assistant' || completed !== undefined || f.error !== undefined || (created !== undefined && now - created > STALE_MESSAGE_MS),
    hasUsage: cost > 0 || (usage !== undefined && usage.input + usage.output + usage.reasoning + usage.cacheRead + usage.cacheWrite > 0),
    copied: false,
  };
  if (role === 'assistant') {
    const provider = nonEmpty(f.assistant['providerID']);
    const model = nonEmpty(f.assistant['modelID']);
    if (provider !== undefined) meta.providerID = provider;
    if (model !== undefined) meta.modelID = model;
    if (created !== undefined) {
      const minted = idTime(msgId, created);
      meta.copied = minted !== undefined && minted - created > FORK_COPY_MS;
    }
  }
  if (created !== undefined) meta.created = created;
  if (completed !== undefined) meta.completed = completed;
  return meta;
}

/** One `step-finish` part -> one request. */
export function stepEvent(
  part: Record<string, unknown>,
  ids: { partId: string; messageId: string; sessionId: string },
  msg: MessageMeta | undefined,
  session: SessionMeta | undefined,
  file: string,
  rowTime?: number,
): UsageEvent | undefined {
  const raw = readUsage(part['tokens']);
  if (!raw || msg?.copied) return undefined;
  const reference = msg?.created ?? session?.created ?? rowTime ?? Date.now();
  const partTime = isObject(part['time']) && typeof part['time']['end'] === 'number' ? part['time']['end'] : undefined;
  const ev: UsageEvent = {
    agent: 'opencode',
    key: `opencode:${ids.partId}`,
    sessionId: ids.sessionId,
    project: session?.directory ?? '',
    model: modelName(msg?.providerID, msg?.modelID),
    timestamp: idTime(ids.partId, reference) ?? partTime ?? msg?.completed ?? msg?.created ?? rowTime ?? 0,
    tokens: normaliseTokens(raw, { version: session?.version, providerID: msg?.providerID, modelID: msg?.modelID }),
    file,
  };
  if (session?.parentId !== undefined) ev.parentSessionId = session.parentId;
  if (typeof part['cost'] === 'number' && Number.isFinite(part['cost'])) ev.loggedCostUSD = part['cost'];
  return ev;
}

/** A finished assistant message without step parts -> one request (its tokens are its last call). */
export function messageEvent(
  json: Record<string, unknown>,
  msgId: string,
  sessionId: string,
  session: SessionMeta | undefined,
  file: string,
  now: number,
): UsageEvent | undefined {
  const meta = messageMetaOf(json, msgId, sessionId, now);
  if (meta.role !== 'assistant' || !meta.hasUsage || meta.copied) return undefined;
  const f = messageFields(json);
  const raw = readUsage(f.assistant['tokens']) ?? { input: 0, output: 0, reasoning: 0, cacheRead: 0, cacheWrite: 0 };
  const ev: UsageEvent = {
    agent: 'opencode',
    key: `opencode:${msgId}`,
    sessionId,
    project: session?.directory ?? '',
    model: modelName(meta.providerID, meta.modelID),
    timestamp: meta.completed ?? meta.created ?? 0,
    tokens: normaliseTokens(raw, { version: session?.version, providerID: meta.providerID, modelID: meta.modelID }),
    file,
  };
  if (session?.parentId !== undefined) ev.parentSessionId = session.parentId;
  if (typeof f.assistant['cost'] === 'number' && Number.isFinite(f.assistant['cost'])) ev.loggedCostUSD = f.assistant['cost'];
  return ev;
}

// ---------------------------------------------------------------------------------------------
// SQLite: rows -> events (pure, unit-tested on rows) and the database access

export interface DbPartRow {
  r: number;
  id: string;
  message_id: string;
  session_id: string;
  time_created: number | null;
  data: string;
}

export interface DbMessageRow {
  r: number;
  id: string;
  session_id: string;
  time_created: number | null;
  data: string;
}

export interface DbSessionRow {
  id: string;
  parent_id: string | null;
  directory: string | null;
  version: string | null;
  time_created: number | null;
}

export interface DbRows {
  /** New candidate step parts (rows whose data mentions "step-finish"). */
  parts: DbPartRow[];
  /** New messages, and the pending ones read again. */
  messages: DbMessageRow[];
  sessions: DbSessionRow[];
}

/** What one database's reader keeps between reads: metadata, which messages have steps, cursors. */
export class OpenCodeDbState {
  readonly sessions = new Map<string, SessionMeta>();
  /** Assistant messages only. */
  readonly messages = new Map<string, MessageMeta>();
  readonly stepMessages = new Set<string>();
  /** Assistant messages not finished at the last read and without steps: read again next time. */
  readonly pending = new Set<string>();
  /** [rowid, id] of the newest row seen at each read, newest last. */
  partCheckpoints: Array<[number, string]> = [];
  messageCheckpoints: Array<[number, string]> = [];

  /** Rows of one read (one snapshot) -> the usage events they add. */
  ingest(rows: DbRows, file: string, now: number = Date.now()): UsageEvent[] {
    for (const s of rows.sessions) {
      const meta: SessionMeta = { directory: s.directory ?? '' };
      if (s.parent_id) meta.parentId = s.parent_id;
      if (s.version) meta.version = s.version;
      if (typeof s.time_created === 'number') meta.created = s.time_created;
      this.sessions.set(s.id, meta);
    }
    const fresh: Array<[DbMessageRow, Record<string, unknown>]> = [];
    for (const m of rows.messages) {
      const json = parseJson(m.data);
      if (!json) continue;
      const meta = messageMetaOf(json, m.id, m.session_id, now);
      meta.sessionId = m.session_id;
      if (meta.created === undefined && typeof m.time_created === 'number') meta.created = m.time_created;
      if (meta.role !== 'assistant') {
        this.pending.delete(m.id);
        continue;
      }
      this.messages.set(m.id, meta);
      fresh.push([m, json]);
    }
    const events: UsageEvent[] = [];
    for (const p of rows.parts) {
      const json = parseJson(p.data);
      if (!json || json['type'] !== 'step-finish') continue;
      this.stepMessages.add(p.message_id);
      this.pending.delete(p.message_id);
      const msg = this.messages.get(p.message_id);
      const ev = stepEvent(json, { partId: p.id, messageId: p.message_id, sessionId: p.session_id }, msg, this.sessions.get(p.session_id), file, p.time_created ?? undefined);
      if (ev) events.push(ev);
    }
    // In one snapshot a message with usage has its step parts (written before the message): no
    // step part read by now means the message has none.
    for (const [m, json] of fresh) {
      if (this.stepMessages.has(m.id)) continue;
      const meta = this.messages.get(m.id)!;
      if (!meta.final) {
        this.pending.add(m.id);
        continue;
      }
      this.pending.delete(m.id);
      const ev = messageEvent(json, m.id, m.session_id, this.sessions.get(m.session_id), file, now);
      if (ev) events.push(ev);
    }
    return events;
  }

  /** Session ids the rows refer to whose metadata is not known yet. */
  missingSessions(parts: readonly DbPartRow[], messages: readonly DbMessageRow[]): string[] {
    const ids = new Set<string>();
    for (const r of parts) if (!this.sessions.has(r.session_id)) ids.add(r.session_id);
    for (const r of messages) if (!this.sessions.has(r.session_id)) ids.add(r.session_id);
    return [...ids];
  }
}

/** The part of `node:sqlite` used here (Node ≥ 22.5; unflagged from 22.13). */
export interface SqliteModule {
  DatabaseSync: new (file: string, options?: { readOnly?: boolean; timeout?: number }) => SqliteDatabase;
}
interface SqliteDatabase {
  exec(sql: string): void;
  prepare(sql: string): { all(...params: unknown[]): unknown[]; get(...params: unknown[]): unknown };
  close(): void;
}

/** `require('node:sqlite')` without its one-time ExperimentalWarning; undefined when the runtime has none. */
export function loadNodeSqlite(): SqliteModule | undefined {
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (String(warning).includes('SQLite is an experimental feature')) return;
    return (emit as (...a: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require('node:sqlite') as Partial<SqliteModule>;
    return typeof mod.DatabaseSync === 'function' ? (mod as SqliteModule) : undefined;
  } catch {
    return undefined;
  } finally {
    process.emitWarning = emit;
  }
}

/**
 * Never write into OpenCode's folder: a plain read-only open of a cleanly closed WAL
 * database creates empty -wal and -shm files beside it. With no -wal present (OpenCode is
 * not running) the file is opened as immutable, which creates nothing; while OpenCode runs,
 * its -wal and -shm already exist and a normal read-only open shares them.
 */
export function readOnlyLocation(dbPath: string, walExists: boolean): string {
  if (walExists) return dbPath;
  return `${pathToFileURL(dbPath).href}?immutable=1`;
}

/** Tables this reader may query: nothing else in the database is ever read. */
type Table = 'part' | 'message';

/**
 * One incremental read: opens the database READ-ONLY (a WAL reader: never blocks OpenCode's
 * writer and sees every committed transaction, WAL included), reads the rows added since the
 * last read in one snapshot, closes it. Queries only `part`, `message` and `session`.
 */
export function readOpenCodeDb(sqlite: SqliteModule, dbPath: string, state: OpenCodeDbState, walExists = existsSync(`${dbPath}-wal`)): UsageEvent[] {
  const db = new sqlite.DatabaseSync(readOnlyLocation(dbPath, walExists), { readOnly: true, timeout: 5000 });
  let rows: DbRows;
  try {
    db.exec('PRAGMA busy_timeout = 5000');
    db.exec('BEGIN'); // one snapshot for every query below
    try {
      const partFrom = validCursor(db, 'part', state.partCheckpoints);
      const msgFrom = validCursor(db, 'message', state.messageCheckpoints);
      const parts = db
        .prepare(`SELECT rowid AS r, id, message_id, session_id, time_created, data FROM part WHERE rowid > ? AND instr(data, '"step-finish"') > 0 ORDER BY rowid`)
        .all(partFrom) as DbPartRow[];
      const messages = db
        .prepare(`SELECT rowid AS r, id, session_id, time_created, data FROM message WHERE rowid > ? AND instr(data, 'assistant') > 0 ORDER BY rowid`)
        .all(msgFrom) as DbMessageRow[];
      const seen = new Set(messages.map((m) => m.id));
      const pending = [...state.pending].filter((id) => !seen.has(id));
      for (let i = 0; i < pending.length; i += SQL_BATCH) {
        const batch = pending.slice(i, i + SQL_BATCH);
        messages.push(...(db.prepare(`SELECT rowid AS r, id, session_id, time_created, data FROM message WHERE id IN (${batch.map(() => '?').join(',')})`).all(...batch) as DbMessageRow[]));
      }
      const sessions: DbSessionRow[] = [];
      const missing = state.missingSessions(parts, messages);
      for (let i = 0; i < missing.length; i += SQL_BATCH) {
        const batch = missing.slice(i, i + SQL_BATCH);
        sessions.push(...(db.prepare(`SELECT id, parent_id, directory, version, time_created FROM session WHERE id IN (${batch.map(() => '?').join(',')})`).all(...batch) as DbSessionRow[]));
      }
      rows = { parts, messages, sessions };
      pushCheckpoint(db, 'part', state.partCheckpoints);
      pushCheckpoint(db, 'message', state.messageCheckpoints);
    } finally {
      db.exec('COMMIT');
    }
  } finally {
    db.close();
  }
  return state.ingest(rows, dbPath);
}

/**
 * Where to resume: the newest checkpoint whose row still holds the same id (new rows get
 * rowid > max(rowid) ≥ it). A checkpoint row deleted since (a revert dropped the newest rows,
 * whose rowids new rows may now reuse) falls back to an older one; none left: from the start.
 */
function validCursor(db: SqliteDatabase, table: Table, checkpoints: Array<[number, string]>): number {
  const stmt = db.prepare(`SELECT id FROM ${table} WHERE rowid = ?`);
  while (checkpoints.length > 0) {
    const [rowid, id] = checkpoints[checkpoints.length - 1]!;
    const row = stmt.get(rowid) as { id?: unknown } | undefined;
    if (row && row.id === id) return rowid;
    checkpoints.pop();
  }
  return 0;
}

function pushCheckpoint(db: SqliteDatabase, table: Table, checkpoints: Array<[number, string]>): void {
  const top = db.prepare(`SELECT rowid AS r, id FROM ${table} ORDER BY rowid DESC LIMIT 1`).get() as { r?: unknown; id?: unknown } | undefined;
  if (!top || typeof top.r !== 'number' || typeof top.id !== 'string') return;
  const last = checkpoints[checkpoints.length - 1];
  if (last && last[0] === top.r && last[1] === top.id) return;
  checkpoints.push([top.r, top.id]);
  if (checkpoints.length > 32) checkpoints.shift();
}

// ---------------------------------------------------------------------------------------------
// Helpers

async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * The part's own `type` from the first bytes of its file (the key comes before any nested object
 * in every version's key order). Undefined when not found there, or when another type is found
 * but `"step-finish"` also occurs (left to the full parse).
 */
function partTypeOf(content: Buffer): string | undefined {
  const head = content.toString('latin1', 0, Math.min(content.length, TYPE_SCAN_BYTES));
  const m = TYPE_RE.exec(head);
  if (!m) return undefined;
  if (m[1] !== 'step-finish' && head.includes('"step-finish"')) return undefined;
  return m[1];
}

/** `<id>.json` (not a dot file such as an atomic-write temp file) -> id. */
function jsonName(e: Dirent): string | undefined {
  if (!e.isFile() || !e.name.endsWith('.json') || e.name.startsWith('.')) return undefined;
  return e.name.slice(0, -'.json'.length);
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return isObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

