/**
 * `agent-spend now [--json]`: sessions running (and idle) now, with spend, burn rate and context fill.
 * `agent-spend limits [--json]`: the latest known plan-limit windows per agent and where each comes
 * from (`logged` by the agent, Claude Code's `statusline`, or `estimated` from the logs).
 *
 * Both scan the logs like `report` (a live ledger this time: sessions and their requests are
 * needed), take last write times from the scanned files' mtimes, and read the status line
 * snapshots in the state folder (`--state-dir`, else AGENT_SPEND_STATE_DIR / the platform default).
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import { AGENT_IDS, type AgentId } from '../core/events';
import { Ledger } from '../core/ledger';
import { estimatedClaudeLimits, mergeLimits, type AgentLimits } from '../core/limits';
import { liveSessions, type LiveSession } from '../core/live';
import { Pricer } from '../core/pricing';
import { splitAiderPaths } from '../sources/locations';
import { createSources } from '../sources/registry';
import { formatWarning, Scanner, type ScanWarning } from '../sources/scanner';
import { Tailer } from '../sources/tailer';
import { resolveStateDir } from '../state/stateDir';
import { contextFigures, latestStatuslineLimits, readSnapshots, type StateFs, type StatuslineSnapshot } from '../state/statuslineSnapshots';

export class LiveUsageError extends Error {}

export interface LiveArgs {
  json: boolean;
  stateDir?: string;
  claudeDirs: string[];
  codexHome?: string;
  geminiHome?: string;
  agents?: AgentId[];
  aiderPaths: string[];
  /** `now`: also list sessions finished within the last 24 h. */
  all: boolean;
}

export function parseLiveArgs(command: string, argv: readonly string[]): LiveArgs {
  const args: LiveArgs = { json: false, claudeDirs: [], aiderPaths: [], all: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new LiveUsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--json': args.json = true; break;
      case '--all': if (command !== 'now') throw new LiveUsageError(`unknown option "${a}" for ${command}`); args.all = true; break;
      case '--state-dir': args.stateDir = value(); break;
      case '--claude-dir': args.claudeDirs.push(value()); break;
      case '--codex-home': args.codexHome = value(); break;
      case '--gemini-home': args.geminiHome = value(); break;
      case '--aider': args.aiderPaths.push(value()); break;
      case '--agent': {
        const list = value().split(',').map((s) => s.trim()).filter(Boolean);
        for (const x of list) if (!(AGENT_IDS as readonly string[]).includes(x)) throw new LiveUsageError(`unknown agent "${x}" (known: ${AGENT_IDS.join(', ')})`);
        args.agents = list as AgentId[];
        break;
      }
      default: throw new LiveUsageError(`unknown option "${a}" (see agent-spend --help)`);
    }
  }
  return args;
}

interface Scanned {
  ledger: Ledger;
  /** Session id → last write time of its log files (mtime), epoch ms. */
  lastWrites: Map<string, number>;
  snapshots: StatuslineSnapshot[];
  warnings: string[];
}

async function scan(args: LiveArgs, env: NodeJS.ProcessEnv): Promise<Scanned> {
  const home = env['HOME'] || env['USERPROFILE'] || os.homedir();
  const sourceEnv = { env: { ...env }, home, platform: process.platform };
  if (args.claudeDirs.length > 0) sourceEnv.env['CLAUDE_CONFIG_DIR'] = args.claudeDirs.join(',');
  const sources = createSources(sourceEnv, fs, {
    prompts: false,
    edits: false,
    ...(args.agents ? { enabled: args.agents } : {}),
    ...(args.codexHome ? { codexHome: args.codexHome } : {}),
    ...(args.geminiHome ? { geminiHome: args.geminiHome } : {}),
    ...splitAiderPaths(args.aiderPaths.length > 0 ? args.aiderPaths : [process.cwd()]),
  });
  const ledger = new Ledger(new Pricer());
  const scanWarnings: ScanWarning[] = [];
  const scanner = new Scanner(sources, new Tailer(fs), (events, replacing) => (replacing ? ledger.replaceFile(replacing, events) : ledger.addAll(events)), { onWarning: (w) => scanWarnings.push(w) });
  const stateDir = resolveStateDir({ env, home, platform: process.platform, override: args.stateDir, cwd: process.cwd() });
  const [, read] = await Promise.all([scanner.scanAll(), readSnapshots(fs as unknown as StateFs, stateDir)]);

  const lastWrites = scanner.lastWrites(ledger);
  const warnings = [
    ...scanWarnings.map(formatWarning),
    ...read.problems.map((p) => `status line snapshot ${p.file}: ${p.reason}`),
  ];
  return { ledger, lastWrites, snapshots: read.snapshots, warnings };
}

const iso = (ms: number | undefined) => (ms === undefined || !Number.isFinite(ms) ? null : new Date(ms).toISOString());
const usd = (nanos: number) => Math.round(nanos / 1e3) / 1e6;

export function nowJson(sessions: readonly LiveSession[], warnings: readonly string[], now: number): unknown {
  return {
    generatedAt: iso(now),
    sessions: sessions.map((s) => ({
      sessionId: s.sessionId, agent: s.agent, project: s.project, model: s.model, state: s.state,
      startedAt: iso(s.startedAt), lastActivity: iso(s.lastActivity), ageMs: s.ageMs,
      costUSD: usd(s.spendNanos), unpricedRequests: s.unpricedRequests, burnUSDPerHour: usd(s.burnNanosPerHour),
      context: s.context,
    })),
    warnings,
  };
}

export interface LimitsEntry {
  agent: AgentId;
  source: AgentLimits['source'];
  observedAt: string | null;
  sessionId?: string;
  planType?: string;
  windows: { kind: string; windowMinutes?: number; usedPercent: number | null; resetsAt: string | null; reset: boolean }[];
  /** For `estimated` only: the block the logs show (no real percent: Anthropic logs none). */
  estimatedBlock?: { start: string | null; requests: number; costUSD: number };
}

export function limitsJson(merged: readonly AgentLimits[], estimated: ReturnType<typeof estimatedClaudeLimits>, warnings: readonly string[], now: number): unknown {
  const limits: LimitsEntry[] = merged.map((a) => ({
    agent: a.agent, source: a.source, observedAt: iso(a.observedAt),
    ...(a.sessionId !== undefined ? { sessionId: a.sessionId } : {}),
    ...(a.planType !== undefined ? { planType: a.planType } : {}),
    windows: a.windows.map((w) => ({ kind: w.kind, ...(w.windowMinutes !== undefined ? { windowMinutes: w.windowMinutes } : {}), usedPercent: w.usedPercent, resetsAt: iso(w.resetsAt), reset: w.reset })),
  }));
  if (estimated && !merged.some((a) => a.agent === 'claude-code')) {
    limits.push({
      agent: 'claude-code', source: 'estimated', observedAt: iso(now),
      windows: [{ kind: 'five-hour', windowMinutes: 300, usedPercent: estimated.budgetPercent ?? null, resetsAt: iso(estimated.resetsAt), reset: false }],
      estimatedBlock: { start: iso(estimated.start), requests: estimated.requests, costUSD: usd(estimated.spendNanos) },
    });
    limits.sort((x, y) => (x.agent < y.agent ? -1 : x.agent > y.agent ? 1 : 0));
  }
  return { generatedAt: iso(now), limits, warnings };
}

function pct(n: number | null): string {
  return n === null ? 'reset' : `${Math.round(n)}%`;
}

export async function runLive(command: 'now' | 'limits', argv: readonly string[], env: NodeJS.ProcessEnv, out: (s: string) => void, now = Date.now()): Promise<number> {
  const args = parseLiveArgs(command, argv);
  const scanned = await scan(args, env);
  if (command === 'now') {
    const sessions = liveSessions({ ledger: scanned.ledger, now, lastWrites: scanned.lastWrites, context: contextFigures(scanned.snapshots), includeFinished: args.all });
    if (args.json) {
      out(JSON.stringify(nowJson(sessions, scanned.warnings, now)));
      return 0;
    }
    if (sessions.length === 0) out('no session running or idle now');
    for (const s of sessions) {
      const ctx = s.context?.percent != null ? ` · ctx ${Math.round(s.context.percent)}%` : '';
      out(`${s.state.padEnd(8)} ${s.agent.padEnd(11)} ${s.project || '(unknown project)'} · ${s.model ?? '?'} · $${usd(s.spendNanos).toFixed(2)} · $${usd(s.burnNanosPerHour).toFixed(2)}/h${ctx}`);
    }
    for (const w of scanned.warnings) out(`warning: ${w}`);
    return 0;
  }
  const candidates = [...scanned.ledger.latestLimits()];
  const fromStatusline = latestStatuslineLimits(scanned.snapshots);
  if (fromStatusline) candidates.push(fromStatusline);
  const merged = mergeLimits(candidates, now);
  const estimated = estimatedClaudeLimits(scanned.ledger.allRecords(), now);
  const json = limitsJson(merged, estimated, scanned.warnings, now) as { limits: LimitsEntry[] };
  if (args.json) {
    out(JSON.stringify(json));
    return 0;
  }
  if (json.limits.length === 0) out('no plan limits known (Codex logs them; Claude Code passes them to `agent-spend statusline`)');
  for (const l of json.limits) {
    // A window past its reset has no current figure: say since when, not "resets" at a past time.
    const windows = l.windows.map((w) => (w.reset
      ? `${w.kind} reset${w.resetsAt ? ` at ${w.resetsAt}` : ''}, no newer figure`
      : `${w.kind} ${pct(w.usedPercent)}${w.resetsAt ? ` (resets ${w.resetsAt})` : ''}`)).join(' · ');
    out(`${l.agent.padEnd(11)} ${l.source.padEnd(10)} ${windows}`);
  }
  for (const w of scanned.warnings) out(`warning: ${w}`);
  return 0;
}
