/** Builds the enabled sources from settings; shared by the CLI and the extension. */
import type { AgentId } from '../core/events';
import { AiderSource } from './aider';
import { ClaudeCodeSource } from './claudeCode';
import { CodexSource } from './codex';
import { GeminiCliSource } from './geminiCli';
import type { Source, SourceEnv, SourceFs } from './source';

export interface SourceSettings {
  /** Agents to read; undefined = all implemented. */
  enabled?: readonly AgentId[];
  claudeCodePaths?: readonly string[];
  codexHome?: string;
  geminiHome?: string;
  /** Folders whose `.aider.chat.history.md` (here or at their git root) is read: workspace folders and settings. */
  aiderFolders?: readonly string[];
  /** Explicit aider `--chat-history-file` paths. */
  aiderHistoryFiles?: readonly string[];
}

/** Agents with a reader in this build. */
export const IMPLEMENTED_AGENTS: readonly AgentId[] = ['claude-code', 'codex', 'gemini-cli', 'aider'];

export function createSources(env: SourceEnv, fs: SourceFs, settings: SourceSettings = {}): Source[] {
  const on = (a: AgentId) => !settings.enabled || settings.enabled.includes(a);
  const sources: Source[] = [];
  if (on('claude-code')) sources.push(new ClaudeCodeSource(env, fs, { extraPaths: settings.claudeCodePaths ?? [] }));
  if (on('codex')) sources.push(new CodexSource(env, fs, settings.codexHome ? { home: settings.codexHome } : {}));
  if (on('gemini-cli')) sources.push(new GeminiCliSource(env, fs, settings.geminiHome ? { home: settings.geminiHome } : {}));
  if (on('aider') && ((settings.aiderFolders?.length ?? 0) > 0 || (settings.aiderHistoryFiles?.length ?? 0) > 0)) {
    sources.push(new AiderSource(env, fs, { folders: [...(settings.aiderFolders ?? [])], historyFiles: [...(settings.aiderHistoryFiles ?? [])] }));
  }
  return sources;
}
