// Proves the many-seeds runner's report: one row per seed and totals that add up, failed seeds named by their exit.
import { findingSignatures, resultsTable, type SeedResult } from './chaos-seeds';

const held = (seed: number, replicas: number): SeedResult => ({ seed, commit: 'abc1234', options: '--faults 30', exitCode: 0, seconds: 180, replicas, faults: 30, sagas: 100 + seed, midFlight: 10, counts: true, quiet: true, checks: 500, violations: 0 });

describe('resultsTable', () => {
  it('has a row per seed and totals of faults, sagas, mid-flight hits, violations and hours', () => {
    const crashed: SeedResult = { seed: 3, commit: 'abc1234', options: '--faults 30', exitCode: 1, seconds: 360, replicas: 2 };
    const violated: SeedResult = { ...held(4, 2), exitCode: 1, violations: 2, found: ['✗ seed 4, step 30 of 30: task tk_1 is open, not terminal'] };
    const table = resultsTable([held(1, 1), held(2, 1), crashed, violated]);
    const rows = table.split('\n').filter((line) => /^\| \d/.test(line));
    expect(rows).toHaveLength(4);
    expect(rows[2]).toContain('exit 1');
    expect(table).toContain('4 seeds (2 at two replicas), 90 faults, 307 sagas run, 30 mid-flight hits, 3 counting, 2 violations in 2 seed(s) that failed, 0.3 hours');
  });
});

describe('findingSignatures', () => {
  it('tell a re-introduced finding from a violation of another kind', () => {
    const contest = '✗ seed 1, step 10 of 10: task (contest) tk_1 is open, not terminal (completed, cancelled, closed, refused)';
    const disputed = '✗ seed 1, step 10 of 10: assignment as_1 is disputed (lease held), not terminal';
    expect(findingSignatures['no-contest-rule'].test(contest)).toBe(true);
    expect(findingSignatures['no-contest-rule'].test(disputed)).toBe(false);
    expect(findingSignatures['no-abandonment'].test('✗ seed 2, step 9 of 10: assignment as_2 is rejected (lease held), not terminal')).toBe(true);
    expect(findingSignatures['no-abandonment'].test(disputed)).toBe(false);
    expect(findingSignatures['consumer-parks'].test('✗ seed 3, step 12 of 12: credit never applied event ev_1 (RoundFailed on round rd_1)')).toBe(true);
    expect(findingSignatures['compensate-unknown-outcome'].test('✗ seed 4, step 1 of 10: transfer tr_1 left pending (a hold nobody posted or voided): commitment cm_1, 100 CNY')).toBe(true);
  });
});
