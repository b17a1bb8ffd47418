/**
 * The one reader of `agentSpend.*` settings: reads them once, validates them with
 * zod (an invalid value falls back to its default and is reported by name), and
 * fires `onDidChange` with the new snapshot when the user edits them.
 */
import * as vscode from 'vscode';
import { z } from 'zod';
import { AgentIdSchema, type AgentId } from '../core/events';
import type { PriceOverrides } from '../core/pricing';

export const PERIODS = ['today', 'session', 'week', 'month'] as const;
export type Period = (typeof PERIODS)[number];

const RateSchema = z.number().finite().nonnegative();
const RatesSchema = z.object({
  input: RateSchema.optional(),
  output: RateSchema.optional(),
  cacheWrite5m: RateSchema.optional(),
  cacheWrite1h: RateSchema.optional(),
  cacheRead: RateSchema.optional(),
});
const OverrideSchema = RatesSchema.extend({
  longContext: RatesSchema.extend({ thresholdTokens: z.number().int().positive() }).optional(),
});

/** Each setting's schema and default (defaults mirror package.json). */
const SETTINGS = {
  'statusBar.period': { schema: z.enum(PERIODS), default: 'today' as Period },
  'statusBar.showBurnRate': { schema: z.boolean(), default: true },
  'sources.enabled': { schema: z.array(AgentIdSchema), default: ['claude-code', 'codex'] as AgentId[] },
  'sources.claudeCode.paths': { schema: z.array(z.string().min(1)), default: [] as string[] },
  'sources.codex.home': { schema: z.string(), default: '' },
  'sources.rescanSeconds': { schema: z.number().int().min(10).max(3600), default: 60 },
  'pricing.overrides': { schema: z.record(z.string(), OverrideSchema), default: {} as PriceOverrides },
} as const;

type SettingKey = keyof typeof SETTINGS;

export interface Config {
  period: Period;
  showBurnRate: boolean;
  enabledAgents: AgentId[];
  claudeCodePaths: string[];
  codexHome: string;
  rescanSeconds: number;
  priceOverrides: PriceOverrides;
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
    problems.push({ setting: `${SECTION}.${key}`, message: parsed.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ') });
    return spec.default;
  };
  return {
    period: get('statusBar.period'),
    showBurnRate: get('statusBar.showBurnRate'),
    enabledAgents: get('sources.enabled'),
    claudeCodePaths: get('sources.claudeCode.paths'),
    codexHome: get('sources.codex.home').trim(),
    rescanSeconds: get('sources.rescanSeconds'),
    priceOverrides: get('pricing.overrides'),
  };
}

/** Watches the settings; `onDidChange` gets the new snapshot and what changed. */
export class ConfigWatcher implements vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<{ config: Config; sourcesChanged: boolean; pricingChanged: boolean }>();
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
  return [c.enabledAgents, c.claudeCodePaths, c.codexHome];
}
