/**
 * What the status bar item says: its text, a markdown tooltip and an accessible
 * label, from a spend summary. Pure, so it is tested in plain node.
 */
import { folderName, formatDuration, formatTokens, formatUSD, md } from './format';
import { blockLines, type UsageBlock } from './blocks';
import { budgetLines, type BudgetStatus } from './budgets';
import { costBasis, type Totals } from './ledger';
import { agoText, PROVIDER_LABELS, type ModelProvider } from './reconcile';
import type { Period, SessionSummary, SpendSummary } from './summary';
import { limitsTooltipLines, type AgentLimits, type EstimatedBlockInfo } from './limits';
import { liveTooltipLines, type LiveSession } from './live';
import { planWorthSentence, type PlanWorth } from './plans';

export interface StatusViewOptions {
  period: Period;
  showBurnRate: boolean;
  /** Log problems to mention (already worded for a person). */
  problems: number;
  configProblems: readonly string[];
  locale?: string;
  /** Evaluated budgets (their worst state colours the item; each gets a tooltip line). */
  budgets?: readonly BudgetStatus[];
  /** Today's lines changed by the agents' edit tools, for "cost per 100 changed lines". */
  todayLinesChanged?: number;
  /** The current 5-hour block (estimate), for the `block` period and the tooltip. */
  block?: UsageBlock;
  /**
   * Month-to-date as the providers bill it (UTC month; src/core/reconcile.ts `monthToDate`)
   * with the estimate over the same days, and the age of the figures. Only providers with
   * billing configured; no tooltip line when absent or empty.
   */
  billed?: ReadonlyArray<{ provider: ModelProvider; billedNanos: number | null; estimatedNanos: number; ageMs: number | null }>;
  /** What is running now (src/core/live.ts), plan limits and plan worth: the text leads with the running count. */
  live?: {
    sessions: readonly LiveSession[];
    limits: readonly AgentLimits[];
    estimated?: EstimatedBlockInfo;
    plans: readonly PlanWorth[];
  };
}

export interface StatusView {
  text: string;
  tooltip: string;
  accessibilityLabel: string;
  /** The worst budget state: the item's background follows it. */
  budgetState: 'ok' | 'warn' | 'over';
}

const PERIOD_LABEL: Record<Period, string> = { today: 'today', session: 'session', week: 'this week', month: 'this month', block: 'block' };

export function periodTotals(s: SpendSummary, period: Period): Totals | undefined {
  switch (period) {
    case 'today': return s.today;
    case 'week': return s.week;
    case 'month': return s.month;
    case 'session': return s.lastSession?.totals;
    case 'block': return undefined; // the block is not a ledger grouping: see buildStatusView
  }
}

export function buildStatusView(s: SpendSummary, o: StatusViewOptions): StatusView {
  const totals = periodTotals(s, o.period);
  const usd = (n: number) => formatUSD(n, o.locale);
  const active = s.activeSessions.length > 0;
  const block = o.period === 'block' && o.block?.active ? o.block : undefined;
  // "+" marks a figure that leaves out unpriced requests: it is a lower bound.
  const amount = block
    ? usd(block.spendNanos) + (block.unpricedRequests > 0 ? '+' : '')
    : totals ? usd(totals.spendNanos) + (totals.unpricedRequests > 0 ? '+' : '') : usd(0);
  const burn = active && o.showBurnRate && s.burnRateNanosPerMin !== undefined ? ` · ${usd(s.burnRateNanosPerMin)}/min` : '';
  const running = o.live ? o.live.sessions.filter((x) => x.state === 'running').length : 0;
  const icon = active || running > 0 ? '$(pulse)' : '$(graph-line)';
  const periodLabel = block ? `block · ${formatDuration(block.timeLeftMs)} left` : PERIOD_LABEL[o.period];
  const text = running > 0 ? `${icon} ${running} running · ${amount} ${periodLabel}${burn}` : `${icon} ${amount} ${periodLabel}${burn}`;
  const basis = totals ? costBasis(totals) : 'none';
  const basisWord = basis === 'logged' ? 'as logged by the agents' : basis === 'mixed' ? 'estimated and logged' : 'estimated';
  const budgetState = worstBudgetState(o.budgets ?? []);
  const accessibilityLabel = `Agent Spend: ${amount.replace('+', ' plus unpriced requests')} ${basisWord} ${periodLabel}` +
    (budgetState === 'over' ? ', a budget is exceeded' : budgetState === 'warn' ? ', a budget is near its limit' : '') +
    (burn ? `, burning ${usd(s.burnRateNanosPerMin!)} per minute` : '') +
    (running > 0 ? `, ${running} agent session${running > 1 ? 's' : ''} running` : active ? `, ${s.activeSessions.length} agent session${s.activeSessions.length > 1 ? 's' : ''} active` : '');
  return { text, tooltip: buildTooltip(s, o), accessibilityLabel, budgetState };
}

function buildTooltip(s: SpendSummary, o: StatusViewOptions): string {
  const usd = (n: number) => formatUSD(n, o.locale);
  const lines: string[] = [];
  lines.push(`**Agent Spend** — ${basisLine(s.month, usd)}`, '');
  lines.push('| | cost | requests | tokens |', '|:--|--:|--:|--:|');
  for (const [label, t] of [['Today', s.today], ['This week', s.week], ['This month', s.month]] as const) {
    lines.push(`| ${label} | ${usd(t.spendNanos)}${t.unpricedRequests ? '+' : ''} | ${t.requests.toLocaleString(o.locale)} | ${formatTokens(tokenSum(t))} |`);
  }
  lines.push('');
  const live = o.live?.sessions.filter((x) => x.state !== 'finished') ?? [];
  if (live.length > 0) {
    lines.push(...liveTooltipLines(live, { ...(o.locale ? { locale: o.locale } : {}), max: 6 }));
    const full = live.filter((x) => x.context?.warn);
    for (const x of full) lines.push(`$(warning) context ${Math.round(x.context!.percent!)}% full: ${md(folderName(x.project) || x.sessionId)} (${md(x.model ?? 'unknown model')})`, '');
  } else if (s.activeSessions.length > 0) {
    lines.push(`**Active now** (${s.activeSessions.length})${s.burnRateNanosPerMin !== undefined ? ` · ${usd(s.burnRateNanosPerMin)}/min over the last 10 min` : ''}`, '');
    for (const a of s.activeSessions.slice(0, 5)) lines.push(`- ${sessionLine(a, s.now, usd)}`);
    lines.push('');
  } else if (s.lastSession) {
    lines.push(`**Last session:** ${sessionLine(s.lastSession, s.now, usd)}`, '');
  } else {
    lines.push('No agent usage found yet. Reads Claude Code and Codex CLI logs from their default folders.', '');
  }
  if (o.todayLinesChanged !== undefined && s.today.requests > 0) {
    lines.push(o.todayLinesChanged > 0
      ? `**Output today:** ${o.todayLinesChanged.toLocaleString(o.locale)} lines changed by the agents' edit tools — ${usd(Math.round((s.today.spendNanos * 100) / o.todayLinesChanged))} per 100 changed lines`
      : '**Output today:** no line changed by the agents\' edit tools yet', '');
  }
  if (o.budgets && o.budgets.length > 0) lines.push(...budgetLines(o.budgets, o.locale));
  if (o.block && (o.period === 'block' || o.block.active)) lines.push(...blockLines(o.block, s.now, o.locale), '');
  if (o.billed && o.billed.length > 0) lines.push(billedLine(o.billed, usd), '');
  if (o.live) {
    lines.push(...limitsTooltipLines(o.live.limits, s.now, { ...(o.locale ? { locale: o.locale } : {}), ...(o.live.estimated ? { estimated: o.live.estimated } : {}) }));
    for (const p of o.live.plans) if (p.current) lines.push(`**${md(p.plan.name)}** (${p.plan.agent}): ${planWorthSentence(p.current, o.locale)}`, '');
  }
  const top = s.topModels.filter((m) => m.costNanos > 0).slice(0, 3);
  if (top.length > 0) lines.push(`**Top models this month:** ${top.map((m) => `${md(m.model)} ${usd(m.costNanos)}`).join(' · ')}`, '');
  const unpriced = s.topModels.filter((m) => m.unpriced > 0);
  if (unpriced.length > 0) {
    const n = unpriced.reduce((a, m) => a + m.unpriced, 0);
    lines.push(`$(warning) ${n.toLocaleString(o.locale)} unpriced request${n > 1 ? 's' : ''} this month, not in the totals (no price for ${unpriced.slice(0, 3).map((m) => md(m.model)).join(', ')}${unpriced.length > 3 ? ', …' : ''}): add a price in \`agentSpend.pricing.overrides\``, '');
  }
  if (o.problems > 0) lines.push(`$(warning) ${o.problems} log problem${o.problems > 1 ? 's' : ''} (skipped lines or unreadable folders) — [show log](command:agentSpend.showLog)`, '');
  for (const p of o.configProblems) lines.push(`$(warning) ${md(p)}`, '');
  lines.push('[Open breakdown](command:agentSpend.showPanel) · [Refresh](command:agentSpend.refresh) · [Log](command:agentSpend.showLog)');
  return lines.join('\n');
}

/** Says how the month's figures were obtained: estimated from tokens, logged by the agents, or both. */
function basisLine(month: Totals, usd: (n: number) => string): string {
  switch (costBasis(month)) {
    case 'logged': return 'as logged by the agents themselves';
    case 'mixed': return `estimated from tokens at list prices, and as logged by agents that record their cost (${usd(month.loggedCostNanos)} this month)`;
    default: return 'estimated from the agents\' logs at list prices';
  }
}

/** "Billed this month (provider reports, UTC): Anthropic $X (estimated $Y) · … · as of 12 min ago" (the oldest figures' age). */
function billedLine(billed: NonNullable<StatusViewOptions['billed']>, usd: (n: number) => string): string {
  const parts = billed.map((b) => `${PROVIDER_LABELS[b.provider]} ${b.billedNanos === null ? 'not reported' : usd(b.billedNanos)} (estimated ${usd(b.estimatedNanos)})`);
  const ages = billed.map((b) => b.ageMs).filter((a): a is number => a !== null && Number.isFinite(a));
  const asOf = ages.length > 0 ? ` · as of ${agoText(Math.max(...ages))}` : '';
  return `**Billed this month** (provider reports, UTC): ${parts.join(' · ')}${asOf}`;
}

function worstBudgetState(statuses: readonly BudgetStatus[]): 'ok' | 'warn' | 'over' {
  if (statuses.some((b) => b.state === 'over')) return 'over';
  return statuses.some((b) => b.state === 'warn') ? 'warn' : 'ok';
}

function sessionLine(a: SessionSummary, now: number, usd: (n: number) => string): string {
  const models = [...a.info.models.keys()].map(md).join(', ');
  const span = a.totals.lastTimestamp - a.totals.firstTimestamp;
  const ago = now - a.totals.lastTimestamp;
  return `${a.info.agent} · ${md(folderName(a.info.project) || a.info.sessionId)} · ${models}${span > 0 ? ` · ${formatDuration(span)}` : ''} — **${usd(a.totals.spendNanos)}**${a.totals.unpricedRequests ? '+' : ''}${ago > 60_000 ? ` (last request ${formatDuration(ago)} ago)` : ''}`;
}

function tokenSum(t: Totals): number {
  return t.inputTokens + t.outputTokens + t.cacheCreationTokens + t.cacheReadTokens;
}

