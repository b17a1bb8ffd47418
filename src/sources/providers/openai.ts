/**
 * OpenAI organization usage (completions) + costs, as daily figures.
 *
 * Verified against the docs (search, docs corpus):
 * - https://cookbook.openai.com/examples/completions_usage_api and the documented sample
 *   at https://apidog.com/apidoc/docs-site/370474/de/api-12401171: `GET
 *   /v1/organization/usage/completions?start_time=<unix s>&limit=…`, header
 *   `Authorization: Bearer $OPENAI_ADMIN_KEY`; page `{object: "page", data: [{object:
 *   "bucket", start_time, end_time, results: [{object:
 *   "organization.usage.completions.result", input_tokens, output_tokens,
 *   input_cached_tokens, num_model_requests, project_id, user_id, api_key_id, model,
 *   batch}]}], has_more, next_page}`. Query (w3cschool mirror of the reference,
 *   …usage-methods-decisions.html, same family): `start_time` (unix s, inclusive),
 *   `end_time` (exclusive), `bucket_width` 1m|1h|1d (default 1d), `limit` (1d: default 7,
 *   max 31), `page` = previous `next_page`.
 * - `input_tokens` "including cached tokens" (openai-client-base UsageCompletionsResult,
 *   https://docs.rs/crate/openai-client-base/0.12.0/source/src/models/usage_completions_result.rs),
 *   so uncached input = input_tokens − input_cached_tokens.
 * - https://share.apidog.com/apidoc/docs-site/370474/api-12405880 and the OpenAPI CostsResult
 *   (https://docs.rs/crate/openai-client-base/latest/source/docs/CostsResult.md): `GET
 *   /v1/organization/costs`, results `{object: "organization.costs.result", amount: {value:
 *   <number, dollars>, currency: "usd"}, line_item, project_id}`; same pagination.
 * OpenAI does not report cache writes: `cacheCreationTokens` is null.
 */
import * as z from 'zod/mini';
import { fetchAllPages, ProviderError, type Endpoint, type HttpOptions, type PageShape } from './http';
import { dollarsToPico, inRange, isFinal, picoToDollars, rangeBounds, utcDay, type BilledDay, type BillingClient, type DayRange } from './types';

export const OPENAI_BASE_URL = 'https://api.openai.com';
const PAGE_LIMIT = 31;


const count = () => z.number().check(z.int(), z.nonnegative());

const Page = <R extends z.ZodMiniType>(result: R) => z.looseObject({
  data: z.array(z.looseObject({
    start_time: z.number(),
    end_time: z.optional(z.number()),
    results: z.array(result),
  })),
  has_more: z.boolean(),
  next_page: z.optional(z.nullable(z.string())),
});

export const CompletionsPageSchema = Page(z.looseObject({
  input_tokens: count(),
  output_tokens: count(),
  input_cached_tokens: z.optional(z.nullable(count())),
  num_model_requests: z.optional(z.nullable(count())),
}));

export const CostsPageSchema = Page(z.looseObject({
  // the OpenAPI spec marks `amount` optional; a result without one adds nothing
  amount: z.optional(z.nullable(z.looseObject({
    value: z.number(),
    currency: z.optional(z.nullable(z.string())),
  }))),
}));

export interface OpenAIOptions extends HttpOptions {
  apiKey: string;
  baseUrl?: string;
}

export class OpenAIClient implements BillingClient {
  readonly provider = 'openai' as const;
  private readonly ep: Endpoint;
  private readonly base: string;

  constructor(private readonly opts: OpenAIOptions) {
    this.ep = { provider: 'openai', secret: opts.apiKey, headers: { authorization: `Bearer ${opts.apiKey}` } };
    this.base = (opts.baseUrl ?? OPENAI_BASE_URL).replace(/\/+$/, '');
  }

  async fetchDays(range: DayRange): Promise<BilledDay[]> {
    const { startMs, endMs } = rangeBounds(range);
    const params = { start_time: String(startMs / 1000), end_time: String(endMs / 1000) };
    const usage = await this.pages('/v1/organization/usage/completions', params, CompletionsPageSchema);
    const costs = await this.pages('/v1/organization/costs', params, CostsPageSchema);

    const days = new Map<string, { pico: bigint | null; input: number | null; output: number | null; cr: number | null }>();
    const slot = (date: string) => {
      let d = days.get(date);
      if (!d) days.set(date, (d = { pico: null, input: null, output: null, cr: null }));
      return d;
    };
    for (const b of usage) {
      const d = slot(utcDay(b.start_time * 1000));
      d.input ??= 0; d.output ??= 0; d.cr ??= 0;
      for (const r of b.results) {
        const cached = r.input_cached_tokens ?? 0;
        d.input += Math.max(0, r.input_tokens - cached);
        d.output += r.output_tokens;
        d.cr += cached;
      }
    }
    for (const b of costs) {
      const d = slot(utcDay(b.start_time * 1000));
      d.pico ??= 0n;
      for (const r of b.results) {
        if (!r.amount) continue;
        if (r.amount.currency && r.amount.currency.toLowerCase() !== 'usd') {
          throw new ProviderError('openai', 'malformed', `OpenAI: costs in ${r.amount.currency}, only USD is supported`);
        }
        d.pico += dollarsToPico(r.amount.value); // already dollars
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
        cacheCreationTokens: null,
        cacheReadTokens: d.cr,
        final: isFinal(date, now),
      }));
  }

  private pages<T extends PageShape>(path: string, params: Record<string, string>, schema: z.ZodMiniType<T>): Promise<T['data']> {
    return fetchAllPages(this.ep, this.base, path, params, schema, PAGE_LIMIT, this.opts);
  }

}
