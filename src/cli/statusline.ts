/**
 * `agent-spend statusline [--state-dir DIR]`: the command for Claude Code's `statusLine` setting.
 * Reads the JSON Claude Code pipes on stdin, prints ONE line, always exits 0 (a failing command
 * blanks Claude's line), and leaves a snapshot of what it received in the state folder for the
 * extension (plan limits, context fill, Claude's own session cost).
 *
 * Built on its own to dist/statusline.js (cli.js hands `statusline` to it before loading the
 * rest), so it loads almost nothing: it must answer within a few ms of node's own start-up.
 * It never scans logs: today's spend comes from the small spend summary the extension writes.
 */
import * as nodeFs from 'node:fs';
import * as os from 'node:os';
import { FALLBACK_LINE, formatStatusline, parseStatusline } from '../core/statusline';
import { resolveStateDir, statuslineErrorLog } from '../state/stateDir';
import { readSpendSummary, summaryFigures } from '../state/spendSummary';
import { pruneSnapshots, writeSnapshot, type StateFs } from '../state/statuslineSnapshots';

export const STDIN_TIMEOUT_MS = 1000;
export const STDIN_MAX_BYTES = 1024 * 1024;
const ERROR_LOG_MAX_BYTES = 64 * 1024;
/** One run in PRUNE_EVERY prunes old snapshots (cheap, but not on every render). */
const PRUNE_EVERY = 50;

const HELP = `agent-spend statusline [--state-dir DIR]

For Claude Code's status line. In ~/.claude/settings.json:
  "statusLine": { "type": "command", "command": "agent-spend statusline" }
Reads Claude Code's JSON on stdin, prints one line (model, context fill, plan limits, session
and today's spend), always exits 0, and keeps what it received in the state folder
(AGENT_SPEND_STATE_DIR, else the platform's user state folder) for the Agent Spend extension.`;

export interface StatuslineDeps {
  stdin: StdinReader;
  out: (line: string) => void;
  env: NodeJS.ProcessEnv;
  home: string;
  platform: NodeJS.Platform;
  now: () => number;
  fs: StateFs & { appendFile(p: string, data: string, opts: { mode: number }): Promise<void> };
  random: () => number;
}

export type StdinResult = { text: string } | { error: string };
/** Where `readStdin` reads from (injected in tests). */
export interface StdinReader {
  /** False when there is nothing to wait for (a terminal). */
  readable(): boolean;
  start(on: { data(chunk: Buffer): void; end(): void; error(e: Error): void }): void;
  /** Stops reading and lets go of the input (the process can then exit). */
  stop(): void;
}

/**
 * fd 0. A regular file (`< file`) is read directly. A pipe (what Claude Code gives) is read on
 * Linux through a non-blocking descriptor of its own (`/proc/self/fd/0`), polled: no stream
 * machinery to load (~7 ms of start-up) and no thread blocked in a read (which would keep the
 * process from exiting while a writer holds the pipe open). Elsewhere, or if that open fails,
 * through `process.stdin`.
 */
export const fdStdin: StdinReader = {
  readable() {
    try {
      return !nodeFs.fstatSync(0).isCharacterDevice();
    } catch {
      return false;
    }
  },
  start(on) {
    let file = false;
    try {
      file = nodeFs.fstatSync(0).isFile();
    } catch {
      // not a file: read it as a pipe
    }
    if (file) {
      try {
        on.data(nodeFs.readFileSync(0));
        on.end();
      } catch (e) {
        on.error(e as Error);
      }
      return;
    }
    if (process.platform === 'linux') {
      try {
        pollFd = nodeFs.openSync('/proc/self/fd/0', nodeFs.constants.O_RDONLY | nodeFs.constants.O_NONBLOCK);
      } catch {
        pollFd = undefined; // a socket, no /proc, …: the stream below
      }
    }
    if (pollFd !== undefined) {
      const fd = pollFd;
      const buf = Buffer.allocUnsafe(64 * 1024);
      let wait = 1;
      const step = (): void => {
        pollTimer = undefined;
        for (;;) {
          let n: number;
          try {
            n = nodeFs.readSync(fd, buf, 0, buf.length, null);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
              pollTimer = setTimeout(step, wait); // the writer has not written (all of) it yet
              wait = Math.min(wait * 2, 16);
              return;
            }
            return on.error(e as Error);
          }
          if (n === 0) return on.end();
          on.data(Buffer.from(buf.subarray(0, n)));
          if (pollFd === undefined) return; // stopped from on.data (size cap)
        }
      };
      step();
      return;
    }
    stdinStream = true;
    process.stdin.on('data', (c: Buffer | string) => on.data(typeof c === 'string' ? Buffer.from(c) : c));
    process.stdin.on('end', () => on.end());
    process.stdin.on('error', (e) => on.error(e));
  },
  stop() {
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = undefined;
    if (pollFd !== undefined) {
      const fd = pollFd;
      pollFd = undefined;
      try {
        nodeFs.closeSync(fd);
      } catch {
        // closed already
      }
    }
    if (stdinStream) process.stdin.destroy(); // `process.stdin` is created on first use: only when it was
  },
};
let stdinStream = false;
let pollFd: number | undefined;
let pollTimer: NodeJS.Timeout | undefined;

/** All of stdin, bounded in time and size. */
export function readStdin(stdin: StdinReader, timeoutMs = STDIN_TIMEOUT_MS, maxBytes = STDIN_MAX_BYTES): Promise<StdinResult> {
  if (!stdin.readable()) return Promise.resolve({ error: 'no input (stdin is a terminal or closed)' });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const text = () => Buffer.concat(chunks).toString('utf8');
    const finish = (r: StdinResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        stdin.stop();
      } catch {
        // already closed
      }
      resolve(r);
    };
    const timer = setTimeout(() => finish(chunks.length > 0 ? { text: text() } : { error: `no input within ${timeoutMs} ms` }), timeoutMs);
    stdin.start({
      data(c) {
        if (done) return;
        size += c.length;
        if (size > maxBytes) return finish({ error: `input larger than ${maxBytes} bytes` });
        chunks.push(c);
      },
      end: () => finish({ text: text() }),
      error: (e) => finish({ error: `cannot read stdin: ${(e as NodeJS.ErrnoException).code ?? e.message}` }),
    });
  });
}

function stateDirArg(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--state-dir') return argv[i + 1];
    if (a.startsWith('--state-dir=')) return a.slice('--state-dir='.length);
  }
  return undefined;
}

async function logError(deps: StatuslineDeps, stateDir: string, message: string): Promise<void> {
  try {
    const file = statuslineErrorLog(stateDir);
    const line = `${new Date(deps.now()).toISOString()} ${message.replace(/[\r\n]+/g, ' ').slice(0, 500)}\n`;
    let size = 0;
    try {
      size = (await deps.fs.stat(file)).size;
    } catch {
      await deps.fs.mkdir(stateDir, { recursive: true, mode: 0o700 });
    }
    if (size > ERROR_LOG_MAX_BYTES) await deps.fs.unlink(file).catch(() => undefined); // bounded: start over
    await deps.fs.appendFile(file, line, { mode: 0o600 });
  } catch {
    // the error log is best effort
  }
}

/** Runs the status line; resolves to the exit code, always 0. Prints exactly one line via `deps.out`. */
export async function runStatusline(argv: readonly string[], deps: StatuslineDeps): Promise<0> {
  if (argv.includes('-h') || argv.includes('--help')) {
    deps.out(HELP);
    return 0;
  }
  let printed = false;
  const print = (line: string) => {
    if (printed) return;
    printed = true;
    deps.out(line.replace(/[\r\n]+/g, ' ') || FALLBACK_LINE);
  };
  let stateDir: string | undefined;
  const errors: string[] = [];
  try {
    stateDir = resolveStateDir({ env: deps.env, home: deps.home, platform: deps.platform, override: stateDirArg(argv), cwd: process.cwd() });
    const [stdin, summary] = await Promise.all([readStdin(deps.stdin), readSpendSummary(deps.fs, stateDir)]);
    const now = deps.now();
    const parsed = 'text' in stdin ? parseStatusline(stdin.text) : { input: {}, dropped: [], error: stdin.error };
    if (parsed.error) errors.push(parsed.error);
    if (summary.kind === 'unusable') errors.push(`spend summary: ${summary.reason}`);
    const figures = summaryFigures(summary.kind === 'ok' ? summary.summary : undefined, parsed.input.sessionId, now);
    print(formatStatusline(parsed.input, {
      now,
      ...(figures.sessionUSD !== undefined ? { sessionCostUSD: figures.sessionUSD } : {}),
      ...(figures.todayUSD !== undefined ? { todayCostUSD: figures.todayUSD } : {}),
    }));
    if (!parsed.error) {
      await writeSnapshot(deps.fs, stateDir, parsed.input, now);
      if (deps.random() * PRUNE_EVERY < 1) await pruneSnapshots(deps.fs, stateDir, now);
    }
  } catch (e) {
    print(FALLBACK_LINE);
    errors.push(e instanceof Error ? e.message : String(e));
  }
  if (errors.length > 0 && stateDir) await logError(deps, stateDir, errors.join('; '));
  return 0;
}

/**
 * The state files are a few hundred bytes: synchronous calls behind the async interface are
 * faster here than `fs/promises` (no thread pool round trips, one module less to load).
 */
export function syncStateFs(): StatuslineDeps['fs'] {
  const wrap = <A extends unknown[], R>(f: (...a: A) => R) => (...a: A): Promise<R> => {
    try {
      return Promise.resolve(f(...a));
    } catch (e) {
      return Promise.reject(e);
    }
  };
  return {
    readFile: wrap((p: string) => nodeFs.readFileSync(p)),
    writeFile: wrap((p: string, data: string, opts: { flag: 'wx'; mode: number }) => nodeFs.writeFileSync(p, data, opts)),
    rename: wrap((a: string, b: string) => nodeFs.renameSync(a, b)),
    unlink: wrap((p: string) => nodeFs.unlinkSync(p)),
    mkdir: wrap((p: string, opts: { recursive: true; mode: number }) => nodeFs.mkdirSync(p, opts)),
    readdir: wrap((p: string) => nodeFs.readdirSync(p)),
    stat: wrap((p: string) => nodeFs.statSync(p)),
    appendFile: wrap((p: string, data: string, opts: { mode: number }) => nodeFs.appendFileSync(p, data, opts)),
  };
}

/**
 * Process entry: real stdin/stdout/fs. Never rejects and always ends the process with code 0
 * once the line is written (a stdin that never closes must not keep it alive).
 */
export async function statuslineMain(argv: readonly string[]): Promise<never> {
  try {
    await runStatusline(argv, processDeps(writeStdout));
  } catch {
    writeStdout(FALLBACK_LINE);
  }
  process.exit(0);
}

/** The real process: fd 0, the given output, the environment, the clock, the disk. */
export function processDeps(out: (line: string) => void): StatuslineDeps {
  return {
    stdin: fdStdin,
    out,
    env: process.env,
    home: process.env['HOME'] || process.env['USERPROFILE'] || os.homedir(),
    platform: process.platform,
    now: Date.now,
    fs: syncStateFs(),
    random: Math.random,
  };
}

/** Straight to fd 1: `process.stdout` costs milliseconds to set up, and the write is done before we exit. */
function writeStdout(line: string): void {
  const data = Buffer.from(line + '\n');
  let off = 0;
  for (let tries = 0; off < data.length && tries < 1000; tries++) {
    try {
      off += nodeFs.writeSync(1, data, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') break; // stdout closed: nothing to tell anyone
    }
  }
}

// `node dist/statusline.js` (the esbuild entry, also the fastest command for settings.json).
if (typeof require !== 'undefined' && require.main === module && /statusline\.js$/.test(module.filename)) {
  void statuslineMain(process.argv.slice(2));
}
