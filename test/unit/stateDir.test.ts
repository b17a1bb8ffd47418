import * as assert from 'node:assert/strict';
import { resolveCacheDir, resolveStateDir, spendSummaryFile, statuslineDir, statuslineErrorLog } from '../../src/state/stateDir';

describe('state folder', () => {
  it('Linux: $XDG_STATE_HOME/agent-spend, else ~/.local/state/agent-spend', () => {
    assert.equal(resolveStateDir({ env: { XDG_STATE_HOME: '/x/state' }, home: '/home/u', platform: 'linux' }), '/x/state/agent-spend');
    assert.equal(resolveStateDir({ env: {}, home: '/home/u', platform: 'linux' }), '/home/u/.local/state/agent-spend');
    // blank or relative XDG values are invalid per the spec: ignored
    assert.equal(resolveStateDir({ env: { XDG_STATE_HOME: '  ' }, home: '/home/u', platform: 'linux' }), '/home/u/.local/state/agent-spend');
    assert.equal(resolveStateDir({ env: { XDG_STATE_HOME: 'rel/state' }, home: '/home/u', platform: 'linux' }), '/home/u/.local/state/agent-spend');
  });

  it('other Unixes follow the Linux convention', () => {
    assert.equal(resolveStateDir({ env: {}, home: '/usr/home/u', platform: 'freebsd' }), '/usr/home/u/.local/state/agent-spend');
    assert.equal(resolveStateDir({ env: { XDG_STATE_HOME: '/s' }, home: '/h', platform: 'openbsd' }), '/s/agent-spend');
  });

  it('macOS: ~/Library/Application Support/agent-spend (XDG is not used)', () => {
    assert.equal(resolveStateDir({ env: { XDG_STATE_HOME: '/x' }, home: '/Users/u', platform: 'darwin' }), '/Users/u/Library/Application Support/agent-spend');
  });

  it('Windows: %LOCALAPPDATA%\\agent-spend, else ~\\AppData\\Local\\agent-spend', () => {
    assert.equal(resolveStateDir({ env: { LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, home: 'C:\\Users\\u', platform: 'win32' }), 'C:\\Users\\u\\AppData\\Local\\agent-spend');
    assert.equal(resolveStateDir({ env: {}, home: 'C:\\Users\\u', platform: 'win32' }), 'C:\\Users\\u\\AppData\\Local\\agent-spend');
    assert.equal(resolveStateDir({ env: { LOCALAPPDATA: '' }, home: 'C:\\Users\\u', platform: 'win32' }), 'C:\\Users\\u\\AppData\\Local\\agent-spend');
    const dir = resolveStateDir({ env: {}, home: 'C:\\Users\\u', platform: 'win32' });
    assert.equal(statuslineDir(dir), 'C:\\Users\\u\\AppData\\Local\\agent-spend\\statusline');
    assert.equal(spendSummaryFile(dir), 'C:\\Users\\u\\AppData\\Local\\agent-spend\\spend-summary.json');
  });

  it('AGENT_SPEND_STATE_DIR overrides the platform default on every platform', () => {
    for (const platform of ['linux', 'darwin', 'win32', 'freebsd']) {
      assert.equal(resolveStateDir({ env: { AGENT_SPEND_STATE_DIR: '/custom', XDG_STATE_HOME: '/x', LOCALAPPDATA: 'C:\\L' }, home: '/h', platform }), '/custom', platform);
    }
  });

  it('an explicit override (setting or flag) wins over the environment; blank means unset', () => {
    const env = { AGENT_SPEND_STATE_DIR: '/from-env' };
    assert.equal(resolveStateDir({ env, home: '/h', platform: 'linux', override: '/from-setting' }), '/from-setting');
    assert.equal(resolveStateDir({ env, home: '/h', platform: 'linux', override: '   ' }), '/from-env');
    assert.equal(resolveStateDir({ env, home: '/h', platform: 'linux', override: undefined }), '/from-env');
    assert.equal(resolveStateDir({ env: {}, home: '/h', platform: 'linux', override: 'rel', cwd: '/work' }), '/work/rel');
    assert.equal(resolveStateDir({ env: {}, home: 'C:\\h', platform: 'win32', override: 'rel', cwd: 'D:\\w' }), 'D:\\w\\rel');
  });

  it('names the files inside it', () => {
    assert.equal(statuslineDir('/s'), '/s/statusline');
    assert.equal(spendSummaryFile('/s'), '/s/spend-summary.json');
    assert.equal(statuslineErrorLog('/s'), '/s/statusline-errors.log');
  });

  it('the cache folder: AGENT_SPEND_CACHE_DIR, else XDG_CACHE_HOME or ~/.cache; ~/Library/Caches; %LOCALAPPDATA%\\agent-spend\\Cache', () => {
    assert.equal(resolveCacheDir({ env: { AGENT_SPEND_CACHE_DIR: '/c' }, home: '/home/u', platform: 'linux' }), '/c');
    assert.equal(resolveCacheDir({ env: { XDG_CACHE_HOME: '/x/cache' }, home: '/home/u', platform: 'linux' }), '/x/cache/agent-spend');
    assert.equal(resolveCacheDir({ env: { XDG_CACHE_HOME: 'rel' }, home: '/home/u', platform: 'linux' }), '/home/u/.cache/agent-spend');
    assert.equal(resolveCacheDir({ env: {}, home: '/Users/u', platform: 'darwin' }), '/Users/u/Library/Caches/agent-spend');
    assert.equal(resolveCacheDir({ env: { LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, home: 'C:\\Users\\u', platform: 'win32' }), 'C:\\Users\\u\\AppData\\Local\\agent-spend\\Cache');
    assert.equal(resolveCacheDir({ env: {}, home: 'C:\\Users\\u', platform: 'win32' }), 'C:\\Users\\u\\AppData\\Local\\agent-spend\\Cache');
  });
});
