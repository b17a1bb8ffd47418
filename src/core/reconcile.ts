/**
 * Estimate-vs-invoice reconciliation: what the agents' logs say a provider's API cost, next
 * to what the provider itself reports it billed, per UTC day. Pure (no I/O, no `vscode`), so
 * the host, the status bar and the webview share it and it is tested in plain node.
 *
 * TIME ZONE. The providers bucket their figures by UTC day (src/sources/providers/types.ts),
 * and a UTC day cannot be split into local days, so the estimates here are grouped by the UTC
 * day of each request's timestamp too — unlike the rest of the panel, which groups by local
 * day. Views of these rows must say "UTC".
 *
 * WHICH REQUESTS COUNT FOR A PROVIDER (`providerOfModel`), kept simple:
 *  - an id logged with an explicit routing prefix follows that prefix: `openrouter/…` is
 *    OpenRouter (OpenCode logs `<providerID>/<modelID>`, Aider logs litellm ids, both say
 *    `openrouter/` when the agent's provider is OpenRouter); `anthropic/`, `openai/`,
 *    `google/`/`gemini/` name the vendor's own API;
 *  - any other prefix (`bedrock/`, `vertex_ai/`, `azure/`, `github-copilot/`…), the Bedrock
 *    forms (`us.anthropic.claude-…-v1:0`) and Vertex versions (`claude-…@20250514`) are billed
 *    by a cloud or a subscription, not by the vendor's API: not attributed;
 *  - otherwise the model's canonical price-table id decides: `claude-` → Anthropic,
 *    `gpt-`/`o3`/`o4`/`codex-` → OpenAI, `gemini-` → Google;
 *  - a model the price table does not know is not attributed to anyone (no guessing).
 * Known limit: an OpenRouter-style id logged WITHOUT the `openrouter/` prefix
 * (`anthropic/claude-sonnet-4.5`, as some Cline setups log it) counts for Anthropic.
 *
 * THE ESTIMATE is the headline figure of each request (`spendNanosOf`: the cost the agent
 * logged where it logged one, else tokens × list prices), the figure the rest of the
 * extension shows. Requests with neither are counted in `unpricedRequests`, never as $0 spend.
 *
 * THE DIFFERENCE is billed − estimated (positive: the provider billed more than the logs
 * explain, e.g. usage outside these agents); percent = difference / estimated × 100, null when
 * the estimate is 0 or nothing was billed.
 */
import type { PollerStatus } from '../sources/providers/poller';
import type { ProviderId } from '../sources/providers/http';
import { dollarsToPico, utcDay, type BilledDay } from '../sources/providers/types';
import { spendNanosOf, type RequestRecord } from './ledger';
import type { Pricer } from './pricing';

export type ModelProvider = 'anthropic' | 'openai' | 'openrouter' | 'google';

export const PROVIDER_LABELS: Readonly<Record<ModelProvider, string>> = {
  anthropic: 'Anthropic',
  openai: 'OpenAI',
  openrouter: 'OpenRouter',
  google: 'Google',
};

/** The command to enter a provider key, as the command palette shows it. */
export const SET_PROVIDER_KEY_TITLE = 'Agent Spend: Set Provider Key';

/** Beyond this |difference| (percent of the estimate) a row is flagged. */
export const RECON_FLAG_PERCENT = 5;

export interface ReconRow {
  provider: ProviderId;
  /** UTC day of the provider's bucket, YYYY-MM-DD. */
  date: string;
  /** What the provider reports it billed (nano-USD); null when it reports no cost for the day. */
  billedNanos: number | null;
  /** The agents' logs: headline spend of the provider's requests on that UTC day (nano-USD). */
  estimatedNanos: number;
  /** billed − estimated; null when billed is null. */
  diffNanos: number | null;
  /** diff / estimated × 100; null when billed is null or the estimate is 0. */
  diffPercent: number | null;
  /** Agents whose requests make up the estimate, sorted. */
  agents: string[];
  /** Requests attributed to the provider that day (unpriced ones included). */
  requests: number;
  /** Of those, requests with neither a logged cost nor a price (not in the estimate). */
  unpricedRequests: number;
  /** The provider's figure will not change any more. */
  final: boolean;
  /** The status of the provider's figures when the rows were made. */
  status: PollerStatus;
}

export interface BilledInput {
  provider: ProviderId;
  days: readonly BilledDay[];
  fetchedAt?: number | null;
  status: PollerStatus;
  message?: string | null;
}

const ROUTE_PREFIX = /^([a-z0-9_.-]+)\//;
const VENDOR_PREFIXES: Readonly<Record<string, ModelProvider>> = {
  openrouter: 'openrouter',
  anthropic: 'anthropic',
  openai: 'openai',
  google: 'google',
  gemini: 'google',
};
/** `models/` (Gemini API ids) only names the resource, not a provider. */
const NEUTRAL_PREFIXES = new Set(['models']);
const BEDROCK_FORM = /(^|\.)anthropic\.claude-/;

/** The provider whose API bills a logged model id (see the header), or undefined. */
export function providerOfModel(model: string | null | undefined, pricer: Pick<Pricer, 'resolve'>): ModelProvider | undefined {
  if (typeof model !== 'string') return undefined;
  const raw = model.trim().toLowerCase();
  if (raw === '') return undefined;
  let routed: ModelProvider | undefined;
  const m = ROUTE_PREFIX.exec(raw);
  if (m && !NEUTRAL_PREFIXES.has(m[1]!)) {
    routed = VENDOR_PREFIXES[m[1]!];
    if (routed === undefined) return undefined; // a cloud or a subscription bills it
  }
  if (BEDROCK_FORM.test(raw) || raw.includes('@')) return undefined; // Bedrock / Vertex forms
  const id = pricer.resolve(model);
  if (id === undefined) return undefined;
  const vendor = vendorOfCanonical(id);
  if (vendor === undefined) return undefined;
  if (routed === 'openrouter') return 'openrouter';
  // a vendor prefix that contradicts the model (`openai/claude-…`): don't guess
  if (routed !== undefined && routed !== vendor) return undefined;
  return vendor;
}

function vendorOfCanonical(id: string): ModelProvider | undefined {
  if (id.startsWith('claude-')) return 'anthropic';
  if (id.startsWith('gpt-') || /^o[34](-|$)/.test(id) || id.startsWith('codex-')) return 'openai';
  if (id.startsWith('gemini-')) return 'google';
  return undefined;
}

/** Dollars as a provider reports them → integer nano-USD (exact decimal, rounded half away from zero). */
export function usdToNanos(usd: number): number {
  const pico = dollarsToPico(usd);
  const neg = pico < 0n;
  const a = neg ? -pico : pico;
  const n = Number((a + 500n) / 1000n);
  return neg ? -n : n;
}

interface Acc {
  estimatedNanos: number;
  requests: number;
  unpricedRequests: number;
  agents: Set<string>;
}

/**
 * One row per (provider, UTC day the provider reported), newest day first, then provider.
 * Days the provider did not report are left out (there is nothing to compare with).
 */
export function reconcile(records: Iterable<RequestRecord>, billed: readonly BilledInput[], pricer: Pick<Pricer, 'resolve'>): ReconRow[] {
  const wanted = new Map<ProviderId, Set<string>>();
  for (const b of billed) {
    const days = wanted.get(b.provider) ?? new Set<string>();
    for (const d of b.days) days.add(d.date);
    wanted.set(b.provider, days);
  }
  const acc = new Map<string, Acc>(); // `${provider}|${date}`
  if (wanted.size > 0) {
    const byModel = new Map<string | null, ModelProvider | undefined>();
    for (const r of records) {
      let provider = byModel.get(r.model);
      if (provider === undefined && !byModel.has(r.model)) {
        provider = providerOfModel(r.model, pricer);
        byModel.set(r.model, provider);
      }
      if (provider === undefined || provider === 'google') continue;
      const date = utcDay(r.timestamp);
      if (!wanted.get(provider)?.has(date)) continue;
      const key = `${provider}|${date}`;
      let a = acc.get(key);
      if (!a) acc.set(key, (a = { estimatedNanos: 0, requests: 0, unpricedRequests: 0, agents: new Set() }));
      a.requests++;
      a.agents.add(r.agent);
      const spend = spendNanosOf(r);
      if (spend === null) a.unpricedRequests++;
      else a.estimatedNanos += spend;
    }
  }
  const rows: ReconRow[] = [];
  for (const b of billed) {
    const seen = new Set<string>();
    for (const d of b.days) {
      if (seen.has(d.date)) continue; // a provider reports each day once; keep the first
      seen.add(d.date);
      const a = acc.get(`${b.provider}|${d.date}`);
      const estimatedNanos = a?.estimatedNanos ?? 0;
      const billedNanos = d.costUSD === null || !Number.isFinite(d.costUSD) ? null : usdToNanos(d.costUSD);
      const diffNanos = billedNanos === null ? null : billedNanos - estimatedNanos;
      rows.push({
        provider: b.provider,
        date: d.date,
        billedNanos,
        estimatedNanos,
        diffNanos,
        diffPercent: diffNanos === null || estimatedNanos === 0 ? null : (diffNanos / estimatedNanos) * 100,
        agents: a ? [...a.agents].sort() : [],
        requests: a?.requests ?? 0,
        unpricedRequests: a?.unpricedRequests ?? 0,
        final: d.final,
        status: b.status,
      });
    }
  }
  rows.sort((x, y) => (x.date === y.date ? x.provider.localeCompare(y.provider) : x.date < y.date ? 1 : -1));
  return rows;
}

/** True when the row's difference exceeds RECON_FLAG_PERCENT of the estimate (or nothing was estimated but something billed). */
export function isFlagged(row: Pick<ReconRow, 'diffNanos' | 'diffPercent'>): boolean {
  if (row.diffNanos === null || row.diffNanos === 0) return false;
  if (row.diffPercent === null) return true;
  return Math.abs(row.diffPercent) > RECON_FLAG_PERCENT;
}

export interface MonthToDate {
  provider: ProviderId;
  /** Sum of the billed days of the month; null when no day of the month has a billed cost. */
  billedNanos: number | null;
  /** Estimate over the same days (the days the provider reported). */
  estimatedNanos: number;
  days: number;
}

/** Month-to-date per provider, for the current UTC month (the providers' months are UTC). */
export function monthToDate(rows: readonly ReconRow[], now: number): MonthToDate[] {
  const month = utcDay(now).slice(0, 7);
  const out = new Map<ProviderId, MonthToDate>();
  for (const r of rows) {
    if (r.date.slice(0, 7) !== month) continue;
    let m = out.get(r.provider);
    if (!m) out.set(r.provider, (m = { provider: r.provider, billedNanos: null, estimatedNanos: 0, days: 0 }));
    m.days++;
    m.estimatedNanos += r.estimatedNanos;
    if (r.billedNanos !== null) m.billedNanos = (m.billedNanos ?? 0) + r.billedNanos;
  }
  return [...out.values()].sort((a, b) => a.provider.localeCompare(b.provider));
}

/** "12 min ago", "3 h ago", "2 days ago", "under a minute ago". */
export function agoText(ms: number): string {
  const min = Math.floor(Math.max(0, ms) / 60_000);
  if (min < 1) return 'under a minute ago';
  if (min < 60) return `${min} min ago`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} days ago`;
}

export interface ProviderStatusView {
  provider: ProviderId;
  status: PollerStatus;
  ageMs: number | null;
  message: string | null;
}

/** One line per provider: how fresh its figures are, or what to do. */
export function providerStatusLine(p: ProviderStatusView): string {
  const name = PROVIDER_LABELS[p.provider];
  const age = p.ageMs === null ? undefined : agoText(p.ageMs);
  switch (p.status) {
    case 'auth-error':
      return `${name}: key rejected — run ${SET_PROVIDER_KEY_TITLE}`;
    case 'ok':
      return age ? `${name}: figures from ${age}` : `${name}: up to date`;
    case 'idle':
      return age ? `${name}: figures from ${age}` : `${name}: fetching the first figures…`;
    case 'offline':
      return age ? `${name}: figures from ${age} (offline)` : `${name}: no figures yet (offline)`;
    case 'stale': {
      const why = p.message ? `: ${p.message}` : '';
      return age ? `${name}: figures from ${age} (stale${why})` : `${name}: no figures yet (failed${why})`;
    }
  }
}
