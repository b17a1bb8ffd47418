/**
 * Budgets in the editor: evaluates them against the live ledger (throttled), keeps which
 * threshold crossings were already announced in globalState (so a reload, a second window
 * or a rescan never repeats one), and raises one notification per crossing.
 */
import * as vscode from 'vscode';
import { currentBlock, type UsageBlock } from '../core/blocks';
import { detectCrossings, evaluateBudgets, pruneNotified, type BudgetStatus, type Crossing } from '../core/budgets';
import type { Ledger } from '../core/ledger';
import { COMMANDS } from './commands';
import type { Config } from './config';
import type { Log } from './log';

const NOTIFIED_KEY = 'agentSpend.budgets.notified';
const SNOOZE_KEY = 'agentSpend.budgets.snoozedUntil';
/** Evaluations walk every request of the period: at most one per second while agents write. */
const MIN_INTERVAL_MS = 1_000;

export interface BudgetView {
  statuses: BudgetStatus[];
  block?: UsageBlock;
}

export class BudgetMonitor implements vscode.Disposable {
  private view: BudgetView = { statuses: [] };
  private lastRun = 0;
  private trailing: NodeJS.Timeout | undefined;
  /** Every notification shown (message text), for the exported API. */
  readonly shown: string[] = [];

  /** `rerun` is called when a throttled evaluation is due (the caller renders, which evaluates). */
  constructor(private readonly state: vscode.Memento, private readonly log: Log, private readonly rerun: () => void) {}

  dispose(): void {
    if (this.trailing) clearTimeout(this.trailing);
  }

  current(): BudgetView {
    return this.view;
  }

  /**
   * Re-evaluates (unless it ran less than a second ago and `force` is false) and announces new
   * crossings. Call only once the first scan is done: a half-read history would cross
   * thresholds that are not really crossed.
   */
  evaluate(ledger: Ledger, config: Config, now = Date.now(), force = false): BudgetView {
    if (!force && now - this.lastRun < MIN_INTERVAL_MS) {
      // Throttled: make sure the latest changes are judged once the interval is over.
      this.trailing ??= setTimeout(() => {
        this.trailing = undefined;
        this.rerun();
      }, MIN_INTERVAL_MS - (now - this.lastRun));
      return this.view;
    }
    this.lastRun = now;
    const { budgets, warnAt, weekStartsOn } = config.budgets;
    const statuses = budgets.length > 0 ? evaluateBudgets(ledger.allRecords(), budgets, now, { warnAt, weekStartsOn }) : [];
    const block = currentBlock(ledger.allRecords(), now);
    this.view = block ? { statuses, block } : { statuses };
    if (statuses.length > 0) this.announce(statuses, warnAt, weekStartsOn, now);
    return this.view;
  }

  private announce(statuses: BudgetStatus[], warnAt: number[], weekStartsOn: number, now: number): void {
    // Read right before deciding: another window may have announced meanwhile.
    const notified = new Set(this.state.get<string[]>(NOTIFIED_KEY, []));
    const { crossings, notified: next } = detectCrossings(statuses, notified, warnAt, { locale: vscode.env.language });
    if (crossings.length === 0) return;
    void this.state.update(NOTIFIED_KEY, [...pruneNotified(next, now, weekStartsOn, statuses)]);
    const snoozed = now < this.state.get<number>(SNOOZE_KEY, 0);
    for (const c of crossings) {
      this.log.info(`budget: ${c.message}${snoozed ? ' (snoozed: not shown)' : ''}`);
      if (!snoozed) this.show(c);
    }
  }

  private show(c: Crossing): void {
    this.shown.push(c.message);
    const show = c.severity === 'over' ? vscode.window.showErrorMessage : vscode.window.showWarningMessage;
    void show(`Agent Spend: ${c.message}`, 'Open breakdown', 'Snooze for today', 'Edit budgets').then((choice) => {
      if (choice === 'Open breakdown') void vscode.commands.executeCommand(COMMANDS.showPanel);
      else if (choice === 'Edit budgets') void vscode.commands.executeCommand('workbench.action.openSettings', 'agentSpend.budgets');
      else if (choice === 'Snooze for today') {
        const midnight = new Date();
        midnight.setHours(24, 0, 0, 0);
        void this.state.update(SNOOZE_KEY, midnight.getTime());
      }
    });
  }
}
