import * as assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { UsageEvent } from '../../src/core/events';
import { GROUP_BYS, Ledger, type RequestRecord } from '../../src/core/ledger';
import { Pricer } from '../../src/core/pricing';
import { buildReport, buildReportFromCells, type ReportFilter } from '../../src/core/report';
import { Rollup } from '../../src/core/rollup';
import { createSources } from '../../src/sources/registry';
import { Scanner } from '../../src/sources/scanner';
import { Tailer } from '../../src/sources/tailer';
import { decodeIndexColumns, encodeIndex, IndexFormatError } from '../../src/state/indexCodec';
import { REAL_LOGS, tokens } from './helpers';

const pricer = new Pricer();
const rateKeyOf = (m: string | null) => pricer.rateKey(m);

async function realRecords(): Promise<RequestRecord[]> {
  const env = { env: { CLAUDE_CONFIG_DIR: path.join(REAL_LOGS, 'claude-code'), CODEX_HOME: path.join(REAL_LOGS, 'codex') }, home: '/none', platform: 'linux' as const };
  const ledger = new Ledger(pricer);
  await new Scanner(createSources(env, fsp, { enabled: ['claude-code', 'codex'] }), new Tailer(fsp), (e) => ledger.addAll(e)).scanAll();
  return [...ledger.allRecords()];
}

/** The JSON report without its labels map (compared whole). */
function same(a: ReturnType<typeof buildReport>, b: ReturnType<typeof buildReport>, what: string): void {
  assert.deepEqual({ totals: a.totals, groups: a.groups }, { totals: b.totals, groups: b.groups }, what);
  const sorted = (m: Map<string, string>) => [...m].sort((x, y) => (x[0] < y[0] ? -1 : 1));
  assert.deepEqual(sorted(a.basis), sorted(b.basis), `${what}: basis`);
}

function ev(p: Partial<UsageEvent> & { key: string }): UsageEvent {
  return { agent: 'claude-code', sessionId: 's1', project: '/p', model: 'claude-sonnet-4-5', timestamp: Date.UTC(2026, 0, 1, 12), tokens: tokens({ input: 100, output: 10 }), file: '/f', ...p };
}

describe('rollup: requests summed per session, model and day', () => {
  let records: RequestRecord[];
  before(async function () {
    this.timeout(60000);
    records = await realRecords();
    assert.ok(records.length > 1000, `${records.length} requests`);
  });

  it('gives the same report as the requests, for every grouping and filter (real logs)', () => {
    const rollup = Rollup.build(records, rateKeyOf);
    assert.ok(rollup.size > 0 && rollup.size < records.length, `${rollup.size} cells for ${records.length} requests`);
    const days = [...new Set(records.map((r) => buildReport([r], {}, 'day').groups[0]!.key))].sort();
    const mid = days[Math.floor(days.length / 2)]!;
    const filters: ReportFilter[] = [{}, { since: mid }, { until: mid }, { since: mid, until: mid }, { agents: ['codex'] }, { agents: ['claude-code'], since: days[1]! }];
    for (const filter of filters) {
      for (const by of [undefined, ...GROUP_BYS]) {
        same(buildReportFromCells(rollup.values(), filter, by), buildReport(records, filter, by), `by ${by ?? '(none)'} ${JSON.stringify(filter)}`);
      }
    }
  });

  it('kept in step by a ledger (adds, merges that move a request to another day or session) equals one built afresh', () => {
    const l = new Ledger(pricer, undefined, 'totals-only');
    const rollup = Rollup.build([], rateKeyOf);
    l.trackRollup(rollup);
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const models = ['claude-sonnet-4-5', 'gpt-5-codex', 'no-such-model', null];
    for (let i = 0; i < 3000; i++) {
      const key = `k${rand(800)}`;
      l.add(ev({
        key, sessionId: `s${rand(5)}`, model: models[rand(4)]!, agent: rand(2) ? 'claude-code' : 'codex',
        timestamp: Date.UTC(2026, 0, 1 + rand(4), rand(24)), tokens: tokens({ input: rand(5000), output: rand(900), cacheRead: rand(20000) }),
        ...(rand(3) === 0 ? { loggedCostUSD: rand(1000) / 1e4 } : {}),
      }));
    }
    const fresh = Rollup.build(l.allRecords(), rateKeyOf);
    const cells = (r: Rollup) => [...r.values()].map((c) => JSON.stringify(c)).sort();
    const tracked = cells(rollup);
    // first/last times only widen on removal: compare them through the report, the rest exactly
    const noTimes = (xs: string[]) => xs.map((x) => x.replace(/"firstTimestamp":[^,]+,"lastTimestamp":[^}]+/, ''));
    assert.deepEqual(noTimes(tracked), noTimes(cells(fresh)));
    for (const by of [undefined, ...GROUP_BYS]) same(buildReportFromCells(rollup.values(), {}, by), buildReport(l.allRecords(), {}, by), `by ${by}`);
    assert.ok(rollup.usable(Date.UTC(2026, 1, 1), 60_000));
  });

  it('is refused when a model is charged otherwise now, or a day has other bounds (another time zone)', () => {
    const rollup = Rollup.build(records, rateKeyOf);
    const data = rollup.toData();
    const again = Rollup.restore(data, rateKeyOf);
    assert.ok(again instanceof Rollup);
    same(buildReportFromCells(again.values(), {}, 'model'), buildReportFromCells(rollup.values(), {}, 'model'), 'restored');
    const model = data.prices.find(([, rates]) => rates !== null)![0]!;
    const overridden = new Pricer(undefined, { [model]: { input: 99, output: 99 } });
    assert.match(String(Rollup.restore(data, (m) => overridden.rateKey(m))), /prices of .* changed/);
    const shifted = { ...data, days: data.days.map(([d, s, e]): [string, number, number] => [d, s + 3600_000, e + 3600_000]) };
    assert.match(String(Rollup.restore(shifted, rateKeyOf)), /has other bounds in this time zone/);
  });

  it('a removal it has no cell for, or a request after now, makes it unusable (the rows are read)', () => {
    const r = Rollup.build([{ ...ev({ key: 'a' }), costNanos: 5 }], rateKeyOf);
    assert.ok(r.usable(Date.UTC(2026, 0, 2), 0));
    assert.equal(r.usable(Date.UTC(2026, 0, 1, 11), 60_000), false, 'a request in the future');
    r.apply({ ...ev({ key: 'b', sessionId: 'other' }), costNanos: 5 }, -1);
    assert.equal(r.usable(Date.UTC(2026, 0, 2), 0), false);
  });

  it('a cell given twice (not from a sound index) is summed, and the rollup distrusted once it changes', () => {
    const one = Rollup.build([{ ...ev({ key: 'a' }), costNanos: 5 }], rateKeyOf).toData();
    const twice = { ...one, cells: [one.cells[0]!, { ...one.cells[0]!, totals: { ...one.cells[0]!.totals } }] };
    const r = Rollup.restore(twice, rateKeyOf);
    assert.ok(r instanceof Rollup);
    assert.equal(buildReportFromCells(r.values(), {}).totals.requests, 2);
    r.apply({ ...ev({ key: 'b' }), costNanos: 5 }, 1);
    assert.equal(buildReportFromCells(r.values(), {}).totals.requests, 3);
    assert.equal(r.usable(Date.UTC(2026, 0, 2), 0), false);
  });

  it('round-trips through the index; a damaged cell is an IndexFormatError when the rollup is read', () => {
    const rollup = Rollup.build(records, rateKeyOf).toData();
    const bytes = encodeIndex({ savedAt: 1, files: [], records: [], prompts: [], edits: [], rollup });
    const back = decodeIndexColumns(bytes).rollup!;
    assert.deepEqual(back.days, rollup.days);
    assert.deepEqual(back.prices, rollup.prices);
    assert.deepEqual(back.cells.map((c) => JSON.stringify(c)), rollup.cells.map((c) => JSON.stringify(c)));
    // the first rollup value (requests of cell 0) sits right after the (empty) request columns
    const headerLen = bytes.readUInt32LE(8);
    const at = (12 + headerLen + 7) & ~7;
    assert.equal(bytes.readDoubleLE(at), rollup.cells[0]!.totals.requests);
    const damaged = Buffer.from(bytes);
    damaged.writeDoubleLE(-1, at);
    const decoded = decodeIndexColumns(damaged);
    assert.throws(() => decoded.rollup, (e: unknown) => e instanceof IndexFormatError && /rollup cell 0: bad requests -1/.test(e.message));
    assert.equal(decodeIndexColumns(encodeIndex({ savedAt: 1, files: [], records: [], prompts: [], edits: [] })).rollup, undefined);
  });
});
