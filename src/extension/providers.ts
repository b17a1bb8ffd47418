/**
 * What the providers billed: one poller per provider the user gave a key for. Keys live in
 * SecretStorage only (never settings, logs or the webview); the last good figures are kept in
 * globalState with their fetch time, so they show at once after a restart and stay (marked with
 * their age) while the provider is unreachable.
 */
import * as vscode from 'vscode';
import { PROVIDER_NAMES, type ProviderId } from '../sources/providers/http';
import { makeClient, PROVIDER_IDS } from '../sources/providers/index';
import { ProviderPoller, type PollerState } from '../sources/providers/poller';
import type { BilledDay } from '../sources/providers/types';
import type { Config } from './config';
import { Disposable } from './disposable';
import type { Log } from './log';

const secretKey = (p: ProviderId) => `agentSpend.providerKey.${p}`;
const storedKey = (p: ProviderId) => `agentSpend.billed.${p}`;
const SECRET_TIMEOUT_MS = 5_000;

/** What the views get per provider: the live poller state, or the figures kept from before. */
export interface ProviderView {
  provider: ProviderId;
  status: PollerState['status'];
  days: BilledDay[];
  fetchedAt: number | null;
  ageMs: number | null;
  message: string | null;
}

interface Stored {
  days: BilledDay[];
  fetchedAt: number;
}

export class ProviderService extends Disposable {
  private readonly pollers = new Map<ProviderId, ProviderPoller>();
  private readonly changed = this.own(new vscode.EventEmitter<void>());
  readonly onDidChange = this.changed.event;
  /** Auth failures already announced (per provider, until its key changes). */
  private readonly announced = new Set<ProviderId>();
  /** Restarts of one provider run one after the other (a key change also arrives as a secrets event). */
  private readonly restarting = new Map<ProviderId, Promise<void>>();

  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly state: vscode.Memento,
    private readonly log: Log,
    private config: Config,
  ) {
    super();
    // Another window stored or removed a key: follow it.
    this.own(secrets.onDidChange((e) => {
      const p = PROVIDER_IDS.find((id) => secretKey(id) === e.key);
      if (p) void this.restart(p);
    }));
  }

  /** Starts polling for every enabled provider that has a key (after activation). */
  async start(): Promise<void> {
    for (const p of PROVIDER_IDS) await this.restart(p);
  }

  async hasKey(provider: ProviderId): Promise<boolean> {
    return (await this.readKey(provider)) !== undefined;
  }

  /**
   * The stored key, or undefined. A read that does not answer within SECRET_TIMEOUT_MS (the
   * secret store of a web workbench can be slow to come up) counts as no key, so the restarts
   * queued behind it go on; it is reported once in the log.
   */
  private async readKey(provider: ProviderId): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), SECRET_TIMEOUT_MS)));
    try {
      const value = await Promise.race([Promise.resolve(this.secrets.get(secretKey(provider))), timeout]);
      if (value === 'timeout') {
        this.log.warn(`${PROVIDER_NAMES[provider]}: the editor's secret storage did not answer within ${SECRET_TIMEOUT_MS / 1000} s; polling waits for the next key change`);
        return undefined;
      }
      return value;
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  async setKey(provider: ProviderId, key: string): Promise<void> {
    try {
      await this.secrets.store(secretKey(provider), key);
    } catch (err) {
      // Say so rather than fail silently (the message cannot contain the key: it is not in it).
      const message = `${PROVIDER_NAMES[provider]}: the key could not be stored in the editor's secret storage (${err instanceof Error ? err.message : String(err)})`;
      this.log.error(message);
      void vscode.window.showErrorMessage(`Agent Spend: ${message}`);
      return;
    }
    this.log.info(`${PROVIDER_NAMES[provider]}: key stored in the editor's secret storage`);
    await this.restart(provider);
  }

  async clearKey(provider: ProviderId): Promise<void> {
    await this.secrets.delete(secretKey(provider));
    await this.state.update(storedKey(provider), undefined);
    this.log.info(`${PROVIDER_NAMES[provider]}: key removed; polling stopped`);
    await this.restart(provider);
  }

  applyConfig(config: Config): void {
    this.config = config;
    void this.start();
  }

  /** Whether a poller runs for the provider (tests and the tooltip). */
  isPolling(provider: ProviderId): boolean {
    return this.pollers.has(provider);
  }

  views(): ProviderView[] {
    const out: ProviderView[] = [];
    for (const p of PROVIDER_IDS) {
      const poller = this.pollers.get(p);
      const stored = this.state.get<Stored>(storedKey(p));
      if (!poller && !stored) continue;
      const live = poller?.state;
      if (live && live.fetchedAt !== null) {
        out.push({ provider: p, status: live.status, days: live.days, fetchedAt: live.fetchedAt, ageMs: live.ageMs, message: live.message });
      } else if (stored) {
        // Before the first successful poll of this run (or while failing): the kept figures, with their age.
        out.push({ provider: p, status: live?.status === 'auth-error' ? 'auth-error' : 'stale', days: stored.days, fetchedAt: stored.fetchedAt, ageMs: Date.now() - stored.fetchedAt, message: live?.message ?? null });
      } else if (live) {
        out.push({ provider: p, status: live.status, days: [], fetchedAt: null, ageMs: null, message: live.message });
      }
    }
    return out;
  }

  override dispose(): void {
    for (const poller of this.pollers.values()) poller.stop();
    this.pollers.clear();
    super.dispose();
  }

  private restart(provider: ProviderId): Promise<void> {
    const next = (this.restarting.get(provider) ?? Promise.resolve()).then(() => this.restartNow(provider)).catch((err: unknown) => {
      this.log.error(`${PROVIDER_NAMES[provider]}: ${err instanceof Error ? err.message : String(err)}`);
    });
    this.restarting.set(provider, next);
    return next;
  }

  private async restartNow(provider: ProviderId): Promise<void> {
    this.pollers.get(provider)?.stop();
    this.pollers.delete(provider);
    this.announced.delete(provider);
    const settings = this.config.providers[provider];
    const key = settings.enabled ? await this.readKey(provider) : undefined;
    if (key) {
      const client = makeClient(provider, key, settings.baseUrl || undefined, {});
      const poller = new ProviderPoller(client, { now: Date.now, setTimer: (fn, ms) => setTimeout(fn, ms), clearTimer: (h) => clearTimeout(h as NodeJS.Timeout) }, { intervalMs: settings.pollMinutes * 60_000 });
      poller.onChange((s) => this.onState(provider, s));
      this.pollers.set(provider, poller);
      poller.start();
    }
    this.changed.fire();
  }

  private onState(provider: ProviderId, s: PollerState): void {
    if (s.status === 'ok' && s.fetchedAt !== null) void this.state.update(storedKey(provider), { days: s.days, fetchedAt: s.fetchedAt } satisfies Stored);
    if (s.status === 'auth-error' && !this.announced.has(provider)) {
      this.announced.add(provider);
      const message = s.message ?? `${PROVIDER_NAMES[provider]} rejected the key.`;
      this.log.warn(message);
      void vscode.window.showErrorMessage(`Agent Spend: ${message}`, 'Set Provider Key').then((choice) => {
        if (choice) void vscode.commands.executeCommand('agentSpend.setProviderKey', provider);
      });
    } else if (s.message && s.status !== 'ok') {
      this.log.warn(`${PROVIDER_NAMES[provider]}: ${s.message}`);
    }
    this.changed.fire();
  }
}
