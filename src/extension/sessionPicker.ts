/**
 * The breakdown until the panel lands: a quick pick of sessions (most recent
 * first) with their cost, agent, models and duration; picking one opens its log.
 */
import * as vscode from 'vscode';
import { folderName, formatDuration, formatTokens, formatUSD, plural } from '../core/format';
import type { Ledger } from '../core/ledger';
import { ACTIVE_WINDOW_MS } from '../core/summary';

interface SessionPick extends vscode.QuickPickItem {
  file: string;
}

const MAX_ITEMS = 500;

export function sessionPicks(ledger: Ledger, now: number, locale?: string): SessionPick[] {
  const rows = [...ledger.group('session')]
    .map(([id, totals]) => ({ id, totals, info: ledger.session(id) }))
    .filter((r) => r.info)
    .sort((a, b) => b.totals.lastTimestamp - a.totals.lastTimestamp)
    .slice(0, MAX_ITEMS);
  return rows.map(({ id, totals, info }) => {
    const active = now - totals.lastTimestamp <= ACTIVE_WINDOW_MS;
    const cost = formatUSD(totals.spendNanos, locale) + (totals.unpricedRequests ? '+' : '');
    const models = [...info!.models.keys()].join(', ');
    const started = new Date(totals.firstTimestamp).toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'short' });
    const tokens = totals.inputTokens + totals.outputTokens + totals.cacheCreationTokens + totals.cacheReadTokens;
    return {
      label: `${active ? '$(pulse) ' : ''}${folderName(info!.project) || id}`,
      description: `${cost} · ${info!.agent} · ${models}`,
      detail: `${started}${totals.lastTimestamp > totals.firstTimestamp ? ` · ${formatDuration(totals.lastTimestamp - totals.firstTimestamp)}` : ''} · ${plural(totals.requests, 'request', locale)} · ${formatTokens(tokens)} tokens${totals.unpricedRequests ? ` · ${totals.unpricedRequests} unpriced` : ''}${info!.branch ? ` · ${info!.branch}` : ''} · ${id}`,
      file: info!.file,
    };
  });
}

export async function pickSession(ledger: Ledger, locale?: string): Promise<void> {
  const picks = sessionPicks(ledger, Date.now(), locale);
  if (picks.length === 0) {
    void vscode.window.showInformationMessage('Agent Spend: no agent sessions found yet (Claude Code, Codex CLI).');
    return;
  }
  const total = formatUSD([...ledger.group('session').values()].reduce((s, t) => s + t.spendNanos, 0), locale);
  const choice = await vscode.window.showQuickPick(picks, {
    title: `Agent Spend — ${picks.length} sessions, ${total}`,
    placeHolder: 'Pick a session to open its log',
    matchOnDescription: true,
    matchOnDetail: true,
  });
  if (choice) await vscode.window.showTextDocument(vscode.Uri.file(choice.file), { preview: true });
}
