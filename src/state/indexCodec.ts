/**
 * The persistent index as text: every deduplicated request and every file's read
 * position, so a restart shows the totals at once and reads only what was appended,
 * and history survives the agents' own log cleanup. Compact JSON: repeated strings
 * (sessions, folders, models, files) go through one string table; records are arrays.
 */
import { AGENT_IDS, type AgentId, type PromptEvent, type UsageEvent } from '../core/events';
import type { EditRecord } from '../core/output';
import type { FileCursor } from '../sources/tailer';

/** 2: prompts (task starts) are stored too. 3: and the agents' edits. 4: files' tail fingerprints. */
export const INDEX_VERSION = 4;

export interface FileEntry {
  path: string;
  root: string;
  cursor?: FileCursor;
  /** Documents: size:mtime of the last reading. */
  docStamp?: string;
  /** The line parser's saved state (see LineParser.saveState). */
  parserState?: unknown;
}

export interface IndexSnapshot {
  savedAt: number;
  files: FileEntry[];
  /** The ledger's deduplicated requests (prices are applied afresh on load). */
  records: UsageEvent[];
  /** Human prompts (task starts); agent is not needed to group them. */
  prompts: Array<Omit<PromptEvent, 'agent' | 'kind'>>;
  /** Edits made by the agents' own tools (lines and files changed). */
  edits: EditRecord[];
}

export class IndexFormatError extends Error {}

type EncodedRecord = [
  key: string, agent: number, session: number, project: number, branch: number, model: number, timestamp: number,
  input: number, output: number, cacheWrite5m: number, cacheWrite1h: number, cacheRead: number, reasoning: number,
  loggedCostUSD: number | null, file: number, flags: number, subagent: number, parent: number,
];
type EncodedPrompt = [key: string, session: number, timestamp: number, text: string, file: number];
type EncodedEdit = [key: string, session: number, timestamp: number, file: number, path: number, linesAdded: number, linesRemoved: number, flags: number];
const EDIT_EXACT = 1;
const EDIT_FAILED = 2;
type EncodedFile = [path: number, root: number, offset: number, size: number, mtimeMs: number, ino: number, head: string, docStamp: string | null, parserState: unknown, tail: string];

const SIDECHAIN = 1;
const NO_CURSOR = -1;

export function encodeIndex(s: IndexSnapshot): string {
  const table: string[] = [];
  const ids = new Map<string, number>();
  const id = (v: string | undefined | null): number => {
    if (v === undefined || v === null) return -1;
    let i = ids.get(v);
    if (i === undefined) {
      i = table.length;
      table.push(v);
      ids.set(v, i);
    }
    return i;
  };
  const records: EncodedRecord[] = s.records.map((r) => [
    r.key, AGENT_IDS.indexOf(r.agent), id(r.sessionId), id(r.project), id(r.branch), id(r.model), r.timestamp,
    r.tokens.input, r.tokens.output, r.tokens.cacheWrite5m, r.tokens.cacheWrite1h, r.tokens.cacheRead, r.tokens.reasoning,
    r.loggedCostUSD ?? null, id(r.file), r.sidechain ? SIDECHAIN : 0, id(r.subagentId), id(r.parentSessionId),
  ]);
  const files: EncodedFile[] = s.files.map((f) => [
    id(f.path), id(f.root), f.cursor?.offset ?? NO_CURSOR, f.cursor?.size ?? 0, f.cursor?.mtimeMs ?? 0, f.cursor?.ino ?? 0,
    f.cursor?.head ?? '', f.docStamp ?? null, f.parserState ?? null, f.cursor?.tail ?? '',
  ]);
  const prompts: EncodedPrompt[] = s.prompts.map((p) => [p.key, id(p.sessionId), p.timestamp, p.text, id(p.file)]);
  const edits: EncodedEdit[] = s.edits.map((e) => [
    e.key, id(e.sessionId), e.timestamp, id(e.file), id(e.path), e.linesAdded, e.linesRemoved, (e.exact ? EDIT_EXACT : 0) | (e.failed ? EDIT_FAILED : 0),
  ]);
  return JSON.stringify({ format: 'agent-spend-index', version: INDEX_VERSION, savedAt: s.savedAt, strings: table, files, records, prompts, edits });
}

/** Parses an index; throws IndexFormatError naming what is wrong (corrupt, other version). */
export function decodeIndex(text: string): IndexSnapshot {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new IndexFormatError(`not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isObj(raw) || raw['format'] !== 'agent-spend-index') throw new IndexFormatError('not an Agent Spend index');
  if (raw['version'] !== INDEX_VERSION) throw new IndexFormatError(`version ${String(raw['version'])}, this build reads version ${INDEX_VERSION}`);
  const strings = raw['strings'];
  const files = raw['files'];
  const records = raw['records'];
  const prompts = raw['prompts'];
  const edits = raw['edits'];
  if (!Array.isArray(strings) || !strings.every((x) => typeof x === 'string') || !Array.isArray(files) || !Array.isArray(records) || !Array.isArray(prompts) || !Array.isArray(edits)) {
    throw new IndexFormatError('missing or malformed tables');
  }
  const str = (i: unknown): string | undefined => {
    if (i === -1) return undefined;
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= strings.length) throw new IndexFormatError(`bad string reference ${String(i)}`);
    return strings[i] as string;
  };
  const num = (v: unknown): number => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new IndexFormatError(`bad number ${String(v)}`);
    return v;
  };
  const out: IndexSnapshot = { savedAt: typeof raw['savedAt'] === 'number' ? raw['savedAt'] : 0, files: [], records: [], prompts: [], edits: [] };
  for (const f of files) {
    if (!Array.isArray(f) || f.length !== 10) throw new IndexFormatError('malformed file entry');
    const entry: FileEntry = { path: str(f[0])!, root: str(f[1])! };
    if (num(f[2]) !== NO_CURSOR) {
      entry.cursor = { path: entry.path, offset: num(f[2]), size: num(f[3]), mtimeMs: num(f[4]), ino: num(f[5]), head: String(f[6]) };
      if (typeof f[9] === 'string' && f[9] !== '') entry.cursor.tail = f[9];
    }
    if (typeof f[7] === 'string') entry.docStamp = f[7];
    if (f[8] !== null) entry.parserState = f[8];
    out.files.push(entry);
  }
  for (const r of records) {
    if (!Array.isArray(r) || r.length !== 18 || typeof r[0] !== 'string') throw new IndexFormatError('malformed request record');
    const agent = AGENT_IDS[num(r[1])] as AgentId | undefined;
    if (!agent) throw new IndexFormatError(`unknown agent ${String(r[1])}`);
    const model = str(r[5]) ?? null;
    const tokens = { input: num(r[7]), output: num(r[8]), cacheWrite5m: num(r[9]), cacheWrite1h: num(r[10]), cacheRead: num(r[11]), reasoning: num(r[12]) };
    const rec: UsageEvent = {
      key: r[0], agent, sessionId: str(r[2]) ?? '', project: str(r[3]) ?? '', model, timestamp: num(r[6]), tokens, file: str(r[14]) ?? '',
    };
    const branch = str(r[4]);
    if (branch !== undefined) rec.branch = branch;
    if (r[13] !== null) rec.loggedCostUSD = num(r[13]);
    if ((num(r[15]) & SIDECHAIN) !== 0) rec.sidechain = true;
    const sub = str(r[16]);
    if (sub !== undefined) rec.subagentId = sub;
    const parent = str(r[17]);
    if (parent !== undefined) rec.parentSessionId = parent;
    out.records.push(rec);
  }
  for (const p of prompts) {
    if (!Array.isArray(p) || p.length !== 5 || typeof p[0] !== 'string' || typeof p[3] !== 'string') throw new IndexFormatError('malformed prompt record');
    out.prompts.push({ key: p[0], sessionId: str(p[1]) ?? '', timestamp: num(p[2]), text: p[3], file: str(p[4]) ?? '' });
  }
  for (const e of edits) {
    if (!Array.isArray(e) || e.length !== 8 || typeof e[0] !== 'string') throw new IndexFormatError('malformed edit record');
    const rec: EditRecord = {
      key: e[0], sessionId: str(e[1]) ?? '', timestamp: num(e[2]), file: str(e[3]) ?? '', path: str(e[4]) ?? '',
      linesAdded: num(e[5]), linesRemoved: num(e[6]), exact: (num(e[7]) & EDIT_EXACT) !== 0,
    };
    if ((num(e[7]) & EDIT_FAILED) !== 0) rec.failed = true;
    out.edits.push(rec);
  }
  return out;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
