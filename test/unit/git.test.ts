import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execGit, gitFacts, isRepository, parseNumstatLog, survivingLines, UNKNOWN, type GitDeps } from '../../src/git/gitFacts';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const min = (m: number) => T0 + m * 60_000;
const deps: GitDeps = { run: execGit, timeoutMs: 10_000 };

function sh(cwd: string, args: string[], at?: number, input?: string): string {
  const date = at === undefined ? undefined : `@${Math.floor(at / 1000)} +0000`;
  return execFileSync('git', args, {
    cwd, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e', GIT_CONFIG_NOSYSTEM: '1', ...(date ? { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } : {}) },
  });
}

const made: string[] = [];
function tmp(name = 'agent-spend-git-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), name));
  made.push(d);
  return d;
}

function repo(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  sh(dir, ['init', '-q', '-b', 'main']);
  return dir;
}

function commit(dir: string, file: string, content: string, at: number): string {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  fs.writeFileSync(path.join(dir, file), content);
  sh(dir, ['add', '--', file]);
  sh(dir, ['commit', '-q', '-m', `edit ${file}`], at);
  return sh(dir, ['rev-parse', 'HEAD']).trim();
}

describe('git facts', function () {
  this.timeout(120_000);
  after(() => { for (const d of made) fs.rmSync(d, { recursive: true, force: true }); });

  it('counts the commits of the session window (+10 min grace) with their lines', async () => {
    const dir = repo(tmp());
    commit(dir, 'a.txt', 'a\n', min(-30)); // before the session
    commit(dir, 'a.txt', 'a\nb\nc\n', min(5)); // +2
    commit(dir, 'src/b.txt', 'x\ny\n', min(20)); // +2
    commit(dir, 'a.txt', 'a\nC\n', min(38)); // within the grace period: +1 -2
    commit(dir, 'a.txt', 'z\n', min(60)); // after
    const facts = await gitFacts(dir, { start: min(0), end: min(30) }, deps);
    assert.notEqual(facts, UNKNOWN);
    if (facts === UNKNOWN) return;
    assert.deepEqual([facts.commits, facts.linesAdded, facts.linesRemoved], [3, 5, 2]);
    assert.equal(await isRepository(dir, deps), true);
    // From a subfolder of the repository too.
    const sub = await gitFacts(path.join(dir, 'src'), { start: min(0), end: min(30) }, deps);
    assert.equal(sub !== UNKNOWN && sub.commits, 3);
  });

  it('gives unknown for a folder that is not a repository, a missing folder, an untrusted workspace, and a missing git', async () => {
    const plain = tmp();
    assert.equal(await isRepository(plain, deps), false);
    assert.equal(await gitFacts(plain, { start: 0, end: Date.now() }, deps), UNKNOWN);
    assert.equal(await gitFacts(path.join(plain, 'nope'), { start: 0, end: Date.now() }, deps), UNKNOWN);
    assert.equal(await gitFacts('', { start: 0, end: 1 }, deps), UNKNOWN);
    const dir = repo(tmp());
    commit(dir, 'a.txt', 'a\n', min(1));
    let ran = 0;
    const counting: GitDeps = { run: (a, o) => { ran++; return execGit(a, o); }, timeoutMs: 5000, trusted: false };
    assert.equal(await gitFacts(dir, { start: min(0), end: min(5) }, counting), UNKNOWN);
    assert.equal(ran, 0, 'git never runs in an untrusted workspace');
    const noGit: GitDeps = { run: async () => ({ stdout: '', code: null }), timeoutMs: 5000 };
    assert.equal(await gitFacts(dir, { start: min(0), end: min(5) }, noGit), UNKNOWN);
    const throwing: GitDeps = { run: () => Promise.reject(new Error('spawn git ENOENT')), timeoutMs: 5000 };
    assert.equal(await gitFacts(dir, { start: min(0), end: min(5) }, throwing), UNKNOWN);
  });

  it('runs only read-only commands with core.fsmonitor=false', async () => {
    const dir = repo(tmp());
    const h = commit(dir, 'a.txt', 'a\n', min(1));
    const seen: string[][] = [];
    const spy: GitDeps = { run: (a, o) => { seen.push([...a]); return execGit(a, o); }, timeoutMs: 5000 };
    await gitFacts(dir, { start: min(0), end: min(5) }, spy);
    await survivingLines(dir, ['a.txt'], [h], spy);
    assert.ok(seen.length > 0);
    for (const args of seen) {
      assert.deepEqual(args.slice(0, 2), ['-c', 'core.fsmonitor=false']);
      const cmd = args.find((a, i) => i >= 4 && !a.startsWith('-'));
      assert.ok(['rev-parse', 'log', 'blame'].includes(cmd!), `read-only: ${args.join(' ')}`);
    }
  });

  it('works on a detached HEAD and an empty repository', async () => {
    const dir = repo(tmp());
    const first = commit(dir, 'a.txt', 'a\n', min(-10));
    commit(dir, 'a.txt', 'a\nb\n', min(2));
    sh(dir, ['checkout', '-q', '--detach', first]);
    commit(dir, 'd.txt', '1\n2\n3\n', min(4)); // made on the detached HEAD
    const facts = await gitFacts(dir, { start: min(0), end: min(5) }, deps);
    assert.ok(facts !== UNKNOWN);
    assert.deepEqual([facts.commits, facts.linesAdded], [1, 3]);
    const empty = repo(tmp());
    const none = await gitFacts(empty, { start: 0, end: Date.now() }, deps);
    assert.deepEqual(none !== UNKNOWN && none.commits, 0);
  });

  it('works on a path with spaces', async () => {
    const dir = repo(path.join(tmp(), 'my project (copy)', 'sub dir'));
    commit(dir, 'file with space.txt', 'a\nb\n', min(1));
    const facts = await gitFacts(dir, { start: min(0), end: min(5) }, deps);
    assert.deepEqual(facts !== UNKNOWN && [facts.commits, facts.linesAdded], [1, 2]);
    const s = await survivingLines(dir, [path.join(dir, 'file with space.txt')], facts !== UNKNOWN ? facts.hashes : [], deps);
    assert.deepEqual(s !== UNKNOWN && [s.surviving, s.filesBlamed], [2, 1]);
  });

  it('counts the window\'s lines still in HEAD, only in the touched files, within limits', async () => {
    const dir = repo(tmp());
    commit(dir, 'a.txt', 'base\n', min(-60));
    commit(dir, 'a.txt', 'base\nl1\nl2\nl3\n', min(1)); // the session adds 3 lines
    commit(dir, 'b.txt', 'x\ny\n', min(2)); // and 2 in another file
    commit(dir, 'a.txt', 'base\nl1\nCHANGED\nl3\n', min(120)); // later, one of them is rewritten
    const facts = await gitFacts(dir, { start: min(0), end: min(5) }, deps);
    assert.ok(facts !== UNKNOWN);
    assert.equal(facts.commits, 2);
    const s = await survivingLines(dir, [path.join(dir, 'a.txt'), 'b.txt', '/elsewhere/c.txt', 'deleted.txt'], facts.hashes, deps);
    assert.deepEqual(s, { surviving: 4, filesBlamed: 2, filesSkipped: 2, complete: true });
    const capped = await survivingLines(dir, ['a.txt', 'b.txt'], facts.hashes, deps, { maxFiles: 1, budgetMs: 10_000 });
    assert.deepEqual(capped, { surviving: 2, filesBlamed: 1, filesSkipped: 1, complete: false });
    assert.equal(await survivingLines(tmp(), ['a.txt'], facts.hashes, deps), UNKNOWN);
  });

  it('parses numstat output with binary files', () => {
    const out = '\u0001abc\n3\t1\ta.txt\n-\t-\tbin.png\n\n\u0001def\n0\t2\tb.txt\n';
    assert.deepEqual(parseNumstatLog(out), { commits: 2, linesAdded: 3, linesRemoved: 3, hashes: ['abc', 'def'] });
  });

  it('stays bounded on a repository with 10,000 commits (timing recorded)', async () => {
    const dir = repo(tmp('agent-spend-git-10k-'));
    const n = 10_000;
    const parts: string[] = [];
    for (let i = 0; i < n; i++) {
      const at = Math.floor(min(i) / 1000);
      const content = `line ${i}\n`;
      parts.push(`commit refs/heads/main\ncommitter t <t@e> ${at} +0000\ndata 2\nc\n${i > 0 ? '' : ''}M 644 inline f${i % 100}.txt\ndata ${Buffer.byteLength(content)}\n${content}\n`);
    }
    let t = Date.now();
    sh(dir, ['fast-import', '--quiet'], undefined, parts.join(''));
    sh(dir, ['reset', '-q', '--hard', 'main']);
    const genMs = Date.now() - t;
    // A session over the last 2 hours of history, and one spanning all of it.
    t = Date.now();
    const recent = await gitFacts(dir, { start: min(n - 120), end: min(n) }, deps);
    const recentMs = Date.now() - t;
    t = Date.now();
    const all = await gitFacts(dir, { start: min(-1), end: min(n) }, deps);
    const allMs = Date.now() - t;
    assert.ok(recent !== UNKNOWN && all !== UNKNOWN);
    assert.equal(all.commits, n);
    assert.ok(recent.commits >= 120 && recent.commits <= 121);
    t = Date.now();
    const s = await survivingLines(dir, Array.from({ length: 100 }, (_, i) => `f${i}.txt`), recent.hashes, deps);
    const blameMs = Date.now() - t;
    assert.ok(s !== UNKNOWN && s.filesBlamed === 50 && !s.complete);
    console.log(`      10,000 commits: generated in ${genMs} ms; gitFacts 2-hour window ${recentMs} ms (${recent.commits} commits), whole history ${allMs} ms; survivingLines 50 files ${blameMs} ms`);
    // A timeout degrades to unknown instead of waiting.
    const tight = await gitFacts(dir, { start: min(-1), end: min(n) }, { run: execGit, timeoutMs: 1 });
    assert.equal(tight, UNKNOWN);
  });
});
