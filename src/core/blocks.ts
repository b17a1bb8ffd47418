/**
 * Claude Code's 5-hour usage blocks (subscription plans), estimated from the logs the
 * way ccusage does it (`identifySessionBlocks`):
 *
 * - Only Claude Code requests count (the other agents do not share the plan's window).
 * - A block starts at the UTC hour floor of the first request after the previous block
 *   ended and lasts 5 hours. A request at or after the block's end starts a new block;
 *   so does a gap of 5 hours or more between two requests (implied by the first rule,
 *   since the previous request lies inside the block).
 * - Burn rate (ccusage's): the block's spend ÷ the minutes between its first and its last
 *   request; none while they are less than a minute apart. Projection: spend + rate ×
 *   minutes left in the block (active blocks only).
 *
 * The only deviation from ccusage: a request exactly at `start + 5h` opens the next block
 * (ccusage keeps it in the ending one); blocks here are half-open [start, end).
 *
 * This is an ESTIMATE: Anthropic does not log where its limit windows start. The real
 * windows (from Claude Code's status line) come from a later issue; label the view so.
 * Pure: no I/O, `now` is passed in.
 */
import { ZERO_TOKENS, type TokenCounts } from './events';
import { spendNanosOf, type RequestRecord } from './ledger';
import { formatDuration, formatTokens, formatUSD, plural } from './format';

export const BLOCK_MS = 5 * 60 * 60_000;
const HOUR_MS = 60 * 60_000;

export interface UsageBlock {
  /** Always true: the block boundaries are inferred from the logs, not reported by Anthropic. */
  estimate: true;
  /** Block start (UTC hour floor of its first request) and end (start + 5 h), epoch ms. */
  start: number;
  end: number;
  /** `now` is before the block's end. */
  active: boolean;
  /** end − now while active, else 0. */
  timeLeftMs: number;
  firstRequest: number;
  lastRequest: number;
  requests: number;
  /** Token counts by type, summed over the block's requests (up to `now`). */
  tokens: TokenCounts;
  /** All token types together. */
  totalTokens: number;
  /** Spend in nano-USD (logged cost where the agent logged one, else the estimate). */
  spendNanos: number;
  /** Requests with no price and no logged cost: not in `spendNanos` (a lower bound then). */
  unpricedRequests: number;
  /** nano-USD per minute between the first and the last request; undefined when < 1 min apart. */
  burnRateNanosPerMin?: number;
  /** Input + output tokens per minute over the same span (ccusage's token burn rate). */
  tokensPerMin?: number;
  /** spend + burn rate × minutes left (active blocks with a burn rate); else the spend. */
  projectedNanos: number;
  /** input + output tokens projected the same way. */
  projectedTokens: number;
  /** Models used, by first use. */
  models: string[];
}

/** UTC hour floor (as ccusage: in a time zone offset by 30 min the block starts at :30 local). */
export function floorToUtcHour(ts: number): number {
  return Math.floor(ts / HOUR_MS) * HOUR_MS;
}

/**
 * The latest 5-hour block at `now` over the Claude Code records among `records` (requests
 * after `now` are ignored): active when `now` is before its end, else the last one that
 * ended (active false, timeLeftMs 0). Undefined when there is no Claude Code request.
 */
export function currentBlock(records: Iterable<RequestRecord>, now: number): UsageBlock | undefined {
  const claude: RequestRecord[] = [];
  for (const r of records) if (r.agent === 'claude-code' && r.timestamp <= now) claude.push(r);
  if (claude.length === 0) return undefined;
  // Boundaries need only the timestamps: a typed-array sort is cheap even for 100k requests.
  const times = Float64Array.from(claude, (r) => r.timestamp).sort();
  let start = floorToUtcHour(times[0]!);
  let last = times[0]!;
  for (let i = 1; i < times.length; i++) {
    const t = times[i]!;
    if (t >= start + BLOCK_MS || t - last >= BLOCK_MS) start = floorToUtcHour(t);
    last = t;
  }
  const end = start + BLOCK_MS;
  const tokens: TokenCounts = { ...ZERO_TOKENS };
  const firstUse = new Map<string, number>();
  let spendNanos = 0;
  let unpricedRequests = 0;
  let requests = 0;
  let firstRequest = Infinity;
  for (const r of claude) {
    if (r.timestamp < start || r.timestamp >= end) continue;
    requests++;
    if (r.timestamp < firstRequest) firstRequest = r.timestamp;
    tokens.input += r.tokens.input;
    tokens.output += r.tokens.output;
    tokens.cacheWrite5m += r.tokens.cacheWrite5m;
    tokens.cacheWrite1h += r.tokens.cacheWrite1h;
    tokens.cacheRead += r.tokens.cacheRead;
    tokens.reasoning += r.tokens.reasoning;
    const spend = spendNanosOf(r);
    if (spend === null) unpricedRequests++;
    else spendNanos += spend;
    if (r.model !== null && !(r.timestamp >= (firstUse.get(r.model) ?? Infinity))) firstUse.set(r.model, r.timestamp);
  }
  const active = now < end;
  const timeLeftMs = active ? end - now : 0;
  const ioTokens = tokens.input + tokens.output;
  const block: UsageBlock = {
    estimate: true,
    start,
    end,
    active,
    timeLeftMs,
    firstRequest,
    lastRequest: last,
    requests,
    tokens,
    totalTokens: tokens.input + tokens.output + tokens.cacheWrite5m + tokens.cacheWrite1h + tokens.cacheRead,
    spendNanos,
    unpricedRequests,
    projectedNanos: spendNanos,
    projectedTokens: ioTokens,
    models: [...firstUse].sort((a, b) => a[1] - b[1]).map(([m]) => m),
  };
  const spanMin = (last - firstRequest) / 60_000;
  if (spanMin >= 1) {
    block.burnRateNanosPerMin = spendNanos / spanMin;
    block.tokensPerMin = ioTokens / spanMin;
    if (active) {
      const leftMin = timeLeftMs / 60_000;
      block.projectedNanos = Math.round(spendNanos + block.burnRateNanosPerMin * leftMin);
      block.projectedTokens = Math.round(ioTokens + block.tokensPerMin * leftMin);
    }
  }
  return block;
}

/** Tooltip lines (markdown, join with '\n') for the `block` status bar period. */
export function blockLines(block: UsageBlock | undefined, now: number, locale?: string): string[] {
  const usd = (n: number) => formatUSD(n, locale);
  const time = (ts: number) => safeTimeFormat(locale).format(new Date(ts));
  if (!block) return ['**5-hour block** (estimate): no Claude Code usage yet', ''];
  const lines: string[] = [];
  if (block.active) {
    lines.push(`**5-hour block** (estimate) · started ${time(block.start)}, ends ${time(block.end)} · ${formatDuration(block.timeLeftMs)} left`, '');
  } else {
    lines.push(`**5-hour block** (estimate) · no active block; the last one ran ${time(block.start)}–${time(block.end)} (ended ${formatDuration(now - block.end)} ago)`, '');
  }
  const unpriced = block.unpricedRequests > 0 ? ` + ${block.unpricedRequests} unpriced` : '';
  lines.push(`${usd(block.spendNanos)}${unpriced} · ${formatTokens(block.totalTokens)} tokens (${formatTokens(block.tokens.input)} in, ${formatTokens(block.tokens.output)} out, ${formatTokens(block.tokens.cacheRead)} cache read, ${formatTokens(block.tokens.cacheWrite5m + block.tokens.cacheWrite1h)} cache write) · ${plural(block.requests, 'request', locale)}`, '');
  if (block.burnRateNanosPerMin !== undefined) {
    const projected = block.active ? ` · projected ${usd(block.projectedNanos)} by ${time(block.end)}` : '';
    lines.push(`Burn rate ${usd(block.burnRateNanosPerMin * 60)}/h${projected}`, '');
  }
  lines.push('_Block boundaries are estimated from the logs (ccusage\'s rule: a block starts at the hour of the first request after the previous one ended and lasts 5 h); burn rate = block spend ÷ time between its first and last request._', '');
  return lines;
}

function safeTimeFormat(locale: string | undefined): Intl.DateTimeFormat {
  try {
    return new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit' });
  } catch {
    return new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
  }
}
