/**
 * The one reader of `agentSpend.*` settings: reads them once, validates them with
 * zod (an invalid value falls back to its default and is reported by name), and
 * fires `onDidChange` with the new snapshot when the user edits them.
 */
import * as os from 'node:os';
import * as vscode from 'vscode';
import * as z from 'zod/mini';
import { AgentIdSchema, type AgentId } from '../core/events';
import { parseBudgetSettings, type BudgetSettings } from '../core/budgets';
import { parsePlans, type Plan } from '../core/plans';
import type { PriceOverrides } from '../core/pricing';
import type { ProviderId } from '../sources/providers/http';
import { IMPLEMENTED_AGENTS } from '../sources/registry';

export const PERIODS = ['today', 'session', 'week', 'month', 'block'] as const;
export type Period = (typeof PERIODS)[number];

const Rate = z.optional(z.number().check(z.nonnegative()));
const RATES = { input: Rate, output: Rate, cacheWrite5m: Rate, cacheWrite1h: Rate, cacheRead: Rate };
const OverrideSchema = z.object({
  ...RATES,
  longContext: z.optional(z.object({ ...RATES, thresholdTokens: z.number().check(z.int(), z.positive()) })),
});

/** Each setting's schema and default (defaults mirror package.json). */
const SETTINGS = {
  'statusBar.period': { schema: z.enum(PERIODS), default: 'today' as Period },
  'statusBar.showBurnRate': { schema: z.boolean(), default: true },
  'sources.enabled': { schema: z.array(AgentIdSchema), default: [...IMPLEMENTED_AGENTS] as AgentId[] },
  'sources.claudeCode.paths': { schema: z.array(z.string().check(z.minLength(1))), default: [] as string[] },
  'sources.codex.home': { schema: z.string(), default: '' },
  'sources.geminiCli.home': { schema: z.string(), default: '' },
  'sources.aider.paths': { schema: z.array(z.string().check(z.minLength(1))), default: [] as string[] },
  'sources.openCode.dataDir': { schema: z.string(), default: '' },
  'sources.cline.paths': { schema: z.array(z.string().check(z.minLength(1))), default: [] as string[] },
  'sources.rescanSeconds': { schema: z.number().check(z.int(), z.gte(10), z.lte(3600)), default: 60 },
  'pricing.overrides': { schema: z.record(z.string(), OverrideSchema), default: {} as PriceOverrides },
  'history.retentionDays': { schema: z.number().check(z.int(), z.gte(0)), default: 0 },
  'output.spendWithoutOutputUSD': { schema: z.number().check(z.gte(0)), default: 5 },
  'statusBar.showLimits': { schema: z.boolean(), default: true },
  'live.runningSeconds': { schema: z.number().check(z.int(), z.gte(5), z.lte(3600)), default: 60 },
  'live.contextWarnPercent': { schema: z.number().check(z.gte(1), z.lte(100)), default: 80 },
  'limits.warnAt': { schema: z.array(z.number().check(z.gt(0), z.lte(100))), default: [80, 100] as number[] },
  'statusLine.stateDir': { schema: z.string(), default: '' },
  ...providerSettings('anthropic'),
  ...providerSettings('openai'),
  ...providerSettings('openrouter'),
} as const;

type SettingKey = keyof typeof SETTINGS;

export interface Config {
  period: Period;
  showBurnRate: boolean;
  enabledAgents: AgentId[];
  claudeCodePaths: string[];
  codexHome: string;
  geminiHome: string;
  /** Extra aider folders or history files (workspace folders are always read). */
  aiderPaths: string[];
  openCodeDataDir: string;
  clinePaths: string[];
  rescanSeconds: number;
  priceOverrides: PriceOverrides;
  /** Days of history the index keeps; 0 = all. */
  retentionDays: number;
  /** Budgets from `agentSpend.budgets.*` (validated in the core; invalid ones dropped and reported). */
  budgets: BudgetSettings;
  /** Sessions that spent at least this (USD) with no line changed and no commit are flagged. */
  outputThresholdUSD: number;
  /** Provider billing endpoints (keys are in SecretStorage, never here). */
  providers: Record<ProviderId, ProviderSettings>;
  /** The second status bar item with the plan-limit windows. */
  showLimits: boolean;
  /** A session written within this many seconds is running. */
  runningSeconds: number;
  contextWarnPercent: number;
  /** Limit-window thresholds (percent) that raise one notification each per window. */
  limitWarnAt: number[];
  /** The folder shared with `agent-spend statusline`; '' = the platform's default. */
  stateDir: string;
  /** Flat-rate subscriptions (validated in the core; invalid entries dropped and reported). */
  plans: Plan[];
}

export interface ProviderSettings {
  enabled: boolean;
  /** Minutes between polls (5 at least). */
  pollMinutes: number;
  /** For proxies and tests; '' = the provider's own API. */
  baseUrl: string;
}

export interface ConfigProblem {
  setting: string;
  message: string;
}

export const SECTION = 'agentSpend';

export function readConfig(problems: ConfigProblem[] = []): Config {
  const c = vscode.workspace.getConfiguration(SECTION);
  const get = <K extends SettingKey>(key: K): (typeof SETTINGS)[K]['default'] => {
    const spec = SETTINGS[key];
    const raw = c.get<unknown>(key);
    if (raw === undefined) return spec.default;
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) return parsed.data as (typeof SETTINGS)[K]['default'];
    problems.push({ setting: `${SECTION}.${key}`, message: parsed.error.issues.map(describeIssue).join('; ') });
    return spec.default;
  };
  return {
    period: get('statusBar.period'),
    showBurnRate: get('statusBar.showBurnRate'),
    enabledAgents: get('sources.enabled'),
    claudeCodePaths: get('sources.claudeCode.paths'),
    codexHome: get('sources.codex.home').trim(),
    geminiHome: get('sources.geminiCli.home').trim(),
    aiderPaths: get('sources.aider.paths'),
    openCodeDataDir: get('sources.openCode.dataDir').trim(),
    clinePaths: get('sources.cline.paths'),
    rescanSeconds: get('sources.rescanSeconds'),
    priceOverrides: get('pricing.overrides'),
    retentionDays: get('history.retentionDays'),
    budgets: readBudgets(c, problems),
    outputThresholdUSD: get('output.spendWithoutOutputUSD'),
    providers: {
      anthropic: readProvider(get, 'anthropic'),
      openai: readProvider(get, 'openai'),
      openrouter: readProvider(get, 'openrouter'),
    },
    showLimits: get('statusBar.showLimits'),
    runningSeconds: get('live.runningSeconds'),
    contextWarnPercent: get('live.contextWarnPercent'),
    limitWarnAt: [...new Set(get('limits.warnAt'))].sort((a, b) => a - b),
    stateDir: get('statusLine.stateDir').trim(),
    plans: readPlans(c, problems),
  };
}

function readPlans(c: vscode.WorkspaceConfiguration, problems: ConfigProblem[]): Plan[] {
  const raw = c.get<unknown>('plans');
  if (raw === undefined) return [];
  const parsed = parsePlans(raw);
  for (const p of parsed.problems) problems.push({ setting: p.setting, message: p.message });
  return parsed.plans;
}

const TYPE_WORDS: Record<string, string> = { array: 'a list', int: 'a whole number', object: 'an object', boolean: 'true or false' };

function providerSettings<P extends ProviderId>(p: P) {
  return {
    [`providers.${p}.enabled`]: { schema: z.boolean(), default: true },
    [`providers.${p}.pollMinutes`]: { schema: z.number().check(z.gte(5), z.lte(24 * 60)), default: 15 },
    [`providers.${p}.baseUrl`]: { schema: z.union([z.literal(''), z.url()]), default: '' },
  } as Record<`providers.${P}.enabled`, { schema: z.ZodMiniBoolean; default: boolean }>
    & Record<`providers.${P}.pollMinutes`, { schema: z.ZodMiniNumber; default: number }>
    & Record<`providers.${P}.baseUrl`, { schema: z.ZodMiniType<string>; default: string }>;
}

function readProvider(get: <K extends SettingKey>(key: K) => (typeof SETTINGS)[K]['default'], p: ProviderId): ProviderSettings {
  return {
    enabled: get(`providers.${p}.enabled`) as boolean,
    pollMinutes: get(`providers.${p}.pollMinutes`) as number,
    baseUrl: (get(`providers.${p}.baseUrl`) as string).trim(),
  };
}

/** The budgets are validated by the core, which names each bad value's setting; the rest keep working. */
function readBudgets(c: vscode.WorkspaceConfiguration, problems: ConfigProblem[]): BudgetSettings {
  const raw = (key: string): unknown => c.get<unknown>(`budgets.${key}`);
  const parsed = parseBudgetSettings(
    { daily: raw('daily'), weekly: raw('weekly'), monthly: raw('monthly'), perSession: raw('perSession'), warnAt: raw('warnAt'), rules: raw('rules'), weekStartsOn: raw('weekStartsOn') },
    { homeDir: os.homedir() },
  );
  for (const p of parsed.problems) problems.push({ setting: p.setting, message: p.message });
  return parsed;
}

/** zod/mini carries no message texts (they would weigh 400 KB): word the common issues here. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  switch (issue.code) {
    case 'invalid_value': return `${where}must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_type': return `${where}must be ${TYPE_WORDS[issue.expected] ?? `a ${issue.expected}`}`;
    case 'too_small': return `${where}must be at least ${String(issue.minimum)}${issue.origin === 'string' ? ' characters' : ''}`;
    case 'too_big': return `${where}must be at most ${String(issue.maximum)}`;
    case 'not_multiple_of': return `${where}must be a whole number`;
    default: return `${where}is not valid (${issue.code})`;
  }
}

/** Watches the settings; `onDidChange` gets the new snapshot and what changed. */
export class ConfigWatcher implements vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<{ config: Config; sourcesChanged: boolean; pricingChanged: boolean; budgetsChanged: boolean; providersChanged: boolean; outputChanged: boolean; liveChanged: boolean }>();
  readonly onDidChange = this.emitter.event;
  private readonly subscription: vscode.Disposable;
  current: Config;
  problems: ConfigProblem[] = [];

  constructor() {
    this.current = this.read();
    this.subscription = vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration(SECTION)) return;
      const before = this.current;
      this.current = this.read();
      this.emitter.fire({
        config: this.current,
        sourcesChanged: e.affectsConfiguration(`${SECTION}.sources`) && JSON.stringify(sourcesOf(before)) !== JSON.stringify(sourcesOf(this.current)),
        pricingChanged: e.affectsConfiguration(`${SECTION}.pricing`),
        budgetsChanged: e.affectsConfiguration(`${SECTION}.budgets`),
        providersChanged: e.affectsConfiguration(`${SECTION}.providers`),
        outputChanged: e.affectsConfiguration(`${SECTION}.output`),
        liveChanged: ['live', 'limits', 'plans', 'statusLine', 'statusBar.showLimits'].some((k) => e.affectsConfiguration(`${SECTION}.${k}`)),
      });
    });
  }

  private read(): Config {
    const problems: ConfigProblem[] = [];
    const config = readConfig(problems);
    this.problems = problems;
    return config;
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
  }
}

function sourcesOf(c: Config) {
  return [c.enabledAgents, c.claudeCodePaths, c.codexHome, c.geminiHome, c.aiderPaths, c.openCodeDataDir, c.clinePaths];
}
