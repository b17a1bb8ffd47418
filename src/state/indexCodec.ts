/**
 * The persistent index as bytes: every deduplicated request and every file's read
 * position, so a restart shows the totals at once and reads only what was appended,
 * and history survives the agents' own log cleanup.
 *
 * Layout (little-endian):
 *   the head:  "ASIX" | u32 version | u32 header bytes | header JSON (utf8) | pad to 8 |
 *              rollup f64[m] × 17 (the Totals fields of ROLLUP_TOTALS) |
 *              rollup i32[m] × 6 (agent, session, project, branch, model, day) | pad to 8 |
 *   the rest:  request f64[n] × 8 (timestamp, logged cost or NaN, the six token counts) |
 *              request i32[n] × 9 (agent|flags, session, project, branch, model, file, subagent, parent, key hash) |
 *              u32[n + 1] key offsets | keys (utf8) |
 *              parser states (each file's JSON, one after another) | edits JSON | prompts JSON
 * A warm report reads only the head (see IndexBytes): a twentieth of the file.
 * The header holds the string table, the files, the limits and the rollup's days and prices (see
 * core/rollup.ts: a warm report adds up its cells instead of the requests); the requests, tens of thousands
 * of them, are columns that decode as typed-array views without parsing, which is what makes a
 * warm start cheap. Parser states, edits and prompts are decoded only when asked for: a run that
 * reads nothing new needs none of them, and a save copies the states of files not read again.
 */
import { AGENT_IDS, type AgentId, type PromptEvent, type UsageEvent } from '../core/events';
import type { Totals } from '../core/ledger';
import type { LimitsSnapshot } from '../core/limits';
import type { RollupCell, RollupData } from '../core/rollup';
import type { EditRecord } from '../core/output';
import { SavedParserState } from '../sources/source';
import type { FileCursor } from '../sources/tailer';

/**
 * 2: prompts. 3: edits. 4: files' tail fingerprints. 5: binary, requests as columns, limits.
 * 6: parser states, edits and prompts after the columns, decoded on use. 7: rollup. 8: key hash column.
 * 9: the rollup in the head, before the requests.
 */
export const INDEX_VERSION = 9;
const MAGIC = 0x58495341; // "ASIX" read as little-endian u32

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
  /** The latest plan limits per agent (they are not in every file read later). */
  limits?: LimitsSnapshot[];
  /**
   * Requests still in the columns of the index that was loaded (rows not `gone`): written by
   * copying the columns, so saving after an append builds no object for them.
   */
  base?: { columns: { readonly length: number; record(i: number): UsageEvent }; gone: Uint8Array };
  /** Names a full index (a delta refers to it by this). */
  id?: string;
  /** Set on a delta (see IndexStore): the full index it extends, its rows now gone, its files no longer tracked. */
  delta?: IndexDelta;
  /** Every request summed per session, model and day (of the whole index, also in a delta). */
  rollup?: RollupData;
}

export interface IndexDelta {
  of: string;
  goneRows: number[];
  removedFiles: string[];
}

export class IndexFormatError extends Error {}

type EncodedPrompt = [key: string, session: number, timestamp: number, text: string, file: number];
type EncodedEdit = [key: string, session: number, timestamp: number, file: number, path: number, linesAdded: number, linesRemoved: number, flags: number];
const EDIT_EXACT = 1;
const EDIT_FAILED = 2;
/** `stateBytes`: the length of the file's parser state JSON in the states section (0: none). */
type EncodedFile = [path: number, root: number, offset: number, size: number, mtimeMs: number, ino: number, head: string, docStamp: string | null, stateBytes: number, tail: string];

/** Bits of the agent|flags column above the agent's index. */
const SIDECHAIN = 1 << 8;
const HAS_LOGGED_COST = 1 << 9;
const AGENT_MASK = 0xff;
const NO_CURSOR = -1;
const F64_COLUMNS = 8;
/** agent|flags, seven string references and the key's hash. */
const I32_COLUMNS = 9;
const STRING_COLUMNS = 7;
const HASH_COLUMN = 8;
/** The rollup's f64 columns, in this order. */
const ROLLUP_TOTALS = [
  'requests', 'inputTokens', 'outputTokens', 'cacheCreationTokens', 'cacheCreation1hTokens', 'cacheReadTokens', 'reasoningTokens',
  'spendNanos', 'unpricedRequests', 'costNanos', 'estimateUnpricedRequests', 'loggedCostNanos', 'loggedRequests', 'estimateOfLoggedNanos',
  'loggedOfEstimatedNanos', 'firstTimestamp', 'lastTimestamp',
] as const satisfies ReadonlyArray<keyof Totals>;
const ROLLUP_I32 = 6;

const pad8 = (n: number) => (n + 7) & ~7;

class StringTable {
  readonly list: string[] = [];
  private readonly ids = new Map<string, number>();
  constructor(seed: readonly string[] = []) {
    for (const v of seed) this.id(v);
  }
  id(v: string | undefined | null): number {
    if (v === undefined || v === null) return -1;
    let i = this.ids.get(v);
    if (i === undefined) {
      i = this.list.length;
      this.list.push(v);
      this.ids.set(v, i);
    }
    return i;
  }
}

export function encodeIndex(s: IndexSnapshot): Buffer {
  const base = s.base && s.base.columns instanceof RequestColumns ? { columns: s.base.columns, gone: s.base.gone } : undefined;
  const extra = s.base && !base ? [...s.records, ...materialize(s.base)] : s.records;
  // The base's strings keep their ids: its columns are copied as they are.
  const table = new StringTable(base?.columns.strings);
  const id = (v: string | undefined | null) => table.id(v);
  let aliveRows = 0;
  if (base) for (let i = 0; i < base.columns.length; i++) if (!base.gone[i]) aliveRows++;
  const n = aliveRows + extra.length;
  const f64 = new Float64Array(F64_COLUMNS * n);
  const i32 = new Int32Array(I32_COLUMNS * n);
  const keys: Buffer[] = new Array(extra.length);
  const keyOffsets = new Uint32Array(n + 1);
  let keyBytes = 0;
  const copied = base?.columns.copyRows(base.gone, f64, i32, keyOffsets, n);
  if (copied) keyBytes = copied.bytes;
  for (let j = 0; j < extra.length; j++) {
    const i = aliveRows + j;
    const r = extra[j]!;
    const t = r.tokens;
    f64[i] = r.timestamp;
    f64[n + i] = r.loggedCostUSD ?? NaN;
    f64[2 * n + i] = t.input;
    f64[3 * n + i] = t.output;
    f64[4 * n + i] = t.cacheWrite5m;
    f64[5 * n + i] = t.cacheWrite1h;
    f64[6 * n + i] = t.cacheRead;
    f64[7 * n + i] = t.reasoning;
    i32[i] = AGENT_IDS.indexOf(r.agent) | (r.sidechain ? SIDECHAIN : 0) | (r.loggedCostUSD !== undefined ? HAS_LOGGED_COST : 0);
    i32[n + i] = id(r.sessionId);
    i32[2 * n + i] = id(r.project);
    i32[3 * n + i] = id(r.branch);
    i32[4 * n + i] = id(r.model);
    i32[5 * n + i] = id(r.file);
    i32[6 * n + i] = id(r.subagentId);
    i32[7 * n + i] = id(r.parentSessionId);
    i32[HASH_COLUMN * n + i] = hashKey(r.key);
    const k = Buffer.from(r.key, 'utf8');
    keys[j] = k;
    keyBytes += k.length;
    keyOffsets[i + 1] = keyBytes;
  }
  const states: Buffer[] = [];
  const files: EncodedFile[] = s.files.map((f) => {
    const state = f.parserState === undefined || f.parserState === null ? undefined : Buffer.from(f.parserState instanceof SavedParserState ? f.parserState.json : JSON.stringify(f.parserState), 'utf8');
    if (state) states.push(state);
    return [
      id(f.path), id(f.root), f.cursor?.offset ?? NO_CURSOR, f.cursor?.size ?? 0, f.cursor?.mtimeMs ?? 0, f.cursor?.ino ?? 0,
      f.cursor?.head ?? '', f.docStamp ?? null, state?.length ?? 0, f.cursor?.tail ?? '',
    ];
  });
  const prompts: EncodedPrompt[] = s.prompts.map((p) => [p.key, id(p.sessionId), p.timestamp, p.text, id(p.file)]);
  const edits: EncodedEdit[] = s.edits.map((e) => [
    e.key, id(e.sessionId), e.timestamp, id(e.file), id(e.path), e.linesAdded, e.linesRemoved, (e.exact ? EDIT_EXACT : 0) | (e.failed ? EDIT_FAILED : 0),
  ]);
  const rollup = s.rollup ? encodeRollup(s.rollup, id) : undefined;
  const editsJson = Buffer.from(JSON.stringify(edits), 'utf8');
  const promptsJson = Buffer.from(JSON.stringify(prompts), 'utf8');
  let stateBytes = 0;
  for (const b of states) stateBytes += b.length;
  const header = Buffer.from(JSON.stringify({
    format: 'agent-spend-index', version: INDEX_VERSION, savedAt: s.savedAt, id: s.id ?? null, delta: s.delta ?? null, requests: n, keyBytes,
    stateBytes, editBytes: editsJson.length, promptBytes: promptsJson.length,
    strings: table.list, files, limits: s.limits ?? [], rollup: rollup?.header ?? null,
  }), 'utf8');
  const columnsAt = pad8(12 + header.length);
  const restAt = pad8(columnsAt + (rollup ? rollup.f64.byteLength + rollup.i32.byteLength : 0));
  const total = restAt + f64.byteLength + i32.byteLength + keyOffsets.byteLength + keyBytes + stateBytes + editsJson.length + promptsJson.length;
  const out = Buffer.alloc(total);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(INDEX_VERSION, 4);
  out.writeUInt32LE(header.length, 8);
  header.copy(out, 12);
  const put = (part: ArrayBufferView, at: number) => Buffer.from(part.buffer, part.byteOffset, part.byteLength).copy(out, at);
  if (rollup) {
    put(rollup.f64, columnsAt);
    put(rollup.i32, columnsAt + rollup.f64.byteLength);
  }
  let at = restAt;
  for (const part of [f64, i32, keyOffsets]) at += put(part, at);
  if (base && copied) at += base.columns.copyKeys(copied.runs, out, at);
  for (const k of keys) at += k.copy(out, at);
  for (const b of [...states, editsJson, promptsJson]) at += b.copy(out, at);
  return out;
}

function encodeRollup(r: RollupData, id: (v: string | undefined | null) => number) {
  const m = r.cells.length;
  const f64 = new Float64Array(ROLLUP_TOTALS.length * m);
  const i32 = new Int32Array(ROLLUP_I32 * m);
  const dayIndex = new Map(r.days.map(([d], i) => [d, i]));
  for (let i = 0; i < m; i++) {
    const c = r.cells[i]!;
    for (let k = 0; k < ROLLUP_TOTALS.length; k++) f64[k * m + i] = c.totals[ROLLUP_TOTALS[k]!];
    i32[i] = AGENT_IDS.indexOf(c.agent);
    i32[m + i] = id(c.sessionId);
    i32[2 * m + i] = id(c.project);
    i32[3 * m + i] = id(c.branch);
    i32[4 * m + i] = id(c.model);
    i32[5 * m + i] = dayIndex.get(c.day) ?? -1;
  }
  const header = { cells: m, days: r.days, prices: r.prices.map(([model, rates]) => [id(model), rates]) };
  return { header, f64, i32 };
}

function materialize(b: NonNullable<IndexSnapshot['base']>): UsageEvent[] {
  const out: UsageEvent[] = [];
  for (let i = 0; i < b.columns.length; i++) if (!b.gone[i]) out.push(b.columns.record(i));
  return out;
}

/** FNV-1a (32 bits, as a signed int) of bytes [start, end): the key column's hash. */
export function hashBytes(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return h | 0;
}

/** The same hash of a key given as a string (its UTF-8 bytes). */
export function hashKey(key: string): number {
  let ascii = true;
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) > 0x7f) { ascii = false; break; }
  if (!ascii) {
    const b = Buffer.from(key, 'utf8');
    return hashBytes(b, 0, b.length);
  }
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h | 0;
}

/**
 * The requests of a decoded index, still as columns. `record(i)` builds one request;
 * strings are shared (one object per distinct session, folder, model and file).
 *
 * Every value is checked before it is used: all at once by `validate()` (a full load), else row
 * by row as rows are read (a warm report reads only the rollup, and an append a few rows).
 */
export class RequestColumns {
  private columns: Partial<Columns> = {};

  /**
   * `load` gives each column block on first use: an index read in parts reads only the blocks
   * asked for (an append's lookups need the hash column's block, not the 3 MB of f64 or the keys).
   */
  constructor(
    readonly length: number,
    private readonly load: <K extends keyof Columns>(part: K) => Columns[K],
    readonly strings: readonly string[],
  ) {}

  private get f64(): Float64Array {
    return (this.columns.f64 ??= this.load('f64'));
  }

  private get i32(): Int32Array {
    return (this.columns.i32 ??= this.load('i32'));
  }

  private get keyOffsets(): Uint32Array {
    return (this.columns.keyOffsets ??= this.load('keyOffsets'));
  }

  private get keyBytes(): Buffer {
    return (this.columns.keyBytes ??= this.load('keyBytes'));
  }

  /**
   * The row holding `key`, or -1. The first lookup puts every row in an open-addressing table by
   * the hash column (no key is read or hashed for it); a hit is confirmed by comparing the key.
   */
  findKey(key: string): number {
    const n = this.length;
    const hashes = this.i32.subarray(HASH_COLUMN * n, (HASH_COLUMN + 1) * n);
    let table = this.table;
    if (!table) {
      if (!this.validated) this.checkKeyOffsets();
      let size = 16;
      while (size < 2 * n) size *= 2;
      table = this.table = new Int32Array(size); // row + 1; 0 = empty
      const mask = size - 1;
      for (let i = 0; i < n; i++) {
        let at = hashes[i]! & mask;
        while (table[at] !== 0) at = (at + 1) & mask;
        table[at] = i + 1;
      }
    }
    const h = hashKey(key);
    const mask = table.length - 1;
    for (let at = h & mask; table[at] !== 0; at = (at + 1) & mask) {
      const i = table[at]! - 1;
      if (hashes[i] === h && this.key(i) === key) return i;
    }
    return -1;
  }

  private table: Int32Array | undefined;

  /**
   * Copies the rows not `gone` into the first rows of columns of `n` rows, run by run of
   * consecutive rows (after an append nearly all rows are one run); fills their key offsets;
   * returns the runs (for copyKeys) and their key bytes.
   */
  copyRows(gone: Uint8Array, f64: Float64Array, i32: Int32Array, keyOffsets: Uint32Array, n: number): { runs: Array<[number, number]>; bytes: number } {
    this.validate(); // a damaged row must not be copied into the next index
    const m = this.length;
    const runs: Array<[number, number]> = [];
    for (let i = 0; i < m; i++) {
      if (gone[i]) continue;
      let end = i + 1;
      while (end < m && !gone[end]) end++;
      runs.push([i, end]);
      i = end;
    }
    let j = 0;
    let bytes = 0;
    for (const [start, end] of runs) {
      for (let c = 0; c < F64_COLUMNS; c++) f64.set(this.f64.subarray(c * m + start, c * m + end), c * n + j);
      for (let c = 0; c < I32_COLUMNS; c++) i32.set(this.i32.subarray(c * m + start, c * m + end), c * n + j);
      const shift = bytes - this.keyOffsets[start]!;
      for (let i = start; i < end; i++) keyOffsets[++j] = this.keyOffsets[i + 1]! + shift;
      bytes += this.keyOffsets[end]! - this.keyOffsets[start]!;
    }
    return { runs, bytes };
  }

  /** Writes the keys of the runs into `out` at `at`; returns the bytes written. */
  copyKeys(runs: ReadonlyArray<[number, number]>, out: Buffer, at: number): number {
    let written = 0;
    for (const [start, end] of runs) written += this.keyBytes.copy(out, at + written, this.keyOffsets[start], this.keyOffsets[end]);
    return written;
  }

  key(i: number): string {
    if (!this.validated && !(this.keyOffsets[i + 1]! > this.keyOffsets[i]!)) throw new IndexFormatError(`request ${i}: empty key`);
    return this.keyBytes.toString('utf8', this.keyOffsets[i], this.keyOffsets[i + 1]);
  }

  record(i: number): UsageEvent {
    if (!this.validated) this.checkRow(i);
    const n = this.length;
    const f = this.f64;
    const c = this.i32;
    const s = this.strings;
    const flags = c[i]!;
    const rec: UsageEvent = {
      key: this.key(i), agent: AGENT_IDS[flags & AGENT_MASK]!, sessionId: s[c[n + i]!] ?? '', project: s[c[2 * n + i]!] ?? '',
      model: s[c[4 * n + i]!] ?? null, timestamp: f[i]!,
      tokens: { input: f[2 * n + i]!, output: f[3 * n + i]!, cacheWrite5m: f[4 * n + i]!, cacheWrite1h: f[5 * n + i]!, cacheRead: f[6 * n + i]!, reasoning: f[7 * n + i]! },
      file: s[c[5 * n + i]!] ?? '',
    };
    const branch = c[3 * n + i]!;
    if (branch >= 0) rec.branch = s[branch]!;
    if ((flags & HAS_LOGGED_COST) !== 0) rec.loggedCostUSD = f[n + i]!;
    if ((flags & SIDECHAIN) !== 0) rec.sidechain = true;
    const sub = c[6 * n + i]!;
    if (sub >= 0) rec.subagentId = s[sub]!;
    const parent = c[7 * n + i]!;
    if (parent >= 0) rec.parentSessionId = s[parent]!;
    return rec;
  }

  /**
   * One reusable object moved from row to row (`at(i)`): for one-pass readers that keep no
   * reference (a report's totals), so a warm run allocates nothing per request.
   */
  cursor(): RowCursor {
    return new RowCursor(this);
  }

  /** Fills `c` with row i (the key is read only if asked for). */
  fill(c: RowCursor, i: number): void {
    if (!this.validated) this.checkRow(i);
    const n = this.length;
    const f = this.f64;
    const col = this.i32;
    const s = this.strings;
    const flags = col[i]!;
    c.row = i;
    c.agent = AGENT_IDS[flags & AGENT_MASK]!;
    c.sessionId = s[col[n + i]!] ?? '';
    c.project = s[col[2 * n + i]!] ?? '';
    const branch = col[3 * n + i]!;
    c.branch = branch >= 0 ? s[branch] : undefined;
    c.model = s[col[4 * n + i]!] ?? null;
    c.file = s[col[5 * n + i]!] ?? '';
    const sub = col[6 * n + i]!;
    c.subagentId = sub >= 0 ? s[sub] : undefined;
    const parent = col[7 * n + i]!;
    c.parentSessionId = parent >= 0 ? s[parent] : undefined;
    c.timestamp = f[i]!;
    c.loggedCostUSD = (flags & HAS_LOGGED_COST) !== 0 ? f[n + i]! : undefined;
    c.sidechain = (flags & SIDECHAIN) !== 0 ? true : undefined;
    const t = c.tokens;
    t.input = f[2 * n + i]!;
    t.output = f[3 * n + i]!;
    t.cacheWrite5m = f[4 * n + i]!;
    t.cacheWrite1h = f[5 * n + i]!;
    t.cacheRead = f[6 * n + i]!;
    t.reasoning = f[7 * n + i]!;
  }

  *records(): IterableIterator<UsageEvent> {
    for (let i = 0; i < this.length; i++) yield this.record(i);
  }

  private validated = false;

  /** Row i's flags, references, time and token counts (what `validate` checks of every row). */
  private checkRow(i: number): void {
    const { i32, f64, length: n } = this;
    const v = i32[i]!;
    if ((v & AGENT_MASK) >= AGENT_IDS.length || (v & ~(AGENT_MASK | SIDECHAIN | HAS_LOGGED_COST)) !== 0) throw new IndexFormatError(`request ${i}: bad agent/flags`);
    for (let c = 1; c <= STRING_COLUMNS; c++) {
      const ref = i32[c * n + i]!;
      if (ref < -1 || ref >= this.strings.length) throw new IndexFormatError(`request ${i}: bad string reference ${ref}`);
    }
    if (!Number.isFinite(f64[i]!)) throw new IndexFormatError(`request ${i}: bad timestamp`);
    for (let c = 2; c < F64_COLUMNS; c++) {
      const t = f64[c * n + i]!;
      if (!(t >= 0) || !Number.isInteger(t)) throw new IndexFormatError(`request ${i}: bad token count ${t}`);
    }
  }

  private checkKeyOffsets(): void {
    const o = this.keyOffsets;
    for (let i = 0; i < this.length; i++) if (o[i + 1]! <= o[i]!) throw new IndexFormatError(`request ${i}: empty key`);
  }

  /** Rejects references and numbers a valid index cannot hold (a damaged file must not load as wrong totals). */
  validate(): void {
    if (this.validated) return;
    for (let i = 0; i < this.length; i++) this.checkRow(i);
    this.checkKeyOffsets();
    this.validated = true;
  }
}

interface Columns {
  f64: Float64Array;
  i32: Int32Array;
  keyOffsets: Uint32Array;
  keyBytes: Buffer;
}

/** A request row seen through one reusable object (see RequestColumns.cursor). */
export class RowCursor {
  row = -1;
  agent: AgentId = 'claude-code';
  sessionId = '';
  project = '';
  branch: string | undefined = undefined;
  model: string | null = null;
  file = '';
  subagentId: string | undefined = undefined;
  parentSessionId: string | undefined = undefined;
  timestamp = 0;
  loggedCostUSD: number | undefined = undefined;
  sidechain: true | undefined = undefined;
  costNanos: number | null = null;
  readonly tokens = { input: 0, output: 0, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 0, reasoning: 0 };
  constructor(private readonly columns: RequestColumns) {}
  get key(): string {
    return this.columns.key(this.row);
  }
  at(i: number): this {
    this.columns.fill(this, i);
    return this;
  }
}

export interface DecodedIndex extends Omit<IndexSnapshot, 'records'> {
  requests: RequestColumns;
}

/**
 * Where an index's bytes come from: a whole file in memory, or an open file read in parts (the head
 * first; the rest only when a request row, parser state, edit or prompt is asked for).
 */
export interface IndexBytes {
  readonly size: number;
  /** `length` bytes at `at` (the caller checks the bounds against `size`). */
  read(at: number, length: number): Buffer;
}

/** The bytes of an index already in memory. */
export function bytesOf(buf: Buffer): IndexBytes {
  return { size: buf.length, read: (at, length) => buf.subarray(at, at + length) };
}

/** Typed-array views need aligned offsets; a Buffer from the pool may start anywhere. */
function aligned(b: Buffer): Buffer {
  return (b.byteOffset & 7) === 0 ? b : Buffer.from(b);
}

/** Parses an index without building its requests; throws IndexFormatError naming what is wrong. */
export function decodeIndexColumns(input: Buffer | IndexBytes): DecodedIndex {
  const src = Buffer.isBuffer(input) ? bytesOf(input) : input;
  const first = src.size >= 12 ? src.read(0, 12) : undefined;
  if (!first || first.readUInt32LE(0) !== MAGIC) throw new IndexFormatError('not an Agent Spend index (or an older text index)');
  const version = first.readUInt32LE(4);
  if (version !== INDEX_VERSION) throw new IndexFormatError(`version ${version}, this build reads version ${INDEX_VERSION}`);
  const headerLen = first.readUInt32LE(8);
  if (12 + headerLen > src.size) throw new IndexFormatError('truncated header');
  let raw: unknown;
  try {
    raw = JSON.parse(src.read(12, headerLen).toString('utf8'));
  } catch (e) {
    throw new IndexFormatError(`header is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isObj(raw) || raw['format'] !== 'agent-spend-index') throw new IndexFormatError('not an Agent Spend index');
  const { strings, files, limits } = raw;
  const n = raw['requests'];
  const { keyBytes, stateBytes, editBytes, promptBytes } = raw;
  const rollupHeader = raw['rollup'] ?? null;
  const m = isObj(rollupHeader) ? rollupHeader['cells'] : 0;
  if ((rollupHeader !== null && !isObj(rollupHeader)) || !isCount(m)) throw new IndexFormatError('malformed rollup');
  if (!Array.isArray(strings) || !strings.every((x) => typeof x === 'string') || !Array.isArray(files) || !Array.isArray(limits) ||
      !isCount(n) || !isCount(keyBytes) || !isCount(stateBytes) || !isCount(editBytes) || !isCount(promptBytes)) {
    throw new IndexFormatError('missing or malformed tables');
  }
  const columnsAt = pad8(12 + headerLen);
  const rollupF64Bytes = 8 * ROLLUP_TOTALS.length * m;
  const rollupI32Bytes = 4 * ROLLUP_I32 * m;
  const restAt = pad8(columnsAt + rollupF64Bytes + rollupI32Bytes);
  // Offsets in the rest (see the layout above), which starts 8-aligned.
  const f64Bytes = 8 * F64_COLUMNS * n;
  const i32Bytes = 4 * I32_COLUMNS * n;
  const keysAt = f64Bytes + i32Bytes + 4 * (n + 1);
  const statesAt = keysAt + keyBytes;
  const editsAt = statesAt + stateBytes;
  const promptsAt = editsAt + editBytes;
  if (restAt + promptsAt + promptBytes !== src.size) throw new IndexFormatError(`size ${src.size} does not match ${n} requests (truncated or damaged)`);
  // The rest is read a section at a time (the whole of it is in memory already when the index is).
  // Typed-array views need aligned bytes; text does not.
  const part = (at: number, length: number): Buffer => src.read(restAt + at, length);
  const alignedPart = (at: number, length: number): Buffer => aligned(part(at, length));
  // Checked as rows are read (or all at once by a full load: see IndexStore.load, decodeIndex).
  const requests = new RequestColumns(n, <K extends keyof Columns>(which: K): Columns[K] => {
    const columns: { [P in keyof Columns]: () => Columns[P] } = {
      f64: () => {
        const b = alignedPart(0, f64Bytes);
        return new Float64Array(b.buffer, b.byteOffset, F64_COLUMNS * n);
      },
      i32: () => {
        const b = alignedPart(f64Bytes, i32Bytes);
        return new Int32Array(b.buffer, b.byteOffset, I32_COLUMNS * n);
      },
      keyOffsets: () => {
        const b = alignedPart(f64Bytes + i32Bytes, 4 * (n + 1));
        const offsets = new Uint32Array(b.buffer, b.byteOffset, n + 1);
        if (offsets[0] !== 0 || offsets[n] !== keyBytes) throw new IndexFormatError('bad key table');
        return offsets;
      },
      keyBytes: () => part(keysAt, keyBytes),
    };
    return columns[which]();
  }, strings as string[]);

  const str = (i: unknown): string | undefined => {
    if (i === -1) return undefined;
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= strings.length) throw new IndexFormatError(`bad string reference ${String(i)}`);
    return strings[i] as string;
  };
  const num = (v: unknown): number => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new IndexFormatError(`bad number ${String(v)}`);
    return v;
  };
  const files_: FileEntry[] = [];
  let stateAt = statesAt;
  for (const f of files) {
    if (!Array.isArray(f) || f.length !== 10) throw new IndexFormatError('malformed file entry');
    const entry: FileEntry = { path: str(f[0])!, root: str(f[1])! };
    if (num(f[2]) !== NO_CURSOR) {
      entry.cursor = { path: entry.path, offset: num(f[2]), size: num(f[3]), mtimeMs: num(f[4]), ino: num(f[5]), head: String(f[6]) };
      if (typeof f[9] === 'string' && f[9] !== '') entry.cursor.tail = f[9];
    }
    if (typeof f[7] === 'string') entry.docStamp = f[7];
    const len = f[8];
    if (!isCount(len) || stateAt + len > editsAt) throw new IndexFormatError('bad parser state length');
    const at = stateAt;
    if (len > 0) entry.parserState = new SavedParserState(() => part(at, len).toString('utf8'));
    stateAt += len;
    files_.push(entry);
  }
  if (stateAt !== editsAt) throw new IndexFormatError('parser states do not fill their section');
  const section = (at: number, bytes: number, what: string): unknown[] => {
    let v: unknown;
    try {
      v = JSON.parse(part(at, bytes).toString('utf8'));
    } catch (e) {
      throw new IndexFormatError(`${what} are not valid JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    if (!Array.isArray(v)) throw new IndexFormatError(`${what} are not a list`);
    return v;
  };
  const decodePrompts = () => section(promptsAt, promptBytes, 'prompts').map((p): DecodedIndex['prompts'][number] => {
    if (!Array.isArray(p) || p.length !== 5 || typeof p[0] !== 'string' || typeof p[3] !== 'string') throw new IndexFormatError('malformed prompt record');
    return { key: p[0], sessionId: str(p[1]) ?? '', timestamp: num(p[2]), text: p[3], file: str(p[4]) ?? '' };
  });
  const decodeEdits = () => section(editsAt, editBytes, 'edits').map((e): EditRecord => {
    if (!Array.isArray(e) || e.length !== 8 || typeof e[0] !== 'string') throw new IndexFormatError('malformed edit record');
    const rec: EditRecord = {
      key: e[0], sessionId: str(e[1]) ?? '', timestamp: num(e[2]), file: str(e[3]) ?? '', path: str(e[4]) ?? '',
      linesAdded: num(e[5]), linesRemoved: num(e[6]), exact: (num(e[7]) & EDIT_EXACT) !== 0,
    };
    if ((num(e[7]) & EDIT_FAILED) !== 0) rec.failed = true;
    return rec;
  });
  const decodeRollup = isObj(rollupHeader)
    ? () => {
      const head = aligned(src.read(columnsAt, rollupF64Bytes + rollupI32Bytes));
      return rollupOf(rollupHeader, new Float64Array(head.buffer, head.byteOffset, ROLLUP_TOTALS.length * m),
        new Int32Array(head.buffer, head.byteOffset + rollupF64Bytes, ROLLUP_I32 * m), str);
    }
    : () => undefined;
  const out = new LazyDecodedIndex(typeof raw['savedAt'] === 'number' ? raw['savedAt'] : 0, files_, requests, limits.filter(isLimitsSnapshot), decodePrompts, decodeEdits, decodeRollup);
  if (typeof raw['id'] === 'string') out.id = raw['id'];
  if (raw['delta'] !== null && raw['delta'] !== undefined) out.delta = decodeDelta(raw['delta'], n);
  return out;
}

/** The rollup of an index; throws IndexFormatError when a cell or table is not one a writer makes. */
function rollupOf(header: Record<string, unknown>, f64: Float64Array, i32: Int32Array, str: (ref: unknown) => string | undefined): RollupData {
  const m = header['cells'] as number;
  const days = header['days'];
  const prices = header['prices'];
  if (!Array.isArray(days) || !days.every((d) => Array.isArray(d) && d.length === 3 && typeof d[0] === 'string' && Number.isFinite(d[1]) && Number.isFinite(d[2]))) {
    throw new IndexFormatError('malformed rollup days');
  }
  if (!Array.isArray(prices) || !prices.every((p) => Array.isArray(p) && p.length === 2 && Number.isInteger(p[0]) && (p[1] === null || typeof p[1] === 'string'))) {
    throw new IndexFormatError('malformed rollup prices');
  }
  const cells: RollupCell[] = new Array(m);
  for (let i = 0; i < m; i++) {
    const agent = AGENT_IDS[i32[i]!];
    const day = days[i32[5 * m + i]!] as [string, number, number] | undefined;
    if (agent === undefined || day === undefined) throw new IndexFormatError(`rollup cell ${i}: bad agent or day`);
    const totals = {} as Totals;
    for (let k = 0; k < ROLLUP_TOTALS.length; k++) {
      const v = f64[k * m + i]!;
      const timestamp = k >= ROLLUP_TOTALS.length - 2;
      if (timestamp ? !Number.isFinite(v) : !(v >= 0 && Number.isSafeInteger(v))) throw new IndexFormatError(`rollup cell ${i}: bad ${ROLLUP_TOTALS[k]} ${v}`);
      totals[ROLLUP_TOTALS[k]!] = v;
    }
    if (totals.requests === 0) throw new IndexFormatError(`rollup cell ${i}: no requests`);
    cells[i] = {
      agent, sessionId: str(i32[m + i]) ?? '', project: str(i32[2 * m + i]) ?? '', branch: str(i32[3 * m + i]),
      model: str(i32[4 * m + i]) ?? null, day: day[0], totals,
    };
  }
  return { cells, days: days as RollupData['days'], prices: (prices as Array<[number, string | null]>).map(([ref, rates]) => [str(ref) ?? null, rates]) };
}

function decodeDelta(v: unknown, rows: number): IndexDelta {
  if (!isObj(v) || typeof v['of'] !== 'string' || !Array.isArray(v['goneRows']) || !Array.isArray(v['removedFiles']) ||
      !v['goneRows'].every((i) => isCount(i)) || !v['removedFiles'].every((f) => typeof f === 'string')) {
    throw new IndexFormatError(`malformed delta (${rows} requests)`);
  }
  return { of: v['of'], goneRows: v['goneRows'] as number[], removedFiles: v['removedFiles'] as string[] };
}

/**
 * A decoded index whose prompts and edits are parsed on first use. They can throw IndexFormatError
 * then; `decodeIndex` reads them at once, so a damaged section is found where the index is loaded.
 */
class LazyDecodedIndex implements DecodedIndex {
  id?: string;
  delta?: IndexDelta;
  private prompts_: DecodedIndex['prompts'] | undefined;
  private edits_: EditRecord[] | undefined;
  private rollup_: { value: RollupData | undefined } | undefined;
  constructor(
    readonly savedAt: number,
    readonly files: FileEntry[],
    readonly requests: RequestColumns,
    readonly limits: LimitsSnapshot[],
    private readonly decodePrompts: () => DecodedIndex['prompts'],
    private readonly decodeEdits: () => EditRecord[],
    private readonly decodeRollup: () => RollupData | undefined,
  ) {}
  /** The rollup, decoded on first use (undefined: the writer kept none). */
  get rollup(): RollupData | undefined {
    return (this.rollup_ ??= { value: this.decodeRollup() }).value;
  }
  get prompts(): DecodedIndex['prompts'] {
    return (this.prompts_ ??= this.decodePrompts());
  }
  get edits(): EditRecord[] {
    return (this.edits_ ??= this.decodeEdits());
  }
}

/** Parses an index into plain records; throws IndexFormatError naming what is wrong. */
export function decodeIndex(buf: Buffer): IndexSnapshot {
  const d = decodeIndexColumns(buf);
  d.requests.validate();
  return { savedAt: d.savedAt, files: d.files, records: [...d.requests.records()], prompts: d.prompts, edits: d.edits, limits: d.limits };
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

function isLimitsSnapshot(v: unknown): v is LimitsSnapshot {
  return isObj(v) && typeof v['agent'] === 'string' && (AGENT_IDS as readonly string[]).includes(v['agent']) && typeof v['source'] === 'string' &&
    typeof v['observedAt'] === 'number' && Array.isArray(v['windows']) &&
    v['windows'].every((w) => isObj(w) && typeof w['kind'] === 'string' && typeof w['usedPercent'] === 'number');
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

