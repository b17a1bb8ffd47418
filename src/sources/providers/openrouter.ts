/**
 * OpenRouter: the key's usage (`/api/v1/key`) and the account's credits (`/api/v1/credits`).
 *
 * Verified against the docs (search, docs corpus):
 * - https://openrouter.ai/docs/api/api-reference/api-keys/get-current-key.md: `GET
 *   https://openrouter.ai/api/v1/key`, `Authorization: Bearer <key>`, "information on the
 *   API key associated with the current authentication session"; response
 *   `{data: {label, limit, usage, usage_daily, usage_weekly, usage_monthly, byok_usage…,
 *   limit_remaining, limit_reset, is_free_tier, …}}` (example in
 *   https://openrouter.ai/docs/client-sdks/typescript/models/operations/getcurrentkeyresponse).
 *   Older responses (https://docs.rs/crate/openrouter/latest/source/responses/key.json)
 *   carry only `usage`/`limit`: `usage_daily` etc. are optional here.
 * - https://openrouter.ai/docs/api/api-reference/credits/get-credits.md: `GET
 *   /api/v1/credits`, management key required, `{data: {total_credits, total_usage}}`.
 * - https://openrouter.ai/docs/api/api-reference/analytics/get-user-activity.md:
 *   `/api/v1/activity` covers "the last 30 (completed) UTC days", management key
 *   required — not used here (issue 8 asks for key + credits).
 * Units: dollars (credits are USD). Limits "reset at midnight UTC"
 * (https://openrouter.ai/docs/client-sdks/python/operations/createkeyslimitreset), so
 * `usage_daily` is taken as the spend of the current UTC day. No token counts: null.
 */
import * as z from 'zod/mini';
import { getJson, type Endpoint, type HttpOptions } from './http';
import { dollarsToPico, inRange, picoToDollars, utcDay, type BilledDay, type BillingClient, type DayRange } from './types';

export const OPENROUTER_BASE_URL = 'https://openrouter.ai';

const money = () => z.number();
const optMoney = () => z.optional(z.nullable(z.number()));

export const KeySchema = z.looseObject({
  data: z.looseObject({
    usage: money(),
    limit: z.nullable(z.number()),
    usage_daily: optMoney(),
    usage_weekly: optMoney(),
    usage_monthly: optMoney(),
    limit_remaining: optMoney(),
    is_free_tier: z.optional(z.boolean()),
  }),
});

export const CreditsSchema = z.looseObject({
  data: z.looseObject({ total_credits: money(), total_usage: money() }),
});

export interface OpenRouterKeyInfo {
  /** All-time spend of this key, dollars. */
  usageUSD: number;
  /** Spend of the current UTC day / week / month; null when the response predates these fields. */
  dailyUSD: number | null;
  weeklyUSD: number | null;
  monthlyUSD: number | null;
  /** Null = no limit. */
  limitUSD: number | null;
  limitRemainingUSD: number | null;
}

export interface OpenRouterCredits {
  totalCreditsUSD: number;
  totalUsageUSD: number;
  balanceUSD: number;
}

export interface OpenRouterOptions extends HttpOptions {
  apiKey: string;
  baseUrl?: string;
}

export class OpenRouterClient implements BillingClient {
  readonly provider = 'openrouter' as const;
  private readonly ep: Endpoint;
  private readonly base: string;

  constructor(private readonly opts: OpenRouterOptions) {
    this.ep = { provider: 'openrouter', secret: opts.apiKey, headers: { authorization: `Bearer ${opts.apiKey}` } };
    this.base = (opts.baseUrl ?? OPENROUTER_BASE_URL).replace(/\/+$/, '');
  }

  async fetchKey(): Promise<OpenRouterKeyInfo> {
    const { data } = await getJson(this.ep, new URL(this.base + '/api/v1/key'), KeySchema, this.opts);
    return {
      usageUSD: data.usage,
      dailyUSD: data.usage_daily ?? null,
      weeklyUSD: data.usage_weekly ?? null,
      monthlyUSD: data.usage_monthly ?? null,
      limitUSD: data.limit,
      limitRemainingUSD: data.limit_remaining ?? null,
    };
  }

  /** Needs a management key (a plain key gets 401/403, reported as `auth`). */
  async fetchCredits(): Promise<OpenRouterCredits> {
    const { data } = await getJson(this.ep, new URL(this.base + '/api/v1/credits'), CreditsSchema, this.opts);
    return {
      totalCreditsUSD: data.total_credits,
      totalUsageUSD: data.total_usage,
      balanceUSD: picoToDollars(dollarsToPico(data.total_credits) - dollarsToPico(data.total_usage)),
    };
  }

  /**
   * The key endpoint only knows today: one day (the current UTC day) when it is in the
   * range, never final. Earlier days would need `/activity` and a management key.
   */
  async fetchDays(range: DayRange): Promise<BilledDay[]> {
    const today = utcDay((this.opts.now ?? Date.now)());
    if (!inRange(today, range)) return [];
    const key = await this.fetchKey();
    return [{
      date: today,
      costUSD: key.dailyUSD,
      inputTokens: null,
      outputTokens: null,
      cacheCreationTokens: null,
      cacheReadTokens: null,
      final: false,
    }];
  }
}
