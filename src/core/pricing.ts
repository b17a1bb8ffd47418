/**
 * Pricing: a bundled, dated list-price table, model-id normalisation, user overrides,
 * and the per-request cost in integer nano-USD.
 *
 * Pure TypeScript: no I/O, no `vscode`, no module-level mutable state (the bundled
 * table and the alias lists are deep-frozen constants).
 *
 * Rules (as the providers bill them):
 *  - Cost = Σ tokens × rate per token type. `reasoning` is a subset of `output` and is
 *    NOT added again.
 *  - Long-context tier: when a request's input INCLUDING cache reads and writes
 *    (input + cacheWrite5m + cacheWrite1h + cacheRead) EXCEEDS the model's threshold,
 *    every token type of the WHOLE request is billed at the tier's rates
 *    (Anthropic Sonnet 4/4.5 1M beta, Gemini Pro models, GPT-5.4/5.5).
 *    Exactly at the threshold is not repriced.
 *  - A model missing from the table is unpriced (`null`), never $0, and an unknown id is
 *    never fuzzy-matched to a price: normalisation only strips spellings the providers
 *    and agents are known to use (see `normalizeModelId`).
 *  - Rounded to the nano-USD once per request (half up), never per token type.
 */
import type { TokenCounts } from './events';

/** USD per 1M tokens. */
export interface Rates {
  input: number;
  output: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  cacheRead: number;
}

export interface ModelPrice extends Rates {
  /** When a request's input INCLUDING cache reads and writes exceeds thresholdTokens, the WHOLE request is billed at these rates (as Anthropic/Google bill it). */
  longContext?: { thresholdTokens: number } & Rates;
  /** Context window in tokens (for context-fill views later). */
  contextWindow?: number;
}

export interface PriceTable {
  /** YYYY-MM-DD: the day the prices were verified. */
  asOf: string;
  /** URLs of the pricing pages. */
  sources: string[];
  /** canonical id -> price */
  models: Record<string, ModelPrice>;
}

/**
 * Per-model overrides from the user's settings: canonical or raw model id -> partial rates
 * (missing cache rates derived like the provider does: Anthropic 1.25x/2x/0.1x input,
 * OpenAI cached 0.1x or as given).
 */
export type PriceOverrides = Record<string, Partial<Rates> & { longContext?: { thresholdTokens: number } & Partial<Rates> }>;

const RATE_KEYS = ['input', 'output', 'cacheWrite5m', 'cacheWrite1h', 'cacheRead'] as const;

// ---------------------------------------------------------------------------------------
// Bundled table
// ---------------------------------------------------------------------------------------

/*
 * Verified 2026-11-24 with the `search` tool against stored copies of the providers'
 * pages (and, where a provider page was not stored, several independent copies that agree):
 *
 * Anthropic — https://platform.claude.com/docs/en/about-claude/pricing ("Model pricing"
 *   table with 5m/1h cache writes and cache hits; "Long context pricing"), and the model
 *   overview pages https://platform.claude.com/docs/en/models/<model>/overview.
 *   - Sonnet 4 / 4.5: above 200K input tokens incl. cache reads/writes (1M beta,
 *     `context-1m-2025-08-07`), ALL tokens at $6 in / $22.50 out; "prompt caching
 *     multipliers apply on top" -> 5m $7.50, 1h $12, read $0.60.
 *   - Opus 4.6 / Sonnet 4.6 (and 4.7, 4.8, Opus 5): "include the full 1M token context
 *     window at standard pricing" -> no long-context tier. NOTE: between their launch
 *     (Opus 4.6 2026-02-05, Sonnet 4.6 2026-02-17) and 1M GA on 2026-03-13 they were billed
 *     at a premium above 200K (Opus $10/$37.50, Sonnet $6/$22.50). This table has no
 *     effective dates, so such historical requests are priced at today's flat rates.
 *   - Not modelled: fast mode (6x Opus rates), `inference_geo: "us"` (1.1x), Batch API.
 *   - Bedrock/Vertex ids resolve to the same rows (list prices; regional endpoints can
 *     cost more there).
 * OpenAI — https://developers.openai.com/api/docs/pricing and the model pages
 *   https://developers.openai.com/api/docs/models/<model> (gpt-5-codex, codex-mini-latest
 *   read directly; the rest cross-checked in GitHub's Copilot price table
 *   github/docs data/tables/copilot/models-and-pricing.yml, which lists OpenAI list prices,
 *   and in several dated copies of the pricing page).
 *   - No cache-write charge: cacheWrite5m/1h = input, so tokens an adapter reports as
 *     writes are billed as normal input.
 *   - GPT-5.4 / GPT-5.5: above 272K input tokens (incl. cached) the whole request is billed
 *     at 2x input/cached and 1.5x output.
 * Google — https://ai.google.dev/gemini-api/docs/pricing (Gemini Developer API, paid tier,
 *   text). Cached input = the "context caching" price; no cache-write charge (writes =
 *   input). Pro models: above 200K prompt tokens (incl. cached) the higher tier applies to
 *   the whole request. Gemini 3 Pro Preview was shut down 2026-03-09; kept for old logs.
 *
 * Left OUT (unpriced beats wrong) — could not be verified, or the price depends on the date
 * and this table has no effective dates:
 *   claude-sonnet-5, claude-sonnet-5-5, claude-opus-5-5, claude-haiku-5-5, claude-fable-5,
 *   claude-fable-5-1, claude-mythos-* (introductory prices / later cache-read cuts);
 *   claude-3-sonnet, claude-2.x, claude-instant; gpt-5.6-sol/terra/luna (promotional
 *   pricing, conflicting sources), gpt-5-nano, gpt-5-codex-mini, gpt-5.x-pro, o1, o3-mini,
 *   o3-pro, gpt-4.1-mini/nano, chatgpt-4o-latest, gpt-4o-2024-05-13 (older, higher price);
 *   gemini-3.1-flash-lite-preview, gemini-3.5+ flash, gemini-2.0-*, dated Gemini previews;
 *   xAI/Grok, GLM, Kimi, DeepSeek and other OpenRouter/OpenCode models.
 */

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const K200 = 200_000;
const CLAUDE_1M = 1_000_000;
const GEMINI_WINDOW = 1_048_576;

export const BUNDLED_PRICES: PriceTable = deepFreeze<PriceTable>({
  asOf: '2026-11-24',
  sources: [
    'https://platform.claude.com/docs/en/about-claude/pricing',
    'https://platform.claude.com/docs/en/models/overview',
    'https://developers.openai.com/api/docs/pricing',
    'https://developers.openai.com/api/docs/models',
    'https://ai.google.dev/gemini-api/docs/pricing',
    'https://ai.google.dev/gemini-api/docs/models',
    'https://github.com/github/docs/blob/main/data/tables/copilot/models-and-pricing.yml',
  ],
  models: {
    // ---- Anthropic (5m write = 1.25x, 1h write = 2x, read = 0.1x input) ----
    'claude-opus-5': { input: 5, output: 25, cacheWrite5m: 6.25, cacheWrite1h: 10, cacheRead: 0.5, contextWindow: CLAUDE_1M },
    'claude-opus-4-8': { input: 5, output: 25, cacheWrite5m: 6.25, cacheWrite1h: 10, cacheRead: 0.5, contextWindow: CLAUDE_1M },
    'claude-opus-4-7': { input: 5, output: 25, cacheWrite5m: 6.25, cacheWrite1h: 10, cacheRead: 0.5, contextWindow: CLAUDE_1M },
    'claude-opus-4-6': { input: 5, output: 25, cacheWrite5m: 6.25, cacheWrite1h: 10, cacheRead: 0.5, contextWindow: CLAUDE_1M },
    'claude-opus-4-5': { input: 5, output: 25, cacheWrite5m: 6.25, cacheWrite1h: 10, cacheRead: 0.5, contextWindow: K200 },
    'claude-opus-4-1': { input: 15, output: 75, cacheWrite5m: 18.75, cacheWrite1h: 30, cacheRead: 1.5, contextWindow: K200 },
    'claude-opus-4': { input: 15, output: 75, cacheWrite5m: 18.75, cacheWrite1h: 30, cacheRead: 1.5, contextWindow: K200 },
    'claude-sonnet-4-6': { input: 3, output: 15, cacheWrite5m: 3.75, cacheWrite1h: 6, cacheRead: 0.3, contextWindow: CLAUDE_1M },
    'claude-sonnet-4-5': {
      input: 3, output: 15, cacheWrite5m: 3.75, cacheWrite1h: 6, cacheRead: 0.3, contextWindow: K200,
      longContext: { thresholdTokens: K200, input: 6, output: 22.5, cacheWrite5m: 7.5, cacheWrite1h: 12, cacheRead: 0.6 },
    },
    'claude-sonnet-4': {
      input: 3, output: 15, cacheWrite5m: 3.75, cacheWrite1h: 6, cacheRead: 0.3, contextWindow: K200,
      longContext: { thresholdTokens: K200, input: 6, output: 22.5, cacheWrite5m: 7.5, cacheWrite1h: 12, cacheRead: 0.6 },
    },
    'claude-3-7-sonnet': { input: 3, output: 15, cacheWrite5m: 3.75, cacheWrite1h: 6, cacheRead: 0.3, contextWindow: K200 },
    'claude-3-5-sonnet': { input: 3, output: 15, cacheWrite5m: 3.75, cacheWrite1h: 6, cacheRead: 0.3, contextWindow: K200 },
    'claude-haiku-4-5': { input: 1, output: 5, cacheWrite5m: 1.25, cacheWrite1h: 2, cacheRead: 0.1, contextWindow: K200 },
    'claude-3-5-haiku': { input: 0.8, output: 4, cacheWrite5m: 1, cacheWrite1h: 1.6, cacheRead: 0.08, contextWindow: K200 },
    // Haiku 3: the pricing page rounds the cache rates ($0.30 / $0.50 / $0.03), so not exactly 1.25x/2x/0.1x.
    'claude-3-haiku': { input: 0.25, output: 1.25, cacheWrite5m: 0.3, cacheWrite1h: 0.5, cacheRead: 0.03, contextWindow: K200 },
    'claude-3-opus': { input: 15, output: 75, cacheWrite5m: 18.75, cacheWrite1h: 30, cacheRead: 1.5, contextWindow: K200 },

    // ---- OpenAI (no cache-write charge: writes = input; cached input as documented) ----
    'gpt-5.5': {
      input: 5, output: 30, cacheWrite5m: 5, cacheWrite1h: 5, cacheRead: 0.5, contextWindow: 1_050_000,
      longContext: { thresholdTokens: 272_000, input: 10, output: 45, cacheWrite5m: 10, cacheWrite1h: 10, cacheRead: 1 },
    },
    'gpt-5.4': {
      input: 2.5, output: 15, cacheWrite5m: 2.5, cacheWrite1h: 2.5, cacheRead: 0.25, contextWindow: 1_050_000,
      longContext: { thresholdTokens: 272_000, input: 5, output: 22.5, cacheWrite5m: 5, cacheWrite1h: 5, cacheRead: 0.5 },
    },
    'gpt-5.4-mini': { input: 0.75, output: 4.5, cacheWrite5m: 0.75, cacheWrite1h: 0.75, cacheRead: 0.075, contextWindow: 400_000 },
    'gpt-5.4-nano': { input: 0.2, output: 1.25, cacheWrite5m: 0.2, cacheWrite1h: 0.2, cacheRead: 0.02 },
    'gpt-5.3-codex': { input: 1.75, output: 14, cacheWrite5m: 1.75, cacheWrite1h: 1.75, cacheRead: 0.175, contextWindow: 400_000 },
    'gpt-5.2': { input: 1.75, output: 14, cacheWrite5m: 1.75, cacheWrite1h: 1.75, cacheRead: 0.175, contextWindow: 400_000 },
    'gpt-5.2-codex': { input: 1.75, output: 14, cacheWrite5m: 1.75, cacheWrite1h: 1.75, cacheRead: 0.175, contextWindow: 400_000 },
    'gpt-5.1': { input: 1.25, output: 10, cacheWrite5m: 1.25, cacheWrite1h: 1.25, cacheRead: 0.125, contextWindow: 400_000 },
    'gpt-5.1-codex': { input: 1.25, output: 10, cacheWrite5m: 1.25, cacheWrite1h: 1.25, cacheRead: 0.125, contextWindow: 400_000 },
    'gpt-5.1-codex-max': { input: 1.25, output: 10, cacheWrite5m: 1.25, cacheWrite1h: 1.25, cacheRead: 0.125, contextWindow: 400_000 },
    'gpt-5.1-codex-mini': { input: 0.25, output: 2, cacheWrite5m: 0.25, cacheWrite1h: 0.25, cacheRead: 0.025, contextWindow: 400_000 },
    'gpt-5': { input: 1.25, output: 10, cacheWrite5m: 1.25, cacheWrite1h: 1.25, cacheRead: 0.125, contextWindow: 400_000 },
    'gpt-5-codex': { input: 1.25, output: 10, cacheWrite5m: 1.25, cacheWrite1h: 1.25, cacheRead: 0.125, contextWindow: 400_000 },
    'gpt-5-mini': { input: 0.25, output: 2, cacheWrite5m: 0.25, cacheWrite1h: 0.25, cacheRead: 0.025, contextWindow: 400_000 },
    'codex-mini-latest': { input: 1.5, output: 6, cacheWrite5m: 1.5, cacheWrite1h: 1.5, cacheRead: 0.375, contextWindow: 200_000 },
    'gpt-4.1': { input: 2, output: 8, cacheWrite5m: 2, cacheWrite1h: 2, cacheRead: 0.5, contextWindow: 1_047_576 },
    'gpt-4o': { input: 2.5, output: 10, cacheWrite5m: 2.5, cacheWrite1h: 2.5, cacheRead: 1.25, contextWindow: 128_000 },
    'gpt-4o-mini': { input: 0.15, output: 0.6, cacheWrite5m: 0.15, cacheWrite1h: 0.15, cacheRead: 0.075, contextWindow: 128_000 },
    // o3 after the June 2025 price cut (was $10/$40).
    'o3': { input: 2, output: 8, cacheWrite5m: 2, cacheWrite1h: 2, cacheRead: 0.5, contextWindow: 200_000 },
    'o4-mini': { input: 1.1, output: 4.4, cacheWrite5m: 1.1, cacheWrite1h: 1.1, cacheRead: 0.275, contextWindow: 200_000 },

    // ---- Google Gemini (no cache-write charge; cached = context caching price) ----
    'gemini-3.1-pro-preview': {
      input: 2, output: 12, cacheWrite5m: 2, cacheWrite1h: 2, cacheRead: 0.2, contextWindow: GEMINI_WINDOW,
      longContext: { thresholdTokens: K200, input: 4, output: 18, cacheWrite5m: 4, cacheWrite1h: 4, cacheRead: 0.4 },
    },
    'gemini-3-pro-preview': {
      input: 2, output: 12, cacheWrite5m: 2, cacheWrite1h: 2, cacheRead: 0.2, contextWindow: GEMINI_WINDOW,
      longContext: { thresholdTokens: K200, input: 4, output: 18, cacheWrite5m: 4, cacheWrite1h: 4, cacheRead: 0.4 },
    },
    'gemini-3-flash-preview': { input: 0.5, output: 3, cacheWrite5m: 0.5, cacheWrite1h: 0.5, cacheRead: 0.05, contextWindow: GEMINI_WINDOW },
    'gemini-2.5-pro': {
      input: 1.25, output: 10, cacheWrite5m: 1.25, cacheWrite1h: 1.25, cacheRead: 0.125, contextWindow: GEMINI_WINDOW,
      longContext: { thresholdTokens: K200, input: 2.5, output: 15, cacheWrite5m: 2.5, cacheWrite1h: 2.5, cacheRead: 0.25 },
    },
    'gemini-2.5-flash': { input: 0.3, output: 2.5, cacheWrite5m: 0.3, cacheWrite1h: 0.3, cacheRead: 0.03, contextWindow: GEMINI_WINDOW },
    'gemini-2.5-flash-lite': { input: 0.1, output: 0.4, cacheWrite5m: 0.1, cacheWrite1h: 0.1, cacheRead: 0.01, contextWindow: GEMINI_WINDOW },
  },
});

// ---------------------------------------------------------------------------------------
// Model-id normalisation
// ---------------------------------------------------------------------------------------

/** Routing/provider prefixes that never change the model or its price. */
const PROVIDER_PREFIXES: readonly string[] = Object.freeze([
  'openrouter/', 'anthropic/', 'openai/', 'google/', 'gemini/', 'vertex_ai/', 'bedrock/', 'models/',
]);

/**
 * Spellings that are the same model under another name (checked after normalisation).
 * Each is documented by the provider as the same model/endpoint at the same price.
 */
const ALIASES: Readonly<Record<string, string>> = Object.freeze({
  // Vertex AI names Claude 3.5 Sonnet (Oct 2024) `claude-3-5-sonnet-v2@20241022`.
  'claude-3-5-sonnet-v2': 'claude-3-5-sonnet',
  // Anthropic's own aliases for the first Claude 4 models.
  'claude-sonnet-4-0': 'claude-sonnet-4',
  'claude-opus-4-0': 'claude-opus-4',
  // `codex-mini-latest` after `-latest` has been stripped.
  'codex-mini': 'codex-mini-latest',
  // Google lists `gemini-3.1-pro-preview-customtools` as a version/endpoint of Gemini 3.1 Pro
  // Preview on the same model card (ai.google.dev/gemini-api/docs/models/gemini-3.1-pro-preview);
  // the pricing page has one "Gemini 3.1 Pro Preview" row for it, and resellers (OpenRouter)
  // bill it identically ($2/$12, $4/$18 above 200K).
  'gemini-3.1-pro-preview-customtools': 'gemini-3.1-pro-preview',
});

/** Dated snapshots billed differently from the undated alias: never strip their date. */
const KEEP_DATED: ReadonlySet<string> = Object.freeze(new Set(['gpt-4o-2024-05-13']));

const ONE_M_SUFFIX = /\s*\[1m\]$/;
const BEDROCK_CLAUDE = /^(?:(?:us|eu|apac|ap|jp|au|ca|global|us-gov)\.)?anthropic\.(claude-.+)$/;
const BEDROCK_VERSION = /-v\d+(?::\d+)?$/;
const VERTEX_VERSION = /@(?:\d{8}|latest)$/;
const DATE_SUFFIX = /-(?:\d{8}|\d{4}-\d{2}-\d{2})$/;

/** True when the logged id carries Claude Code's `[1m]` (1M-context variant) suffix. */
export function hasOneMillionSuffix(model: string | null | undefined): boolean {
  return typeof model === 'string' && ONE_M_SUFFIX.test(model.trim().toLowerCase());
}

/**
 * Conservative normalisation of a logged model id (no table lookup):
 * lowercase; drop a `[1m]` suffix; strip provider prefixes (`anthropic/`, `openai/`,
 * `openrouter/…`, `google/`, `gemini/`, `vertex_ai/`, `bedrock/`, `models/`); Roo/Cline/Kilo and
 * OpenRouter's `:thinking` suffix on Claude ids (same model, same price — the suffix only
 * turns extended thinking on); Bedrock forms (`us.anthropic.claude-…-v1:0`); Vertex
 * `@20250514`; OpenRouter's dotted Claude versions (`claude-sonnet-4.5`); date suffixes
 * (`-20250929`, `-2025-08-07`) and `-latest`.
 */
export function normalizeModelId(raw: string): string {
  let s = raw.trim().toLowerCase().replace(ONE_M_SUFFIX, '');
  for (let changed = true; changed;) {
    changed = false;
    for (const p of PROVIDER_PREFIXES) {
      if (s.startsWith(p)) {
        s = s.slice(p.length);
        changed = true;
      }
    }
  }
  if (s.endsWith(':thinking') && s.includes('claude-')) s = s.slice(0, -':thinking'.length);
  const bedrock = BEDROCK_CLAUDE.exec(s);
  if (bedrock) s = bedrock[1]!.replace(BEDROCK_VERSION, '');
  s = s.replace(VERTEX_VERSION, '');
  if (s.startsWith('claude-')) s = s.replace(/(\d)\.(\d)/g, '$1-$2');
  if (!KEEP_DATED.has(s)) s = s.replace(DATE_SUFFIX, '');
  s = s.replace(/-latest$/, '');
  return s;
}

// ---------------------------------------------------------------------------------------
// Pricer
// ---------------------------------------------------------------------------------------

/** Rates in pico-USD per token (USD/MTok × 1e6), integers, for exact arithmetic. */
interface PicoRates {
  input: number;
  output: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  cacheRead: number;
}

interface Compiled {
  base: PicoRates;
  long?: PicoRates;
  threshold: number;
}

function toPico(r: Rates): PicoRates {
  return {
    input: Math.round(r.input * 1e6),
    output: Math.round(r.output * 1e6),
    cacheWrite5m: Math.round(r.cacheWrite5m * 1e6),
    cacheWrite1h: Math.round(r.cacheWrite1h * 1e6),
    cacheRead: Math.round(r.cacheRead * 1e6),
  };
}

function isRate(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

function isCompleteRates(r: Partial<Rates> | undefined): r is Rates {
  return !!r && RATE_KEYS.every((k) => isRate(r[k]));
}

/** Cache-rate multipliers of input, as the provider bills them. */
interface CacheRatios { cacheWrite5m: number; cacheWrite1h: number; cacheRead: number }

const ANTHROPIC_RATIOS: CacheRatios = Object.freeze({ cacheWrite5m: 1.25, cacheWrite1h: 2, cacheRead: 0.1 });
/** OpenAI/Google: no write charge (writes billed as input); cached input at 0.1x unless given. */
const DEFAULT_RATIOS: CacheRatios = Object.freeze({ cacheWrite5m: 1, cacheWrite1h: 1, cacheRead: 0.1 });

function familyRatios(canonicalId: string): CacheRatios {
  return canonicalId.startsWith('claude-') ? ANTHROPIC_RATIOS : DEFAULT_RATIOS;
}

/** The row's own cache/input ratios (so an override keeps e.g. gpt-4o's 0.5x cached rate). */
function rowRatios(r: Rates, fallback: CacheRatios): CacheRatios {
  if (!(r.input > 0)) return fallback;
  return { cacheWrite5m: r.cacheWrite5m / r.input, cacheWrite1h: r.cacheWrite1h / r.input, cacheRead: r.cacheRead / r.input };
}

/** Applies a partial override to `base` (or builds from scratch); cache rates not given follow a changed input. */
function mergeRates(base: Rates | undefined, patch: Partial<Rates>, ratios: CacheRatios): Partial<Rates> {
  const out: Partial<Rates> = base ? { ...base } : {};
  for (const k of RATE_KEYS) if (isRate(patch[k])) out[k] = patch[k];
  if (isRate(patch.input)) {
    for (const k of ['cacheWrite5m', 'cacheWrite1h', 'cacheRead'] as const) {
      if (!isRate(patch[k])) out[k] = patch.input * ratios[k];
    }
  }
  return out;
}

function pickRates(r: Rates): Rates {
  return { input: r.input, output: r.output, cacheWrite5m: r.cacheWrite5m, cacheWrite1h: r.cacheWrite1h, cacheRead: r.cacheRead };
}

/** Upper bound of memoised raw ids per Pricer (distinct ids are few; this only guards pathological input). */
const RESOLVE_CACHE_LIMIT = 10_000;

export class Pricer {
  /** Effective prices after overrides: canonical id -> price. */
  private readonly prices = new Map<string, ModelPrice>();
  private readonly compiled = new Map<string, Compiled>();
  /** normalised id -> canonical id. */
  private readonly index = new Map<string, string>();
  /** raw logged id -> canonical id (or undefined), memoised per instance. */
  private readonly resolved = new Map<string, string | undefined>();
  /** Overrides that were ignored, with the reason (for the settings UI / CLI warnings). */
  readonly warnings: readonly string[];
  readonly asOf: string;
  readonly sources: readonly string[];

  constructor(table: PriceTable = BUNDLED_PRICES, overrides: PriceOverrides = {}) {
    const warnings: string[] = [];
    this.asOf = table.asOf;
    this.sources = [...table.sources];

    for (const [id, row] of Object.entries(table.models)) {
      if (!isCompleteRates(row)) {
        warnings.push(`price table: ${id} has missing or invalid rates; left unpriced`);
        continue;
      }
      const price: ModelPrice = { ...pickRates(row) };
      if (row.longContext && isCompleteRates(row.longContext) && isRate(row.longContext.thresholdTokens)) {
        price.longContext = { thresholdTokens: row.longContext.thresholdTokens, ...pickRates(row.longContext) };
      }
      if (row.contextWindow !== undefined) price.contextWindow = row.contextWindow;
      this.prices.set(id, price);
      this.index.set(id, id);
    }
    for (const id of [...this.prices.keys()]) {
      const n = normalizeModelId(id);
      if (!this.index.has(n)) this.index.set(n, id);
    }

    for (const [key, patch] of Object.entries(overrides)) {
      if (!patch || typeof patch !== 'object') {
        warnings.push(`override ${key}: not an object; ignored`);
        continue;
      }
      for (const k of RATE_KEYS) {
        if (patch[k] !== undefined && !isRate(patch[k])) warnings.push(`override ${key}: ${k} must be a non-negative number; ignored`);
      }
      const existing = this.lookup(normalizeModelId(key));
      const canonical = existing ?? normalizeModelId(key);
      if (!canonical) {
        warnings.push(`override ${JSON.stringify(key)}: empty model id; ignored`);
        continue;
      }
      const before = this.prices.get(canonical);
      const ratios = before ? rowRatios(before, familyRatios(canonical)) : familyRatios(canonical);
      const merged = mergeRates(before, patch, ratios);
      if (!isCompleteRates(merged)) {
        warnings.push(`override ${key}: a new model needs at least input and output rates; ignored`);
        continue;
      }
      const price: ModelPrice = { ...pickRates(merged) };
      if (before?.contextWindow !== undefined) price.contextWindow = before.contextWindow;

      const lc = patch.longContext;
      if (lc !== undefined) {
        const threshold = isRate(lc?.thresholdTokens) ? lc.thresholdTokens : before?.longContext?.thresholdTokens;
        if (threshold === undefined) {
          warnings.push(`override ${key}: longContext needs thresholdTokens; long-context tier ignored`);
          if (before?.longContext) price.longContext = before.longContext;
        } else {
          const lcBase: Rates = before?.longContext ? pickRates(before.longContext) : pickRates(merged);
          const lcMerged = mergeRates(lcBase, lc, rowRatios(lcBase, ratios));
          if (isCompleteRates(lcMerged)) price.longContext = { thresholdTokens: threshold, ...pickRates(lcMerged) };
        }
      } else if (before?.longContext) {
        price.longContext = before.longContext;
      }

      this.prices.set(canonical, price);
      if (!this.index.has(canonical)) this.index.set(canonical, canonical);
    }

    for (const [id, p] of this.prices) {
      const c: Compiled = { base: toPico(p), threshold: Infinity };
      if (p.longContext) {
        c.long = toPico(p.longContext);
        c.threshold = p.longContext.thresholdTokens;
      }
      this.compiled.set(id, c);
    }
    this.warnings = Object.freeze(warnings);
  }

  private lookup(normalized: string): string | undefined {
    return this.index.get(normalized) ?? (ALIASES[normalized] !== undefined ? this.index.get(ALIASES[normalized]!) : undefined);
  }

  /** Canonical table id for a logged model id, or undefined when unknown (NEVER fuzzy-match an unknown id to a price). */
  resolve(model: string | null | undefined): string | undefined {
    if (typeof model !== 'string') return undefined;
    const hit = this.resolved.get(model);
    if (hit !== undefined || this.resolved.has(model)) return hit;
    const id = model.trim() === '' ? undefined : this.lookup(normalizeModelId(model));
    if (this.resolved.size >= RESOLVE_CACHE_LIMIT) this.resolved.clear();
    this.resolved.set(model, id);
    return id;
  }

  /** Effective price (after overrides) of a logged model id, or undefined when unpriced. */
  priceOf(model: string | null | undefined): Readonly<ModelPrice> | undefined {
    const id = this.resolve(model);
    return id === undefined ? undefined : this.prices.get(id);
  }

  /** Canonical ids this Pricer can price (bundled + override-only models). */
  models(): string[] {
    return [...this.prices.keys()];
  }

  /** Context window of a logged model id (1M for Claude ids with `[1m]`), undefined when unknown. */
  contextWindow(model: string | null | undefined): number | undefined {
    const id = this.resolve(model);
    if (id === undefined) return undefined;
    if (id.startsWith('claude-') && hasOneMillionSuffix(model)) return CLAUDE_1M;
    return this.prices.get(id)?.contextWindow;
  }

  /**
   * The rates a request of `model` is charged at, as a string equal for two models (or two Pricers)
   * exactly when they charge alike; null when unpriced. A stored rollup is checked against it.
   */
  rateKey(model: string | null | undefined): string | null {
    const id = this.resolve(model);
    const c = id === undefined ? undefined : this.compiled.get(id);
    if (c === undefined) return null;
    return JSON.stringify([c.base, c.long ?? null, c.long !== undefined ? c.threshold : null]);
  }

  /** Cost in integer nano-USD (1e-9 $), rounded once per request; null when the model is unpriced (unknown or null). */
  priceNanos(model: string | null | undefined, tokens: TokenCounts): number | null {
    const id = this.resolve(model);
    if (id === undefined) return null;
    const c = this.compiled.get(id);
    if (c === undefined) return null;
    const promptTokens = tokens.input + tokens.cacheWrite5m + tokens.cacheWrite1h + tokens.cacheRead;
    const r = c.long !== undefined && promptTokens > c.threshold ? c.long : c.base;
    // reasoning ⊂ output: not added again.
    const pico =
      tokens.input * r.input +
      tokens.output * r.output +
      tokens.cacheWrite5m * r.cacheWrite5m +
      tokens.cacheWrite1h * r.cacheWrite1h +
      tokens.cacheRead * r.cacheRead;
    if (Number.isSafeInteger(pico)) return roundPicoToNano(pico);
    return exactNanos(tokens, r);
  }
}

/** pico -> nano, half up (costs are never negative). */
function roundPicoToNano(pico: number): number {
  return Math.floor((pico + 500) / 1000);
}

/** Exact path for huge counts (beyond 2^53 pico-USD, i.e. > $9,000 in one request). */
function exactNanos(t: TokenCounts, r: PicoRates): number {
  const big = (n: number): bigint => BigInt(Math.round(n));
  const pico =
    big(t.input) * big(r.input) +
    big(t.output) * big(r.output) +
    big(t.cacheWrite5m) * big(r.cacheWrite5m) +
    big(t.cacheWrite1h) * big(r.cacheWrite1h) +
    big(t.cacheRead) * big(r.cacheRead);
  return Number((pico + 500n) / 1000n);
}

/**
 * Context window of a logged model id in the bundled table (or `table`): 1,000,000 for Claude
 * ids carrying the `[1m]` suffix, else the row's documented window; undefined when unknown.
 */
export function contextWindowFor(model: string | null | undefined, table: PriceTable = BUNDLED_PRICES): number | undefined {
  if (typeof model !== 'string') return undefined;
  const n = normalizeModelId(model);
  const id = table.models[n] !== undefined ? n : ALIASES[n] !== undefined && table.models[ALIASES[n]!] !== undefined ? ALIASES[n] : undefined;
  if (id === undefined) return undefined;
  if (id.startsWith('claude-') && hasOneMillionSuffix(model)) return CLAUDE_1M;
  return table.models[id]!.contextWindow;
}
