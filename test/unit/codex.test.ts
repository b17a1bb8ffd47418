import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageEventSchema, type UsageEvent } from '../../src/core/events';
import { CodexSource } from '../../src/sources/codex';
import type { SourceEnv, SourceFs } from '../../src/sources/source';
import { asUsage, usageOnly } from './helpers';

// ---------------------------------------------------------------------------------------------
// helpers

const realFs: SourceFs = {
  readdir: (p, o) => fsp.readdir(p, o),
  stat: (p) => fsp.stat(p),
  open: (p, f) => fsp.open(p, f),
};

const tmpDirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-spend-codex-'));
  tmpDirs.push(d);
  return d;
}
after(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

function envFor(home: string, vars: Record<string, string | undefined> = {}): SourceEnv {
  return { env: vars, home, platform: process.platform };
}

type Rec = Record<string, unknown>;

function writeFile(file: string, records: (Rec | string)[]): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n');
  return file;
}

/** Reads a file the way the tailer does: split on \n, only lines holding a needle, one parser per file. */
function parseFile(source: CodexSource, file: string): UsageEvent[] {
  const parser = source.createParser(file);
  const out: UsageEvent[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!source.needles.some((n) => line.includes(n))) continue;
    out.push(...usageOnly(parser.parseLine(line)));
  }
  return out;
}

/** Ledger-like dedup: one event per key, the copy with the largest output wins. */
function dedup(events: UsageEvent[]): Map<string, UsageEvent> {
  const byKey = new Map<string, UsageEvent>();
  for (const e of events) {
    const had = byKey.get(e.key);
    if (!had || e.tokens.output > had.tokens.output) byKey.set(e.key, e);
  }
  return byKey;
}

function sum(events: Iterable<UsageEvent>) {
  const s = { requests: 0, input: 0, cacheRead: 0, output: 0, reasoning: 0, cacheWrite: 0, modelNull: 0 };
  for (const e of events) {
    s.requests++;
    s.input += e.tokens.input;
    s.cacheRead += e.tokens.cacheRead;
    s.output += e.tokens.output;
    s.reasoning += e.tokens.reasoning;
    s.cacheWrite += e.tokens.cacheWrite5m + e.tokens.cacheWrite1h;
    if (e.model === null) s.modelNull++;
  }
  return s;
}

interface U { in: number; cached: number; out: number; reasoning: number }
const u = (i: number, cached: number, out: number, reasoning = 0): U => ({ in: i, cached, out, reasoning });
function usageJson(x: U) {
  return {
    input_tokens: x.in,
    cached_input_tokens: x.cached,
    output_tokens: x.out,
    reasoning_output_tokens: x.reasoning,
    total_tokens: x.in + x.out,
  };
}
const add = (a: U, b: U): U => ({ in: a.in + b.in, cached: a.cached + b.cached, out: a.out + b.out, reasoning: a.reasoning + b.reasoning });
const ZERO_U = u(0, 0, 0, 0);

let clock = Date.parse('2025-11-12T10:00:00.000Z');
function ts(): string {
  clock += 1000;
  return new Date(clock).toISOString();
}

function meta(id: string, cwd = '/work/proj', branch?: string, extra: Rec = {}): Rec {
  const payload: Rec = { id, timestamp: ts(), cwd, originator: 'codex_cli_rs', cli_version: '0.57.0', ...extra };
  if (branch !== undefined) payload.git = { commit_hash: 'abc', branch, repository_url: 'git@example.com:x.git' };
  return { timestamp: ts(), type: 'session_meta', payload };
}
function turnContext(model: string | undefined, cwd = '/work/proj'): Rec {
  const payload: Rec = { cwd, approval_policy: 'on-request', effort: 'high' };
  if (model !== undefined) payload.model = model;
  return { timestamp: ts(), type: 'turn_context', payload };
}
function tokenCount(total: U, last: U, timestamp = ts()): Rec {
  return {
    timestamp,
    type: 'event_msg',
    payload: {
      type: 'token_count',
      info: { total_token_usage: usageJson(total), last_token_usage: usageJson(last), model_context_window: 272000 },
      rate_limits: { primary: { used_percent: 5, window_minutes: 300, resets_at: 1763483205 } },
    },
  };
}
function infoNull(): Rec {
  return {
    timestamp: ts(),
    type: 'event_msg',
    payload: { type: 'token_count', info: null, rate_limits: { primary: { used_percent: 7, window_minutes: 300 } } },
  };
}
function noise(): Rec {
  return { timestamp: ts(), type: 'response_item', payload: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'hi' }] } };
}

/** token_count records for consecutive calls, starting from `start` totals (returned: records + end totals). */
function calls(list: U[], start: U = ZERO_U, opts: { twice?: boolean } = {}): { recs: Rec[]; end: U } {
  const recs: Rec[] = [];
  let total = start;
  for (const c of list) {
    total = add(total, c);
    recs.push(noise(), tokenCount(total, c));
    if (opts.twice) recs.push(tokenCount(total, c));
  }
  return { recs, end: total };
}

const rolloutName = (id: string) => `rollout-2025-11-12T10-00-00-${id}.jsonl`;
const ID_A = '019a7ae6-1945-7c63-98f2-210adb922af9';
const ID_B = '019a7fa9-a846-7393-8d7a-9997d08b0096';
const ID_P = '9cd28a74-da7e-4458-a91a-fffec2be9d7a';
const ID_C = '613a9a68-8816-40b2-a2d4-041ade599da6';
const ID_C2 = '7e1f0c1a-1111-4222-8333-944455556666';

// ---------------------------------------------------------------------------------------------

describe('CodexSource', () => {
  const source = () => new CodexSource(envFor(tmp()), realFs);

  describe('parser', () => {
    it('emits one event per call with normalised tokens, key, session, project, branch, model and time', () => {
      const dir = tmp();
      const c1 = u(10_000, 4_000, 500, 300);
      const c2 = u(12_000, 9_000, 200, 0);
      const t1 = '2025-11-12T10:00:05.123Z';
      const t2 = '2025-11-12T10:00:09.456Z';
      const file = writeFile(path.join(dir, rolloutName(ID_A)), [
        meta(ID_A, '/home/me/app', 'feature/x'),
        turnContext('gpt-5-codex', '/home/me/app'),
        noise(),
        tokenCount(c1, c1, t1),
        tokenCount(add(c1, c2), c2, t2),
      ]);
      const s = source();
      const events = parseFile(s, file);
      assert.equal(events.length, 2);
      for (const e of events) UsageEventSchema.parse(e);
      assert.deepEqual(events[0], {
        agent: 'codex',
        key: `codex:${ID_A}:0:10000/4000/500/300/10500`,
        sessionId: ID_A,
        project: '/home/me/app',
        branch: 'feature/x',
        model: 'gpt-5-codex',
        timestamp: Date.parse(t1),
        tokens: { input: 6_000, output: 500, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 4_000, reasoning: 300 },
        file,
      });
      assert.deepEqual(events[1]!.tokens, { input: 3_000, output: 200, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 9_000, reasoning: 0 });
      assert.equal(events[1]!.timestamp, Date.parse(t2));
      assert.equal(events[1]!.key, `codex:${ID_A}:0:22000/13000/700/300/22700`);
      assert.equal(s.agent, 'codex');
    });

    it('counts the delta of the cumulative totals, not last_token_usage, while totals grow', () => {
      const p = source().createParser('/x/' + rolloutName(ID_A));
      p.parseLine(JSON.stringify(meta(ID_A)));
      const first = p.parseLine(JSON.stringify(tokenCount(u(100, 0, 10), u(100, 0, 10))));
      // last_token_usage disagrees with the totals' difference: the totals win
      const second = p.parseLine(JSON.stringify(tokenCount(u(300, 50, 30), u(999, 999, 999))));
      assert.deepEqual(asUsage(first[0]).tokens, { input: 100, output: 10, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 0, reasoning: 0 });
      assert.deepEqual(asUsage(second[0]).tokens, { input: 150, output: 20, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 50, reasoning: 0 });
    });

    it('emits nothing for repeated identical totals (0.55+ writes every token_count twice)', () => {
      const dir = tmp();
      const { recs } = calls([u(1000, 0, 50), u(1200, 900, 60, 10), u(1300, 1100, 70)], ZERO_U, { twice: true });
      const file = writeFile(path.join(dir, rolloutName(ID_A)), [meta(ID_A), turnContext('gpt-5.1-codex'), ...recs]);
      const events = parseFile(source(), file);
      assert.equal(recs.filter((r) => r.type === 'event_msg').length, 6);
      assert.equal(events.length, 3);
      assert.deepEqual(sum(events), { requests: 3, input: 1000 + 300 + 200, cacheRead: 2000, output: 180, reasoning: 10, cacheWrite: 0, modelNull: 0 });
      assert.equal(new Set(events.map((e) => e.key)).size, 3);
    });

    it('ignores info:null events (rate limits only) and a rollout with only session_meta or only info:null', () => {
      const dir = tmp();
      const s = source();
      const onlyMeta = writeFile(path.join(dir, 'a', rolloutName(ID_A)), [meta(ID_A), noise()]);
      const onlyNull = writeFile(path.join(dir, 'b', rolloutName(ID_B)), [meta(ID_B), turnContext('gpt-5.4'), infoNull(), noise(), infoNull()]);
      assert.deepEqual(parseFile(s, onlyMeta), []);
      assert.deepEqual(parseFile(s, onlyNull), []);
      const c = u(500, 100, 20);
      const mixed = writeFile(path.join(dir, 'c', rolloutName(ID_A)), [meta(ID_A), infoNull(), tokenCount(c, c), infoNull(), tokenCount(c, c)]);
      assert.equal(parseFile(s, mixed).length, 1);
    });

    it('on totals going down (resume inside the same file) uses last_token_usage and continues from the new totals', () => {
      const dir = tmp();
      const before = calls([u(50_000, 40_000, 300), u(60_000, 55_000, 200)]);
      // resumed 3 h later: totals restart; the first new call equals last_token_usage
      const after1 = u(59_970, 3_072, 53);
      const after2 = u(61_000, 59_000, 100, 20);
      const file = writeFile(path.join(dir, rolloutName(ID_A)), [
        meta(ID_A),
        turnContext('gpt-5-codex'),
        ...before.recs,
        turnContext('gpt-5-codex'),
        tokenCount(after1, after1),
        tokenCount(after1, after1),
        tokenCount(add(after1, after2), after2),
      ]);
      const events = parseFile(source(), file);
      assert.equal(events.length, 4);
      assert.deepEqual(events[2]!.tokens, { input: 56_898, output: 53, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 3_072, reasoning: 0 });
      assert.deepEqual(events[3]!.tokens, { input: 2_000, output: 100, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 59_000, reasoning: 20 });
      assert.equal(new Set(events.map((e) => e.key)).size, 4);
      assert.ok(events[2]!.key.startsWith(`codex:${ID_A}:1:`), events[2]!.key);
    });

    it('never reuses a key when totals after a restart repeat totals from before it', () => {
      const c = u(1000, 0, 10);
      const file = writeFile(path.join(tmp(), rolloutName(ID_A)), [
        meta(ID_A),
        tokenCount(c, c),
        tokenCount(add(c, c), c),
        tokenCount(c, c), // restart (down) to exactly the first call's totals: a different call
        tokenCount(add(c, c), c),
      ]);
      const events = parseFile(source(), file);
      assert.equal(events.length, 4);
      assert.equal(dedup(events).size, 4);
      assert.equal(sum(events).input, 4000);
    });

    it('detects a restart whose first call is bigger than everything before it (total == last, != prev + last)', () => {
      const small = u(100, 0, 5);
      const big = u(50_000, 1_000, 400);
      const file = writeFile(path.join(tmp(), rolloutName(ID_A)), [meta(ID_A), tokenCount(small, small), tokenCount(big, big)]);
      const events = parseFile(source(), file);
      assert.equal(events.length, 2);
      assert.deepEqual(events[1]!.tokens, { input: 49_000, output: 400, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 1_000, reasoning: 0 });
      assert.ok(events[1]!.key.includes(':1:'));
    });

    it('gives model null when no turn_context was written (CLI 0.34) and follows the latest turn_context after', () => {
      const c1 = u(100, 0, 1);
      const c2 = u(200, 0, 2);
      const c3 = u(300, 0, 3);
      const file = writeFile(path.join(tmp(), rolloutName(ID_A)), [
        meta(ID_A, '/start'),
        tokenCount(c1, c1),
        turnContext('gpt-5-codex', '/moved'),
        tokenCount(add(c1, c2), c2),
        turnContext('gpt-5.1-codex-max', '/moved/again'),
        tokenCount(add(add(c1, c2), c3), c3),
      ]);
      const events = parseFile(source(), file);
      assert.deepEqual(events.map((e) => e.model), [null, 'gpt-5-codex', 'gpt-5.1-codex-max']);
      assert.deepEqual(events.map((e) => e.project), ['/start', '/moved', '/moved/again']);
    });

    it('throws on malformed JSON and ignores unknown record types, unknown fields and non-object lines', () => {
      const p = source().createParser('/x/' + rolloutName(ID_A));
      assert.throws(() => p.parseLine('{"type":"token_count", broken'));
      assert.throws(() => p.parseLine('{"timestamp":"2025-11-12T10:00:00Z","type":"event_msg","payload":{"type":"token_count"'));
      assert.deepEqual(p.parseLine('null'), []);
      assert.deepEqual(p.parseLine('["token_count"]'), []);
      assert.deepEqual(p.parseLine('"\\"token_count\\""'), []);
      assert.deepEqual(p.parseLine(JSON.stringify({ type: 'compacted', payload: { message: '"token_count"' } })), []);
      // token_count outside event_msg, and token_count with an unusable usage object
      assert.deepEqual(p.parseLine(JSON.stringify({ timestamp: ts(), type: 'response_item', payload: { type: 'token_count', info: { total_token_usage: usageJson(u(1, 0, 1)) } } })), []);
      assert.deepEqual(p.parseLine(JSON.stringify({ timestamp: ts(), type: 'event_msg', payload: { type: 'token_count', info: { total_token_usage: 'lots' } } })), []);
      assert.deepEqual(p.parseLine(JSON.stringify({ timestamp: ts(), type: 'event_msg', payload: { type: 'token_count', info: {} } })), []);
      // the parser still works after errors, with unknown fields around
      const c = u(10, 0, 1);
      const rec = tokenCount(c, c) as { payload: Rec };
      rec.payload.extra = { anything: [1, 2, 3] };
      const events = p.parseLine(JSON.stringify({ ...rec, newTopLevel: true }));
      assert.equal(events.length, 1);
      UsageEventSchema.parse(events[0]);
    });

    it('keeps state between calls: feeding lines one at a time equals feeding the file; a fresh parser gives the same keys', () => {
      const { recs } = calls([u(10, 0, 1), u(20, 5, 2), u(30, 10, 3)], ZERO_U, { twice: true });
      const file = writeFile(path.join(tmp(), rolloutName(ID_A)), [meta(ID_A), turnContext('gpt-5-codex'), ...recs]);
      const s = source();
      const once = parseFile(s, file);
      const again = parseFile(s, file); // after truncation the tailer re-reads from 0 with a fresh parser
      assert.deepEqual(again, once);
      assert.equal(dedup([...once, ...again]).size, 3);
    });

    it('needles select exactly the lines that matter', () => {
      const s = source();
      // (plus the apply_patch needles of the edits reader, on by default)
      assert.deepEqual([...s.needles].sort(), ['"session_meta"', '"token_count"', '"turn_context"', '"user_message"', 'Success. Updated the following files', 'apply_patch']);
      const { recs } = calls([u(10, 0, 1), u(20, 5, 2)]);
      const lines = [meta(ID_A), turnContext('m'), ...recs, infoNull()].map((r) => JSON.stringify(r));
      const all: UsageEvent[] = [];
      const parser = s.createParser('f');
      for (const l of lines) all.push(...parser.parseLine(l).map(asUsage));
      assert.deepEqual(parseFile(s, writeFile(path.join(tmp(), 'f'), lines)).map((e) => e.key), all.map((e) => e.key));
      // a message quoting the words (escaped inside a JSON string) does not match any needle
      const quoted = JSON.stringify({ type: 'response_item', payload: { type: 'message', content: '"token_count" "session_meta"' } });
      assert.ok(!s.needles.some((n) => quoted.includes(n)));
    });

    it('falls back to the session id in the file name when there is no session_meta', () => {
      const c = u(10, 0, 1);
      const events = parseFile(source(), writeFile(path.join(tmp(), rolloutName(ID_B)), [tokenCount(c, c)]));
      assert.equal(events[0]!.sessionId, ID_B);
      assert.equal(events[0]!.project, '');
      assert.equal(events[0]!.model, null);
    });

    it('takes the parent of a subagent or forked session from session_meta', () => {
      const c = u(10, 0, 1);
      const sub = writeFile(path.join(tmp(), rolloutName(ID_A)), [
        meta(ID_A, '/p', undefined, { source: { subagent: { thread_spawn: { parent_thread_id: ID_P, depth: 1 } } } }),
        tokenCount(c, c),
      ]);
      const fork = writeFile(path.join(tmp(), rolloutName(ID_B)), [meta(ID_B, '/p', undefined, { forked_from_id: ID_P }), tokenCount(c, c)]);
      assert.equal(parseFile(source(), sub)[0]!.parentSessionId, ID_P);
      assert.equal(parseFile(source(), fork)[0]!.parentSessionId, ID_P);
    });
  });

  describe('resumed rollouts (replayed parent with new timestamps)', () => {
    /** A parent file and a resumed child file laid out as CLI 0.36 writes them. */
    function resumedPair(dir: string) {
      const parentCalls = calls([u(9831, 4736, 587, 448), u(10453, 10240, 25), u(11008, 10368, 46), u(11312, 11008, 101, 64)]);
      const parent = writeFile(path.join(dir, '2025/09/16', rolloutName(ID_P)), [
        meta(ID_P, '/Users/me/app', 'master'),
        turnContext('gpt-5-codex', '/Users/me/app'),
        ...parentCalls.recs,
      ]);
      // replay: the same records re-stamped at resume time
      const replayed = parentCalls.recs.map((r) => ({ ...r, timestamp: '2025-09-16T06:12:37.400Z' }));
      const childOwn = calls([u(64350, 4480, 1677, 1408), u(66135, 65792, 1693, 1152)]);
      const child = writeFile(path.join(dir, '2025/09/16', rolloutName(ID_C)), [
        meta(ID_C, '/Users/me/app', 'master'),
        { ...meta(ID_P, '/Users/me/app', 'master'), timestamp: '2025-09-16T06:12:37.389Z' },
        { ...turnContext('gpt-5-codex', '/Users/me/app'), timestamp: '2025-09-16T06:12:37.392Z' },
        ...replayed,
        turnContext('gpt-5-codex', '/Users/me/app'),
        ...childOwn.recs,
      ]);
      return { parent, child, parentEnd: parentCalls.end, childEnd: childOwn.end };
    }

    it('keys replayed calls like the parent file, attributes them to the parent, and the child calls to the child', () => {
      const { parent, child } = resumedPair(tmp());
      const s = source();
      const pe = parseFile(s, parent);
      const ce = parseFile(s, child);
      assert.equal(pe.length, 4);
      assert.equal(ce.length, 6);
      assert.deepEqual(ce.slice(0, 4).map((e) => e.key), pe.map((e) => e.key));
      assert.deepEqual(ce.slice(0, 4).map((e) => e.tokens), pe.map((e) => e.tokens));
      for (const e of ce.slice(0, 4)) {
        assert.equal(e.sessionId, ID_P);
        assert.equal(e.parentSessionId, undefined);
        assert.equal(e.timestamp, Date.parse('2025-09-16T06:12:37.400Z'));
      }
      for (const e of ce.slice(4)) {
        assert.equal(e.sessionId, ID_C);
        assert.equal(e.parentSessionId, ID_P);
        assert.ok(e.key.startsWith(`codex:${ID_C}:0:`));
        assert.equal(e.model, 'gpt-5-codex');
      }
      assert.deepEqual(ce[4]!.tokens, { input: 64350 - 4480, output: 1677, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 4480, reasoning: 1408 });
    });

    it('feeding both files (in either order) to a key dedup counts the parent once', () => {
      const { parent, child, parentEnd, childEnd } = resumedPair(tmp());
      const s = source();
      const expected = {
        requests: 6,
        input: parentEnd.in - parentEnd.cached + childEnd.in - childEnd.cached,
        cacheRead: parentEnd.cached + childEnd.cached,
        output: parentEnd.out + childEnd.out,
        reasoning: parentEnd.reasoning + childEnd.reasoning,
        cacheWrite: 0,
        modelNull: 0,
      };
      assert.deepEqual(sum(dedup([...parseFile(s, parent), ...parseFile(s, child)]).values()), expected);
      assert.deepEqual(sum(dedup([...parseFile(s, child), ...parseFile(s, parent)]).values()), expected);
      // the parent's own totals alone, for the record
      assert.equal(sum(parseFile(s, parent)).output, parentEnd.out);
    });

    it('handles a resume of a resume (child of a child): every call counted once', () => {
      const dir = tmp();
      const { parent, child } = resumedPair(dir);
      const childLines = fs.readFileSync(child, 'utf8').trimEnd().split('\n');
      const own = calls([u(70_000, 69_000, 300, 100)]);
      // C2 = own meta + the whole of C's rollout replayed (which itself holds P's replay) + own calls
      const c2 = writeFile(path.join(dir, '2025/09/17', rolloutName(ID_C2)), [
        meta(ID_C2, '/Users/me/app', 'master'),
        ...childLines,
        turnContext('gpt-5.1-codex'),
        ...own.recs,
      ]);
      const s = source();
      const pe = parseFile(s, parent);
      const ce = parseFile(s, child);
      const c2e = parseFile(s, c2);
      assert.deepEqual(c2e.slice(0, 6).map((e) => e.key), ce.map((e) => e.key));
      assert.deepEqual(c2e.map((e) => e.sessionId), [ID_P, ID_P, ID_P, ID_P, ID_C, ID_C, ID_C2]);
      assert.equal(c2e[6]!.parentSessionId, ID_C);
      assert.equal(c2e[6]!.model, 'gpt-5.1-codex');
      const all = dedup([...c2e, ...pe, ...ce]);
      assert.equal(all.size, 7);
      assert.deepEqual(c2e[6]!.tokens, { input: 1_000, output: 300, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 69_000, reasoning: 100 });
      assert.deepEqual(sum(all.values()), sum([...dedup([...pe, ...ce]).values(), c2e[6]!]));
    });

    it('replayed calls see only the replayed turn_context records, as in the parent file', () => {
      const c = u(100, 0, 10);
      const p = source().createParser('/x/' + rolloutName(ID_C));
      for (const r of [meta(ID_C), turnContext('child-model'), meta(ID_P)]) assert.deepEqual(p.parseLine(JSON.stringify(r)), []);
      const replayed = p.parseLine(JSON.stringify(tokenCount(c, c)));
      assert.equal(asUsage(replayed[0]).model, null); // the parent's own file has no turn_context before it either
      assert.equal(replayed[0]!.sessionId, ID_P);
    });

    it('a session_meta of a session already on the stack ends the replays above it', () => {
      const c = u(100, 0, 10);
      const p = source().createParser('/x/' + rolloutName(ID_C));
      p.parseLine(JSON.stringify(meta(ID_C)));
      p.parseLine(JSON.stringify(meta(ID_P)));
      assert.equal(p.parseLine(JSON.stringify(tokenCount(c, c)))[0]!.sessionId, ID_P);
      p.parseLine(JSON.stringify(meta(ID_C)));
      const own = p.parseLine(JSON.stringify(tokenCount(add(c, c), c)));
      assert.equal(own[0]!.sessionId, ID_C);
      assert.deepEqual(asUsage(own[0]).tokens.input, 200); // first call of C in this file: totals count from zero
    });

    it('a resumed rollout whose parent made no calls: nothing is replayed, child calls still counted once', () => {
      const c = u(100, 0, 10);
      const file = writeFile(path.join(tmp(), rolloutName(ID_C)), [meta(ID_C), meta(ID_P), turnContext('gpt-5-codex'), tokenCount(c, c), tokenCount(add(c, c), c)]);
      const events = parseFile(source(), file);
      assert.equal(events.length, 2);
      assert.equal(sum(events).input, 200);
    });
  });

  describe('discover()', () => {
    function layout(home: string) {
      const f = (rel: string) => writeFile(path.join(home, rel), [meta(ID_A)]);
      return [
        f(`sessions/2025/11/12/${rolloutName(ID_A)}`),
        f(`sessions/2025/11/13/${rolloutName(ID_B)}`),
        f(`archived_sessions/${rolloutName(ID_P)}`),
        f(`archived_sessions/2025/09/16/${rolloutName(ID_C)}`),
      ];
    }

    it('finds rollouts under sessions/ (nested) and archived_sessions/ (flat and nested), nothing else', async () => {
      const home = path.join(tmp(), '.codex');
      const expected = layout(home);
      writeFile(path.join(home, 'history.jsonl'), ['{}']);
      writeFile(path.join(home, 'sessions/2025/11/12/notes.jsonl'), ['{}']);
      writeFile(path.join(home, 'sessions/2025/11/12/rollout-x.json'), ['{}']);
      writeFile(path.join(home, 'log/rollout-elsewhere.jsonl'), ['{}']);
      fs.mkdirSync(path.join(home, 'sessions/2025/11/14/rollout-dir.jsonl'), { recursive: true });
      const s = new CodexSource(envFor(path.dirname(home)), realFs);
      const r = await s.discover();
      assert.deepEqual(r.files.map((f) => f.path).sort(), [...expected].sort());
      assert.deepEqual(r.roots, [path.join(home, 'sessions'), path.join(home, 'archived_sessions')]);
      assert.deepEqual(r.problems, []);
      for (const f of r.files) assert.ok(f.path.startsWith(f.root + path.sep));
      assert.equal(r.files.find((f) => f.path.includes('archived_sessions'))!.root, path.join(home, 'archived_sessions'));
    });

    it('follows symlinked rollout files, skips dangling links', async () => {
      const home = path.join(tmp(), '.codex');
      const target = writeFile(path.join(tmp(), 'elsewhere', rolloutName(ID_A)), [meta(ID_A)]);
      fs.mkdirSync(path.join(home, 'sessions/2025/11/12'), { recursive: true });
      const link = path.join(home, 'sessions/2025/11/12', rolloutName(ID_A));
      fs.symlinkSync(target, link);
      fs.symlinkSync(path.join(home, 'missing.jsonl'), path.join(home, 'sessions/2025/11/12', rolloutName(ID_B)));
      const r = await new CodexSource(envFor(path.dirname(home)), realFs).discover();
      assert.deepEqual(r.files, [{ path: link, root: path.join(home, 'sessions') }]);
      assert.deepEqual(r.problems, []);
    });

    it('defaults to <home>/.codex, then CODEX_HOME, then the settings override wins', async () => {
      const userHome = tmp();
      const def = layout(path.join(userHome, '.codex'));
      const envHome = tmp();
      const envFile = writeFile(path.join(envHome, 'sessions/2026/04/08', rolloutName(ID_B)), [meta(ID_B)]);
      const optHome = tmp();
      const optFile = writeFile(path.join(optHome, 'archived_sessions', rolloutName(ID_C)), [meta(ID_C)]);

      const byDefault = new CodexSource(envFor(userHome), realFs);
      assert.equal(byDefault.home, path.join(userHome, '.codex'));
      assert.equal((await byDefault.discover()).files.length, def.length);

      const emptyVar = new CodexSource(envFor(userHome, { CODEX_HOME: '' }), realFs);
      assert.equal(emptyVar.home, path.join(userHome, '.codex'));

      const byEnv = new CodexSource(envFor(userHome, { CODEX_HOME: envHome }), realFs);
      assert.deepEqual((await byEnv.discover()).files.map((f) => f.path), [envFile]);
      assert.deepEqual((await byEnv.discover()).roots, [path.join(envHome, 'sessions')]);

      const byOpt = new CodexSource(envFor(userHome, { CODEX_HOME: envHome }), realFs, { home: optHome });
      assert.deepEqual((await byOpt.discover()).files.map((f) => f.path), [optFile]);
      assert.deepEqual((await byOpt.discover()).roots, [path.join(optHome, 'archived_sessions')]);

      const tilde = new CodexSource(envFor(userHome), realFs, { home: '~/elsewhere' });
      assert.equal(tilde.home, path.join(userHome, 'elsewhere'));
    });

    it('a missing home or missing folders give nothing, silently', async () => {
      const s = new CodexSource(envFor(path.join(tmp(), 'no-such-user')), realFs);
      assert.deepEqual(await s.discover(), { files: [], roots: [], problems: [] });
      const home = tmp();
      fs.writeFileSync(path.join(home, 'sessions'), 'a file, not a folder');
      assert.deepEqual(await new CodexSource(envFor(home, { CODEX_HOME: home }), realFs).discover(), { files: [], roots: [], problems: [] });
    });

    it('reports an unreadable folder as a problem, keeps everything else, never throws', async () => {
      const home = path.join(tmp(), '.codex');
      const files = layout(home);
      const denied = new Set([path.join(home, 'sessions/2025/11/13'), path.join(home, 'archived_sessions')]);
      const fakeFs: SourceFs = {
        ...realFs,
        readdir: async (p, o) => {
          if (denied.has(p)) {
            throw Object.assign(new Error(`EACCES: permission denied, scandir '${p}'`), { code: 'EACCES', errno: -13, syscall: 'scandir', path: p });
          }
          return realFs.readdir(p, o);
        },
      };
      const r = await new CodexSource(envFor(path.dirname(home)), fakeFs).discover();
      assert.deepEqual(r.files.map((f) => f.path), [files[0]]);
      assert.deepEqual(r.roots, [path.join(home, 'sessions')]);
      assert.deepEqual(r.problems.map((p) => p.path), [...denied].sort());
      for (const p of r.problems) assert.match(p.message, /EACCES/);
    });
  });

  describe('real Codex rollouts (../shared/real-logs/codex)', () => {
    function repoRoot(): string {
      let dir = __dirname;
      while (!fs.existsSync(path.join(dir, 'package.json'))) {
        const up = path.dirname(dir);
        if (up === dir) throw new Error('package.json not found above ' + __dirname);
        dir = up;
      }
      return dir;
    }
    const codexHome = path.resolve(repoRoot(), '..', 'shared', 'real-logs', 'codex');

    before(function () {
      if (!fs.existsSync(codexHome)) this.skip();
    });

    it('matches an independent count of every rollout, deduplicated by key', async () => {
      const s = new CodexSource(envFor(os.homedir(), { CODEX_HOME: codexHome }), realFs);
      const r = await s.discover();
      assert.equal(r.files.length, 13);
      assert.deepEqual(r.roots, [path.join(codexHome, 'sessions')]);
      assert.deepEqual(r.problems, []);

      const events: UsageEvent[] = [];
      const perFile = new Map<string, UsageEvent[]>();
      for (const f of r.files) {
        const ev = parseFile(s, f.path);
        for (const e of ev) UsageEventSchema.parse(e);
        perFile.set(path.basename(f.path), ev);
        events.push(...ev);
      }
      const unique = dedup(events);
      // Expected figures from /tmp/codexcheck/count.py, a separate Python implementation of the
      // FORMATS.md / SOURCES.md rules (written for this test, not derived from this code): it walks
      // sessions/ and archived_sessions/, treats a 2nd session_meta as the start of a parent replay,
      // counts each change of total_token_usage as a call (delta of the totals; last_token_usage on
      // a drop, which also ends a replay), dedups by (session, restart index, totals), and checks
      // that summing last_token_usage over distinct (session, totals) pairs gives the same numbers.
      // Output: {"requests": 1172, "input": 6028405, "cacheRead": 122414464, "output": 540898,
      // "reasoning": 188753, "modelNull": 836} — SOURCES.md also gives 1,172 requests, 836 unknown.
      assert.deepEqual(sum(unique.values()), {
        requests: 1172,
        input: 6_028_405,
        cacheRead: 122_414_464,
        output: 540_898,
        reasoning: 188_753,
        cacheWrite: 0,
        modelNull: 836,
      });
      // by model (same script): gpt-5-codex 251, gpt-5.1-codex 43, gpt-5.4 42, unknown 836
      const byModel = new Map<string | null, number>();
      for (const e of unique.values()) byModel.set(e.model, (byModel.get(e.model) ?? 0) + 1);
      assert.deepEqual(Object.fromEntries([...byModel].map(([m, n]) => [String(m), n])), {
        'gpt-5-codex': 251,
        'gpt-5.1-codex': 43,
        'gpt-5.4': 42,
        null: 836,
      });

      // the resumed 0.36 rollout replays all 56 parent calls under the parent's keys
      const parentFile = [...perFile.keys()].find((k) => k.includes('9cd28a74'))!;
      const childFile = [...perFile.keys()].find((k) => k.includes('613a9a68'))!;
      const parentKeys = new Set(perFile.get(parentFile)!.map((e) => e.key));
      const child = perFile.get(childFile)!;
      assert.equal(parentKeys.size, 56);
      assert.equal(child.length, 69);
      assert.equal(child.filter((e) => parentKeys.has(e.key)).length, 56);
      assert.ok(child.slice(0, 56).every((e) => e.sessionId === '9cd28a74-da7e-4458-a91a-fffec2be9d7a'));
      assert.ok(child.slice(56).every((e) => e.sessionId === '613a9a68-8816-40b2-a2d4-041ade599da6'));
      // no key is produced twice within one file, and keys never collide between files except the replay
      for (const ev of perFile.values()) assert.equal(new Set(ev.map((e) => e.key)).size, ev.length);
      assert.equal(events.length - unique.size, 56);
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('CodexSource: plan limits (rate_limits)', () => {
  type LimitsEvent = import('../../src/core/events').LimitsEvent;
  const withLimits = () => new CodexSource(envFor(tmp()), realFs, { limits: true });
  const limitsOf = (events: readonly unknown[]) => events.filter((e): e is LimitsEvent => (e as { kind?: string }).kind === 'limits');
  function parseAll(source: CodexSource, file: string) {
    const parser = source.createParser(file);
    const out: import('../../src/core/events').SourceEvent[] = [];
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (!source.needles.some((n) => line.includes(n))) continue;
      out.push(...parser.parseLine(line));
    }
    return out;
  }
  const tc = (timestamp: string, rateLimits: unknown, info: unknown = null): Rec => ({ timestamp, type: 'event_msg', payload: { type: 'token_count', info, rate_limits: rateLimits } });

  it('resets_at form: windows by window_minutes, epoch ms, plan type; emitted only when they change; usage still emitted', () => {
    const c = u(100, 0, 10);
    const rl = (p: number) => ({ limit_id: 'codex', limit_name: null, primary: { used_percent: p, window_minutes: 300, resets_at: 1775674998 }, secondary: { used_percent: 1.0, window_minutes: 10080, resets_at: 1776261798 }, credits: null, plan_type: 'plus' });
    const t1 = '2026-04-08T14:19:41.295Z';
    const file = writeFile(path.join(tmp(), rolloutName(ID_A)), [
      meta(ID_A), turnContext('gpt-5-codex'),
      tc(t1, rl(4), { total_token_usage: usageJson(c), last_token_usage: usageJson(c) }),
      tc('2026-04-08T14:19:42.000Z', rl(4), { total_token_usage: usageJson(c), last_token_usage: usageJson(c) }), // repeated: no event
      tc('2026-04-08T14:20:00.000Z', rl(6), null),
    ]);
    const events = parseAll(withLimits(), file);
    assert.equal(usageOnly(events).length, 1);
    const limits = limitsOf(events);
    assert.equal(limits.length, 2);
    assert.deepEqual(limits[0], {
      kind: 'limits', agent: 'codex', key: `codexl:${ID_A}:${Date.parse(t1)}`, sessionId: ID_A, timestamp: Date.parse(t1), file,
      snapshot: {
        agent: 'codex', source: 'logged', observedAt: Date.parse(t1), sessionId: ID_A, planType: 'plus',
        windows: [
          { kind: 'five-hour', usedPercent: 4, windowMinutes: 300, resetsAt: 1775674998_000 },
          { kind: 'weekly', usedPercent: 1, windowMinutes: 10080, resetsAt: 1776261798_000 },
        ],
      },
    });
    assert.equal(limits[1]!.snapshot.windows[0]!.usedPercent, 6);
    // off by default: the existing consumers see no limits events
    assert.equal(limitsOf(parseAll(new CodexSource(envFor(tmp()), realFs), file)).length, 0);
  });

  it('resets_in_seconds form (older CLIs): relative to the event time; info: null events still give limits', () => {
    const t = '2025-09-01T10:00:00.000Z';
    const file = writeFile(path.join(tmp(), rolloutName(ID_B)), [
      meta(ID_B),
      tc(t, { primary: { used_percent: 12.5, window_minutes: 300, resets_in_seconds: 3600 }, secondary: { used_percent: 40, window_minutes: 10080, resets_in_seconds: 86_400 } }),
    ]);
    const [ev] = limitsOf(parseAll(withLimits(), file));
    assert.deepEqual(ev!.snapshot.windows, [
      { kind: 'five-hour', usedPercent: 12.5, windowMinutes: 300, resetsAt: Date.parse(t) + 3_600_000 },
      { kind: 'weekly', usedPercent: 40, windowMinutes: 10080, resetsAt: Date.parse(t) + 86_400_000 },
    ]);
    assert.equal(ev!.snapshot.planType, undefined);
  });

  it('guards every field: kinds without window_minutes, other lengths, bad numbers, absent or empty rate_limits', () => {
    const p = withLimits().createParser('f');
    const line = (t: string, rl: unknown) => limitsOf(p.parseLine(JSON.stringify(tc(t, rl))));
    assert.deepEqual(line('2026-01-01T00:00:01Z', { primary: { used_percent: 5 }, secondary: { used_percent: 6 } })[0]!.snapshot.windows,
      [{ kind: 'five-hour', usedPercent: 5 }, { kind: 'weekly', usedPercent: 6 }]);
    assert.deepEqual(line('2026-01-01T00:00:02Z', { primary: { used_percent: 7, window_minutes: 1440, resets_at: 'soon' }, secondary: { used_percent: '6' } })[0]!.snapshot.windows,
      [{ kind: 'other', usedPercent: 7, windowMinutes: 1440 }]);
    for (const rl of [null, undefined, {}, { primary: null }, { primary: { used_percent: null } }, { credits: { has_credits: true } }, 'x']) {
      assert.deepEqual(line('2026-01-01T00:00:03Z', rl), [], JSON.stringify(rl));
    }
  });

  it('keeps the last limits across saveState/restore (no re-emission); skips limits while a replayed parent is on top', () => {
    const s = withLimits();
    const rl = { primary: { used_percent: 9, window_minutes: 300, resets_at: 1763091446 } };
    const p1 = s.createParser('f');
    p1.parseLine(JSON.stringify(meta(ID_C)));
    assert.equal(limitsOf(p1.parseLine(JSON.stringify(tc(ts(), rl)))).length, 1);
    const p2 = s.createParser('f', JSON.parse(JSON.stringify(p1.saveState!())));
    assert.equal(limitsOf(p2.parseLine(JSON.stringify(tc(ts(), rl)))).length, 0);
    // a resumed rollout replays its parent's token_counts (old figures, new timestamps)
    const p3 = s.createParser('g');
    p3.parseLine(JSON.stringify(meta(ID_C2)));
    p3.parseLine(JSON.stringify(meta(ID_P)));
    const c = u(10, 0, 1);
    const replayed = p3.parseLine(JSON.stringify(tc(ts(), rl, { total_token_usage: usageJson(c), last_token_usage: usageJson(c) })));
    assert.equal(usageOnly(replayed).length, 1);
    assert.equal(limitsOf(replayed).length, 0);
  });

  it('real rollouts: the latest limits event of each file equals the last rate_limits in it (independent scan)', () => {
    const root = path.resolve(__dirname, '../../..', '../shared/real-logs/codex');
    if (!fs.existsSync(root)) return;
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const full = path.join(d, e.name);
        if (e.isDirectory()) walk(full);
        else if (e.name.endsWith('.jsonl') && fs.readFileSync(full, 'utf8').includes('"rate_limits":{')) files.push(full);
      }
    };
    walk(root);
    assert.ok(files.length >= 5, `found ${files.length} files with rate_limits`);
    let checked = 0;
    for (const file of files) {
      // independent: the last token_count line whose rate_limits has a numeric primary used_percent
      let expected: { at: number; primary: Record<string, number>; secondary?: Record<string, number>; plan?: string } | undefined;
      for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        const r = JSON.parse(line) as { timestamp?: string; type?: string; payload?: { type?: string; rate_limits?: { primary?: Record<string, number>; secondary?: Record<string, number>; plan_type?: string } | null } };
        const rl = r.type === 'event_msg' && r.payload?.type === 'token_count' ? r.payload.rate_limits : undefined;
        if (rl && typeof rl.primary?.used_percent === 'number') expected = { at: Date.parse(r.timestamp!), primary: rl.primary, secondary: rl.secondary, plan: rl.plan_type };
      }
      if (!expected) continue;
      const events = limitsOf(parseAll(withLimits(), file));
      const last = events[events.length - 1]!;
      const win = (w: Record<string, number>, kind: string) => ({ kind, usedPercent: w.used_percent, windowMinutes: w.window_minutes, resetsAt: w.resets_at! * 1000 });
      assert.deepEqual(last.snapshot.windows, [win(expected.primary, 'five-hour'), ...(expected.secondary ? [win(expected.secondary, 'weekly')] : [])], file);
      assert.equal(last.snapshot.planType, expected.plan, file);
      assert.ok(last.timestamp <= expected.at, file); // emitted at the first event showing these figures
      // changes only: far fewer events than token_count records, and no two consecutive equal
      for (let i = 1; i < events.length; i++) assert.notDeepEqual(events[i]!.snapshot.windows, events[i - 1]!.snapshot.windows);
      checked++;
    }
    assert.equal(checked, files.length);
  });
});
