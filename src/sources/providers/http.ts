/**
 * A small, polite GET-JSON helper for the providers' billing endpoints.
 *
 * Everything that touches the outside world is injected (`fetch`, `sleep`, `random`,
 * `now`), so tests drive it against a loopback server with a recorded clock. No `vscode`.
 *
 * Behaviour:
 * - one request at a time (the caller awaits; this helper never fans out);
 * - a per-attempt timeout through `AbortController` that also covers reading the body;
 * - retries for 429 / 5xx / network / timeout with exponential backoff and jitter:
 *   delay(n) = min(maxDelayMs, baseDelayMs · 2ⁿ) · (0.5 + random() / 2)  ("equal jitter");
 * - `Retry-After` (delta-seconds or an HTTP date) overrides the backoff when present; a
 *   wait longer than `maxRetryAfterMs` is not slept through: the error is thrown with
 *   `retryAfterMs` so the poller can come back later instead of holding a request open;
 * - 401/403 → `auth`, never retried; other 4xx → `request`, never retried;
 * - a body that is not JSON, or fails the endpoint's zod schema → `malformed`.
 *
 * The key never appears in an error message or a log line: every message built here is
 * passed through `redact`, which removes the secret wherever it occurs.
 */
import type * as z from 'zod/mini';

export type ProviderId = 'anthropic' | 'openai' | 'openrouter';

export const PROVIDER_NAMES: Readonly<Record<ProviderId, string>> = {
  anthropic: 'Anthropic',
  openai: 'OpenAI',
  openrouter: 'OpenRouter',
};

/** The command the extension registers for entering a provider key. */
export const SET_KEY_COMMAND = 'Agent Spend: Set Provider Key';

export type ProviderErrorKind = 'auth' | 'rate-limited' | 'server' | 'network' | 'timeout' | 'malformed' | 'request';

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  constructor(
    readonly provider: ProviderId,
    readonly kind: ProviderErrorKind,
    message: string,
    /** HTTP status when there was a response. */
    readonly status?: number,
    /** For `rate-limited`: how long the provider asked us to wait (ms), when it said. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
  /** Worth trying again later (as opposed to a key or request that will keep failing). */
  get transient(): boolean {
    return this.kind === 'rate-limited' || this.kind === 'server' || this.kind === 'network' || this.kind === 'timeout';
  }
}

export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; signal: AbortSignal }) => Promise<{
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}>;

export interface HttpOptions {
  /** Defaults to the global `fetch`. */
  fetch?: FetchLike;
  /** Defaults to a real `setTimeout` wait. Backoff waits go through here (tests record them). */
  sleep?: (ms: number) => Promise<void>;
  /** Defaults to `Math.random`. */
  random?: () => number;
  /** Epoch ms; used to turn an HTTP-date `Retry-After` into a delay. Defaults to `Date.now`. */
  now?: () => number;
  /** Per-attempt timeout, headers and body included. Default 30 s. */
  timeoutMs?: number;
  /** Retries after the first attempt. Default 4 (five attempts in all). */
  maxRetries?: number;
  /** Default 1 s. */
  baseDelayMs?: number;
  /** Default 60 s. */
  maxDelayMs?: number;
  /** A `Retry-After` longer than this is not waited out in-process. Default 120 s. */
  maxRetryAfterMs?: number;
  /** Optional diagnostics (already redacted). */
  log?: (line: string) => void;
}

export interface Endpoint {
  provider: ProviderId;
  /** The secret sent in the headers; only used here to scrub it from messages. */
  secret: string;
  headers: Record<string, string>;
}

export function redact(text: string, secret: string): string {
  if (!secret || secret.length < 4) return text;
  return text.split(secret).join('[key]');
}

/** `Retry-After`: delta-seconds or an HTTP date. Returns ms ≥ 0, or undefined when absent/unparseable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

export function backoffDelay(attempt: number, opts: { baseDelayMs: number; maxDelayMs: number }, random: () => number): number {
  const capped = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** attempt);
  return Math.round(capped * (0.5 + random() / 2));
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * GET `url`, parse JSON, validate with `schema`. Retries transient failures as described
 * above; throws `ProviderError` otherwise.
 */
export async function getJson<S extends z.ZodMiniType>(ep: Endpoint, url: URL, schema: S, opts: HttpOptions = {}): Promise<z.infer<S>> {
  const fetchFn: FetchLike = opts.fetch ?? (globalThis.fetch as unknown as FetchLike);
  const sleep = opts.sleep ?? realSleep;
  const random = opts.random ?? Math.random;
  const now = opts.now ?? Date.now;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const maxRetries = opts.maxRetries ?? 4;
  const backoff = { baseDelayMs: opts.baseDelayMs ?? 1_000, maxDelayMs: opts.maxDelayMs ?? 60_000 };
  const maxRetryAfterMs = opts.maxRetryAfterMs ?? 120_000;
  const name = PROVIDER_NAMES[ep.provider];
  const where = url.pathname;

  for (let attempt = 0; ; attempt++) {
    let err: ProviderError;
    try {
      const text = await attemptOnce(fetchFn, ep, url, timeoutMs);
      if (text.kind === 'ok') return parseBody(ep, where, text.body, schema);
      err = text.error;
    } catch (e) {
      if (e instanceof ProviderError) throw e; // malformed: retrying will not help
      throw new ProviderError(ep.provider, 'network', redact(`${name}: request to ${where} failed: ${describe(e)}`, ep.secret));
    }
    if (!err.transient || attempt >= maxRetries) throw err;
    let delay = backoffDelay(attempt, backoff, random);
    if (err.retryAfterMs !== undefined) {
      if (err.retryAfterMs > maxRetryAfterMs) throw err;
      delay = err.retryAfterMs;
    }
    opts.log?.(redact(`${err.message}; retry ${attempt + 1}/${maxRetries} in ${delay} ms`, ep.secret));
    await sleep(delay);
  }

  async function attemptOnce(f: FetchLike, e: Endpoint, u: URL, ms: number): Promise<{ kind: 'ok'; body: string } | { kind: 'error'; error: ProviderError }> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, ms);
    try {
      const res = await f(u.toString(), { method: 'GET', headers: { accept: 'application/json', ...e.headers }, signal: controller.signal });
      const body = await res.text();
      if (res.status >= 200 && res.status < 300) return { kind: 'ok', body };
      return { kind: 'error', error: statusError(e, where, res.status, parseRetryAfter(res.headers.get('retry-after'), now())) };
    } catch (x) {
      if (timedOut) {
        return { kind: 'error', error: new ProviderError(e.provider, 'timeout', `${name}: no answer from ${where} within ${Math.round(ms / 100) / 10} s`) };
      }
      return { kind: 'error', error: new ProviderError(e.provider, 'network', redact(`${name}: cannot reach ${u.host} (${describe(x)})`, e.secret)) };
    } finally {
      clearTimeout(timer);
    }
  }
}

function statusError(ep: Endpoint, where: string, status: number, retryAfterMs: number | undefined): ProviderError {
  const name = PROVIDER_NAMES[ep.provider];
  if (status === 401 || status === 403) {
    return new ProviderError(ep.provider, 'auth',
      `${name} rejected the key (HTTP ${status}${status === 403 ? ': not allowed for this endpoint — an admin/management key is needed' : ''}). ` +
      `Run "${SET_KEY_COMMAND}" to enter a valid ${name} key; polling ${name} is paused until the key changes.`, status);
  }
  if (status === 429) {
    const wait = retryAfterMs !== undefined ? `; asked to wait ${Math.ceil(retryAfterMs / 1000)} s` : '';
    return new ProviderError(ep.provider, 'rate-limited', `${name}: rate limited on ${where} (HTTP 429${wait})`, status, retryAfterMs);
  }
  if (status >= 500) return new ProviderError(ep.provider, 'server', `${name}: server error on ${where} (HTTP ${status})`, status, retryAfterMs);
  return new ProviderError(ep.provider, 'request', `${name}: ${where} answered HTTP ${status}`, status);
}

function parseBody<S extends z.ZodMiniType>(ep: Endpoint, where: string, body: string, schema: S): z.infer<S> {
  const name = PROVIDER_NAMES[ep.provider];
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new ProviderError(ep.provider, 'malformed', `${name}: ${where} did not return JSON`);
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.slice(0, 3).map((i) => `${formatPath(i.path)}: ${i.message}`).join('; ');
    throw new ProviderError(ep.provider, 'malformed', redact(`${name}: unexpected response from ${where} (${issues})`, ep.secret));
  }
  return r.data as z.infer<S>;
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

function describe(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as Error & { cause?: unknown }).cause;
    const code = cause && typeof cause === 'object' && 'code' in cause ? String((cause as { code: unknown }).code) : undefined;
    return code ? `${e.message}: ${code}` : e.message;
  }
  return String(e);
}

/** A page of the admin usage/cost APIs (Anthropic and OpenAI page the same way). */
export interface PageShape { data: unknown[]; has_more: boolean; next_page?: string | null | undefined }

const MAX_PAGES = 100;

/** Daily buckets over `has_more` / `next_page` to the end (at most MAX_PAGES pages). */
export async function fetchAllPages<T extends PageShape>(
  ep: Endpoint,
  base: string,
  path: string,
  params: Record<string, string>,
  schema: z.ZodMiniType<T>,
  pageLimit: number,
  opts: HttpOptions = {},
): Promise<T['data']> {
  const name = PROVIDER_NAMES[ep.provider];
  const buckets: T['data'][number][] = [];
  let page: string | undefined;
  for (let n = 0; n < MAX_PAGES; n++) {
    const url = new URL(base + path);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    url.searchParams.set('bucket_width', '1d');
    url.searchParams.set('limit', String(pageLimit));
    if (page !== undefined) url.searchParams.set('page', page);
    const body: T = await getJson(ep, url, schema, opts);
    buckets.push(...body.data);
    if (!body.has_more) return buckets;
    if (!body.next_page) throw new ProviderError(ep.provider, 'malformed', `${name}: ${path} says has_more but gives no next_page`);
    page = body.next_page;
  }
  throw new ProviderError(ep.provider, 'malformed', `${name}: ${path} kept paginating past ${MAX_PAGES} pages`);
}
