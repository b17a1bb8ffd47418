/**
 * What `agent-spend statusline` last received from Claude Code, one small file per session:
 * `<stateDir>/statusline/<sanitised session id>.json` =
 *   `{"format":"agent-spend/statusline","version":1,"receivedAt":<epoch ms>,"input":{…}}`
 * where `input` is the parsed, camelCased `StatuslineInput` (only fields that were valid).
 *
 * Written atomically (a uniquely named temp file in the same folder, then rename), so a reader
 * (the extension watching the folder) never sees half a file. Readers tolerate anything else in
 * the folder: partial, malformed or foreign files are skipped and reported, never thrown.
 * Pruning removes only files this code names (snapshots and its own temp files).
 */
import * as path from 'node:path';
import * as z from 'zod/mini';
import { statuslineLimits, type StatuslineInput } from '../core/statusline';
import type { LimitsSnapshot } from '../core/limits';
import type { ContextFigure } from '../core/live';
import { statuslineDir } from './stateDir';

/** The subset of `node:fs/promises` used here (injected: tests pass their own). */
export interface StateFs {
  readFile(p: string): Promise<Buffer>;
  writeFile(p: string, data: string, opts: { flag: 'wx'; mode: number }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(p: string): Promise<void>;
  mkdir(p: string, opts: { recursive: true; mode: number }): Promise<unknown>;
  readdir(p: string): Promise<string[]>;
  stat(p: string): Promise<{ mtimeMs: number; size: number }>;
}

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;
export const SNAPSHOT_FORMAT = 'agent-spend/statusline';
export const SNAPSHOT_VERSION = 1;
export const SNAPSHOT_MAX_AGE_MS = 7 * 24 * 3600_000;
/** A temp file older than this was left by a writer that died between write and rename. */
const STALE_TEMP_MS = 60_000;
/** Our snapshot files: a sanitised id, optionally `~<8 hex>` when sanitising changed it. */
const SNAPSHOT_NAME = /^[A-Za-z0-9_-]{1,100}(~[0-9a-f]{8})?\.json$/;
/** Our temp files: `.<target name>.<pid>.<unique>.tmp` */
const TEMP_NAME = /^\..+\.\d+\.[0-9a-z]+\.tmp$/;
const NO_SESSION = '_no-session';

export interface StatuslineSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  version: typeof SNAPSHOT_VERSION;
  /** Epoch ms when the status line command received the input. */
  receivedAt: number;
  input: StatuslineInput;
}

let tempCounter = 0;

/** A temp name unique across processes (pid) and within one (counter + random). */
function tempName(file: string): string {
  const unique = (++tempCounter).toString(36) + Math.random().toString(36).slice(2, 10);
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${unique}.tmp`);
}

/** Writes `data` to `file` atomically: temp file in the same folder (0600), then rename over. Creates folders (0700). */
export async function writeFileAtomic(fs: StateFs, file: string, data: string): Promise<void> {
  const tmp = tempName(file);
  try {
    await fs.writeFile(tmp, data, { flag: 'wx', mode: FILE_MODE });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    await fs.mkdir(path.dirname(file), { recursive: true, mode: DIR_MODE }); // first write: create the folders
    await fs.writeFile(tmp, data, { flag: 'wx', mode: FILE_MODE });
  }
  try {
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/** FNV-1a, 32 bit, hex: tells apart ids that sanitise to the same name. */
function hash8(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** File name of a session's snapshot: the id if it is a plain name, else a sanitised form plus a hash. */
export function snapshotFileName(sessionId: string | undefined): string {
  if (!sessionId) return `${NO_SESSION}.json`;
  const clean = sessionId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 100);
  return clean === sessionId ? `${clean}.json` : `${clean}~${hash8(sessionId)}.json`;
}

export function snapshotPath(stateDir: string, sessionId: string | undefined): string {
  return path.join(statuslineDir(stateDir), snapshotFileName(sessionId));
}

export async function writeSnapshot(fs: StateFs, stateDir: string, input: StatuslineInput, receivedAt: number): Promise<string> {
  const snap: StatuslineSnapshot = { format: SNAPSHOT_FORMAT, version: SNAPSHOT_VERSION, receivedAt, input };
  const file = snapshotPath(stateDir, input.sessionId);
  await writeFileAtomic(fs, file, JSON.stringify(snap));
  return file;
}

/** Built on first use: schema construction costs milliseconds the status line's writer does not need to pay. */
let snapshotSchema: ReturnType<typeof buildSnapshotSchema> | undefined;

function buildSnapshotSchema() {
  const n = () => z.optional(z.number());
  const s = () => z.optional(z.string());
  const Window = z.optional(z.object({ usedPercent: n(), resetsAt: n() }));
  const InputSchema = z.object({
    sessionId: s(),
    transcriptPath: s(),
    cwd: s(),
    model: z.optional(z.object({ id: s(), displayName: s() })),
    workspace: z.optional(z.object({ currentDir: s(), projectDir: s() })),
    version: s(),
    cost: z.optional(z.object({ totalCostUSD: n(), totalDurationMs: n(), totalApiDurationMs: n(), totalLinesAdded: n(), totalLinesRemoved: n() })),
    contextWindow: z.optional(z.object({
      totalInputTokens: n(), totalOutputTokens: n(), contextWindowSize: n(), usedPercent: n(), remainingPercent: n(),
      currentUsage: z.optional(z.object({ inputTokens: n(), outputTokens: n(), cacheCreationInputTokens: n(), cacheReadInputTokens: n() })),
    })),
    exceeds200kTokens: z.optional(z.boolean()),
    rateLimits: z.optional(z.object({ fiveHour: Window, sevenDay: Window })),
  });
  return z.object({
    format: z.literal(SNAPSHOT_FORMAT),
    version: z.literal(SNAPSHOT_VERSION),
    receivedAt: z.number(),
    input: InputSchema,
  });
}

export type SnapshotProblem = { file: string; reason: string };

/** Decodes one snapshot file's text; throws with a reason when it is not one of ours. */
export function decodeSnapshot(text: string): StatuslineSnapshot {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(text.length === 0 ? 'empty file' : 'not JSON (partial or foreign file)');
  }
  snapshotSchema ??= buildSnapshotSchema();
  const r = snapshotSchema.safeParse(raw);
  if (!r.success) throw new Error(`not a version ${SNAPSHOT_VERSION} status line snapshot`);
  return r.data as StatuslineSnapshot;
}

export interface ReadSnapshotsResult {
  snapshots: StatuslineSnapshot[];
  /** Files skipped, with why (foreign names, malformed content, read errors). Temp files are not reported. */
  problems: SnapshotProblem[];
}

/** Every snapshot in the folder, newest first. A missing folder is no snapshot, not a problem. */
export async function readSnapshots(fs: StateFs, stateDir: string): Promise<ReadSnapshotsResult> {
  const dir = statuslineDir(stateDir);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { snapshots: [], problems: code === 'ENOENT' ? [] : [{ file: dir, reason: `cannot list: ${code ?? String(e)}` }] };
  }
  const snapshots: StatuslineSnapshot[] = [];
  const problems: SnapshotProblem[] = [];
  await Promise.all(names.map(async (name) => {
    const file = path.join(dir, name);
    if (TEMP_NAME.test(name)) return;
    if (!SNAPSHOT_NAME.test(name)) {
      problems.push({ file, reason: 'not a status line snapshot name (skipped)' });
      return;
    }
    try {
      snapshots.push(decodeSnapshot((await fs.readFile(file)).toString('utf8')));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return; // pruned or replaced meanwhile
      problems.push({ file, reason: code ? `cannot read: ${code}` : (e as Error).message });
    }
  }));
  snapshots.sort((a, b) => b.receivedAt - a.receivedAt);
  return { snapshots, problems };
}

/** The latest plan limits any snapshot carries (Claude Code's, source `statusline`). */
export function latestStatuslineLimits(snapshots: readonly StatuslineSnapshot[]): LimitsSnapshot | undefined {
  let best: LimitsSnapshot | undefined;
  for (const s2 of snapshots) {
    const l = statuslineLimits(s2.input, s2.receivedAt);
    if (l && (!best || l.observedAt > best.observedAt)) best = l;
  }
  return best;
}

/**
 * Removes snapshots not updated for `maxAgeMs` and temp files left by dead writers.
 * Touches only names this module writes. Returns the removed paths.
 */
export async function pruneSnapshots(fs: StateFs, stateDir: string, now: number, maxAgeMs = SNAPSHOT_MAX_AGE_MS): Promise<string[]> {
  const dir = statuslineDir(stateDir);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  await Promise.all(names.map(async (name) => {
    const limit = SNAPSHOT_NAME.test(name) ? maxAgeMs : TEMP_NAME.test(name) ? STALE_TEMP_MS : undefined;
    if (limit === undefined) return;
    const file = path.join(dir, name);
    try {
      if (now - (await fs.stat(file)).mtimeMs > limit) {
        await fs.unlink(file);
        removed.push(file);
      }
    } catch {
      // gone meanwhile, or not ours to remove: leave it
    }
  }));
  return removed;
}

/** Claude Code's own context figures, per session, from the status line snapshots. */
export function contextFigures(snapshots: readonly StatuslineSnapshot[]): Map<string, ContextFigure> {
  const out = new Map<string, ContextFigure>();
  for (const s of snapshots) {
    const id = s.input.sessionId;
    const c = s.input.contextWindow;
    if (!id || !c || (out.get(id)?.observedAt ?? -Infinity) >= s.receivedAt) continue;
    const f: ContextFigure = { sessionId: id, observedAt: s.receivedAt };
    if (c.usedPercent !== undefined) f.usedPercent = c.usedPercent;
    if (c.contextWindowSize !== undefined) f.contextWindowSize = c.contextWindowSize;
    const u = c.currentUsage;
    if (u) f.totalInputTokens = (u.inputTokens ?? 0) + (u.cacheCreationInputTokens ?? 0) + (u.cacheReadInputTokens ?? 0);
    out.set(id, f);
  }
  return out;
}
