/**
 * Budgets: settings → budgets → status (spent, limit, percent, ok / warn / over, forecast)
 * → threshold crossings to notify once. Pure: no `vscode`, no I/O; records, clock and
 * settings are passed in.
 *
 * Periods are local calendar periods built from calendar fields (`new Date(y, m, d)`), so a
 * DST day is 23 or 25 hours long, a week starts on the configured weekday at local
 * midnight, a month runs from the 1st to the 1st. A session budget applies to each
 * session on its own: every session (in the budget's scope) with a request in the last
 * 24 hours is evaluated over its whole spend.
 *
 * Forecast (one method for every budget): burn rate = the in-scope spend of a trailing
 * window ending now — the last hour for daily and session budgets, the last 24 hours for
 * weekly, the last 7 days for monthly budgets; the window may reach back before the period
 * start (it measures how fast the agents spend now, not what the period has seen) — divided
 * by the window's minutes. Projected spend at the period end = spent + rate × minutes left.
 * `reachAt` = now + (limit − spent) ÷ rate, given only while under the limit with a rate
 * above zero and (calendar periods) before the period ends. Sessions have no end: no
 * projection, only `reachAt`.
 *
 * Notifications: a crossing's identity is budget id + period key (+ session id) +
 * threshold; the caller persists the set of notified identities (globalState), so each
 * threshold fires once per period, re-arms in the next, and never repeats after a reload,
 * in a second window or after a rescan.
 */
import { AGENT_IDS, type AgentId } from './events';
import { agentLabel, describeValue as describe, folderName, formatUSD } from './format';
import { spendNanosOf, type RequestRecord } from './ledger';
import { dayKeyOf, weekStartKey } from './summary';

export const BUDGET_PERIODS = ['day', 'week', 'month', 'session'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];
export type BudgetState = 'ok' | 'warn' | 'over';

export const DEFAULT_WARN_AT: readonly number[] = [80, 100];
/** Days as `agentSpend.budgets.weekStartsOn` spells them; index = `Date.getDay()`. */
export const WEEK_DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
/** Largest accepted limit (keeps nano-USD integers exact). */
export const MAX_LIMIT_USD = 1_000_000;
/** A session budget looks at sessions with a request this recent. */
export const SESSION_LOOKBACK_MS = 24 * 60 * 60_000;
/** Notified session crossings are kept this long after the session's start day (see pruneNotified). */
export const SESSION_NOTIFIED_RETENTION_DAYS = 30;
/** Trailing window of the burn rate, per period (see the module comment). */
export const FORECAST_WINDOW_MS: Readonly<Record<BudgetPeriod, number>> = {
  day: 60 * 60_000,
  session: 60 * 60_000,
  week: 24 * 60 * 60_000,
  month: 7 * 24 * 60 * 60_000,
};
/** How the forecast is computed, for the tooltip. */
export const FORECAST_METHOD =
  'Forecast: the in-scope spend rate of the last hour (daily and session budgets), the last 24 h (weekly) or the last 7 days (monthly), continued until the period ends.';

const PREFIX = 'agentSpend.budgets';

export interface BudgetScope {
  agent?: AgentId;
  /** Folder path or glob as written in the settings (`~` expanded). */
  project?: string;
  /** Model id or wildcard pattern as written in the settings. */
  model?: string;
}

export interface Budget {
  /**
   * Stable identity for notifications: kind, period, limit and scope. Changing a budget's
   * limit or scope makes it a new budget (its thresholds re-arm); reordering rules does not.
   */
  id: string;
  /** "Daily budget", "Session budget", or the rule's name. */
  label: string;
  /** True for an `agentSpend.budgets.rules` entry. */
  rule: boolean;
  period: BudgetPeriod;
  limitNanos: number;
  scope: BudgetScope;
  /** The setting it comes from (for "Adjust budget"), e.g. `agentSpend.budgets.rules[2]`. */
  setting: string;
}

export interface BudgetProblem {
  /** The exact setting, e.g. `agentSpend.budgets.rules[2].period`. */
  setting: string;
  /** For a person: what is wrong and what happens (the budget is ignored, a default is used). */
  message: string;
}

export interface BudgetSettings {
  budgets: Budget[];
  /** Sorted ascending, deduplicated; `[]` turns notifications (and the warn state) off. */
  warnAt: number[];
  /** 0 = Sunday … 6 = Saturday. */
  weekStartsOn: number;
  problems: BudgetProblem[];
}

export interface RawBudgetSettings {
  daily?: unknown;
  weekly?: unknown;
  monthly?: unknown;
  perSession?: unknown;
  warnAt?: unknown;
  rules?: unknown;
  weekStartsOn?: unknown;
}

export interface ParseEnv {
  /** Home folder, to expand a leading `~` in `rules[].project` (no `~` support without it). */
  homeDir?: string;
}

// ---------------------------------------------------------------------------------------
// Settings

const BUILT_IN = [
  { key: 'daily', period: 'day', label: 'Daily budget' },
  { key: 'weekly', period: 'week', label: 'Weekly budget' },
  { key: 'monthly', period: 'month', label: 'Monthly budget' },
  { key: 'perSession', period: 'session', label: 'Session budget' },
] as const;

const RULE_KEYS = new Set(['name', 'period', 'limitUSD', 'agent', 'project', 'model']);
const PERIOD_HINT: Record<string, BudgetPeriod> = { daily: 'day', today: 'day', weekly: 'week', monthly: 'month', persession: 'session', sessions: 'session' };

/**
 * Validates each setting on its own: a bad value is reported (naming the exact setting)
 * and only that budget is dropped (or a default used); the rest keep working.
 */
export function parseBudgetSettings(raw: RawBudgetSettings, env: ParseEnv = {}): BudgetSettings {
  const problems: BudgetProblem[] = [];
  const budgets: Budget[] = [];
  const ids = new Map<string, string>();
  const push = (b: Budget): void => {
    const dup = ids.get(b.id);
    if (dup !== undefined) {
      problems.push({ setting: b.setting, message: `is the same budget as ${dup}; it is counted once.` });
      return;
    }
    ids.set(b.id, b.setting);
    budgets.push(b);
  };

  for (const { key, period, label } of BUILT_IN) {
    const setting = `${PREFIX}.${key}`;
    const limit = parseLimit(raw[key], setting, problems, 'this budget is off until it is fixed');
    if (limit === undefined) continue;
    push({ id: JSON.stringify([key, limit]), label, rule: false, period, limitNanos: usdToNanos(limit), scope: {}, setting });
  }

  if (raw.rules !== undefined && raw.rules !== null) {
    if (!Array.isArray(raw.rules)) {
      problems.push({ setting: `${PREFIX}.rules`, message: `must be a list of rules like { "name": "Opus", "period": "day", "limitUSD": 5 } (got ${describe(raw.rules)}); no rule is used.` });
    } else {
      raw.rules.forEach((r: unknown, i: number) => {
        const b = parseRule(r, `${PREFIX}.rules[${i}]`, problems, env);
        if (b) push(b);
      });
    }
  }

  return { budgets, warnAt: parseWarnAt(raw.warnAt, problems), weekStartsOn: parseWeekStart(raw.weekStartsOn, problems), problems };
}

function parseRule(r: unknown, setting: string, problems: BudgetProblem[], env: ParseEnv): Budget | undefined {
  const ignored = 'this rule is ignored until it is fixed';
  if (typeof r !== 'object' || r === null || Array.isArray(r)) {
    problems.push({ setting, message: `must be an object like { "name": "Opus", "period": "day", "limitUSD": 5 } (got ${describe(r)}); ${ignored}.` });
    return undefined;
  }
  const o = r as Record<string, unknown>;
  const before = problems.length;
  for (const k of Object.keys(o)) {
    if (!RULE_KEYS.has(k)) problems.push({ setting: `${setting}.${k}`, message: `is not a rule field (use name, period, limitUSD, agent, project, model); ${ignored}, so that its scope is not wider than meant.` });
  }
  const name = typeof o['name'] === 'string' ? o['name'].trim() : '';
  if (!name) problems.push({ setting: `${setting}.name`, message: `must be a non-empty text (got ${describe(o['name'])}); ${ignored}.` });

  let period: BudgetPeriod | undefined;
  if (typeof o['period'] === 'string' && (BUDGET_PERIODS as readonly string[]).includes(o['period'])) {
    period = o['period'] as BudgetPeriod;
  } else {
    const hint = typeof o['period'] === 'string' ? PERIOD_HINT[o['period'].toLowerCase()] : undefined;
    problems.push({ setting: `${setting}.period`, message: `must be "day", "week", "month" or "session" (got ${describe(o['period'])}${hint ? `; did you mean "${hint}"?` : ''}); ${ignored}.` });
  }

  let limit: number | undefined;
  if (o['limitUSD'] === undefined || o['limitUSD'] === null || o['limitUSD'] === '') {
    problems.push({ setting: `${setting}.limitUSD`, message: `is required: the limit in US dollars; ${ignored}.` });
  } else {
    limit = parseLimit(o['limitUSD'], `${setting}.limitUSD`, problems, ignored);
  }

  const scope: BudgetScope = {};
  const set = (k: string): boolean => o[k] !== undefined && o[k] !== null && o[k] !== '';
  if (set('agent')) {
    if (typeof o['agent'] === 'string' && (AGENT_IDS as readonly string[]).includes(o['agent'].trim().toLowerCase())) {
      scope.agent = o['agent'].trim().toLowerCase() as AgentId;
    } else {
      problems.push({ setting: `${setting}.agent`, message: `must be one of ${AGENT_IDS.map((a) => `"${a}"`).join(', ')} (got ${describe(o['agent'])}); ${ignored}.` });
    }
  }
  if (set('project')) {
    const p = typeof o['project'] === 'string' ? compileProjectPattern(o['project'], env.homeDir) : { error: `must be a folder path or glob (got ${describe(o['project'])})` };
    if ('error' in p) problems.push({ setting: `${setting}.project`, message: `${p.error}; ${ignored}.` });
    else scope.project = p.pattern;
  }
  if (set('model')) {
    if (typeof o['model'] === 'string' && o['model'].trim()) scope.model = o['model'].trim();
    else problems.push({ setting: `${setting}.model`, message: `must be a model id, * and ? allowed (e.g. "claude-opus-4*") (got ${describe(o['model'])}); ${ignored}.` });
  }

  if (problems.length > before || period === undefined || !name) return undefined;
  if (limit === undefined) return undefined; // 0 = off
  return {
    id: JSON.stringify(['rule', name, period, limit, scope.agent ?? '', scope.project ?? '', scope.model ?? '']),
    label: name,
    rule: true,
    period,
    limitNanos: usdToNanos(limit),
    scope,
    setting,
  };
}

/** A limit in USD: undefined for off (absent, null, '', 0) or invalid (reported). */
function parseLimit(v: unknown, setting: string, problems: BudgetProblem[], consequence: string): number | undefined {
  if (v === undefined || v === null || v === '' || v === 0) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    problems.push({ setting, message: `must be a number of US dollars, 0 or empty for no limit (got ${describe(v)}); ${consequence}.` });
    return undefined;
  }
  if (v < 0) {
    problems.push({ setting, message: `must not be negative (got ${v}); use 0 or leave it empty for no limit; ${consequence}.` });
    return undefined;
  }
  if (v > MAX_LIMIT_USD) {
    problems.push({ setting, message: `must be at most ${MAX_LIMIT_USD} US dollars (got ${v}); ${consequence}.` });
    return undefined;
  }
  return v;
}

function parseWarnAt(v: unknown, problems: BudgetProblem[]): number[] {
  const setting = `${PREFIX}.warnAt`;
  if (v === undefined || v === null) return [...DEFAULT_WARN_AT];
  if (!Array.isArray(v)) {
    problems.push({ setting, message: `must be a list of percentages like [80, 100] (got ${describe(v)}); using [80, 100].` });
    return [...DEFAULT_WARN_AT];
  }
  const out: number[] = [];
  v.forEach((x: unknown, i: number) => {
    if (typeof x === 'number' && Number.isFinite(x) && x > 0 && x <= 1000) out.push(x);
    else problems.push({ setting: `${setting}[${i}]`, message: `must be a percentage above 0 and at most 1000 (got ${describe(x)}); this threshold is ignored.` });
  });
  return normalizeThresholds(out);
}

function parseWeekStart(v: unknown, problems: BudgetProblem[]): number {
  if (v === undefined || v === null || v === '') return 1;
  if (typeof v === 'string') {
    const i = (WEEK_DAYS as readonly string[]).indexOf(v.trim().toLowerCase());
    if (i >= 0) return i;
  }
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 6) return v;
  problems.push({ setting: `${PREFIX}.weekStartsOn`, message: `must be a day name, "monday" … "sunday" (got ${describe(v)}); weeks start on Monday.` });
  return 1;
}

/** Positive finite thresholds, sorted ascending, without duplicates. */
export function normalizeThresholds(warnAt: readonly number[]): number[] {
  return [...new Set(warnAt.filter((x) => typeof x === 'number' && Number.isFinite(x) && x > 0))].sort((a, b) => a - b);
}

function usdToNanos(usd: number): number {
  return Math.round(usd * 1e9);
}


// ---------------------------------------------------------------------------------------
// Scope patterns

export type CompiledPattern = { pattern: string; regex: RegExp } | { error: string };

/**
 * A project folder or glob against absolute project paths. Supported: `*` (any characters
 * but a separator), `?` (one such character), `**` (any number of folders, as a whole path
 * segment). `/` and `\` are both separators, in the pattern and in the paths. A pattern
 * matches a project whose path it matches, or a subfolder of such a path: a plain path
 * matches that folder and its subfolders, `/work/*` matches `/work/a` and `/work/a/b`.
 * Matching is case-sensitive on every platform (Windows' case-insensitive paths are not
 * handled: write the path as the agent logs it). A pattern must be absolute (`/…`, `C:\…`,
 * `~/…` with a known home folder) or start with `**`.
 */
export function compileProjectPattern(input: string, homeDir?: string): CompiledPattern {
  let p = input.trim();
  if (!p) return { error: 'must be a folder path or glob, not empty' };
  if (p === '~' || p.startsWith('~/') || p.startsWith('~\\')) {
    if (!homeDir) return { error: `"~" cannot be expanded here; write the full folder path (got ${JSON.stringify(input)})` };
    p = homeDir.replace(/[\\/]+$/, '') + p.slice(1);
  }
  if (/[[\]{}]/.test(p)) return { error: `only the wildcards *, ** and ? are supported; [ ] and { } are not (got ${JSON.stringify(input)})` };
  const norm = normalizePath(p);
  if (!(norm.startsWith('/') || /^[A-Za-z]:(\/|$)/.test(norm) || norm.startsWith('**'))) {
    return { error: `must be an absolute folder path or a glob starting with / or **/, e.g. "/home/me/work/**" or "**/my-repo" (got ${JSON.stringify(input)})` };
  }
  const segs = norm.split('/').filter((s, i, a) => !(s === '**' && a[i - 1] === '**'));
  for (const s of segs) {
    if (s.includes('**') && s !== '**') return { error: `** must be a whole path segment, as in "/work/**/api" (got ${JSON.stringify(input)})` };
  }
  if (segs.every((s) => s === '**')) return { pattern: p, regex: /^/ };
  if (norm === '/') return { pattern: p, regex: /^\// };
  let re = '';
  segs.forEach((s, i) => {
    if (s === '**') re += i === 0 ? '(?:.*/)?' : '(?:/.*)?';
    else re += (i === 0 || (i === 1 && segs[0] === '**') ? '' : '/') + segmentRegex(s);
  });
  return { pattern: p, regex: new RegExp(`^${re}(?:/.*)?$`) };
}

function segmentRegex(s: string): string {
  let out = '';
  for (const c of s) out += c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return out;
}

/** Backslashes to slashes, repeated separators collapsed (a leading `//` kept), no trailing separator. */
export function normalizePath(p: string): string {
  let s = p.replace(/\\/g, '/');
  const unc = s.startsWith('//') ? '/' : '';
  s = unc + s.replace(/\/{2,}/g, '/');
  if (s.length > 1 && s.endsWith('/') && !/^[A-Za-z]:\/$/.test(s)) s = s.slice(0, -1);
  return s;
}

/** Model pattern: exact id, or `*` / `?` wildcards over the whole id; case-insensitive. */
export function compileModelPattern(pattern: string): RegExp {
  let out = '';
  for (const c of pattern) out += c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${out}$`, 'i');
}

/** Whether a record is in a budget's scope; results are cached per distinct project and model. */
function scopeMatcher(scope: BudgetScope): (r: RequestRecord) => boolean {
  const project = scope.project !== undefined ? compileProjectPattern(scope.project) : undefined;
  const projectRe = project && 'regex' in project ? project.regex : undefined;
  const modelRe = scope.model !== undefined ? compileModelPattern(scope.model) : undefined;
  const projectCache = new Map<string, boolean>();
  const modelCache = new Map<string, boolean>();
  return (r) => {
    if (scope.agent !== undefined && r.agent !== scope.agent) return false;
    if (projectRe) {
      let ok = projectCache.get(r.project);
      if (ok === undefined) projectCache.set(r.project, (ok = r.project !== '' && projectRe.test(normalizePath(r.project))));
      if (!ok) return false;
    }
    if (modelRe) {
      if (r.model === null) return false;
      let ok = modelCache.get(r.model);
      if (ok === undefined) modelCache.set(r.model, (ok = modelRe.test(r.model)));
      if (!ok) return false;
    }
    return true;
  };
}

// ---------------------------------------------------------------------------------------
// Periods

export interface PeriodBounds {
  /** Epoch ms of the local start; `end` is the next period's start (exclusive). */
  start: number;
  end: number;
  /** 'd:2026-03-08', 'w:2026-03-02' (the week's first day), 'm:2026-03'. */
  key: string;
}

/** The local calendar period containing `now` (built from calendar fields: DST-correct). */
export function periodBounds(period: 'day' | 'week' | 'month', now: number, weekStartsOn = 1): PeriodBounds {
  const d = new Date(now);
  const y = d.getFullYear();
  const m = d.getMonth();
  if (period === 'day') {
    return { start: new Date(y, m, d.getDate()).getTime(), end: new Date(y, m, d.getDate() + 1).getTime(), key: `d:${dayKeyOf(d)}` };
  }
  if (period === 'week') {
    const back = (d.getDay() - weekStartsOn + 7) % 7;
    const first = d.getDate() - back;
    return { start: new Date(y, m, first).getTime(), end: new Date(y, m, first + 7).getTime(), key: `w:${weekStartKey(now, weekStartsOn)}` };
  }
  return { start: new Date(y, m, 1).getTime(), end: new Date(y, m + 1, 1).getTime(), key: `m:${dayKeyOf(d).slice(0, 7)}` };
}

// ---------------------------------------------------------------------------------------
// Evaluation

export interface Forecast {
  /** Trailing window of the burn rate (FORECAST_WINDOW_MS for the period). */
  windowMs: number;
  /** In-scope spend in (now − windowMs, now], nano-USD. */
  windowSpendNanos: number;
  /** nano-USD per minute over the window. */
  rateNanosPerMin: number;
  /** spent + rate × minutes left; null for session budgets (a session has no end). */
  projectedNanos: number | null;
  projectedPercent: number | null;
  /** When the limit is reached at this rate: only while under it, with a rate, before the period end. */
  reachAt?: number;
}

export interface SessionRef {
  sessionId: string;
  agent: AgentId;
  project: string;
  /** First and last in-scope request of the session. */
  firstRequest: number;
  lastRequest: number;
}

export interface BudgetStatus {
  budget: Budget;
  /** The evaluation time. */
  now: number;
  /** Calendar period; for a session budget: start = the session's first request, end null, key 's:<start day>'. */
  period: { start: number; end: number | null; key: string };
  /** Set for session budgets. */
  session?: SessionRef;
  spentNanos: number;
  limitNanos: number;
  /** spent ÷ limit × 100, unrounded. */
  percent: number;
  /** over: percent ≥ 100; warn: percent ≥ the lowest warnAt threshold (and < 100); else ok. */
  state: BudgetState;
  /** The highest warnAt threshold reached, if any (what the crossing detector fires for). */
  threshold?: number;
  requests: number;
  /** In-scope requests with neither a price nor a logged cost: not in `spentNanos`, which is then a lower bound. */
  unpricedRequests: number;
  /** In-scope requests whose spend is the cost the agent logged (the rest are estimates). */
  loggedRequests: number;
  forecast: Forecast;
}

export interface EvaluateOptions {
  warnAt: readonly number[];
  weekStartsOn: number;
}

interface Acc {
  spent: number;
  requests: number;
  unpriced: number;
  logged: number;
  windowSpend: number;
}

interface SessionAcc extends Acc {
  agent: AgentId;
  project: string;
  first: number;
  last: number;
}

function newAcc(): Acc {
  return { spent: 0, requests: 0, unpriced: 0, logged: 0, windowSpend: 0 };
}

function addTo(a: Acc, r: RequestRecord, spend: number | null): void {
  a.requests++;
  if (spend === null) a.unpriced++;
  else a.spent += spend;
  if (r.loggedCostUSD !== undefined) a.logged++;
}

/**
 * Status of every budget at `now`. Calendar budgets: one status each, over the in-scope
 * requests in [period start, now]. Session budgets: one status per in-scope session with a
 * request in the last 24 h that is at warn or over (highest percent first), then the most
 * recently active of those sessions if it is ok (so the tooltip shows the live session).
 * Requests after `now` are ignored.
 */
export function evaluateBudgets(records: Iterable<RequestRecord>, budgets: readonly Budget[], now: number, opts: EvaluateOptions): BudgetStatus[] {
  const thresholds = normalizeThresholds(opts.warnAt);
  const weekStartsOn = Number.isInteger(opts.weekStartsOn) && opts.weekStartsOn >= 0 && opts.weekStartsOn <= 6 ? opts.weekStartsOn : 1;
  const plans = budgets.map((budget) => {
    const windowMs = FORECAST_WINDOW_MS[budget.period];
    const bounds = budget.period === 'session' ? undefined : periodBounds(budget.period, now, weekStartsOn);
    return {
      budget,
      windowMs,
      windowStart: now - windowMs,
      bounds,
      // Oldest request that can matter: sessions need their whole history.
      from: bounds ? Math.min(bounds.start, now - windowMs + 1) : -Infinity,
      matches: scopeMatcher(budget.scope),
      acc: newAcc(),
      sessions: new Map<string, SessionAcc>(),
    };
  });
  const oldest = Math.min(...plans.map((p) => p.from));

  for (const r of records) {
    const ts = r.timestamp;
    if (ts > now || ts < oldest) continue;
    let spend: number | null | undefined;
    for (const p of plans) {
      if (ts < p.from || !p.matches(r)) continue;
      if (spend === undefined) spend = spendNanosOf(r);
      if (p.bounds) {
        if (ts >= p.bounds.start) addTo(p.acc, r, spend);
        if (ts > p.windowStart && spend !== null) p.acc.windowSpend += spend;
      } else {
        let s = p.sessions.get(r.sessionId);
        if (!s) p.sessions.set(r.sessionId, (s = { spent: 0, requests: 0, unpriced: 0, logged: 0, windowSpend: 0, agent: r.agent, project: r.project, first: ts, last: ts }));
        addTo(s, r, spend);
        if (ts > p.windowStart && spend !== null) s.windowSpend += spend;
        if (ts < s.first) {
          s.first = ts;
          s.agent = r.agent;
          if (r.project) s.project = r.project;
        } else if (!s.project && r.project) {
          s.project = r.project;
        }
        if (ts > s.last) s.last = ts;
      }
    }
  }

  const out: BudgetStatus[] = [];
  for (const p of plans) {
    if (p.bounds) {
      out.push(statusOf(p.budget, now, { ...p.bounds }, p.acc, p.windowMs, thresholds));
      continue;
    }
    const shown: BudgetStatus[] = [];
    let latest: BudgetStatus | undefined;
    for (const [sessionId, s] of p.sessions) {
      if (s.last < now - SESSION_LOOKBACK_MS) continue;
      const st = statusOf(p.budget, now, { start: s.first, end: null, key: `s:${dayKeyOf(new Date(s.first))}` }, s, p.windowMs, thresholds);
      st.session = { sessionId, agent: s.agent, project: s.project, firstRequest: s.first, lastRequest: s.last };
      if (st.state !== 'ok') shown.push(st);
      if (!latest || s.last > latest.session!.lastRequest) latest = st;
    }
    shown.sort((a, b) => b.percent - a.percent || b.session!.lastRequest - a.session!.lastRequest);
    if (latest && latest.state === 'ok') shown.push(latest);
    out.push(...shown);
  }
  return out;
}

function statusOf(budget: Budget, now: number, period: BudgetStatus['period'], a: Acc, windowMs: number, thresholds: number[]): BudgetStatus {
  const limit = budget.limitNanos;
  const spent = a.spent;
  const reached = thresholds.filter((t) => spent * 100 >= t * limit);
  const state: BudgetState = spent >= limit ? 'over' : reached.length > 0 && reached[0]! < 100 ? 'warn' : 'ok';
  const rate = a.windowSpend / (windowMs / 60_000);
  const forecast: Forecast = { windowMs, windowSpendNanos: a.windowSpend, rateNanosPerMin: rate, projectedNanos: null, projectedPercent: null };
  if (period.end !== null) {
    const projected = Math.round(spent + (rate * Math.max(0, period.end - now)) / 60_000);
    forecast.projectedNanos = projected;
    forecast.projectedPercent = (projected / limit) * 100;
  }
  if (spent < limit && rate > 0) {
    const at = now + Math.round(((limit - spent) / rate) * 60_000);
    if (period.end === null || at < period.end) forecast.reachAt = at;
  }
  const status: BudgetStatus = {
    budget, now, period, spentNanos: spent, limitNanos: limit, percent: (spent / limit) * 100, state,
    requests: a.requests, unpricedRequests: a.unpriced, loggedRequests: a.logged, forecast,
  };
  if (reached.length > 0) status.threshold = reached[reached.length - 1]!;
  return status;
}

// ---------------------------------------------------------------------------------------
// Crossings (notifications)

export interface Crossing {
  /** The notified identity added to the set. */
  key: string;
  status: BudgetStatus;
  /** The threshold crossed (the highest reached; lower ones reached at the same time are marked without a message of their own). */
  threshold: number;
  /** 'over' for a threshold ≥ 100 (show as an error or warning), else 'warn'. */
  severity: 'warn' | 'over';
  /** One short sentence for the notification, e.g. "Daily budget: 82% of $10.00 spent ($8.20); at this rate you reach the limit at 16:40". */
  message: string;
}

/**
 * The identity of one threshold of one budget in one period (and session):
 * `<period key>|<threshold>|<budget id>[|<session id>]`, e.g. `d:2026-03-08|80|["daily",10]`.
 */
export function notificationKey(status: BudgetStatus, threshold: number): string {
  return `${status.period.key}|${threshold}|${identityTail(status)}`;
}

function identityTail(status: BudgetStatus): string {
  return status.session ? `${status.budget.id}|${status.session.sessionId}` : status.budget.id;
}

/**
 * New threshold crossings: for each status, the highest warnAt threshold reached fires
 * once, unless it (or a higher one) is already in `notified`; every threshold reached is
 * then in the returned set. Spend jumping past 80 % and 100 % at once gives one
 * notification (100 %); 80 % first and 100 % later gives two. A new period has a new key
 * (re-armed). `notified` is not modified.
 */
export function detectCrossings(
  statuses: readonly BudgetStatus[],
  notified: ReadonlySet<string>,
  warnAt: readonly number[],
  opts: { locale?: string } = {},
): { crossings: Crossing[]; notified: Set<string> } {
  const thresholds = normalizeThresholds(warnAt);
  const next = new Set(notified);
  const crossings: Crossing[] = [];
  for (const st of statuses) {
    const reached = thresholds.filter((t) => st.spentNanos * 100 >= t * st.limitNanos);
    if (reached.length === 0) continue;
    const top = reached[reached.length - 1]!;
    const already = thresholds.some((t) => t >= top && notified.has(notificationKey(st, t)));
    for (const t of reached) next.add(notificationKey(st, t));
    if (already) continue;
    crossings.push({ key: notificationKey(st, top), status: st, threshold: top, severity: top >= 100 ? 'over' : 'warn', message: crossingMessage(st, opts.locale) });
  }
  return { crossings, notified: next };
}

/**
 * Drops identities of periods that are over, so the persisted set stays bounded: days
 * before today, weeks before this week (by `weekStartsOn`), months before this month;
 * sessions whose first day is more than SESSION_NOTIFIED_RETENTION_DAYS ago unless one
 * of `current` (the statuses just evaluated) still has that identity; unreadable entries.
 */
export function pruneNotified(notified: ReadonlySet<string>, now: number, weekStartsOn = 1, current: readonly BudgetStatus[] = []): Set<string> {
  const today = dayKeyOf(new Date(now));
  const week = weekStartKey(now, weekStartsOn);
  const month = today.slice(0, 7);
  const d = new Date(now);
  const sessionCutoff = dayKeyOf(new Date(d.getFullYear(), d.getMonth(), d.getDate() - SESSION_NOTIFIED_RETENTION_DAYS));
  // Identities without the threshold of the sessions still evaluated (kept whatever their age).
  const live = new Set(current.filter((st) => st.session).map((st) => `${st.period.key}|${identityTail(st)}`));
  const out = new Set<string>();
  for (const key of notified) {
    const m = /^([dwms]):(\d{4}-\d{2}(?:-\d{2})?)\|[^|]+\|/.exec(key);
    if (!m) continue;
    const [head, kind, date] = m as unknown as [string, string, string];
    const keep =
      kind === 'd' ? date >= today :
      kind === 'w' ? date >= week :
      kind === 'm' ? date >= month :
      date >= sessionCutoff || live.has(`${kind}:${date}|${key.slice(head.length)}`);
    if (keep) out.add(key);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Text

const PERIOD_ADJ: Record<BudgetPeriod, string> = { day: 'daily', week: 'weekly', month: 'monthly', session: 'session' };
const PERIOD_END: Record<BudgetPeriod, string> = { day: 'the end of the day', week: 'the end of the week', month: 'the end of the month', session: '' };

/** "Daily budget", "Opus (daily budget)", "Session budget — Claude Code session 1a2b3c4d in my-repo". */
export function budgetTitle(st: BudgetStatus): string {
  const b = st.budget;
  const base = b.rule ? `${b.label} (${PERIOD_ADJ[b.period]} budget)` : b.label;
  if (!st.session) return base;
  const s = st.session;
  const where = s.project ? ` in ${folderName(s.project)}` : '';
  return `${base} — ${agentLabel(s.agent)} session ${shortId(s.sessionId)}${where}`;
}

/** The notification text: "Daily budget: 82% of $10.00 spent ($8.20); at this rate you reach the limit at 16:40". */
export function crossingMessage(st: BudgetStatus, locale?: string): string {
  const usd = (n: number) => formatUSD(n, locale);
  const unpriced = st.unpricedRequests > 0 ? ` + ${plural(st.unpricedRequests, 'unpriced request')}` : '';
  let text = `${budgetTitle(st)}: ${pct(st.percent, locale)} of ${usd(st.limitNanos)} spent (${usd(st.spentNanos)}${unpriced})`;
  if (st.forecast.reachAt !== undefined) text += `; at this rate you reach the limit ${when(st.forecast.reachAt, st.now, locale)}`;
  return text;
}

/**
 * Tooltip lines (markdown; join with '\n': each entry is followed by an empty line) for the
 * statuses: a text progress bar, the spend, the forecast sentence, and at the end one line
 * saying how the forecast is computed. Empty when there are no statuses.
 */
export function budgetLines(statuses: readonly BudgetStatus[], locale?: string): string[] {
  if (statuses.length === 0) return [];
  const usd = (n: number) => formatUSD(n, locale);
  const lines: string[] = ['**Budgets**', ''];
  for (const st of statuses) {
    const icon = st.state === 'over' ? '$(error) ' : st.state === 'warn' ? '$(warning) ' : '';
    const span = st.session ? '' : ` ${PERIOD_SPAN[st.budget.period]}`;
    const unpriced = st.unpricedRequests > 0 ? ` + ${plural(st.unpricedRequests, 'unpriced request')} not counted` : '';
    lines.push(`${icon}**${md(budgetTitle(st))}** \`${progressBar(st.percent)}\` ${pct(st.percent, locale)} — ${usd(st.spentNanos)}${unpriced} of ${usd(st.limitNanos)}${span}`, '');
    lines.push(forecastSentence(st, locale), '');
  }
  lines.push(`_${FORECAST_METHOD} Unpriced requests are not counted (the spend is then a lower bound)._`, '');
  return lines;
}

const PERIOD_SPAN: Record<BudgetPeriod, string> = { day: 'today', week: 'this week', month: 'this month', session: '' };

/** The forecast as one sentence. */
export function forecastSentence(st: BudgetStatus, locale?: string): string {
  const usd = (n: number) => formatUSD(n, locale);
  const f = st.forecast;
  const end = PERIOD_END[st.budget.period];
  const windowWord = windowLabel(f.windowMs);
  if (st.spentNanos >= st.limitNanos) {
    const over = `Over the limit by ${usd(st.spentNanos - st.limitNanos)}`;
    return f.projectedNanos !== null && f.rateNanosPerMin > 0 ? `${over}; at this rate about ${usd(f.projectedNanos)} by ${end}.` : `${over}.`;
  }
  if (f.rateNanosPerMin <= 0) {
    return `No spend in ${windowWord}${f.projectedNanos !== null ? `: ${usd(f.projectedNanos)} by ${end} if it stays so` : ''}.`;
  }
  const rate = `${usd(f.rateNanosPerMin * 60)}/h`;
  if (f.reachAt !== undefined) {
    const proj = f.projectedNanos !== null ? `; about ${usd(f.projectedNanos)} by ${end}` : '';
    return `At this rate (${rate} over ${windowWord}) you reach the limit ${when(f.reachAt, st.now, locale)}${proj}.`;
  }
  return `At this rate (${rate} over ${windowWord}) about ${usd(f.projectedNanos ?? st.spentNanos)} by ${end}, within the limit.`;
}

/** `▓▓▓▓▓▓░░░░` — ten cells, one per full 10 %, full from 100 %. */
export function progressBar(percent: number, cells = 10): string {
  const filled = Math.max(0, Math.min(cells, Math.floor((percent * cells) / 100)));
  return '▓'.repeat(filled) + '░'.repeat(cells - filled);
}

/** Whole percent, rounded down (79.9 % shows 79 %, never a threshold not reached), in the locale's style. */
function pct(percent: number, locale?: string): string {
  const v = Math.floor(percent + 1e-9) / 100;
  try {
    return new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 0 }).format(v);
  } catch {
    return `${Math.round(v * 100)}%`;
  }
}

/** "at 16:40" today, "on Thu 16:40" within a week, else "on 24 Mar". Local time. */
function when(ts: number, now: number, locale?: string): string {
  const d = new Date(ts);
  const n = new Date(now);
  const sameDay = dayKeyOf(d) === dayKeyOf(n);
  if (sameDay) return `at ${dateFormat(locale, { hour: '2-digit', minute: '2-digit' }).format(d)}`;
  if (ts - now < 6 * 24 * 60 * 60_000) return `on ${dateFormat(locale, { weekday: 'short', hour: '2-digit', minute: '2-digit' }).format(d)}`;
  return `on ${dateFormat(locale, { day: 'numeric', month: 'short' }).format(d)}`;
}

function dateFormat(locale: string | undefined, o: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  // Not cached: the default time zone is read at construction (tests change TZ at run time).
  try {
    return new Intl.DateTimeFormat(locale, o);
  } catch {
    return new Intl.DateTimeFormat(undefined, o);
  }
}

function windowLabel(ms: number): string {
  if (ms === 60 * 60_000) return 'the last hour';
  if (ms === 24 * 60 * 60_000) return 'the last 24 h';
  if (ms % (24 * 60 * 60_000) === 0) return `the last ${ms / (24 * 60 * 60_000)} days`;
  return `the last ${Math.round(ms / 60_000)} min`;
}

function shortId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Escapes markdown (names and paths come from settings and logs). */
function md(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~$&]/g, (c) => `\\${c}`);
}
