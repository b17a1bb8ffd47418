import { strict as assert } from 'node:assert';
import { outputMetrics, spendWithoutOutput, summarizeEdits, type EditRecord } from '../../src/core/output';

const edit = (path: string, added: number, removed: number, extra: Partial<EditRecord> = {}): EditRecord =>
  ({ key: `${path}:${added}:${removed}:${extra.failed ? 'f' : ''}`, sessionId: 's', timestamp: 1, file: 'log', path, linesAdded: added, linesRemoved: removed, exact: true, ...extra });
const USD = 1e9;

describe('output versus spend', () => {
  it('sums applied edits, distinct files, and says when a count is a lower bound', () => {
    const s = summarizeEdits([edit('/a', 10, 2), edit('/b', 5, 0), edit('/a', 1, 1), edit('/c', 0, 0, { failed: true }), edit('/d', 4, 0, { exact: false })]);
    assert.deepEqual({ ...s }, { linesAdded: 20, linesRemoved: 3, filesTouched: 3, edits: 4, failedEdits: 1, exact: false, paths: ['/a', '/b', '/d'] });
  });

  it('gives cost per 100 changed lines, per commit, and the surviving share; null where unknown', () => {
    const s = summarizeEdits([edit('/a', 150, 50)]);
    const m = outputMetrics(4 * USD, s, { commits: 2, survivingLines: 120 });
    assert.equal(m.changedLines, 200);
    assert.equal(m.costPer100LinesNanos, 2 * USD);
    assert.equal(m.costPerCommitNanos, 2 * USD);
    assert.equal(m.survivingShare, 0.8);
    const noGit = outputMetrics(4 * USD, s);
    assert.deepEqual([noGit.commits, noGit.costPerCommitNanos, noGit.survivingShare], [null, null, null]);
    const nothing = outputMetrics(4 * USD, summarizeEdits([]), { commits: 0, survivingLines: 0 });
    assert.deepEqual([nothing.costPer100LinesNanos, nothing.costPerCommitNanos, nothing.survivingShare], [null, null, null]);
  });

  it('flags spend above the threshold with no line changed and no commit', () => {
    const none = summarizeEdits([edit('/a', 3, 0, { failed: true })]);
    assert.equal(spendWithoutOutput(outputMetrics(6 * USD, none, { commits: 0 }), 5), true);
    assert.equal(spendWithoutOutput(outputMetrics(6 * USD, none), 5), true, 'no commit known');
    assert.equal(spendWithoutOutput(outputMetrics(4 * USD, none, { commits: 0 }), 5), false, 'below the threshold');
    assert.equal(spendWithoutOutput(outputMetrics(6 * USD, none, { commits: 1 }), 5), false, 'a commit is output');
    assert.equal(spendWithoutOutput(outputMetrics(6 * USD, summarizeEdits([edit('/a', 1, 0)])), 5), false, 'a changed line is output');
  });
});
