/** The spend item in the status bar: text, markdown tooltip, accessibility, click → breakdown. */
import * as vscode from 'vscode';
import { buildStatusView, type StatusView, type StatusViewOptions } from '../core/statusView';
import type { SpendSummary } from '../core/summary';
import { COMMANDS } from './commands';
import type { BudgetView } from './budgetAlerts';
import type { Config } from './config';
import type { LiveStateView } from './liveState';
import { limitsStatusText, limitsTooltipLines } from '../core/limits';

export class SpendStatusItem implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private view: StatusView | undefined;

  constructor() {
    this.item = vscode.window.createStatusBarItem('agentSpend.spend', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'Agent Spend';
    this.item.command = COMMANDS.showPanel;
    this.item.text = '$(sync~spin) Agent Spend';
    this.item.tooltip = 'Agent Spend: reading agent logs…';
    this.item.accessibilityInformation = { label: 'Agent Spend: reading agent logs', role: 'button' };
    this.item.show();
  }

  update(
    summary: SpendSummary,
    config: Config,
    problems: number,
    configProblems: readonly string[],
    budgets: BudgetView = { statuses: [] },
    billed: StatusViewOptions['billed'] = [],
    todayLinesChanged?: number,
    live?: LiveStateView,
  ): void {
    const view = buildStatusView(summary, {
      period: config.period,
      showBurnRate: config.showBurnRate,
      problems,
      configProblems,
      locale: vscode.env.language,
      budgets: budgets.statuses,
      ...(budgets.block ? { block: budgets.block } : {}),
      billed,
      ...(todayLinesChanged !== undefined ? { todayLinesChanged } : {}),
      ...(live ? { live: { sessions: live.sessions, limits: live.limits, plans: live.plans, ...(live.estimated ? { estimated: live.estimated } : {}) } } : {}),
    });
    this.view = view;
    this.item.text = view.text;
    const tooltip = new vscode.MarkdownString(view.tooltip, true);
    tooltip.isTrusted = { enabledCommands: Object.values(COMMANDS) };
    this.item.tooltip = tooltip;
    this.item.accessibilityInformation = { label: view.accessibilityLabel, role: 'button' };
    this.item.backgroundColor = view.budgetState === 'over'
      ? new vscode.ThemeColor('statusBarItem.errorBackground')
      : view.budgetState === 'warn' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.budgetState = view.budgetState;
  }

  private budgetState: 'ok' | 'warn' | 'over' = 'ok';

  /** What is shown now (for the exported API). */
  current(): { text: string; tooltip: string; accessibilityLabel: string; background: 'none' | 'warning' | 'error' } {
    return {
      background: this.budgetState === 'over' ? 'error' : this.budgetState === 'warn' ? 'warning' : 'none',
      text: this.item.text,
      tooltip: this.view?.tooltip ?? String(this.item.tooltip ?? ''),
      accessibilityLabel: this.item.accessibilityInformation?.label ?? '',
    };
  }

  dispose(): void {
    this.item.dispose();
  }
}

/**
 * The plan-limit windows (`$(dashboard) 5h 42% · 7d 18%`): only real figures (logged by the
 * agent or from Claude Code's status line); hidden while there are none or when turned off.
 * Warning / error background when a window reaches the first / last `agentSpend.limits.warnAt`.
 */
export class LimitsStatusItem implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private shown = { text: '', tooltip: '', accessibilityLabel: '', background: 'none' as 'none' | 'warning' | 'error', visible: false };

  constructor() {
    this.item = vscode.window.createStatusBarItem('agentSpend.limits', vscode.StatusBarAlignment.Right, 99);
    this.item.name = 'Agent Spend: Plan Limits';
    this.item.command = COMMANDS.showPanel;
  }

  update(live: LiveStateView, config: Config, now = Date.now()): void {
    const real = live.limits.filter((l) => l.source !== 'estimated' && l.windows.length > 0);
    if (!config.showLimits || real.length === 0) {
      this.item.hide();
      this.shown = { ...this.shown, visible: false };
      return;
    }
    const locale = vscode.env.language;
    const used = real.flatMap((l) => l.windows.map((w) => w.usedPercent ?? 0));
    const top = Math.max(0, ...used);
    const marks = config.limitWarnAt;
    const background = marks.length > 0 && top >= marks[marks.length - 1]! ? 'error' : marks.length > 0 && top >= marks[0]! ? 'warning' : 'none';
    const text = `$(dashboard) ${limitsStatusText(real, locale)}`;
    const tooltip = [...limitsTooltipLines(real, now, { locale }), '[Open breakdown](command:agentSpend.showPanel)'].join('\n');
    const md = new vscode.MarkdownString(tooltip, true);
    md.isTrusted = { enabledCommands: [COMMANDS.showPanel] };
    this.item.text = text;
    this.item.tooltip = md;
    const label = `Agent Spend plan limits: ${limitsStatusText(real, locale).replace(/\b5h\b/g, '5-hour window').replace(/\b7d\b/g, 'weekly window')}`;
    this.item.accessibilityInformation = { label, role: 'button' };
    this.item.backgroundColor = background === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : background === 'warning' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.show();
    this.shown = { text, tooltip, accessibilityLabel: label, background, visible: true };
  }

  /** What is shown now (for the exported API). */
  current(): { text: string; tooltip: string; accessibilityLabel: string; background: 'none' | 'warning' | 'error'; visible: boolean } {
    return { ...this.shown };
  }

  dispose(): void {
    this.item.dispose();
  }
}
