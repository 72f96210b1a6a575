// Proves random inspections are reproducible: the same seed and snapshot give the same sample and
// inspectors whatever order the population arrives in; another seed gives another draw; limits hold.
import fc from 'fast-check';
import { drawInspection, type InspectionSubject, recordOutcome, sampleSizeMax, seededRandom } from './inspection';

const population: InspectionSubject[] = [
  ...Array.from({ length: 30 }, (_unused, index) => ({ kind: 'campaign' as const, id: `cmp_${index}` })),
  ...Array.from({ length: 20 }, (_unused, index) => ({ kind: 'participant' as const, id: `pt_${index}` })),
];
const base = { id: 'insp_1', subjectKinds: ['campaign', 'participant'] as const, sampleSize: 5, inspectors: ['reg_a', 'reg_b', 'reg_c'], drawnBy: 'reg_a', drawnAt: new Date(0) };

describe('random inspections', () => {
  it('draws the same sample and inspectors from the same seed and snapshot, in any order', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 64 }), fc.shuffledSubarray(population, { minLength: population.length, maxLength: population.length }), (seed, shuffled) => {
        const first = drawInspection({ ...base, seed, population });
        const second = drawInspection({ ...base, seed, population: shuffled, inspectors: [...base.inspectors].reverse() });
        expect(second.items).toEqual(first.items);
        expect(second.snapshotHash).toBe(first.snapshotHash);
        expect(new Set(first.items.map((item) => `${item.subject.kind}:${item.subject.id}`)).size).toBe(5);
      }),
      { numRuns: 100 },
    );
  });

  it('pins one draw (a change of the rule shows here)', () => {
    const draw = drawInspection({ ...base, seed: 'sizhong-2026', population });
    expect(draw.items.map((item) => `${item.subject.kind}:${item.subject.id}@${item.inspectorId}`)).toEqual(['participant:pt_13@reg_c', 'participant:pt_6@reg_c', 'campaign:cmp_27@reg_c', 'campaign:cmp_9@reg_b', 'campaign:cmp_11@reg_b']);
    expect(draw.population).toHaveLength(50);
    expect(seededRandom('a')()).toBe(seededRandom('a')());
  });

  it('differs for another seed and keeps to the kinds asked for', () => {
    const one = drawInspection({ ...base, seed: 'one', population, subjectKinds: ['campaign'] });
    const two = drawInspection({ ...base, seed: 'two', population, subjectKinds: ['campaign'] });
    expect(one.items.map((item) => item.subject.id)).not.toEqual(two.items.map((item) => item.subject.id));
    expect(one.items.every((item) => item.subject.kind === 'campaign')).toBe(true);
    expect(one.population).toHaveLength(30);
  });

  it('never makes a regulator inspect themselves when another can', () => {
    const selves = [{ kind: 'participant' as const, id: 'reg_a' }, { kind: 'participant' as const, id: 'reg_b' }];
    for (let seed = 0; seed < 200; seed += 1) {
      const draw = drawInspection({ ...base, seed: String(seed), population: selves, subjectKinds: ['participant'], sampleSize: 2, inspectors: ['reg_a', 'reg_b'] });
      for (const item of draw.items) expect(item.inspectorId).not.toBe(item.subject.id);
    }
  });

  it('takes the whole population when it is smaller than the sample; refuses a sample past the limit', () => {
    expect(drawInspection({ ...base, seed: 's', population: population.slice(0, 2), sampleSize: 5 }).items).toHaveLength(2);
    expect(drawInspection({ ...base, seed: 's', population, sampleSize: sampleSizeMax }).items).toHaveLength(50);
    expect(() => drawInspection({ ...base, seed: 's', population, sampleSize: sampleSizeMax + 1 })).toThrow(expect.objectContaining({ code: 'LIMIT_EXCEEDED' }));
    expect(() => drawInspection({ ...base, seed: 's', population, sampleSize: 0 })).toThrow(expect.objectContaining({ code: 'LIMIT_EXCEEDED' }));
    expect(() => drawInspection({ ...base, seed: 's', population, inspectors: [] })).toThrow(expect.objectContaining({ code: 'INVALID_STATE' }));
  });

  it('lets only the assigned inspector record an outcome, once', () => {
    const draw = drawInspection({ ...base, seed: 'x', population });
    const inspector = draw.items[0]!.inspectorId;
    const other = base.inspectors.find((id) => id !== inspector)!;
    expect(() => recordOutcome(draw, 0, other, 'compliant', '', new Date(1))).toThrow(expect.objectContaining({ code: 'PERMISSION_DENIED' }));
    const done = recordOutcome(draw, 0, inspector, 'findings', 'books incomplete', new Date(1));
    expect(done.items[0]).toMatchObject({ outcome: 'findings', summary: 'books incomplete', completedAt: new Date(1) });
    expect(recordOutcome(done, 0, inspector, 'findings', 'books incomplete', new Date(2))).toBe(done);
    expect(() => recordOutcome(done, 0, inspector, 'compliant', '', new Date(2))).toThrow(expect.objectContaining({ code: 'INVALID_STATE' }));
    expect(() => recordOutcome(done, 99, inspector, 'compliant', '', new Date(2))).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });
});
