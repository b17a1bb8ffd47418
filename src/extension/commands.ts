/** Every command the extension contributes, in one table (ids match package.json). */
import * as vscode from 'vscode';

export const COMMANDS = {
  showPanel: 'agentSpend.showPanel',
  refresh: 'agentSpend.refresh',
  showLog: 'agentSpend.showLog',
  clearHistory: 'agentSpend.history.clear',
  export: 'agentSpend.export',
  setProviderKey: 'agentSpend.setProviderKey',
  clearProviderKey: 'agentSpend.clearProviderKey',
  setUpClaudeStatusLine: 'agentSpend.setUpClaudeStatusLine',
} as const;

export type CommandName = keyof typeof COMMANDS;
export type CommandHandlers = Record<CommandName, (...args: unknown[]) => unknown>;

export function registerCommands(handlers: CommandHandlers): vscode.Disposable[] {
  return (Object.keys(COMMANDS) as CommandName[]).map((name) => vscode.commands.registerCommand(COMMANDS[name], handlers[name]));
}
