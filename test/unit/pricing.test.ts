import * as assert from 'node:assert/strict';
import type { TokenCounts } from '../../src/core/events';
import {
  BUNDLED_PRICES,
  Pricer,
  contextWindowFor,
  hasOneMillionSuffix,
  normalizeModelId,
  type PriceTable,
} from '../../src/core/pricing';

function tok(t: Partial<TokenCounts>): TokenCounts {
  return { input: 0, output: 0, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 0, reasoning: 0, ...t };
}

// Rates in the table are USD per 1M tokens, so nano-USD per token = rate × 1000.

describe('pricing: exact nano-USD per request', () => {
  const p = new Pricer();

  it('Sonnet 4.5, 5-minute cache write and cache read', () => {
    // input   1,000 × 3,000 (=$3/M)     =   3,000,000
    // output    500 × 15,000 (=$15/M)   =   7,500,000
    // cw5m    2,000 × 3,750 (=$3.75/M)  =   7,500,000
    // read   10,000 × 300 (=$0.30/M)    =   3,000,000
    //                                   =  21,000,000 nano-USD ($0.021)
    assert.equal(p.priceNanos('claude-sonnet-4-5-20250929', tok({ input: 1000, output: 500, cacheWrite5m: 2000, cacheRead: 10000 })), 21_000_000);
  });

  it('Opus 4.5 with a 1-hour cache write; reasoning is not billed twice', () => {
    // input      10 × 5,000 (=$5/M)     =      50,000
    // output    200 × 25,000 (=$25/M)   =   5,000,000   (reasoning 150 is inside these 200)
    // cw1h    5,000 × 10,000 (=$10/M)   =  50,000,000
    // read   20,000 × 500 (=$0.50/M)    =  10,000,000
    //                                   =  65,050,000
    assert.equal(
      p.priceNanos('claude-opus-4-5-20251101', tok({ input: 10, output: 200, reasoning: 150, cacheWrite1h: 5000, cacheRead: 20000 })),
      65_050_000,
    );
  });

  it('Sonnet 4.5 above 200K input incl. cache: the WHOLE request at long-context rates', () => {
    // prompt = 1,000 + 50,000 + 150,000 = 201,000 > 200,000 -> $6 / $22.50 / 5m $7.50 / read $0.60
    // input    1,000 × 6,000   =   6,000,000
    // output   2,000 × 22,500  =  45,000,000
    // cw5m    50,000 × 7,500   = 375,000,000
    // read   150,000 × 600     =  90,000,000
    //                          = 516,000,000
    assert.equal(
      p.priceNanos('claude-sonnet-4-5', tok({ input: 1000, output: 2000, cacheWrite5m: 50000, cacheRead: 150000 })),
      516_000_000,
    );
  });

  it('Sonnet 4.5 at exactly 200K input incl. cache: standard rates', () => {
    // prompt = 1,000 + 49,000 + 150,000 = 200,000 (not above) -> $3 / $15 / $3.75 / $0.30
    // input    1,000 × 3,000   =   3,000,000
    // output   2,000 × 15,000  =  30,000,000
    // cw5m    49,000 × 3,750   = 183,750,000
    // read   150,000 × 300     =  45,000,000
    //                          = 261,750,000
    assert.equal(
      p.priceNanos('claude-sonnet-4-5', tok({ input: 1000, output: 2000, cacheWrite5m: 49000, cacheRead: 150000 })),
      261_750_000,
    );
  });

  it('Sonnet 4.5 long context with a 1-hour write uses the scaled 1h rate ($12)', () => {
    // prompt = 0 + 0 + 250,000 (1h writes) > 200,000
    // cw1h 250,000 × 12,000 = 3,000,000,000; output 100 × 22,500 = 2,250,000 -> 3,002,250,000
    assert.equal(p.priceNanos('claude-sonnet-4-5', tok({ output: 100, cacheWrite1h: 250000 })), 3_002_250_000);
  });

  it('Opus 4.6 / Sonnet 4.6 have no long-context tier (full 1M at standard rates)', () => {
    // Opus 4.6: 300,000 input × 5,000 = 1,500,000,000; 1,000 output × 25,000 = 25,000,000
    assert.equal(p.priceNanos('claude-opus-4-6', tok({ input: 300000, output: 1000 })), 1_525_000_000);
    // Sonnet 4.6: 300,000 × 3,000 = 900,000,000; 1,000 × 15,000 = 15,000,000
    assert.equal(p.priceNanos('claude-sonnet-4-6', tok({ input: 300000, output: 1000 })), 915_000_000);
  });

  it('GPT-5 with cached input; reasoning inside output', () => {
    // input   5,000 × 1,250 (=$1.25/M)   =  6,250,000
    // read   20,000 × 125 (=$0.125/M)    =  2,500,000
    // output  1,000 × 10,000 (=$10/M)    = 10,000,000   (reasoning 800 inside)
    //                                    = 18,750,000
    assert.equal(p.priceNanos('gpt-5', tok({ input: 5000, cacheRead: 20000, output: 1000, reasoning: 800 })), 18_750_000);
  });

  it('OpenAI has no cache-write charge: tokens reported as writes are billed as input', () => {
    // 1,000 × 1,250 + 1,000 × 1,250 = 2,500,000
    assert.equal(p.priceNanos('gpt-5-codex', tok({ cacheWrite5m: 1000, cacheWrite1h: 1000 })), 2_500_000);
  });

  it('GPT-5.4 above 272K input incl. cached: whole request at 2x input / 1.5x output', () => {
    // prompt = 100,000 + 180,000 = 280,000 > 272,000 -> $5 / cached $0.50 / $22.50
    // input  100,000 × 5,000  = 500,000,000
    // read   180,000 × 500    =  90,000,000
    // output   5,000 × 22,500 = 112,500,000
    //                         = 702,500,000
    assert.equal(p.priceNanos('gpt-5.4', tok({ input: 100000, cacheRead: 180000, output: 5000 })), 702_500_000);
    // at exactly 272,000: 92,000 × 2,500 + 180,000 × 250 + 5,000 × 15,000 = 230,000,000 + 45,000,000 + 75,000,000
    assert.equal(p.priceNanos('gpt-5.4', tok({ input: 92000, cacheRead: 180000, output: 5000 })), 350_000_000);
  });

  it('Gemini 2.5 Pro above 200K prompt: $2.50 / $15 / cached $0.25', () => {
    // prompt = 150,000 + 60,000 = 210,000 > 200,000
    // input  150,000 × 2,500 = 375,000,000
    // read    60,000 × 250   =  15,000,000
    // output   1,000 × 15,000 = 15,000,000
    //                        = 405,000,000
    assert.equal(p.priceNanos('gemini-2.5-pro', tok({ input: 150000, cacheRead: 60000, output: 1000 })), 405_000_000);
    // below: 150,000 × 1,250 + 10,000 × 125 + 1,000 × 10,000 = 187,500,000 + 1,250,000 + 10,000,000
    assert.equal(p.priceNanos('gemini-2.5-pro', tok({ input: 150000, cacheRead: 10000, output: 1000 })), 198_750_000);
  });

  it('Gemini 3 Pro preview above 200K: $4 / $18', () => {
    // 250,000 × 4,000 = 1,000,000,000; 2,000 × 18,000 = 36,000,000
    assert.equal(p.priceNanos('gemini-3-pro-preview', tok({ input: 250000, output: 2000 })), 1_036_000_000);
  });

  it('Gemini 3 Flash preview and Haiku 4.5 base rates', () => {
    // 10,000 × 500 + 40,000 × 50 + 2,000 × 3,000 = 5,000,000 + 2,000,000 + 6,000,000
    assert.equal(p.priceNanos('gemini-3-flash-preview', tok({ input: 10000, cacheRead: 40000, output: 2000 })), 13_000_000);
    // Haiku 4.5: 3 × 1,000 + 10 × 5,000 + 100 × 1,250 + 1,000 × 100 = 3,000 + 50,000 + 125,000 + 100,000
    assert.equal(p.priceNanos('claude-haiku-4-5-20251001', tok({ input: 3, output: 10, cacheWrite5m: 100, cacheRead: 1000 })), 278_000);
  });

  it('zero tokens cost 0 for a priced model (not null)', () => {
    assert.equal(p.priceNanos('gpt-4o-mini', tok({})), 0);
  });

  it('rounds once per request, half up', () => {
    // Override rates of $0.0005/M = 0.5 nano-USD per token.
    const q = new Pricer(BUNDLED_PRICES, { 'tiny-model': { input: 0.0005, output: 0.0005 } });
    // 1 × 0.5 + 1 × 0.5 = 1.0 -> 1 (rounding per token type would give 1 + 1 = 2)
    assert.equal(q.priceNanos('tiny-model', tok({ input: 1, output: 1 })), 1);
    // 1 × 0.5 = 0.5 -> 1 (half up); 3 × 0.5 = 1.5 -> 2
    assert.equal(q.priceNanos('tiny-model', tok({ input: 1 })), 1);
    assert.equal(q.priceNanos('tiny-model', tok({ input: 3 })), 2);
  });

  it('stays exact for huge counts (BigInt path)', () => {
    // 2,000,000,000,000 tokens × 75,000,000 pico ($75/M Opus 4.1 output) = 1.5e20 pico -> 150,000,000,000,000,000 nano
    const n = p.priceNanos('claude-opus-4-1', tok({ output: 2_000_000_000_000 }));
    assert.equal(n, 150_000_000_000_000_000);
  });
});

describe('pricing: model id spellings', () => {
  const p = new Pricer();
  const cases: Array<[string, string]> = [
    // Claude, as logged by Claude Code / the API
    ['claude-3-5-sonnet-20240620', 'claude-3-5-sonnet'],
    ['claude-3-5-sonnet-20241022', 'claude-3-5-sonnet'],
    ['claude-3-5-sonnet-latest', 'claude-3-5-sonnet'],
    ['claude-3-7-sonnet-20250219', 'claude-3-7-sonnet'],
    ['claude-3-5-haiku-20241022', 'claude-3-5-haiku'],
    ['claude-3-haiku-20240307', 'claude-3-haiku'],
    ['claude-3-opus-20240229', 'claude-3-opus'],
    ['claude-sonnet-4-20250514', 'claude-sonnet-4'],
    ['claude-sonnet-4-0', 'claude-sonnet-4'],
    ['claude-opus-4-20250514', 'claude-opus-4'],
    ['claude-opus-4-1-20250805', 'claude-opus-4-1'],
    ['claude-sonnet-4-5', 'claude-sonnet-4-5'],
    ['claude-sonnet-4-5-20250929', 'claude-sonnet-4-5'],
    ['claude-haiku-4-5-20251001', 'claude-haiku-4-5'],
    ['claude-opus-4-5-20251101', 'claude-opus-4-5'],
    ['claude-opus-4-6', 'claude-opus-4-6'],
    ['claude-sonnet-4-6', 'claude-sonnet-4-6'],
    ['claude-opus-4-7', 'claude-opus-4-7'],
    ['claude-opus-4-8', 'claude-opus-4-8'],
    ['claude-opus-5', 'claude-opus-5'],
    ['Claude-Sonnet-4-5-20250929', 'claude-sonnet-4-5'],
    // [1m] variant -> same row
    ['claude-sonnet-4-5-20250929[1m]', 'claude-sonnet-4-5'],
    ['claude-opus-4-6[1m]', 'claude-opus-4-6'],
    ['claude-sonnet-4[1M]', 'claude-sonnet-4'],
    // provider prefixes, OpenRouter dots
    ['anthropic/claude-sonnet-4.5', 'claude-sonnet-4-5'],
    ['anthropic/claude-opus-4.6', 'claude-opus-4-6'],
    ['anthropic/claude-3.5-sonnet', 'claude-3-5-sonnet'],
    ['anthropic/claude-3.7-sonnet:thinking', 'claude-3-7-sonnet'],
    ['openrouter/anthropic/claude-sonnet-4.5', 'claude-sonnet-4-5'],
    ['claude-3-7-sonnet-20250219:thinking', 'claude-3-7-sonnet'],
    // Bedrock
    ['anthropic.claude-sonnet-4-5-20250929-v1:0', 'claude-sonnet-4-5'],
    ['us.anthropic.claude-sonnet-4-20250514-v1:0', 'claude-sonnet-4'],
    ['eu.anthropic.claude-3-7-sonnet-20250219-v1:0', 'claude-3-7-sonnet'],
    ['global.anthropic.claude-opus-4-5-20251101-v1:0', 'claude-opus-4-5'],
    ['anthropic.claude-3-5-sonnet-20241022-v2:0', 'claude-3-5-sonnet'],
    ['bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0', 'claude-haiku-4-5'],
    // Vertex
    ['claude-sonnet-4@20250514', 'claude-sonnet-4'],
    ['vertex_ai/claude-opus-4-1@20250805', 'claude-opus-4-1'],
    ['claude-3-5-sonnet-v2@20241022', 'claude-3-5-sonnet'],
    ['claude-3-7-sonnet@20250219:thinking', 'claude-3-7-sonnet'],
    // OpenAI / Codex
    ['gpt-5', 'gpt-5'],
    ['gpt-5-2025-08-07', 'gpt-5'],
    ['gpt-5-codex', 'gpt-5-codex'],
    ['gpt-5.1', 'gpt-5.1'],
    ['gpt-5.1-codex', 'gpt-5.1-codex'],
    ['gpt-5.1-codex-max', 'gpt-5.1-codex-max'],
    ['gpt-5.1-codex-mini', 'gpt-5.1-codex-mini'],
    ['gpt-5-mini', 'gpt-5-mini'],
    ['gpt-5-mini-2025-08-07', 'gpt-5-mini'],
    ['gpt-5.2', 'gpt-5.2'],
    ['gpt-5.2-codex', 'gpt-5.2-codex'],
    ['gpt-5.3-codex', 'gpt-5.3-codex'],
    ['gpt-5.4', 'gpt-5.4'],
    ['gpt-5.4-mini', 'gpt-5.4-mini'],
    ['gpt-5.5', 'gpt-5.5'],
    ['gpt-4o', 'gpt-4o'],
    ['gpt-4o-2024-08-06', 'gpt-4o'],
    ['gpt-4o-mini', 'gpt-4o-mini'],
    ['gpt-4o-mini-2024-07-18', 'gpt-4o-mini'],
    ['o3', 'o3'],
    ['o3-2025-04-16', 'o3'],
    ['o4-mini', 'o4-mini'],
    ['gpt-4.1', 'gpt-4.1'],
    ['gpt-4.1-2025-04-14', 'gpt-4.1'],
    ['codex-mini-latest', 'codex-mini-latest'],
    ['openai/gpt-5', 'gpt-5'],
    ['openrouter/openai/gpt-5.1-codex', 'gpt-5.1-codex'],
    // Gemini
    ['gemini-2.5-pro', 'gemini-2.5-pro'],
    ['gemini-2.5-flash', 'gemini-2.5-flash'],
    ['gemini-2.5-flash-lite', 'gemini-2.5-flash-lite'],
    ['gemini-3-pro-preview', 'gemini-3-pro-preview'],
    ['gemini-3-flash-preview', 'gemini-3-flash-preview'],
    ['gemini-3.1-pro-preview', 'gemini-3.1-pro-preview'],
    ['gemini-3.1-pro-preview-customtools', 'gemini-3.1-pro-preview'],
    ['models/gemini-2.5-pro', 'gemini-2.5-pro'],
    ['google/gemini-2.5-flash', 'gemini-2.5-flash'],
    ['gemini/gemini-2.5-flash-lite', 'gemini-2.5-flash-lite'],
    ['vertex_ai/gemini-2.5-pro', 'gemini-2.5-pro'],
  ];
  for (const [raw, want] of cases) {
    it(`${raw} -> ${want}`, () => {
      assert.equal(p.resolve(raw), want);
      assert.ok(want in BUNDLED_PRICES.models, `${want} is a table row`);
      assert.notEqual(p.priceNanos(raw, tok({ input: 1000, output: 1000 })), null);
    });
  }

  it('every bundled row resolves to itself', () => {
    for (const id of Object.keys(BUNDLED_PRICES.models)) assert.equal(p.resolve(id), id);
  });

  it('never fuzzy-matches unknown ids', () => {
    const unknown = [
      'claude-sonnet-4-5-turbo', 'claude-sonnet', 'claude-4-sonnet', 'claude-opus-4-9', 'claude-sonnet-5', 'claude-opus-5-5',
      'gpt-5.6-sol', 'gpt-5-nano', 'gpt-5.1-codex-maxx', 'gpt-55', 'gpt-4o-2024-05-13', 'chatgpt-4o-latest', 'o3-mini', 'o1',
      'gemini-2.5-pro-preview-06-05', 'gemini-2.5-flash-preview-05-20', 'gemini-3.1-flash-lite-preview', 'gemini-flash-latest',
      'x-ai/grok-code-fast-1', 'glm-4.7-free', 'big-pickle', 'grok-code', 'azure/gpt-5', 'anthropic/claude-sonnet-4.5-extended',
      'claude-sonnet-4-5-thinking', 'gpt-5:thinking',
    ];
    for (const id of unknown) {
      assert.equal(p.resolve(id), undefined, id);
      assert.equal(p.priceNanos(id, tok({ input: 1000 })), null, id);
    }
  });

  it('null, undefined, empty and <synthetic> are unpriced', () => {
    for (const m of [null, undefined, '', '   ', '<synthetic>']) {
      assert.equal(p.resolve(m), undefined);
      assert.equal(p.priceNanos(m, tok({ input: 1000, output: 10 })), null);
    }
  });

  it('normalizeModelId strips only the known decorations', () => {
    assert.equal(normalizeModelId('  US.Anthropic.Claude-Sonnet-4-5-20250929-v1:0[1m] '), 'claude-sonnet-4-5');
    assert.equal(normalizeModelId('gpt-4o-2024-05-13'), 'gpt-4o-2024-05-13');
    assert.equal(normalizeModelId('x-ai/grok-code-fast-1'), 'x-ai/grok-code-fast-1');
    assert.equal(normalizeModelId('gpt-5.1-codex'), 'gpt-5.1-codex');
  });
});

describe('pricing: context windows', () => {
  it('[1m] Claude ids get 1M, others their documented window', () => {
    assert.equal(contextWindowFor('claude-sonnet-4-5-20250929'), 200_000);
    assert.equal(contextWindowFor('claude-sonnet-4-5-20250929[1m]'), 1_000_000);
    assert.equal(contextWindowFor('claude-opus-4-6'), 1_000_000);
    assert.equal(contextWindowFor('claude-haiku-4-5-20251001'), 200_000);
    assert.equal(contextWindowFor('gpt-5-codex'), 400_000);
    assert.equal(contextWindowFor('gpt-5.4'), 1_050_000);
    assert.equal(contextWindowFor('gemini-2.5-pro'), 1_048_576);
    assert.equal(contextWindowFor('gemini-3.1-pro-preview-customtools'), 1_048_576);
    assert.equal(contextWindowFor('unknown-model[1m]'), undefined);
    assert.equal(contextWindowFor(null), undefined);
    assert.equal(hasOneMillionSuffix('claude-sonnet-4-5[1m]'), true);
    assert.equal(hasOneMillionSuffix('claude-sonnet-4-5'), false);
    const p = new Pricer();
    assert.equal(p.contextWindow('claude-sonnet-4[1m]'), 1_000_000);
    assert.equal(p.contextWindow('claude-sonnet-4'), 200_000);
    assert.equal(p.contextWindow('<synthetic>'), undefined);
  });
});

describe('pricing: overrides', () => {
  it('prices a new model only via override (cache read derived at 0.1x, writes = input)', () => {
    const p = new Pricer(BUNDLED_PRICES, { 'x-ai/grok-code-fast-1': { input: 0.2, output: 1.5 } });
    assert.equal(p.resolve('x-ai/grok-code-fast-1'), 'x-ai/grok-code-fast-1');
    assert.equal(p.resolve('openrouter/x-ai/grok-code-fast-1'), 'x-ai/grok-code-fast-1');
    // input 1,000 × 200 = 200,000; output 1,000 × 1,500 = 1,500,000;
    // read 1,000 × 20 ($0.02 = 0.1 × $0.20) = 20,000; cw5m 1,000 × 200 = 200,000 -> 1,920,000
    assert.equal(p.priceNanos('x-ai/grok-code-fast-1', tok({ input: 1000, output: 1000, cacheRead: 1000, cacheWrite5m: 1000 })), 1_920_000);
    assert.deepEqual(p.warnings, []);
    // the bundled table and a default Pricer are untouched
    assert.equal(BUNDLED_PRICES.models['x-ai/grok-code-fast-1'], undefined);
    assert.equal(new Pricer().priceNanos('x-ai/grok-code-fast-1', tok({ input: 1000 })), null);
  });

  it('a new Claude-named model derives Anthropic cache rates (1.25x / 2x / 0.1x)', () => {
    const p = new Pricer(BUNDLED_PRICES, { 'claude-next': { input: 4, output: 20 } });
    // cw5m 1,000 × 5,000 + cw1h 1,000 × 8,000 + read 1,000 × 400 = 5,000,000 + 8,000,000 + 400,000
    assert.equal(p.priceNanos('claude-next', tok({ cacheWrite5m: 1000, cacheWrite1h: 1000, cacheRead: 1000 })), 13_400_000);
  });

  it("overriding an existing model's input derives its cache rates; output and long context kept", () => {
    // raw (dated) id as the key: applies to the canonical row, i.e. every spelling
    const p = new Pricer(BUNDLED_PRICES, { 'claude-sonnet-4-5-20250929': { input: 2 } });
    const price = p.priceOf('anthropic/claude-sonnet-4.5');
    assert.ok(price);
    assert.equal(price.input, 2);
    assert.equal(price.output, 15);
    assert.equal(price.cacheWrite5m, 2.5);
    assert.equal(price.cacheWrite1h, 4);
    assert.ok(Math.abs(price.cacheRead - 0.2) < 1e-12);
    // input 1,000 × 2,000 + output 100 × 15,000 + cw5m 1,000 × 2,500 + cw1h 1,000 × 4,000 + read 10,000 × 200
    // = 2,000,000 + 1,500,000 + 2,500,000 + 4,000,000 + 2,000,000 = 12,000,000
    assert.equal(
      p.priceNanos('claude-sonnet-4-5', tok({ input: 1000, output: 100, cacheWrite5m: 1000, cacheWrite1h: 1000, cacheRead: 10000 })),
      12_000_000,
    );
    // long-context tier unchanged: 250,000 × 6,000 = 1,500,000,000
    assert.equal(p.priceNanos('claude-sonnet-4-5', tok({ input: 250000 })), 1_500_000_000);
    // the other Pricer still has list prices: 1,000 × 3,000
    assert.equal(new Pricer().priceNanos('claude-sonnet-4-5', tok({ input: 1000 })), 3_000_000);
  });

  it("an OpenAI override keeps the model's own cached ratio unless given", () => {
    const p = new Pricer(BUNDLED_PRICES, { 'gpt-4o': { input: 2 }, 'gpt-5': { input: 1, cacheRead: 0.05 } });
    // gpt-4o cached is 0.5x input: 2 -> 1.00 ($/M) -> 1,000 × 1,000 = 1,000,000
    assert.equal(p.priceNanos('gpt-4o', tok({ cacheRead: 1000 })), 1_000_000);
    // gpt-5 cached as given: 1,000 × 50 = 50,000; writes = new input 1,000 × 1,000
    assert.equal(p.priceNanos('gpt-5', tok({ cacheRead: 1000, cacheWrite5m: 1000 })), 1_050_000);
  });

  it('overrides the long-context tier, or adds one to a new model', () => {
    const p = new Pricer(BUNDLED_PRICES, {
      'gemini-2.5-pro': { longContext: { thresholdTokens: 100_000, input: 3 } },
      'my-model': { input: 1, output: 2, longContext: { thresholdTokens: 10, input: 10, output: 20 } },
    });
    // 150,000 > 100,000 -> input $3 (cached derived from the old tier's ratio 0.1 -> $0.30): 150,000 × 3,000
    assert.equal(p.priceNanos('gemini-2.5-pro', tok({ input: 150000 })), 450_000_000);
    // my-model: 11 > 10 -> 11 × 10,000 + 1 × 20,000 = 130,000; at 10: 10 × 1,000 + 1 × 2,000 = 12,000
    assert.equal(p.priceNanos('my-model', tok({ input: 11, output: 1 })), 130_000);
    assert.equal(p.priceNanos('my-model', tok({ input: 10, output: 1 })), 12_000);
  });

  it('ignores an override that cannot price a new model, and says why', () => {
    const p = new Pricer(BUNDLED_PRICES, { 'half-priced': { input: 1 }, 'bad': { input: -1, output: 2 } });
    assert.equal(p.resolve('half-priced'), undefined);
    assert.equal(p.priceNanos('half-priced', tok({ input: 1 })), null);
    assert.equal(p.priceNanos('bad', tok({ input: 1 })), null);
    assert.ok(p.warnings.some((w) => w.includes('half-priced')));
    assert.ok(p.warnings.some((w) => w.includes('bad') && w.includes('input')));
  });
});

describe('pricing: memoisation', () => {
  it('resolve() results do not leak between Pricer instances', () => {
    const withOverride = new Pricer(BUNDLED_PRICES, { 'foo-model': { input: 1, output: 1 } });
    const plain = new Pricer();
    assert.equal(withOverride.resolve('foo-model'), 'foo-model');
    assert.equal(plain.resolve('foo-model'), undefined);
    assert.equal(withOverride.resolve('foo-model'), 'foo-model');
    assert.equal(plain.resolve('foo-model'), undefined);

    const custom: PriceTable = {
      asOf: '2026-01-01',
      sources: [],
      models: { 'claude-sonnet-4-5': { input: 1, output: 1, cacheWrite5m: 1, cacheWrite1h: 1, cacheRead: 1 } },
    };
    const a = new Pricer(custom);
    const b = new Pricer();
    assert.equal(a.resolve('gpt-5'), undefined);
    assert.equal(b.resolve('gpt-5'), 'gpt-5');
    // same raw id, different tables: 1,000 × 1,000 vs 1,000 × 3,000
    assert.equal(a.priceNanos('claude-sonnet-4-5-20250929', tok({ input: 1000 })), 1_000_000);
    assert.equal(b.priceNanos('claude-sonnet-4-5-20250929', tok({ input: 1000 })), 3_000_000);
    assert.equal(a.priceNanos('claude-sonnet-4-5-20250929', tok({ input: 1000 })), 1_000_000);
  });

  it('repeated lookups (hits and misses) give the same answer', () => {
    const p = new Pricer();
    for (let i = 0; i < 3; i++) {
      assert.equal(p.resolve('claude-opus-4-6'), 'claude-opus-4-6');
      assert.equal(p.resolve('<synthetic>'), undefined);
    }
  });
});

describe('pricing: bundled table', () => {
  it('is dated, sourced, frozen and complete', () => {
    assert.match(BUNDLED_PRICES.asOf, /^\d{4}-\d{2}-\d{2}$/);
    assert.ok(BUNDLED_PRICES.sources.length > 0);
    assert.ok(Object.isFrozen(BUNDLED_PRICES));
    assert.ok(Object.isFrozen(BUNDLED_PRICES.models['gpt-5']));
    for (const [id, m] of Object.entries(BUNDLED_PRICES.models)) {
      for (const k of ['input', 'output', 'cacheWrite5m', 'cacheWrite1h', 'cacheRead'] as const) {
        assert.ok(Number.isFinite(m[k]) && m[k] >= 0, `${id}.${k}`);
      }
      if (id.startsWith('claude-') && id !== 'claude-3-haiku') {
        // Anthropic: 5m = 1.25x, 1h = 2x, read = 0.1x input
        assert.ok(Math.abs(m.cacheWrite5m - 1.25 * m.input) < 1e-9, id);
        assert.ok(Math.abs(m.cacheWrite1h - 2 * m.input) < 1e-9, id);
        assert.ok(Math.abs(m.cacheRead - 0.1 * m.input) < 1e-9, id);
      } else if (!id.startsWith('claude-')) {
        // OpenAI / Google: no write charge
        assert.equal(m.cacheWrite5m, m.input, id);
        assert.equal(m.cacheWrite1h, m.input, id);
      }
    }
  });
});
