import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

import { Ledger } from '../../src/core/ledger';
import { Pricer } from '../../src/core/pricing';
import { GeminiCliSource, geminiTokens } from '../../src/sources/geminiCli';
import { Scanner } from '../../src/sources/scanner';
import type { SourceFs } from '../../src/sources/source';
import { Tailer } from '../../src/sources/tailer';
import { REAL_LOGS, tempDir, tokens, validateEvent, writeFile } from './helpers';

// ---------------------------------------------------------------------------------------------
// helpers: records in the shapes Gemini CLI writes (chatRecordingService.ts)

type Rec = Record<string, unknown>;
interface Tok { input: number; output: number; cached?: number; thoughts?: number; tool?: number }

function tok(t: Tok): Rec {
  const r = { input: t.input, output: t.output, cached: t.cached ?? 0, thoughts: t.thoughts ?? 0, tool: t.tool ?? 0 };
  return { ...r, total: r.input + r.output + r.thoughts + r.tool };
}
function meta(sessionId: string, extra: Rec = {}): Rec {
  return { sessionId, projectHash: 'a'.repeat(64), startTime: '2026-04-25T08:00:00.000Z', lastUpdated: '2026-04-25T08:00:00.000Z', kind: 'main', ...extra };
}
function user(id: string, text: string, timestamp = '2026-04-25T08:00:01.000Z'): Rec {
  return { id, timestamp, type: 'user', content: [{ text }] };
}
function gemini(id: string, t: Tok | null, extra: Rec = {}): Rec {
  return { id, timestamp: '2026-04-25T08:00:02.000Z', type: 'gemini', content: 'ok', thoughts: [], tokens: t ? tok(t) : null, model: 'gemini-2.5-pro', ...extra };
}
const set = (fields: Rec): Rec => ({ $set: fields });
const jsonl = (records: Rec[]): string => records.map((r) => JSON.stringify(r)).join('\n') + '\n';
/** A legacy session document, pretty-printed as Gemini CLI ≤ 0.38 wrote it. */
function legacyDoc(sessionId: string, messages: Rec[], extra: Rec = {}): string {
  return JSON.stringify({ sessionId, projectHash: 'a'.repeat(64), startTime: '2025-09-19T12:19:00.867Z', lastUpdated: '2025-09-19T12:19:15.920Z', messages, ...extra }, null, 2);
}

const S1 = 'e435870b-a192-4f84-bd7e-1ec28e9c2f31';
const S2 = '3494a697-1111-4222-8333-944455556666';
const SUB = 'c737eb36-aaaa-4bbb-8ccc-dddddddddddd';

function scan(geminiDir: string, opts: { fs?: SourceFs } = {}) {
  const ledger = new Ledger(new Pricer());
  const source = new GeminiCliSource({ env: {}, home: '/nonexistent-home', platform: 'linux' }, opts.fs ?? fsp, { home: geminiDir });
  const warnings: string[] = [];
  const scanner = new Scanner([source], new Tailer(opts.fs ?? fsp), (e) => {
    for (const ev of e) validateEvent(ev);
    ledger.addAll(e);
  }, { onWarning: (w) => warnings.push(`${w.kind}:${path.basename(w.path)}`) });
  return { ledger, scanner, source, warnings };
}

const modelCounts = (ledger: Ledger) => Object.fromEntries([...ledger.group('model')].map(([m, t]) => [m, t.requests]));

// ---------------------------------------------------------------------------------------------

describe('Gemini CLI source', () => {
  let dir: string;
  let gem: string;
  beforeEach(() => {
    dir = tempDir('agent-spend-gemini-');
    gem = path.join(dir, '.gemini');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const chats = (project = 'proj') => path.join(gem, 'tmp', project, 'chats');

  describe('token mapping', () => {
    it('input includes cached, output excludes thoughts, tool-use prompt tokens are extra input', () => {
      // total = input + output + thoughts + tool, as Gemini CLI records it
      assert.deepEqual(geminiTokens(tok({ input: 10_000, output: 300, cached: 7_000, thoughts: 1_200, tool: 50 })), tokens({ input: 3_050, output: 1_500, cacheRead: 7_000, reasoning: 1_200 }));
      assert.deepEqual(geminiTokens({ input: 9488, output: 155, cached: 0, thoughts: 1117, tool: 0, total: 10760 }), tokens({ input: 9488, output: 1272, reasoning: 1117 }));
      // older records without thoughts/tool, junk values
      assert.deepEqual(geminiTokens({ input: 100, output: 5, cached: 0, total: 105 }), tokens({ input: 100, output: 5 }));
      assert.deepEqual(geminiTokens({ input: 'x', output: -3, cached: 50 }), tokens({ cacheRead: 50 }));
    });
  });

  describe('JSONL sessions (v0.39+, line mode)', () => {
    it('counts a re-appended message once, with the tokens of the copy that has them, across reads', async () => {
      const file = path.join(chats(), 'session-2026-04-25T08-23-e435870b.jsonl');
      writeFile(file, jsonl([
        meta(S1),
        user('u1', 'hello'),
        set({ lastUpdated: '2026-04-25T08:00:01.000Z' }),
        gemini('g1', null), // written before its usage arrived
      ]));
      const { ledger, scanner } = scan(gem);
      const first = await scanner.scanAll();
      assert.equal(ledger.totals.requests, 0);
      assert.equal(first.events, 0);
      // usage arrives: the message is re-appended whole, then again with its tool calls
      fs.appendFileSync(file, jsonl([
        gemini('g1', { input: 5_000, output: 40, cached: 4_000, thoughts: 60 }),
        set({ lastUpdated: '2026-04-25T08:00:03.000Z' }),
        gemini('g1', { input: 5_000, output: 40, cached: 4_000, thoughts: 60 }, { toolCalls: [{ id: 't1', name: 'read_file', args: {}, status: 'success', timestamp: '2026-04-25T08:00:02.500Z' }] }),
      ]));
      const second = await scanner.scanAll();
      assert.equal(second.events, 2, 'both copies with tokens are emitted; the ledger merges them');
      assert.equal(ledger.totals.requests, 1);
      const rec = ledger.get(`gemini:${S1}:g1`)!;
      assert.deepEqual(rec.tokens, tokens({ input: 1_000, output: 100, cacheRead: 4_000, reasoning: 60 }));
      assert.equal(rec.sessionId, S1, 'session id from the metadata line read in the first pass');
      assert.equal(rec.model, 'gemini-2.5-pro');
      assert.equal(rec.timestamp, Date.parse('2026-04-25T08:00:02.000Z'));
      assert.equal(rec.project, 'proj', 'no project path known: the folder name');
      assert.equal(rec.agent, 'gemini-cli');
      assert.ok(rec.costNanos! > 0);
    });

    it('$set lines update metadata and carry no usage', async () => {
      writeFile(path.join(chats(), 'session-2026-04-25T08-41-3494a697.jsonl'), jsonl([
        meta(S2, { projectHash: 'b'.repeat(64) }),
        user('u1', 'hi'),
        set({ lastUpdated: '2026-04-25T08:00:01.000Z' }),
        gemini('g1', { input: 100, output: 10 }),
        set({ summary: 'Fix the "tokens" count', lastUpdated: '2026-04-25T08:00:05.000Z' }),
        set({ directories: ['/w'], memoryScratchpad: { version: 1 } }),
        set({ sessionId: S2 }), // what a resume writes
        gemini('g2', { input: 200, output: 20 }, { timestamp: '2026-04-25T08:00:06.000Z' }),
      ]));
      const { ledger, scanner } = scan(gem);
      await scanner.scanAll();
      assert.equal(ledger.totals.requests, 2);
      assert.equal(ledger.totals.inputTokens, 300);
      assert.deepEqual([...ledger.allRecords()].map((r) => r.key).sort(), [`gemini:${S2}:g1`, `gemini:${S2}:g2`]);
    });

    it('$rewindTo drops messages from the list but their usage stays counted', async () => {
      writeFile(path.join(chats(), 'session-2026-04-25T09-00-3494a697.jsonl'), jsonl([
        meta(S2),
        user('u1', 'first try'),
        gemini('g1', { input: 1_000, output: 100 }),
        user('u2', 'more'),
        gemini('g2', { input: 2_000, output: 200 }),
        { $rewindTo: 'u2' },
        user('u3', 'second try'),
        gemini('g3', { input: 3_000, output: 300 }),
      ]));
      const { ledger, scanner } = scan(gem);
      await scanner.scanAll();
      assert.equal(ledger.totals.requests, 3);
      assert.equal(ledger.totals.inputTokens, 6_000);
      assert.equal(ledger.totals.outputTokens, 600);
    });

    it('a checkpoint ($set messages, after /compress) repeats known messages without counting them twice', async () => {
      const g1 = gemini('g1', { input: 1_000, output: 100, cached: 500 });
      const g2 = gemini('g2', { input: 2_000, output: 200, thoughts: 30 });
      writeFile(path.join(chats(), 'session-2026-04-25T10-00-3494a697.jsonl'), jsonl([
        meta(S2),
        user('u1', 'a'),
        g1,
        user('u2', 'b'),
        g2,
        // the list replaced: a synthetic summary turn (no tokens) and the kept messages
        set({ messages: [user('s1', 'summary of the conversation'), gemini('s2', null), user('u2', 'b'), g2], lastUpdated: '2026-04-25T10:05:00.000Z' }),
        gemini('g3', { input: 300, output: 30 }),
      ]));
      const { ledger, scanner } = scan(gem);
      const stats = await scanner.scanAll();
      assert.equal(stats.events, 4, 'g1, g2, g2 again in the checkpoint, g3');
      assert.equal(ledger.totals.requests, 3);
      assert.equal(ledger.totals.inputTokens, 500 + 2_000 + 300);
      assert.equal(ledger.totals.outputTokens, 100 + 230 + 30);
      assert.equal(ledger.totals.reasoningTokens, 30);
    });

    it('ignores unknown records and non-gemini messages, skips a malformed line and keeps reading', async () => {
      writeFile(path.join(chats(), 'session-2026-04-25T11-00-3494a697.jsonl'), [
        JSON.stringify(meta(S2)),
        JSON.stringify({ type: 'gemini', tokens: tok({ input: 9, output: 9 }) }), // no id: not a message
        JSON.stringify({ id: 'i1', timestamp: '2026-04-25T08:00:01.000Z', type: 'info', content: 'x', tokens: tok({ input: 9, output: 9 }) }),
        JSON.stringify({ id: 'w1', type: 'warning', content: 'say "tokens"' }),
        JSON.stringify({ $unknown: { tokens: 1 } }),
        JSON.stringify(['"tokens"']),
        JSON.stringify(gemini('g0', null, { tokens: 'lots' })),
        '{"id":"g1","type":"gemini","tokens":{"input":5,', // torn line
        JSON.stringify(gemini('g2', { input: 70, output: 7 })),
      ].join('\n') + '\n');
      const { ledger, scanner, warnings } = scan(gem);
      await scanner.scanAll();
      assert.equal(ledger.totals.requests, 1);
      assert.equal(ledger.totals.inputTokens, 70);
      assert.deepEqual(warnings, ['malformed-lines:session-2026-04-25T11-00-3494a697.jsonl']);
      assert.equal(scanner.allWarnings()[0]!.count, 1);
    });

    it('a whole legacy record on one line (accepted by Gemini CLI\'s loader) is read too', () => {
      const s = new GeminiCliSource({ env: {}, home: dir, platform: 'linux' }, fsp);
      const p = s.createParser(path.join(chats(), 'session-2026-04-25T12-00-3494a697.jsonl'));
      const events = p.parseLine(JSON.stringify({ ...meta(S2), messages: [user('u1', 'a'), gemini('g1', { input: 10, output: 1 })] }));
      assert.deepEqual(events.map((e) => e.key), [`geminip:${S2}:u1`, `gemini:${S2}:g1`]);
      assert.throws(() => p.parseLine('{"sessionId":'));
    });
  });

  describe('legacy JSON sessions (≤ v0.38, document mode)', () => {
    const legacyName = 'session-2025-09-19T12-19-cae19108.json';
    const S0 = 'cae19108-8a31-48aa-841f-d0390c3c7e33';

    it('reads a document rewritten in place without counting it twice', async () => {
      const file = path.join(chats(), legacyName);
      const m1 = [user('u1', 'a', '2025-09-19T12:19:00.868Z'), gemini('g1', { input: 9488, output: 155, thoughts: 1117 }, { timestamp: '2025-09-19T12:19:15.920Z' })];
      writeFile(file, legacyDoc(S0, m1));
      const { ledger, scanner, source } = scan(gem);
      assert.equal(source.isDocument(file), true);
      await scanner.scanAll();
      assert.equal(ledger.totals.requests, 1);
      // the agent rewrites the whole file with one more exchange
      writeFile(file, legacyDoc(S0, [...m1, user('u2', 'b'), gemini('g2', { input: 10_000, output: 20, cached: 9_000 }, { model: 'gemini-2.5-flash' })]));
      await scanner.scanAll();
      assert.equal(ledger.totals.requests, 2);
      assert.equal(ledger.totals.inputTokens, 9488 + 1_000);
      assert.equal(ledger.totals.outputTokens, 155 + 1117 + 20);
      assert.equal(ledger.totals.cacheReadTokens, 9_000);
      assert.deepEqual(modelCounts(ledger), { 'gemini-2.5-pro': 1, 'gemini-2.5-flash': 1 });
      assert.equal(ledger.get(`gemini:${S0}:g1`)!.timestamp, Date.parse('2025-09-19T12:19:15.920Z'));
      // an unchanged document is not even re-read
      assert.equal((await scanner.scanAll()).filesRead, 0);
    });

    it('skips a document caught mid-write and reads it once complete', async () => {
      const file = path.join(chats(), legacyName);
      const full = legacyDoc(S0, [user('u1', 'a'), gemini('g1', { input: 100, output: 10 })]);
      writeFile(file, full.slice(0, full.length - 40));
      const { ledger, scanner, warnings } = scan(gem);
      await scanner.scanAll();
      assert.equal(ledger.totals.requests, 0);
      writeFile(file, ''); // truncated to nothing by the next write
      await scanner.scanAll();
      assert.equal(ledger.totals.requests, 0);
      assert.deepEqual(warnings, [], 'a failure or two is a write in progress, not a problem');
      writeFile(file, full);
      await scanner.scanAll();
      assert.equal(ledger.totals.requests, 1);
      assert.equal(ledger.totals.inputTokens, 100);
    });

    it('a resumed legacy session migrated into a .jsonl beside it is counted once, attributed to the .json', async () => {
      const messages = [user('u1', 'a'), gemini('g1', { input: 1_000, output: 10 }), user('u2', 'b'), gemini('g2', { input: 2_000, output: 20 })];
      writeFile(path.join(chats(), legacyName), legacyDoc(S0, messages));
      // what ChatRecordingService.initialize writes on resume: metadata, every message, then new ones
      writeFile(path.join(chats(), legacyName + 'l'), jsonl([
        { sessionId: S0, projectHash: 'a'.repeat(64), startTime: '2025-09-19T12:19:00.867Z', lastUpdated: '2025-09-19T12:19:15.920Z' },
        ...messages,
        set({ sessionId: S0 }),
        user('u3', 'c'),
        gemini('g3', { input: 3_000, output: 30 }),
      ]));
      const { ledger, scanner } = scan(gem);
      const stats = await scanner.scanAll();
      assert.equal(stats.events, 5);
      assert.equal(ledger.totals.requests, 3);
      assert.equal(ledger.totals.inputTokens, 6_000);
      assert.equal(path.basename(ledger.get(`gemini:${S0}:g1`)!.file), legacyName);
      assert.equal(path.basename(ledger.get(`gemini:${S0}:g3`)!.file), legacyName + 'l');
      assert.equal(ledger.group('session').get(S0)!.requests, 3);
    });
  });

  describe('subagents', () => {
    it('reads chats/<parent>/<id>.jsonl (v0.39+) and .json (v0.36–v0.38) as child sessions', async () => {
      writeFile(path.join(chats(), 'session-2026-04-25T08-46-c737eb36.jsonl'), jsonl([meta(S1), user('u1', 'go'), gemini('g1', { input: 100, output: 10 })]));
      writeFile(path.join(chats(), S1, `${SUB}.jsonl`), jsonl([
        meta(SUB, { kind: 'subagent', directories: ['/w'] }),
        user('su1', 'task'),
        gemini('sg1', { input: 40, output: 4 }, { model: 'gemini-3-flash-preview' }),
      ]));
      const OLD_SUB = '0ld5ub00-aaaa-4bbb-8ccc-dddddddddddd';
      writeFile(path.join(chats(), S1, `${OLD_SUB}.json`), legacyDoc(OLD_SUB, [gemini('og1', { input: 7, output: 1 })], { kind: 'subagent' }));
      const { ledger, scanner } = scan(gem);
      await scanner.scanAll();
      assert.equal(ledger.totals.requests, 3);
      const sub = ledger.get(`gemini:${SUB}:sg1`)!;
      assert.equal(sub.sessionId, SUB);
      assert.equal(sub.parentSessionId, S1);
      assert.equal(sub.sidechain, true);
      assert.equal(sub.project, 'proj');
      const old = ledger.get(`gemini:${OLD_SUB}:og1`)!;
      assert.equal(old.parentSessionId, S1);
      assert.equal(ledger.get(`gemini:${S1}:g1`)!.parentSessionId, undefined);
      assert.equal(ledger.get(`gemini:${S1}:g1`)!.sidechain, undefined);
    });
  });

  describe('discover()', () => {
    it('finds chats/session-*.json[l] and subagent files only: never logs, checkpoints, activity logs or temp files', async () => {
      const want = [
        writeFile(path.join(chats('a'), 'session-2025-09-19T12-19-cae19108.json'), '{}'),
        writeFile(path.join(chats('a'), 'session-2026-04-25T08-23-e435870b.jsonl'), ''),
        writeFile(path.join(chats('a'), S1, `${SUB}.jsonl`), ''),
        writeFile(path.join(chats('b'), 'session-2026-04-28T15-09-887ba529.jsonl'), ''),
      ];
      writeFile(path.join(gem, 'tmp', 'a', 'logs.json'), '[]');
      writeFile(path.join(gem, 'tmp', 'a', 'checkpoint-inkscape-nvim.json'), '[]');
      writeFile(path.join(gem, 'tmp', 'a', 'logs', `session-${S1}.jsonl`), '');
      writeFile(path.join(gem, 'tmp', 'a', 'shell_history'), '');
      writeFile(path.join(gem, 'tmp', 'a', 'session-2026-04-25T08-23-e435870b.jsonl'), ''); // not under chats/
      writeFile(path.join(chats('a'), 'session-2026-04-25T08-23-e435870b.jsonl.tmp-4242'), '');
      writeFile(path.join(chats('a'), 'session-2026-04-25T08-23-e435870b.jsonl.unreadable-1745570000000'), '');
      writeFile(path.join(chats('a'), 'notes.json'), '{}');
      writeFile(path.join(chats('a'), S1, 'deeper', 'x.jsonl'), '');
      writeFile(path.join(gem, 'tmp', 'bin', 'rg'), '');
      writeFile(path.join(gem, 'history', 'a', 'x.jsonl'), '');
      const s = new GeminiCliSource({ env: {}, home: dir, platform: 'linux' }, fsp);
      const r = await s.discover();
      assert.deepEqual(r.files.map((f) => f.path), [...want].sort());
      for (const f of r.files) assert.equal(f.root, path.join(gem, 'tmp'));
      assert.deepEqual(r.roots, [path.join(gem, 'tmp')]);
      assert.deepEqual(r.problems, []);
      assert.equal(s.isDocument(want[0]!), true);
      assert.equal(s.isDocument(want[1]!), false);
    });

    it('home: <home>/.gemini, else GEMINI_CLI_HOME (the folder holding .gemini), else the settings override', async () => {
      const userHome = path.join(dir, 'user');
      const envHome = path.join(dir, 'envhome');
      const optGemini = path.join(dir, 'opt', 'gemini-data');
      const f = (g: string) => writeFile(path.join(g, 'tmp', 'p', 'chats', 'session-2026-04-25T08-23-e435870b.jsonl'), '');
      const inUser = f(path.join(userHome, '.gemini'));
      const inEnv = f(path.join(envHome, '.gemini'));
      const inOpt = f(optGemini);
      const found = async (s: GeminiCliSource) => (await s.discover()).files.map((x) => x.path);
      const mk = (vars: Record<string, string>, opts = {}) => new GeminiCliSource({ env: vars, home: userHome, platform: 'linux' }, fsp, opts);

      assert.equal(mk({}).home, path.join(userHome, '.gemini'));
      assert.deepEqual(await found(mk({})), [inUser]);
      assert.deepEqual(await found(mk({ GEMINI_CLI_HOME: '' })), [inUser]);
      assert.equal(mk({ GEMINI_CLI_HOME: envHome }).home, path.join(envHome, '.gemini'));
      assert.deepEqual(await found(mk({ GEMINI_CLI_HOME: envHome })), [inEnv]);
      // the override wins; it may name the Gemini folder itself or the folder holding .gemini
      assert.deepEqual(await found(mk({ GEMINI_CLI_HOME: envHome }, { home: optGemini })), [inOpt]);
      assert.deepEqual(await found(mk({}, { home: envHome })), [inEnv]);
      assert.deepEqual(await found(mk({}, { home: path.join(envHome, '.gemini') })), [inEnv]);
      assert.equal(mk({}, { home: '~/x' }).home, path.join(userHome, 'x'));
      // a missing home is silent
      assert.deepEqual(await mk({}, { home: path.join(dir, 'nothing') }).discover(), { files: [], roots: [], problems: [] });
    });

    it('reports unreadable folders as problems, keeps everything else, never throws', async () => {
      const ok = writeFile(path.join(chats('good'), 'session-2026-04-25T08-23-e435870b.jsonl'), jsonl([meta(S1), gemini('g1', { input: 10, output: 1 })]));
      writeFile(path.join(chats('locked'), 'session-2026-04-25T08-41-3494a697.jsonl'), '');
      writeFile(path.join(chats('locked-parent'), S1, `${SUB}.jsonl`), '');
      writeFile(path.join(gem, 'tmp', 'sealed', 'chats', 'x'), '');
      const denied = new Set([chats('locked'), path.join(chats('locked-parent'), S1), path.join(gem, 'tmp', 'sealed')]);
      const failing: SourceFs = {
        readdir: async (p, o) => {
          if (denied.has(p)) throw Object.assign(new Error(`EACCES: permission denied, scandir '${p}'`), { code: 'EACCES' });
          return fsp.readdir(p, o);
        },
        stat: (p) => fsp.stat(p),
        open: (p, f) => fsp.open(p, f),
      };
      const s = new GeminiCliSource({ env: {}, home: dir, platform: 'linux' }, failing);
      const r = await s.discover();
      assert.deepEqual(r.files.map((f) => f.path), [ok]);
      assert.deepEqual(r.problems.map((p) => p.path), [...denied].sort());
      for (const p of r.problems) assert.match(p.message, /EACCES/);
      // through the scanner: warnings, and the readable session still counted
      const { ledger, scanner, warnings } = scan(gem, { fs: failing });
      await scanner.scanAll();
      assert.equal(ledger.totals.requests, 1);
      assert.deepEqual(warnings.sort(), [`unreadable-folder:${S1}`, 'unreadable-folder:chats', 'unreadable-folder:sealed'].sort());
      // an unreadable tmp/ itself: a problem, no roots
      const tmpDenied: SourceFs = { ...failing, readdir: async () => Promise.reject(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' })) };
      const r2 = await new GeminiCliSource({ env: {}, home: dir, platform: 'linux' }, tmpDenied).discover();
      assert.deepEqual(r2, { files: [], roots: [], problems: [{ path: path.join(gem, 'tmp'), message: 'EACCES: EACCES: permission denied' }] });
    });

    it('project: .project_root of a slug folder, projects.json, a hash folder or projectHash of a known path, else the folder name', async () => {
      const slugRoot = '/home/u/work/ticketing-vc';
      const regRoot = '/home/u/work/playground';
      const hashOnly = createHash('sha256').update(slugRoot).digest('hex');
      writeFile(path.join(gem, 'tmp', 'ticketing-vc', '.project_root'), slugRoot);
      writeFile(path.join(gem, 'projects.json'), JSON.stringify({ projects: { [regRoot]: 'playground', [slugRoot]: 'stale-slug' } }));
      const put = (project: string, sid: string, hash: string) =>
        writeFile(path.join(chats(project), `session-2026-04-25T08-00-${sid.slice(0, 8)}.jsonl`), jsonl([meta(sid, { projectHash: hash }), gemini('g', { input: 1, output: 1 })]));
      put('ticketing-vc', 'aaaaaaaa-1', 'f'.repeat(64));
      put('playground', 'bbbbbbbb-2', 'f'.repeat(64));
      put(hashOnly, 'cccccccc-3', 'f'.repeat(64)); // the pre-2026 hash folder of a project known by its slug
      put('c'.repeat(64), 'dddddddd-4', 'c'.repeat(64)); // unknown project
      put('other', 'eeeeeeee-5', hashOnly); // a session that names a known project by its hash
      const { ledger, scanner } = scan(gem);
      await scanner.scanAll();
      const bySession = Object.fromEntries([...ledger.allRecords()].map((r) => [r.sessionId, r.project]));
      assert.deepEqual(bySession, {
        'aaaaaaaa-1': slugRoot,
        'bbbbbbbb-2': regRoot,
        'cccccccc-3': slugRoot,
        'dddddddd-4': 'c'.repeat(64),
        'eeeeeeee-5': slugRoot,
      });
    });
  });

  describe('real Gemini CLI logs (../shared/real-logs/gemini-cli)', () => {
    const realGemini = path.join(REAL_LOGS, 'gemini-cli', '.gemini');
    before(function () {
      if (!fs.existsSync(realGemini)) this.skip();
    });

    it('matches an independent count: 42 sessions, 280 requests, the 65 re-appended JSONL copies counted once', async () => {
      // Expected figures from test/unit/independent/gemini_count.py (run:
      // `python3 test/unit/independent/gemini_count.py ../shared/real-logs/gemini-cli/.gemini`), a separate
      // Python reading of the format written from FORMATS.md / SOURCES.md and Gemini CLI's
      // chatRecordingService.ts, not from this adapter: it globs tmp/*/chats/session-*.json[l] and
      // chats/*/*.json[l], keeps the LAST copy of each (sessionId, message id) gemini message with tokens,
      // maps input − cached + tool / cached / output + thoughts / thoughts, and reports 65 superseded JSONL
      // records (as SOURCES.md says), no id whose copies disagree, and total = input + output + thoughts + tool
      // in every message. Output: requests 280, input 2,377,139, cacheRead 4,337,303, output 250,252,
      // reasoning 168,673, tool 0; models 2.5-pro 192, 2.5-flash 5, 3-flash-preview 48, 3.1-pro-preview 33,
      // 3.1-pro-preview-customtools 2.
      const { ledger, scanner, warnings } = scan(realGemini);
      const stats = await scanner.scanAll();
      assert.equal(stats.files, 42);
      assert.deepEqual(warnings, []);
      assert.equal(stats.events, 280 + 65, 'every superseded copy carried its tokens; the ledger merged them');
      const t = ledger.totals;
      assert.deepEqual(
        { requests: t.requests, input: t.inputTokens, cacheRead: t.cacheReadTokens, output: t.outputTokens, reasoning: t.reasoningTokens, cacheWrite: t.cacheCreationTokens, unpriced: t.unpricedRequests },
        { requests: 280, input: 2_377_139, cacheRead: 4_337_303, output: 250_252, reasoning: 168_673, cacheWrite: 0, unpriced: 0 },
      );
      assert.deepEqual(modelCounts(ledger), {
        'gemini-2.5-flash': 5,
        'gemini-2.5-pro': 192,
        'gemini-3-flash-preview': 48,
        'gemini-3.1-pro-preview': 33,
        'gemini-3.1-pro-preview-customtools': 2,
      });
      // the slug folder's .project_root names the (Windows) project; others have only their folder name
      const projects = new Set([...ledger.allRecords()].map((r) => r.project));
      assert.ok(projects.has('c:\\beta-project\\vibe engineering\\ticketing-vc'));
      assert.ok(projects.has('playground'));
      assert.ok(projects.has('ada922badf44a2b22b3781c3a9f3e45714f60196536f2b7657ad8b07dac0ae3b'));
      assert.equal(ledger.group('session').size, 42);
      // a second scan reads nothing new and changes nothing
      const again = await scanner.scanAll();
      assert.equal(again.events, 0);
      assert.equal(ledger.totals.requests, 280);
    });
  });
});
