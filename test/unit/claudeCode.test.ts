import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { Ledger } from '../../src/core/ledger';
import { ClaudeCodeSource } from '../../src/sources/claudeCode';
import { Scanner } from '../../src/sources/scanner';
import type { SourceFs } from '../../src/sources/source';
import { Tailer } from '../../src/sources/tailer';
import { REAL_LOGS, asUsage, claudeAssistant, claudeUser, tempDir, writeFile } from './helpers';

/** Prices every request at 1 nano-USD per output token, so tests can see which copy was kept. */
const outputPricer = { priceNanos: (model: string | null, t: { output: number }) => (model ? t.output : null) };

function scan(configDir: string, extra: { env?: Record<string, string>; fs?: SourceFs } = {}) {
  const ledger = new Ledger(outputPricer);
  const source = new ClaudeCodeSource({ env: { CLAUDE_CONFIG_DIR: configDir, ...extra.env }, home: '/nonexistent-home', platform: 'linux' }, extra.fs ?? fsp);
  const warnings: string[] = [];
  const scanner = new Scanner([source], new Tailer(extra.fs ?? fsp), (e) => ledger.addAll(e), { onWarning: (w) => warnings.push(`${w.kind}:${w.path}`) });
  return { ledger, scanner, source, warnings };
}

const T0 = '2026-03-01T10:00:00.000Z';
const T1 = '2026-03-01T10:00:01.000Z';
const T2 = '2026-03-01T10:00:02.000Z';

describe('Claude Code source', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const proj = () => path.join(dir, 'projects', '-home-u-proj');

  it('keeps the streamed copy with the largest output, whichever order the copies come in', async () => {
    const s = 'sess-1';
    writeFile(path.join(proj(), `${s}.jsonl`), [
      claudeUser(s, 'hello', T0),
      claudeAssistant({ sessionId: s, messageId: 'msg_A', requestId: 'req_A', timestamp: T0, output: 8, cacheRead: 100 }),
      claudeAssistant({ sessionId: s, messageId: 'msg_A', requestId: 'req_A', timestamp: T1, output: 342, cacheRead: 100 }),
      claudeAssistant({ sessionId: s, messageId: 'msg_A', requestId: 'req_A', timestamp: T2, output: 342, cacheRead: 100 }),
      // final count first, a smaller intermediate later (seen in 2.0.x)
      claudeAssistant({ sessionId: s, messageId: 'msg_B', requestId: 'req_B', timestamp: T1, output: 500 }),
      claudeAssistant({ sessionId: s, messageId: 'msg_B', requestId: 'req_B', timestamp: T2, output: 12 }),
    ].join('\n') + '\n');
    const { ledger, scanner } = scan(dir);
    await scanner.scanAll();
    assert.equal(ledger.totals.requests, 2);
    assert.equal(ledger.totals.outputTokens, 842);
    assert.equal(ledger.totals.cacheReadTokens, 100);
    assert.equal(ledger.get('cc:msg_A:req_A')!.timestamp, Date.parse(T0), 'attributed to the first copy');
  });

  it('counts a request copied into a resumed session once, under the session that made it', async () => {
    writeFile(path.join(proj(), 'old.jsonl'), claudeAssistant({ sessionId: 'old', messageId: 'msg_1', requestId: 'req_1', timestamp: T0, output: 50 }) + '\n');
    writeFile(path.join(proj(), 'new.jsonl'), [
      claudeAssistant({ sessionId: 'new', messageId: 'msg_1', requestId: 'req_1', timestamp: T0, output: 50 }),
      claudeAssistant({ sessionId: 'new', messageId: 'msg_2', requestId: 'req_2', timestamp: T2, output: 70 }),
    ].join('\n') + '\n');
    const { ledger, scanner } = scan(dir);
    await scanner.scanAll();
    assert.equal(ledger.totals.requests, 2);
    assert.equal(ledger.totals.outputTokens, 120);
    // equal timestamps: the tie goes deterministically to the path that sorts first ("new.jsonl" < "old.jsonl")
    const bySession = ledger.group('session');
    assert.equal([...bySession.values()].reduce((s, t) => s + t.requests, 0), 2);
  });

  it('reads subagents in all three layouts, counts mirrors once, and keeps orphaned subagent folders', async () => {
    const parent = 'p-1';
    writeFile(path.join(proj(), `${parent}.jsonl`), [
      claudeAssistant({ sessionId: parent, messageId: 'm1', requestId: 'r1', timestamp: T0, output: 1 }),
      claudeAssistant({ sessionId: parent, messageId: 'm2', requestId: 'r2', timestamp: T1, output: 2, isSidechain: true }), // 1.0.x inline
    ].join('\n') + '\n');
    // 1.0.x–2.0.x project-level agent file
    writeFile(path.join(proj(), 'agent-abc1234.jsonl'), claudeAssistant({ sessionId: parent, messageId: 'm3', requestId: 'r3', timestamp: T1, output: 4, isSidechain: true, agentId: 'abc1234' }) + '\n');
    // 2.1.x subagents folder, with an aside_question file re-containing a parent request
    const sub = path.join(proj(), parent, 'subagents');
    writeFile(path.join(sub, 'agent-a1.jsonl'), claudeAssistant({ sessionId: parent, messageId: 'm4', requestId: 'r4', timestamp: T2, output: 8, isSidechain: true, agentId: 'a1' }) + '\n');
    writeFile(path.join(sub, 'agent-a1.meta.json'), '{"not":"a log"}');
    writeFile(path.join(sub, 'agent-aside_question-ff.jsonl'), claudeAssistant({ sessionId: parent, messageId: 'm1', requestId: 'r1', timestamp: T0, output: 1 }) + '\n');
    writeFile(path.join(proj(), parent, 'tool-results', 'toolu_1.txt'), '"usage" not a log');
    // orphan: subagent folder whose parent transcript does not exist
    writeFile(path.join(proj(), 'gone', 'subagents', 'agent-a9.jsonl'), claudeAssistant({ sessionId: 'gone', messageId: 'm5', requestId: 'r5', timestamp: T2, output: 16, isSidechain: true }) + '\n');
    writeFile(path.join(proj(), 'empty.jsonl'), '');
    const { ledger, scanner } = scan(dir);
    await scanner.scanAll();
    assert.equal(ledger.totals.requests, 5);
    assert.equal(ledger.totals.outputTokens, 31);
    assert.equal(ledger.group('session').get('gone')!.outputTokens, 16);
    assert.equal(ledger.group('session').get(parent)!.outputTokens, 15);
    assert.equal(ledger.get('cc:m1:r1')!.sidechain, undefined, 'the main transcript keeps the request, not the aside_question copy');
    assert.equal(ledger.get('cc:m4:r4')!.subagentId, 'a1');
    assert.equal(ledger.get('cc:m3:r3')!.subagentId, 'abc1234');
  });

  it('splits 5-minute and 1-hour cache writes, skips <synthetic> and falls back to message.id without requestId', async () => {
    const s = 's';
    writeFile(path.join(proj(), `${s}.jsonl`), [
      claudeAssistant({ sessionId: s, messageId: 'm1', requestId: 'r1', timestamp: T0, cacheWrite: 1000, cacheWrite1h: 600 }),
      claudeAssistant({ sessionId: s, messageId: 'm2', timestamp: T0, cacheWrite: 40 }),
      claudeAssistant({ sessionId: s, messageId: 'm2', timestamp: T1, cacheWrite: 40, output: 99 }),
      claudeAssistant({ sessionId: s, messageId: 'm3', requestId: 'r3', timestamp: T0, model: '<synthetic>', output: 5 }),
    ].join('\n') + '\n');
    const { ledger, scanner } = scan(dir);
    await scanner.scanAll();
    assert.equal(ledger.totals.requests, 2);
    assert.equal(ledger.totals.cacheCreationTokens, 1040);
    assert.equal(ledger.totals.cacheCreation1hTokens, 600);
    assert.deepEqual(ledger.get('cc:m1:r1')!.tokens, { input: 3, output: 10, cacheWrite5m: 400, cacheWrite1h: 600, cacheRead: 0, reasoning: 0 });
    assert.equal(ledger.get('cc:m2')!.tokens.output, 99);
  });

  it('picks up appended lines and new files on the next scan, without re-counting', async () => {
    const file = writeFile(path.join(proj(), 's.jsonl'), claudeAssistant({ sessionId: 's', messageId: 'm1', requestId: 'r1', timestamp: T0, output: 5 }) + '\n');
    const { ledger, scanner } = scan(dir);
    await scanner.scanAll();
    fs.appendFileSync(file, claudeAssistant({ sessionId: 's', messageId: 'm2', requestId: 'r2', timestamp: T1, output: 6 }) + '\n');
    writeFile(path.join(dir, 'projects', '-other', 't.jsonl'), claudeAssistant({ sessionId: 't', messageId: 'm3', requestId: 'r3', timestamp: T1, output: 7 }) + '\n');
    const stats = await scanner.scanAll();
    assert.equal(ledger.totals.requests, 3);
    assert.equal(ledger.totals.outputTokens, 18);
    assert.ok(stats.bytesRead < 3000, `only the new bytes are read (read ${stats.bytesRead})`);
  });

  it('with an fs that stats at once (the CLI\'s), waits on nothing for unchanged files; a stat that fails leaves the file to the read', async () => {
    const unchanged = writeFile(path.join(proj(), 'u.jsonl'), claudeAssistant({ sessionId: 'u', messageId: 'm1', requestId: 'r1', timestamp: T0, output: 5 }) + '\n');
    const grown = writeFile(path.join(proj(), 'g.jsonl'), claudeAssistant({ sessionId: 'g', messageId: 'm2', requestId: 'r2', timestamp: T0, output: 6 }) + '\n');
    const awaited: string[] = []; // async stats and opens
    let failStat = '';
    const counting: SourceFs = {
      readdir: (p, o) => fsp.readdir(p, o),
      stat: (p) => {
        awaited.push(`stat ${path.basename(p)}`);
        return fsp.stat(p);
      },
      open: (p, f) => {
        awaited.push(`open ${path.basename(p)}`);
        return fsp.open(p, f);
      },
      statNow: (p) => {
        if (p === failStat) throw new Error('EIO');
        return fs.statSync(p);
      },
    };
    const { ledger, scanner, warnings } = scan(dir, { fs: counting });
    await scanner.scanAll();
    awaited.length = 0;
    fs.appendFileSync(grown, claudeAssistant({ sessionId: 'g', messageId: 'm3', requestId: 'r3', timestamp: T1, output: 7 }) + '\n');
    await scanner.scanAll();
    assert.deepEqual(awaited, ['stat g.jsonl', 'open g.jsonl']);
    assert.equal(ledger.totals.outputTokens, 18);
    // statNow failing: the file goes through the normal read, which finds it unchanged (one stat, no open)
    failStat = unchanged;
    awaited.length = 0;
    await scanner.scanAll();
    assert.deepEqual(awaited, ['stat u.jsonl']);
    assert.equal(ledger.totals.outputTokens, 18);
    assert.deepEqual(warnings, []);
  });

  it('a truncated then rewritten transcript is not double counted', async () => {
    const file = writeFile(path.join(proj(), 's.jsonl'), [
      claudeAssistant({ sessionId: 's', messageId: 'm1', requestId: 'r1', timestamp: T0, output: 5 }),
      claudeAssistant({ sessionId: 's', messageId: 'm2', requestId: 'r2', timestamp: T1, output: 6 }),
    ].join('\n') + '\n');
    const { ledger, scanner } = scan(dir);
    await scanner.scanAll();
    fs.writeFileSync(file, claudeAssistant({ sessionId: 's', messageId: 'm1', requestId: 'r1', timestamp: T0, output: 5 }) + '\n');
    await scanner.scanAll();
    fs.appendFileSync(file, claudeAssistant({ sessionId: 's', messageId: 'm2', requestId: 'r2', timestamp: T1, output: 6 }) + '\n');
    await scanner.scanAll();
    assert.equal(ledger.totals.requests, 2);
    assert.equal(ledger.totals.outputTokens, 11);
  });

  it('reports a malformed line once and keeps the good records around it', async () => {
    const file = writeFile(path.join(proj(), 's.jsonl'), [
      claudeAssistant({ sessionId: 's', messageId: 'm1', requestId: 'r1', timestamp: T0, output: 5 }),
      '{"type":"assistant","message":{"usage":{"output_tokens":3', // crash mid-line
      claudeAssistant({ sessionId: 's', messageId: 'm2', requestId: 'r2', timestamp: T1, output: 6 }),
    ].join('\n') + '\n');
    const { ledger, scanner, warnings } = scan(dir);
    await scanner.scanAll();
    fs.appendFileSync(file, '{"usage":{"input_tokens": broken\n');
    await scanner.scanAll();
    assert.equal(ledger.totals.outputTokens, 11);
    assert.deepEqual(warnings, [`malformed-lines:${file}`]);
    assert.equal(scanner.allWarnings()[0]!.count, 2);
  });

  it('resolves default locations and CLAUDE_CONFIG_DIR (comma-separated, ~)', () => {
    const env = (e: Record<string, string>) => new ClaudeCodeSource({ env: e, home: '/h', platform: 'linux' }, fsp).projectRoots();
    assert.deepEqual(env({}), ['/h/.config/claude/projects', '/h/.claude/projects']);
    assert.deepEqual(env({ XDG_CONFIG_HOME: '/x' }), ['/x/claude/projects', '/h/.claude/projects']);
    assert.deepEqual(env({ CLAUDE_CONFIG_DIR: '/a, ~/b ,' }), ['/a/projects', '/h/b/projects']);
    const withExtra = new ClaudeCodeSource({ env: { CLAUDE_CONFIG_DIR: '/a' }, home: '/h', platform: 'linux' }, fsp, { extraPaths: ['/c/projects', '/d'] });
    assert.deepEqual(withExtra.projectRoots(), ['/a/projects', '/c/projects', '/d/projects']);
  });

  it('reports an unreadable folder once and still reads the others', async () => {
    writeFile(path.join(proj(), 's.jsonl'), claudeAssistant({ sessionId: 's', messageId: 'm1', requestId: 'r1', timestamp: T0, output: 5 }) + '\n');
    const blocked = path.join(dir, 'projects', '-blocked');
    fs.mkdirSync(blocked);
    const denyingFs: SourceFs = {
      ...fsp,
      readdir: (async (p: string, o: { withFileTypes: true }) => {
        if (p === blocked) throw Object.assign(new Error(`EACCES: permission denied, scandir '${p}'`), { code: 'EACCES' });
        return fsp.readdir(p, o);
      }) as SourceFs['readdir'],
      stat: fsp.stat,
      open: fsp.open,
    };
    const { ledger, scanner, warnings } = scan(dir, { fs: denyingFs });
    await scanner.scanAll();
    await scanner.scanAll();
    assert.equal(ledger.totals.outputTokens, 5);
    assert.deepEqual(warnings, [`unreadable-folder:${blocked}`]);
  });

  describe('real logs (../shared/real-logs/claude-code)', () => {
    it('the byte-level fast path gives exactly what a full parse gives, on every real line', async () => {
      const files = (await new ClaudeCodeSource({ env: { CLAUDE_CONFIG_DIR: path.join(REAL_LOGS, 'claude-code') }, home: '/none', platform: 'linux' }, fsp).discover()).files;
      assert.ok(files.length > 50);
      let usageLines = 0;
      for (const { path: file } of files) {
        const buf = fs.readFileSync(file);
        const fast = new ClaudeCodeSource({ env: {}, home: '/none', platform: 'linux' }, fsp).createParser(file);
        const slow = new ClaudeCodeSource({ env: {}, home: '/none', platform: 'linux' }, fsp).createParser(file);
        let start = 0;
        while (start < buf.length) {
          let end = buf.indexOf(10, start);
          if (end < 0) end = buf.length;
          if (buf.subarray(start, end).includes('"usage"')) {
            usageLines++;
            assert.deepEqual(fast.parseBytes!(buf, start, end), slow.parseLine(buf.toString('utf8', start, end)), `${file} at byte ${start}`);
          }
          start = end + 1;
        }
      }
      assert.ok(usageLines > 3000, `${usageLines} usage lines`);
    });

    it('the fast path falls back to a full parse when the cut does not fit the record', () => {
      const p = new ClaudeCodeSource({ env: {}, home: '/none', platform: 'linux' }, fsp).createParser('/x/projects/-p/s.jsonl');
      // a "content":[ before the message (in another object) and no stop_reason in the message
      const line = JSON.stringify({ type: 'assistant', extra: { content: [1, 2] }, message: { id: 'm', model: 'claude-sonnet-4-5', content: [{ type: 'tool_use', input: { stop_reason: 'x' } }], usage: { input_tokens: 1, output_tokens: 2 } }, requestId: 'r', sessionId: 's', timestamp: T0 });
      const buf = Buffer.from(line);
      assert.deepEqual(p.parseBytes!(buf, 0, buf.length), p.parseLine(line));
      assert.equal(asUsage(p.parseBytes!(buf, 0, buf.length)[0]).tokens.output, 2);
    });

    it('match an independent count exactly', async function () {
      this.timeout(60000);
      const root = path.join(REAL_LOGS, 'claude-code');
      assert.ok(fs.existsSync(root), `real logs missing at ${root}`);
      const { ledger, scanner, warnings } = scan(root);
      await scanner.scanAll();
      // Independent count (python, json module; see test/unit/independent/claude_count.py):
      // every `assistant` record with message.usage (and `progress` mirrors), model != <synthetic>,
      // key message.id+requestId, largest output_tokens kept.
      assert.deepEqual(
        {
          requests: ledger.totals.requests,
          input: ledger.totals.inputTokens,
          output: ledger.totals.outputTokens,
          cacheWrite: ledger.totals.cacheCreationTokens,
          cacheRead: ledger.totals.cacheReadTokens,
        },
        { requests: 1712, input: 184281, output: 685904, cacheWrite: 5233496, cacheRead: 95757793 },
      );
      assert.deepEqual(warnings, []);
      // orphaned subagent folders keep their spend under the session they name
      for (const orphan of ['6c7ec02b-03cc-41ca-a80f-09763e985c4d', '6e3aa12b-9c1b-4b7d-aad7-901bff58dffb', 'bbe015e3-4ab8-4b4d-978e-556286d8fbb9']) {
        assert.ok(ledger.group('session').get(orphan)?.requests, `orphan ${orphan} counted`);
      }
    });
  });
});
