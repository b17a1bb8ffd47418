/**
 * Runs the host tests inside a real VS Code extension host with @vscode/test-electron.
 * Where VS Code cannot be downloaded (this project's CI has no internet), the
 * offline harness in ../shared/vscode-offline stands in for the VS Code executable;
 * elsewhere `runTests` downloads VS Code as usual.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';
import { writeHostFixture } from './fixtures';

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '../../..');
  const offline = path.resolve(root, '../shared/vscode-offline/bin/code');
  const vscodeExecutablePath = process.env['VSCODE_EXECUTABLE_PATH'] || (fs.existsSync(offline) ? offline : undefined);
  if (vscodeExecutablePath === offline) {
    // Idempotent: installs code-server, Node 24 and Chromium on a new machine, instant afterwards.
    const setup = spawnSync('bash', [path.resolve(root, '../shared/vscode-offline/setup.sh')], { stdio: 'inherit' });
    if (setup.status !== 0) throw new Error(`vscode-offline setup failed (exit ${setup.status})`);
  }
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-spend-host-'));
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-spend-ws-'));
  writeHostFixture(home, Date.now());
  // The fixture replaces HOME for the extension host; the harness must still find its cache under the real one.
  process.env['VSCODE_OFFLINE_CACHE'] ||= path.join(os.homedir(), '.cache', 'vscode-offline');
  process.env['VSCODE_OFFLINE_ARGS'] = [process.env['VSCODE_OFFLINE_ARGS'] ?? '', '--timeout 600', `--artifacts ${path.join(root, 'out', 'host-artifacts')}`].join(' ').trim();
  try {
    await runTests({
      ...(vscodeExecutablePath ? { vscodeExecutablePath } : {}),
      extensionDevelopmentPath: root,
      extensionTestsPath: path.join(__dirname, 'suite', 'index.js'),
      launchArgs: [workspace, '--disable-extensions'],
      extensionTestsEnv: {
        HOME: home,
        USERPROFILE: home,
        AGENT_SPEND_TEST_HOME: home,
        // The folder shared with `agent-spend statusline` (the live test writes snapshots into it).
        AGENT_SPEND_STATE_DIR: path.join(home, 'agent-spend-state'),
        AGENT_SPEND_HOST_GREP: process.env['AGENT_SPEND_HOST_GREP'] ?? '',
        CLAUDE_CONFIG_DIR: '',
        CODEX_HOME: '',
      },
    });
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`host tests failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
