import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { SourceEvent } from '../../src/core/events';
import { ClaudeCodeSource } from '../../src/sources/claudeCode';
import { LineTemplate } from '../../src/sources/claudeLineTemplate';
import type { LineParser } from '../../src/sources/source';
import { toNeedles } from '../../src/sources/needle';
import { Tailer } from '../../src/sources/tailer';
import { REAL_LOGS, tempDir, writeFile } from './helpers';

const FILE = '/home/u/.claude/projects/-home-u-proj/0f5c2b9e-1111-4222-8333-444455556666.jsonl';

function parser(): LineParser {
  return new ClaudeCodeSource({ env: {}, home: '/none', platform: 'linux' }, fsp, { templateWarmup: 0 }).createParser(FILE);
}

/** A Claude Code 2.x assistant line as it is written, one content block per line. */
function line(o: { id?: string; req?: string; uuid?: string; parent?: string; ts?: string; output?: number; stop?: string | null; block?: unknown } = {}): string {
  return JSON.stringify({
    parentUuid: o.parent ?? 'a8469cbc-6660-4dc7-8e2f-353165edbb8f', isSidechain: false, userType: 'external', cwd: '/home/u/proj',
    sessionId: '0f5c2b9e-1111-4222-8333-444455556666', version: '2.1.81', gitBranch: 'main', slug: 'crystalline-dancing-clarke',
    message: {
      model: 'claude-sonnet-4-5-20250929', id: o.id ?? 'msg_01TjajyGXVFRlePe5ghCdPop', type: 'message', role: 'assistant',
      content: [o.block ?? { type: 'text', text: 'working on it' }], stop_reason: o.stop === undefined ? null : o.stop, stop_sequence: null,
      usage: { input_tokens: 3, cache_creation_input_tokens: 17885, cache_read_input_tokens: 10306, cache_creation: { ephemeral_5m_input_tokens: 17885, ephemeral_1h_input_tokens: 0 }, output_tokens: o.output ?? 7, service_tier: 'standard' },
    },
    requestId: o.req ?? 'req_011CN0Rv6mCskUQKJTJjeE', type: 'assistant', uuid: o.uuid ?? '96838c42-a229-47c0-a63f-a64d1ae717f3', timestamp: o.ts ?? '2025-11-18T16:53:54.410Z',
  });
}

/** What the parser gave before templates: the line without its content, parsed in full. */
function skeletonOf(text: string): string {
  const at = text.indexOf('"content":[');
  const stop = text.lastIndexOf(',"stop_reason":');
  return at >= 0 && stop > at ? `${text.slice(0, at)}"content":[]${text.slice(stop)}` : text;
}

function outcome(f: () => SourceEvent[]): SourceEvent[] | 'throws' {
  try {
    return f();
  } catch {
    return 'throws';
  }
}

/** Counts the lines read through a template while `f` runs (to its end, when it is async). */
function countingTemplateReads(f: () => void): number;
function countingTemplateReads(f: () => Promise<void>): Promise<number>;
function countingTemplateReads(f: () => void | Promise<void>): number | Promise<number> {
  const read = LineTemplate.prototype.read;
  let n = 0;
  LineTemplate.prototype.read = function (this: LineTemplate, ...args: Parameters<typeof read>) {
    const r = read.apply(this, args);
    if (r !== undefined) n++;
    return r;
  };
  const restore = () => {
    LineTemplate.prototype.read = read;
  };
  let result: void | Promise<void>;
  try {
    result = f();
  } catch (e) {
    restore();
    throw e;
  }
  if (result instanceof Promise) return result.finally(restore).then(() => n);
  restore();
  return n;
}

/** Feeds `first` then `second` through parseBytes, and both to a reference parser in full; returns both results for `second`. */
function afterTemplate(first: string, second: string): { fast: SourceEvent[] | 'throws'; full: SourceEvent[] | 'throws'; viaTemplate: boolean } {
  const fast = parser();
  const full = parser();
  const a = Buffer.from(first);
  fast.parseBytes!(a, 0, a.length);
  full.parseLine(skeletonOf(first));
  const b = Buffer.from(second);
  let result: SourceEvent[] | 'throws' = 'throws';
  const reads = countingTemplateReads(() => {
    result = outcome(() => fast.parseBytes!(b, 0, b.length));
  });
  return { fast: result, full: outcome(() => full.parseLine(skeletonOf(second))), viaTemplate: reads > 0 };
}

describe('Claude Code line templates', () => {
  it('read the next copy of a request from its varying values: more output, new ids, time and stop reason', () => {
    const r = afterTemplate(line(), line({ output: 16, uuid: 'b695fc7f-81a4-43dd-90bd-43cf0c7354a5', parent: '96838c42-a229-47c0-a63f-a64d1ae717f3', ts: '2025-11-18T16:53:59.204Z', stop: 'tool_use' }));
    assert.equal(r.viaTemplate, true);
    assert.deepEqual(r.fast, r.full);
    const ev = (r.fast as SourceEvent[])[0] as { key: string; tokens: { output: number }; timestamp: number };
    assert.equal(ev.key, 'cc:msg_01TjajyGXVFRlePe5ghCdPop:req_011CN0Rv6mCskUQKJTJjeE');
    assert.equal(ev.tokens.output, 16);
    assert.equal(ev.timestamp, Date.parse('2025-11-18T16:53:59.204Z'));
  });

  it('read the next request of the same session (new message and request ids) the same way', () => {
    const r = afterTemplate(line(), line({ id: 'msg_02Other', req: 'req_02Other', output: 400 }));
    assert.equal(r.viaTemplate, true);
    assert.deepEqual(r.fast, r.full);
    assert.equal(((r.fast as SourceEvent[])[0] as { key: string }).key, 'cc:msg_02Other:req_02Other');
  });

  const cases: Array<[string, string, boolean]> = [
    ['another folder', line().replace('"cwd":"/home/u/proj"', '"cwd":"/home/u/other"'), false],
    ['another branch', line().replace('"gitBranch":"main"', '"gitBranch":"feat/x"'), false],
    ['a sidechain line', line().replace('"isSidechain":false', '"isSidechain":true'), false],
    ['an escape in the message id', line().replace('"id":"msg_01TjajyGXVFRlePe5ghCdPop"', '"id":"msg_\\u0041B"'), false],
    ['an empty message id (keyed by uuid)', line().replace('"id":"msg_01TjajyGXVFRlePe5ghCdPop"', '"id":""'), false],
    ['a message id that is not a string', line().replace('"id":"msg_01TjajyGXVFRlePe5ghCdPop"', '"id":42'), false],
    ['a fraction in the usage', line().replace('"output_tokens":7', '"output_tokens":7.5'), false],
    ['an exponent in the usage', line().replace('"output_tokens":7', '"output_tokens":7e2'), false],
    ['a negative count', line().replace('"output_tokens":7', '"output_tokens":-7'), false],
    ['a leading zero (not JSON)', line().replace('"output_tokens":7', '"output_tokens":07'), false],
    ['a huge count', line().replace('"output_tokens":7', '"output_tokens":12345678901234567'), false],
    ['a usage key more', line().replace('"service_tier":"standard"', '"service_tier":"standard","server_tool_use":{"web_search_requests":1}'), false],
    ['a <synthetic> message', line().replace('"model":"claude-sonnet-4-5-20250929"', '"model":"<synthetic>"'), true],
    ['another model', line().replace('"model":"claude-sonnet-4-5-20250929"', '"model":"claude-opus-4-5-20251101"'), true],
    ['a null model', line().replace('"model":"claude-sonnet-4-5-20250929"', '"model":null'), false],
    ['a time with an offset', line({ ts: '2025-11-18T18:53:54.410+02:00' }), true],
    ['a time that does not parse', line({ ts: 'yesterday' }), false],
    ['no request id', line().replace('"requestId":"req_011CN0Rv6mCskUQKJTJjeE",', ''), false],
    ['a stop reason that is a number', line().replace('"stop_reason":null', '"stop_reason":1'), false],
    ['a control byte in the uuid', line().replace('"uuid":"96838c42', '"uuid":"\t96838c42'), false],
    ['a truncated line', line().slice(0, -30), false],
    ['a second record key of the same name', line().replace('"type":"assistant",', '"type":"assistant","requestId":"req_dup",'), false],
  ];
  for (const [what, second, template] of cases) {
    it(`give exactly what a full parse gives for ${what}`, () => {
      const r = afterTemplate(line(), second);
      assert.deepEqual(r.fast, r.full);
      assert.equal(r.viaTemplate, template, template ? 'read through the template' : 'parsed in full');
    });
  }

  it('start after the source\'s warm-up: the first lines of a run are parsed in full', () => {
    const p = new ClaudeCodeSource({ env: {}, home: '/none', platform: 'linux' }, fsp, { templateWarmup: 3 }).createParser(FILE);
    const perLine = [1, 2, 3, 4, 5, 6].map((n) => {
      const b = Buffer.from(line({ output: n }));
      return countingTemplateReads(() => p.parseBytes!(b, 0, b.length));
    });
    // lines 1–3 warm up, line 4 is parsed in full and becomes the template, 5 and 6 are read against it
    assert.deepEqual(perLine, [0, 0, 0, 0, 1, 1]);
  });

  it('are dropped after each read of a file: a parser kept for a whole editor session holds none between reads', async () => {
    const dir = tempDir();
    try {
      const file = writeFile(path.join(dir, 's.jsonl'), [1, 2, 3].map((n) => line({ output: n })).join('\n') + '\n');
      const source = new ClaudeCodeSource({ env: {}, home: '/none', platform: 'linux' }, fsp, { templateWarmup: 0 });
      const tailer = new Tailer(fsp);
      const p = source.createParser(file);
      const needles = toNeedles(source.needles);
      let first: Awaited<ReturnType<Tailer['read']>> | undefined;
      // in one read: line 1 becomes the template, 2 and 3 are read against it
      assert.equal(await countingTemplateReads(async () => {
        first = await tailer.read(file, needles, () => p);
      }), 2);
      fs.appendFileSync(file, [4, 5].map((n) => line({ output: n })).join('\n') + '\n');
      // the next read starts without one: line 4 is parsed in full, 5 is read against it
      assert.equal(await countingTemplateReads(async () => {
        await tailer.read(file, needles, () => p, first!.cursor);
      }), 1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('make no template of a line whose timestamp or usage is given twice', () => {
    const twice = line().replace('"type":"assistant",', '"type":"assistant","timestamp":"2025-11-18T10:00:00.000Z",');
    const r = afterTemplate(twice, twice.replace('"output_tokens":7', '"output_tokens":9'));
    assert.equal(r.viaTemplate, false);
    assert.deepEqual(r.fast, r.full);
  });

  it('give what a full parse gives for any one byte changed outside the content (fuzz)', () => {
    const base = line();
    const contentAt = base.indexOf('"content":[');
    const stopAt = base.lastIndexOf(',"stop_reason":');
    const bytes = '0123456789"\\{}[],:. -aeZ\t\u00e9';
    let seed = 12345;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    let viaTemplate = 0;
    for (let i = 0; i < 3000; i++) {
      const outside = random(contentAt + base.length - stopAt);
      const at = outside < contentAt ? outside : stopAt + (outside - contentAt);
      const changed = base.slice(0, at) + bytes[random(bytes.length)]! + base.slice(at + 1);
      const r = afterTemplate(base, changed);
      assert.deepEqual(r.fast, r.full, `byte ${at} of ${changed}`);
      if (r.viaTemplate) viaTemplate++;
    }
    assert.ok(viaTemplate > 300, `${viaTemplate} of the changed lines read through the template`);
  });

  it('read most usage lines of the real logs, each exactly as a full parse does', async () => {
    const files = (await new ClaudeCodeSource({ env: { CLAUDE_CONFIG_DIR: path.join(REAL_LOGS, 'claude-code') }, home: '/none', platform: 'linux' }, fsp).discover()).files;
    let usageLines = 0;
    const reads = countingTemplateReads(() => {
      for (const { path: file } of files) {
        const buf = fs.readFileSync(file);
        const fast = new ClaudeCodeSource({ env: {}, home: '/none', platform: 'linux' }, fsp, { templateWarmup: 0 }).createParser(file);
        const full = new ClaudeCodeSource({ env: {}, home: '/none', platform: 'linux' }, fsp, { templateWarmup: 0 }).createParser(file);
        for (let start = 0; start < buf.length;) {
          let end = buf.indexOf(10, start);
          if (end < 0) end = buf.length;
          if (buf.subarray(start, end).includes('_tokens"')) {
            usageLines++;
            const text = buf.toString('utf8', start, end);
            assert.deepEqual(outcome(() => fast.parseBytes!(buf, start, end)), outcome(() => full.parseLine(text)), `${file} at byte ${start}`);
            assert.equal((fast as { lastTimestamp?: number }).lastTimestamp, (full as { lastTimestamp?: number }).lastTimestamp);
          }
          start = end + 1;
        }
      }
    });
    assert.ok(usageLines > 3000, `${usageLines} usage lines`);
    // Real transcripts repeat everything but the request's own values 9 lines in 10.
    assert.ok(reads > usageLines * 0.75, `${reads} of ${usageLines} usage lines read through a template`);
  });
});
