/**
 * Anthropic Admin API: Messages usage report + cost report, as daily figures.
 *
 * Verified against the docs (search, docs corpus):
 * - https://platform.claude.com/docs/en/api/admin/usage_report/retrieve_messages and
 *   https://platform.claude.com/docs/en/api/admin-api/usage-cost/get-messages-usage-report.md:
 *   `GET /v1/organizations/usage_report/messages`, headers `anthropic-version: 2023-06-01`
 *   and `X-Api-Key: <admin key>`; query `starting_at` (RFC 3339, buckets "snapped to the
 *   start of the minute/hour/day in UTC"), `ending_at` (buckets that end before it),
 *   `bucket_width` 1d|1h|1m (default 1d), `limit` (1d: default 7, max 31), `page` = the
 *   previous response's `next_page`. Response `{data: [{starting_at, ending_at, results:
 *   [{uncached_input_tokens, cache_read_input_tokens, cache_creation:
 *   {ephemeral_5m_input_tokens, ephemeral_1h_input_tokens}, output_tokens, …}]}],
 *   has_more, next_page}`.
 * - https://platform.claude.com/docs/en/api/admin/cost_report: `GET
 *   /v1/organizations/cost_report`, CostReport = `{data: [{starting_at, ending_at,
 *   results: [{amount, currency, cost_type, description, model, …}]}], has_more,
 *   next_page}`; `amount` is "Cost amount in lowest currency units (e.g. cents) as a
 *   decimal string. For example, "123.45" in "USD" represents $1.23"; currency "Currently
 *   always USD"; daily buckets only. Priority Tier costs are not in the cost report
 *   (https://docs.anthropic.com/ko/api/usage-cost-api).
 */
import * as z from 'zod/mini';
import { fetchAllPages, ProviderError, type Endpoint, type HttpOptions, type PageShape } from './http';
import { decimalToPico, inRange, isFinal, picoToDollars, rangeBounds, utcDay, type BilledDay, type BillingClient, type DayRange } from './types';

export const ANTHROPIC_BASE_URL = 'https://api.anthropic.com';
export const ANTHROPIC_VERSION = '2023-06-01';
/** Max daily buckets per page (documented maximum for bucket_width=1d). */
const PAGE_LIMIT = 31;

/** A runaway `has_more` loop stops here. */

const count = () => z.number().check(z.int(), z.nonnegative());
const optCount = () => z.optional(z.nullable(count()));

const UsageResult = z.looseObject({
  uncached_input_tokens: count(),
  cache_read_input_tokens: optCount(),
  cache_creation: z.optional(z.nullable(z.looseObject({
    ephemeral_5m_input_tokens: optCount(),
    ephemeral_1h_input_tokens: optCount(),
  }))),
  output_tokens: count(),
});

const Bucket = <R extends z.ZodMiniType>(result: R) => z.looseObject({
  starting_at: z.string(),
  ending_at: z.string(),
  results: z.array(result),
});

const Page = <R extends z.ZodMiniType>(result: R) => z.looseObject({
  data: z.array(Bucket(result)),
  has_more: z.boolean(),
  next_page: z.optional(z.nullable(z.string())),
});

export const UsagePageSchema = Page(UsageResult);

const CostResult = z.looseObject({
  amount: z.string(),
  currency: z.optional(z.nullable(z.string())),
});
export const CostPageSchema = Page(CostResult);

export interface AnthropicOptions extends HttpOptions {
  apiKey: string;
  baseUrl?: string;
}

export class AnthropicClient implements BillingClient {
  readonly provider = 'anthropic' as const;
  private readonly ep: Endpoint;
  private readonly base: string;

  constructor(private readonly opts: AnthropicOptions) {
    this.ep = {
      provider: 'anthropic',
      secret: opts.apiKey,
      headers: { 'x-api-key': opts.apiKey, 'anthropic-version': ANTHROPIC_VERSION },
    };
    this.base = (opts.baseUrl ?? ANTHROPIC_BASE_URL).replace(/\/+$/, '');
  }

  /** One figure per UTC day in the range for which the provider returned a bucket; both endpoints, every page. */
  async fetchDays(range: DayRange): Promise<BilledDay[]> {
    const { startMs, endMs } = rangeBounds(range);
    const params = { starting_at: new Date(startMs).toISOString(), ending_at: new Date(endMs).toISOString() };
    // one request at a time: usage pages, then cost pages
    const usage = await this.pages('/v1/organizations/usage_report/messages', params, UsagePageSchema);
    const cost = await this.pages('/v1/organizations/cost_report', params, CostPageSchema);

    const days = new Map<string, { pico: bigint | null; input: number | null; output: number | null; cw: number | null; cr: number | null }>();
    const slot = (date: string) => {
      let d = days.get(date);
      if (!d) days.set(date, (d = { pico: null, input: null, output: null, cw: null, cr: null }));
      return d;
    };
    for (const b of usage) {
      const d = slot(bucketDay(b.starting_at));
      for (const r of b.results) {
        d.input = (d.input ?? 0) + r.uncached_input_tokens;
        d.output = (d.output ?? 0) + r.output_tokens;
        d.cw = (d.cw ?? 0) + (r.cache_creation?.ephemeral_5m_input_tokens ?? 0) + (r.cache_creation?.ephemeral_1h_input_tokens ?? 0);
        d.cr = (d.cr ?? 0) + (r.cache_read_input_tokens ?? 0);
      }
      // a bucket with no results is a day with no usage: zeros, not "unknown"
      if (b.results.length === 0) { d.input ??= 0; d.output ??= 0; d.cw ??= 0; d.cr ??= 0; }
    }
    for (const b of cost) {
      const d = slot(bucketDay(b.starting_at));
      d.pico ??= 0n;
      for (const r of b.results) {
        if (r.currency && r.currency.toUpperCase() !== 'USD') {
          throw new ProviderError('anthropic', 'malformed', `Anthropic: cost report in ${r.currency}, only USD is supported`);
        }
        try {
          d.pico += decimalToPico(r.amount, 2); // cents → dollars, exactly
        } catch {
          throw new ProviderError('anthropic', 'malformed', `Anthropic: cost report amount is not a decimal string ("${r.amount.slice(0, 40)}")`);
        }
      }
    }
    const now = (this.opts.now ?? Date.now)();
    return [...days.entries()]
      .filter(([date]) => inRange(date, range))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([date, d]) => ({
        date,
        costUSD: d.pico === null ? null : picoToDollars(d.pico),
        inputTokens: d.input,
        outputTokens: d.output,
        cacheCreationTokens: d.cw,
        cacheReadTokens: d.cr,
        final: isFinal(date, now),
      }));
  }

  private pages<T extends PageShape>(path: string, params: Record<string, string>, schema: z.ZodMiniType<T>): Promise<T['data']> {
    return fetchAllPages(this.ep, this.base, path, params, schema, PAGE_LIMIT, this.opts);
  }

}

/** The UTC day a bucket starts on ("2025-01-01T00:00:00Z" → "2025-01-01"). */
function bucketDay(startingAt: string): string {
  const ms = Date.parse(startingAt);
  if (Number.isNaN(ms)) throw new ProviderError('anthropic', 'malformed', `Anthropic: bucket starting_at is not a timestamp ("${startingAt.slice(0, 40)}")`);
  return utcDay(ms);
}
