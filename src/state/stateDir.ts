/**
 * The per-user state folder shared by the extension and the CLI (`agent-spend statusline`
 * writes there, the extension watches it). Pure: a function of (override, env, home, platform).
 *
 * Order: an explicit override (the extension's `agentSpend.stateDir` setting, the CLI's
 * `--state-dir`), then `AGENT_SPEND_STATE_DIR`, then the platform's convention:
 * - Linux and other Unixes: `$XDG_STATE_HOME/agent-spend`, else `~/.local/state/agent-spend`;
 * - macOS: `~/Library/Application Support/agent-spend`;
 * - Windows: `%LOCALAPPDATA%\agent-spend`, else `~\AppData\Local\agent-spend`.
 * A relative override is resolved against `cwd` when one is given; a relative XDG_STATE_HOME or
 * LOCALAPPDATA is ignored (the XDG spec says relative values are invalid).
 */
import * as path from 'node:path';

export const STATE_DIR_ENV = 'AGENT_SPEND_STATE_DIR';
export const STATE_DIR_NAME = 'agent-spend';

export interface StateDirInput {
  env: Readonly<Record<string, string | undefined>>;
  home: string;
  platform: NodeJS.Platform | string;
  /** Explicit choice (setting or flag); wins when non-empty. */
  override?: string | undefined;
  /** Folder a relative override is resolved against (default: left as given). */
  cwd?: string;
}

function pathFor(platform: string): path.PlatformPath {
  return platform === 'win32' ? path.win32 : path.posix;
}

/** The state folder for these inputs (absolute unless `home`/override are not). */
export function resolveStateDir(input: StateDirInput): string {
  const p = pathFor(String(input.platform));
  const override = input.override?.trim();
  if (override) return input.cwd && !p.isAbsolute(override) ? p.resolve(input.cwd, override) : override;
  return userDir(input, STATE_DIR_ENV, { mac: ['Application Support'], xdg: 'XDG_STATE_HOME', xdgDefault: ['.local', 'state'], windows: [] });
}

export const CACHE_DIR_ENV = 'AGENT_SPEND_CACHE_DIR';

/**
 * The per-user cache folder (what may be deleted at any time: the CLI's compiled-code cache).
 * `AGENT_SPEND_CACHE_DIR`, else `$XDG_CACHE_HOME/agent-spend` or `~/.cache/agent-spend`;
 * macOS `~/Library/Caches/agent-spend`; Windows `%LOCALAPPDATA%\agent-spend\Cache`.
 */
export function resolveCacheDir(input: Omit<StateDirInput, 'override' | 'cwd'>): string {
  return userDir(input, CACHE_DIR_ENV, { mac: ['Caches'], xdg: 'XDG_CACHE_HOME', xdgDefault: ['.cache'], windows: ['Cache'] });
}

/**
 * `<env var>`, else the platform's folder: macOS `~/Library/<mac…>/agent-spend`; Windows
 * `%LOCALAPPDATA%\agent-spend\<windows…>` (else `~\AppData\Local\…`); other systems
 * `$<xdg>/agent-spend`, else `~/<xdgDefault…>/agent-spend` (a relative XDG value is invalid).
 */
function userDir(
  input: Omit<StateDirInput, 'override' | 'cwd'>,
  envVar: string,
  where: { mac: string[]; xdg: string; xdgDefault: string[]; windows: string[] },
): string {
  const p = pathFor(String(input.platform));
  const fromEnv = input.env[envVar]?.trim();
  if (fromEnv) return fromEnv;
  switch (input.platform) {
    case 'darwin':
      return p.join(input.home, 'Library', ...where.mac, STATE_DIR_NAME);
    case 'win32': {
      const local = input.env['LOCALAPPDATA']?.trim();
      return p.join(local && p.isAbsolute(local) ? local : p.join(input.home, 'AppData', 'Local'), STATE_DIR_NAME, ...where.windows);
    }
    default: {
      const xdg = input.env[where.xdg]?.trim();
      return xdg && p.isAbsolute(xdg) ? p.join(xdg, STATE_DIR_NAME) : p.join(input.home, ...where.xdgDefault, STATE_DIR_NAME);
    }
  }
}

/** Where status line snapshots live inside the state folder. */
export function statuslineDir(stateDir: string): string {
  return joinLike(stateDir, 'statusline');
}

/** The spend summary the extension / `report --index` write and the status line reads. */
export function spendSummaryFile(stateDir: string): string {
  return joinLike(stateDir, 'spend-summary.json');
}

/** The bounded error log of the status line command. */
export function statuslineErrorLog(stateDir: string): string {
  return joinLike(stateDir, 'statusline-errors.log');
}

/** Joins with the separator the folder already uses (a Windows path stays a Windows path in tests on Linux). */
function joinLike(dir: string, name: string): string {
  return /^[a-zA-Z]:\\|^\\\\/.test(dir) ? path.win32.join(dir, name) : path.join(dir, name);
}
