// Bundles the CLI, the extension host code and the webview with esbuild.
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const common = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  legalComments: 'none',
  logLevel: 'warning',
};

const builds = [
  { ...common, entryPoints: ['src/cli/index.ts'], outfile: 'dist/cli.js', platform: 'node', format: 'cjs', target: 'node18',
    banner: { js: '#!/usr/bin/env node' } },
  // Everything but the status line, loaded by cli.js through V8's code cache (src/cli/codeCache.ts).
  { ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cliMain.js', platform: 'node', format: 'cjs', target: 'node18' },
  // Claude Code's status line: its own small bundle, loaded by cli.js before the rest; minified
  // always (less to compile: ~5 ms of its ~15 ms over node's own start-up).
  { ...common, minify: true, entryPoints: ['src/cli/statusline.ts'], outfile: 'dist/statusline.js', platform: 'node', format: 'cjs', target: 'node18' },
  // A cold scan's worker threads (see src/cli/parallelScan.ts).
  { ...common, entryPoints: ['src/cli/scanWorker.ts'], outfile: 'dist/scanWorker.js', platform: 'node', format: 'cjs', target: 'node18' },
];
if (existsSync('src/extension/extension.ts')) {
  builds.push({ ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', platform: 'node',
    format: 'cjs', target: 'node18', external: ['vscode'] });
}
if (existsSync('src/webview/main.ts')) {
  builds.push({ ...common, entryPoints: ['src/webview/main.ts'], outfile: 'media/webview.js', platform: 'browser',
    format: 'iife', target: 'es2022' });
}

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
