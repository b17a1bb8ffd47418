import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

import { Ledger, type Totals } from '../../src/core/ledger';
import { Pricer } from '../../src/core/pricing';
import { ClineSource, clineTaskTitle, parseUiMessages, type ClineSourceOptions } from '../../src/sources/cline';
import { Scanner } from '../../src/sources/scanner';
import type { SourceEnv, SourceFs } from '../../src/sources/source';
import { Tailer } from '../../src/sources/tailer';
import { REAL_LOGS, REPO_ROOT, tempDir, usageOnly, validateEvent, writeFile } from './helpers';

// ---------------------------------------------------------------------------------------------
// helpers

const CLINE_ID = 'saoudrizwan.claude-dev';
const ROO_ID = 'rooveterinaryinc.roo-cline';
const KILO_ID = 'kilocode.kilo-code';

type Msg = Record<string, unknown>;

function linuxEnv(home: string, env: Record<string, string> = {}): SourceEnv {
  return { env, home, platform: 'linux' };
}

function setup(home: string, o: { opts?: ClineSourceOptions; fs?: SourceFs; env?: Record<string, string> } = {}) {
  const fsImpl = o.fs ?? fsp;
  const source = new ClineSource(linuxEnv(home, o.env), fsImpl, o.opts);
  const ledger = new Ledger(new Pricer());
  const warnings: string[] = [];
  const scanner = new Scanner([source], new Tailer(fsImpl), (e, replacing) => {
    for (const ev of e) validateEvent(ev);
    if (replacing) ledger.replaceFile(replacing, e);
    else ledger.addAll(e);
  }, { onWarning: (w) => warnings.push(`${w.kind}:${w.path}`) });
  return { source, ledger, scanner, warnings };
}

function tasksDir(home: string, id = CLINE_ID, product = 'Code'): string {
  return path.join(home, '.config', product, 'User', 'globalStorage', id, 'tasks');
}

let mtime = 1_700_000_000;
/** Writes a task's ui_messages.json (a fresh mtime each time, as a rewrite in place gives). */
function writeTask(dir: string, taskId: string, messages: readonly unknown[] | string): string {
  const file = writeFile(path.join(dir, taskId, 'ui_messages.json'), typeof messages === 'string' ? messages : JSON.stringify(messages));
  mtime += 10;
  fs.utimesSync(file, mtime, mtime);
  return file;
}

const say = (ts: number, s: string, text?: unknown, extra: Msg = {}): Msg => ({
  ts,
  type: 'say',
  say: s,
  ...(text === undefined ? {} : { text: typeof text === 'string' ? text : JSON.stringify(text) }),
  ...extra,
});
const ask = (ts: number, a: string, text?: string): Msg => ({ ts, type: 'ask', ask: a, ...(text === undefined ? {} : { text }) });
const sonnet = { modelInfo: { providerId: 'anthropic', modelId: 'claude-sonnet-4-5-20250929', mode: 'act' } };
const ENV_DETAILS = (cwd: string) => `<task>\nfix it\n</task>\n\n<environment_details>\n# Current Working Directory (${cwd}) Files\nsrc/\n</environment_details>`;

function totalsOf(t: Totals | undefined) {
  assert.ok(t, 'no totals');
  return {
    requests: t.requests,
    input: t.inputTokens,
    output: t.outputTokens,
    cacheWrite: t.cacheCreationTokens,
    cacheRead: t.cacheReadTokens,
    loggedNanos: t.loggedCostNanos,
  };
}

// ---------------------------------------------------------------------------------------------

describe('Cline / Roo Code / Kilo Code source', () => {
  let home: string;
  beforeEach(() => {
    home = tempDir('agent-spend-cline-');
  });
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  it('counts a request updated in place across rewrites once, with its final figures', async () => {
    const dir = tasksDir(home);
    const { ledger, scanner, warnings } = setup(home);
    const task = say(1000, 'task', 'fix the parser\nsecond line', sonnet);
    const request = { request: ENV_DETAILS('/home/u/proj') };

    writeTask(dir, '1000', [task, say(1001, 'api_req_started', request, sonnet)]);
    await scanner.scanAll();
    assert.equal(ledger.size, 0, 'an entry with only {request} is not a request yet');

    // An automatic retry zeroes the entry (cancelReason streaming_failed) and logs error_retry.
    const zeroed = { ...request, tokensIn: 0, tokensOut: 0, cacheWrites: 0, cacheReads: 0, cost: 0, cancelReason: 'streaming_failed' };
    writeTask(dir, '1000', [task, say(1001, 'api_req_started', zeroed, sonnet), say(1002, 'error_retry', { attempt: 1, maxAttempts: 3, delaySeconds: 2 }, sonnet)]);
    await scanner.scanAll();
    assert.equal(ledger.size, 1);

    const final = { ...request, tokensIn: 12, tokensOut: 340, cacheWrites: 5000, cacheReads: 20000, cost: 0.0321 };
    const v3 = [task, say(1001, 'api_req_started', final, sonnet), say(1002, 'error_retry', { attempt: 1 }, sonnet), say(1003, 'text', 'done', sonnet), say(1004, 'api_req_started', { request: 'next' }, sonnet)];
    writeTask(dir, '1000', v3);
    await scanner.scanAll();
    assert.equal(ledger.size, 1);
    const rec = ledger.get('cline:1000:1001');
    assert.ok(rec);
    assert.deepEqual(rec.tokens, { input: 12, output: 340, cacheWrite5m: 5000, cacheWrite1h: 0, cacheRead: 20000, reasoning: 0 });
    assert.equal(rec.loggedCostUSD, 0.0321);
    assert.equal(rec.model, 'claude-sonnet-4-5-20250929');
    assert.equal(rec.project, '/home/u/proj');
    assert.equal(rec.sessionId, '1000');
    assert.equal(rec.timestamp, 1001);
    assert.equal(rec.agent, 'cline');
    assert.notEqual(rec.costNanos, null, 'priced from modelInfo');

    v3[4] = say(1004, 'api_req_started', { request: 'next', tokensIn: 3, tokensOut: 50, cacheWrites: 0, cacheReads: 25000, cost: 0.01 }, sonnet);
    writeTask(dir, '1000', v3);
    await scanner.scanAll();
    // Reading the same content again changes nothing.
    await scanner.scanAll();
    assert.deepEqual(totalsOf(ledger.totals), { requests: 2, input: 15, output: 390, cacheWrite: 5000, cacheRead: 45000, loggedNanos: 42_100_000 });
    assert.deepEqual(warnings, []);
  });

  it('counts deleted_api_reqs and subagent_usage aggregates; retries, unknown entries and non-JSON text are not requests', async () => {
    const dir = tasksDir(home);
    const { ledger, scanner } = setup(home);
    writeTask(dir, '2000', [
      say(2000, 'task', 'go'),
      say(2001, 'api_req_started', { request: 'a', tokensIn: 10, tokensOut: 20, cacheWrites: 30, cacheReads: 40, cost: 0.5 }),
      say(2002, 'error_retry', JSON.stringify({ attempt: 1, maxAttempts: 3, errorMessage: '{"tokensIn":999}' })),
      say(2003, 'api_req_retried'),
      ask(2004, 'api_req_failed', '{"message":"overloaded","tokensIn":5}'),
      say(2005, 'deleted_api_reqs', { tokensIn: 100, tokensOut: 50, cacheWrites: 10, cacheReads: 20, cost: 0.25 }),
      say(2006, 'deleted_api_reqs', { tokensIn: 0, tokensOut: 0, cost: 0 }),
      say(2007, 'subagent_usage', { source: 'subagents', tokensIn: 7, tokensOut: 8, cacheWrites: 0, cacheReads: 9, cost: 0.125 }),
      say(2008, 'api_req_started', 'not json {'),
      say(2009, 'some_future_say', { tokensIn: 1000, cost: 9 }),
      ask(2010, 'some_future_ask', JSON.stringify({ tokensIn: 1000 })),
      { ts: 2011, type: 'say', say: 'api_req_started' },
      'not an object',
      null,
    ]);
    await scanner.scanAll();
    assert.deepEqual([...ledger.allRecords()].map((r) => r.key).sort(), ['cline:2000:2001', 'cline:2000:2005', 'cline:2000:2007']);
    assert.deepEqual(totalsOf(ledger.totals), { requests: 3, input: 117, output: 78, cacheWrite: 40, cacheRead: 69, loggedNanos: 875_000_000 });
    assert.equal(ledger.totals.unpricedRequests, 0, 'no model, but every request has a logged cost');
    assert.equal(ledger.totals.estimateUnpricedRequests, 3);
  });

  it('Roo Code: apiProtocol entries log total input (cache included) unless tokensIn is below the cache; request-era anthropic entries do not', async () => {
    const dir = tasksDir(home, ROO_ID);
    writeFile(path.join(dir, '3000', 'history_item.json'), JSON.stringify({ id: '3000', number: 2, ts: 3000, task: 'x', tokensIn: 0, tokensOut: 0, totalCost: 0, workspace: '/work/roo-proj', parentTaskId: 'parent-1' }));
    const { ledger, scanner } = setup(home);
    const u = (tokensIn: number, cacheWrites: number, cacheReads: number, extra: Msg = {}) => ({ tokensIn, tokensOut: 1, cacheWrites, cacheReads, cost: 0.001, ...extra });
    writeTask(dir, '3000', [
      say(3000, 'text', 'roo task'),
      say(3001, 'api_req_started', u(3090, 476, 2612, { apiProtocol: 'anthropic' })), // IBM Bob's figures: 2 uncached
      say(3002, 'api_req_started', u(1000, 0, 800, { apiProtocol: 'openai' })),
      say(3003, 'api_req_started', u(10, 476, 2612, { apiProtocol: 'anthropic' })), // below the cache: already uncached
      say(3004, 'api_req_started', u(5000, 100, 200, { request: 'r', apiProtocol: 'anthropic' })), // Jul–Oct 2025: excludes cache
      say(3005, 'api_req_started', u(5000, 0, 4000, { request: 'r', apiProtocol: 'openai' })),
      say(3006, 'api_req_started', u(900, 0, 600), { apiProtocol: 'openai' }), // protocol on the message
      { ts: 3007, type: 'say', say: 'condense_context', contextCondense: { cost: 0.03, prevContextTokens: 90000, newContextTokens: 9000, summary: 's' } },
      { ts: 3008, type: 'say', say: 'condense_context', contextCondense: { cost: 0, prevContextTokens: 1, newContextTokens: 1, summary: 's' } },
      say(3009, 'api_req_deleted', { tokensIn: 1000, tokensOut: 5, cacheWrites: 0, cacheReads: 600, cost: 0.01 }),
    ]);
    await scanner.scanAll();
    const input = (ts: number) => ledger.get(`roo-code:3000:${ts}`)?.tokens.input;
    assert.deepEqual([3001, 3002, 3003, 3004, 3005, 3006, 3007, 3009].map(input), [2, 200, 10, 5000, 1000, 300, 0, 400]);
    assert.equal(ledger.size, 8);
    const condense = ledger.get('roo-code:3000:3007');
    assert.equal(condense?.loggedCostUSD, 0.03);
    assert.equal(condense?.model, null);
    for (const r of ledger.allRecords()) {
      assert.equal(r.agent, 'roo-code');
      assert.equal(r.project, '/work/roo-proj');
      assert.equal(r.parentSessionId, 'parent-1');
    }
    assert.equal(ledger.group('agent').get('roo-code')?.requests, 8);
  });

  it('Kilo Code: its own agent id, and the folder from the head of api_conversation_history.json', async () => {
    const dir = tasksDir(home, KILO_ID, 'Cursor');
    const image = 'iVBOR' + 'A'.repeat(200_000);
    writeFile(path.join(dir, '4000', 'api_conversation_history.json'), JSON.stringify([
      { role: 'user', content: [{ type: 'text', text: '<task>\nhi\n</task>' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: image } }, { type: 'text', text: '<environment_details>\n# Current Workspace Directory (c:/Users/k/kilo proj) Files\n</environment_details>' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'ok' }] },
    ]));
    writeTask(dir, '4000', [
      say(4000, 'text', 'hi', { images: [`data:image/png;base64,${image}`] }),
      say(4001, 'api_req_started', { apiProtocol: 'anthropic', tokensIn: 1200, tokensOut: 30, cacheWrites: 200, cacheReads: 900, cost: 0.004 }),
    ]);
    const { ledger, scanner } = setup(home);
    await scanner.scanAll();
    const rec = ledger.get('kilo-code:4000:4001');
    assert.ok(rec);
    assert.equal(rec.agent, 'kilo-code');
    assert.equal(rec.project, 'c:/Users/k/kilo proj');
    assert.deepEqual(rec.tokens, { input: 100, output: 30, cacheWrite5m: 200, cacheWrite1h: 0, cacheRead: 900, reasoning: 0 });
  });

  it('Roo/Kilo task folder: side files read at a later discovery; a request-era entry names its folder itself', async () => {
    const dir = tasksDir(home, ROO_ID);
    const { ledger, scanner } = setup(home);
    writeTask(dir, '8000', [say(8000, 'text', 'new task'), say(8001, 'api_req_started', { apiProtocol: 'anthropic' })]);
    await scanner.scanAll(); // nothing to read yet, no side files yet
    assert.equal(ledger.size, 0);
    writeFile(path.join(dir, '8000', 'api_conversation_history.json'), '[]');
    await scanner.scanAll(); // an empty history is looked at again later
    writeFile(path.join(dir, '8000', 'api_conversation_history.json'), JSON.stringify([{ role: 'user', content: [{ type: 'text', text: ENV_DETAILS('/work/later').replace('Working', 'Workspace') }] }]));
    writeTask(dir, '8000', [say(8000, 'text', 'new task'), say(8001, 'api_req_started', { apiProtocol: 'anthropic', tokensIn: 10, tokensOut: 1, cacheWrites: 0, cacheReads: 0, cost: 0 })]);
    await scanner.scanAll();
    assert.equal(ledger.get('roo-code:8000:8001')?.project, '/work/later');

    writeTask(dir, '8100', [say(8101, 'api_req_started', { request: ENV_DETAILS('/work/old-roo'), apiProtocol: 'openai', tokensIn: 10, tokensOut: 1, cacheWrites: 0, cacheReads: 4, cost: 0 })]);
    await scanner.scanAll();
    assert.equal(ledger.get('roo-code:8100:8101')?.project, '/work/old-roo');
    assert.equal(ledger.get('roo-code:8100:8101')?.tokens.input, 6);
  });

  it('model from modelInfo (priced) or null (unpriced, logged cost kept); cache-inclusive Cline providers', async () => {
    const dir = tasksDir(home);
    writeTask(dir, '5000', [
      say(5000, 'task', 'models'),
      say(5001, 'api_req_started', { request: 'a', tokensIn: 3, tokensOut: 10, cacheWrites: 0, cacheReads: 800, cost: 0.001 }, sonnet),
      say(5002, 'api_req_started', { request: 'b', tokensIn: 1000, tokensOut: 10, cacheWrites: 0, cacheReads: 800, cost: 0.002 }, { modelInfo: { providerId: 'openai', modelId: 'gpt-4.1', mode: 'act' } }),
      say(5003, 'api_req_started', { request: 'c', tokensIn: 1000, tokensOut: 10, cacheWrites: 0, cacheReads: 800 }),
    ]);
    const { ledger, scanner } = setup(home);
    await scanner.scanAll();
    const r1 = ledger.get('cline:5000:5001')!;
    const r2 = ledger.get('cline:5000:5002')!;
    const r3 = ledger.get('cline:5000:5003')!;
    assert.equal(r1.tokens.input, 3, 'anthropic provider: tokensIn is uncached, never reduced');
    assert.equal(r2.tokens.input, 200, 'openai-compatible provider: prompt_tokens includes the cached reads');
    assert.equal(r2.model, 'gpt-4.1');
    assert.equal(r3.model, null);
    assert.equal(r3.tokens.input, 1000);
    assert.equal(r3.costNanos, null);
    assert.equal(r3.loggedCostUSD, undefined);
    assert.notEqual(r1.costNanos, null);
    assert.equal(ledger.totals.unpricedRequests, 1, 'no model and no logged cost: counted, never $0');
  });

  it('very old Cline: api_req_finished merged into the api_req_started before it (combineApiRequests)', () => {
    const events = parseUiMessages(JSON.stringify([
      say(10, 'api_req_finished', { tokensIn: 999, cost: 9 }), // nothing before it: dropped
      say(11, 'api_req_started', { request: 'a' }),
      say(12, 'api_req_finished', { tokensIn: 10, tokensOut: 20, cacheWrites: 1, cacheReads: 2, cost: 0.005 }),
      say(13, 'api_req_started', { request: 'b' }),
      say(14, 'api_req_started', { request: 'c' }), // skipped over by Cline: stays without usage
      say(15, 'api_req_finished', { tokensIn: 7, tokensOut: 8, cost: 0.001 }),
    ]), { file: '/t/ui_messages.json', agent: 'cline', taskId: '10' });
    assert.deepEqual(usageOnly(events).map((e) => [e.key, e.tokens.input, e.tokens.output, e.loggedCostUSD]), [
      ['cline:10:11', 10, 20, 0.005],
      ['cline:10:13', 7, 8, 0.001],
    ]);
  });

  it('keys two usage entries that share a ts apart, stably', () => {
    const msgs = [say(20, 'api_req_started', { tokensIn: 1, tokensOut: 1, cost: 0 }), say(20, 'api_req_started', { tokensIn: 2, tokensOut: 2, cost: 0 })];
    const keys = parseUiMessages(JSON.stringify(msgs), { file: '/t/ui_messages.json', agent: 'cline', taskId: '20' }).map((e) => e.key);
    assert.deepEqual(keys, ['cline:20:20', 'cline:20:20#2']);
  });

  it('skips a file caught mid-write, then reads it when complete; reports only one that keeps failing', async () => {
    const dir = tasksDir(home);
    const msgs = [say(6000, 'task', 'x'), say(6001, 'api_req_started', { request: 'r', tokensIn: 5, tokensOut: 6, cacheWrites: 0, cacheReads: 0, cost: 0.01 })];
    const full = JSON.stringify(msgs, null, 2);
    const { ledger, scanner, warnings } = setup(home);
    writeTask(dir, '6000', full.slice(0, Math.floor(full.length * 0.6)));
    await scanner.scanAll();
    assert.equal(ledger.size, 0);
    writeTask(dir, '6000', '');
    await scanner.scanAll();
    assert.equal(ledger.size, 0);
    assert.deepEqual(warnings, []);
    writeTask(dir, '6000', full);
    await scanner.scanAll();
    assert.equal(ledger.size, 1);
    assert.equal(ledger.get('cline:6000:6001')?.tokens.output, 6);
    for (let i = 0; i < 3; i++) {
      writeTask(dir, '6000', full.slice(0, 10 + i));
      await scanner.scanAll();
    }
    assert.equal(ledger.size, 1, 'what was read stays');
    assert.deepEqual(warnings, [`malformed-document:${path.join(dir, '6000', 'ui_messages.json')}`]);
  });

  it('reports an unreadable folder (injected readdir failure) and still reads the others', async () => {
    const roo = tasksDir(home, ROO_ID);
    const cline = tasksDir(home);
    writeTask(roo, '7000', [say(7001, 'api_req_started', { tokensIn: 1, tokensOut: 1, cost: 0 })]);
    writeTask(cline, '7100', [say(7101, 'api_req_started', { tokensIn: 1, tokensOut: 1, cost: 0 })]);
    const failing: SourceFs = {
      readdir: (p, o) => (p === roo ? Promise.reject(Object.assign(new Error(`EACCES: permission denied, scandir '${p}'`), { code: 'EACCES' })) : fsp.readdir(p, o)),
      stat: (p) => fsp.stat(p),
      open: (p, f) => fsp.open(p, f),
    };
    const { ledger, scanner, warnings, source } = setup(home, { fs: failing });
    const found = await source.discover();
    assert.deepEqual(found.problems.map((p) => p.path), [roo]);
    assert.deepEqual(found.files.map((f) => f.path), [path.join(cline, '7100', 'ui_messages.json')]);
    assert.deepEqual(found.roots, [cline]);
    await scanner.scanAll();
    assert.deepEqual(warnings, [`unreadable-folder:${roo}`]);
    assert.deepEqual([...ledger.allRecords()].map((r) => r.key), ['cline:7100:7101']);
  });

  describe('locations, computed from the injected environment only', () => {
    const ids = [CLINE_ID, ROO_ID, KILO_ID];
    const agents = ['cline', 'roo-code', 'kilo-code'];
    const products = ['Code', 'Code - Insiders', 'Code - OSS', 'VSCodium', 'VSCodium - Insiders', 'Cursor', 'Windsurf', 'Windsurf - Next', 'Trae', 'Trae CN', 'Kiro', 'Positron'];
    const remotes = (home: string) => [
      `${home}/.vscode-server/data`, `${home}/.vscode-server-insiders/data`, `${home}/.vscodium-server/data`,
      `${home}/.cursor-server/data`, `${home}/.windsurf-server/data`, `${home}/.openvscode-server/data`,
    ];
    const expand = (userData: string[], sep: string) =>
      userData.flatMap((d) => ids.map((id, i) => ({ path: [d, 'User', 'globalStorage', id, 'tasks'].join(sep), agent: agents[i] })));

    it('linux: ~/.config (or XDG_CONFIG_HOME), Flatpak, code-server, remote servers, ~/.cline/data, the Kilo CLI', () => {
      const src = new ClineSource({ env: {}, home: '/home/u', platform: 'linux' }, fsp);
      const userData = [
        ...products.map((p) => `/home/u/.config/${p}`),
        '/home/u/.var/app/com.visualstudio.code/config/Code',
        '/home/u/.var/app/com.vscodium.codium/config/VSCodium',
        '/home/u/.local/share/code-server',
        ...remotes('/home/u'),
      ];
      assert.deepEqual(src.userDataDirs(), userData);
      assert.deepEqual(src.locations(), {
        tasks: [
          ...expand(userData, '/'),
          { path: '/home/u/.cline/data/tasks', agent: 'cline' },
          { path: '/home/u/.kilocode/cli/global/tasks', agent: 'kilo-code' },
        ],
        sessions: ['/home/u/.cline/data/sessions'],
      });
      assert.equal(src.locations().tasks[0]!.path, '/home/u/.config/Code/User/globalStorage/saoudrizwan.claude-dev/tasks');

      const xdg = new ClineSource({ env: { XDG_CONFIG_HOME: '/cfg', XDG_DATA_HOME: '/data', VSCODE_PORTABLE: '/opt/vsc', VSCODE_APPDATA: '/appdata' }, home: '/home/u', platform: 'linux' }, fsp);
      assert.deepEqual(xdg.userDataDirs(), [
        '/opt/vsc/user-data',
        ...products.map((p) => `/appdata/${p}`),
        ...products.map((p) => `/cfg/${p}`),
        '/home/u/.var/app/com.visualstudio.code/config/Code',
        '/home/u/.var/app/com.vscodium.codium/config/VSCodium',
        '/data/code-server',
        ...remotes('/home/u'),
      ]);
    });

    it('darwin: ~/Library/Application Support and remote servers', () => {
      const src = new ClineSource({ env: {}, home: '/Users/u', platform: 'darwin' }, fsp);
      const userData = [...products.map((p) => `/Users/u/Library/Application Support/${p}`), ...remotes('/Users/u')];
      assert.deepEqual(src.userDataDirs(), userData);
      assert.deepEqual(src.locations(), {
        tasks: [...expand(userData, '/'), { path: '/Users/u/.cline/data/tasks', agent: 'cline' }, { path: '/Users/u/.kilocode/cli/global/tasks', agent: 'kilo-code' }],
        sessions: ['/Users/u/.cline/data/sessions'],
      });
    });

    it('win32: %APPDATA% (else %USERPROFILE%\\AppData\\Roaming), backslashes throughout', () => {
      const src = new ClineSource({ env: { APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, home: 'C:\\Users\\u', platform: 'win32' }, fsp);
      const userData = products.map((p) => `C:\\Users\\u\\AppData\\Roaming\\${p}`);
      assert.deepEqual(src.userDataDirs(), userData);
      assert.deepEqual(src.locations(), {
        tasks: [...expand(userData, '\\'), { path: 'C:\\Users\\u\\.cline\\data\\tasks', agent: 'cline' }, { path: 'C:\\Users\\u\\.kilocode\\cli\\global\\tasks', agent: 'kilo-code' }],
        sessions: ['C:\\Users\\u\\.cline\\data\\sessions'],
      });
      assert.equal(src.locations().tasks[3]!.path, 'C:\\Users\\u\\AppData\\Roaming\\Code - Insiders\\User\\globalStorage\\saoudrizwan.claude-dev\\tasks');
      const noAppData = new ClineSource({ env: { USERPROFILE: 'D:\\Profiles\\u' }, home: 'C:\\Users\\u', platform: 'win32' }, fsp);
      assert.equal(noAppData.userDataDirs()[0], 'D:\\Profiles\\u\\AppData\\Roaming\\Code');
    });

    it('CLINE_DIR / CLINE_DATA_DIR / CLINE_SESSION_DATA_DIR, and extra paths by kind and extension id', () => {
      const byDir = new ClineSource({ env: { CLINE_DIR: '/x/cline' }, home: '/h', platform: 'linux' }, fsp).locations();
      assert.deepEqual(byDir.tasks.slice(-3), [
        { path: '/x/cline/data/tasks', agent: 'cline' },
        { path: '/h/.cline/data/tasks', agent: 'cline' },
        { path: '/h/.kilocode/cli/global/tasks', agent: 'kilo-code' },
      ]);
      assert.deepEqual(byDir.sessions, ['/x/cline/data/sessions', '/h/.cline/data/sessions']);
      const byData = new ClineSource({ env: { CLINE_DATA_DIR: '/d', CLINE_SESSION_DATA_DIR: '/s' }, home: '/h', platform: 'linux' }, fsp).locations();
      assert.equal(byData.tasks.at(-3)!.path, '/d/tasks');
      assert.deepEqual(byData.sessions, ['/s', '/h/.cline/data/sessions']);

      const extra = new ClineSource({ env: {}, home: '/h', platform: 'linux' }, fsp, {
        extraPaths: ['~/backup/globalStorage/RooVeterinaryInc.roo-cline', '/mnt/kilocode.kilo-code/tasks', '/srv/cline-data', '/srv/s/sessions', ''],
      }).locations();
      assert.deepEqual(extra.tasks.slice(-3), [
        { path: '/h/backup/globalStorage/RooVeterinaryInc.roo-cline/tasks', agent: 'roo-code' },
        { path: '/mnt/kilocode.kilo-code/tasks', agent: 'kilo-code' },
        { path: '/srv/cline-data/tasks', agent: 'cline' },
      ]);
      assert.deepEqual(extra.sessions, ['/h/.cline/data/sessions', '/h/backup/globalStorage/RooVeterinaryInc.roo-cline/sessions', '/srv/cline-data/sessions', '/srv/s/sessions']);
    });

    it('discovers tasks in a remote-server folder, the standalone data folder and an extra path', async () => {
      writeTask(path.join(home, '.vscode-server', 'data', 'User', 'globalStorage', ROO_ID, 'tasks'), 'r1', [say(1, 'api_req_started', { tokensIn: 1, tokensOut: 1, cost: 0 })]);
      writeTask(path.join(home, '.cline', 'data', 'tasks'), 'c1', [say(2, 'api_req_started', { tokensIn: 1, tokensOut: 1, cost: 0 })]);
      const extraDir = path.join(home, 'elsewhere', KILO_ID);
      writeTask(path.join(extraDir, 'tasks'), 'k1', [say(3, 'api_req_started', { tokensIn: 1, tokensOut: 1, cost: 0 })]);
      fs.mkdirSync(path.join(home, '.config', 'Cursor', 'User', 'globalStorage', CLINE_ID, 'tasks', 'no-messages-yet'), { recursive: true });
      const { ledger, scanner, source } = setup(home, { opts: { extraPaths: [extraDir] } });
      const found = await source.discover();
      assert.equal(found.files.length, 3);
      assert.ok(found.roots.includes(path.join(home, '.config', 'Cursor', 'User', 'globalStorage', CLINE_ID, 'tasks')));
      await scanner.scanAll();
      assert.deepEqual([...ledger.allRecords()].map((r) => r.key).sort(), ['cline:c1:2', 'kilo-code:k1:3', 'roo-code:r1:1']);
    });
  });

  describe('Cline ≥ 4.0 sessions (~/.cline/data/sessions), fixtures in the shape of sdk/packages/core', () => {
    const metrics = (inputTokens: number, outputTokens: number, cacheReadTokens: number, cacheWriteTokens: number, cost: number) => ({ inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens, cost });
    const opus = { id: 'anthropic/claude-opus-4.5', provider: 'cline', family: 'claude-opus' };
    const user = (id: string, text: string, ts?: number) => ({ id, role: 'user', content: [{ type: 'text', text }], ...(ts ? { ts } : {}) });
    const assistant = (id: string, ts: number, m?: ReturnType<typeof metrics>) => ({ id, role: 'assistant', content: [{ type: 'text', text: 'ok' }, { type: 'tool_use', id: `toolu_${id}`, name: 'editor', input: {} }], ts, modelInfo: opus, ...(m ? { metrics: m } : {}) });
    const payload = (sessionId: string, messages: unknown[], agent = 'lead') => JSON.stringify({ version: 1, updated_at: '2026-07-15T05:42:04.818Z', agent, sessionId, messages }, null, 2);
    const manifest = (sessionId: string, cwd: string, extra: Msg = {}) => JSON.stringify({
      version: 1, session_id: sessionId, source: 'vscode', pid: 1, started_at: '2026-07-15T05:42:04.609Z', status: 'completed', interactive: true,
      provider: 'cline', model: 'anthropic/claude-opus-4.5', cwd, workspace_root: cwd, enable_tools: true, enable_spawn: true, enable_teams: false,
      prompt: 'p'.repeat(2_000_000), messages_path: `/x/${sessionId}.messages.json`, ...extra,
    }, null, 2);

    it('counts each model call once (forks share message ids), skips a legacy resume\'s carried-over totals, reads subagents', async () => {
      const sessions = path.join(home, '.cline', 'data', 'sessions');
      const lead = '1784094053271_p8pzo';
      const leadMsgs = [
        user('msg_u1', 'do it', 1783376868634),
        assistant('msg_a1', 1783376873493, metrics(34334, 741, 0, 0, 0.489531)),
        user('msg_u2_tool', 'result'),
        assistant('msg_a2', 1783376875985), // an earlier message of the same turn: no metrics
        assistant('msg_a3', 1783376876985, metrics(35912, 164, 34332, 0, 0.06539085)),
        assistant('msg_a4', 1783376877985, metrics(0, 0, 0, 0, 0)), // nothing spent
      ];
      writeFile(path.join(sessions, lead, `${lead}.messages.json`), payload(lead, leadMsgs));
      writeFile(path.join(sessions, lead, `${lead}.json`), manifest(lead, '/Users/example/dev/cline'));
      writeFile(path.join(sessions, lead, 'researcher.messages.json'), payload(`${lead}__researcher`, [user('msg_s1', 'look'), assistant('msg_s2', 1783376880000, metrics(2000, 100, 1500, 400, 0.01))], 'subagent'));
      writeFile(path.join(sessions, lead, 'hooks.jsonl'), '{"hookName":"agent_end"}\n');
      // A fork: the parent's messages copied with their ids, then its own call.
      const fork = '1784094124598_rruoq';
      writeFile(path.join(sessions, fork, `${fork}.messages.json`), payload(fork, [...leadMsgs, user('msg_f1', 'more', 1784094125000), assistant('msg_f2', 1784094126000, metrics(36000, 50, 35900, 0, 0.02))]));
      writeFile(path.join(sessions, fork, `${fork}.json`), manifest(fork, '/Users/example/dev/cline'));
      // A legacy task resumed in 4.x: converted history (no ids, no ts) with the legacy totals stamped on the last assistant message.
      const resumed = '1784100000000_legcy';
      writeFile(path.join(sessions, resumed, `${resumed}.messages.json`), payload(resumed, [
        { role: 'user', content: [{ type: 'text', text: 'old task' }] },
        { role: 'assistant', content: [{ type: 'text', text: 'old answer' }], metrics: metrics(999_999, 9_999, 500_000, 1_000, 12.5), modelInfo: { id: 'claude-opus-4-6', provider: 'unknown' } },
        { role: 'user', content: 'Warning: this is a legacy conversation, which means tool names may have changed. Please use the most up-to-date tools you are aware of.' },
        user('msg_l1', 'continue', 1784100001000),
        assistant('msg_l2', 1784100002000, metrics(5000, 60, 4000, 500, 0.03)),
      ]));
      // Caught mid-write: retried later, never an error.
      const partial = '1784200000000_prtl';
      writeFile(path.join(sessions, partial, `${partial}.messages.json`), payload(partial, leadMsgs).slice(0, 300));

      const { ledger, scanner, warnings } = setup(home);
      await scanner.scanAll();
      assert.deepEqual([...ledger.allRecords()].map((r) => r.key).sort(), ['cline:sdk:msg_a1', 'cline:sdk:msg_a3', 'cline:sdk:msg_f2', 'cline:sdk:msg_l2', 'cline:sdk:msg_s2']);
      const a3 = ledger.get('cline:sdk:msg_a3')!;
      assert.deepEqual(a3.tokens, { input: 1580, output: 164, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 34332, reasoning: 0 });
      assert.equal(a3.sessionId, lead, 'the parent keeps a copied call: same ts, its path sorts first');
      assert.equal(a3.project, '/Users/example/dev/cline', 'cwd from the manifest head');
      assert.equal(a3.model, 'anthropic/claude-opus-4.5');
      assert.equal(a3.loggedCostUSD, 0.06539085);
      assert.equal(a3.timestamp, 1783376876985);
      const sub = ledger.get('cline:sdk:msg_s2')!;
      assert.equal(sub.sessionId, `${lead}__researcher`);
      assert.equal(sub.parentSessionId, lead);
      assert.equal(sub.sidechain, true);
      assert.deepEqual(sub.tokens, { input: 100, output: 100, cacheWrite5m: 400, cacheWrite1h: 0, cacheRead: 1500, reasoning: 0 });
      assert.equal(ledger.get('cline:sdk:msg_f2')?.sessionId, fork);
      assert.equal(ledger.get('cline:sdk:msg_l2')?.tokens.input, 500);
      assert.equal(ledger.get('cline:sdk:msg_l2')?.project, '', 'no manifest');
      assert.deepEqual(totalsOf(ledger.totals), { requests: 5, input: 34334 + 1580 + 100 + 100 + 500, output: 741 + 164 + 50 + 100 + 60, cacheWrite: 900, cacheRead: 34332 + 35900 + 1500 + 4000, loggedNanos: 489_531_000 + 65_390_850 + 20_000_000 + 30_000_000 + 10_000_000 });
      assert.deepEqual(warnings, []);

      writeFile(path.join(sessions, partial, `${partial}.messages.json`), payload(partial, [assistant('msg_p1', 1784200001000, metrics(10, 1, 0, 0, 0.001))]));
      fs.utimesSync(path.join(sessions, partial, `${partial}.messages.json`), mtime + 100, mtime + 100);
      await scanner.scanAll();
      assert.equal(ledger.get('cline:sdk:msg_p1')?.tokens.input, 10);
    });
  });

  it('clineTaskTitle: first line of the first say:"task" (or a leading say:"text"), undefined when none', () => {
    assert.equal(clineTaskTitle(Buffer.from(JSON.stringify([say(1, 'text', 'not this'), say(2, 'task', '\n  Fix the parser  \nmore', { images: ['data:image/png;base64,AAAA'] })]))), 'Fix the parser');
    assert.equal(clineTaskTitle(Buffer.from(JSON.stringify([say(1, 'text', 'yo wassup'), say(2, 'api_req_started', '{}')]))), 'yo wassup');
    assert.equal(clineTaskTitle(Buffer.from(JSON.stringify([say(1, 'api_req_started', '{}')]))), undefined);
    assert.equal(clineTaskTitle(Buffer.from('[{"ts":1,"type":"say","say":"task","te')), undefined);
  });

  describe('real logs (../shared/real-logs/cline, laid out as a Linux HOME)', () => {
    const realHome = path.join(REAL_LOGS, 'cline');
    const realTasks = path.join(realHome, '.config', 'Code', 'User', 'globalStorage', CLINE_ID, 'tasks');
    const SOURCES: Record<string, { requests: number; cost: number; project: string; models: string[] }> = {
      '1770482470358': { requests: 24, cost: 1.247611, project: 'd:/Users/obuzunov/myg/jira-dashboard', models: ['claude-opus-4-5-20251101'] },
      '1770577372307': { requests: 53, cost: 12.3923915, project: 'c:/Users/alex_/mygems/Jira-Xray-Gem', models: ['claude-opus-4-6'] },
      '1760534080239': { requests: 61, cost: 0.3095055, project: 'e:/devWorkSpace/mcp-vscode-server', models: ['(unknown)'] },
      '1767644899093': { requests: 31, cost: 0.47771265, project: 'c:/Users/Haram/Desktop/flutter_application_1', models: ['anthropic/claude-sonnet-4.5', 'x-ai/grok-code-fast-1'] },
    };

    it('exact per-task totals equal an independent python count and SOURCES.md', async function () {
      this.timeout(60_000);
      const script = path.join(REPO_ROOT, 'test', 'unit', 'independent', 'cline_count.py');
      const expected = JSON.parse(execFileSync('python3', [script, realTasks], { encoding: 'utf8' })) as Record<string, { requests: number; input: number; output: number; cacheWrite: number; cacheRead: number; cost: number; models: Record<string, number> }>;
      assert.deepEqual(Object.keys(expected).sort(), Object.keys(SOURCES).sort());

      const { ledger, scanner, warnings } = setup(realHome);
      const stats = await scanner.scanAll();
      assert.equal(stats.files, 4);
      assert.deepEqual(warnings, []);
      for (const [task, py] of Object.entries(expected)) {
        const t = ledger.group('session').get(task);
        const got = totalsOf(t);
        assert.deepEqual({ ...got, loggedNanos: undefined }, { requests: py.requests, input: py.input, output: py.output, cacheWrite: py.cacheWrite, cacheRead: py.cacheRead, loggedNanos: undefined }, task);
        assert.ok(Math.abs(got.loggedNanos - Math.round(py.cost * 1e9)) <= py.requests, `${task} logged cost ${got.loggedNanos} vs ${py.cost}`);
        // SOURCES.md figures
        assert.equal(got.requests, SOURCES[task]!.requests, task);
        assert.ok(Math.abs(got.loggedNanos / 1e9 - SOURCES[task]!.cost) < 1e-6, `${task}: ${got.loggedNanos / 1e9} vs ${SOURCES[task]!.cost}`);
        const info = ledger.session(task)!;
        assert.equal(info.project, SOURCES[task]!.project);
        assert.equal(info.agent, 'cline');
        assert.deepEqual([...info.models.keys()].sort(), SOURCES[task]!.models);
        const pyModels = Object.fromEntries(Object.entries(py.models).map(([m, n]) => [m === '(none)' ? '(unknown)' : m, n]));
        assert.deepEqual(Object.fromEntries(info.models), pyModels, task);
      }
      assert.equal(ledger.totals.requests, 169);
      // Every request has a logged cost, so none is left unpriced (the no-model task included).
      assert.equal(ledger.totals.unpricedRequests, 0);
      assert.ok(ledger.totals.estimateUnpricedRequests >= 61, 'the 61 requests without a model have no estimate');
    });

    it('a rescan of unchanged files reads nothing; titles from the real task entries', async () => {
      const { ledger, scanner } = setup(realHome);
      await scanner.scanAll();
      const before = ledger.totals.requests;
      const again = await scanner.scanAll();
      assert.equal(again.filesRead, 0);
      assert.equal(ledger.totals.requests, before);
      assert.equal(clineTaskTitle(fs.readFileSync(path.join(realTasks, '1770482470358', 'ui_messages.json'))), 'in my jiras->list UI in jira details section header add open button that opens jira details in browser.');
      assert.equal(clineTaskTitle(fs.readFileSync(path.join(realTasks, '1767644899093', 'ui_messages.json'))), 'yo wassup');
    });
  });
});
