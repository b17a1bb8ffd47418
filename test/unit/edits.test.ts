import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseReportArgs, runReport } from '../../src/cli/main';
import { isEdit, type EditEvent, type SourceEvent } from '../../src/core/events';
import { Ledger } from '../../src/core/ledger';
import { ClaudeCodeSource } from '../../src/sources/claudeCode';
import { CodexSource } from '../../src/sources/codex';
import { diffLines, lineCount, parseApplyPatch } from '../../src/sources/editCounts';
import { toNeedles } from '../../src/sources/needle';
import { candidateLines } from '../../src/sources/tailer';
import type { LineParser, Source, SourceEnv, SourceFs } from '../../src/sources/source';
import { validateEvent } from './helpers';

const env: SourceEnv = { env: {}, home: '/home/u', platform: 'linux' };
const noFs = {} as SourceFs;
const FILE = '/home/u/.claude/projects/-home-u-proj/s1.jsonl';
const T0 = Date.parse('2026-03-01T10:00:00Z');
const iso = (min: number) => new Date(T0 + min * 60_000).toISOString();
const pricer = { priceNanos: () => 1000 };

let msgN = 0;
function assistant(min: number, blocks: unknown[]): string {
  msgN++;
  return JSON.stringify({
    parentUuid: null, isSidechain: false, type: 'assistant', cwd: '/home/u/proj', sessionId: 's1', uuid: `a${msgN}`, timestamp: iso(min), requestId: `req${msgN}`,
    message: { id: `msg${msgN}`, type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: blocks, stop_reason: 'tool_use', stop_sequence: null, usage: { input_tokens: 10, output_tokens: 5 } },
  });
}
const toolUse = (id: string, name: string, input: unknown) => ({ type: 'tool_use', id, name, input });
function result(min: number, id: string, toolUseResult: unknown, isError = false): string {
  const block: Record<string, unknown> = { tool_use_id: id, type: 'tool_result', content: isError ? '<tool_use_error>String to replace not found</tool_use_error>' : 'ok' };
  if (isError) block['is_error'] = true;
  return JSON.stringify({ parentUuid: null, isSidechain: false, type: 'user', cwd: '/home/u/proj', sessionId: 's1', uuid: `u-${id}`, timestamp: iso(min), message: { role: 'user', content: [block] }, toolUseResult });
}
const hunk = (lines: string[]) => [{ oldStart: 1, oldLines: 0, newStart: 1, newLines: 0, lines }];

/** Feeds lines the way the tailer does: only lines with a needle, through parseBytes when the parser has it. */
function feed(source: Source, parser: LineParser, lines: string[]): SourceEvent[] {
  const buf = Buffer.from(lines.join('\n') + '\n');
  const out: SourceEvent[] = [];
  for (const [s, e] of candidateLines(buf, toNeedles(source.needles))) {
    out.push(...(parser.parseBytes ? parser.parseBytes(buf, s, e) : parser.parseLine(buf.toString('utf8', s, e))));
  }
  return out;
}
const editsOf = (events: SourceEvent[]) => events.filter(isEdit);

/** A transcript with every case: Edit, failed Edit retried, MultiEdit, Write create, Write over an existing file, Write without a pre-image, NotebookEdit. */
function transcript(): string[] {
  return [
    JSON.stringify({ type: 'user', sessionId: 's1', uuid: 'p1', timestamp: iso(0), cwd: '/home/u/proj', message: { role: 'user', content: 'fix the parser' } }),
    // 1. Edit with a structuredPatch: 2 added, 1 removed.
    assistant(1, [{ type: 'text', text: 'editing' }, toolUse('t1', 'Edit', { file_path: '/home/u/proj/a.ts', old_string: 'x', new_string: 'y\nz' })]),
    result(1.1, 't1', { filePath: '/home/u/proj/a.ts', oldString: 'x', newString: 'y\nz', originalFile: 'x\n', structuredPatch: hunk(['-x', '+y', '+z']), userModified: false, replaceAll: false }),
    // 2. A failed Edit (counts nothing), then its retry (counts).
    assistant(2, [toolUse('t2', 'Edit', { file_path: '/home/u/proj/b.ts', old_string: 'nope', new_string: 'a\nb\nc' })]),
    result(2.1, 't2', 'Error: String to replace not found in file.', true),
    assistant(3, [toolUse('t3', 'Edit', { file_path: '/home/u/proj/b.ts', old_string: 'old', new_string: 'a\nb\nc' })]),
    result(3.1, 't3', { filePath: '/home/u/proj/b.ts', oldString: 'old', newString: 'a\nb\nc', structuredPatch: hunk([' ctx', '-old', '+a', '+b', '+c']) }),
    // 3. MultiEdit with three edits: 1+2+0 added, 1+1+2 removed.
    assistant(4, [toolUse('t4', 'MultiEdit', { file_path: '/home/u/proj/c.ts', edits: [{ old_string: 'a', new_string: 'A' }, { old_string: 'b', new_string: 'B1\nB2' }, { old_string: 'c\nd', new_string: '' }] })]),
    result(4.1, 't4', { filePath: '/home/u/proj/c.ts', edits: [], originalFileContents: 'a\nb\nc\nd\n', structuredPatch: [{ lines: ['-a', '+A'] }, { lines: ['-b', '+B1', '+B2'] }, { lines: ['-c', '-d'] }] }),
    // 4. Write creating a file: 3 lines.
    assistant(5, [toolUse('t5', 'Write', { file_path: '/home/u/proj/new.ts', content: 'l1\nl2\nl3\n' })]),
    result(5.1, 't5', { type: 'create', filePath: '/home/u/proj/new.ts', content: 'l1\nl2\nl3\n', structuredPatch: [] }),
    // 5. Write over an existing file: the diff against originalFile (1 changed line of 3), not the whole file.
    assistant(6, [toolUse('t6', 'Write', { file_path: '/home/u/proj/a.ts', content: 'one\nTWO\nthree\n' })]),
    result(6.1, 't6', { type: 'update', filePath: '/home/u/proj/a.ts', content: 'one\nTWO\nthree\n', structuredPatch: [{ lines: [' one', '-two', '+TWO', ' three'] }], originalFile: 'one\ntwo\nthree\n' }),
    // 6. Write over a file the log does not show (no patch, no original): inexact, whole content as added.
    assistant(7, [toolUse('t7', 'Write', { file_path: '/home/u/proj/d.ts', content: 'q\nr\n' })]),
    result(7.1, 't7', { type: 'update', filePath: '/home/u/proj/d.ts', content: 'q\nr\n', structuredPatch: 'n/a' }),
    // A second prompt: a new task.
    JSON.stringify({ type: 'user', sessionId: 's1', uuid: 'p2', timestamp: iso(8), cwd: '/home/u/proj', message: { role: 'user', content: 'now the notebook' } }),
    assistant(9, [toolUse('t8', 'NotebookEdit', { notebook_path: '/home/u/proj/n.ipynb', new_source: 'print(1)\nprint(2)', edit_mode: 'insert' })]),
  ];
}

describe('edits: Claude Code', () => {
  it('counts what each edit tool applied (Edit, failed + retried Edit, MultiEdit, Write create/overwrite, NotebookEdit)', () => {
    const source = new ClaudeCodeSource(env, noFs);
    const events = feed(source, source.createParser(FILE), transcript());
    const edits = editsOf(events);
    edits.forEach(validateEvent);
    const by = (key: string) => edits.find((e) => e.key === `cce:${key}`)!;
    assert.deepEqual(edits.map((e) => e.key), ['cce:t1', 'cce:t2', 'cce:t3', 'cce:t4', 'cce:t5', 'cce:t6', 'cce:t7', 'cce:t8']);
    assert.deepEqual([by('t1').linesAdded, by('t1').linesRemoved, by('t1').exact], [2, 1, true]);
    assert.equal(by('t1').path, '/home/u/proj/a.ts');
    assert.equal(by('t1').timestamp, T0 + 60_000);
    assert.equal(by('t1').file, FILE);
    assert.deepEqual([by('t2').linesAdded, by('t2').linesRemoved, by('t2').failed], [0, 0, true]);
    assert.deepEqual([by('t3').linesAdded, by('t3').linesRemoved], [3, 1]);
    assert.deepEqual([by('t4').linesAdded, by('t4').linesRemoved, by('t4').exact], [3, 4, true]);
    assert.deepEqual([by('t5').linesAdded, by('t5').linesRemoved, by('t5').exact], [3, 0, true]);
    assert.deepEqual([by('t6').linesAdded, by('t6').linesRemoved, by('t6').exact], [1, 1, true]);
    assert.deepEqual([by('t7').linesAdded, by('t7').linesRemoved, by('t7').exact], [2, 0, false]);
    assert.deepEqual([by('t8').linesAdded, by('t8').path, by('t8').exact], [2, '/home/u/proj/n.ipynb', true]);
    // Usage still read, through the fast path for lines without edit tools.
    assert.equal(events.filter((e) => !('kind' in e)).length, 8);
  });

  it('gives the same edits through parseLine and parseBytes, and none with edits off', () => {
    const source = new ClaudeCodeSource(env, noFs);
    const viaLines = transcript().flatMap((l) => source.createParser(FILE).parseLine(l)); // fresh parser per line: results never match
    assert.equal(editsOf(viaLines).filter((e) => e.key !== 'cce:t8').length, 0);
    const p = source.createParser(FILE);
    const sequential = editsOf(transcript().flatMap((l) => p.parseLine(l)));
    assert.deepEqual(sequential, editsOf(feed(source, source.createParser(FILE), transcript())));
    const off = new ClaudeCodeSource(env, noFs, { edits: false, prompts: false });
    assert.deepEqual(off.needles, ['_tokens"']);
    assert.equal(editsOf(feed(off, off.createParser(FILE), transcript())).length, 0);
  });

  it('keeps pending calls across a restart (saveState is JSON and bounded)', () => {
    const source = new ClaudeCodeSource(env, noFs);
    const lines = transcript();
    const first = source.createParser(FILE);
    feed(source, first, lines.slice(0, 2)); // the Edit call, not its result
    const state = JSON.parse(JSON.stringify(first.saveState!())) as unknown;
    const second = source.createParser(FILE, state);
    const edits = editsOf(feed(source, second, lines.slice(2, 3)));
    assert.deepEqual(edits.map((e) => [e.key, e.linesAdded, e.linesRemoved]), [['cce:t1', 2, 1]]);
    // Bounded: 1000 calls without results keep at most a few hundred pending.
    const many = source.createParser(FILE);
    many.parseLine(assistant(1, Array.from({ length: 1000 }, (_, i) => toolUse(`x${i}`, 'Edit', { file_path: '/f', old_string: 'a', new_string: 'b' }))));
    const saved = many.saveState!() as { pending: unknown[] };
    assert.ok(saved.pending.length <= 256);
  });

  it('falls back to the old/new strings when the result holds no patch', () => {
    const source = new ClaudeCodeSource(env, noFs);
    const p = source.createParser(FILE);
    p.parseLine(assistant(1, [toolUse('f1', 'Edit', { file_path: '/f', old_string: 'a\nb\nc\n', new_string: 'a\nB\nc\nd\n' })]));
    const [e] = editsOf(p.parseLine(result(1, 'f1', { filePath: '/f' }))) as [EditEvent];
    assert.deepEqual([e.linesAdded, e.linesRemoved, e.exact], [2, 1, true]);
  });
});

describe('edits: line counting', () => {
  it('counts lines and diffs', () => {
    assert.equal(lineCount(''), 0);
    assert.equal(lineCount('a'), 1);
    assert.equal(lineCount('a\n'), 1);
    assert.equal(lineCount('a\n\nb'), 3);
    assert.deepEqual(diffLines('a\nb\nc\n', 'a\nc\n'), { added: 0, removed: 1 });
    assert.deepEqual(diffLines('', 'x\ny'), { added: 2, removed: 0 });
    assert.deepEqual(diffLines('1\n2\n3\n4', '1\nx\n3\ny'), { added: 2, removed: 2 });
  });

  it('parses apply_patch texts', () => {
    const patch = ['*** Begin Patch', '*** Add File: src/new.py', '+a', '+b', '*** Update File: src/old.py', '*** Move to: src/moved.py', '@@ def f():', ' ctx', '-x', '+y', '+z',
      '*** End of File', '*** Delete File: gone.txt', '*** End Patch'].join('\n');
    assert.deepEqual(parseApplyPatch(patch), [
      { path: 'src/new.py', added: 2, removed: 0, exact: true },
      { path: 'src/moved.py', added: 2, removed: 1, exact: true },
      { path: 'gone.txt', added: 0, removed: 0, exact: false },
    ]);
  });
});

describe('edits: Codex apply_patch', () => {
  const CFILE = '/home/u/.codex/sessions/2026/03/01/rollout-2026-03-01T10-00-00-11111111-2222-3333-4444-555555555555.jsonl';
  const rec = (min: number, type: string, payload: unknown) => JSON.stringify({ timestamp: iso(min), type, payload });
  const patch = '*** Begin Patch\n*** Update File: a.py\n@@\n-old\n+new1\n+new2\n*** Add File: b.py\n+x\n*** End Patch';
  const lines = [
    rec(0, 'session_meta', { id: 'sess-c', cwd: '/home/u/proj' }),
    rec(1, 'response_item', { type: 'custom_tool_call', status: 'completed', call_id: 'c1', name: 'apply_patch', input: patch }),
    rec(1.1, 'response_item', { type: 'custom_tool_call_output', call_id: 'c1', output: JSON.stringify({ output: 'Success. Updated the following files:\nM a.py\nA b.py\n', metadata: { exit_code: 0 } }) }),
    // Shell form (older CLIs), failed: counts nothing.
    rec(2, 'response_item', { type: 'function_call', name: 'shell', call_id: 'c2', arguments: JSON.stringify({ command: ['bash', '-lc', `apply_patch << 'PATCH'\n${patch.replace('a.py', 'c.py')}\nPATCH`] }) }),
    rec(2.1, 'response_item', { type: 'function_call_output', call_id: 'c2', output: 'apply_patch verification failed: Failed to find expected lines in c.py' }),
    // Shell form, retried, applied.
    rec(3, 'response_item', { type: 'function_call', name: 'shell', call_id: 'c3', arguments: JSON.stringify({ command: ['apply_patch', patch.replace('a.py', 'c.py')] }) }),
    rec(3.1, 'response_item', { type: 'function_call_output', call_id: 'c3', output: JSON.stringify({ output: 'Success. Updated the following files:\nM c.py\n', metadata: { exit_code: 0 } }) }),
  ];

  it('counts applied patches per file and marks failed ones', () => {
    const source = new CodexSource(env, noFs);
    const edits = editsOf(feed(source, source.createParser(CFILE), lines));
    edits.forEach(validateEvent);
    assert.deepEqual(edits.map((e) => [e.key, e.path, e.linesAdded, e.linesRemoved, !!e.failed]), [
      ['codexe:c1:0', 'a.py', 2, 1, false],
      ['codexe:c1:1', 'b.py', 1, 0, false],
      ['codexe:c2:0', 'c.py', 0, 0, true],
      ['codexe:c2:1', 'b.py', 0, 0, true],
      ['codexe:c3:0', 'c.py', 2, 1, false],
      ['codexe:c3:1', 'b.py', 1, 0, false],
    ]);
    assert.ok(edits.every((e) => e.sessionId === 'sess-c' && e.agent === 'codex'));
    const off = new CodexSource(env, noFs, { edits: false });
    assert.equal(editsOf(feed(off, off.createParser(CFILE), lines)).length, 0);
  });
});

describe('edits: ledger and tasks', () => {
  it('stores edits per session once, and gives each task its lines and files', () => {
    const source = new ClaudeCodeSource(env, noFs);
    const events = feed(source, source.createParser(FILE), transcript());
    const ledger = new Ledger(pricer);
    ledger.addAll(events);
    assert.equal(ledger.addAll(events), 0, 'a second copy changes nothing');
    assert.equal(ledger.sessionEdits('s1').length, 8);
    const tasks = ledger.tasks('s1');
    assert.equal(tasks.length, 2);
    const [t1, t2] = tasks as [typeof tasks[0], typeof tasks[0]];
    // 2+3+3+3+1+2 added, 1+1+4+0+1+0 removed; files a, b, c, new, d.
    assert.deepEqual([t1.linesAdded, t1.linesRemoved, t1.filesTouched, t1.editsExact], [14, 7, 5, false]);
    assert.deepEqual([t2.linesAdded, t2.linesRemoved, t2.filesTouched, t2.editsExact], [2, 0, 1, true]);
  });
});

describe('edits: CLI report --by session', () => {
  /** A Claude Code config folder in a temp dir with one session's log (`lines`), removed after `body`. */
  async function withSession(lines: string[], body: (dir: string, file: string) => Promise<void>): Promise<void> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-spend-edits-'));
    try {
      const file = path.join(dir, 'projects', '-home-u-proj', 's1.jsonl');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, lines.join('\n') + '\n');
      await body(dir, file);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  it('gives each session group linesAdded, linesRemoved, filesTouched and commits (null)', async () => {
    await withSession(transcript(), async (dir) => {
      const env = { HOME: dir };
      const bySession = await runReport(parseReportArgs(['--by', 'session', '--claude-dir', dir, '--agent', 'claude-code']), env);
      const g = bySession.report.groups[0] as unknown as Record<string, unknown>;
      assert.deepEqual([g['key'], g['linesAdded'], g['linesRemoved'], g['filesTouched'], g['commits']], ['s1', 16, 7, 6, null]);
      const byDay = await runReport(parseReportArgs(['--by', 'day', '--claude-dir', dir, '--agent', 'claude-code']), env);
      assert.equal((byDay.report.groups[0] as unknown as Record<string, unknown>)['linesAdded'], undefined);
      assert.equal(byDay.report.totals.requests, bySession.report.totals.requests);
    });
  });

  it('with an index: edits read after index.bin live in its delta, and every edit counts once (as without an index)', async () => {
    const lines = transcript();
    // up to the retried Edit's result
    await withSession(lines.slice(0, 7), async (dir, file) => {
      const env = { HOME: dir };
      const index = path.join(dir, 'index');
      const args = (...more: string[]) => parseReportArgs(['--claude-dir', dir, '--index', index, ...more]);
      const groupOf = (r: Awaited<ReturnType<typeof runReport>>) => {
        const g = r.report.groups[0] as unknown as Record<string, unknown>;
        return [g['linesAdded'], g['linesRemoved'], g['filesTouched']];
      };
      assert.deepEqual(groupOf(await runReport(args('--by', 'session'), env)), [5, 2, 2]);
      fs.appendFileSync(file, lines.slice(7).join('\n') + '\n');
      await runReport(args(), env); // an append: a delta, index.bin's edits not decoded
      assert.ok(fs.existsSync(path.join(index, 'index.delta')));
      // the session's first lines logged again (a resumed copy): no edit counts twice
      fs.appendFileSync(file, lines.slice(1, 7).join('\n') + '\n');
      const indexed = await runReport(args('--by', 'session'), env);
      assert.deepEqual(groupOf(indexed), [16, 7, 6]);
      assert.deepEqual(indexed.warnings, []);
      assert.deepEqual(groupOf(await runReport(parseReportArgs(['--claude-dir', dir, '--by', 'session']), env)), [16, 7, 6], 'no index');
    });
  });
});
