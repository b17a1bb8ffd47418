/**
 * Polls one provider's billing client, one request at a time, and keeps the last good
 * figures for the UI. Clock and timers are injected; no `vscode`.
 *
 * - Each poll fetches only from the earliest day of the window that is not yet final
 *   (or not yet known) up to today; final days already held are never fetched again.
 * - Success → `ok`. A transient failure (offline, timeout, 429, 5xx) or a malformed answer
 *   keeps the last good figures, marked with their age: `offline` for network/timeout,
 *   `stale` otherwise; the next poll comes after a backoff (or the provider's Retry-After).
 * - 401/403 → `auth-error`: polling stops until `keyChanged()` (with the client built on the
 *   new key). The figures of the old key are dropped then (it may be another organization).
 */
import { backoffDelay, ProviderError, type ProviderId } from './http';
import { addDays, isFinal, utcDay, type BilledDay, type BillingClient } from './types';

export type PollerStatus = 'idle' | 'ok' | 'stale' | 'offline' | 'auth-error';

export interface PollerState {
  provider: ProviderId;
  status: PollerStatus;
  /** Oldest first. */
  days: BilledDay[];
  /** When the figures were last fetched successfully (epoch ms), null before the first success. */
  fetchedAt: number | null;
  /** Age of the figures (now − fetchedAt), null before the first success. */
  ageMs: number | null;
  /** The last error's message (already free of the key), null after a success. */
  message: string | null;
  /** True while polling is paused for a bad key. */
  paused: boolean;
}

export interface PollerDeps {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  random?: () => number;
}

export interface PollerOptions {
  /** Between successful polls. Default 15 min. */
  intervalMs?: number;
  /** Days kept, ending today (UTC). Default 31. */
  windowDays?: number;
  /** Backoff after failures: min(max, base·2ⁿ) with jitter. Defaults 1 min / 30 min. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Reporting lag for `final` (defaults to the clients' 48 h). */
  lagMs?: number;
}

export class ProviderPoller {
  private client: BillingClient;
  private readonly days = new Map<string, BilledDay>();
  private status: PollerStatus = 'idle';
  private fetchedAt: number | null = null;
  private message: string | null = null;
  private paused = false;
  private running = false;
  private timer: unknown = undefined;
  private inFlight: Promise<void> | null = null;
  private failures = 0;
  private generation = 0;
  private readonly listeners = new Set<(s: PollerState) => void>();
  private readonly o: Required<PollerOptions>;

  constructor(client: BillingClient, private readonly deps: PollerDeps, opts: PollerOptions = {}) {
    this.client = client;
    this.o = {
      intervalMs: opts.intervalMs ?? 15 * 60_000,
      windowDays: opts.windowDays ?? 31,
      retryBaseMs: opts.retryBaseMs ?? 60_000,
      retryMaxMs: opts.retryMaxMs ?? 30 * 60_000,
      lagMs: opts.lagMs ?? 48 * 3600_000,
    };
  }

  get state(): PollerState {
    const now = this.deps.now();
    return {
      provider: this.client.provider,
      status: this.status,
      days: [...this.days.values()].sort((a, b) => (a.date < b.date ? -1 : 1)),
      fetchedAt: this.fetchedAt,
      ageMs: this.fetchedAt === null ? null : Math.max(0, now - this.fetchedAt),
      message: this.message,
      paused: this.paused,
    };
  }

  onChange(listener: (s: PollerState) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Starts polling (first poll right away). */
  start(): void {
    if (this.running) return;
    this.running = true;
    if (!this.paused) void this.pollNow();
  }

  stop(): void {
    this.running = false;
    this.cancelTimer();
  }

  /** The key changed: a new client for it; resumes polling if it was paused. */
  keyChanged(client: BillingClient): void {
    this.generation++;
    this.client = client;
    this.days.clear();
    this.fetchedAt = null;
    this.message = null;
    this.status = 'idle';
    this.paused = false;
    this.failures = 0;
    this.inFlight = null;
    this.cancelTimer();
    this.emit();
    if (this.running) void this.pollNow();
  }

  /** The range the next poll asks for: the earliest non-final (or missing) day of the window → today. */
  nextRange(): { since: string; until: string } {
    const now = this.deps.now();
    const today = utcDay(now);
    const first = addDays(today, -(this.o.windowDays - 1));
    let since = today;
    for (let d = first; d <= today; d = addDays(d, 1)) {
      const held = this.days.get(d);
      if (!held || !held.final) {
        since = d;
        break;
      }
    }
    return { since, until: today };
  }

  /** One poll now (coalesced with one already running); never throws. */
  pollNow(): Promise<void> {
    if (this.paused) return Promise.resolve();
    if (this.inFlight) return this.inFlight;
    this.cancelTimer();
    const gen = this.generation;
    const p = this.poll(gen).finally(() => {
      if (this.inFlight === p) this.inFlight = null;
    });
    this.inFlight = p;
    return p;
  }

  private async poll(gen: number): Promise<void> {
    const range = this.nextRange();
    let nextIn: number | undefined;
    try {
      const fetched = await this.client.fetchDays(range);
      if (gen !== this.generation) return; // the key changed meanwhile: drop this answer
      const now = this.deps.now();
      for (const d of fetched) this.days.set(d.date, { ...d, final: d.final && isFinal(d.date, now, this.o.lagMs) });
      const oldest = addDays(utcDay(now), -(this.o.windowDays - 1));
      for (const date of [...this.days.keys()]) if (date < oldest) this.days.delete(date);
      this.fetchedAt = now;
      this.status = 'ok';
      this.message = null;
      this.failures = 0;
      nextIn = this.o.intervalMs;
    } catch (e) {
      if (gen !== this.generation) return;
      const err = e instanceof ProviderError ? e : undefined;
      this.message = err ? err.message : `${this.client.provider}: ${e instanceof Error ? e.message : String(e)}`;
      if (err?.kind === 'auth') {
        this.status = 'auth-error';
        this.paused = true;
        nextIn = undefined;
      } else {
        this.status = err && (err.kind === 'network' || err.kind === 'timeout') ? 'offline' : 'stale';
        const backoff = backoffDelay(this.failures, { baseDelayMs: this.o.retryBaseMs, maxDelayMs: this.o.retryMaxMs }, this.deps.random ?? Math.random);
        this.failures++;
        nextIn = err?.retryAfterMs !== undefined ? Math.max(err.retryAfterMs, backoff) : backoff;
      }
    }
    this.emit();
    if (this.running && nextIn !== undefined) this.schedule(nextIn);
  }

  private schedule(ms: number): void {
    this.cancelTimer();
    this.timer = this.deps.setTimer(() => {
      this.timer = undefined;
      void this.pollNow();
    }, ms);
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) {
      this.deps.clearTimer(this.timer);
      this.timer = undefined;
    }
  }

  private emit(): void {
    const s = this.state;
    for (const l of this.listeners) l(s);
  }

  /** When the next poll is due, for tests and status tooltips. */
  get scheduled(): boolean {
    return this.timer !== undefined;
  }
}
