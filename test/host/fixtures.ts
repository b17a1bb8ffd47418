/**
 * Writes the fixture agent homes the host tests run against: a fake HOME with a
 * Claude Code transcript and a Codex rollout whose requests happened minutes ago,
 * so they count as today's spend and as an active session.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface HostFixture {
  home: string;
  claudeSession: string;
  codexRollout: string;
}

export const CLAUDE_SESSION_ID = 'host-test-session-1';

/** The first fixture prompt: its first line is the task title, shown as text (never as markup). */
export const FIXTURE_PROMPT = 'Fix the login page <img src=x onerror=alert(1)> and </script><script>alert(2)</script> now\nwith a second line';
export const FIXTURE_PROMPT_TITLE = 'Fix the login page <img src=x onerror=alert(1)> and </script><script>alert(2)</script> now';
export const FIXTURE_PROMPT_2 = 'Now write the tests';

/** A human prompt as Claude Code 2.x writes it. */
export function claudeUserLine(uuid: string, timestamp: number, text: string): string {
  return JSON.stringify({
    parentUuid: null, isSidechain: false, type: 'user', message: { role: 'user', content: text }, uuid,
    timestamp: new Date(timestamp).toISOString(), cwd: '/work/host-demo', sessionId: CLAUDE_SESSION_ID, version: '2.0.58', gitBranch: 'main',
  }) + '\n';
}

export function claudeLine(messageId: string, timestamp: number, input: number, output: number, model = 'claude-sonnet-4-5-20250929'): string {
  return JSON.stringify({
    parentUuid: null, isSidechain: false, type: 'assistant', requestId: `req_${messageId}`, uuid: `u-${messageId}-${output}`,
    timestamp: new Date(timestamp).toISOString(), cwd: '/work/host-demo', sessionId: CLAUDE_SESSION_ID, version: '2.0.58', gitBranch: 'main',
    message: { model, id: messageId, type: 'message', role: 'assistant', content: [{ type: 'text', text: 'done' }],
      usage: { input_tokens: input, output_tokens: output, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } },
  }) + '\n';
}

export function writeHostFixture(home: string, now: number): HostFixture {
  fs.rmSync(home, { recursive: true, force: true });
  const projects = path.join(home, '.claude', 'projects', '-work-host-demo');
  fs.mkdirSync(projects, { recursive: true });
  const claudeSession = path.join(projects, `${CLAUDE_SESSION_ID}.jsonl`);
  // claude-sonnet-4-5: 100,000 input × $3/M + 20,000 output × $15/M = $0.30 + $0.30 = $0.60
  // Two prompts (two tasks); the first one's text is markup that must show as literal text and run nothing.
  fs.writeFileSync(claudeSession,
    claudeUserLine('u-prompt-1', now - 120_000, FIXTURE_PROMPT) +
    claudeLine('msg_h1', now - 60_000, 100_000, 5_000) + claudeLine('msg_h1', now - 59_000, 100_000, 20_000) +
    claudeUserLine('u-prompt-2', now - 30_000, FIXTURE_PROMPT_2));
  const day = new Date(now);
  const dir = path.join(home, '.codex', 'sessions', String(day.getFullYear()), String(day.getMonth() + 1).padStart(2, '0'), String(day.getDate()).padStart(2, '0'));
  fs.mkdirSync(dir, { recursive: true });
  const codexRollout = path.join(dir, 'rollout-2026-01-01T00-00-00-0199aaaa-bbbb-7ccc-8ddd-eeeeffff0000.jsonl');
  // gpt-5-codex: 200,000 input × $1.25/M + 30,000 output × $10/M = $0.25 + $0.30 = $0.55
  const usage = { input_tokens: 200_000, cached_input_tokens: 0, output_tokens: 30_000, reasoning_output_tokens: 10_000, total_tokens: 230_000 };
  fs.writeFileSync(codexRollout, [
    { timestamp: new Date(now - 90_000).toISOString(), type: 'session_meta', payload: { id: '0199aaaa-bbbb-7ccc-8ddd-eeeeffff0000', cwd: '/work/codex-demo', cli_version: '0.58.0', git: { branch: 'dev' } } },
    { timestamp: new Date(now - 90_000).toISOString(), type: 'turn_context', payload: { model: 'gpt-5-codex', cwd: '/work/codex-demo' } },
    { timestamp: new Date(now - 80_000).toISOString(), type: 'event_msg', payload: { type: 'token_count', info: { total_token_usage: usage, last_token_usage: usage }, rate_limits: null } },
  ].map((r) => JSON.stringify(r)).join('\n') + '\n');
  return { home, claudeSession, codexRollout };
}
