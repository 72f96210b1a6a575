/**
 * Drawing random inspections and recording their outcomes. A draw takes a snapshot of the
 * population (campaigns, tasks, rounds and participants credit knows) and stores it with the seed,
 * so the draw can be repeated and checked. An idempotency key names the draw: a retry returns it.
 */
import { randomBytes } from 'node:crypto';
import { AggregateStore, type Clock, deterministicId, type Logger, type MongoConnection, plainCodec } from '@sizhong/kit';
import { drawInspection, type InspectionDraw, type InspectionItem, type InspectionSubjectKind, populationMax, recordOutcome } from '../domain/inspection';
import type { Subjects } from '../storage/subjects';

export function createInspectionStore(mongo: MongoConnection, logger: Logger): AggregateStore<InspectionDraw> {
  return new AggregateStore<InspectionDraw>(mongo, 'inspection_draws', plainCodec<InspectionDraw>(), logger, { indexes: [{ 'state.drawnAt': -1 }] });
}

export interface DrawRequest {
  readonly subjectKinds: readonly InspectionSubjectKind[];
  readonly sampleSize: number;
  readonly seed?: string | undefined;
  readonly inspectorIds: readonly string[];
  readonly drawnBy: string;
  readonly idempotencyKey?: string | undefined;
}

export interface CompletedItem extends InspectionItem {
  readonly drawId: string;
  readonly index: number;
}

/** Draws scanned for the public list of completed inspections. */
export const drawsScannedMax = 1_000;

export class Inspections {
  constructor(
    private readonly draws: AggregateStore<InspectionDraw>,
    private readonly subjects: Subjects,
    private readonly clock: Clock,
  ) {}

  async draw(request: DrawRequest): Promise<InspectionDraw> {
    const id = request.idempotencyKey ? deterministicId('insp', request.drawnBy, request.idempotencyKey) : deterministicId('insp', request.drawnBy, randomBytes(16).toString('hex'));
    const existing = await this.draws.load(id);
    if (existing) return existing.state;
    const population = await this.subjects.population(request.subjectKinds, populationMax);
    const draw = drawInspection({
      id,
      seed: request.seed || randomBytes(8).toString('hex'),
      subjectKinds: request.subjectKinds,
      sampleSize: request.sampleSize,
      population,
      inspectors: request.inspectorIds,
      drawnBy: request.drawnBy,
      drawnAt: this.clock.now(),
    });
    return (await this.draws.create(id, draw, [])).aggregate.state;
  }

  async get(drawId: string): Promise<InspectionDraw> {
    return (await this.draws.get(drawId, 'inspection draw')).state;
  }

  async recordOutcome(drawId: string, index: number, inspectorId: string, outcome: 'compliant' | 'findings', summary: string): Promise<CompletedItem> {
    const { aggregate } = await this.draws.update(drawId, (current) => ({ state: recordOutcome(current.state, index, inspectorId, outcome, summary, this.clock.now()), events: [], result: undefined }), 'inspection draw');
    return { ...aggregate.state.items[index]!, drawId, index };
  }

  /** Completed items, newest first (public). */
  async completed(limit: number, skip: number): Promise<CompletedItem[]> {
    const draws = await this.draws.find({ 'state.items.outcome': { $in: ['compliant', 'findings'] } }, { limit: drawsScannedMax, sort: { 'state.drawnAt': -1 } });
    const items = draws.flatMap((loaded) => loaded.state.items.map((item, index) => ({ ...item, drawId: loaded.id, index })).filter((item) => item.outcome !== 'pending'));
    items.sort((a, b) => (b.completedAt?.getTime() ?? 0) - (a.completedAt?.getTime() ?? 0) || (a.drawId < b.drawId ? -1 : a.drawId > b.drawId ? 1 : a.index - b.index));
    return items.slice(skip, skip + limit);
  }
}
