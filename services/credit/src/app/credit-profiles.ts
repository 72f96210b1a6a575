/**
 * Applying events to credit records, and reading scores. One event touches each participant it
 * names with one guarded write (load → apply → write; the load is served from memory after the
 * first, see WriteThroughCache); a participant's first event creates the record. The score changes go to the history afterwards; a crash in between is finished by the
 * retry (the record keeps the changes of its last event).
 */
import { type AggregateStore, KeyedMutex } from '@sizhong/kit';
import type { CreditEvent } from '../domain/events';
import { factsOfEvent } from '../domain/events';
import type { CreditRole } from '../domain/model';
import { modelVersion, type Score } from '../domain/model';
import { applyToCredit, creditScore, emptyCredit, factsFor, type ParticipantCredit, type ScoreChange } from '../domain/participant-credit';
import type { ScoreHistory } from '../storage/credit-store';
import { WriteThroughCache } from './write-through-cache';

export interface CreditProfileView extends Score {
  readonly participantId: string;
  readonly role: CreditRole | '';
  readonly modelVersion: string;
  /** The time of the latest fact behind the score (undefined for a new participant). */
  readonly updatedAt: Date | undefined;
}

export class CreditProfiles {
  private readonly cache: WriteThroughCache<ParticipantCredit>;
  private readonly locks = new KeyedMutex();

  constructor(
    private readonly records: AggregateStore<ParticipantCredit>,
    private readonly history: ScoreHistory,
  ) {
    this.cache = new WriteThroughCache(records);
  }

  /** Applies an event to every participant it names; returns the score changes it caused. */
  async apply(event: CreditEvent): Promise<ScoreChange[]> {
    const all: ScoreChange[] = [];
    for (const [participantId, deltas] of factsOfEvent(event)) all.push(...(await this.applyTo(participantId, event, deltas)));
    return all;
  }

  private async applyTo(participantId: string, event: CreditEvent, deltas: Parameters<typeof applyToCredit>[2]): Promise<readonly ScoreChange[]> {
    // Events of different partitions are applied side by side: one participant's record changes one event at a time.
    return this.locks.run(participantId, () => this.applyLocked(participantId, event, deltas));
  }

  private async applyLocked(participantId: string, event: CreditEvent, deltas: Parameters<typeof applyToCredit>[2]): Promise<readonly ScoreChange[]> {
    const current = await this.cache.load(participantId);
    const outcome = applyToCredit(current?.state ?? emptyCredit(participantId), event, deltas);
    if (outcome.kind === 'duplicate') {
      // Applied before; its history may not have been written if the process stopped in between.
      const unfinished = current?.state.lastChanges.filter((change) => change.causeEventId === event.id) ?? [];
      await this.history.record(unfinished);
      // A retry returns the changes again: the history and the risk rules apply them once by id.
      return unfinished;
    }
    await this.cache.write(participantId, current, outcome.credit);
    await this.history.record(outcome.changes);
    return outcome.changes;
  }

  async profile(participantId: string, role: CreditRole | ''): Promise<CreditProfileView> {
    const record = (await this.records.load(participantId))?.state;
    const facts = factsFor(record, role);
    return { participantId, role, modelVersion, ...creditScore(record, role), updatedAt: facts?.lastSeenAt };
  }

  async changes(participantId: string, role: CreditRole | '', limit: number, skip: number): Promise<ScoreChange[]> {
    return this.history.list(participantId, role, limit, skip);
  }
}
