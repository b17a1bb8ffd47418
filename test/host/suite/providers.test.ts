/**
 * Provider keys in the real extension host: a key set through the command lives in
 * SecretStorage and nowhere else (settings, log), drives a poller against a local server
 * (loopback only), and clearing it stops the polling.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as vscode from 'vscode';
import type { AgentSpendApi } from '../../../src/extension/extension';
import type { HostMessage } from '../../../src/shared/protocol';

const KEY = 'sk-ant-admin01-HOSTTEST-0123456789abcdef';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('provider keys (issue 8)', function () {
  this.timeout(30_000);
  let api: AgentSpendApi;
  let server: http.Server;
  const seen: Array<{ path: string; key: string | undefined; version: string | undefined }> = [];

  before(async () => {
    api = await vscode.extensions.getExtension<AgentSpendApi>('agent-spend.agent-spend')!.activate();
    await api.ready;
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      seen.push({ path: url.pathname, key: req.headers['x-api-key'] as string | undefined, version: req.headers['anthropic-version'] as string | undefined });
      const day = new Date().toISOString().slice(0, 10);
      const bucket = (results: unknown[]) => ({ starting_at: `${day}T00:00:00Z`, ending_at: `${day}T23:59:59Z`, results });
      const body = url.pathname.endsWith('/usage_report/messages')
        ? { data: [bucket([{ uncached_input_tokens: 1000, cache_read_input_tokens: 0, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 }, output_tokens: 500 }])], has_more: false, next_page: null }
        : { data: [bucket([{ amount: '123.45', currency: 'USD' }])], has_more: false, next_page: null };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    await vscode.workspace.getConfiguration('agentSpend').update('providers.anthropic.baseUrl', `http://127.0.0.1:${port}`, vscode.ConfigurationTarget.Global);
  });

  after(async () => {
    await vscode.workspace.getConfiguration('agentSpend').update('providers.anthropic.baseUrl', undefined, vscode.ConfigurationTarget.Global);
    await new Promise((r) => server.close(r));
  });

  it('stores the key in SecretStorage only, polls with it, and stops when it is cleared', async () => {
    await vscode.commands.executeCommand('agentSpend.setProviderKey', 'anthropic', KEY);
    assert.ok(await api.providers.hasKey('anthropic'));
    assert.ok(api.providers.isPolling('anthropic'));
    for (let i = 0; i < 100 && !api.providers.views().some((v) => v.provider === 'anthropic' && v.status === 'ok'); i++) await sleep(100);
    const view = api.providers.views().find((v) => v.provider === 'anthropic');
    assert.equal(view?.status, 'ok', JSON.stringify(view));
    // "123.45" cents = $1.2345
    assert.ok(view!.days.some((d) => d.costUSD === 1.2345 && d.inputTokens === 1000 && d.outputTokens === 500), JSON.stringify(view!.days));
    assert.ok(seen.length >= 2 && seen.every((r) => r.key === KEY && r.version === '2023-06-01'), JSON.stringify(seen.map((s) => s.path)));

    // billed beside the estimate: in the status bar tooltip and in the panel's reconciliation
    for (let i = 0; i < 100 && !api.statusBar().tooltip.includes('Billed this month'); i++) await sleep(100);
    assert.match(api.statusBar().tooltip, /Billed this month[\s\S]*Anthropic \$1\.23 \(estimated \$/);
    const recon = new Promise<Extract<HostMessage, { type: 'reconciliation' }>>((resolve) => {
      const sub = api.panel.onDidPost((m) => {
        if (m.type === 'reconciliation' && m.rows.some((r) => r.provider === 'anthropic')) {
          sub.dispose();
          resolve(m);
        }
      });
    });
    await vscode.commands.executeCommand('agentSpend.showPanel');
    const msg = await Promise.race([recon, sleep(15_000).then(() => undefined)]);
    assert.ok(msg, 'the panel got the reconciliation');
    const today = new Date().toISOString().slice(0, 10);
    const row = msg.rows.find((r) => r.provider === 'anthropic' && r.date === today);
    assert.ok(row, JSON.stringify(msg.rows));
    assert.equal(row.billedNanos, 1_234_500_000);
    assert.equal(msg.providers.find((p) => p.provider === 'anthropic')?.status, 'ok');

    // nowhere else: not in any agentSpend setting, not in the log
    const settings = JSON.stringify(vscode.workspace.getConfiguration('agentSpend'));
    assert.ok(!settings.includes(KEY), 'not in settings');
    assert.ok(!api.logEntries().some((e) => e.includes(KEY)), 'not in the log');

    await vscode.commands.executeCommand('agentSpend.clearProviderKey', 'anthropic');
    assert.equal(await api.providers.hasKey('anthropic'), false);
    assert.equal(api.providers.isPolling('anthropic'), false);
    const requests = seen.length;
    await sleep(500);
    assert.equal(seen.length, requests, 'no more requests after the key was cleared');
    assert.equal(api.providers.views().find((v) => v.provider === 'anthropic'), undefined, 'its figures are dropped');
  });
});
