/**
 * Most assistant lines of a Claude Code transcript differ from the one before only in a few
 * values: the ids (`parentUuid`, `uuid`, `requestId`, the message's `id`), `timestamp`, the
 * message's `model`, `stop_reason` and `stop_sequence`, the numbers of its `usage`, and the
 * content (cut out before parsing, see claudeCode.ts). The rest (session, folder, branch,
 * version, sidechain flag, the usage's keys, …) repeats. A template is one line parsed in full,
 * with the positions of those values; a later line whose bytes equal the template's everywhere
 * else is read from those values alone instead of JSON-parsing it. Of the usage lines in the
 * real logs (../shared/real-logs), 87 % match one of the two lines parsed last; in the bench's, 89 %.
 *
 * Exact by construction: the text before each varying value is the same as the template's, so
 * the value sits at the same place of the same structure (found by walking the template's
 * structure), and a line gives exactly the event its full parse would give. A value that is not
 * plainly readable (an escape or a control byte in a string, a number that is not a plain
 * integer, a string where null was) sends the line to the full parse.
 */
import type { TokenCounts, UsageEvent } from '../core/events';
import { isObject, parseTime } from './json';

type Role = 'timestamp' | 'requestId' | 'id' | 'model' | 'count' | 'skip';

interface Varying {
  /** [at, end) in the template's bytes. */
  at: number;
  end: number;
  role: Role;
  /** For a count: its index in `counts`. */
  slot: number;
}

/** Where a count of the usage goes: into the template's parsed usage, refilled for each line read. */
interface CountTarget {
  obj: Record<string, unknown>;
  key: string;
}

/** How the parser makes events (claudeCode.ts), so that a line read here gives what its full parse gives. */
export interface ClaudeEvents {
  /** Counts of a usage object. */
  tokens(usage: Record<string, unknown>): TokenCounts;
  /** The event of another request of the same attribution (session, folder, branch, …) as `e`. */
  withRequest(e: UsageEvent, key: string, model: string | null, timestamp: number, tokens: TokenCounts): UsageEvent;
}

/** The varying values, by key of the record and of its message; the usage's numbers are found apart. */
const RECORD_ROLES: Readonly<Record<string, Role>> = { parentUuid: 'skip', uuid: 'skip', timestamp: 'timestamp', requestId: 'requestId' };
const MESSAGE_ROLES: Readonly<Record<string, Role>> = { id: 'id', model: 'model', stop_reason: 'skip', stop_sequence: 'skip' };
/** Where the read strings are noted in `found`: [start, end) pairs. */
const FOUND_AT: Readonly<Partial<Record<Role, number>>> = { timestamp: 0, requestId: 2, id: 4, model: 6 };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
export const EMPTY_CONTENT = Buffer.from('"content":[]');

export class LineTemplate {
  /** [start, end) of the strings of the line being read: timestamp, requestId, id, model (-1: absent). */
  private readonly found: number[] = [-1, -1, -1, -1, -1, -1, -1, -1];
  /** The usage counts of the line being read. */
  private readonly counts: number[];
  private readonly modelBytes: Buffer | undefined;
  private readonly view: DataView;
  /** The time of the line read last. */
  timestamp = 0;

  private constructor(
    /** The template line without its content: `prefix` + `"content":[]` + the rest. */
    private readonly bytes: Buffer,
    private readonly prefixLen: number,
    private readonly varying: readonly Varying[],
    /** The template's own event: what every field that does not vary gives. */
    private readonly event: UsageEvent,
    private readonly usage: Record<string, unknown>,
    private readonly targets: readonly CountTarget[],
    private readonly claude: ClaudeEvents,
  ) {
    this.counts = targets.map(() => 0);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const model = varying.find((v) => v.role === 'model');
    this.modelBytes = model && event.model !== null ? bytes.subarray(model.at + 1, model.end - 1) : undefined;
  }

  /**
   * A template from `skeleton`, a line with its content replaced by `"content":[]` at
   * `prefixLen`, that JSON.parse read as an assistant record with usage giving exactly `event`;
   * undefined when later lines could not be read against it.
   */
  static from(skeleton: Buffer, prefixLen: number, event: UsageEvent, claude: ClaudeEvents): LineTemplate | undefined {
    const values = new Map<string, [number, number]>();
    if (walkObject(skeleton, skipSpace(skeleton, 0), 'r:', values) < 0) return undefined;
    const varying: Varying[] = [];
    const inContent = (at: number, end: number) => (at < prefixLen ? end > prefixLen : at < prefixLen + EMPTY_CONTENT.length);
    for (const [path, [at, end]] of values) {
      const role = path.startsWith('m:') ? MESSAGE_ROLES[path.slice(2)] : RECORD_ROLES[path.slice(2)];
      if (role === undefined) continue;
      const isString = skeleton[at] === QUOTE && stringEnd(skeleton, at + 1, end) === end - 1;
      const isNull = end - at === 4 && skeleton.toString('latin1', at, end) === 'null';
      if (role === 'skip' ? !isString && !isNull : !isString) {
        // Without a plain message id or timestamp the event's key or time would come from elsewhere.
        if (role === 'id' || role === 'timestamp') return undefined;
        continue; // not varying: must then be the same in every line read
      }
      if (inContent(at, end)) return undefined;
      varying.push({ at, end, role, slot: -1 });
    }
    if (!varying.some((v) => v.role === 'id') || !varying.some((v) => v.role === 'timestamp')) return undefined;
    const usageSpan = values.get('m:usage');
    if (!usageSpan || inContent(usageSpan[0], usageSpan[1])) return undefined;
    const usage = JSON.parse(skeleton.toString('utf8', usageSpan[0], usageSpan[1])) as unknown;
    const targets: CountTarget[] = [];
    if (!isObject(usage) || findCounts(skeleton, usageSpan[0], usage, varying, targets) < 0) return undefined;
    varying.sort((a, b) => a.at - b.at);
    return new LineTemplate(skeleton, prefixLen, varying, event, usage, targets, claude);
  }

  /**
   * The event of line `buf[start, end)` (content `[contentAt, stopAt)`, without edit tools) as
   * its full parse would give it (null: none, a `<synthetic>` message); undefined when it does
   * not match the template. The line's time is left in `timestamp`.
   */
  read(buf: Buffer, start: number, contentAt: number, stopAt: number, end: number): UsageEvent | null | undefined {
    const found = this.found;
    found[2] = found[6] = -1;
    // A view per line, not kept: the buffer may be a long line's own, which a template must not hold on to.
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    if (!this.matchPart(buf, view, start, contentAt, 0, this.prefixLen) ||
        !this.matchPart(buf, view, stopAt, end, this.prefixLen + EMPTY_CONTENT.length, this.bytes.length)) return undefined;
    const timestamp = parseTime(buf.toString('utf8', found[0], found[1]));
    const id = buf.toString('utf8', found[4], found[5]);
    // A line without a time of its own takes the parser's latest; without an id, its key is its uuid.
    if (timestamp === undefined || id === '') return undefined;
    this.timestamp = timestamp;
    const model = found[6]! >= 0 ? this.modelAt(buf, found[6]!, found[7]!) : this.event.model;
    if (model === '<synthetic>') return null;
    const requestId = found[2]! >= 0 ? buf.toString('utf8', found[2], found[3]) : undefined;
    for (let i = 0; i < this.targets.length; i++) this.targets[i]!.obj[this.targets[i]!.key] = this.counts[i];
    return this.claude.withRequest(this.event, requestKey(id, requestId, undefined)!, model, timestamp, this.claude.tokens(this.usage));
  }

  /** The model string: the template's own when the bytes are the same (nearly always). */
  private modelAt(buf: Buffer, at: number, end: number): string {
    const mine = this.modelBytes;
    return mine && end - at === mine.length && buf.compare(mine, 0, mine.length, at, end) === 0 ? this.event.model! : buf.toString('utf8', at, end);
  }

  /** Whether `buf[from, to)` equals `bytes[refFrom, refTo)` outside the varying values, reading those. */
  private matchPart(buf: Buffer, view: DataView, from: number, to: number, refFrom: number, refTo: number): boolean {
    const ref = this.bytes;
    const refView = this.view;
    let pos = from;
    let refPos = refFrom;
    for (const v of this.varying) {
      if (v.at < refFrom || v.at >= refTo) continue;
      const same = v.at - refPos;
      if (pos + same > to || !sameBytes(buf, view, pos, ref, refView, refPos, same)) return false;
      pos = this.readValue(buf, pos + same, to, v);
      if (pos < 0) return false;
      refPos = v.end;
    }
    return to - pos === refTo - refPos && sameBytes(buf, view, pos, ref, refView, refPos, refTo - refPos);
  }

  /** Just past the value `v` stands for at `at`, noting it; -1 when it is not plainly readable. */
  private readValue(buf: Buffer, at: number, limit: number, v: Varying): number {
    if (v.role === 'count') {
      // A plain integer (no sign, fraction or exponent, no leading zero), as JSON.parse reads it.
      let n = 0;
      let i = at;
      for (; i < limit && i - at <= 15; i++) {
        const d = buf[i]! - 48;
        if (d < 0 || d > 9) break;
        n = n * 10 + d;
      }
      if (i === at || i - at > 15 || (buf[at] === 48 && i - at > 1)) return -1;
      this.counts[v.slot] = n;
      return i;
    }
    if (buf[at] !== QUOTE) {
      const isNull = v.role === 'skip' && at + 4 <= limit && buf[at] === 0x6e && buf[at + 1] === 0x75 && buf[at + 2] === 0x6c && buf[at + 3] === 0x6c;
      return isNull ? at + 4 : -1;
    }
    const close = stringEnd(buf, at + 1, limit);
    if (close < 0) return -1;
    const slot = FOUND_AT[v.role];
    if (slot !== undefined) {
      this.found[slot] = at + 1;
      this.found[slot + 1] = close;
    }
    return close + 1;
  }
}

/** The ledger's key of a Claude Code request: message id and request id, else the line's uuid. */
export function requestKey(messageId: string | undefined, requestId: string | undefined, uuid: string | undefined): string | undefined {
  return messageId ? `cc:${messageId}${requestId ? `:${requestId}` : ''}` : uuid ? `cc:uuid:${uuid}` : undefined;
}

/**
 * Whether a[at, at + n) equals b[bAt, bAt + n) (`av`, `bv`: views of the same bytes): memcmp for
 * long runs, four bytes at a time for short ones (where the native call costs more).
 */
function sameBytes(a: Buffer, av: DataView, at: number, b: Buffer, bv: DataView, bAt: number, n: number): boolean {
  if (n >= 64) return a.compare(b, bAt, bAt + n, at, at + n) === 0;
  let k = 0;
  for (; k + 4 <= n; k += 4) if (av.getUint32(at + k) !== bv.getUint32(bAt + k)) return false;
  for (; k < n; k++) if (a[at + k] !== b[bAt + k]) return false;
  return true;
}

/** The closing quote of a string whose text starts at `at`; -1 on an escape, a control byte, or no quote before `limit`. */
function stringEnd(buf: Buffer, at: number, limit: number): number {
  for (let i = at; i < limit; i++) {
    const c = buf[i]!;
    if (c === QUOTE) return i;
    if (c === BACKSLASH || c < 0x20) return -1;
  }
  return -1;
}

// Walks of valid JSON (the template was just parsed by JSON.parse).

/**
 * Notes where the values of the record's keys (`r:key`) and its message's keys (`m:key`) are.
 * Just past the object, or -1; refused: a key given twice (JSON.parse keeps the last, and the
 * first would still be noted).
 */
function walkObject(b: Buffer, i: number, path: string, out: Map<string, [number, number]>): number {
  return eachMember(b, i, (key, at) => {
    if (out.has(path + key)) return -1;
    const end = path === 'r:' && key === 'message' && b[at] === 0x7b ? walkObject(b, at, 'm:', out) : valueEnd(b, at);
    out.set(path + key, [at, end]);
    return end;
  });
}

/**
 * Makes every number of the usage object at `i` (`obj`, as parsed), nested objects included, a
 * varying count. Refused (-1): a key given twice, as filling the counts in would then not give
 * what JSON.parse gives.
 */
function findCounts(b: Buffer, i: number, obj: Record<string, unknown>, varying: Varying[], targets: CountTarget[]): number {
  const seen = new Set<string>();
  return eachMember(b, i, (key, at) => {
    if (seen.has(key)) return -1;
    seen.add(key);
    const value = obj[key];
    if (isObject(value)) return findCounts(b, at, value, varying, targets);
    const end = valueEnd(b, at);
    if (typeof value === 'number' && end >= 0) {
      varying.push({ at, end, role: 'count', slot: targets.length });
      targets.push({ obj, key });
    }
    return end;
  });
}

/** Calls `member(key, valueAt)` for each member of the object at `i`, which returns just past the value (-1: stop). */
function eachMember(b: Buffer, i: number, member: (key: string, at: number) => number): number {
  if (b[i] !== 0x7b) return -1;
  i = skipSpace(b, i + 1);
  if (b[i] === 0x7d) return i + 1;
  for (;;) {
    if (b[i] !== QUOTE) return -1;
    const keyEnd = quotedEnd(b, i + 1);
    if (keyEnd < 0) return -1;
    const key = JSON.parse(b.toString('utf8', i, keyEnd + 1)) as string;
    i = skipSpace(b, keyEnd + 1);
    if (b[i] !== 0x3a) return -1;
    const end = member(key, skipSpace(b, i + 1));
    if (end < 0) return -1;
    i = skipSpace(b, end);
    if (b[i] === 0x7d) return i + 1;
    if (b[i] !== 0x2c) return -1;
    i = skipSpace(b, i + 1);
  }
}

/** Just past the JSON value starting at `i`, or -1. */
function valueEnd(b: Buffer, i: number): number {
  const c = b[i];
  if (c === QUOTE) {
    const q = quotedEnd(b, i + 1);
    return q < 0 ? -1 : q + 1;
  }
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let j = i; j < b.length; j++) {
      const d = b[j]!;
      if (d === QUOTE) {
        j = quotedEnd(b, j + 1);
        if (j < 0) return -1;
      } else if (d === 0x7b || d === 0x5b) depth++;
      else if ((d === 0x7d || d === 0x5d) && --depth === 0) return j + 1;
    }
    return -1;
  }
  let j = i;
  while (j < b.length && b[j] !== 0x2c && b[j] !== 0x7d && b[j] !== 0x5d && !isSpace(b[j]!)) j++;
  return j > i ? j : -1;
}

/** The closing quote of the string whose text starts at `i`, escapes honoured. */
function quotedEnd(b: Buffer, i: number): number {
  for (; i < b.length; i++) {
    if (b[i] === BACKSLASH) i++;
    else if (b[i] === QUOTE) return i;
  }
  return -1;
}

function skipSpace(b: Buffer, i: number): number {
  while (i < b.length && isSpace(b[i]!)) i++;
  return i;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}
