/**
 * Random inspections ("double random, one public"): a sample of subjects drawn from a population
 * snapshot, each with an inspector drawn from the regulators, both by a PRNG seeded from the
 * recorded seed, so the same seed and snapshot always give the same draw. Outcomes are recorded
 * by the assigned inspector only, once.
 *
 * The rule: the population is sorted (kind, then id) and deduplicated; the sample is the first
 * `sampleSize` positions of a Fisher–Yates shuffle driven by sfc32 seeded with cyrb128(seed); each
 * sampled subject then gets inspectors[floor(next() × n)], drawn again (at most
 * `inspectorRedrawsMax` times) while the inspector is the subject itself.
 */
import { canonicalJson, DomainError, deterministicId } from '@sizhong/kit/domain';

export const inspectionSubjectKinds = ['campaign', 'task', 'round', 'participant'] as const;
export type InspectionSubjectKind = (typeof inspectionSubjectKinds)[number];
export const sampleSizeMax = 100;
export const populationMax = 50_000;
export const inspectorsMax = 1_000;
export const inspectorRedrawsMax = 32;
export const seedLengthMax = 64;
export const summaryLengthMax = 2_000;

export interface InspectionSubject {
  readonly kind: InspectionSubjectKind;
  readonly id: string;
}

export type InspectionOutcome = 'pending' | 'compliant' | 'findings';

export interface InspectionItem {
  readonly subject: InspectionSubject;
  readonly inspectorId: string;
  readonly outcome: InspectionOutcome;
  readonly summary: string;
  readonly completedAt?: Date;
}

export interface InspectionDraw {
  readonly id: string;
  readonly seed: string;
  readonly subjectKinds: readonly InspectionSubjectKind[];
  readonly drawnBy: string;
  readonly drawnAt: Date;
  /** The sorted population and inspectors the draw used (the snapshot), and their hash. */
  readonly population: readonly string[];
  readonly inspectors: readonly string[];
  readonly snapshotHash: string;
  readonly items: readonly InspectionItem[];
}

/** cyrb128: four 32-bit words from a string (a seed hash, not a cryptographic one). */
function cyrb128(text: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    h1 = h2 ^ Math.imul(h1 ^ code, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ code, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ code, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ code, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  return [(h1 ^ h2 ^ h3 ^ h4) >>> 0, (h2 ^ h1) >>> 0, (h3 ^ h1) >>> 0, (h4 ^ h1) >>> 0];
}

/** sfc32: a small, fast PRNG with a 128-bit state; returns numbers in [0, 1). */
export function seededRandom(seed: string): () => number {
  let [a, b, c, d] = cyrb128(seed);
  return () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

export function subjectKey(subject: InspectionSubject): string {
  return `${subject.kind}:${subject.id}`;
}

function subjectOfKey(key: string): InspectionSubject {
  const separator = key.indexOf(':');
  return { kind: key.slice(0, separator) as InspectionSubjectKind, id: key.slice(separator + 1) };
}

export interface DrawInput {
  readonly id: string;
  readonly seed: string;
  readonly subjectKinds: readonly InspectionSubjectKind[];
  readonly sampleSize: number;
  readonly population: readonly InspectionSubject[];
  readonly inspectors: readonly string[];
  readonly drawnBy: string;
  readonly drawnAt: Date;
}

export function drawInspection(input: DrawInput): InspectionDraw {
  if (input.seed.length === 0 || input.seed.length > seedLengthMax) throw new DomainError('INVALID_ARGUMENT', `a seed has 1 to ${seedLengthMax} characters`, { field: 'seed' });
  if (!Number.isInteger(input.sampleSize) || input.sampleSize < 1 || input.sampleSize > sampleSizeMax) throw new DomainError('LIMIT_EXCEEDED', `a sample holds 1 to ${sampleSizeMax} subjects`, { field: 'sampleSize', max: sampleSizeMax });
  if (input.subjectKinds.length === 0) throw new DomainError('INVALID_ARGUMENT', 'name at least one subject kind', { field: 'subjectKinds' });
  const population = [...new Set(input.population.filter((subject) => input.subjectKinds.includes(subject.kind)).map(subjectKey))].sort();
  const inspectors = [...new Set(input.inspectors)].sort();
  if (population.length > populationMax) throw new DomainError('LIMIT_EXCEEDED', `a population holds at most ${populationMax} subjects`, { max: populationMax });
  if (inspectors.length === 0) throw new DomainError('INVALID_STATE', 'there is no regulator to inspect');
  if (inspectors.length > inspectorsMax) throw new DomainError('LIMIT_EXCEEDED', `at most ${inspectorsMax} inspectors`, { max: inspectorsMax });
  const random = seededRandom(input.seed);
  const order = [...population];
  const sampleSize = Math.min(input.sampleSize, order.length);
  for (let position = 0; position < sampleSize; position += 1) {
    const pick = position + Math.floor(random() * (order.length - position));
    [order[position], order[pick]] = [order[pick]!, order[position]!];
  }
  const items: InspectionItem[] = order.slice(0, sampleSize).map((key) => {
    const subject = subjectOfKey(key);
    let inspectorId = inspectors[Math.floor(random() * inspectors.length)]!;
    for (let redraw = 0; subject.kind === 'participant' && inspectorId === subject.id && inspectors.length > 1 && redraw < inspectorRedrawsMax; redraw += 1) {
      inspectorId = inspectors[Math.floor(random() * inspectors.length)]!;
    }
    return { subject, inspectorId, outcome: 'pending', summary: '' };
  });
  const kinds = [...new Set(input.subjectKinds)].sort();
  return {
    id: input.id,
    seed: input.seed,
    subjectKinds: kinds,
    drawnBy: input.drawnBy,
    drawnAt: input.drawnAt,
    population,
    inspectors,
    snapshotHash: deterministicId('snap', canonicalJson({ population, inspectors })),
    items,
  };
}

/** The assigned inspector records an item's outcome, once. */
export function recordOutcome(draw: InspectionDraw, index: number, inspectorId: string, outcome: 'compliant' | 'findings', summary: string, now: Date): InspectionDraw {
  const item = draw.items[index];
  if (!item) throw new DomainError('NOT_FOUND', `draw ${draw.id} has no item ${index}`);
  if (item.inspectorId !== inspectorId) throw new DomainError('PERMISSION_DENIED', 'only the assigned inspector records this outcome');
  if (summary.length > summaryLengthMax) throw new DomainError('LIMIT_EXCEEDED', `a summary has at most ${summaryLengthMax} characters`, { field: 'summary', max: summaryLengthMax });
  if (item.outcome !== 'pending') {
    if (item.outcome === outcome && item.summary === summary) return draw;
    throw new DomainError('INVALID_STATE', `item ${index} already has the outcome ${item.outcome}`);
  }
  const items = draw.items.map((existing, position) => (position === index ? { ...existing, outcome, summary, completedAt: now } : existing));
  return { ...draw, items };
}
