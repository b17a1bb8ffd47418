/** Builds the enabled sources from settings; shared by the CLI and the extension. */
import type { AgentId } from '../core/events';
import { AiderSource } from './aider';
import { ClaudeCodeSource } from './claudeCode';
import { ClineSource } from './cline';
import { CodexSource } from './codex';
import { GeminiCliSource } from './geminiCli';
import { OpenCodeSource } from './openCode';
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
  /** Extra Cline / Roo Code / Kilo Code storage folders (globalStorage/<id>, tasks/ or sessions/). */
  clinePaths?: readonly string[];
  openCodeDataDir?: string;
  /** Read human prompts (for tasks) too; a one-shot report does not need them. Default true. */
  prompts?: boolean;
  /** Read the agents' edit tool calls (lines added/removed) too. Default true. */
  edits?: boolean;
  /** Read the plan limits agents log (Codex `rate_limits`). Default true. */
  limits?: boolean;
}

/** Agents with a reader in this build. */
export const IMPLEMENTED_AGENTS: readonly AgentId[] = ['claude-code', 'codex', 'gemini-cli', 'opencode', 'cline', 'roo-code', 'kilo-code', 'aider'];

const CLINE_FAMILY: readonly AgentId[] = ['cline', 'roo-code', 'kilo-code'];

export function createSources(env: SourceEnv, fs: SourceFs, settings: SourceSettings = {}): Source[] {
  const on = (a: AgentId) => !settings.enabled || settings.enabled.includes(a);
  const sources: Source[] = [];
  const prompts = settings.prompts ?? true;
  const edits = settings.edits ?? true;
  if (on('claude-code')) sources.push(new ClaudeCodeSource(env, fs, { extraPaths: settings.claudeCodePaths ?? [], prompts, edits }));
  if (on('codex')) sources.push(new CodexSource(env, fs, { ...(settings.codexHome ? { home: settings.codexHome } : {}), prompts, edits, limits: settings.limits ?? true }));
  if (on('gemini-cli')) sources.push(new GeminiCliSource(env, fs, settings.geminiHome ? { home: settings.geminiHome } : {}));
  if (on('opencode')) sources.push(new OpenCodeSource(env, fs, settings.openCodeDataDir ? { dataDir: settings.openCodeDataDir } : {}));
  // One reader for the Cline family; each event carries its own agent id (filtered below).
  if (CLINE_FAMILY.some(on)) sources.push(onlyAgents(new ClineSource(env, fs, { extraPaths: [...(settings.clinePaths ?? [])] }), CLINE_FAMILY.filter(on)));
  if (on('aider') && ((settings.aiderFolders?.length ?? 0) > 0 || (settings.aiderHistoryFiles?.length ?? 0) > 0)) {
    sources.push(new AiderSource(env, fs, { folders: [...(settings.aiderFolders ?? [])], historyFiles: [...(settings.aiderHistoryFiles ?? [])] }));
  }
  return sources;
}

/** A source whose events are limited to some agents (a family reader with only some members enabled). */
function onlyAgents(source: Source, agents: readonly AgentId[]): Source {
  if (agents.length === CLINE_FAMILY.length) return source;
  const keep = <T extends { agent?: AgentId }>(events: T[]) => events.filter((e) => !e.agent || agents.includes(e.agent));
  const wrapped: Source = {
    agent: source.agent,
    needles: source.needles,
    discover: () => source.discover(),
    createParser: (file, state) => source.createParser(file, state), // the Cline family reads documents only
  };
  if (source.isDocument) wrapped.isDocument = (f) => source.isDocument!(f);
  if (source.parseDocument) wrapped.parseDocument = (f, c) => keep(source.parseDocument!(f, c));
  if (source.opensItself) wrapped.opensItself = (f) => source.opensItself!(f);
  if (source.replacesOnReread) wrapped.replacesOnReread = true;
  return wrapped;
}
