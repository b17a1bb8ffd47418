/**
 * The background git facts in the real extension host: a session whose folder is a real
 * repository (on a path with spaces) gets its commits and surviving lines; a folder that is
 * not a repository is unknown, never an error.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Ledger } from '../../../src/core/ledger';
import { Pricer } from '../../../src/core/pricing';
import { GitService } from '../../../src/extension/gitService';
import { Log } from '../../../src/extension/log';

const tokens = { input: 1000, output: 1000, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 0, reasoning: 0 };

describe('git facts in the background (issue 6)', function () {
  this.timeout(30_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent spend git '));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('counts the commits of a session window and the agent lines still in HEAD; unknown outside a repository', async () => {
    assert.ok(vscode.workspace.isTrusted, 'the harness workspace is trusted');
    const repo = path.join(dir, 'my repo');
    fs.mkdirSync(repo);
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
    git('init', '-q');
    fs.writeFileSync(path.join(repo, 'a.ts'), 'one\ntwo\nthree\n');
    git('add', '.');
    git('commit', '-q', '-m', 'agent work');
    const now = Date.now();
    const ledger = new Ledger(new Pricer());
    ledger.addAll([
      { agent: 'claude-code', key: 'r1', sessionId: 'in-repo', project: repo, model: 'claude-sonnet-4-5', timestamp: now - 5 * 60_000, tokens, file: '/log' },
      { agent: 'claude-code', key: 'r2', sessionId: 'in-repo', project: repo, model: 'claude-sonnet-4-5', timestamp: now - 60_000, tokens, file: '/log' },
      { kind: 'edit', agent: 'claude-code', key: 'e1', sessionId: 'in-repo', timestamp: now - 2 * 60_000, file: '/log', path: path.join(repo, 'a.ts'), linesAdded: 3, linesRemoved: 0, exact: true },
      { agent: 'claude-code', key: 'r3', sessionId: 'no-repo', project: dir, model: 'claude-sonnet-4-5', timestamp: now - 60_000, tokens, file: '/log' },
    ]);
    const log = new Log('Agent Spend (git test)');
    const service = new GitService(() => ledger, log);
    try {
      const arrived = new Set<string>();
      const sub = service.onDidChange((ids) => ids.forEach((id) => arrived.add(id)));
      assert.equal(service.facts('in-repo'), undefined, 'queued, not computed on the caller\'s path');
      service.facts('no-repo');
      for (let i = 0; i < 100 && !(arrived.has('in-repo') && arrived.has('no-repo')); i++) await new Promise((r) => setTimeout(r, 100));
      sub.dispose();
      assert.deepEqual(service.facts('in-repo'), { commits: 1, survivingLines: 3 });
      assert.equal(service.facts('no-repo'), null, 'not a repository: unknown');
    } finally {
      service.dispose();
      log.dispose();
    }
  });
});
