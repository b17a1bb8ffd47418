import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { indexOfNeedle, toNeedle } from '../../src/sources/needle';
import { ClaudeCodeSource } from '../../src/sources/claudeCode';
import { CodexSource } from '../../src/sources/codex';
import { REAL_LOGS } from './helpers';

describe('needles', () => {
  it('anchor on the rarest byte of the needle, at most 7 bytes long', () => {
    const anchor = (s: string) => {
      const n = toNeedle(s);
      assert.equal(n.bytes.subarray(n.at, n.at + n.anchor.length).toString(), n.anchor.toString());
      return n.anchor.toString();
    };
    assert.equal(anchor('_tokens"'), '_tokens');
    assert.equal(anchor('"token_count"'), '_count"');
    assert.equal(anchor('"session_meta"'), '_meta"');
    assert.equal(anchor('"structuredPatch"'), 'Patch"');
    assert.equal(anchor('"a"'), '"a"');
    assert.equal(anchor('x'), 'x');
  });

  it('find exactly what Buffer.indexOf finds for the whole needle', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('_tokens"', '"token_count"', '"a_b"', 'Success. Updated', '"is_error":true', 'ab', '"'),
        fc.array(fc.constantFrom('"', '_', 'a', 'b', 't', 'o', 'k', 'e', 'n', 's', '_tokens', '"token_count', 'count"', ':', 'true', '\n'), { maxLength: 80 }),
        fc.nat(100),
        (text, parts, fromRaw) => {
          const data = Buffer.from(parts.join(''));
          const needle = toNeedle(text);
          const from = fromRaw % (data.length + 1);
          assert.equal(indexOfNeedle(data, needle, from), data.indexOf(needle.bytes, from));
        },
      ),
      { numRuns: 3000 },
    );
  });

  // The usage needles were chosen for speed; they must still select every line the parsers need.
  it('Claude Code: every real line with a usage object has the usage needle', () => {
    const needle = new ClaudeCodeSource({ env: {}, home: '/none', platform: 'linux' }, fs.promises, { prompts: false, edits: false }).needles;
    assert.equal(needle.length, 1);
    let usage = 0;
    for (const file of jsonlFiles(path.join(REAL_LOGS, 'claude-code'))) {
      for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        let record: unknown;
        try {
          record = JSON.parse(line);
        } catch {
          continue;
        }
        const r = record as { message?: { usage?: unknown }; data?: { message?: { message?: { usage?: unknown } } } };
        const u = r?.message?.usage ?? r?.data?.message?.message?.usage;
        if (typeof u !== 'object' || u === null) continue;
        usage++;
        assert.ok(line.includes(needle[0]!), `${file}: ${line.slice(0, 200)}`);
      }
    }
    assert.ok(usage > 3000, `${usage} usage lines`);
  });

  it('Codex: every real session_meta, turn_context and token_count line has a needle', () => {
    const needles = new CodexSource({ env: {}, home: '/none', platform: 'linux' }, fs.promises, { prompts: false, edits: false }).needles;
    const counted = new Map<string, number>();
    for (const file of jsonlFiles(path.join(REAL_LOGS, 'codex'))) {
      for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        let record: { type?: unknown; payload?: { type?: unknown } };
        try {
          record = JSON.parse(line) as typeof record;
        } catch {
          continue;
        }
        const type = record?.type === 'event_msg' ? record.payload?.type : record?.type;
        if (type !== 'session_meta' && type !== 'turn_context' && type !== 'token_count') continue;
        counted.set(type, (counted.get(type) ?? 0) + 1);
        assert.ok(needles.some((n) => line.includes(n)), `${file}: ${line.slice(0, 200)}`);
      }
    }
    assert.ok((counted.get('token_count') ?? 0) > 1000 && (counted.get('session_meta') ?? 0) > 5 && (counted.get('turn_context') ?? 0) > 100, JSON.stringify([...counted]));
  });
});

function jsonlFiles(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => e.isFile() && e.name.endsWith('.jsonl'))
    .map((e) => path.join(e.parentPath ?? e.path, e.name));
}
