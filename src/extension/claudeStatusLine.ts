/**
 * "Show Claude Code limits in the editor": Claude Code passes its real 5-hour / weekly limits
 * and context figures only to its status line command. This copies the status line script to
 * our own state folder (a path that survives extension updates), puts the exact `statusLine`
 * entry on the clipboard and opens Claude Code's settings.json for the user to paste it.
 * The extension never edits an agent's settings itself.
 */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Log } from './log';

export interface StatusLineSetup {
  /** The `"statusLine": {…}` entry put on the clipboard. */
  snippet: string;
  /** Claude Code's user settings file that was opened. */
  settingsFile: string;
  /** The settings already run Agent Spend's status line. */
  alreadySet: boolean;
}

/** Claude Code's user settings: the first folder of CLAUDE_CONFIG_DIR, else ~/.claude. */
export function claudeSettingsFile(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  const first = env['CLAUDE_CONFIG_DIR']?.split(',').map((s) => s.trim()).find(Boolean);
  return path.join(first || path.join(home, '.claude'), 'settings.json');
}

/** The settings entry: `node "<script>" --state-dir "<dir>"`, JSON-quoted for the settings file. */
export function statusLineSnippet(script: string, stateDir: string | undefined): string {
  const q = (s: string) => `"${s.replace(/"/g, '\\"')}"`;
  const command = `node ${q(script)}${stateDir ? ` --state-dir ${q(stateDir)}` : ''}`;
  return `"statusLine": ${JSON.stringify({ type: 'command', command, padding: 0 }, null, 2)}`;
}

export async function setUpClaudeStatusLine(extensionUri: vscode.Uri, stateDir: string, log: Log): Promise<StatusLineSetup> {
  const source = vscode.Uri.joinPath(extensionUri, 'dist', 'statusline.js').fsPath;
  const script = path.join(stateDir, 'bin', 'statusline.js');
  await fsp.mkdir(path.dirname(script), { recursive: true, mode: 0o700 });
  await fsp.copyFile(source, script);
  log.info(`status line script copied to ${script}`);
  // The folder is named explicitly: Claude Code's environment may not hold the variables the editor's has.
  const snippet = statusLineSnippet(script, stateDir);
  const settingsFile = claudeSettingsFile();
  const existing = await fsp.readFile(settingsFile, 'utf8').catch(() => undefined);
  const alreadySet = existing !== undefined && /"statusLine"[\s\S]*statusline\.js/.test(existing);
  await vscode.env.clipboard.writeText(snippet);
  const uri = vscode.Uri.file(settingsFile);
  // A missing file opens as an unsaved editor at that path: the user decides whether to save it.
  const doc = await vscode.workspace.openTextDocument(existing === undefined ? uri.with({ scheme: 'untitled' }) : uri);
  await vscode.window.showTextDocument(doc, { preview: false });
  const message = alreadySet
    ? 'Claude Code already runs the Agent Spend status line: its 5-hour and weekly limits and context fill show in the editor after its next response.'
    : 'Claude Code passes its real 5-hour and weekly limits and context fill only to its status line command. The "statusLine" entry is on the clipboard: paste it into the settings.json that just opened (inside the outer braces) and save. Agent Spend never edits an agent\'s settings.';
  void vscode.window.showInformationMessage(message, 'Copy Again').then((pick) => {
    if (pick) void vscode.env.clipboard.writeText(snippet);
  });
  return { snippet, settingsFile, alreadySet };
}
