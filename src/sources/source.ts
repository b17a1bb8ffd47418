/**
 * The one interface every agent adapter implements. Adapters know where an agent
 * keeps its logs and how to turn one log line into usage events; the tailer owns
 * all file I/O (offsets, partial lines, truncation), so adapters stay pure.
 */
import type { AgentId, SourceEvent } from '../core/events';

/** Environment a source resolves its default locations from (injected, never read globally). */
export interface SourceEnv {
  /** Environment variables (e.g. process.env). */
  env: Readonly<Record<string, string | undefined>>;
  /** The user's home folder. */
  home: string;
  platform: NodeJS.Platform;
}

/** The part of node:fs/promises the sources use; injected so tests can fake failures. */
export interface SourceFs {
  readdir(path: string, opts: { withFileTypes: true }): Promise<import('node:fs').Dirent[]>;
  stat(path: string): Promise<import('node:fs').Stats>;
  open(path: string, flags: 'r'): Promise<ReadHandle>;
  /**
   * A stat that returns at once (the CLI's, which has no UI thread to keep responsive): lets a
   * scan pass over unchanged files without a promise each. Throws like `stat`.
   */
  statNow?(path: string): { size: number; mtimeMs: number; ino: number };
}

/** What the sources do with an open file (a `FileHandle` of node:fs/promises is one). */
export interface ReadHandle {
  stat(): Promise<{ size: number; mtimeMs: number; ino: number }>;
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  readFile(): Promise<Buffer>;
  readFile(encoding: 'utf8'): Promise<string>;
  close(): Promise<void>;
}

/** Parses the lines of ONE file, in order. May keep state between lines (and between reads). */
export interface LineParser {
  /** One complete line, without its newline. Returns the usage events it carries (often none). Throws on malformed input. */
  parseLine(line: string): SourceEvent[];
  /**
   * Optional fast path over the raw bytes of one line (`buf[start, end)`, no newline):
   * lets a parser skip decoding parts it does not need (e.g. Claude Code's content blocks).
   * Must give the same result as `parseLine` on the decoded line.
   */
  parseBytes?(buf: Buffer, start: number, end: number): SourceEvent[];
  /**
   * Called after each read of the file: drops what only speeds up reading many lines (the
   * parser lives as long as its file is tracked, which in the editor is the whole session).
   */
  readDone?(): void;
  /**
   * Plain JSON-able state to persist with the file's offset, so that after a restart the
   * file is read on from where it was (`Source.createParser(file, state)` restores it).
   * A parser without it has its file re-read from the start after a restart.
   */
  saveState?(): unknown;
}

/**
 * Parses a whole file that the agent rewrites in place (a JSON document such as Cline's
 * ui_messages.json or Gemini CLI's legacy session .json). Called with the full content
 * each time the file changes; must return every usage event in it, keyed stably, so the
 * ledger's dedup makes re-reading harmless. Throws when the content is incomplete or
 * malformed (e.g. caught mid-write): the scanner keeps what it had and tries again on
 * the next change.
 */
export type DocumentParser = (file: string, content: Buffer) => SourceEvent[];

export interface DiscoveredFile {
  path: string;
  /** Folder to watch for this file's changes. */
  root: string;
}

export interface DiscoveryResult {
  files: DiscoveredFile[];
  /** Root folders that exist (to watch), whether or not they hold files yet. */
  roots: string[];
  /** Folders that exist but could not be read, with the reason. */
  problems: { path: string; message: string }[];
}

export interface Source {
  readonly agent: AgentId;
  /**
   * Byte strings of which a relevant line contains at least one; any other line is
   * skipped without decoding or JSON parsing (most bytes in agent logs are tool output).
   */
  readonly needles: readonly string[];
  /** Every log file currently on disk, from every default and configured location. */
  discover(): Promise<DiscoveryResult>;
  /** A parser for one append-only (line) file: fresh, or restored from `saveState()`'s output. */
  createParser(file: string, state?: unknown): LineParser;
  /**
   * For sources with files rewritten in place: which files are documents (read whole on
   * every change) rather than append-only lines. Absent: every file is read as lines.
   */
  isDocument?(file: string): boolean;
  parseDocument?: DocumentParser;
  /**
   * Documents the source opens itself by path (a database): the scanner only stats them
   * for changes and passes an empty buffer instead of reading them whole.
   */
  opensItself?(file: string): boolean;
  /**
   * Each reading of one of its documents is the whole truth for that file: requests read
   * from it before that are no longer in it are dropped. For agents that fold removed
   * requests into an aggregate entry (Cline's checkpoint restore); not for agents whose
   * rewinds drop messages that were billed all the same (Gemini CLI).
   */
  replacesOnReread?: boolean;
}

/**
 * A parser state as the index holds it, parsed when its file is read again (most never are) and
 * written back as it is when it was not. Damaged JSON reads as no state: the file's parser then
 * starts afresh at the saved position.
 */
export class SavedParserState {
  private text: string | (() => string);
  /** The JSON, or how to get it (an index read in part reads a state only for a file read again). */
  constructor(json: string | (() => string)) {
    this.text = json;
  }
  get json(): string {
    if (typeof this.text !== 'string') this.text = this.text();
    return this.text;
  }
  value(): unknown {
    try {
      return JSON.parse(this.json) as unknown;
    } catch {
      return undefined;
    }
  }
  /** Serialises as the state itself. */
  toJSON(): unknown {
    return this.value();
  }
}

/** A parser state, whichever form it is in. */
export function parserStateValue(state: unknown): unknown {
  return state instanceof SavedParserState ? state.value() : state;
}
