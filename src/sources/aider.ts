/**
 * Aider: `.aider.chat.history.md`, an append-only markdown transcript, checked against
 * Aider-AI/aider (`aider/io.py`, `aider/coders/base_coder.py`, `aider/coders/architect_coder.py`,
 * `aider/commands.py`, `aider/args.py`, `aider/main.py`) and its own history fixture
 * (`tests/fixtures/chat-history.md`, aider 0.4x–0.51).
 *
 * Where: aider writes `<git root of its cwd>/.aider.chat.history.md` (`args.py`: the default is
 * `os.path.join(git_root, ".aider.chat.history.md")`, the cwd itself outside a repo), or wherever
 * `--chat-history-file` / `AIDER_CHAT_HISTORY_FILE` point. A workspace folder may be a subfolder
 * of the repo aider ran in, so each folder is looked at AND its git root (the nearest folder up
 * that holds `.git`); folders below a workspace folder (other repos inside it) are not searched.
 *
 * What is written (io.py `append_chat_history`; `tool_output` prefixes only the FIRST line of a
 * message with `> `):
 *  - `# aider chat started at YYYY-MM-DD HH:MM:SS` (local time, `datetime.now()`) per process;
 *  - announcements `> Aider vX.Y.Z`, `> Model: M with F edit format[, …]` (weak model = main),
 *    `> Main model: …` + `> Weak model: …`, in architect mode `> Editor model: E with F edit format`;
 *    before 0.58 `> Models: M with F edit format, weak model W`, 0.50 `with ♾️ F`, 0.51–0.57 `M⚡`
 *    (prompt cache on); again after every `/model`, `/chat-mode`, `/editor-model` switch;
 *  - one usage report per message, after its reply (base_coder `calculate_and_show_tokens_and_cost`):
 *    `> Tokens: S sent[, W cache write][, H cache hit], R received.[ Cost: $X message, $Y session.]`
 *    (0.46–0.49: `$X request`, 0.50: `message`; counts `5,359` up to 0.51.0, then `format_tokens`:
 *    exact below 1,000, `9.9k` below 10,000, `12k` above, never `M`). The `Cost:` part is missing for
 *    models without a price, and is written on the NEXT line, without `> `, when both cache write and
 *    cache hit are present, and in 0.51–0.79 whenever prompt caching was on with streaming
 *    (`…session. Use --no-stream for accurate caching costs.`). Such a report is held until the next
 *    line read says whether its cost follows (not when the version says it cannot, nor for a model
 *    already seen without a cost in the session). The tailer hands over complete lines only, and
 *    aider writes both lines in one `write()`, so the second line is nearly always in the same read.
 *
 * Tokens (base_coder): with Anthropic-style usage, `sent = prompt_tokens + cache_write`, where
 * litellm's `prompt_tokens` already includes the cache reads; aider's own comment: "Anthropic:
 * cache_creation_input_tokens + cache_read_input_tokens + prompt == total tokens". Its history
 * shows it: `12,963 sent, 11,191 cache write, 1,270 cache hit` (502 uncached). DeepSeek: `sent =
 * prompt_tokens = hit + miss`. OpenAI/Gemini: `sent = prompt_tokens`, cached reads included but
 * not shown. So uncached input = sent − cache write − cache hit (never below 0). Aider's dev-only
 * `N cached` variant (Aug 2024) and exact counts with `sent < write + hit` (a dev build that did not
 * add them) mean `sent` is already uncached. `received` = completion tokens (reasoning included).
 * One report covers one message: the continuation calls of an "infinite output" reply are summed
 * into it (`message_tokens_sent +=`), their cache figures are the last call's. Known bias: litellm
 * versions that fold cache WRITES into `prompt_tokens` too make aider print them twice (aider issue
 * #2274, 0.62.1: `216k sent, 108k cache write`); input is then overstated by the write count.
 * `Cost: $X message` is `loggedCostUSD` (rounded as printed; `session` is the running total).
 *
 * Model of a usage line: the main model of the session's latest announcement (taken only right
 * after its `> Aider v` line, as get_announcements writes it, so a reply quoting one is no switch;
 * null before any). In architect mode the architect's reply (main model) is followed by the
 * editor coder's (`architect_coder.py` `reply_completed`: editor model), so usage lines alternate
 * main → editor (`/architect` outside architect mode: the editor is not announced, main is used).
 * The parser follows what the history shows of aider's control flow: a declined `Edit the files?`, one-shot
 * commands (`/ask`, `/code`, `/context`, `/help`, `/ok` use the main model alone; `/architect`
 * main then editor), and reflections (a yes to `Add file to the chat?` / `Attempt to fix lint|test
 * errors?`, an edit-format failure or update exception: the same coder speaks again; `Only N
 * reflections allowed, stopping.` ends the turn). Weak-model calls (commit messages, summaries)
 * and cache-warming pings print no usage and are not counted.
 *
 * Keys and times: aider writes no per-message time, so a usage line gets its session's start time
 * (+1 ms per usage line, keeping them in order), sessionId `<file>#<start>`, and key
 * `aider:<file>:<start>:<n>` (n-th usage line after that header text): the same for every
 * re-read from the start, unique per line, and unchanged if older sessions are cut from the file.
 *
 * Pure apart from discovery: no `vscode`, file access only through the injected `SourceFs`.
 */
import * as path from 'node:path';
import { UsageEventSchema, type UsageEvent } from '../core/events';
import { expandHome, isMissing, isObject, nonEmpty } from './json';
import type { DiscoveryResult, LineParser, Source, SourceEnv, SourceFs } from './source';
import { errorText } from './walk';

export interface AiderSourceOptions {
  /** Workspace folders and folders from settings (aider's cwd or its git root). */
  folders: readonly string[];
  /** Explicit `--chat-history-file` paths; relative ones are taken against each folder. */
  historyFiles?: readonly string[];
}

export const AIDER_HISTORY_FILE = '.aider.chat.history.md';

/**
 * Every line the parser reads holds one of these. All but `Cost: $` and `#### /` are written
 * by `tool_output`/`confirm_ask`, i.e. start with `> `; `Cost: $` is the usage report's second
 * line (also present in every one-line report with a cost); `#### /` is a user command.
 * Prompts (`#### …`) and replies may contain any of them; the parser accepts a line only in the
 * exact shape aider writes (and a `Cost:` continuation only right after a report that lacks it).
 */
export const AIDER_NEEDLES: readonly string[] = Object.freeze([
  '# aider chat started at ',
  '> Aider v',
  '> Model', // `> Model: ` and `> Models: `
  '> Main model: ',
  '> Editor model: ',
  '> Tokens: ',
  'Cost: $',
  '#### /',
  'Edit the files?',
  'Add file to the chat?',
  'Attempt to fix ', // lint / test errors
  'did not conform to the edit format',
  'Exception while updating files',
  'reflections allowed, stopping',
]);

const HEADER = /^# aider chat started at (\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})\s*$/;
const VERSION = /^> Aider v(\d+)\.(\d+)/;
const MAIN_MODEL = /^> (?:Main model|Models?): (\S+?)(⚡)? with (.*)$/u;
const EDITOR_MODEL = /^> Editor model: (\S+?) with /;
const EDIT_FORMAT = /([A-Za-z][\w-]*) edit format/;
const N = String.raw`(\d[\d,]*(?:\.\d+)?k?)`;
const TOKENS = new RegExp(String.raw`^> Tokens: ${N} sent(?:, ${N} cache write)?(?:, ${N} cache hit)?(?:, ${N} cached)?, ${N} received(?:, cache costs not included)?\.(.*)$`);
const USD = String.raw`\$(\d[\d,]*(?:\.\d+)?)`;
/** The cost part after `received.` on the same line. */
const COST_SAME_LINE = new RegExp(String.raw`^ Cost: ${USD} (?:message|request), ${USD} session[.,]`);
/**
 * The cost part on the line after the report: `…session.`, 0.51–0.79 may append ` Use --no-stream
 * for accurate caching costs.`, dev builds of Aug 2024 `…session, cache costs not included.`.
 */
const COST_NEXT_LINE = new RegExp(String.raw`^Cost: ${USD} (?:message|request), ${USD} session[.,]`);
const CONFIRM_ANSWER = /\]: *(\S*)\s*$/;
const COMMAND = /^#### \/(\S+)/;

/** aider's commands (commands.py `cmd_*`): a prefix that matches exactly one of them runs it. */
const COMMANDS: readonly string[] = Object.freeze([
  'model', 'editor-model', 'weak-model', 'chat-mode', 'models', 'web', 'commit', 'lint', 'clear', 'reset', 'tokens',
  'undo', 'diff', 'add', 'drop', 'git', 'test', 'run', 'exit', 'quit', 'ls', 'help', 'ask', 'code', 'architect',
  'context', 'ok', 'voice', 'paste', 'read-only', 'map', 'map-refresh', 'settings', 'load', 'save', 'multiline-mode',
  'copy', 'report', 'editor', 'edit', 'think-tokens', 'reasoning-effort', 'copy-context',
]);
/** Commands that run one message through a temporary coder with the main model (true: architect, editor follows). */
const ONE_SHOT: Readonly<Record<string, boolean>> = Object.freeze({ ask: false, code: false, context: false, help: false, ok: false, architect: true });

/** Which coder writes the next usage report. */
interface Turn {
  role: 'main' | 'editor';
  /** An architect coder: its report is followed by the editor's. */
  architect: boolean;
}

interface SessionStart {
  /** `YYYY-MM-DD HH:MM:SS` as logged. */
  start: string;
  startMs: number;
}

export class AiderSource implements Source {
  readonly agent = 'aider' as const;
  readonly needles = AIDER_NEEDLES;

  constructor(
    private readonly env: SourceEnv,
    private readonly fs: SourceFs,
    private readonly opts: AiderSourceOptions,
  ) {}

  async discover(): Promise<DiscoveryResult> {
    const result: DiscoveryResult = { files: [], roots: [], problems: [] };
    const home = this.env.home;
    const named = [...(this.opts.historyFiles ?? [])];
    const fromEnv = nonEmpty(this.env.env['AIDER_CHAT_HISTORY_FILE']);
    if (fromEnv !== undefined) named.push(fromEnv);
    const namedPaths = named.map((p) => expandHome(p.trim(), home)).filter((p) => p !== '');

    const candidates = new Map<string, string>(); // history file -> folder to watch
    const roots = new Set<string>();
    const addRoot = async (dir: string): Promise<boolean> => {
      if (roots.has(dir)) return true;
      if (!(await this.isFolder(dir, result.problems))) return false;
      roots.add(dir);
      return true;
    };
    const addCandidate = async (file: string): Promise<void> => {
      const dir = path.dirname(file);
      if (!candidates.has(file) && (await addRoot(dir))) candidates.set(file, dir);
    };

    for (const raw of this.opts.folders) {
      const folder = path.resolve(expandHome(raw, home));
      if (!(await addRoot(folder))) continue; // missing (or unreadable: reported) folder
      const dirs = [folder];
      const gitRoot = await this.gitRoot(folder);
      if (gitRoot !== null && gitRoot !== folder) dirs.push(gitRoot);
      for (const dir of dirs) await addCandidate(path.join(dir, AIDER_HISTORY_FILE));
      for (const p of namedPaths) if (!path.isAbsolute(p)) for (const dir of dirs) await addCandidate(path.resolve(dir, p));
    }
    for (const p of namedPaths) if (path.isAbsolute(p)) await addCandidate(path.resolve(p));

    for (const [file, root] of candidates) {
      try {
        if ((await this.fs.stat(file)).isFile()) result.files.push({ path: file, root });
      } catch (err) {
        if (!isMissing(err)) result.problems.push({ path: file, message: errorText(err) });
      }
    }
    result.roots.push(...roots);
    return result;
  }

  createParser(file: string, state?: unknown): LineParser {
    return AiderParser.restore(file, state);
  }

  /** The nearest folder from `folder` up that holds `.git` (a folder, or a file in worktrees), or null. */
  private async gitRoot(folder: string): Promise<string | null> {
    let dir = folder;
    for (let depth = 0; depth < 64; depth++) {
      try {
        await this.fs.stat(path.join(dir, '.git'));
        return dir;
      } catch (err) {
        if (!isMissing(err)) return null; // cannot look further up: stay with the folder itself
      }
      const parent = path.dirname(dir);
      if (parent === dir) return null;
      dir = parent;
    }
    return null;
  }

  private async isFolder(dir: string, problems: DiscoveryResult['problems']): Promise<boolean> {
    try {
      return (await this.fs.stat(dir)).isDirectory();
    } catch (err) {
      if (!isMissing(err)) problems.push({ path: dir, message: errorText(err) });
      return false;
    }
  }
}

/** Parses one chat history, line by line, keeping its state between reads (and, saved, across restarts). */
export class AiderParser implements LineParser {
  private readonly project: string;
  /** major * 1000 + minor of the session's `> Aider v` line; null when not seen. */
  private version: number | null = null;
  private session: SessionStart | null = null;
  /** Usage lines seen after each session header text (a header may repeat: the count goes on). */
  private readonly counts = new Map<string, number>();
  private main: string | null = null;
  private editor: string | null = null;
  private archMode = false;
  private promptCache = false;
  private next: Turn = { role: 'main', architect: false };
  private last: Turn | null = null;
  /** Models of this session known to print no cost (a report without one was not continued). */
  private unpriced: string[] = [];
  /** A report without its cost, held until the next line tells whether the cost follows. */
  private pending: UsageEvent | null = null;
  /** What the previous line read was: announcements come as adjacent `> Aider v` → model → editor lines. */
  private prev: 'version' | 'main' | 'other' = 'other';

  constructor(private readonly file: string) {
    this.project = path.dirname(file);
  }

  parseLine(line: string): UsageEvent[] {
    const out: UsageEvent[] = [];
    if (this.pending !== null) {
      const held = this.pending;
      this.pending = null;
      const m = COST_NEXT_LINE.exec(line);
      if (m) {
        const cost = usd(m[1]!);
        if (cost !== undefined) held.loggedCostUSD = cost;
        return [held];
      }
      this.markUnpriced(held.model);
      out.push(held);
    }
    const prev = this.prev;
    this.prev = 'other';
    if (line.startsWith('> ')) this.onToolLine(line, prev, out);
    else if (line.startsWith('# aider chat started at ')) this.onHeader(line);
    else if (line.startsWith('#### /')) this.onCommand(line);
    return out;
  }

  /** A snapshot (copies: the parser goes on mutating its own state after it is taken). */
  saveState(): unknown {
    return {
      version: this.version,
      session: this.session,
      counts: [...this.counts].slice(-200),
      main: this.main,
      editor: this.editor,
      archMode: this.archMode,
      promptCache: this.promptCache,
      next: this.next,
      last: this.last,
      unpriced: [...this.unpriced],
      pending: this.pending === null ? null : structuredClone(this.pending),
      prev: this.prev,
    };
  }

  /** A parser continuing from `saveState()`; anything not of that shape gives a fresh parser. */
  static restore(file: string, state: unknown): AiderParser {
    const p = new AiderParser(file);
    if (!isObject(state)) return p;
    const s = state;
    const session = s['session'];
    const counts = s['counts'];
    if (s['version'] !== null && typeof s['version'] !== 'number') return p;
    if (session !== null && !(isObject(session) && typeof session['start'] === 'string' && typeof session['startMs'] === 'number')) return p;
    if (!Array.isArray(counts) || !counts.every((c) => Array.isArray(c) && typeof c[0] === 'string' && typeof c[1] === 'number')) return p;
    if (!isTurn(s['next']) || (s['last'] !== null && !isTurn(s['last']))) return p;
    if (!Array.isArray(s['unpriced']) || !s['unpriced'].every((m) => typeof m === 'string')) return p;
    const pending = s['pending'];
    if (pending !== null && !UsageEventSchema.safeParse(pending).success) return p;
    p.version = s['version'] as number | null;
    p.session = session === null ? null : { start: session['start'] as string, startMs: session['startMs'] as number };
    for (const [k, v] of counts as [string, number][]) p.counts.set(k, v);
    p.main = typeof s['main'] === 'string' ? s['main'] : null;
    p.editor = typeof s['editor'] === 'string' ? s['editor'] : null;
    p.archMode = s['archMode'] === true;
    p.promptCache = s['promptCache'] === true;
    p.next = { ...(s['next'] as Turn) };
    p.last = s['last'] === null ? null : { ...(s['last'] as Turn) };
    p.unpriced = [...(s['unpriced'] as string[])];
    p.pending = pending === null ? null : (structuredClone(pending) as UsageEvent);
    p.prev = s['prev'] === 'version' || s['prev'] === 'main' ? s['prev'] : 'other';
    return p;
  }

  private onHeader(line: string): void {
    const m = HEADER.exec(line);
    if (!m) return;
    const [, y, mo, d, h, mi, sec] = m.map(Number) as number[];
    const startMs = new Date(y!, mo! - 1, d!, h!, mi!, sec!).getTime(); // the writer's local time
    if (!Number.isFinite(startMs)) return;
    this.session = { start: line.slice('# aider chat started at '.length).trim(), startMs };
    this.version = null;
    this.main = null;
    this.editor = null;
    this.archMode = false;
    this.promptCache = false;
    this.next = { role: 'main', architect: false };
    this.last = null;
    this.unpriced = [];
  }

  private onToolLine(line: string, prev: AiderParser['prev'], out: UsageEvent[]): void {
    if (line.startsWith('> Tokens: ')) {
      const m = TOKENS.exec(line);
      if (m) this.onUsage(m, out);
      return;
    }
    let m: RegExpExecArray | null;
    if ((m = VERSION.exec(line))) {
      this.version = Number(m[1]) * 1000 + Number(m[2]);
      this.prev = 'version';
    } else if (prev === 'version' && (m = MAIN_MODEL.exec(line))) {
      // get_announcements: the model line comes right after `Aider v…` (a reply may quote one anywhere)
      const [, name, bolt, rest] = m as unknown as [string, string, string | undefined, string];
      const format = EDIT_FORMAT.exec(rest)?.[1] ?? '';
      // `--verbose` prints the editor coder's own announcement before it runs: not a switch.
      if (this.next.role === 'editor' && name === this.editor && format !== 'architect') return;
      this.main = name;
      this.editor = null;
      this.archMode = format === 'architect';
      this.promptCache = bolt !== undefined || rest.includes(', prompt cache');
      this.next = { role: 'main', architect: this.archMode };
      this.last = null;
      this.prev = 'main';
    } else if (prev === 'main' && (m = EDITOR_MODEL.exec(line))) {
      this.editor = m[1]!;
    } else if (line.includes('Edit the files?')) {
      if (!yes(line)) this.endTurn(); // declined: the editor does not run
    } else if (line.includes('Add file to the chat?') || line.includes('Attempt to fix lint errors?') || line.includes('Attempt to fix test errors?')) {
      if (yes(line)) this.reflect();
    } else if (line.startsWith('> The LLM did not conform to the edit format.') || line.startsWith('> Exception while updating files:')) {
      this.reflect();
    } else if (/^> Only \d+ reflections allowed, stopping\./.test(line)) {
      this.endTurn();
    }
  }

  /** `/ask`, `/code`… run one message through a temporary coder; a mode switch re-announces anyway. */
  private onCommand(line: string): void {
    const word = COMMAND.exec(line)?.[1];
    if (word === undefined) return;
    const matches = COMMANDS.includes(word) ? [word] : COMMANDS.filter((c) => c.startsWith(word));
    if (matches.length !== 1) return;
    const architect = ONE_SHOT[matches[0]!];
    if (architect !== undefined) this.next = { role: 'main', architect };
  }

  private onUsage(m: RegExpExecArray, out: UsageEvent[]): void {
    const session = this.session;
    if (session === null) return; // before any session header: no time to give it
    const [sent, write, hit, cached, received] = [m[1], m[2], m[3], m[4], m[5]].map(figure) as Figure[];
    const rest = m[6] ?? '';
    const turn = this.next;
    const model = turn.role === 'editor' ? (this.editor ?? this.main) : this.main;
    this.last = turn;
    this.next = turn.role === 'main' && turn.architect ? { role: 'editor', architect: false } : { role: 'main', architect: this.archMode };

    const n = (this.counts.get(session.start) ?? 0) + 1;
    this.counts.delete(session.start); // most recent last: the saved state keeps the latest headers
    this.counts.set(session.start, n);

    const cacheRead = hit!.value + cached!.value;
    const exact = !sent!.k && !write!.k && !hit!.k;
    // `cached` (dev, Aug 2024) and an exact `sent` below write + hit: `sent` did not include them.
    const sentIsUncached = cached!.present || (exact && sent!.value < write!.value + hit!.value);
    const event: UsageEvent = {
      agent: 'aider',
      key: `aider:${this.file}:${session.start}:${n}`,
      sessionId: `${this.file}#${session.start}`,
      project: this.project,
      model,
      timestamp: session.startMs + n - 1,
      tokens: {
        input: sentIsUncached ? sent!.value : Math.max(0, sent!.value - write!.value - hit!.value),
        output: received!.value,
        cacheWrite5m: write!.value,
        cacheWrite1h: 0,
        cacheRead,
        reasoning: 0,
      },
      file: this.file,
    };
    const cost = COST_SAME_LINE.exec(rest);
    if (cost) {
      const x = usd(cost[1]!);
      if (x !== undefined) event.loggedCostUSD = x;
    } else if (rest.trim() === '' && this.costMayFollow(model, write!.value, cacheRead)) {
      this.pending = event;
      return;
    } else if (rest.trim() === '') {
      this.markUnpriced(model);
    }
    out.push(event);
  }

  /**
   * Whether a report without `Cost:` may have it on the next line (base_coder, by version): since
   * 0.80 only with both cache write and hit; 0.51–0.79 (and the 0.50.2 dev builds) also whenever
   * prompt caching was announced (streaming); before, never. Unknown version: may.
   */
  private costMayFollow(model: string | null, write: number, hit: number): boolean {
    if (this.unpriced.includes(model ?? '')) return false;
    const v = this.version;
    if (v === null) return true;
    const both = write > 0 && hit > 0;
    if (v >= 80) return both;
    if (v >= 50) return both || this.promptCache;
    return false;
  }

  private markUnpriced(model: string | null): void {
    const id = model ?? '';
    if (!this.unpriced.includes(id)) this.unpriced.push(id);
  }

  /** The coder that wrote the last report runs again (reflection). */
  private reflect(): void {
    if (this.last !== null) this.next = { ...this.last };
  }

  /** The turn is over: the next report is the session coder's. */
  private endTurn(): void {
    this.next = { role: 'main', architect: this.archMode };
  }
}

interface Figure {
  value: number;
  /** Written in thousands (`1.2k`, `12k`): rounded. */
  k: boolean;
  present: boolean;
}

/** A token figure as aider prints it: `587`, `5,359`, `1.2k`, `12k`; absent → 0. */
function figure(s: string | undefined): Figure {
  if (s === undefined) return { value: 0, k: false, present: false };
  const k = s.endsWith('k');
  const v = Number((k ? s.slice(0, -1) : s).replace(/,/g, ''));
  const value = Number.isFinite(v) && v > 0 ? Math.round(k ? v * 1000 : v) : 0;
  return { value, k, present: true };
}

function usd(s: string): number | undefined {
  const v = Number(s.replace(/,/g, ''));
  return Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** The answer of a `confirm_ask` line (`…[Yes]: y`): yes or all. */
function yes(line: string): boolean {
  const a = CONFIRM_ANSWER.exec(line)?.[1]?.toLowerCase() ?? '';
  return a.startsWith('y') || a.startsWith('a');
}

function isTurn(v: unknown): v is Turn {
  return isObject(v) && (v['role'] === 'main' || v['role'] === 'editor') && typeof v['architect'] === 'boolean';
}
