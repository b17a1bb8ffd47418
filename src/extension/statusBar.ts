/** The spend item in the status bar: text, markdown tooltip, accessibility, click → breakdown. */
import * as vscode from 'vscode';
import { buildStatusView, type StatusView, type StatusViewOptions } from '../core/statusView';
import type { SpendSummary } from '../core/summary';
import { COMMANDS } from './commands';
import type { BudgetView } from './budgetAlerts';
import type { Config } from './config';

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
