/** Builds the enabled sources from settings; shared by the CLI and the extension. */
import type { AgentId } from '../core/events';
import { ClaudeCodeSource } from './claudeCode';
import { CodexSource } from './codex';
import type { Source, SourceEnv, SourceFs } from './source';

export interface SourceSettings {
  /** Agents to read; undefined = all implemented. */
  enabled?: readonly AgentId[];
  claudeCodePaths?: readonly string[];
  codexHome?: string;
}

/** Agents with a reader in this build. */
export const IMPLEMENTED_AGENTS: readonly AgentId[] = ['claude-code', 'codex'];

export function createSources(env: SourceEnv, fs: SourceFs, settings: SourceSettings = {}): Source[] {
  const on = (a: AgentId) => !settings.enabled || settings.enabled.includes(a);
  const sources: Source[] = [];
  if (on('claude-code')) sources.push(new ClaudeCodeSource(env, fs, { extraPaths: settings.claudeCodePaths ?? [] }));
  if (on('codex')) sources.push(new CodexSource(env, fs, settings.codexHome ? { home: settings.codexHome } : {}));
  return sources;
}
