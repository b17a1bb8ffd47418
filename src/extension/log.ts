/**
 * The "Agent Spend" output channel. Keeps the recent entries in memory too, so the
 * exported API (and the host tests) can see what the user would see.
 */
import * as vscode from 'vscode';

const KEEP = 500;

export class Log implements vscode.Disposable {
  private readonly channel: vscode.LogOutputChannel;
  private readonly recent: string[] = [];

  constructor(name = 'Agent Spend') {
    this.channel = vscode.window.createOutputChannel(name, { log: true });
  }

  info(message: string): void {
    this.remember('info', message);
    this.channel.info(message);
  }

  warn(message: string): void {
    this.remember('warn', message);
    this.channel.warn(message);
  }

  error(message: string): void {
    this.remember('error', message);
    this.channel.error(message);
  }

  show(): void {
    this.channel.show(true);
  }

  entries(): readonly string[] {
    return this.recent;
  }

  private remember(level: string, message: string): void {
    this.recent.push(`[${level}] ${message}`);
    if (this.recent.length > KEEP) this.recent.splice(0, this.recent.length - KEEP);
  }

  dispose(): void {
    this.channel.dispose();
  }
}
