/**
 * What is running now, in a real extension host: sessions being appended are running and an
 * old one is finished; a status line snapshot written by the real CLI shows its limits in the
 * second status bar item and the session's context; crossing 80 % of the 5-hour window raises
 * exactly one notification.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AgentSpendApi } from '../../../src/extension/extension';

const EXTENSION_ID = 'agent-spend.agent-spend';
const home = process.env['AGENT_SPEND_TEST_HOME']!;
const stateDir = process.env['AGENT_SPEND_STATE_DIR']!;
const CLI = path.resolve(__dirname, '..', '..', '..', '..', 'dist', 'cli.js');
const project = path.join(home, '.claude', 'projects', '-work-live-demo');

let api: AgentSpendApi;

function assistant(session: string, id: string, ts: number, output: number): string {
  return JSON.stringify({
    parentUuid: null, isSidechain: false, type: 'assistant', requestId: `req_${id}`, uuid: `u-${id}`, timestamp: new Date(ts).toISOString(),
    cwd: '/work/live-demo', sessionId: session, version: '2.1.0', gitBranch: 'main',
    message: { model: 'claude-sonnet-4-5-20250929', id, type: 'message', role: 'assistant', content: [{ type: 'text', text: 'ok' }],
      usage: { input_tokens: 1_000, output_tokens: output, cache_creation_input_tokens: 2_000, cache_read_input_tokens: 40_000 } },
  }) + '\n';
}

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function statusline(input: unknown): { status: number | null; stdout: string } {
  const r = spawnSync(process.execPath, [CLI, 'statusline'], {
    input: JSON.stringify(input), encoding: 'utf8', timeout: 10_000,
    env: { PATH: process.env['PATH'] ?? '', HOME: home, AGENT_SPEND_STATE_DIR: stateDir, ELECTRON_RUN_AS_NODE: '1' },
  });
  return { status: r.status, stdout: r.stdout };
}

describe('what is running now', function () {
  this.timeout(60_000);

  before(async () => {
    api = await vscode.extensions.getExtension<AgentSpendApi>(EXTENSION_ID)!.activate();
    await api.ready;
  });

  it('two sessions being appended are running, an old one is finished', async () => {
    fs.mkdirSync(project, { recursive: true });
    const now = Date.now();
    const old = path.join(project, 'live-old.jsonl');
    fs.writeFileSync(old, assistant('live-old', 'msg_old', now - 3 * 3600_000, 50));
    fs.utimesSync(old, new Date(now - 3 * 3600_000), new Date(now - 3 * 3600_000));
    const a = path.join(project, 'live-a.jsonl');
    const b = path.join(project, 'live-b.jsonl');
    for (let i = 0; i < 3; i++) {
      fs.appendFileSync(a, assistant('live-a', `msg_a${i}`, Date.now(), 100 + i));
      fs.appendFileSync(b, assistant('live-b', `msg_b${i}`, Date.now(), 200 + i));
      await new Promise((r) => setTimeout(r, 300));
    }
    const view = await until('two running sessions', () => {
      const v = api.live();
      const states = new Map(v.sessions.map((s) => [s.sessionId, s.state]));
      return states.get('live-a') === 'running' && states.get('live-b') === 'running' ? v : undefined;
    });
    assert.equal(view.sessions.find((s) => s.sessionId === 'live-old'), undefined, 'a session last written 3 h ago is finished: not listed');
    const a1 = view.sessions.find((s) => s.sessionId === 'live-a')!;
    assert.equal(a1.agent, 'claude-code');
    assert.equal(a1.project, '/work/live-demo');
    // context from the latest request: 1,000 + 2,000 + 40,000 of Sonnet 4.5's 200k window
    assert.equal(a1.context?.source, 'latest-request');
    assert.equal(a1.context?.usedTokens, 43_000);
    assert.equal(a1.context?.percent, 21.5);
    await until('the running count in the status bar', () => /\$\(pulse\) \d+ running · /.test(api.statusBar().text) && /live\\?-demo/.test(api.statusBar().tooltip));
    assert.ok(view.running >= 2);
  });

  it('a status line snapshot from the CLI shows its limits in the second item and the context figure', async () => {
    const resetsAt = Math.floor(Date.now() / 1000) + 2 * 3600;
    const input = (fiveHour: number) => ({
      session_id: 'live-a', transcript_path: path.join(project, 'live-a.jsonl'), cwd: '/work/live-demo',
      model: { id: 'claude-sonnet-4-5-20250929', display_name: 'Sonnet 4.5' }, workspace: { current_dir: '/work/live-demo', project_dir: '/work/live-demo' },
      version: '2.1.0', cost: { total_cost_usd: 1.25 }, context_window: { context_window_size: 200_000, used_percentage: 55 },
      rate_limits: { five_hour: { used_percentage: fiveHour, resets_at: resetsAt }, seven_day: { used_percentage: 18, resets_at: resetsAt + 5 * 86_400 } },
    });
    const r = statusline(input(42));
    assert.equal(r.status, 0);
    assert.match(r.stdout, /5h 42%/);
    assert.equal(r.stdout.trim().split('\n').length, 1);
    const item = await until('the limits item', () => {
      const c = api.limitsStatusBar();
      return c.visible && c.text.includes('5h 42%') ? c : undefined;
    });
    assert.equal(item.text, '$(dashboard) 5h 42% · 7d 18%');
    assert.equal(item.background, 'none');
    assert.match(item.tooltip, /from the status line/);
    assert.match(item.accessibilityLabel, /5-hour window 42%/);
    const ctx = await until('the status line context figure', () => api.live().sessions.find((s) => s.sessionId === 'live-a' && s.context?.source === 'statusline')?.context);
    assert.equal(ctx!.percent, 55);

    // crossing 80 % of the 5-hour window: one notification, and the item turns to the warning colour
    const before = api.limitNotifications().length;
    assert.equal(statusline(input(85)).status, 0);
    await until('the warning background', () => api.limitsStatusBar().background === 'warning');
    await until('a limit notification', () => api.limitNotifications().length > before);
    assert.equal(api.limitNotifications().length, before + 1);
    assert.match(api.limitNotifications()[before]!, /Claude Code 5-hour limit: 85% used, resets in [12]h/);
    assert.equal(statusline(input(87)).status, 0);
    await until('87 %', () => api.limitsStatusBar().text.includes('5h 87%'));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(api.limitNotifications().length, before + 1, 'the same window crossing 80 % again is not announced twice');
  });

  it('"Show Claude Code limits in the editor" copies the entry and the script, opens the settings, edits nothing', async () => {
    const settings = path.join(home, '.claude', 'settings.json');
    const before = fs.existsSync(settings) ? fs.readFileSync(settings, 'utf8') : undefined;
    const setup = await vscode.commands.executeCommand<{ snippet: string; settingsFile: string; alreadySet: boolean }>('agentSpend.setUpClaudeStatusLine');
    assert.ok(setup, 'the command answered');
    assert.equal(setup.settingsFile, settings);
    assert.equal(setup.alreadySet, false);
    assert.equal(await vscode.env.clipboard.readText(), setup.snippet);
    const entry = JSON.parse(`{${setup.snippet}}`) as { statusLine: { type: string; command: string } };
    assert.equal(entry.statusLine.type, 'command');
    const script = path.join(stateDir, 'bin', 'statusline.js');
    assert.equal(entry.statusLine.command, `node "${script}" --state-dir "${stateDir}"`);
    // the copied script is the real status line: one line, exit 0, even on garbage
    const r = spawnSync(process.execPath, [script, '--state-dir', stateDir], { input: 'not json', encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', HOME: home, ELECTRON_RUN_AS_NODE: '1' }, timeout: 10_000 });
    assert.equal(r.status, 0);
    assert.equal(r.stdout.trim().split('\n').length, 1);
    // the agent's settings are opened for the user, never written by the extension
    assert.equal(fs.existsSync(settings) ? fs.readFileSync(settings, 'utf8') : undefined, before);
    const opened = vscode.window.activeTextEditor?.document.uri;
    assert.ok(opened && opened.path.endsWith('/.claude/settings.json'), String(opened));
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });
});
