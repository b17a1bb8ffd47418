/**
 * `agent-spend billed --provider anthropic|openai|openrouter [--since D] [--until D]
 *                     [--base-url URL] [--json]`
 * What the provider itself says was billed, per UTC day. Keys come from the environment:
 * ANTHROPIC_ADMIN_KEY / OPENAI_ADMIN_KEY / OPENROUTER_API_KEY (never from the command line).
 * Exit 0 ok, 2 bad arguments or missing key, 1 provider error (classified message).
 */
import { PROVIDER_NAMES, ProviderError, type HttpOptions, type ProviderId } from '../sources/providers/http';
import { makeClient } from '../sources/providers/index';
import { addDays, isDay, sumUSD, utcDay } from '../sources/providers/types';

const PROVIDERS: readonly ProviderId[] = ['anthropic', 'openai', 'openrouter'];

export const KEY_ENV: Readonly<Record<ProviderId, string>> = {
  anthropic: 'ANTHROPIC_ADMIN_KEY',
  openai: 'OPENAI_ADMIN_KEY',
  openrouter: 'OPENROUTER_API_KEY',
};

export const BILLED_HELP = `Usage:
  agent-spend billed --provider anthropic|openai|openrouter [options]

Options:
  --since <YYYY-MM-DD>   first UTC day (default: 6 days before --until)
  --until <YYYY-MM-DD>   last UTC day (default: today, UTC)
  --base-url <url>       the provider's API base URL (default: its public API)
  --json                 print one JSON object

Keys are read from ANTHROPIC_ADMIN_KEY (an Admin API key, sk-ant-admin…),
OPENAI_ADMIN_KEY (an organization admin key) or OPENROUTER_API_KEY. Providers bucket
by UTC day; the current day and the two before it are not final yet. OpenRouter
reports only the current UTC day's spend of the key, without token counts.`;

class ArgError extends Error {}

interface BilledArgs {
  provider: ProviderId;
  since: string;
  until: string;
  baseUrl?: string;
  json: boolean;
}

export function parseBilledArgs(argv: readonly string[], nowMs: number): BilledArgs | 'help' {
  let provider: ProviderId | undefined;
  let since: string | undefined;
  let until: string | undefined;
  let baseUrl: string | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const inline = eq > 0 ? a.slice(eq + 1) : undefined;
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '' || (inline === undefined && v.startsWith('--'))) throw new ArgError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '-h': case '--help': return 'help';
      case '--json': json = true; break;
      case '--provider': {
        const v = value();
        if (!(PROVIDERS as readonly string[]).includes(v)) throw new ArgError(`--provider must be one of ${PROVIDERS.join(', ')} (got "${v}")`);
        provider = v as ProviderId;
        break;
      }
      case '--since': since = day(flag, value()); break;
      case '--until': until = day(flag, value()); break;
      case '--base-url': {
        const v = value();
        let u: URL | undefined;
        try { u = new URL(v); } catch { /* reported below */ }
        if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) throw new ArgError(`--base-url must be an http(s) URL (got "${v}")`);
        baseUrl = v;
        break;
      }
      default: throw new ArgError(`unknown option "${a}" (see agent-spend billed --help)`);
    }
  }
  if (!provider) throw new ArgError('--provider is required (anthropic, openai or openrouter)');
  until ??= utcDay(nowMs);
  since ??= addDays(until, -6);
  if (since > until) throw new ArgError(`--since ${since} is after --until ${until}`);
  return { provider, since, until, json, ...(baseUrl ? { baseUrl } : {}) };
}

function day(flag: string, v: string): string {
  if (!isDay(v)) throw new ArgError(`${flag} must be a date YYYY-MM-DD (got "${v}")`);
  return v;
}


const USD = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 4 });
const NUM = new Intl.NumberFormat('en-US');

export async function runBilled(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  out: (s: string) => void,
  err: (s: string) => void,
  http: HttpOptions = {},
): Promise<number> {
  let args: BilledArgs | 'help';
  try {
    args = parseBilledArgs(argv, (http.now ?? Date.now)());
  } catch (e) {
    err(`agent-spend billed: ${(e as Error).message}`);
    return 2;
  }
  if (args === 'help') {
    out(BILLED_HELP);
    return 0;
  }
  const envName = KEY_ENV[args.provider];
  const key = env[envName]?.trim();
  if (!key) {
    err(`agent-spend billed: ${envName} is not set (the ${PROVIDER_NAMES[args.provider]} key is read from the environment only)`);
    return 2;
  }
  const client = makeClient(args.provider, key, args.baseUrl, http);
  let days;
  try {
    days = await client.fetchDays({ since: args.since, until: args.until });
  } catch (e) {
    let msg = e instanceof ProviderError ? e.message : `${PROVIDER_NAMES[args.provider]}: ${e instanceof Error ? e.message : String(e)}`;
    if (e instanceof ProviderError && e.kind === 'auth') msg += ` (from the command line: check ${envName})`;
    err(`agent-spend billed: ${msg.split(key).join('[key]')}`);
    return 1;
  }
  const totalUSD = sumUSD(days.map((d) => d.costUSD));
  if (args.json) {
    out(JSON.stringify({
      provider: args.provider,
      days: days.map((d) => ({
        date: d.date,
        costUSD: d.costUSD,
        inputTokens: d.inputTokens,
        outputTokens: d.outputTokens,
        cacheCreationTokens: d.cacheCreationTokens,
        cacheReadTokens: d.cacheReadTokens,
      })),
      totalUSD,
    }));
    return 0;
  }
  const n = (v: number | null) => (v === null ? '—' : NUM.format(v));
  const head = ['date (UTC)', 'cost', 'input', 'output', 'cache write', 'cache read', ''];
  const rows = days.map((d) => [d.date, d.costUSD === null ? '—' : USD.format(d.costUSD), n(d.inputTokens), n(d.outputTokens), n(d.cacheCreationTokens), n(d.cacheReadTokens), d.final ? '' : 'not final']);
  rows.push(['total', totalUSD === null ? '—' : USD.format(totalUSD), '', '', '', '', '']);
  const all = [head, ...rows];
  const widths = head.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  const fmt = (r: string[]) => r.map((cell, c) => (c === 0 || c === 6 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd();
  out([`${PROVIDER_NAMES[args.provider]}, billed per UTC day, ${args.since} – ${args.until}`, fmt(head), ...rows.map(fmt)].join('\n'));
  return 0;
}
