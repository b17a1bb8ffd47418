/** Number formatting shared by the CLI and the extension's views. */
import type { AgentId } from './events';

const AGENT_LABELS: Record<AgentId, string> = {
  'claude-code': 'Claude Code', codex: 'Codex CLI', 'gemini-cli': 'Gemini CLI', opencode: 'OpenCode',
  cline: 'Cline', 'roo-code': 'Roo Code', 'kilo-code': 'Kilo Code', aider: 'Aider',
};

/**
 * An agent's name for people ("Codex CLI"); `brief` drops the "CLI" of Codex, as the status bar's
 * running text and the limit messages say it. Unknown ids are shown as they are.
 */
export function agentLabel(agent: string, brief = false): string {
  if (brief && agent === 'codex') return 'Codex';
  return (AGENT_LABELS as Record<string, string>)[agent] ?? agent;
}

/** $1,234.56 — two decimals; amounts under a cent but above zero show as "<$0.01". */
export function formatUSD(nanos: number, locale?: string): string {
  const usd = nanos / 1e9;
  if (usd > 0 && usd < 0.005) return '<' + usdFormatter(locale).format(0.01);
  return usdFormatter(locale).format(usd);
}

const formatters = new Map<string, Intl.NumberFormat>();
function usdFormatter(locale?: string): Intl.NumberFormat {
  const key = locale ?? '';
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.NumberFormat(locale, { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
    formatters.set(key, f);
  }
  return f;
}

/** 1.2M, 340k, 999 — compact token counts. */
export function formatTokens(n: number): string {
  if (n >= 1e9) return `${trim(n / 1e9)}B`;
  if (n >= 1e6) return `${trim(n / 1e6)}M`;
  if (n >= 1e3) return `${trim(n / 1e3)}k`;
  return String(n);
}

function trim(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1).replace(/\.0$/, '') : x.toFixed(2).replace(/\.?0+$/, '');
}

/** 3h 12m, 45m, 30s */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** The last path segment of a project folder (either separator). */
export function folderName(p: string): string {
  const parts = p.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? p;
}

/** "1 request", "3 requests" */
export function plural(n: number, word: string, locale?: string): string {
  return `${n.toLocaleString(locale)} ${word}${n === 1 ? '' : 's'}`;
}

/** A setting's bad value in words, for problem messages ("a list", "\"abc\"", "nothing"). */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/** Escapes markdown (and HTML) in log-derived text: project names and model ids are untrusted. */
export function md(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~$&]/g, (c) => `\\${c}`);
}
