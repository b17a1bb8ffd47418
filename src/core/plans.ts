/**
 * What a flat-rate subscription is worth: the usage of an agent on a plan, priced at API list
 * prices, per local calendar month, against what the plan costs.
 * Pure: no I/O, no `vscode`; the clock is passed in.
 *
 * The figure is the ESTIMATE from tokens (`costNanos`), not the cost an agent logged: under a
 * flat-rate plan the question is "what would this usage have cost at API prices", which is
 * exactly the estimate; and the agents that log a cost either compute that same list-price
 * estimate themselves or, billed through a subscription, log $0 (OpenCode with a Claude
 * Pro/Max login), which would make the plan look worthless.
 */
import { describeValue as describe, formatUSD } from './format';
import { AGENT_IDS, type AgentId } from './events';
import type { RequestRecord } from './ledger';

const SETTING = 'agentSpend.plans';
/** At most this many months per plan (the current one and the 11 before it). */
export const MAX_PLAN_MONTHS = 12;
const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

export interface Plan {
  agent: AgentId;
  name: string;
  monthlyUSD: number;
  /** First and last month (YYYY-MM, inclusive) the plan applies to, when set. */
  since?: string;
  until?: string;
  /** The exact setting, e.g. `agentSpend.plans[0]`. */
  setting: string;
}

export interface PlanProblem {
  setting: string;
  message: string;
}

const PLAN_KEYS = new Set(['agent', 'name', 'monthlyUSD', 'since', 'until']);

/**
 * Validates `agentSpend.plans`: a list of `{ agent, name, monthlyUSD, since?, until? }`. A bad
 * entry is reported (naming the exact setting) and only that plan is dropped.
 */
export function parsePlans(raw: unknown): { plans: Plan[]; problems: PlanProblem[] } {
  const plans: Plan[] = [];
  const problems: PlanProblem[] = [];
  if (raw === undefined || raw === null) return { plans, problems };
  if (!Array.isArray(raw)) {
    problems.push({ setting: SETTING, message: `must be a list of plans like { "agent": "claude-code", "name": "Max", "monthlyUSD": 200 } (got ${describe(raw)}); no plan is used.` });
    return { plans, problems };
  }
  raw.forEach((r: unknown, i: number) => {
    const setting = `${SETTING}[${i}]`;
    const ignored = 'this plan is ignored until it is fixed';
    if (typeof r !== 'object' || r === null || Array.isArray(r)) {
      problems.push({ setting, message: `must be an object like { "agent": "claude-code", "name": "Max", "monthlyUSD": 200 } (got ${describe(r)}); ${ignored}.` });
      return;
    }
    const o = r as Record<string, unknown>;
    const before = problems.length;
    for (const k of Object.keys(o)) {
      if (!PLAN_KEYS.has(k)) problems.push({ setting: `${setting}.${k}`, message: `is not a plan field (use agent, name, monthlyUSD, since, until); ${ignored}.` });
    }
    const agent = typeof o['agent'] === 'string' ? o['agent'].trim().toLowerCase() : '';
    if (!(AGENT_IDS as readonly string[]).includes(agent)) {
      problems.push({ setting: `${setting}.agent`, message: `must be one of ${AGENT_IDS.map((a) => `"${a}"`).join(', ')} (got ${describe(o['agent'])}); ${ignored}.` });
    }
    const name = typeof o['name'] === 'string' ? o['name'].trim() : '';
    if (!name) problems.push({ setting: `${setting}.name`, message: `must be a non-empty text, e.g. "Max" (got ${describe(o['name'])}); ${ignored}.` });
    const usd = o['monthlyUSD'];
    if (typeof usd !== 'number' || !Number.isFinite(usd) || usd <= 0 || usd > 1_000_000) {
      problems.push({ setting: `${setting}.monthlyUSD`, message: `must be the plan's monthly price in US dollars, above 0 (got ${describe(usd)}); ${ignored}.` });
    }
    const month = (k: 'since' | 'until'): string | undefined => {
      const v = o[k];
      if (v === undefined || v === null || v === '') return undefined;
      if (typeof v === 'string' && MONTH.test(v.trim())) return v.trim();
      problems.push({ setting: `${setting}.${k}`, message: `must be a month like "2026-01" (got ${describe(v)}); ${ignored}.` });
      return undefined;
    };
    const since = month('since');
    const until = month('until');
    if (since !== undefined && until !== undefined && since > until) {
      problems.push({ setting: `${setting}.until`, message: `is before since (${since}); ${ignored}.` });
    }
    if (problems.length > before) return;
    const plan: Plan = { agent: agent as AgentId, name, monthlyUSD: usd as number, setting };
    if (since !== undefined) plan.since = since;
    if (until !== undefined) plan.until = until;
    plans.push(plan);
  });
  return { plans, problems };
}

export interface PlanMonth {
  /** Local calendar month, YYYY-MM. */
  month: string;
  /** The month holding `now` (its figures are month-to-date). */
  current: boolean;
  requests: number;
  /** The requests' cost at API list prices (estimate from tokens), nano-USD. */
  pricedNanos: number;
  /** Requests of models without a price: not in `pricedNanos` (a lower bound then). */
  unpricedRequests: number;
  planNanos: number;
  /** pricedNanos / planNanos. */
  multiple: number;
}

export interface PlanWorth {
  plan: Plan;
  /** Newest first: the current month (if inside the plan's months) and earlier months with usage, at most MAX_PLAN_MONTHS. */
  months: PlanMonth[];
  /** The current month, month-to-date, when the plan applies to it. */
  current?: PlanMonth;
}

/** YYYY-MM in the process's local time zone. */
export function localMonthKey(ts: number): string {
  const d = new Date(ts);
  const m = d.getMonth() + 1;
  return `${d.getFullYear()}-${m < 10 ? '0' : ''}${m}`;
}

/**
 * Per plan and local calendar month: the agent's requests priced at API prices. One pass over
 * `records`; requests after `now` and before the oldest of the MAX_PLAN_MONTHS months are ignored.
 */
export function planWorth(records: Iterable<RequestRecord>, plans: readonly Plan[], now: number): PlanWorth[] {
  if (plans.length === 0) return [];
  const agents = new Set(plans.map((p) => p.agent));
  const d = new Date(now);
  const oldest = new Date(d.getFullYear(), d.getMonth() - (MAX_PLAN_MONTHS - 1), 1).getTime();
  const currentKey = localMonthKey(now);
  const byAgent = new Map<AgentId, Map<string, { requests: number; pricedNanos: number; unpricedRequests: number }>>();
  for (const r of records) {
    if (!agents.has(r.agent) || r.timestamp > now || r.timestamp < oldest) continue;
    let months = byAgent.get(r.agent);
    if (!months) byAgent.set(r.agent, (months = new Map()));
    const key = localMonthKey(r.timestamp);
    let m = months.get(key);
    if (!m) months.set(key, (m = { requests: 0, pricedNanos: 0, unpricedRequests: 0 }));
    m.requests++;
    if (r.costNanos === null) m.unpricedRequests++;
    else m.pricedNanos += r.costNanos;
  }
  return plans.map((plan) => {
    const inPlan = (k: string) => (plan.since === undefined || k >= plan.since) && (plan.until === undefined || k <= plan.until);
    const usage = byAgent.get(plan.agent) ?? new Map();
    const keys = new Set([...usage.keys()].filter(inPlan));
    if (inPlan(currentKey)) keys.add(currentKey);
    const planNanos = Math.round(plan.monthlyUSD * 1e9);
    const months = [...keys].sort().reverse().slice(0, MAX_PLAN_MONTHS).map((month): PlanMonth => {
      const u = usage.get(month) ?? { requests: 0, pricedNanos: 0, unpricedRequests: 0 };
      return { month, current: month === currentKey, ...u, planNanos, multiple: u.pricedNanos / planNanos };
    });
    const worth: PlanWorth = { plan, months };
    const current = months.find((m) => m.current);
    if (current) worth.current = current;
    return worth;
  });
}

/** "17×", "2.5×", "0.3×", "0.02×" (a small multiple keeps two decimals rather than showing 0×). */
export function multipleText(multiple: number): string {
  if (multiple >= 10) return `${Math.round(multiple)}×`;
  if (multiple > 0 && multiple < 0.1) return `${(Math.round(multiple * 100) / 100).toString()}×`;
  return `${(Math.round(multiple * 10) / 10).toString()}×`;
}

/**
 * "$3,412 at API prices on a $200 plan — 17×"; "… at API prices so far this month on …" for the
 * current month, and "(+ 3 unpriced requests)" after the amount when some requests have no price.
 */
export function planWorthSentence(m: PlanMonth, locale?: string): string {
  // Whole dollars from $100 on; cents below (a small month would otherwise read "$0").
  const usd = (nanos: number) => (nanos >= 100e9 ? wholeUSD(locale).format(Math.round(nanos / 1e9)) : formatUSD(nanos, locale));
  const unpriced = m.unpricedRequests > 0 ? ` (+ ${m.unpricedRequests.toLocaleString(locale)} unpriced request${m.unpricedRequests === 1 ? '' : 's'})` : '';
  const when = m.current ? ' so far this month' : '';
  return `${usd(m.pricedNanos)}${unpriced} at API prices${when} on a ${usd(m.planNanos)} plan — ${multipleText(m.multiple)}`;
}

const formatters = new Map<string, Intl.NumberFormat>();
function wholeUSD(locale?: string): Intl.NumberFormat {
  const key = locale ?? '';
  let f = formatters.get(key);
  if (!f) {
    try {
      f = new Intl.NumberFormat(locale, { style: 'currency', currency: 'USD', minimumFractionDigits: 0, maximumFractionDigits: 0 });
    } catch {
      f = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD', minimumFractionDigits: 0, maximumFractionDigits: 0 });
    }
    formatters.set(key, f);
  }
  return f;
}

