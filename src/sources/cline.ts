/**
 * Cline, Roo Code and Kilo Code (classic): one reader for the family, each event tagged with its
 * own agent id. Checked against cline/cline (pre-SDK `src/shared/getApiMetrics.ts`,
 * `combineApiRequests.ts`, `src/core/task/index.ts`, `src/core/storage/disk.ts`,
 * `src/core/api/providers/*`, `src/standalone/vscode-context.ts`; the 4.x SDK under `sdk/packages`
 * and `apps/vscode/src/sdk`), RooCodeInc/Roo-Code (`src/core/task/Task.ts`, `src/shared/cost.ts`,
 * `packages/core/src/message-utils/consolidateTokenUsage.ts`, `src/core/checkpoints/index.ts`) and
 * Kilo-Org/kilocode-legacy (the classic Kilo Code, a Roo fork, and its CLI's `KiloCodePaths`).
 *
 * 1. Task files: `<editor user data>/User/globalStorage/<extension id>/tasks/<taskId>/ui_messages.json`
 *    (ids `saoudrizwan.claude-dev` → cline, `rooveterinaryinc.roo-cline` → roo-code,
 *    `kilocode.kilo-code` → kilo-code), also Cline's standalone/CLI store `~/.cline/data/tasks/`
 *    and the classic Kilo CLI's `~/.kilocode/cli/global/tasks/`. A JSON array rewritten in place:
 *    read whole as a document; a reading that does not parse (caught mid-write) throws, and the
 *    scanner keeps what it had and retries.
 *    - A request is a `say:"api_req_started"` entry whose `text` (JSON) holds usage; it is first
 *      written as `{"request":…}` (Roo/Kilo since Oct 2025: `{"apiProtocol":…}`) and updated in place
 *      under the same `ts`, so its key is `<agent>:<taskId>:<ts>` (`#n` added only if two usage
 *      entries of one file share a ts). An entry without any usage field emits nothing (Cline
 *      itself deletes such a trailing entry on resume); one with usage fields emits them even when
 *      all zero (a failed/cancelled attempt, as Cline counts it): a later, larger reading of the
 *      same entry wins in the ledger.
 *    - Very old Cline wrote usage in a separate `say:"api_req_finished"`: merged into the
 *      `api_req_started` before it exactly as `combineApiRequests` does.
 *    - Aggregates of usage no longer present as requests: `deleted_api_reqs` (Cline, checkpoint
 *      restore), `api_req_deleted` (Roo/Kilo, likewise) and `subagent_usage` (Cline subagents, which
 *      keep no files of their own); counted when any figure is non-zero (Cline's getApiMetrics adds
 *      deleted_api_reqs and subagent_usage to its task total). Roo's `condense_context` carries the
 *      cost of a summarisation call (`contextCondense.cost`, no tokens): counted when non-zero.
 *      Retries (`error_retry`, `api_req_retried`, `ask:"api_req_failed"`) are not requests.
 *    - Input tokens: Cline's own providers mostly log `tokensIn` WITHOUT cache reads/writes, except
 *      those that pass the provider's `prompt_tokens` through (CACHE_INCLUSIVE_CLINE_PROVIDERS, from
 *      `modelInfo.providerId`). Roo (since 2025-10-31) and Kilo (since 2025-11-12) log the TOTAL for
 *      both protocols (`costResult.totalInputTokens`); from July 2025 to then they logged the
 *      provider's figure: with cache for `apiProtocol:"openai"`, without for `"anthropic"` — and
 *      those entries still had `request` (removed 2025-10-17/-21). Rule: when the entry has
 *      `apiProtocol` (in its text or on the message) and is not an anthropic entry with `request`,
 *      or is a Cline entry from a cache-inclusive provider, and `tokensIn ≥ cacheWrites +
 *      cacheReads`, uncached input = tokensIn − cacheWrites − cacheReads; else tokensIn.
 *      Cache writes are billed as 5-minute writes.
 *    - model = `modelInfo.modelId` on the message (newer Cline), else null (then only the logged
 *      cost prices it); `loggedCostUSD` = `cost`. sessionId = taskId; timestamp = entry ts.
 *    - project: Roo's `history_item.json` `workspace` (read once per task at discovery), else the
 *      `# Current Working|Workspace Directory (…) Files` line Cline/Roo/Kilo put in the request's
 *      environment details (in ui_messages.json while `request` is logged; else in the first user
 *      message of `api_conversation_history.json`, of which only the head is read, once, for
 *      Roo/Kilo tasks). `task_metadata.json` holds no folder.
 *
 * 2. Cline ≥ 4.0 (SDK) sessions: `<CLINE_SESSION_DATA_DIR | CLINE_DATA_DIR/sessions |
 *    CLINE_DIR/data/sessions | ~/.cline/data/sessions>/<rootSessionId>/`: `<rootSessionId>.messages.json`
 *    (lead), `<agentId>.messages.json` / `<agentId>__<teamTaskId>.messages.json` (subagents,
 *    teammates), `<rootSessionId>.json` (manifest with `cwd`). A messages file is
 *    `{version:1, agent, sessionId, messages:[…]}` rewritten in place; each model call's assistant
 *    message carries `modelInfo {id, provider}` and `metrics {inputTokens, outputTokens,
 *    cacheReadTokens, cacheWriteTokens, cost}` (agent-runtime `usageDelta` around one model call).
 *    `inputTokens` INCLUDES cache reads and writes (apps/vscode `message-translator.ts`:
 *    "SDK provider usage reports inputTokens as the full request size"), so uncached =
 *    max(0, input − reads − writes). Key `cline:sdk:<message id>`: a fork copies the parent's
 *    messages with their ids and is counted once. A legacy task resumed in 4.x starts with its
 *    converted history, whose last assistant message is stamped with the WHOLE legacy task's totals,
 *    followed by a "legacy conversation" warning message: metrics before that warning are skipped
 *    (the legacy ui_messages.json already counts them).
 *
 * Known limits.
 *  - A checkpoint restore deletes requests from the file and adds their sum as one aggregate entry.
 *    Read from scratch, the file gives the right total; but requests read BEFORE the restore stay
 *    in the ledger (history is kept) and the aggregate is added on top: counted twice. The ledger's
 *    per-key merge cannot take usage back; a fix needs a contract change (e.g. an aggregate event
 *    that supersedes the keys of its session in a time range).
 *  - Roo 2025-10-17…31 and Kilo 2025-10-21…11-12 anthropic entries carry neither `request` nor
 *    total input: one whose uncached input is at least its cache figures is reduced wrongly.
 *  - A Roo/Kilo task's folder is learnt at discovery; a request read before the discovery that
 *    sees the task's side files keeps project ''.
 *  - Cline 4.x compaction summarisation calls are not in messages.json (not counted); before
 *    2026-07-07 compaction rewrote messages.json, so calls it dropped are counted only if read before.
 *
 * Pure apart from discovery: no `vscode`, file access only through the injected `SourceFs`.
 */
import type { Dirent } from 'node:fs';
import * as path from 'node:path';
import { isUsage, PROMPT_TEXT_MAX, type AgentId, type SourceEvent, type TokenCounts, type UsageEvent } from '../core/events';
import { expandHome, isMissing, isObject, nonEmpty, tokenCount } from './json';
import type { DiscoveryResult, LineParser, Source, SourceEnv, SourceFs } from './source';
import { errorText } from './walk';

export type ClineFamilyAgent = Extract<AgentId, 'cline' | 'roo-code' | 'kilo-code'>;

/** VS Code globalStorage folder names (lowercased extension ids) → agent. */
export const CLINE_EXTENSION_IDS: Readonly<Record<string, ClineFamilyAgent>> = Object.freeze({
  'saoudrizwan.claude-dev': 'cline',
  'rooveterinaryinc.roo-cline': 'roo-code',
  'kilocode.kilo-code': 'kilo-code',
});

/**
 * Editor user-data folders (VS Code's `getUserDataPath`: `<appData>/<productName>`): VS Code,
 * Insiders, OSS builds (`Code - OSS`), VSCodium (+ Insiders), and the forks people run these
 * extensions in: Cursor, Windsurf (+ Next), Trae (+ CN), Kiro, Positron.
 */
export const EDITOR_PRODUCTS: readonly string[] = Object.freeze([
  'Code', 'Code - Insiders', 'Code - OSS', 'VSCodium', 'VSCodium - Insiders', 'Cursor', 'Windsurf',
  'Windsurf - Next', 'Trae', 'Trae CN', 'Kiro', 'Positron',
]);

/** Remote/server installs under the home folder (Linux, macOS): `<home>/<dir>` holds `User/`. */
export const REMOTE_SERVER_DATA: readonly string[] = Object.freeze([
  '.vscode-server/data', '.vscode-server-insiders/data', '.vscodium-server/data', '.cursor-server/data',
  '.windsurf-server/data', '.openvscode-server/data',
]);

/** Flatpak editors (Linux): `<home>/.var/app/<app>/config/<product>`. */
const FLATPAK_USER_DATA: readonly (readonly [string, string])[] = [
  ['com.visualstudio.code', 'Code'],
  ['com.vscodium.codium', 'VSCodium'],
];

/**
 * Cline providers whose usage chunk passes `prompt_tokens` through as `inputTokens` (cache reads
 * included): cline `src/core/api/providers/{openai,openai-codex,xai,lmstudio,fireworks,doubao,qwen,
 * zai,hicap,litellm,oca}.ts`. The others subtract the cache themselves or report Anthropic-style.
 */
const CACHE_INCLUSIVE_CLINE_PROVIDERS: ReadonlySet<string> = new Set([
  'openai', 'openai-codex', 'xai', 'lmstudio', 'fireworks', 'doubao', 'qwen', 'zai', 'hicap', 'litellm', 'oca',
]);

/** The first message of a 4.x session resumed from a legacy task after its converted history. */
const LEGACY_RESUME_MARKER = 'Warning: this is a legacy conversation';

const UI_MESSAGES = 'ui_messages.json';
const SDK_MESSAGES_SUFFIX = '.messages.json';
const USAGE_FIELDS = ['tokensIn', 'tokensOut', 'cacheWrites', 'cacheReads', 'cost'] as const;
const AGGREGATE_SAYS: ReadonlySet<string> = new Set(['deleted_api_reqs', 'api_req_deleted', 'subagent_usage']);
const CWD_LINE = /# Current (?:Working|Workspace) Directory \((.+?)\) Files/;
/** Bytes read from the head of a side file (history_item.json, api_conversation_history.json, manifest). */
const SIDE_FILE_HEAD = 1 << 20;
/** A first, smaller look at api_conversation_history.json (the cwd line is usually in its first KB). */
const SIDE_FILE_PEEK = 64 << 10;
const SIDE_READ_CONCURRENCY = 8;

export interface ClineSourceOptions {
  /**
   * Extra locations from settings: a `globalStorage/<extension id>` folder (or any folder holding
   * `tasks/`), a `tasks/` folder itself, a Cline data folder (holding `tasks/` and/or `sessions/`)
   * or a 4.x `sessions/` folder. The agent is the extension id found in the path, else cline.
   */
  extraPaths?: readonly string[];
}

/** A folder of `<taskId>/ui_messages.json` task folders. */
export interface ClineTasksLocation {
  path: string;
  agent: ClineFamilyAgent;
}

export interface ClineLocations {
  tasks: ClineTasksLocation[];
  /** Cline ≥ 4.0 session folders. */
  sessions: string[];
}

/** What discovery learnt about a task/session folder from its side files. */
interface FolderInfo {
  project?: string;
  parent?: string;
  /** True once the side files gave what they have (no further reads). */
  settled: boolean;
}

export class ClineSource implements Source {
  /** The family's id; each event carries its own (cline / roo-code / kilo-code). */
  readonly agent = 'cline' as const;
  /** A checkpoint restore folds removed requests into one aggregate entry: each reading replaces the last. */
  readonly replacesOnReread = true;
  /** Unused: every file of this source is a document (read whole). */
  readonly needles: readonly string[] = ['"api_req_started"', '"metrics"'];
  private readonly p: path.PlatformPath;
  /** tasks folder → agent, from the configured locations. */
  private readonly agentByTasksDir = new Map<string, ClineFamilyAgent>();
  /** task / session folder → what its side files say (kept across discoveries: a task's folder never changes). */
  private readonly folderInfo = new Map<string, FolderInfo>();
  private sideReads = 0;
  private readonly sideWaiters: (() => void)[] = [];

  constructor(
    private readonly env: SourceEnv,
    private readonly fs: SourceFs,
    private readonly opts: ClineSourceOptions = {},
  ) {
    this.p = env.platform === 'win32' ? path.win32 : path.posix;
    // Known before the first discovery too (files restored from the persistent index).
    for (const loc of this.locations().tasks) this.agentByTasksDir.set(loc.path, loc.agent);
  }

  /** Editor user-data folders (each holding `User/globalStorage/`) for this platform, most common first. */
  userDataDirs(): string[] {
    const { env: vars, home, platform } = this.env;
    const p = this.p;
    const dirs: string[] = [];
    const portable = nonEmpty(vars['VSCODE_PORTABLE']);
    if (portable !== undefined) dirs.push(p.join(portable, 'user-data'));
    const appDataOverride = nonEmpty(vars['VSCODE_APPDATA']);
    if (appDataOverride !== undefined) for (const product of EDITOR_PRODUCTS) dirs.push(p.join(appDataOverride, product));
    let appData: string;
    if (platform === 'win32') {
      appData = nonEmpty(vars['APPDATA']) ?? p.join(nonEmpty(vars['USERPROFILE']) ?? home, 'AppData', 'Roaming');
    } else if (platform === 'darwin') {
      appData = p.join(home, 'Library', 'Application Support');
    } else {
      appData = nonEmpty(vars['XDG_CONFIG_HOME']) ?? p.join(home, '.config');
    }
    for (const product of EDITOR_PRODUCTS) dirs.push(p.join(appData, product));
    if (platform !== 'win32' && platform !== 'darwin') {
      for (const [app, product] of FLATPAK_USER_DATA) dirs.push(p.join(home, '.var', 'app', app, 'config', product));
      dirs.push(p.join(nonEmpty(vars['XDG_DATA_HOME']) ?? p.join(home, '.local', 'share'), 'code-server'));
    }
    if (platform !== 'win32') for (const server of REMOTE_SERVER_DATA) dirs.push(p.join(home, ...server.split('/')));
    return unique(dirs);
  }

  /** Every folder this source reads: task folders (with their agent) and 4.x session folders. */
  locations(): ClineLocations {
    const { env: vars, home } = this.env;
    const p = this.p;
    const tasks: ClineTasksLocation[] = [];
    for (const userData of this.userDataDirs()) {
      for (const [id, agent] of Object.entries(CLINE_EXTENSION_IDS)) {
        tasks.push({ path: p.join(userData, 'User', 'globalStorage', id, 'tasks'), agent });
      }
    }
    // Cline's standalone host (CLI 3.x, JetBrains) uses the data folder as its global storage.
    const defaultData = p.join(home, '.cline', 'data');
    const dataDir = nonEmpty(vars['CLINE_DATA_DIR']) ?? p.join(nonEmpty(vars['CLINE_DIR']) ?? p.join(home, '.cline'), 'data');
    for (const d of unique([dataDir, defaultData])) tasks.push({ path: p.join(d, 'tasks'), agent: 'cline' });
    // The classic Kilo Code CLI (KiloCodePaths.getTasksDir).
    tasks.push({ path: p.join(home, '.kilocode', 'cli', 'global', 'tasks'), agent: 'kilo-code' });
    const sessions = [nonEmpty(vars['CLINE_SESSION_DATA_DIR']) ?? p.join(dataDir, 'sessions'), p.join(defaultData, 'sessions')];
    for (const extra of this.opts.extraPaths ?? []) {
      const dir = expandHome(extra.trim(), home);
      if (dir === '') continue;
      const base = p.basename(dir);
      const agent = agentFromPath(dir) ?? 'cline';
      if (base === 'tasks') tasks.push({ path: dir, agent });
      else if (base === 'sessions') sessions.push(dir);
      else {
        tasks.push({ path: p.join(dir, 'tasks'), agent });
        sessions.push(p.join(dir, 'sessions'));
      }
    }
    const seen = new Set<string>();
    return {
      tasks: tasks.filter((t) => (seen.has(t.path) ? false : (seen.add(t.path), true))),
      sessions: unique(sessions),
    };
  }

  async discover(): Promise<DiscoveryResult> {
    const result: DiscoveryResult = { files: [], roots: [], problems: [] };
    const { tasks, sessions } = this.locations();
    await Promise.all([...tasks.map((loc) => this.discoverTasks(loc, result)), ...sessions.map((dir) => this.discoverSessions(dir, result))]);
    result.files.sort((a, b) => compare(a.path, b.path));
    result.roots.sort(compare);
    result.problems.sort((a, b) => compare(a.path, b.path));
    return result;
  }

  createParser(): LineParser {
    // Every file of this source is a document; nothing is read line by line.
    return { parseLine: () => [] };
  }

  isDocument(file: string): boolean {
    const name = baseName(file);
    return name === UI_MESSAGES || name.endsWith(SDK_MESSAGES_SUFFIX);
  }

  /** Throws when the content does not parse (caught mid-write): the scanner keeps what it had and retries. */
  parseDocument(file: string, content: Buffer): SourceEvent[] {
    const dir = dirName(file);
    if (baseName(file) === UI_MESSAGES) {
      const tasksDir = dirName(dir);
      const agent = this.agentByTasksDir.get(tasksDir) ?? agentFromPath(tasksDir) ?? 'cline';
      const info = this.folderInfo.get(dir);
      return parseUiMessages(content, { file, agent, taskId: baseName(dir), project: info?.project, parentSessionId: info?.parent });
    }
    return parseSdkMessages(content, { file, rootSessionId: baseName(dir), project: this.folderInfo.get(dir)?.project });
  }

  /** `tasks/<taskId>/ui_messages.json`, and for Roo/Kilo the side files that name the task's folder. */
  private async discoverTasks(loc: ClineTasksLocation, result: DiscoveryResult): Promise<void> {
    const entries = await this.list(loc.path, result.problems);
    if (entries === undefined) return;
    result.roots.push(loc.path);
    await Promise.all(
      entries
        .filter((e) => e.isDirectory())
        .map(async (e) => {
          const taskDir = this.p.join(loc.path, e.name);
          const files = await this.list(taskDir, result.problems);
          if (files === undefined) return;
          const names = new Set(files.filter((f) => f.isFile()).map((f) => f.name));
          if (!names.has(UI_MESSAGES)) return;
          if (loc.agent !== 'cline') await this.learnTaskFolder(taskDir, names);
          result.files.push({ path: this.p.join(taskDir, UI_MESSAGES), root: loc.path });
        }),
    );
  }

  /** `sessions/<root>/*.messages.json` and the root's manifest (`<root>.json`, for its cwd). */
  private async discoverSessions(dir: string, result: DiscoveryResult): Promise<void> {
    const entries = await this.list(dir, result.problems);
    if (entries === undefined) return;
    result.roots.push(dir);
    await Promise.all(
      entries
        .filter((e) => e.isDirectory())
        .map(async (e) => {
          const sessionDir = this.p.join(dir, e.name);
          const files = await this.list(sessionDir, result.problems);
          if (files === undefined) return;
          const messages = files.filter((f) => f.isFile() && f.name.endsWith(SDK_MESSAGES_SUFFIX));
          if (messages.length === 0) return;
          const manifest = `${e.name}.json`;
          if (files.some((f) => f.isFile() && f.name === manifest)) await this.learnSessionFolder(sessionDir, manifest);
          for (const f of messages) result.files.push({ path: this.p.join(sessionDir, f.name), root: dir });
        }),
    );
  }

  /** Roo: history_item.json (workspace, parent task); else the cwd line in the head of api_conversation_history.json. */
  private async learnTaskFolder(taskDir: string, names: ReadonlySet<string>): Promise<void> {
    if (this.folderInfo.get(taskDir)?.settled) return;
    const info: FolderInfo = { settled: false };
    if (names.has('history_item.json')) {
      const head = await this.readHead(this.p.join(taskDir, 'history_item.json'));
      const item = head?.complete ? parseJson(head.text) : undefined; // undefined while being rewritten
      if (isObject(item)) {
        const workspace = nonEmpty(item['workspace']);
        const parent = nonEmpty(item['parentTaskId']);
        if (parent !== undefined) info.parent = parent;
        if (workspace !== undefined) {
          info.project = workspace;
          info.settled = true;
        }
      }
    }
    if (!info.settled && names.has('api_conversation_history.json')) {
      const history = this.p.join(taskDir, 'api_conversation_history.json');
      let head = await this.readHead(history, SIDE_FILE_PEEK);
      if (head !== undefined && !head.complete && cwdFromText(head.text) === undefined) head = await this.readHead(history);
      if (head !== undefined) {
        const cwd = cwdFromText(head.text);
        if (cwd !== undefined) info.project = cwd;
        // The first user message is written once: a head that is full, or a whole non-empty history,
        // that lacks the line will not gain it. An empty or half-written file is looked at again.
        const whole = head.complete ? parseJson(head.text) : undefined;
        info.settled = cwd !== undefined || !head.complete || (Array.isArray(whole) && whole.length > 0);
      }
    }
    if (info.settled || info.parent !== undefined) this.folderInfo.set(taskDir, info);
  }

  /** The session's cwd from its manifest (`cwd` precedes the long `prompt` in the file: a head is enough). */
  private async learnSessionFolder(sessionDir: string, manifest: string): Promise<void> {
    if (this.folderInfo.get(sessionDir)?.settled) return;
    const file = this.p.join(sessionDir, manifest);
    let head = await this.readHead(file, SIDE_FILE_PEEK);
    const field = (text: string) => jsonStringField(text, 'cwd') ?? jsonStringField(text, 'workspace_root');
    if (head !== undefined && !head.complete && field(head.text) === undefined) head = await this.readHead(file);
    if (head === undefined) return;
    let cwd: string | undefined;
    if (head.complete) {
      const m = parseJson(head.text);
      if (m === undefined) return; // being rewritten: try again at the next discovery
      if (isObject(m)) cwd = nonEmpty(m['cwd']) ?? nonEmpty(m['workspace_root']);
    } else {
      cwd = field(head.text);
    }
    this.folderInfo.set(sessionDir, cwd === undefined ? { settled: true } : { project: cwd, settled: true });
  }

  /** The first `max` bytes of a file (fewer if it is smaller); undefined when it cannot be read. */
  private readHead(file: string, max = SIDE_FILE_HEAD): Promise<{ text: string; complete: boolean } | undefined> {
    return this.limited(async () => {
      try {
        const handle = await this.fs.open(file, 'r');
        try {
          const size = (await handle.stat()).size;
          const buf = Buffer.alloc(Math.min(size, max));
          let filled = 0;
          while (filled < buf.length) {
            const { bytesRead } = await handle.read(buf, filled, buf.length - filled, filled);
            if (bytesRead === 0) break;
            filled += bytesRead;
          }
          return { text: buf.toString('utf8', 0, filled), complete: size <= max && filled === size };
        } finally {
          await handle.close();
        }
      } catch {
        return undefined;
      }
    });
  }

  /** Runs side-file reads a few at a time (a first discovery may meet thousands of tasks). */
  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    while (this.sideReads >= SIDE_READ_CONCURRENCY) await new Promise<void>((resolve) => this.sideWaiters.push(resolve));
    this.sideReads++;
    try {
      return await fn();
    } finally {
      this.sideReads--;
      this.sideWaiters.shift()?.();
    }
  }

  private async list(dir: string, problems: DiscoveryResult['problems']): Promise<Dirent[] | undefined> {
    try {
      return await this.fs.readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (!isMissing(err)) problems.push({ path: dir, message: errorText(err) });
      return undefined;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// ui_messages.json

export interface UiMessagesContext {
  file: string;
  agent: ClineFamilyAgent;
  taskId: string;
  /** The task's folder when known from outside the file (Roo's history_item.json). */
  project?: string | undefined;
  parentSessionId?: string | undefined;
}

/** Every request and usage aggregate of one ui_messages.json. Throws when it does not parse. */
export function parseUiMessages(content: Buffer | string, ctx: UiMessagesContext): SourceEvent[] {
  const doc: unknown = JSON.parse(typeof content === 'string' ? content : content.toString('utf8'));
  if (!Array.isArray(doc)) throw new Error('ui_messages.json is not an array');
  const merged = mergeFinished(doc);
  let project = ctx.project;
  const events: SourceEvent[] = [];
  // The task's own prompt: Cline's native task is one session; its first `say:"task"` starts it.
  const task = doc.find((m): m is Record<string, unknown> => isSay(m, 'task'));
  if (task && typeof task['text'] === 'string' && task['text'].trim()) {
    events.push({
      kind: 'prompt', agent: ctx.agent, key: `${ctx.agent}:${ctx.taskId}:task`, sessionId: ctx.taskId,
      timestamp: typeof task['ts'] === 'number' ? task['ts'] : 0, text: task['text'].slice(0, PROMPT_TEXT_MAX), file: ctx.file,
    });
  }
  const perTs = new Map<number, number>();
  for (let i = 0; i < doc.length; i++) {
    const m: unknown = doc[i];
    if (!isObject(m) || m['type'] !== 'say') continue;
    const say = m['say'];
    let info: Record<string, unknown> | undefined;
    let aggregate = false;
    let cost: number | undefined;
    if (say === 'api_req_started') {
      info = merged.get(i) ?? textObject(m['text']);
      if (project === undefined && typeof info['request'] === 'string') project = cwdFromText(info['request']);
      if (!USAGE_FIELDS.some((f) => isNumber(info![f]))) continue;
    } else if (typeof say === 'string' && AGGREGATE_SAYS.has(say)) {
      info = textObject(m['text']);
      if (!USAGE_FIELDS.some((f) => isNumber(info![f]) && info![f]! > 0)) continue;
      aggregate = true;
    } else if (say === 'condense_context' && isObject(m['contextCondense'])) {
      const c = m['contextCondense']['cost'];
      if (!isNumber(c) || c <= 0) continue;
      info = {};
      cost = c;
    } else {
      continue;
    }
    const ts = typeof m['ts'] === 'number' && Number.isFinite(m['ts']) ? m['ts'] : 0;
    const n = (perTs.get(ts) ?? 0) + 1;
    perTs.set(ts, n);
    const modelInfo = isObject(m['modelInfo']) ? m['modelInfo'] : undefined;
    const ev: UsageEvent = {
      agent: ctx.agent,
      key: `${ctx.agent}:${ctx.taskId}:${ts}${n > 1 ? `#${n}` : ''}`,
      sessionId: ctx.taskId,
      project: '',
      model: nonEmpty(modelInfo?.['modelId']) ?? null,
      timestamp: ts,
      tokens: taskTokens(info, m, ctx.agent, aggregate, nonEmpty(modelInfo?.['providerId'])),
      file: ctx.file,
    };
    cost ??= isNumber(info['cost']) ? info['cost'] : undefined;
    if (cost !== undefined) ev.loggedCostUSD = cost;
    if (ctx.parentSessionId !== undefined) ev.parentSessionId = ctx.parentSessionId;
    events.push(ev);
  }
  for (const ev of events) if (isUsage(ev)) ev.project = project ?? '';
  return events;
}

/** combineApiRequests: each api_req_started takes the fields of the next api_req_finished after it (index → merged text). */
function mergeFinished(doc: readonly unknown[]): Map<number, Record<string, unknown>> {
  const merged = new Map<number, Record<string, unknown>>();
  const finished: number[] = [];
  for (let i = 0; i < doc.length; i++) if (isSay(doc[i], 'api_req_finished')) finished.push(i);
  if (finished.length === 0) return merged;
  let f = 0;
  for (let i = 0; i < doc.length; i++) {
    if (!isSay(doc[i], 'api_req_started')) continue;
    while (f < finished.length && finished[f]! <= i) f++;
    if (f === finished.length) break;
    const j = finished[f]!;
    merged.set(i, { ...textObject((doc[i] as Record<string, unknown>)['text']), ...textObject((doc[j] as Record<string, unknown>)['text']) });
    i = j; // the started entries in between stay as they are, as in Cline
  }
  return merged;
}

function taskTokens(info: Record<string, unknown>, msg: Record<string, unknown>, agent: ClineFamilyAgent, aggregate: boolean, providerId: string | undefined): TokenCounts {
  const tokensIn = tokenCount(info['tokensIn']);
  const cacheWrite = tokenCount(info['cacheWrites']);
  const cacheRead = tokenCount(info['cacheReads']);
  const protocol = info['apiProtocol'] ?? msg['apiProtocol'];
  let inclusive: boolean;
  if (protocol === 'anthropic') inclusive = !('request' in info);
  else if (protocol !== undefined && protocol !== null) inclusive = true;
  else if (agent !== 'cline') inclusive = aggregate; // sums of Roo/Kilo entries, which carry apiProtocol themselves
  else inclusive = providerId !== undefined && CACHE_INCLUSIVE_CLINE_PROVIDERS.has(providerId);
  const cached = cacheWrite + cacheRead;
  return {
    input: inclusive && tokensIn >= cached ? tokensIn - cached : tokensIn,
    output: tokenCount(info['tokensOut']),
    cacheWrite5m: cacheWrite,
    cacheWrite1h: 0,
    cacheRead,
    reasoning: 0,
  };
}

/**
 * The task prompt's first line: the first `say:"task"` entry (or, in tasks that have none, a leading
 * `say:"text"` entry, which some Cline versions wrote instead). Undefined when there is none or
 * the content does not parse.
 */
export function clineTaskTitle(content: Buffer): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(content.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(doc)) return undefined;
  let text = doc.find((m): m is Record<string, unknown> => isSay(m, 'task'))?.['text'];
  if (text === undefined && isSay(doc[0], 'text')) text = (doc[0] as Record<string, unknown>)['text'];
  if (typeof text !== 'string') return undefined;
  return text.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '');
}

// ---------------------------------------------------------------------------------------------
// Cline 4.x session messages

export interface SdkMessagesContext {
  file: string;
  /** The folder's name: the lead session's id. */
  rootSessionId: string;
  project?: string | undefined;
}

/** Every model call of one `<id>.messages.json`. Throws when it does not parse. */
export function parseSdkMessages(content: Buffer | string, ctx: SdkMessagesContext): UsageEvent[] {
  const doc: unknown = JSON.parse(typeof content === 'string' ? content : content.toString('utf8'));
  if (!isObject(doc)) throw new Error('messages file is not an object');
  const messages = doc['messages'];
  if (!Array.isArray(messages)) return [];
  const stem = baseName(ctx.file).slice(0, -SDK_MESSAGES_SUFFIX.length);
  const sessionId = nonEmpty(doc['sessionId']) ?? stem;
  const child = (doc['agent'] !== undefined && doc['agent'] !== 'lead') || stem !== ctx.rootSessionId;
  const fileTime = typeof doc['updated_at'] === 'string' ? Date.parse(doc['updated_at']) : NaN;
  let firstCounted = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    if (isLegacyResumeMarker(messages[i])) {
      firstCounted = i + 1;
      break;
    }
  }
  const events: UsageEvent[] = [];
  for (let i = firstCounted; i < messages.length; i++) {
    const m: unknown = messages[i];
    if (!isObject(m) || m['role'] !== 'assistant' || !isObject(m['metrics'])) continue;
    const metrics = m['metrics'];
    const input = tokenCount(metrics['inputTokens']);
    const output = tokenCount(metrics['outputTokens']);
    const cacheRead = tokenCount(metrics['cacheReadTokens']);
    const cacheWrite = tokenCount(metrics['cacheWriteTokens']);
    const cost = isNumber(metrics['cost']) ? metrics['cost'] : undefined;
    if (input + output + cacheRead + cacheWrite === 0 && !cost) continue;
    const id = nonEmpty(m['id']);
    const modelInfo = isObject(m['modelInfo']) ? m['modelInfo'] : undefined;
    const ts = isNumber(m['ts']) ? m['ts'] : Number.isFinite(fileTime) ? fileTime : 0;
    const ev: UsageEvent = {
      agent: 'cline',
      key: id !== undefined ? `cline:sdk:${id}` : `cline:sdk:${sessionId}:${i}`,
      sessionId,
      project: ctx.project ?? '',
      model: nonEmpty(modelInfo?.['id']) ?? nonEmpty(m['modelId']) ?? null,
      timestamp: ts,
      tokens: { input: Math.max(0, input - cacheRead - cacheWrite), output, cacheWrite5m: cacheWrite, cacheWrite1h: 0, cacheRead, reasoning: 0 },
      file: ctx.file,
    };
    if (cost !== undefined) ev.loggedCostUSD = cost;
    if (child) {
      ev.sidechain = true;
      if (sessionId !== ctx.rootSessionId) ev.parentSessionId = ctx.rootSessionId;
    }
    events.push(ev);
  }
  return events;
}

function isLegacyResumeMarker(m: unknown): boolean {
  if (!isObject(m) || m['role'] !== 'user') return false;
  const content = m['content'];
  if (typeof content === 'string') return content.includes(LEGACY_RESUME_MARKER);
  return Array.isArray(content) && content.some((b) => isObject(b) && typeof b['text'] === 'string' && b['text'].includes(LEGACY_RESUME_MARKER));
}

// ---------------------------------------------------------------------------------------------
// helpers

function isSay(m: unknown, say: string): boolean {
  return isObject(m) && m['type'] === 'say' && m['say'] === say;
}

/** The JSON object in a message's `text`, or {} (missing, not JSON, not an object). */
function textObject(text: unknown): Record<string, unknown> {
  if (typeof text !== 'string' || text === '') return {};
  try {
    const v: unknown = JSON.parse(text);
    return isObject(v) ? v : {};
  } catch {
    return {};
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** The folder in environment details (`# Current Working Directory (/path) Files`), raw or JSON-escaped text. */
function cwdFromText(text: string): string | undefined {
  const m = CWD_LINE.exec(text);
  if (!m) return undefined;
  const raw = m[1]!;
  if (!raw.includes('\\')) return raw;
  try {
    const v: unknown = JSON.parse(`"${raw}"`); // found inside a JSON file's raw text
    return typeof v === 'string' ? v : raw;
  } catch {
    return raw;
  }
}

/** A top-level-looking `"field": "value"` in the head of a JSON file too large to parse whole. */
function jsonStringField(text: string, field: string): string | undefined {
  const m = new RegExp(`"${field}"\\s*:\\s*"((?:[^"\\\\]|\\\\.)*)"`).exec(text);
  if (!m) return undefined;
  try {
    return nonEmpty(JSON.parse(`"${m[1]}"`));
  } catch {
    return undefined;
  }
}

/** The family agent named by an extension-id folder in the path, if any. */
function agentFromPath(p: string): ClineFamilyAgent | undefined {
  for (const segment of p.split(/[\\/]/)) {
    const agent = CLINE_EXTENSION_IDS[segment.toLowerCase()];
    if (agent !== undefined) return agent;
  }
  return undefined;
}

/** Path helpers that accept either separator (files come from discovery on any platform). */
function baseName(p: string): string {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  return p.slice(i + 1);
}

function dirName(p: string): string {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  return i <= 0 ? p.slice(0, i + 1) : p.slice(0, i);
}

function unique(list: readonly string[]): string[] {
  return [...new Set(list)];
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
