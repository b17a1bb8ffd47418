/**
 * Entry point of the `agent-spend` binary (bundled to dist/cli.js): hands `statusline` to its own
 * small bundle, and everything else to dist/cliMain.js, loaded through V8's code cache.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveCacheDir } from '../state/stateDir';
import { loadWithCodeCache } from './codeCache';
import type * as Main from './main';
import type * as Statusline from './statusline';

/**
 * `statusline` runs on every render of Claude Code's prompt: it is handed to the small
 * dist/statusline.js before the rest of this bundle is evaluated (that costs ~30 ms of start-up).
 * Without that file (an unusual build), main() answers it instead.
 */
function fastStatusline(): boolean {
  if (process.argv[2] !== 'statusline') return false;
  let mod: typeof Statusline;
  try {
    mod = require(path.join(__dirname, 'statusline.js')) as typeof Statusline;
  } catch {
    return false;
  }
  void mod.statuslineMain(process.argv.slice(3));
  return true;
}

// `agent-spend … | head`: a closed pipe ends the output, not with a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

/** The main bundle, through the code cache unless AGENT_SPEND_CODE_CACHE=0. */
function loadMain(): { main: typeof Main.main; saveCache(): void } {
  const file = path.join(__dirname, 'cliMain.js');
  if (process.env['AGENT_SPEND_CODE_CACHE'] !== '0') {
    const home = process.env['HOME'] || process.env['USERPROFILE'] || os.homedir();
    const loaded = loadWithCodeCache(file, resolveCacheDir({ env: process.env, home, platform: process.platform }), process.argv[2] ?? '');
    return { main: (loaded.exports as typeof Main).main, saveCache: loaded.saveCache };
  }
  return { main: (require(file) as typeof Main).main, saveCache: () => {} };
}

if (!fastStatusline()) {
  const { main, saveCache } = loadMain();
  main(
    process.argv.slice(2),
    (s) => process.stdout.write(s + '\n'),
    (s) => process.stderr.write(s + '\n'),
  ).then(
    (code) => {
      process.exitCode = code;
      saveCache();
      exitWhenFlushed(code);
    },
    (e: unknown) => {
      process.stderr.write(`agent-spend: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}

/**
 * Ends the process once stdout and stderr have taken everything written: a natural exit would
 * first tear down the heap of a large report (~10 ms of a 0.12 s warm run) for no one.
 */
function exitWhenFlushed(code: number): void {
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}
