import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { UsageEventSchema, type UsageEvent } from '../../src/core/events';
import { Ledger } from '../../src/core/ledger';
import { Pricer } from '../../src/core/pricing';
import { AIDER_HISTORY_FILE, AiderSource } from '../../src/sources/aider';
import { Scanner } from '../../src/sources/scanner';
import type { SourceEnv, SourceFs } from '../../src/sources/source';
import { Tailer } from '../../src/sources/tailer';
import { REAL_LOGS, asUsage, tempDir, writeFile } from './helpers';

// ---------------------------------------------------------------------------------------------
// helpers: histories written the way aider's io.py writes them

/** `InputOutput.__init__`: a blank line, the header, a blank line. */
const header = (ts: string) => `\n# aider chat started at ${ts}\n\n`;
/** `tool_output`/`tool_error`/`confirm_ask`: `> ` before the (first line of the) text, two spaces, newline. */
const tool = (...msgs: string[]) => msgs.map((m) => `> ${m.trim()}  \n`).join('');
/** `user_input`: every line of the prompt behind `#### `. */
const prompt = (text: string) => `\n#### ${text.split('\n').join('  \n#### ')}  \n`;
/** `ai_output`. */
const reply = (text: string) => `\n${text.trim()}\n\n`;

function envFor(vars: Record<string, string | undefined> = {}, home = '/nonexistent-home'): SourceEnv {
  return { env: vars, home, platform: process.platform };
}

function setup(opts: { folders: string[]; historyFiles?: string[] }, extra: { fs?: SourceFs; env?: SourceEnv } = {}) {
  const fsImpl = extra.fs ?? fsp;
  const ledger = new Ledger(new Pricer());
  const source = new AiderSource(extra.env ?? envFor(), fsImpl, opts);
  const warnings: string[] = [];
  const events: UsageEvent[] = [];
  const scanner = new Scanner([source], new Tailer(fsImpl), (e) => {
    events.push(...e.map(asUsage));
    ledger.addAll(e);
  }, { onWarning: (w) => warnings.push(`${w.kind}:${w.path}`) });
  return { ledger, scanner, source, warnings, events };
}

/** Local-time epoch ms of `YYYY-MM-DD HH:MM:SS` (how aider wrote it). */
function local(ts: string): number {
  const [d, t] = ts.split(' ');
  const [y, mo, da] = d!.split('-').map(Number);
  const [h, mi, s] = t!.split(':').map(Number);
  return new Date(y!, mo! - 1, da!, h!, mi!, s!).getTime();
}

const brief = (e: UsageEvent) => ({ model: e.model, tokens: e.tokens, cost: e.loggedCostUSD });
const T = (input: number, output: number, cacheWrite5m = 0, cacheRead = 0) => ({ input, output, cacheWrite5m, cacheWrite1h: 0, cacheRead, reasoning: 0 });

describe('Aider source', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('agent-spend-aider-');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const history = () => path.join(dir, AIDER_HISTORY_FILE);

  describe('usage lines', () => {
    it('reads every report variant: old 5,359 / request, k formats, cache write, write + hit with Cost on the next line, no Cost', async () => {
      writeFile(history(), [
        header('2024-08-08 13:15:45'),
        tool('Aider v0.48.1', 'Models: claude-3-5-sonnet-20240620 with diff edit format, weak model claude-3-haiku-20240307', 'Git repo: .git with 12 files'),
        prompt('add a parser'),
        reply('Here is the change.'),
        tool('Tokens: 5,359 sent, 961 received. Cost: $0.03 request, $0.03 session.'),
        header('2025-06-02 13:08:34'),
        tool('Aider v0.84.0', 'Main model: gemini/gemini-2.5-pro-preview-05-06 with diff-fenced edit format', 'Weak model: gemini/gemini-2.5-flash-preview-04-17'),
        prompt('explain'),
        tool('Tokens: 12k sent, 518 received. Cost: $0.02 message, $0.02 session.'),
        tool('Tokens: 10.0k sent, 1.1k received. Cost: $0.0084 message, $0.03 session.'),
        tool('Tokens: 587 sent, 345 received. Cost: $0.00042 message, $0.03 session.'),
        header('2025-07-01 09:00:00'),
        tool('Aider v0.86.1', 'Main model: anthropic/claude-sonnet-4-20250514 with diff edit format, prompt cache, infinite output', 'Weak model: anthropic/claude-3-5-haiku-20241022'),
        tool('Tokens: 3.2k sent, 2.5k cache write, 344 received. Cost: $0.02 message, $0.02 session.'),
        // base_coder: `tokens_report + "\n" + cost_report` when both cache write and cache hit are present
        tool('Tokens: 8.9k sent, 2.0k cache write, 6.1k cache hit, 245 received.\nCost: $0.05 message, $0.07 session.'),
        tool('Tokens: 7.0k sent, 6.9k cache hit, 120 received. Cost: $0.0040 message, $0.08 session.'),
        header('2025-06-02 12:27:34'),
        tool('Aider v0.84.0', 'Main model: vertex_ai/claude-sonnet-4@20250514 with editor-diff edit format, infinite output', 'Weak model: vertex_ai/claude-3-5-haiku@20241022'),
        tool('Tokens: 14k sent, 1.5k received. Cost: $0.06 message, $0.06 session.'),
        header('2026-04-22 22:40:47'),
        tool('Aider v0.86.2', 'Model: lm_studio/qwen3.6-35b-a3b with whole edit format'),
        prompt('hello'),
        tool('Tokens: 1.8k sent, 653 received.'), // local model: no price, no Cost part; last line of the file
      ].join(''));
      const { scanner, events, ledger, warnings } = setup({ folders: [dir] });
      await scanner.scanAll();
      assert.deepEqual(warnings, []);
      assert.deepEqual(events.map(brief), [
        { model: 'claude-3-5-sonnet-20240620', tokens: T(5359, 961), cost: 0.03 },
        { model: 'gemini/gemini-2.5-pro-preview-05-06', tokens: T(12000, 518), cost: 0.02 },
        { model: 'gemini/gemini-2.5-pro-preview-05-06', tokens: T(10000, 1100), cost: 0.0084 },
        { model: 'gemini/gemini-2.5-pro-preview-05-06', tokens: T(587, 345), cost: 0.00042 },
        // "sent" includes the cache write (and hit): uncached input = sent − write − hit
        { model: 'anthropic/claude-sonnet-4-20250514', tokens: T(700, 344, 2500), cost: 0.02 },
        { model: 'anthropic/claude-sonnet-4-20250514', tokens: T(800, 245, 2000, 6100), cost: 0.05 },
        { model: 'anthropic/claude-sonnet-4-20250514', tokens: T(100, 120, 0, 6900), cost: 0.004 },
        { model: 'vertex_ai/claude-sonnet-4@20250514', tokens: T(14000, 1500), cost: 0.06 },
        { model: 'lm_studio/qwen3.6-35b-a3b', tokens: T(1800, 653), cost: undefined },
      ]);
      for (const e of events) assert.ok(UsageEventSchema.safeParse(e).success, e.key);
      assert.equal(ledger.totals.requests, 9);
      assert.equal(ledger.totals.loggedRequests, 8);
      assert.equal(new Set(events.map((e) => e.key)).size, 9);
      assert.ok(events.every((e) => e.project === dir && e.file === history() && e.agent === 'aider'));
    });

    it('older shapes: ⚡ / ♾️ announcements, 0.51–0.79 "Use --no-stream" continuation, dev "cached" and sent-without-cache counts', async () => {
      writeFile(history(), [
        header('2024-08-20 08:53:23'),
        tool('Aider v0.51.1-dev', 'Models: claude-3-5-sonnet-20240620⚡ with ♾️ diff edit format, weak model claude-3-haiku-20240307'),
        // seen in aider's own history (tests/fixtures/chat-history.md)
        tool('Tokens: 12,963 sent, 11,191 cache write, 1,270 cache hit, 105 received.\nCost: $0.05 message, $0.05 session.'),
        tool('Tokens: 20,069 sent, 400 received.\nCost: $0.07 message, $0.12 session. Use --no-stream for accurate caching costs.'),
        tool('Tokens: 492 sent, 1,278 cached, 72 received. Cost: $0.0026 message, $0.12 session.'),
        tool('Tokens: 194 sent, 9,474 cache write, 7 received. Cost: $0.0000088 message, $0.12 session.'),
        header('2024-11-20 10:00:00'),
        tool('Aider v0.63.1', 'Main model: claude-3-5-sonnet-20241022 with diff edit format, prompt cache, infinite output'),
        tool('Tokens: 15k sent, 400 received.\nCost: $0.07 message, $0.07 session. Use --no-stream for accurate caching costs.'),
      ].join(''));
      const { scanner, events } = setup({ folders: [dir] });
      await scanner.scanAll();
      assert.deepEqual(events.map(brief), [
        { model: 'claude-3-5-sonnet-20240620', tokens: T(502, 105, 11191, 1270), cost: 0.05 },
        { model: 'claude-3-5-sonnet-20240620', tokens: T(20069, 400), cost: 0.07 },
        { model: 'claude-3-5-sonnet-20240620', tokens: T(492, 72, 0, 1278), cost: 0.0026 },
        { model: 'claude-3-5-sonnet-20240620', tokens: T(194, 7, 9474), cost: 0.0000088 },
        { model: 'claude-3-5-sonnet-20241022', tokens: T(15000, 400), cost: 0.07 },
      ]);
    });

    it('splits sessions at headers: session id, start time (local), stable keys, +1 ms per line for order', async () => {
      writeFile(history(), [
        header('2026-07-07 12:11:05'),
        tool('Aider v0.86.2', 'Model: deepseek/deepseek-v4-pro with whole edit format, infinite output'),
        tool('Tokens: 3.0k sent, 6.0k received. Cost: $0.0065 message, $0.0065 session.'),
        tool('Tokens: 6.0k sent, 3.8k received. Cost: $0.0059 message, $0.01 session.'),
        header('2026-07-07 15:35:13'),
        tool('Aider v0.86.2', 'Model: deepseek/deepseek-v4-pro with whole edit format, infinite output'),
        tool('Tokens: 2.5k sent, 1.8k received. Cost: $0.0027 message, $0.0027 session.'),
        header('2026-07-07 16:00:00'), // a session without usage
        tool('Aider v0.86.2', 'Model: deepseek/deepseek-v4-pro with whole edit format, infinite output'),
      ].join(''));
      const { scanner, events, ledger } = setup({ folders: [dir] });
      await scanner.scanAll();
      const f = history();
      assert.deepEqual(events.map((e) => [e.key, e.sessionId, e.timestamp]), [
        [`aider:${f}:2026-07-07 12:11:05:1`, `${f}#2026-07-07 12:11:05`, local('2026-07-07 12:11:05')],
        [`aider:${f}:2026-07-07 12:11:05:2`, `${f}#2026-07-07 12:11:05`, local('2026-07-07 12:11:05') + 1],
        [`aider:${f}:2026-07-07 15:35:13:1`, `${f}#2026-07-07 15:35:13`, local('2026-07-07 15:35:13')],
      ]);
      assert.equal(ledger.group('session').size, 2);
    });

    it('follows /model switches inside a session', async () => {
      writeFile(history(), [
        header('2026-06-24 00:29:34'),
        tool('Aider v0.86.2', 'Model: openai/gpt-5.5 with whole edit format'),
        prompt('/model openai/gpt-5.4'),
        tool('Aider v0.86.2', 'Main model: openai/gpt-5.4 with whole edit format', 'Weak model: openai/gpt-5.5'),
        prompt('/ask what does delta represent?'),
        prompt('what does delta represent?'),
        reply('The time since the last frame.'),
        tool('Tokens: 587 sent, 345 received. Cost: $0.0066 message, $0.0066 session.'),
        prompt('/model openai/gpt-5.5'),
        tool('Aider v0.86.2', 'Main model: openai/gpt-5.5 with whole edit format', 'Weak model: deepseek/deepseek-v4-pro'),
        tool('Tokens: 7.4k sent, 2.0k received. Cost: $0.10 message, $0.11 session.'),
      ].join(''));
      const { scanner, events } = setup({ folders: [dir] });
      await scanner.scanAll();
      assert.deepEqual(events.map((e) => e.model), ['openai/gpt-5.4', 'openai/gpt-5.5']);
    });

    it('architect mode: the architect\'s report is the main model\'s, the editor\'s follows; one-shots, declines and reflections', async () => {
      const opus = 'anthropic/claude-opus-4-20250514';
      const sonnet = 'anthropic/claude-sonnet-4-20250514';
      const usage = (out: number) => tool(`Tokens: 5.0k sent, ${out} received. Cost: $0.01 message, $0.50 session.`);
      writeFile(history(), [
        header('2026-01-10 10:00:00'),
        tool('Aider v0.86.1', `Main model: ${opus} with architect edit format, infinite output`, `Editor model: ${sonnet} with editor-diff edit format`, 'Weak model: anthropic/claude-3-5-haiku-20241022'),
        prompt('add retries'), reply('Plan: wrap the call.'), usage(1), // architect
        prompt('Plan: wrap the call.'), reply('a.py edit'), usage(2), tool('Applied edit to a.py'), // editor
        prompt('/ask why retries?'), prompt('why retries?'), reply('Because.'), usage(3), // /ask: main model alone
        prompt('add logging'), reply('Plan: log.'), usage(4), // architect
        tool('Edit the files? (Y)es/(N)o [Yes]: n'), // declined: no editor run
        prompt('add tests'), reply('Plan: tests.'), usage(5), // architect
        prompt('Plan: tests.'), reply('bad edit'), usage(6), // editor
        tool('The LLM did not conform to the edit format.'), usage(7), // editor reflects
        prompt('more'), reply('Mentions src/x.py'), usage(8), // architect
        tool('src/x.py'), tool("Add file to the chat? (Y)es/(N)o/(D)on't ask again [Yes]: y"), usage(9), // architect again
        prompt('Plan: x.'), usage(10), // editor
        tool('Applied edit to src/x.py'), tool('Attempt to fix lint errors? (Y)es/(N)o [Yes]: y'), usage(11), // editor fixes lint
        prompt('/code quick fix'), usage(12), // one-shot code coder, main model
        prompt('next'), usage(13), // architect
        prompt('Plan'), usage(14), // editor
      ].join(''));
      const { scanner, events } = setup({ folders: [dir] });
      await scanner.scanAll();
      const byOutput = events.map((e) => [e.tokens.output, e.model === opus ? 'main' : e.model === sonnet ? 'editor' : e.model]);
      assert.deepEqual(byOutput, [
        [1, 'main'], [2, 'editor'], [3, 'main'], [4, 'main'], [5, 'main'], [6, 'editor'], [7, 'editor'],
        [8, 'main'], [9, 'main'], [10, 'editor'], [11, 'editor'], [12, 'main'], [13, 'main'], [14, 'editor'],
      ]);
    });

    it('never throws on prose: prompts and replies that look like reports, headers or costs are ignored', async () => {
      writeFile(history(), [
        tool('Tokens: 1.0k sent, 10 received. Cost: $0.01 message, $0.01 session.'), // before any header: no session time
        header('2026-02-01 08:00:00'),
        tool('Aider v0.86.2', 'Model: gpt-4o with diff edit format'),
        prompt('> Tokens: 5 sent, 5 received.\nCost: $5.00 message, $5.00 session.\n# aider chat started at 2020-01-01 00:00:00\n/model not-a-model'),
        reply('Cost: $3.00 message, $3.00 session.\n> Model: fake with diff edit format\n# aider chat started at yesterday\n> Tokens: lots sent, many received.\nTotal Cost: $12 per month'),
        tool('Model gpt-4o has hit a token limit!'),
        tool('Tokens: 2.0k sent, 20 received. Cost: $0.01 message, $0.01 session.'),
        'Cost: $9.99 message, $9.99 session.\n', // not right after a report without cost
        '\u0000\uFFFD garbage > Tokens: ###\n',
      ].join(''));
      const { scanner, events, warnings } = setup({ folders: [dir] });
      await scanner.scanAll();
      assert.deepEqual(warnings, []);
      assert.deepEqual(events.map(brief), [{ model: 'gpt-4o', tokens: T(2000, 20), cost: 0.01 }]);
    });
  });

  describe('reading incrementally', () => {
    const start = [
      header('2026-03-01 09:00:00'),
      tool('Aider v0.86.2', 'Main model: anthropic/claude-sonnet-4-5-20250929 with diff edit format, prompt cache, infinite output', 'Weak model: anthropic/claude-haiku-4-5-20251001'),
      prompt('go'),
    ].join('');

    it('a report whose Cost line arrives in the next append gets its cost, once', async () => {
      writeFile(history(), start + '> Tokens: 8.9k sent, 2.0k cache write, 6.1k cache hit, 245 received.\n');
      const { scanner, events, ledger } = setup({ folders: [dir] });
      await scanner.scanAll();
      assert.equal(events.length, 0, 'held until the next line says whether the cost follows');
      fs.appendFileSync(history(), 'Cost: $0.05 message, $0.05 session.  \n');
      await scanner.readFiles([history()]);
      assert.deepEqual(events.map(brief), [{ model: 'anthropic/claude-sonnet-4-5-20250929', tokens: T(800, 245, 2000, 6100), cost: 0.05 }]);
      // a partial line is left for the next read; the next report follows in order
      fs.appendFileSync(history(), prompt('more') + '> Tokens: 9.5k sent, 1.0k cache write, 8.2k cache hit, 100 rec');
      await scanner.readFiles([history()]);
      assert.equal(events.length, 1);
      fs.appendFileSync(history(), 'eived.\nCost: $0.02 message, $0.07 session.  \n');
      await scanner.readFiles([history()]);
      assert.deepEqual(events.map((e) => [e.key.slice(-21), e.loggedCostUSD]), [['2026-03-01 09:00:00:1', 0.05], ['2026-03-01 09:00:00:2', 0.02]]);
      assert.equal(ledger.totals.requests, 2);
      assert.equal(ledger.totals.loggedCostNanos, 70_000_000);
    });

    it('a held report without a following Cost line is counted (unpriced) when the next line comes', async () => {
      writeFile(history(), start + tool('Tokens: 8.9k sent, 2.0k cache write, 6.1k cache hit, 245 received.'));
      const { scanner, events } = setup({ folders: [dir] });
      await scanner.scanAll();
      assert.equal(events.length, 0);
      fs.appendFileSync(history(), prompt('/add b.py') + tool('Tokens: 9.0k sent, 1.0k cache write, 7.9k cache hit, 50 received.'));
      await scanner.readFiles([history()]);
      // the first is now known unpriced; the second, same model, is not held
      assert.deepEqual(events.map((e) => [e.tokens.output, e.loggedCostUSD]), [[245, undefined], [50, undefined]]);
    });

    it('re-reading from the start (truncation, older sessions cut, a fresh scanner) gives the same keys', async () => {
      const s1 = header('2026-03-01 09:00:00') + tool('Aider v0.86.2', 'Model: gpt-4.1 with diff edit format') +
        tool('Tokens: 1.0k sent, 10 received. Cost: $0.01 message, $0.01 session.') + tool('Tokens: 2.0k sent, 20 received. Cost: $0.01 message, $0.02 session.');
      const s2 = header('2026-03-02 09:00:00') + tool('Aider v0.86.2', 'Model: gpt-4.1 with diff edit format') +
        tool('Tokens: 3.0k sent, 30 received. Cost: $0.01 message, $0.01 session.') + tool('Tokens: 4.0k sent, 40 received. Cost: $0.01 message, $0.02 session.');
      writeFile(history(), s1 + s2);
      const { scanner, events, ledger } = setup({ folders: [dir] });
      await scanner.scanAll();
      const keys = events.map((e) => e.key);
      assert.equal(keys.length, 4);
      // the user cut the first session out: the file shrank and its head changed → read from the start
      fs.writeFileSync(history(), s2);
      events.length = 0;
      await scanner.scanAll();
      assert.deepEqual(events.map((e) => e.key), keys.slice(2));
      // restored whole (truncated to nothing first)
      fs.writeFileSync(history(), '');
      await scanner.scanAll();
      fs.writeFileSync(history(), s1 + s2);
      events.length = 0;
      await scanner.scanAll();
      assert.deepEqual(events.map((e) => e.key), keys);
      assert.equal(ledger.totals.requests, 4, 'nothing counted twice');
      const fresh = setup({ folders: [dir] });
      await fresh.scanner.scanAll();
      assert.deepEqual(fresh.events.map((e) => e.key), keys);
    });

    it('resumes after a restart from the saved parser state: session, model, counts and a held report', async () => {
      writeFile(history(), start + tool('Tokens: 1.0k sent, 10 received. Cost: $0.01 message, $0.01 session.') +
        '> Tokens: 8.9k sent, 2.0k cache write, 6.1k cache hit, 245 received.\n');
      const first = setup({ folders: [dir] });
      await first.scanner.scanAll();
      assert.equal(first.events.length, 1);
      const saved = JSON.parse(JSON.stringify(first.scanner.exportFiles()));
      fs.appendFileSync(history(), 'Cost: $0.05 message, $0.06 session.  \n' + tool('Tokens: 3.0k sent, 30 received. Cost: $0.01 message, $0.07 session.'));
      const second = setup({ folders: [dir] });
      second.scanner.restoreFiles(saved);
      const stats = await second.scanner.scanAll();
      assert.ok(stats.bytesRead < fs.statSync(history()).size, 'only the appended bytes are read');
      assert.deepEqual(second.events.map((e) => [e.key.slice(-21), e.model, e.tokens.output, e.loggedCostUSD]), [
        ['2026-03-01 09:00:00:2', 'anthropic/claude-sonnet-4-5-20250929', 245, 0.05],
        ['2026-03-01 09:00:00:3', 'anthropic/claude-sonnet-4-5-20250929', 30, 0.01],
      ]);
      // a state of another shape gives a fresh parser instead of throwing
      const p = new AiderSource(envFor(), fsp, { folders: [] }).createParser(history(), { session: 42 });
      assert.deepEqual(p.parseLine('> Tokens: 1.0k sent, 10 received.'), []);
    });

    it('appends in random slices with warm restarts in between give exactly the events of one full read', async () => {
      // the report variants above plus the five real histories (read from ../shared, written to a temp file)
      const realText = ['Monochromatic', 'car-game', 'metadata-aider', 'mozgoslav', 'pgstndtrprt']
        .map((r) => fs.readFileSync(path.join(REAL_LOGS, 'aider', r, AIDER_HISTORY_FILE), 'utf8')).join('');
      const text = Buffer.from(start + tool('Tokens: 8.9k sent, 2.0k cache write, 6.1k cache hit, 245 received.\nCost: $0.05 message, $0.05 session.') +
        header('2024-08-20 09:44:09') + tool('Aider v0.60.0', 'Main model: claude-3-5-sonnet-20240620 with diff edit format, prompt cache, infinite output') +
        tool('Tokens: 15k sent, 13k cache write, 1.6k cache hit, 133 received.\nCost: $0.05 message, $0.05 session.') +
        tool('Tokens: 20k sent, 400 received.\nCost: $0.07 message, $0.12 session. Use --no-stream for accurate caching costs.') + realText);
      const reference = setup({ folders: [dir] });
      fs.writeFileSync(history(), text);
      await reference.scanner.scanAll();
      const want = new Map(reference.events.map((e) => [e.key, e]));
      assert.equal(want.size, 92 + 3);

      let seed = 7;
      const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
      fs.writeFileSync(history(), '');
      const got = new Map<string, UsageEvent>();
      const open = (saved?: unknown) => {
        const s = setup({ folders: [dir] }, { fs: fsp });
        if (saved) s.scanner.restoreFiles(JSON.parse(JSON.stringify(saved)));
        return s;
      };
      let run = open();
      let seen = 0;
      const collect = () => {
        for (const e of run.events.slice(seen)) {
          assert.ok(!got.has(e.key), `${e.key} emitted twice`);
          got.set(e.key, e);
        }
        seen = run.events.length;
      };
      await run.scanner.scanAll();
      for (let pos = 0; pos < text.length;) {
        const n = 1 + Math.floor(rnd() * 6000);
        fs.appendFileSync(history(), text.subarray(pos, pos + n));
        pos += n;
        if (rnd() < 0.15) {
          collect();
          run = open(run.scanner.exportFiles());
          seen = 0;
          await run.scanner.scanAll();
        } else {
          await run.scanner.readFiles([history()]);
        }
        collect();
      }
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
      for (const [k, e] of want) assert.deepEqual(got.get(k), e, k);
    });
  });

  describe('discover()', () => {
    it('finds <folder>/.aider.chat.history.md and the one at the git root above a workspace subfolder', async () => {
      const repo = path.join(dir, 'repo');
      fs.mkdirSync(path.join(repo, '.git'), { recursive: true });
      const sub = path.join(repo, 'packages', 'web');
      fs.mkdirSync(sub, { recursive: true });
      writeFile(path.join(repo, AIDER_HISTORY_FILE), header('2026-01-01 10:00:00'));
      const plain = path.join(dir, 'plain');
      writeFile(path.join(plain, AIDER_HISTORY_FILE), header('2026-01-01 10:00:00'));
      const src = new AiderSource(envFor(), fsp, { folders: [sub, plain, plain + path.sep, path.join(dir, 'missing')] });
      const found = await src.discover();
      assert.deepEqual(found.files, [
        { path: path.join(repo, AIDER_HISTORY_FILE), root: repo },
        { path: path.join(plain, AIDER_HISTORY_FILE), root: plain },
      ]);
      assert.deepEqual(found.roots, [sub, repo, plain]);
      assert.deepEqual(found.problems, []);
    });

    it('explicit --chat-history-file paths (absolute, relative to each folder, ~, AIDER_CHAT_HISTORY_FILE)', async () => {
      const home = path.join(dir, 'home');
      const ws = path.join(dir, 'ws');
      writeFile(path.join(dir, 'elsewhere', 'chat.md'), '');
      writeFile(path.join(ws, 'logs', 'aider.md'), '');
      writeFile(path.join(home, 'aider', 'h.md'), '');
      writeFile(path.join(dir, 'env', 'e.md'), '');
      fs.mkdirSync(path.join(dir, 'empty'));
      const src = new AiderSource(envFor({ AIDER_CHAT_HISTORY_FILE: path.join(dir, 'env', 'e.md') }, home), fsp, {
        folders: [ws],
        historyFiles: [path.join(dir, 'elsewhere', 'chat.md'), 'logs/aider.md', '~/aider/h.md', path.join(dir, 'empty', 'not-yet.md'), path.join(dir, 'nowhere', 'x.md')],
      });
      const found = await src.discover();
      assert.deepEqual(found.files.map((f) => [path.relative(dir, f.path), path.relative(dir, f.root)]), [
        [path.join('ws', 'logs', 'aider.md'), path.join('ws', 'logs')],
        [path.join('elsewhere', 'chat.md'), 'elsewhere'],
        [path.join('home', 'aider', 'h.md'), path.join('home', 'aider')],
        [path.join('env', 'e.md'), 'env'],
      ]);
      assert.ok(found.roots.includes(path.join(dir, 'empty')), 'the folder of a history not written yet is watched');
      assert.ok(!found.roots.includes(path.join(dir, 'nowhere')));
      assert.deepEqual(found.problems, []);
      // and the scanner reads them
      const { scanner, warnings } = setup({ folders: [ws], historyFiles: ['logs/aider.md'] });
      await scanner.scanAll();
      assert.deepEqual(warnings, []);
      assert.equal(scanner.trackedFiles, 1);
    });

    it('a missing folder gives nothing; unreadable ones are problems, never throws', async () => {
      const ok = path.join(dir, 'ok');
      writeFile(path.join(ok, AIDER_HISTORY_FILE), '');
      const locked = path.join(dir, 'locked');
      const hidden = path.join(dir, 'hidden');
      fs.mkdirSync(locked);
      fs.mkdirSync(hidden);
      const denied = (p: string) => Object.assign(new Error(`EACCES: permission denied, stat '${p}'`), { code: 'EACCES' });
      const fakeFs: SourceFs = {
        readdir: (p, o) => fsp.readdir(p, o),
        stat: async (p) => {
          if (p === locked || p === path.join(hidden, AIDER_HISTORY_FILE)) throw denied(p);
          return fsp.stat(p);
        },
        open: (p, f) => fsp.open(p, f),
      };
      const src = new AiderSource(envFor(), fakeFs, { folders: [path.join(dir, 'missing'), locked, hidden, ok] });
      const found = await src.discover();
      assert.deepEqual(found.files, [{ path: path.join(ok, AIDER_HISTORY_FILE), root: ok }]);
      assert.deepEqual(found.problems.map((p) => p.path), [locked, path.join(hidden, AIDER_HISTORY_FILE)]);
      assert.ok(found.problems.every((p) => p.message.includes('EACCES')));
      assert.deepEqual(found.roots, [hidden, ok]);
      const none = await new AiderSource(envFor(), fsp, { folders: [] }).discover();
      assert.deepEqual(none, { files: [], roots: [], problems: [] });
    });
  });

  describe('real histories (../shared/real-logs/aider)', () => {
    /**
     * Expected figures from test/unit/independent/aider_count.py, a separate Python reading of
     * the format (run: `python3 test/unit/independent/aider_count.py ../shared/real-logs/aider/*\/.aider.chat.history.md`).
     * cost = sum of the `$X message|request` figures. SOURCES.md's Monochromatic "$1.02" is the sum of
     * the sessions' LAST running `$Y session` figures (the script gives 1.02 too); the message
     * figures sum to $1.0084 — aider rounds each figure on its own (2 decimals once ≥ $0.01).
     */
    const expected: Record<string, { lines: number; sessions: number; cost: number; logged: number; input: number; output: number; models: Record<string, number> }> = {
      Monochromatic: { lines: 39, sessions: 6, cost: 1.0084, logged: 39, input: 613500, output: 24145, models: { 'gemini/gemini-2.5-pro-preview-05-06': 39 } },
      'car-game': { lines: 22, sessions: 8, cost: 1.2941, logged: 22, input: 200587, output: 50173, models: { 'openai/gpt-5.4': 1, 'deepseek/deepseek-v4-pro': 13, 'openai/gpt-5.5': 8 } },
      'metadata-aider': { lines: 12, sessions: 1, cost: 0.01346, logged: 12, input: 73600, output: 4303, models: { 'openrouter/openai/gpt-4o-mini': 12 } },
      mozgoslav: { lines: 14, sessions: 2, cost: 0, logged: 0, input: 83800, output: 25550, models: { 'lm_studio/qwen3.6-35b-a3b-uncensored-hauhaucs-aggressive': 14 } },
      pgstndtrprt: { lines: 5, sessions: 2, cost: 0.39, logged: 5, input: 46178, output: 15975, models: { 'claude-3-5-sonnet-20240620': 5 } },
    };
    for (const [repo, want] of Object.entries(expected)) {
      it(`${repo}: ${want.lines} usage lines in ${want.sessions} sessions, $${want.cost} logged`, async () => {
        const folder = path.join(REAL_LOGS, 'aider', repo);
        assert.ok(fs.existsSync(path.join(folder, AIDER_HISTORY_FILE)), `real log missing at ${folder}`);
        const { scanner, ledger, warnings, events } = setup({ folders: [folder] });
        await scanner.scanAll();
        assert.deepEqual(warnings, []);
        const models: Record<string, number> = {};
        for (const e of events) models[e.model ?? '(none)'] = (models[e.model ?? '(none)'] ?? 0) + 1;
        assert.deepEqual(
          {
            lines: ledger.totals.requests,
            sessions: ledger.group('session').size,
            cost: Math.round(ledger.totals.loggedCostNanos) / 1e9,
            logged: ledger.totals.loggedRequests,
            input: ledger.totals.inputTokens,
            output: ledger.totals.outputTokens,
            models,
          },
          want,
        );
        assert.equal(ledger.totals.cacheCreationTokens + ledger.totals.cacheReadTokens, 0, 'no cache figures in these histories');
        assert.equal(new Set(events.map((e) => e.key)).size, events.length);
      });
    }

    it('all five: 39 sessions (19 with usage), as SOURCES.md counts them', async () => {
      const folders = Object.keys(expected).map((r) => path.join(REAL_LOGS, 'aider', r));
      const { scanner, ledger } = setup({ folders });
      await scanner.scanAll();
      assert.equal(scanner.trackedFiles, 5);
      assert.equal(ledger.group('session').size, 19);
      assert.equal(ledger.totals.requests, 92);
      let headers = 0;
      for (const f of folders) headers += fs.readFileSync(path.join(f, AIDER_HISTORY_FILE), 'utf8').split('\n').filter((l) => l.startsWith('# aider chat started at ')).length;
      assert.equal(headers, 39);
    });
  });
});
