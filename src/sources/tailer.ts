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
import type { UsageEvent } from '../core/events';
import type { LineParser, SourceFs } from './source';

export interface FileCursor {
  path: string;
  /** Bytes consumed: always the end of the last complete line read. */
  offset: number;
  size: number;
  mtimeMs: number;
  ino: number;
  /** Hex of the file's first bytes (up to HEAD_BYTES) when it was last read: detects replacement. */
  head: string;
}

export interface ReadResult {
  events: UsageEvent[];
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
const NEWLINE = 0x0a;

export class Tailer {
  private readonly chunkBytes: number;
  private readonly maxLineBytes: number;

  constructor(private readonly fs: SourceFs, opts: TailerOptions = {}) {
    this.chunkBytes = opts.chunkBytes ?? 1 << 20;
    this.maxLineBytes = opts.maxLineBytes ?? 64 << 20;
  }

  /**
   * Reads what is new in `path` since `cursor`. `parserFor(restarted)` returns the
   * parser to use: the file's existing one, or a fresh one when the file restarted.
   */
  async read(
    path: string,
    needles: readonly Buffer[],
    parserFor: (restarted: boolean) => LineParser,
    cursor?: FileCursor,
  ): Promise<ReadResult> {
    const handle = await this.fs.open(path, 'r');
    try {
      const stat = await handle.stat();
      const head = await readHead(handle, Math.min(HEAD_BYTES, stat.size));
      const restarted = cursor !== undefined && isReplaced(cursor, stat.size, stat.ino, head);
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
      if (stat.size > start) await this.readLines(handle, start, stat.size, needles, parser, result);
      return result;
    } finally {
      await handle.close();
    }
  }

  private async readLines(
    handle: import('node:fs/promises').FileHandle,
    start: number,
    end: number,
    needles: readonly Buffer[],
    parser: LineParser,
    out: ReadResult,
  ): Promise<void> {
    const chunk = Buffer.allocUnsafe(this.chunkBytes);
    // Pieces of a line that spans chunks; joined once, when its newline arrives (no quadratic copying).
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let skipping = false; // inside an oversized line: drop bytes up to its newline
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
      if (firstNl < 0) {
        if (skipping) continue;
        pendingBytes += data.length;
        if (pendingBytes > this.maxLineBytes) {
          out.oversizedLines++;
          skipping = true;
          pending = [];
          pendingBytes = 0;
        } else {
          pending.push(Buffer.from(data)); // `chunk` is reused: copy
        }
        continue;
      }
      let bodyStart = 0;
      if (skipping) {
        skipping = false; // bytes up to firstNl end the oversized line: dropped
        bodyStart = firstNl + 1;
      } else if (pending.length > 0) {
        // Complete the line that began in earlier chunks, then go on with the rest of this one.
        pending.push(data.subarray(0, firstNl + 1));
        this.processChunk(Buffer.concat(pending), needles, parser, out);
        bodyStart = firstNl + 1;
      }
      pending = [];
      pendingBytes = 0;
      const lastNl = data.lastIndexOf(NEWLINE);
      if (lastNl + 1 > bodyStart) this.processChunk(data.subarray(bodyStart, lastNl + 1), needles, parser, out);
      consumed = chunkStart + lastNl + 1;
      if (lastNl + 1 < data.length) {
        pending = [Buffer.from(data.subarray(lastNl + 1))];
        pendingBytes = data.length - lastNl - 1;
      }
    }
    out.cursor.offset = consumed;
  }

  /** Parses the lines of `data` (which ends at a line boundary) that contain a needle. */
  private processChunk(data: Buffer, needles: readonly Buffer[], parser: LineParser, out: ReadResult): void {
    for (const [lineStart, lineEnd] of candidateLines(data, needles)) {
      if (lineEnd - lineStart > this.maxLineBytes) {
        out.oversizedLines++;
        continue;
      }
      let endNoCr = lineEnd;
      if (endNoCr > lineStart && data[endNoCr - 1] === 0x0d) endNoCr--;
      const text = data.toString('utf8', lineStart, endNoCr);
      try {
        const events = parser.parseLine(text);
        for (const e of events) out.events.push(e);
      } catch (err) {
        out.malformedLines++;
        out.firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  }
}

/** [start, end) of each distinct line (end excludes the newline) containing any needle, in file order. */
export function candidateLines(data: Buffer, needles: readonly Buffer[]): Array<[number, number]> {
  const lines: Array<[number, number]> = [];
  for (const needle of needles) {
    let from = 0;
    while (from < data.length) {
      const hit = data.indexOf(needle, from);
      if (hit < 0) break;
      const lineStart = data.lastIndexOf(NEWLINE, hit) + 1;
      let lineEnd = data.indexOf(NEWLINE, hit + needle.length);
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

async function readHead(handle: import('node:fs/promises').FileHandle, n: number): Promise<string> {
  if (n === 0) return '';
  const buf = Buffer.alloc(n);
  const { bytesRead } = await handle.read(buf, 0, n, 0);
  return buf.toString('hex', 0, bytesRead);
}

/** A file was replaced or truncated when it shrank below what was read, its inode changed, or its first bytes differ. */
function isReplaced(cursor: FileCursor, size: number, ino: number, head: string): boolean {
  if (size < cursor.offset) return true;
  if (cursor.ino !== 0 && ino !== 0 && cursor.ino !== ino) return true;
  const n = Math.min(cursor.head.length, head.length);
  return cursor.head.slice(0, n) !== head.slice(0, n);
}
