import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import fc from 'fast-check';
import type { UsageEvent } from '../../src/core/events';
import type { LineParser } from '../../src/sources/source';
import { toNeedles } from '../../src/sources/needle';
import { candidateLines, type FileCursor, Tailer } from '../../src/sources/tailer';
import { parseTime } from '../../src/sources/json';
import { asUsage, tempDir, tokens, writeFile } from './helpers';

/** A minimal parser: lines like {"k":"a","n":5} become one event each. */
class NumberParser implements LineParser {
  parseLine(line: string): UsageEvent[] {
    const r = JSON.parse(line) as { k: string; n: number };
    return [{ agent: 'claude-code', key: r.k, sessionId: 's', project: '', model: 'm', timestamp: 0, tokens: tokens({ output: r.n }), file: 'f' }];
  }
}

const NEEDLES = toNeedles(['"k"']);

async function readAll(tailer: Tailer, file: string, cursor?: FileCursor) {
  const parser = new NumberParser();
  return tailer.read(file, NEEDLES, () => parser, cursor);
}

function sumOutput(events: UsageEvent[]): number {
  return events.reduce((s, e) => s + e.tokens.output, 0);
}

describe('tailer', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('leaves an incomplete last line for the next read and completes it after an append', async () => {
    const file = writeFile(path.join(dir, 'a.jsonl'), '{"k":"a","n":1}\n{"k":"b","n"');
    const tailer = new Tailer(fsp);
    const first = await readAll(tailer, file);
    assert.deepEqual(first.events.map((e) => e.key), ['a']);
    assert.equal(first.cursor.offset, '{"k":"a","n":1}\n'.length);
    fs.appendFileSync(file, ':2}\n{"k":"c","n":3}\n');
    const second = await readAll(tailer, file, first.cursor);
    assert.deepEqual(second.events.map((e) => e.key), ['b', 'c']);
    assert.equal(second.restarted, false);
    assert.equal(second.cursor.offset, fs.statSync(file).size);
    // nothing new: nothing read
    const third = await readAll(tailer, file, second.cursor);
    assert.equal(third.events.length, 0);
    assert.equal(third.bytesRead, 0);
  });

  it('re-reads a file from the start when it shrank or was replaced', async () => {
    const file = writeFile(path.join(dir, 'a.jsonl'), '{"k":"a","n":1}\n{"k":"b","n":2}\n');
    const tailer = new Tailer(fsp);
    const first = await readAll(tailer, file);
    fs.writeFileSync(file, '{"k":"x","n":9}\n'); // shorter
    const second = await readAll(tailer, file, first.cursor);
    assert.equal(second.restarted, true);
    assert.deepEqual(second.events.map((e) => e.key), ['x']);
    // same length, different first bytes
    fs.writeFileSync(file, '{"k":"y","n":8}\n');
    const third = await readAll(tailer, file, second.cursor);
    assert.equal(third.restarted, true);
    assert.deepEqual(third.events.map((e) => e.key), ['y']);
  });

  it('re-reads a file rewritten in place whose first line changed length past the head fingerprint', async () => {
    const pad = 'x'.repeat(100); // the change lies beyond the 64-byte head fingerprint
    const file = writeFile(path.join(dir, 'a.jsonl'), `{"k":"a","pad":"${pad}","n":1}\n`);
    const tailer = new Tailer(fsp);
    const first = await readAll(tailer, file);
    fs.writeFileSync(file, `{"k":"a","pad":"${pad}","n":10}\n{"k":"b","n":2}\n`); // same inode, one byte longer, then a new line
    const second = await readAll(tailer, file, first.cursor);
    assert.equal(second.restarted, true);
    assert.deepEqual(second.events.map((e) => [e.key, asUsage(e).tokens.output]), [['a', 10], ['b', 2]]);
    assert.equal(second.malformedLines, 0);
  });

  it('counts and skips malformed lines, keeping every good line', async () => {
    const file = writeFile(path.join(dir, 'a.jsonl'), '{"k":"a","n":1}\n{"k":"b",\u0000\u0001 garbage\n{"k":"c","n":3}\n\n');
    const r = await readAll(new Tailer(fsp), file);
    assert.deepEqual(r.events.map((e) => e.key), ['a', 'c']);
    assert.equal(r.malformedLines, 1);
    assert.ok(r.firstError);
  });

  it('skips lines without a needle without parsing them (10 MB tool output line)', async () => {
    const big = JSON.stringify({ type: 'user', text: 'x'.repeat(10 * 1024 * 1024) });
    const file = writeFile(path.join(dir, 'a.jsonl'), `{"k":"a","n":1}\n${big}\n{"k":"b","n":2}\n`);
    const r = await readAll(new Tailer(fsp, { chunkBytes: 64 * 1024 }), file);
    assert.deepEqual(r.events.map((e) => e.key), ['a', 'b']);
    assert.equal(r.malformedLines, 0);
  });

  it('parses a 10 MB line that does carry usage, across many small chunks', async () => {
    const big = JSON.stringify({ k: 'big', n: 7, pad: 'y'.repeat(10 * 1024 * 1024) });
    const file = writeFile(path.join(dir, 'a.jsonl'), `${big}\n{"k":"b","n":2}\n`);
    const r = await readAll(new Tailer(fsp, { chunkBytes: 64 * 1024 }), file);
    assert.deepEqual(r.events.map((e) => [e.key, asUsage(e).tokens.output]), [['big', 7], ['b', 2]]);
  });

  it('skips a line over the size limit without holding it, and reads on after it', async () => {
    const big = JSON.stringify({ k: 'big', n: 7, pad: 'z'.repeat(3 * 1024 * 1024) });
    const file = writeFile(path.join(dir, 'a.jsonl'), `{"k":"a","n":1}\n${big}\n{"k":"b","n":2}\n`);
    const r = await readAll(new Tailer(fsp, { chunkBytes: 64 * 1024, maxLineBytes: 1024 * 1024 }), file);
    assert.deepEqual(r.events.map((e) => e.key), ['a', 'b']);
    assert.equal(r.oversizedLines, 1);
    assert.equal(r.cursor.offset, fs.statSync(file).size);
  });

  it('handles CRLF line ends', async () => {
    const file = writeFile(path.join(dir, 'a.jsonl'), '{"k":"a","n":1}\r\n{"k":"b","n":2}\r\n');
    const r = await readAll(new Tailer(fsp), file);
    assert.equal(r.malformedLines, 0);
    assert.equal(sumOutput(r.events.map(asUsage)), 3);
  });

  it('finds each candidate line once, in file order, with several needles', () => {
    const buf = Buffer.from('x "a" "b"\nnone\n"b" only\n"a"\n');
    const lines = candidateLines(buf, toNeedles(['"a"', '"b"']));
    assert.deepEqual(lines.map(([s, e]) => buf.toString('utf8', s, e)), ['x "a" "b"', '"b" only', '"a"']);
  });

  it('property: any split of a file into appends yields the same events as reading it whole', async () => {
    // usage lines ({"k":…}) mixed with long lines without the needle, read in tiny chunks
    const lineArb = fc.oneof(
      fc.record({ k: fc.string({ minLength: 1, maxLength: 6 }), n: fc.nat(1000), pad: fc.string({ maxLength: 300 }) }),
      fc.record({ noise: fc.string({ maxLength: 500 }).filter((s) => !s.includes('k')) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(lineArb, { minLength: 1, maxLength: 25 }), fc.array(fc.nat(), { maxLength: 8 }), fc.integer({ min: 7, max: 200 }),
        async (records, cutSeeds, chunkBytes) => {
          const content = Buffer.from(records.map((r) => JSON.stringify(r) + '\n').join(''));
          const cuts = [...new Set(cutSeeds.map((c) => c % (content.length + 1)))].sort((a, b) => a - b);
          const whole = path.join(dir, `whole-${Math.random()}.jsonl`);
          fs.writeFileSync(whole, content);
          const expected = (await readAll(new Tailer(fsp, { chunkBytes }), whole)).events.map((e) => `${e.key}=${asUsage(e).tokens.output}`);
          const grown = path.join(dir, `grown-${Math.random()}.jsonl`);
          fs.writeFileSync(grown, '');
          const tailer = new Tailer(fsp, { chunkBytes });
          const parser = new NumberParser();
          let cursor: FileCursor | undefined;
          const got: string[] = [];
          let prev = 0;
          for (const cut of [...cuts, content.length]) {
            fs.appendFileSync(grown, content.subarray(prev, cut));
            prev = cut;
            const r = await tailer.read(grown, NEEDLES, () => parser, cursor);
            assert.equal(r.restarted, false);
            cursor = r.cursor;
            for (const e of r.events) got.push(`${e.key}=${asUsage(e).tokens.output}`);
          }
          assert.deepEqual(got, expected);
          assert.equal(expected.length, records.filter((r) => 'k' in r).length);
        }),
      { numRuns: Number(process.env.FC_RUNS ?? 60) },
    );
  });
});

describe('parseTime', () => {
  it('agrees with Date.parse on the forms agents write and on near misses', () => {
    const samples = [
      '2026-01-01T00:00:00Z', '2026-01-01T00:00:00.1Z', '2026-01-01T00:00:00.12Z', '2026-01-01T00:00:00.123Z',
      '2025-11-13T16:00:16.999999Z', '2026-02-28T23:59:59.5Z', '2024-02-29T12:00:00.000Z', '1999-12-31T23:59:59.000000001Z',
      '2026-04-31T00:00:00Z', '2026-13-01T00:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T00:60:00Z', '2026-01-01T00:00:00.Z',
      '2026-01-01T00:00:00+02:00', '2026-01-01T00:00:00.123+05:30', '2026-01-01 00:00:00Z', '2026-1-01T00:00:00Z', 'x026-01-01T00:00:00Z',
      '2026-01-01T00:00:00.12aZ', '', 'garbage',
      // runs of one day (the parsed day is reused), valid and not
      '2026-04-30T23:00:00Z', '2026-04-30T23:00:01.5Z', '2026-04-31T00:00:00Z', '2026-04-31T01:00:00Z', '2026-04-30T23:59:59Z', '2026-04-30T24:00:00Z',
    ];
    for (const s of samples) {
      const expected = Date.parse(s);
      assert.equal(parseTime(s), Number.isNaN(expected) ? undefined : expected, s);
    }
    assert.equal(parseTime(1234), undefined);
    assert.equal(parseTime('0050-01-01T00:00:00Z'), Date.parse('0050-01-01T00:00:00Z'), 'two-digit years are not Date.UTC\'s 19xx');
    fc.assert(fc.property(fc.date({ min: new Date(Date.UTC(100, 0, 1)), max: new Date(Date.UTC(9999, 11, 31)), noInvalidDate: true }), fc.integer({ min: 0, max: 9 }), (d, frac) => {
      const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
      const s = frac === 0 ? iso.slice(0, 19) + 'Z' : iso.slice(0, 19) + '.' + (iso.slice(20, 23) + '123456').slice(0, frac) + 'Z';
      assert.equal(parseTime(s), Date.parse(s), s);
    }), { numRuns: 2000 });
  });
});
