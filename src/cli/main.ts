/**
 * `agent-spend`: the terminal face of the same core the extension uses.
 *   agent-spend report [--json] [--by day|session|project|model|agent|branch]
 *                      [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--agent claude-code,codex]
 *                      [--claude-dir DIR]... [--codex-home DIR]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { AGENT_IDS, type AgentId } from '../core/events';
import { GROUP_BYS, type GroupBy, Ledger, spendNanosOf, type RequestRecord } from '../core/ledger';
import { Pricer } from '../core/pricing';
import { summarizeEdits } from '../core/output';
import { buildReport, buildReportFromCells, type Report, type ReportTotals } from '../core/report';
import { Rollup } from '../core/rollup';
import { splitAiderPaths } from '../sources/locations';
import { createSources, IMPLEMENTED_AGENTS, type SourceSettings } from '../sources/registry';
import { cliFs, cliStateFs } from './cliFs';
import { scanParallel } from './parallelScan';
import { formatWarning, Scanner, type ScanWarning } from '../sources/scanner';
import { Tailer } from '../sources/tailer';
import { IndexFormatError } from '../state/indexCodec';
import { IndexStore, type LoadedIndex } from '../state/indexStore';
import { SpendSummaryBuilder, SUMMARY_FUTURE_SLACK_MS, writeSpendSummary } from '../state/spendSummary';
import { resolveStateDir } from '../state/stateDir';

const VERSION = '0.1.0';

export class UsageError extends Error {}

interface ReportArgs {
  json: boolean;
  by?: GroupBy;
  since?: string;
  until?: string;
  agents?: AgentId[];
  claudeDirs: string[];
  codexHome?: string;
  geminiHome?: string;
  /** Folders (or history files) for aider; default: the current folder. */
  aiderPaths: string[];
  /** Folder of a persistent index to resume from and update (opt-in). */
  indexDir?: string;
}

const HELP = `agent-spend ${VERSION} — what your AI coding agents spent, from their own logs

Usage:
  agent-spend report [options]
  agent-spend billed --provider anthropic|openai|openrouter [--since D] [--until D] [--base-url URL] [--json]
  agent-spend statusline [--state-dir DIR]   one line for Claude Code's status line (JSON on stdin; always exits 0)
  agent-spend now [--json] [--all] [--state-dir DIR]   sessions running now: spend, burn rate, context fill
  agent-spend limits [--json] [--state-dir DIR]        plan-limit windows per agent (logged | statusline | estimated)

Options:
  --json                 print one JSON object instead of a table
  --by <dim>             group by ${GROUP_BYS.join('|')}
  --since <YYYY-MM-DD>   first local day to include
  --until <YYYY-MM-DD>   last local day to include
  --agent <a,b>          only these agents (${IMPLEMENTED_AGENTS.join(', ')})
  --claude-dir <dir>     read this Claude Code config or projects folder instead of the defaults (repeatable)
  --codex-home <dir>     read this Codex home instead of $CODEX_HOME / ~/.codex
  --gemini-home <dir>    read this Gemini CLI home instead of $GEMINI_CLI_HOME / ~/.gemini
  --aider <path>         a folder (its .aider.chat.history.md, or its git root's) or an aider
                         history file; repeatable (default: the current folder)
  --index <dir>          keep a persistent index in <dir>: later runs read only what was
                         appended, and requests of logs deleted since stay counted
  -h, --help             this help
  -v, --version          the version

Reads the same locations and environment variables as the agents (HOME,
CLAUDE_CONFIG_DIR, CODEX_HOME, GEMINI_CLI_HOME). Costs are the agents' own logged
costs where they log one, else estimates at list prices; requests with neither are
counted as unpriced, never as $0.`;

export function parseReportArgs(argv: readonly string[]): ReportArgs {
  const args: ReportArgs = { json: false, claudeDirs: [], aiderPaths: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--json': args.json = true; break;
      case '--by': {
        const v = value();
        if (!(GROUP_BYS as readonly string[]).includes(v)) throw new UsageError(`--by must be one of ${GROUP_BYS.join(', ')} (got "${v}")`);
        args.by = v as GroupBy;
        break;
      }
      case '--since': args.since = day(flag, value()); break;
      case '--until': args.until = day(flag, value()); break;
      case '--agent': {
        const list = value().split(',').map((s) => s.trim()).filter(Boolean);
        for (const a2 of list) {
          if (!(AGENT_IDS as readonly string[]).includes(a2)) throw new UsageError(`unknown agent "${a2}" (known: ${AGENT_IDS.join(', ')})`);
        }
        args.agents = list as AgentId[];
        break;
      }
      case '--claude-dir': args.claudeDirs.push(value()); break;
      case '--codex-home': args.codexHome = value(); break;
      case '--gemini-home': args.geminiHome = value(); break;
      case '--aider': args.aiderPaths.push(value()); break;
      case '--index': args.indexDir = value(); break;
      default: throw new UsageError(`unknown option "${a}" (see agent-spend --help)`);
    }
  }
  if (args.since && args.until && args.since > args.until) throw new UsageError(`--since ${args.since} is after --until ${args.until}`);
  return args;
}

function day(flag: string, v: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  const d = m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : undefined;
  if (!m || !d || d.getMonth() !== Number(m[2]) - 1 || d.getDate() !== Number(m[3])) {
    throw new UsageError(`${flag} must be a date YYYY-MM-DD (got "${v}")`);
  }
  return v;
}

async function assertReadableDir(flag: string, dir: string): Promise<void> {
  try {
    // Sync, like every read of the CLI (cliFs): node:fs/promises is not even loaded on a report run.
    const st = fs.statSync(dir);
    if (!st.isDirectory()) throw new UsageError(`${flag} ${dir}: not a folder`);
    fs.readdirSync(dir);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`${flag} ${dir}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

export interface ReportOutput {
  report: Report;
  warnings: string[];
}

export async function runReport(args: ReportArgs, env: NodeJS.ProcessEnv = process.env): Promise<ReportOutput> {
  try {
    return await report(args, env, false);
  } catch (e) {
    // The index's edits are decoded only when needed; found damaged then, it is rebuilt like any unusable index.
    if (!(e instanceof IndexFormatError)) throw e;
    const out = await report(args, env, true);
    out.warnings.unshift(`index in ${args.indexDir} was unusable (${e.message}); rebuilt from the logs`);
    return out;
  }
}

async function report(args: ReportArgs, env: NodeJS.ProcessEnv, ignoreIndex: boolean): Promise<ReportOutput> {
  for (const d of args.claudeDirs) await assertReadableDir('--claude-dir', d);
  if (args.codexHome) await assertReadableDir('--codex-home', args.codexHome);
  if (args.geminiHome) await assertReadableDir('--gemini-home', args.geminiHome);
  const sourceEnv = { env: { ...env }, home: env['HOME'] || env['USERPROFILE'] || os.homedir(), platform: process.platform };
  if (args.claudeDirs.length > 0) sourceEnv.env['CLAUDE_CONFIG_DIR'] = args.claudeDirs.join(',');
  const settings: SourceSettings = {
    prompts: false, // a report has no tasks: skip the prompt needles (one pass over the bytes each)
    // Lines changed are shown per session only: otherwise skip the edit needles too, unless an index is kept
    // (it must hold every session's edits for a later `--by session` run).
    edits: args.by === 'session' || args.indexDir !== undefined,
    // Plan limits are kept in the index (for `agent-spend limits` and the editor); a report alone shows none.
    limits: args.indexDir !== undefined,
    // With an index, every agent's logs are read (and kept in it): --agent then filters only the report.
    ...(args.agents && args.indexDir === undefined ? { enabled: args.agents } : {}),
    ...(args.codexHome ? { codexHome: args.codexHome } : {}),
    ...(args.geminiHome ? { geminiHome: args.geminiHome } : {}),
    ...splitAiderPaths(args.aiderPaths.length > 0 ? args.aiderPaths : [process.cwd()]),
  };
  const sources = createSources(sourceEnv, cliFs, settings);
  const pricer = new Pricer();
  const rateKeyOf = (model: string | null) => pricer.rateKey(model);
  const ledger = new Ledger(pricer, undefined, 'totals-only');
  const scanWarnings: ScanWarning[] = [];
  const scanner = new Scanner(sources, new Tailer(cliFs), (events, replacing) => (replacing ? ledger.replaceFile(replacing, events) : ledger.addAll(events)), { onWarning: (w) => scanWarnings.push(w) });
  const store = args.indexDir ? new IndexStore(args.indexDir, cliStateFs) : undefined;
  try {
    const indexNotes: string[] = [];
    let restoredFiles = -1;
    // Restored edits are needed by `--by session` and by a whole new index; a run that changes nothing never
    // decodes them, and one that writes a delta only those of the delta it replaces.
    let restoreEdits = () => {};
    let restoreDeltaEdits = () => {};
    let editsRestored = false;
    let deltaOf: LoadedIndex | undefined;
    if (store && !ignoreIndex) {
      const loaded = await store.load({ lazy: true });
      if (loaded.kind === 'loaded') {
        ledger.restoreRows(loaded.snapshot.requests, loaded.snapshot.gone);
        if (loaded.snapshot.extra) ledger.restore([...loaded.snapshot.extra.records()]);
        deltaOf = loaded.snapshot;
        ledger.restoreLimits(loaded.snapshot.limits ?? []);
        // A rollup of other prices or another time zone is normal after an update or a trip: rebuilt below, silently.
        const rollup = restoredRollup(loaded.snapshot, rateKeyOf);
        if (rollup instanceof Rollup) ledger.trackRollup(rollup);
        else if (rollup && 'damaged' in rollup) indexNotes.push(`index ${store.file}: ${rollup.damaged}; its rollup is rebuilt from the requests`);
        restoreEdits = () => {
          restoreEdits = () => {};
          editsRestored = true;
          for (const e of loaded.snapshot.edits) ledger.addEdit(e);
        };
        restoreDeltaEdits = () => {
          for (const e of loaded.snapshot.changes?.edits ?? []) ledger.addEdit(e);
        };
        if (args.by === 'session') restoreEdits();
        scanner.restoreFiles(loaded.snapshot.files);
        restoredFiles = loaded.snapshot.files.length;
      } else if (loaded.kind === 'unusable') {
        indexNotes.push(`index ${store.file} was unusable (${loaded.reason}); rebuilt from the logs`);
      }
    }
    const stats = await scanParallel(scanner, ledger, { sourceEnv, settings }, async (p) => fs.statSync(p), (w) => scanWarnings.push(w));
    // Nothing read and nothing vanished: the index on disk already says all this.
    const unchanged = stats.bytesRead === 0 && scanner.trackedFiles === restoredFiles;
    // The index's rollup, kept in step with what was read; an index without a usable one gets one now.
    const tracked = ledger.trackedRollup();
    const rollup = store ? (tracked ?? Rollup.build(ledger.transientRecords(), rateKeyOf)) : undefined;
    if (store && rollup && (!unchanged || !tracked)) {
      // Without index.bin's edits in the ledger, a delta gets the edits read since (and the old delta's);
      // a whole new index asks for every edit.
      const editsSinceIndex = !editsRestored;
      if (editsSinceIndex) restoreDeltaEdits();
      const allEdits = () => {
        restoreEdits();
        return [...ledger.allEdits()];
      };
      const snapshot = { savedAt: Date.now(), files: scanner.exportFiles(), ...ledger.forSave(), prompts: [], edits: [...ledger.allEdits()], limits: ledger.latestLimits(), rollup: rollup.toData() };
      if (!(await store.save(snapshot, { deltaOf, ...(editsSinceIndex ? { allEdits } : {}) }))) indexNotes.push(`index ${store.file} not updated: another process holds its lock`);
    }
    const noLogs = scanner.trackedFiles === 0 && ledger.size === 0;
    // One pass over the requests (a warm run reads them through one reused object): the report, and the unpriced models.
    // With an index, also what `agent-spend statusline` prints "today" from (it never scans).
    const unpricedCounts = new Map<string, number>();
    const now = Date.now();
    const summary = store ? new SpendSummaryBuilder(now) : undefined;
    function* countingUnpriced(records: Iterable<RequestRecord>): IterableIterator<RequestRecord> {
      for (const r of records) {
        if (spendNanosOf(r) === null) unpricedCounts.set(r.model ?? '(unknown model)', (unpricedCounts.get(r.model ?? '(unknown model)') ?? 0) + 1);
        summary?.add(r);
        yield r;
      }
    }
    const filter = {
      ...(args.since ? { since: args.since } : {}),
      ...(args.until ? { until: args.until } : {}),
      ...(args.agents ? { agents: args.agents } : {}),
    };
    let report: Report;
    if (rollup?.usable(now, SUMMARY_FUTURE_SLACK_MS)) {
      // A few hundred cells instead of every request (the same figures; see core/rollup.ts).
      for (const c of rollup.values()) {
        const model = c.model ?? '(unknown model)';
        if (c.totals.unpricedRequests > 0) unpricedCounts.set(model, (unpricedCounts.get(model) ?? 0) + c.totals.unpricedRequests);
        summary?.addCell(c);
      }
      report = buildReportFromCells(rollup.values(), filter, args.by);
    } else {
      report = buildReport(countingUnpriced(ledger.transientRecords()), filter, args.by);
    }
    if (summary) {
      const stateDir = resolveStateDir({ env, home: sourceEnv.home, platform: process.platform });
      await writeSpendSummary(cliStateFs, stateDir, summary.build()).catch((e: unknown) => {
        indexNotes.push(`status line summary not written in ${stateDir}: ${e instanceof Error ? e.message : String(e)}`);
      });
    }
    if (args.by === 'session') {
      // What each session's agent changed with its own edit tools; commits need git, not run by the CLI (null: unknown).
      report.groups = report.groups.map((g) => {
        const e = summarizeEdits(ledger.sessionEdits(g.key));
        return { ...g, linesAdded: e.linesAdded, linesRemoved: e.linesRemoved, filesTouched: e.filesTouched, linesExact: e.exact, commits: null };
      });
    }
    const warnings = [...indexNotes, ...scanWarnings.map(formatWarning)];
    if (noLogs) {
      const where = ['HOME', 'CLAUDE_CONFIG_DIR', 'CODEX_HOME', 'GEMINI_CLI_HOME', 'XDG_DATA_HOME'].map((k) => `${k}=${sourceEnv.env[k] || '(unset)'}`).join(', ');
      warnings.push(`no agent logs found (${where}); Claude Code logs live in ~/.claude/projects, Codex CLI logs in ~/.codex/sessions, Gemini CLI logs in ~/.gemini/tmp, OpenCode data in ~/.local/share/opencode, Cline/Roo/Kilo tasks in the editor's globalStorage`);
    }
    const unpriced = [...unpricedCounts].sort((a, b) => b[1] - a[1]);
    if (unpriced.length > 0) {
      warnings.push(`unpriced (no price for the model, not counted as $0): ${unpriced.map(([m, n]) => `${m} × ${n}`).join(', ')}`);
    }
    return { report, warnings };
  } finally {
    store?.release(); // a lazy load may have left index.bin open
  }
}

/** The index's rollup if its figures hold here; undefined when it has none or one of other prices or days; why, when damaged. */
function restoredRollup(index: LoadedIndex, rateKeyOf: (model: string | null) => string | null): Rollup | { damaged: string } | undefined {
  try {
    const data = index.rollup;
    const r = data ? Rollup.restore(data, rateKeyOf) : undefined;
    return typeof r === 'string' ? undefined : r;
  } catch (e) {
    if (e instanceof IndexFormatError) return { damaged: `rollup unusable (${e.message})` };
    throw e;
  }
}

// Made on first use: creating an Intl formatter loads locale data (~10 ms), which a --json run never needs.
let numberFormat: Intl.NumberFormat | undefined;
let usdFormat: Intl.NumberFormat | undefined;
const NUM = { format: (n: number) => (numberFormat ??= new Intl.NumberFormat('en-US')).format(n) };
const USD = { format: (n: number) => (usdFormat ??= new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 })).format(n) };

/** A cost that leaves out unpriced requests is a lower bound ("+"); with no priced request there is no figure ("—"). */
function costCell(t: ReportTotals): string {
  if (t.requests > 0 && t.unpricedRequests === t.requests) return '—';
  return USD.format(t.costUSD) + (t.unpricedRequests > 0 ? '+' : '');
}

export function formatTable(report: Report, by: GroupBy | undefined, warnings: readonly string[]): string {
  const head = [by ?? '', 'requests', 'input', 'output', 'cache write', 'cache read', 'cost', 'basis', 'unpriced'];
  const row = (key: string, t: ReportTotals, basis: string) => [
    key, NUM.format(t.requests), NUM.format(t.inputTokens), NUM.format(t.outputTokens), NUM.format(t.cacheCreationTokens),
    NUM.format(t.cacheReadTokens), costCell(t), basis === 'none' ? '' : basis, t.unpricedRequests ? NUM.format(t.unpricedRequests) : '',
  ];
  const rows = by ? report.groups.map((g) => row(g.key, g, report.basis.get(g.key) ?? '')) : [];
  rows.push(row('total', report.totals, report.basis.get('') ?? ''));
  const all = [head, ...rows];
  const widths = head.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  const leftAligned = new Set([0, 7]);
  const fmt = (r: string[]) => r.map((cell, c) => (leftAligned.has(c) ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd();
  const lines = [fmt(head), widths.map((w) => '─'.repeat(w)).join('  ')];
  rows.forEach((r, i) => {
    if (i === rows.length - 1 && by && rows.length > 1) lines.push(widths.map((w) => '─'.repeat(w)).join('  '));
    lines.push(fmt(r));
  });
  lines.push('cost: as logged by the agent where it logs one (basis "logged"), else estimated from tokens at list prices' +
    (report.totals.unpricedRequests > 0 ? '; "+" leaves out unpriced requests, "—" has none priced' : ''));
  for (const w of warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

export async function main(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      out(HELP);
      return command === undefined ? 2 : 0;
    }
    if (command === '-v' || command === '--version') {
      out(VERSION);
      return 0;
    }
    // The other commands are required when used: their modules (provider clients and schemas) are not
    // evaluated on a `report` run, whose start-up is part of a warm total's time.
    if (command === 'billed') return (require('./billed') as typeof import('./billed')).runBilled(rest, process.env, out, err);
    if (command === 'statusline') {
      // Usually answered by dist/statusline.js before this bundle loads (see index.ts); this is the fallback.
      const { runStatusline, processDeps } = require('./statusline') as typeof import('./statusline');
      return runStatusline(rest, processDeps(out));
    }
    if (command === 'now' || command === 'limits') {
      if (rest.includes('-h') || rest.includes('--help')) {
        out(HELP);
        return 0;
      }
      const { runLive, LiveUsageError } = require('./live') as typeof import('./live');
      return await runLive(command, rest, process.env, out).catch((e: unknown) => {
        throw e instanceof LiveUsageError ? new UsageError(e.message) : e;
      });
    }
    if (command !== 'report') throw new UsageError(`unknown command "${command}" (see agent-spend --help)`);
    if (rest.includes('-h') || rest.includes('--help')) {
      out(HELP);
      return 0;
    }
    const args = parseReportArgs(rest);
    const { report, warnings } = await runReport(args);
    if (args.json) {
      out(JSON.stringify({ generatedAt: new Date().toISOString(), totals: report.totals, groups: report.groups, warnings }));
    } else {
      out(formatTable(report, args.by, warnings));
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`agent-spend: ${e.message}`);
      return 2;
    }
    err(`agent-spend: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}
