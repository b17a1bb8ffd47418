import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { runBilled } from '../../src/cli/billed';
import { AnthropicClient } from '../../src/sources/providers/anthropic';
import { backoffDelay, parseRetryAfter, ProviderError, type HttpOptions } from '../../src/sources/providers/http';
import { OpenAIClient } from '../../src/sources/providers/openai';
import { OpenRouterClient } from '../../src/sources/providers/openrouter';
import { ProviderPoller, type PollerState } from '../../src/sources/providers/poller';
import { decimalToPico, picoToDollars, sumUSD, type BilledDay, type BillingClient, type DayRange } from '../../src/sources/providers/types';
import { REPO_ROOT } from './helpers';

const ANTHROPIC_KEY = 'sk-ant-admin01-SECRET-abcdefghijklmnop';
const OPENAI_KEY = 'sk-admin-SECRET-qrstuvwxyz0123456789';
const OPENROUTER_KEY = 'sk-or-v1-SECRET-0123456789abcdef';
const ALL_KEYS = [ANTHROPIC_KEY, OPENAI_KEY, OPENROUTER_KEY];

interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
}
type Handler = (req: Seen, res: http.ServerResponse) => void;

/** A loopback server whose behaviour each test sets with `handle`. */
class TestServer {
  readonly seen: Seen[] = [];
  private handler: Handler = (_q, res) => { res.statusCode = 404; res.end(); };
  private readonly server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const s: Seen = { method: req.method ?? '', path: u.pathname, query: u.searchParams, headers: req.headers };
    this.seen.push(s);
    this.handler(s, res);
  });
  private readonly hanging = new Set<http.ServerResponse>();
  url = '';
  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }
  handle(h: Handler): void {
    this.seen.length = 0;
    this.handler = h;
  }
  hang(res: http.ServerResponse): void {
    this.hanging.add(res);
  }
  async close(): Promise<void> {
    for (const r of this.hanging) r.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function json(res: http.ServerResponse, body: unknown, status = 200, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Injected clock/sleep/random: backoff waits are recorded, not slept. */
function fakeHttp(nowMs: number, extra: Partial<HttpOptions> = {}): HttpOptions & { sleeps: number[] } {
  const sleeps: number[] = [];
  return { sleeps, sleep: async (ms) => { sleeps.push(ms); }, random: () => 0.5, now: () => nowMs, timeoutMs: 2_000, baseDelayMs: 1_000, maxDelayMs: 60_000, ...extra };
}

const messages: string[] = [];
async function rejects(p: Promise<unknown>, kind: ProviderError['kind']): Promise<ProviderError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ProviderError, `expected ProviderError, got ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    messages.push(e.message, String(e.stack));
    return e;
  }
  assert.fail(`expected a ${kind} error`);
}

const NOW = Date.parse('2025-01-05T12:00:00Z');
const RANGE: DayRange = { since: '2025-01-01', until: '2025-01-04' };

// -- Anthropic bodies, shaped like the documented responses (extra fields included on purpose)
function aUsageResult(o: { in: number; out: number; cw5: number; cw1: number; cr: number }) {
  return {
    uncached_input_tokens: o.in,
    cache_creation: { ephemeral_5m_input_tokens: o.cw5, ephemeral_1h_input_tokens: o.cw1 },
    cache_read_input_tokens: o.cr,
    output_tokens: o.out,
    server_tool_use: { web_search_requests: 0 },
    api_key_id: null, workspace_id: null, model: null, service_tier: null, context_window: null,
  };
}
function aBucket(day: string, results: unknown[]) {
  const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().replace('.000', '');
  return { starting_at: `${day}T00:00:00Z`, ending_at: next, results };
}
function aCost(amount: string, extra: Record<string, unknown> = {}) {
  return { currency: 'USD', amount, workspace_id: null, description: null, cost_type: null, context_window: null, model: null, service_tier: null, token_type: null, ...extra };
}

/** Usage over three pages, cost over two. */
function anthropicHappy(s: TestServer): void {
  s.handle((q, res) => {
    if (q.path === '/v1/organizations/usage_report/messages') {
      const page = q.query.get('page');
      if (page === null) return json(res, { data: [aBucket('2025-01-01', [aUsageResult({ in: 100, out: 200, cw5: 10, cw1: 5, cr: 1000 }), aUsageResult({ in: 1, out: 2, cw5: 0, cw1: 0, cr: 0 })])], has_more: true, next_page: 'page_MjAyNS0wMS0wMg==' });
      if (page === 'page_MjAyNS0wMS0wMg==') return json(res, { data: [aBucket('2025-01-02', [aUsageResult({ in: 7, out: 8, cw5: 9, cw1: 1, cr: 11 })])], has_more: true, next_page: 'page_3' });
      if (page === 'page_3') return json(res, { data: [aBucket('2025-01-03', []), aBucket('2025-01-04', [aUsageResult({ in: 5, out: 5, cw5: 0, cw1: 0, cr: 0 })])], has_more: false, next_page: null });
    }
    if (q.path === '/v1/organizations/cost_report') {
      const page = q.query.get('page');
      if (page === null) return json(res, { data: [aBucket('2025-01-01', [aCost('123.4567'), aCost('0.1', { cost_type: 'tokens' })]), aBucket('2025-01-02', [aCost('0.2')])], has_more: true, next_page: 'cost_p2' });
      if (page === 'cost_p2') return json(res, { data: [aBucket('2025-01-03', []), aBucket('2025-01-04', [aCost('50')])], has_more: false, next_page: null });
    }
    json(res, { type: 'error', error: { type: 'not_found_error', message: 'nope' } }, 404);
  });
}

describe('provider billing clients', () => {
  let server: TestServer;
  before(async () => { server = await new TestServer().start(); });
  after(async () => {
    await server.close();
    for (const m of messages) for (const k of ALL_KEYS) assert.ok(!m.includes(k), `a key leaked into: ${m}`);
  });

  describe('money and retry helpers', () => {
    it('parses cents as decimal strings exactly', () => {
      assert.equal(picoToDollars(decimalToPico('123.4567', 2)), 1.234567);
      assert.equal(picoToDollars(decimalToPico('0.1', 2) + decimalToPico('0.2', 2)), 0.003); // 0.001 + 0.002 in floats is 0.0030000000000000005
      assert.equal(picoToDollars(decimalToPico('-5', 2)), -0.05);
      assert.equal(picoToDollars(decimalToPico('0.00000000000049', 2)), 0); // below a picodollar: rounded
      assert.equal(sumUSD([0.1, 0.2, null]), 0.3);
      assert.equal(sumUSD([null]), null);
      assert.throws(() => decimalToPico('1e5', 2));
      assert.throws(() => decimalToPico('12,5', 2));
    });
    it('reads Retry-After as seconds or an HTTP date, and backs off exponentially with jitter', () => {
      assert.equal(parseRetryAfter('7', NOW), 7000);
      assert.equal(parseRetryAfter(new Date(NOW + 12_000).toUTCString(), NOW), 12_000);
      assert.equal(parseRetryAfter(new Date(NOW - 5_000).toUTCString(), NOW), 0);
      assert.equal(parseRetryAfter('soon', NOW), undefined);
      assert.equal(parseRetryAfter(null, NOW), undefined);
      const o = { baseDelayMs: 1000, maxDelayMs: 5000 };
      assert.deepEqual([0, 1, 2, 3, 4].map((n) => backoffDelay(n, o, () => 1)), [1000, 2000, 4000, 5000, 5000]);
      assert.deepEqual([0, 1, 2].map((n) => backoffDelay(n, o, () => 0)), [500, 1000, 2000]);
    });
  });

  describe('Anthropic', () => {
    const client = (extra: Partial<HttpOptions> = {}) => {
      const h = fakeHttp(NOW, extra);
      return { h, c: new AnthropicClient({ apiKey: ANTHROPIC_KEY, baseUrl: server.url + '/', ...h }) };
    };

    it('follows pagination on both reports, sends the documented headers and query, sums exactly', async () => {
      anthropicHappy(server);
      const { c, h } = client();
      const days = await c.fetchDays(RANGE);
      assert.deepEqual(h.sleeps, []);
      assert.deepEqual(server.seen.map((s) => `${s.path}?${s.query.get('page') ?? ''}`), [
        '/v1/organizations/usage_report/messages?',
        '/v1/organizations/usage_report/messages?page_MjAyNS0wMS0wMg==',
        '/v1/organizations/usage_report/messages?page_3',
        '/v1/organizations/cost_report?',
        '/v1/organizations/cost_report?cost_p2',
      ]);
      for (const s of server.seen) {
        assert.equal(s.method, 'GET');
        assert.equal(s.headers['x-api-key'], ANTHROPIC_KEY);
        assert.equal(s.headers['anthropic-version'], '2023-06-01');
        assert.equal(s.headers['authorization'], undefined);
        assert.equal(s.query.get('starting_at'), '2025-01-01T00:00:00.000Z');
        assert.equal(s.query.get('ending_at'), '2025-01-05T00:00:00.000Z');
        assert.equal(s.query.get('bucket_width'), '1d');
        assert.equal(s.query.get('limit'), '31');
      }
      assert.deepEqual(days, [
        // 123.4567 + 0.1 cents = $1.235567
        { date: '2025-01-01', costUSD: 1.235567, inputTokens: 101, outputTokens: 202, cacheCreationTokens: 15, cacheReadTokens: 1000, final: true },
        { date: '2025-01-02', costUSD: 0.002, inputTokens: 7, outputTokens: 8, cacheCreationTokens: 10, cacheReadTokens: 11, final: true },
        // now = Jan 5 12:00Z: Jan 3 ends Jan 4 00:00Z, + 48 h lag = Jan 6 → not final
        { date: '2025-01-03', costUSD: 0, inputTokens: 0, outputTokens: 0, cacheCreationTokens: 0, cacheReadTokens: 0, final: false },
        { date: '2025-01-04', costUSD: 0.5, inputTokens: 5, outputTokens: 5, cacheCreationTokens: 0, cacheReadTokens: 0, final: false },
      ]);
    });

    it('"123.4567" cents is exactly $1.234567', async () => {
      server.handle((q, res) => {
        if (q.path.endsWith('/messages')) return json(res, { data: [], has_more: false, next_page: null });
        json(res, { data: [aBucket('2025-01-02', [aCost('123.4567')])], has_more: false, next_page: null });
      });
      const days = await client().c.fetchDays({ since: '2025-01-02', until: '2025-01-02' });
      assert.equal(days.length, 1);
      assert.equal(days[0]!.costUSD, 1.234567);
      assert.equal(days[0]!.inputTokens, null); // no usage bucket for that day: unknown, not 0
    });

    it('401 is an auth error naming the provider and the command, never retried, key not in the text', async () => {
      server.handle((_q, res) => json(res, { type: 'error', error: { type: 'authentication_error', message: `invalid x-api-key ${ANTHROPIC_KEY}` } }, 401));
      const { c, h } = client();
      const e = await rejects(c.fetchDays(RANGE), 'auth');
      assert.equal(server.seen.length, 1);
      assert.deepEqual(h.sleeps, []);
      assert.equal(e.provider, 'anthropic');
      assert.equal(e.status, 401);
      assert.match(e.message, /Anthropic/);
      assert.match(e.message, /Agent Spend: Set Provider Key/);
      assert.ok(!e.message.includes(ANTHROPIC_KEY));
    });

    it('403 is an auth error too', async () => {
      server.handle((_q, res) => json(res, { type: 'error', error: { type: 'permission_error' } }, 403));
      const e = await rejects(client().c.fetchDays(RANGE), 'auth');
      assert.equal(e.status, 403);
      assert.equal(server.seen.length, 1);
    });

    it('429 honours Retry-After in seconds, then succeeds', async () => {
      let n = 0;
      server.handle((q, res) => {
        if (n++ === 0) return json(res, { type: 'error', error: { type: 'rate_limit_error' } }, 429, { 'retry-after': '3' });
        json(res, { data: [aBucket('2025-01-01', q.path.endsWith('/messages') ? [aUsageResult({ in: 1, out: 1, cw5: 0, cw1: 0, cr: 0 })] : [aCost('1')])], has_more: false, next_page: null });
      });
      const { c, h } = client();
      const days = await c.fetchDays({ since: '2025-01-01', until: '2025-01-01' });
      assert.deepEqual(h.sleeps, [3000]);
      assert.equal(server.seen.length, 3);
      assert.equal(days[0]!.costUSD, 0.01);
    });

    it('429 honours Retry-After as an HTTP date against the injected clock', async () => {
      let n = 0;
      server.handle((_q, res) => {
        if (n++ === 0) return json(res, {}, 429, { 'retry-after': new Date(NOW + 8_000).toUTCString() });
        json(res, { data: [], has_more: false, next_page: null });
      });
      const { c, h } = client();
      assert.deepEqual(await c.fetchDays(RANGE), []);
      assert.deepEqual(h.sleeps, [8000]);
    });

    it('a Retry-After longer than the in-process cap is not slept: rate-limited error with the wait', async () => {
      server.handle((_q, res) => json(res, {}, 429, { 'retry-after': '3600' }));
      const { c, h } = client();
      const e = await rejects(c.fetchDays(RANGE), 'rate-limited');
      assert.equal(e.retryAfterMs, 3_600_000);
      assert.deepEqual(h.sleeps, []);
      assert.equal(server.seen.length, 1);
    });

    it('500 then success: exponential backoff with jitter through the injected sleep', async () => {
      let n = 0;
      server.handle((_q, res) => {
        if (n++ < 2) return json(res, { type: 'error', error: { type: 'api_error' } }, 500);
        json(res, { data: [], has_more: false, next_page: null });
      });
      const { c, h } = client();
      await c.fetchDays(RANGE);
      // random() = 0.5 → factor 0.75: 1000·0.75, 2000·0.75
      assert.deepEqual(h.sleeps, [750, 1500]);
      assert.equal(server.seen.length, 4); // 3 for usage, 1 for cost
    });

    it('5xx that never recovers gives up after maxRetries with a server error', async () => {
      server.handle((_q, res) => json(res, {}, 503));
      const { c, h } = client({ maxRetries: 3 });
      const e = await rejects(c.fetchDays(RANGE), 'server');
      assert.equal(e.status, 503);
      assert.deepEqual(h.sleeps, [750, 1500, 3000]);
      assert.equal(server.seen.length, 4);
    });

    it('a hanging response is aborted by the timeout', async () => {
      server.handle((_q, res) => server.hang(res));
      const { c, h } = client({ timeoutMs: 150, maxRetries: 1 });
      const t0 = Date.now();
      const e = await rejects(c.fetchDays(RANGE), 'timeout');
      assert.ok(Date.now() - t0 < 5_000);
      assert.match(e.message, /Anthropic: no answer/);
      assert.equal(server.seen.length, 2);
      assert.deepEqual(h.sleeps, [750]);
    });

    it('a body that stalls after the headers is aborted by the timeout too', async () => {
      server.handle((_q, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.write('{"data": ['); server.hang(res); });
      await rejects(client({ timeoutMs: 150, maxRetries: 0 }).c.fetchDays(RANGE), 'timeout');
    });

    it('malformed JSON is reported, not retried', async () => {
      server.handle((_q, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"data": [oops'); });
      const { c, h } = client();
      const e = await rejects(c.fetchDays(RANGE), 'malformed');
      assert.match(e.message, /did not return JSON/);
      assert.equal(server.seen.length, 1);
      assert.deepEqual(h.sleeps, []);
    });

    it('a response missing a required field names the field', async () => {
      server.handle((_q, res) => {
        const r = aUsageResult({ in: 1, out: 1, cw5: 0, cw1: 0, cr: 0 }) as Record<string, unknown>;
        delete r['output_tokens'];
        json(res, { data: [aBucket('2025-01-01', [r])], has_more: false, next_page: null });
      });
      const e = await rejects(client().c.fetchDays(RANGE), 'malformed');
      assert.match(e.message, /data\[0\]\.results\[0\]\.output_tokens/);
    });

    it('a cost amount that is a number, not a decimal string, is malformed', async () => {
      server.handle((q, res) => {
        if (q.path.endsWith('/messages')) return json(res, { data: [], has_more: false, next_page: null });
        json(res, { data: [aBucket('2025-01-01', [{ ...aCost('1'), amount: 12.5 }])], has_more: false, next_page: null });
      });
      const e = await rejects(client().c.fetchDays(RANGE), 'malformed');
      assert.match(e.message, /amount/);
    });

    it('has_more without next_page is malformed (no endless loop)', async () => {
      server.handle((_q, res) => json(res, { data: [], has_more: true, next_page: null }));
      await rejects(client().c.fetchDays(RANGE), 'malformed');
      assert.equal(server.seen.length, 1);
    });

    it('a refused connection is a network error', async () => {
      const dead = await new TestServer().start();
      const url = dead.url;
      await dead.close();
      const c = new AnthropicClient({ apiKey: ANTHROPIC_KEY, baseUrl: url, ...fakeHttp(NOW, { maxRetries: 1 }) });
      const e = await rejects(c.fetchDays(RANGE), 'network');
      assert.match(e.message, /Anthropic/);
    });
  });

  describe('OpenAI', () => {
    const client = (extra: Partial<HttpOptions> = {}) => {
      const h = fakeHttp(NOW, extra);
      return { h, c: new OpenAIClient({ apiKey: OPENAI_KEY, baseUrl: server.url, ...h }) };
    };
    const bucket = (day: string, results: unknown[]) => {
      const s = Date.parse(`${day}T00:00:00Z`) / 1000;
      return { object: 'bucket', start_time: s, end_time: s + 86400, results };
    };
    const usage = (input: number, cached: number, output: number) => ({
      object: 'organization.usage.completions.result', input_tokens: input, output_tokens: output, input_cached_tokens: cached,
      input_audio_tokens: 0, output_audio_tokens: 0, num_model_requests: 3, project_id: null, user_id: null, api_key_id: null, model: null, batch: null,
    });
    const cost = (value: number) => ({ object: 'organization.costs.result', amount: { value, currency: 'usd' }, line_item: null, project_id: null });

    it('Bearer auth, start_time in unix seconds, bucket_width/limit/page, dollars summed exactly', async () => {
      server.handle((q, res) => {
        const page = q.query.get('page');
        if (q.path === '/v1/organization/usage/completions') {
          if (page === null) return json(res, { object: 'page', data: [bucket('2025-01-01', [usage(1000, 800, 500)])], has_more: true, next_page: 'AAAAAGdGxdEiJdKOAAAAAGcqsYA=' });
          return json(res, { object: 'page', data: [bucket('2025-01-02', [usage(10, 0, 5), usage(20, 5, 5)])], has_more: false, next_page: null });
        }
        if (q.path === '/v1/organization/costs') {
          if (page === null) return json(res, { object: 'page', data: [bucket('2025-01-01', [cost(0.1), cost(0.2)])], has_more: true, next_page: 'c2' });
          return json(res, { object: 'page', data: [bucket('2025-01-02', [cost(0.06)])], has_more: false, next_page: null });
        }
        json(res, {}, 404);
      });
      const days = await client().c.fetchDays({ since: '2025-01-01', until: '2025-01-02' });
      assert.equal(server.seen.length, 4);
      for (const s of server.seen) {
        assert.equal(s.headers['authorization'], `Bearer ${OPENAI_KEY}`);
        assert.equal(s.query.get('start_time'), String(Date.parse('2025-01-01T00:00:00Z') / 1000));
        assert.equal(s.query.get('start_time'), '1735689600');
        assert.equal(s.query.get('end_time'), '1735862400');
        assert.equal(s.query.get('bucket_width'), '1d');
        assert.equal(s.query.get('limit'), '31');
      }
      assert.equal(server.seen[1]!.query.get('page'), 'AAAAAGdGxdEiJdKOAAAAAGcqsYA=');
      assert.equal(server.seen[3]!.query.get('page'), 'c2');
      assert.deepEqual(days, [
        { date: '2025-01-01', costUSD: 0.3, inputTokens: 200, outputTokens: 500, cacheCreationTokens: null, cacheReadTokens: 800, final: true },
        { date: '2025-01-02', costUSD: 0.06, inputTokens: 25, outputTokens: 10, cacheCreationTokens: null, cacheReadTokens: 5, final: true },
      ]);
    });

    it('401 names OpenAI and the command; a missing amount.value is malformed', async () => {
      server.handle((_q, res) => json(res, { error: { message: `Incorrect API key provided: ${OPENAI_KEY}` } }, 401));
      const e = await rejects(client().c.fetchDays(RANGE), 'auth');
      assert.match(e.message, /^OpenAI rejected the key/);
      assert.match(e.message, /Agent Spend: Set Provider Key/);
      server.handle((q, res) => {
        if (q.path.endsWith('/completions')) return json(res, { object: 'page', data: [], has_more: false, next_page: null });
        json(res, { object: 'page', data: [bucket('2025-01-01', [{ object: 'organization.costs.result', amount: { currency: 'usd' } }])], has_more: false, next_page: null });
      });
      const m = await rejects(client().c.fetchDays(RANGE), 'malformed');
      assert.match(m.message, /amount\.value/);
    });
  });

  describe('OpenRouter', () => {
    const client = (nowMs = NOW) => new OpenRouterClient({ apiKey: OPENROUTER_KEY, baseUrl: server.url, ...fakeHttp(nowMs) });
    const keyBody = { data: { label: 'sk-or-v1-au7...890', limit: 100, usage: 25.5, usage_daily: 1.25, usage_weekly: 7.5, usage_monthly: 20, byok_usage: 0, limit_remaining: 74.5, limit_reset: 'monthly', is_free_tier: false, rate_limit: { requests: 1000, interval: '1h' } } };

    it('/api/v1/key with Bearer auth: the current UTC day, no token counts, not final', async () => {
      server.handle((q, res) => (q.path === '/api/v1/key' ? json(res, keyBody) : json(res, {}, 404)));
      const days = await client().fetchDays({ since: '2025-01-01', until: '2025-01-05' });
      assert.equal(server.seen.length, 1);
      assert.equal(server.seen[0]!.headers['authorization'], `Bearer ${OPENROUTER_KEY}`);
      assert.deepEqual(days, [{ date: '2025-01-05', costUSD: 1.25, inputTokens: null, outputTokens: null, cacheCreationTokens: null, cacheReadTokens: null, final: false }]);
      const info = await client().fetchKey();
      assert.deepEqual(info, { usageUSD: 25.5, dailyUSD: 1.25, weeklyUSD: 7.5, monthlyUSD: 20, limitUSD: 100, limitRemainingUSD: 74.5 });
    });

    it('a range without today asks nothing; an old /key response without usage_daily gives a null cost', async () => {
      server.handle((_q, res) => json(res, { data: { label: 'x', limit: null, usage: 0.1015644762, is_provisioning_key: false, rate_limit: { requests: 50, interval: '10s' } } }));
      assert.deepEqual(await client().fetchDays({ since: '2025-01-01', until: '2025-01-02' }), []);
      assert.equal(server.seen.length, 0);
      const days = await client().fetchDays({ since: '2025-01-05', until: '2025-01-05' });
      assert.equal(days[0]!.costUSD, null);
    });

    it('/api/v1/credits: balance exact; a plain key gets 403 → auth', async () => {
      server.handle((_q, res) => json(res, { data: { total_credits: 100.5, total_usage: 25.75 } }));
      assert.deepEqual(await client().fetchCredits(), { totalCreditsUSD: 100.5, totalUsageUSD: 25.75, balanceUSD: 74.75 });
      assert.equal(server.seen[0]!.path, '/api/v1/credits');
      server.handle((_q, res) => json(res, { error: { code: 403, message: 'Only management keys can perform this operation' } }, 403));
      const e = await rejects(client().fetchCredits(), 'auth');
      assert.match(e.message, /OpenRouter/);
    });

    it('a /key response missing usage is malformed', async () => {
      server.handle((_q, res) => json(res, { data: { label: 'x', limit: null } }));
      const e = await rejects(client().fetchKey(), 'malformed');
      assert.match(e.message, /data\.usage/);
    });
  });

  describe('ProviderPoller', () => {
    class Clock {
      t = Date.parse('2025-01-10T12:00:00Z');
      timers: { fn: () => void; at: number; id: number }[] = [];
      private id = 0;
      deps = {
        now: () => this.t,
        setTimer: (fn: () => void, ms: number) => { const id = ++this.id; this.timers.push({ fn, at: this.t + ms, id }); return id; },
        clearTimer: (h: unknown) => { this.timers = this.timers.filter((x) => x.id !== h); },
        random: () => 0.5,
      };
      get nextDelay(): number | undefined { return this.timers.length ? this.timers[0]!.at - this.t : undefined; }
      async fire(): Promise<void> {
        const t = this.timers.shift();
        assert.ok(t, 'no timer scheduled');
        this.t = t.at;
        t.fn();
        await flush();
      }
    }
    const flush = () => new Promise<void>((r) => setImmediate(r));
    const day = (date: string, costUSD: number, final: boolean): BilledDay => ({ date, costUSD, inputTokens: 1, outputTokens: 1, cacheCreationTokens: 0, cacheReadTokens: 0, final });

    class FakeClient implements BillingClient {
      readonly provider = 'anthropic' as const;
      calls: DayRange[] = [];
      next: Array<(r: DayRange) => BilledDay[] | Error> = [];
      pending = 0;
      maxPending = 0;
      async fetchDays(r: DayRange): Promise<BilledDay[]> {
        this.calls.push(r);
        this.pending++;
        this.maxPending = Math.max(this.maxPending, this.pending);
        await flush();
        this.pending--;
        const f = this.next.shift();
        const v = f ? f(r) : [];
        if (v instanceof Error) throw v;
        return v;
      }
    }

    it('fetches the window, then only from the first non-final day; one request at a time', async () => {
      const clock = new Clock();
      const c = new FakeClient();
      c.next.push(() => [day('2025-01-07', 1, true), day('2025-01-08', 2, false), day('2025-01-10', 3, false)]);
      const p = new ProviderPoller(c, clock.deps, { windowDays: 4, intervalMs: 60_000 });
      p.start();
      await p.pollNow(); // coalesced with the poll start() began
      assert.equal(c.calls.length, 1);
      assert.equal(c.maxPending, 1);
      assert.deepEqual(c.calls[0], { since: '2025-01-07', until: '2025-01-10' });
      let s = p.state;
      assert.equal(s.status, 'ok');
      assert.deepEqual(s.days.map((d) => d.date), ['2025-01-07', '2025-01-08', '2025-01-10']);
      assert.equal(clock.nextDelay, 60_000);
      c.next.push(() => [day('2025-01-08', 2.5, true), day('2025-01-10', 4, false)]);
      await clock.fire();
      await p.pollNow();
      assert.deepEqual(c.calls[1], { since: '2025-01-08', until: '2025-01-10' }); // Jan 7 is final: not asked again
      s = p.state;
      assert.equal(s.days.find((d) => d.date === '2025-01-08')!.costUSD, 2.5);
      assert.equal(s.ageMs, 0);
      p.stop();
      assert.equal(clock.timers.length, 0);
    });

    it('offline or 5xx keeps the last good figures with their age, and backs off', async () => {
      const clock = new Clock();
      const c = new FakeClient();
      const states: PollerState[] = [];
      c.next.push(() => [day('2025-01-10', 3, false)]);
      const p = new ProviderPoller(c, clock.deps, { windowDays: 2, intervalMs: 60_000, retryBaseMs: 10_000 });
      p.onChange((s) => states.push(s));
      p.start();
      await p.pollNow();
      c.next.push(() => new ProviderError('anthropic', 'network', 'Anthropic: cannot reach api.anthropic.com (fetch failed: ECONNREFUSED)'));
      await clock.fire();
      let s = p.state;
      assert.equal(s.status, 'offline');
      assert.equal(s.days[0]!.costUSD, 3);
      assert.equal(s.ageMs, 60_000);
      assert.match(s.message!, /cannot reach/);
      assert.equal(clock.nextDelay, 7_500); // 10 s · 0.75
      c.next.push(() => new ProviderError('anthropic', 'server', 'Anthropic: server error (HTTP 500)', 500));
      await clock.fire();
      s = p.state;
      assert.equal(s.status, 'stale');
      assert.equal(s.ageMs, 67_500);
      assert.equal(clock.nextDelay, 15_000);
      c.next.push(() => new ProviderError('anthropic', 'rate-limited', 'Anthropic: rate limited', 429, 300_000));
      await clock.fire();
      assert.equal(clock.nextDelay, 300_000); // Retry-After beats the shorter backoff
      c.next.push(() => [day('2025-01-10', 5, false)]);
      await clock.fire();
      s = p.state;
      assert.equal(s.status, 'ok');
      assert.equal(s.message, null);
      assert.equal(s.days[0]!.costUSD, 5);
      assert.deepEqual(states.map((x) => x.status), ['ok', 'offline', 'stale', 'stale', 'ok']);
      p.stop();
    });

    it('an auth error pauses polling until keyChanged()', async () => {
      const clock = new Clock();
      const c = new FakeClient();
      c.next.push(() => new ProviderError('anthropic', 'auth', 'Anthropic rejected the key (HTTP 401). Run "Agent Spend: Set Provider Key"', 401));
      const p = new ProviderPoller(c, clock.deps);
      p.start();
      await p.pollNow();
      const s = p.state;
      assert.equal(s.status, 'auth-error');
      assert.equal(s.paused, true);
      assert.match(s.message!, /Set Provider Key/);
      assert.equal(clock.timers.length, 0);
      await p.pollNow();
      assert.equal(c.calls.length, 1); // paused: no request
      const c2 = new FakeClient();
      c2.next.push(() => [day('2025-01-10', 1, false)]);
      p.keyChanged(c2);
      await p.pollNow();
      assert.equal(c2.calls.length, 1);
      assert.equal(p.state.status, 'ok');
      assert.equal(p.state.paused, false);
      p.stop();
    });
  });

  describe('agent-spend billed', () => {
    const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
    const run = (args: string[], env: Record<string, string>) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
        });
      });
    before(() => assert.ok(fs.existsSync(CLI), `build the CLI first (${CLI})`));

    it('--json prints exactly the documented shape (spawned dist/cli.js)', async () => {
      anthropicHappy(server);
      const r = await run(['billed', '--provider', 'anthropic', '--base-url', server.url, '--since', '2025-01-01', '--until', '2025-01-04', '--json'], { ANTHROPIC_ADMIN_KEY: ANTHROPIC_KEY });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.equal(server.seen[0]!.headers['x-api-key'], ANTHROPIC_KEY);
      assert.deepEqual(JSON.parse(r.stdout), {
        provider: 'anthropic',
        days: [
          { date: '2025-01-01', costUSD: 1.235567, inputTokens: 101, outputTokens: 202, cacheCreationTokens: 15, cacheReadTokens: 1000 },
          { date: '2025-01-02', costUSD: 0.002, inputTokens: 7, outputTokens: 8, cacheCreationTokens: 10, cacheReadTokens: 11 },
          { date: '2025-01-03', costUSD: 0, inputTokens: 0, outputTokens: 0, cacheCreationTokens: 0, cacheReadTokens: 0 },
          { date: '2025-01-04', costUSD: 0.5, inputTokens: 5, outputTokens: 5, cacheCreationTokens: 0, cacheReadTokens: 0 },
        ],
        totalUSD: 1.737567,
      });
      assert.equal(r.stdout.trim().split('\n').length, 1);
    });

    it('exit 2 with one line for a missing key or bad arguments; exit 1 with the classified message on 401', async () => {
      let r = await run(['billed', '--provider', 'anthropic', '--json'], {});
      assert.equal(r.code, 2);
      assert.equal(r.stderr.trim().split('\n').length, 1);
      assert.match(r.stderr, /ANTHROPIC_ADMIN_KEY is not set/);
      r = await run(['billed', '--provider', 'gemini'], { ANTHROPIC_ADMIN_KEY: ANTHROPIC_KEY });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /--provider must be one of anthropic, openai, openrouter/);
      r = await run(['billed', '--provider', 'openai', '--since', '2025-02-30'], { OPENAI_ADMIN_KEY: OPENAI_KEY });
      assert.equal(r.code, 2);
      r = await run(['billed'], {});
      assert.equal(r.code, 2);
      assert.match(r.stderr, /--provider is required/);
      server.handle((_q, res) => json(res, { error: { message: `bad key ${OPENAI_KEY}` } }, 401));
      r = await run(['billed', '--provider', 'openai', '--base-url', server.url, '--json'], { OPENAI_ADMIN_KEY: OPENAI_KEY });
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /OpenAI rejected the key \(HTTP 401\)/);
      assert.match(r.stderr, /Agent Spend: Set Provider Key/);
      assert.match(r.stderr, /OPENAI_ADMIN_KEY/);
      assert.ok(!r.stderr.includes(OPENAI_KEY));
      messages.push(r.stderr);
    });

    it('OpenRouter through runBilled: token fields null, total from the day', async () => {
      server.handle((_q, res) => json(res, { data: { label: 'k', limit: null, usage: 3, usage_daily: 0.1, usage_weekly: 0.2, usage_monthly: 0.3 } }));
      const out: string[] = [];
      const err: string[] = [];
      const code = await runBilled(['--provider', 'openrouter', '--base-url', server.url, '--json'], { OPENROUTER_API_KEY: OPENROUTER_KEY }, (s) => out.push(s), (s) => err.push(s), fakeHttp(NOW));
      assert.equal(code, 0, err.join('\n'));
      assert.deepEqual(JSON.parse(out.join('')), {
        provider: 'openrouter',
        days: [{ date: '2025-01-05', costUSD: 0.1, inputTokens: null, outputTokens: null, cacheCreationTokens: null, cacheReadTokens: null }],
        totalUSD: 0.1,
      });
      out.length = 0;
      assert.equal(await runBilled(['--provider', 'openrouter', '--base-url', server.url], { OPENROUTER_API_KEY: OPENROUTER_KEY }, (s) => out.push(s), (s) => err.push(s), fakeHttp(NOW)), 0);
      assert.match(out.join('\n'), /2025-01-05\s+\$0\.10/);
    });
  });
});
