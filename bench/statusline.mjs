#!/usr/bin/env node
// `agent-spend statusline` start-up benchmark: runs the built command N times (default 30) with
// a realistic Claude Code status line JSON on a pipe (as Claude Code gives it), with and without a
// spend summary in the state folder, and prints median / p95 wall ms next to `node -e 0`.
// The runs of all variants are interleaved, so background load hits them alike.
//
//   node scripts/build.mjs && node bench/statusline.mjs [--runs 30]
//
// Plain Node ESM, no dependencies.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(REPO, 'dist', 'cli.js');
const STATUSLINE = path.join(REPO, 'dist', 'statusline.js');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '30' } } });
const RUNS = Math.max(3, Number(values.runs) || 30);

for (const f of [CLI, STATUSLINE]) {
  if (!fs.existsSync(f)) {
    console.error(`missing ${f}: run node scripts/build.mjs first`);
    process.exit(2);
  }
}

const now = Date.now();
const session = '3f2a9c1e-5b7d-4e0a-9c2b-1a2b3c4d5e6f';
const input = JSON.stringify({
  session_id: session,
  transcript_path: `${os.homedir()}/.claude/projects/-home-u-proj/${session}.jsonl`,
  cwd: '/home/u/proj',
  model: { id: 'claude-opus-4-6', display_name: 'Opus 4.6' },
  workspace: { current_dir: '/home/u/proj', project_dir: '/home/u/proj' },
  version: '2.1.90',
  output_style: { name: 'default' },
  cost: { total_cost_usd: 3.2012, total_duration_ms: 3_600_000, total_api_duration_ms: 1_200_000, total_lines_added: 256, total_lines_removed: 31 },
  context_window: {
    total_input_tokens: 84_000, total_output_tokens: 12_000, context_window_size: 200_000, used_percentage: 42, remaining_percentage: 58,
    current_usage: { input_tokens: 8, output_tokens: 420, cache_creation_input_tokens: 1200, cache_read_input_tokens: 82_000 },
  },
  exceeds_200k_tokens: false,
  rate_limits: {
    five_hour: { used_percentage: 31, resets_at: Math.floor(now / 1000) + 7800 },
    seven_day: { used_percentage: 12, resets_at: Math.floor(now / 1000) + 4 * 86400 },
  },
});

const localDay = (ts) => {
  const d = new Date(ts);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
};

const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-spend-bench-sl-'));
const withSummary = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-spend-bench-sl-'));
{
  // a realistic summary: 14 days, 200 sessions of the last 48 h
  const days = {};
  for (let k = 0; k < 14; k++) days[localDay(now - k * 86_400_000)] = Math.round(Math.random() * 80e9);
  const sessions = { [session]: 3.5e9 };
  for (let k = 0; k < 200; k++) sessions[`${k.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`] = Math.round(Math.random() * 20e9);
  fs.writeFileSync(path.join(withSummary, 'spend-summary.json'), JSON.stringify({ version: 1, writtenAt: now, days, sessions }));
}

const variants = [
  { name: 'node -e 0', args: ['-e', '0'], state: bare },
  { name: 'dist/cli.js statusline (no summary)', args: [CLI, 'statusline'], state: bare },
  { name: 'dist/cli.js statusline (with summary)', args: [CLI, 'statusline'], state: withSummary },
  { name: 'dist/statusline.js (with summary)', args: [STATUSLINE], state: withSummary },
];
const times = variants.map(() => []);
const lines = variants.map(() => new Set());

for (let i = 0; i < RUNS + 2; i++) {
  variants.forEach((v, k) => {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, v.args, { input, env: { ...process.env, AGENT_SPEND_STATE_DIR: v.state }, encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (r.status !== 0) throw new Error(`${v.name}: exit ${r.status}: ${r.stderr}`);
    if (i >= 2) times[k].push(ms); // the first two rounds warm the disk cache
    if (r.stdout) lines[k].add(r.stdout.trimEnd());
  });
}

const q = (a, p) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
};
const base = q(times[0], 0.5);
console.log(`${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, ${os.platform()} ${os.release()}, node ${process.version}, ${new Date().toISOString().slice(0, 10)}, ${RUNS} runs each (interleaved)`);
console.log('| command | median | p95 | median over node -e 0 |');
console.log('|---|--:|--:|--:|');
variants.forEach((v, k) => {
  const med = q(times[k], 0.5);
  console.log(`| ${v.name} | ${med.toFixed(1)} ms | ${q(times[k], 0.95).toFixed(1)} ms | ${k === 0 ? '' : `+${(med - base).toFixed(1)} ms`} |`);
});
for (const [k, set] of lines.entries()) if (k > 0) console.log(`${variants[k].name}: ${[...set].join(' | ')}`);

fs.rmSync(bare, { recursive: true, force: true });
fs.rmSync(withSummary, { recursive: true, force: true });
