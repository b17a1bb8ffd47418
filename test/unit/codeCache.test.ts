import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, tempDir } from './helpers';

// Each load runs in its own process: within one process V8 keeps compiled scripts in memory and
// never looks at a cache a second time, which is not what a CLI run sees.
const LOADER = path.join(REPO_ROOT, 'out', 'src', 'cli', 'codeCache.js');

interface Load { fromCache: boolean; cacheFile: string; answer: number; where: string[] }

function load(file: string, cacheDir: string, command: string, save = true): Load {
  const script = `const l = require(${JSON.stringify(LOADER)}).loadWithCodeCache(${JSON.stringify(file)}, ${JSON.stringify(cacheDir)}, ${JSON.stringify(command)});
const out = { fromCache: l.fromCache, cacheFile: l.cacheFile, answer: l.exports.answer(20), where: l.exports.where };
${save ? 'l.saveCache();' : ''}
process.stdout.write(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Load;
}

describe('CLI code cache', function () {
  this.timeout(30000);
  let dir: string;
  beforeEach(() => { dir = tempDir(); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const writeModule = (k: number) => {
    const file = path.join(dir, 'mod.js');
    fs.writeFileSync(file, `const os = require('node:os');\nexports.answer = (n) => n * ${k} + (typeof os.EOL === 'string' ? 0 : 100);\nexports.where = [__filename, __dirname];\n`);
    return file;
  };

  it('compiles and saves on the first run, takes the cache on the next; a damaged cache is replaced', () => {
    const file = writeModule(2);
    const cacheDir = path.join(dir, 'cache');
    const first = load(file, cacheDir, 'report');
    assert.deepEqual([first.fromCache, first.answer, first.where], [false, 40, [file, dir]]);
    assert.ok(fs.statSync(first.cacheFile).size > 0);
    if (process.platform !== 'win32') assert.equal(fs.statSync(first.cacheFile).mode & 0o777, 0o600);
    const second = load(file, cacheDir, 'report');
    assert.deepEqual([second.fromCache, second.answer], [true, 40]);
    fs.writeFileSync(first.cacheFile, Buffer.from('not a V8 code cache'));
    const damaged = load(file, cacheDir, 'report');
    assert.deepEqual([damaged.fromCache, damaged.answer], [false, 40], 'rejected by V8, compiled afresh');
    assert.equal(load(file, cacheDir, 'report').fromCache, true, 'and written again');
  });

  it('holds every function, also those its first run never called, and is taken by the next run', () => {
    const file = path.join(dir, 'mod.js');
    // a large function nobody calls: a lazily made cache would hold only its outline
    const body = Array.from({ length: 400 }, (_, i) => `  if (x === ${i}) return x * ${i} + Math.sqrt(${i});`).join('\n');
    fs.writeFileSync(file, `exports.answer = (n) => n * 2;\nexports.where = [__filename, __dirname];\nexports.unused = function (x) {\n${body}\n  return -1;\n};\n`);
    const cacheDir = path.join(dir, 'cache');
    const first = load(file, cacheDir, 'report');
    const lazy = spawnSync(process.execPath, ['-e', `const vm = require('node:vm'); const code = '(function (exports, require, module, __filename, __dirname) {' + require('node:fs').readFileSync(${JSON.stringify(file)}, 'utf8') + '\\n})';
process.stdout.write(String(new vm.Script(code, { filename: ${JSON.stringify(file)} }).createCachedData().length));`], { encoding: 'utf8' });
    assert.equal(lazy.status, 0, lazy.stderr);
    const eager = fs.statSync(first.cacheFile).size;
    assert.ok(eager > 2 * Number(lazy.stdout), `cache ${eager} B, lazily compiled ${lazy.stdout} B`);
    const second = load(file, cacheDir, 'report');
    assert.deepEqual([second.fromCache, second.answer], [true, 40], 'V8 flags restored: the cache is not refused');
  });

  it('names the cache by a CRC-32 that equals zlib\'s (the fallback for a Node without zlib.crc32)', async () => {
    const { crc32 } = await import('../../src/cli/codeCache');
    const zlib = (await import('node:zlib')) as { crc32?: (b: Uint8Array) => number };
    const samples = [Buffer.alloc(0), Buffer.from('a'), Buffer.from('hello world, agent spend'), fs.readFileSync(LOADER)];
    for (let i = 0; i < 20; i++) samples.push(Buffer.from(Array.from({ length: 1 + i * 37 }, (_, j) => (j * 131 + i * 7) & 0xff)));
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926, 'the standard check value');
    if (zlib.crc32) for (const b of samples) assert.equal(crc32(b), zlib.crc32(b) >>> 0);
  });

  it('a new release of the same length never runs the old code; the old cache is removed', () => {
    const cacheDir = path.join(dir, 'cache');
    const old = load(writeModule(2), cacheDir, 'report');
    assert.equal(load(writeModule(2), cacheDir, 'report').fromCache, true);
    // same byte length, other code: V8 alone would accept the old cache (it checks only the length)
    const next = load(writeModule(3), cacheDir, 'report');
    assert.deepEqual([next.fromCache, next.answer], [false, 60]);
    assert.notEqual(next.cacheFile, old.cacheFile);
    assert.deepEqual(fs.readdirSync(cacheDir), [path.basename(next.cacheFile)]);
    assert.equal(load(writeModule(3), cacheDir, 'now').cacheFile.endsWith('-now.v8cache'), true, 'one cache per command');
    assert.equal(load(writeModule(3), cacheDir, '../x', false).cacheFile.endsWith('-other.v8cache'), true);
    assert.equal(fs.readdirSync(cacheDir).length, 2);
  });

  it('a cache folder that cannot be written costs nothing but the compile', () => {
    const file = writeModule(2);
    fs.writeFileSync(path.join(dir, 'blocked'), 'a file where the folder would be');
    const r = load(file, path.join(dir, 'blocked', 'cache'), 'report');
    assert.deepEqual([r.fromCache, r.answer], [false, 40]);
  });

  it('agent-spend writes its cache in the user cache folder once and gives the same output with it', () => {
    const home = path.join(dir, 'home');
    fs.mkdirSync(home);
    const run = (extra: Record<string, string> = {}) => {
      const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'cli.js'), 'report', '--json'], {
        env: { PATH: process.env['PATH'] ?? '', HOME: home, TZ: 'UTC', XDG_CACHE_HOME: path.join(dir, 'xdg-cache'), ...extra }, encoding: 'utf8', cwd: home,
      });
      assert.equal(r.status, 0, r.stderr);
      return (JSON.parse(r.stdout) as { totals: unknown }).totals;
    };
    const cacheDir = path.join(dir, 'xdg-cache', 'agent-spend');
    const off = run({ AGENT_SPEND_CODE_CACHE: '0' });
    assert.equal(fs.existsSync(cacheDir), false, 'AGENT_SPEND_CODE_CACHE=0 writes nothing');
    const first = run();
    const files = fs.readdirSync(cacheDir);
    assert.equal(files.length, 1);
    assert.match(files[0]!, /^cli-[0-9a-f]{9,16}-report\.v8cache$/);
    const written = fs.statSync(path.join(cacheDir, files[0]!)).mtimeMs;
    assert.deepEqual(run(), first);
    assert.deepEqual(first, off);
    assert.equal(fs.statSync(path.join(cacheDir, files[0]!)).mtimeMs, written, 'a cache that was used is not written again');
  });
});
