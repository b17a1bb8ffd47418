/**
 * Incremental line reader shared by every line-oriented source.
 *
 * Reads a file from a saved cursor in large chunks, hands each COMPLETE line that
 * contains one of the source's needles to its parser, and leaves an unterminated
 * last line for the next read. A file that shrank, or whose first bytes or inode
 * changed, is re-read from the start (the ledger dedups by request key, so
 * re-reading never double counts). Lines longer than `maxLineBytes` are skipped
 * and counted without being held in memory.
 */
import type { SourceEvent } from '../core/events';
import { indexOfNeedle, type Needle } from './needle';
import type { LineParser, ReadHandle, SourceFs } from './source';

export interface FileCursor {
  path: string;
  /** Bytes consumed: always the end of the last complete line read. */
  offset: number;
  size: number;
  mtimeMs: number;
  ino: number;
  /** Hex of the file's first bytes (up to HEAD_BYTES) when it was last read: detects replacement. */
  head: string;
  /**
   * Hex of the bytes just before `offset` (up to TAIL_BYTES): a file rewritten in place whose
   * lines moved (same first bytes, other lengths) no longer has them there, and is re-read.
   */
  tail?: string;
}

export interface ReadResult {
  events: SourceEvent[];
  cursor: FileCursor;
  /** True when the file was read from the start because it shrank or was replaced. */
  restarted: boolean;
  bytesRead: number;
  malformedLines: number;
  oversizedLines: number;
  /** First parse error message seen in this read, for the log. */
  firstError?: string;
}

export interface TailerOptions {
  chunkBytes?: number;
  maxLineBytes?: number;
}

const HEAD_BYTES = 64;
const TAIL_BYTES = 32;
const NEWLINE = 0x0a;
/** At least as many as reads run at once (the scanner's concurrency, 4 by default). */
const MAX_SPARE_CHUNKS = 8;

export class Tailer {
  private readonly chunkBytes: number;
  /** Chunk buffers of finished reads, reused: a scan of thousands of files allocates a handful, not one each. */
  private readonly spareChunks: Buffer[] = [];
  private readonly maxLineBytes: number;

  constructor(readonly fs: SourceFs, opts: TailerOptions = {}) {
    this.chunkBytes = opts.chunkBytes ?? 1 << 20;
    this.maxLineBytes = opts.maxLineBytes ?? 64 << 20;
  }

  /**
   * Reads what is new in `path` since `cursor`. `parserFor(restarted)` returns the
   * parser to use: the file's existing one, or a fresh one when the file restarted.
   */
  async read(
    path: string,
    needles: readonly Needle[],
    parserFor: (restarted: boolean) => LineParser,
    cursor?: FileCursor,
  ): Promise<ReadResult> {
    if (cursor && (await this.isUnchanged(path, cursor))) {
      return { events: [], cursor, restarted: false, bytesRead: 0, malformedLines: 0, oversizedLines: 0 };
    }
    const handle = await this.fs.open(path, 'r');
    try {
      const stat = await handle.stat();
      const head = await readHead(handle, Math.min(HEAD_BYTES, stat.size));
      const restarted = cursor !== undefined && (isReplaced(cursor, stat.size, stat.ino, head) || !(await tailStillThere(handle, cursor)));
      const start = cursor && !restarted ? cursor.offset : 0;
      const parser = parserFor(restarted || cursor === undefined);
      const result: ReadResult = {
        events: [],
        cursor: { path, offset: start, size: stat.size, mtimeMs: stat.mtimeMs, ino: stat.ino, head },
        restarted,
        bytesRead: 0,
        malformedLines: 0,
        oversizedLines: 0,
      };
      if (stat.size > start) {
        const chunk = this.spareChunks.pop() ?? Buffer.allocUnsafe(this.chunkBytes);
        try {
          await this.readLines(handle, chunk, start, stat.size, needles, parser, result);
        } finally {
          if (this.spareChunks.length < MAX_SPARE_CHUNKS) this.spareChunks.push(chunk);
          parser.readDone?.();
        }
      }
      result.cursor.tail = await readBytes(handle, Math.max(0, result.cursor.offset - TAIL_BYTES), Math.min(TAIL_BYTES, result.cursor.offset));
      return result;
    } finally {
      await handle.close();
    }
  }

  /** Same size, mtime and inode as when last read: one stat instead of open + read + close. */
  private async isUnchanged(path: string, cursor: FileCursor): Promise<boolean> {
    return sameFile(await this.fs.stat(path), cursor);
  }

  /**
   * Whether `path` is known unchanged since `cursor` without waiting, where the fs can stat at
   * once: false when it cannot, or on any error (the read then says what it is).
   */
  unchangedNow(path: string, cursor: FileCursor): boolean {
    if (!this.fs.statNow) return false;
    try {
      return sameFile(this.fs.statNow(path), cursor);
    } catch {
      return false;
    }
  }

  private async readLines(
    handle: ReadHandle,
    chunk: Buffer,
    start: number,
    end: number,
    needles: readonly Needle[],
    parser: LineParser,
    out: ReadResult,
  ): Promise<void> {
    const overlap = Math.max(0, ...needles.map((n) => n.bytes.length)) - 1;
    // A line that spans chunks is not copied: we remember where it starts and whether a
    // needle occurs in it, and re-read it in one piece only if it does (most long lines
    // are tool output without usage).
    let lineStart = -1; // file offset of the line continued from earlier chunks, or -1
    let lineHasNeedle = false;
    let tail = Buffer.alloc(0); // last bytes of the previous part, for needles across chunk edges
    let pos = start;
    let consumed = start; // file offset just past the last complete line
    while (pos < end) {
      const { bytesRead } = await handle.read(chunk, 0, Math.min(this.chunkBytes, end - pos), pos);
      if (bytesRead === 0) break;
      out.bytesRead += bytesRead;
      const chunkStart = pos;
      pos += bytesRead;
      const data = chunk.subarray(0, bytesRead);
      const firstNl = data.indexOf(NEWLINE);
      const headEnd = firstNl < 0 ? data.length : firstNl;
      let bodyStart = 0; // where this chunk's own complete lines begin
      if (lineStart >= 0 || firstNl < 0) {
        if (lineStart < 0) lineStart = chunkStart;
        if (!lineHasNeedle) lineHasNeedle = containsNeedle(tail, data.subarray(0, headEnd), needles);
        if (firstNl < 0) {
          tail = Buffer.from(data.subarray(Math.max(0, data.length - overlap)));
          continue;
        }
        const lineEnd = chunkStart + firstNl;
        if (lineHasNeedle) await this.rereadLine(handle, lineStart, lineEnd, needles, parser, out);
        lineStart = -1;
        lineHasNeedle = false;
        tail = Buffer.alloc(0);
        bodyStart = firstNl + 1;
      }
      const lastNl = data.lastIndexOf(NEWLINE);
      if (lastNl + 1 > bodyStart) this.processChunk(data.subarray(bodyStart, lastNl + 1), needles, parser, out);
      consumed = chunkStart + lastNl + 1;
      if (lastNl + 1 < data.length) {
        lineStart = consumed;
        const rest = data.subarray(lastNl + 1);
        lineHasNeedle = containsNeedle(Buffer.alloc(0), rest, needles);
        tail = Buffer.from(rest.subarray(Math.max(0, rest.length - overlap)));
      }
    }
    out.cursor.offset = consumed;
  }

  /** Reads one long line [from, to) in one piece and parses it, unless it is over the size limit. */
  private async rereadLine(
    handle: ReadHandle,
    from: number,
    to: number,
    needles: readonly Needle[],
    parser: LineParser,
    out: ReadResult,
  ): Promise<void> {
    if (to - from > this.maxLineBytes) {
      out.oversizedLines++;
      return;
    }
    const line = Buffer.allocUnsafe(to - from + 1);
    const { bytesRead } = await handle.read(line, 0, to - from, from);
    line[bytesRead] = NEWLINE;
    this.processChunk(line.subarray(0, bytesRead + 1), needles, parser, out);
  }

  /** Parses the lines of `data` (which ends at a line boundary) that contain a needle. */
  private processChunk(data: Buffer, needles: readonly Needle[], parser: LineParser, out: ReadResult): void {
    for (const [lineStart, lineEnd] of candidateLines(data, needles)) {
      if (lineEnd - lineStart > this.maxLineBytes) {
        out.oversizedLines++;
        continue;
      }
      let endNoCr = lineEnd;
      if (endNoCr > lineStart && data[endNoCr - 1] === 0x0d) endNoCr--;
      try {
        const events = parser.parseBytes
          ? parser.parseBytes(data, lineStart, endNoCr)
          : parser.parseLine(data.toString('utf8', lineStart, endNoCr));
        for (const e of events) out.events.push(e);
      } catch (err) {
        out.malformedLines++;
        out.firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  }
}

/** [start, end) of each distinct line (end excludes the newline) containing any needle, in file order. */
export function candidateLines(data: Buffer, needles: readonly Needle[]): Array<[number, number]> {
  const lines: Array<[number, number]> = [];
  for (const needle of needles) {
    let from = 0;
    while (from < data.length) {
      const hit = indexOfNeedle(data, needle, from);
      if (hit < 0) break;
      const lineStart = data.lastIndexOf(NEWLINE, hit) + 1;
      let lineEnd = data.indexOf(NEWLINE, hit + needle.bytes.length);
      if (lineEnd < 0) lineEnd = data.length;
      lines.push([lineStart, lineEnd]);
      from = lineEnd + 1;
    }
  }
  if (needles.length > 1) {
    lines.sort((a, b) => a[0] - b[0]);
    return lines.filter((l, i) => i === 0 || l[0] !== lines[i - 1]![0]);
  }
  return lines;
}

/** Whether a needle occurs in `data`, or straddles the edge between `tail` (end of the previous part) and `data`. */
function containsNeedle(tail: Buffer, data: Buffer, needles: readonly Needle[]): boolean {
  for (const n of needles) {
    if (indexOfNeedle(data, n, 0) >= 0) return true;
    if (tail.length > 0 && indexOfNeedle(Buffer.concat([tail, data.subarray(0, n.bytes.length - 1)]), n, 0) >= 0) return true;
  }
  return false;
}

async function readHead(handle: ReadHandle, n: number): Promise<string> {
  return readBytes(handle, 0, n);
}

/** Hex of `n` bytes at `position` ('' when n is 0). */
async function readBytes(handle: ReadHandle, position: number, n: number): Promise<string> {
  if (n <= 0) return '';
  const buf = Buffer.alloc(n);
  const { bytesRead } = await handle.read(buf, 0, n, position);
  return buf.toString('hex', 0, bytesRead);
}

/** The bytes before the saved offset are still the ones read then (a cursor without a tail passes). */
async function tailStillThere(handle: ReadHandle, cursor: FileCursor): Promise<boolean> {
  if (cursor.tail === undefined || cursor.tail === '') return true;
  const n = cursor.tail.length / 2;
  return (await readBytes(handle, cursor.offset - n, n)) === cursor.tail;
}

function sameFile(st: { size: number; mtimeMs: number; ino: number }, cursor: FileCursor): boolean {
  return st.size === cursor.size && st.mtimeMs === cursor.mtimeMs && (cursor.ino === 0 || st.ino === cursor.ino);
}

/** A file was replaced or truncated when it shrank below what was read, its inode changed, or its first bytes differ. */
function isReplaced(cursor: FileCursor, size: number, ino: number, head: string): boolean {
  if (size < cursor.offset) return true;
  if (cursor.ino !== 0 && ino !== 0 && cursor.ino !== ino) return true;
  const n = Math.min(cursor.head.length, head.length);
  return cursor.head.slice(0, n) !== head.slice(0, n);
}
