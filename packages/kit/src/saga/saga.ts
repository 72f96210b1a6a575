/**
 * The one saga model (docs/storage.md "Sagas"). A saga is data: its record is
 * written first and never deleted, and moves through named states to a terminal one. Steps run in
 * stages (a stage of several steps runs them in parallel), each step keyed so that running it again
 * recognises its own earlier effect, and each naming its compensation and the codes that are a
 * **definite refusal** of it. The rules are enforced here, not by callers:
 *
 *   - only a DomainError whose code the failing step lists is a definite refusal; it moves the
 *     record to `compensating` (with the refusal, the steps that took effect and their facts), the
 *     taken steps are compensated in reverse, and the record ends `given_back`. Any other failure
 *     (a gRPC deadline, an unavailable peer, an internal error, a lost write race) is an **unknown
 *     outcome**: the record stays unfinished for a retry or the recovery loop, nothing is given back;
 *   - a retry with the same id reads the record: `completed` answers with the recorded answer,
 *     `given_back` with the recorded refusal (same code, so the same HTTP status), an unfinished
 *     one is driven on where it stands;
 *   - codes that mean an unknown outcome can never be listed as refusals (checked at definition).
 *
 * A step must be safe to run again after it took effect, after its compensation, and concurrently
 * with itself (two drivers: a retry and recovery); it verifies what it finds (a voided hold is not
 * a hold). Inside one process drivers of one saga queue on a keyed mutex.
 */
import type { Document } from 'mongodb';
import type { Logger } from 'pino';
import type { Clock } from '../clock';
import { findingReintroduced } from '../chaos-finding';
import { DomainError, type ErrorCode, unknownOutcomeCodes } from '../errors';
import { KeyedMutex } from '../keyed-mutex';
import { plainCodec } from '../mongo/plain-codec';
import type { SagaLog, SagaRecord, SagaRecordStore, SagaRefusal } from './saga-log';


/** How long a fresh saga is left to the request that started it before recovery may drive it on. */
export const sagaRecoveryAgeDefaultMs = 30_000;

/** What a step is told about the drive it runs in. */
export interface SagaDrive {
  /**
   * False only in the request that wrote the record, whose steps are the first to run: nothing of
   * them can have happened, so a step may skip the reads that verify an earlier effect. True for
   * every other driver (a same-key retry, recovery, an admin), whose steps verify what they find.
   */
  readonly resumed: boolean;
}

export interface SagaStep<Input, Facts> {
  readonly name: string;
  /** The codes that are a definite refusal of this step (nothing of it took effect). */
  readonly refusals: readonly ErrorCode[];
  /** Performs the step (idempotent, verifying what it finds); may return facts later steps need. */
  run(input: Input, facts: Facts, drive: SagaDrive): Promise<Partial<Facts> | void>;
  /** Undoes the step after a later definite refusal; idempotent, and a no-op when nothing is left to undo. */
  compensate?(input: Input, facts: Facts): Promise<void>;
}

/** One step, or several run in parallel. */
export type SagaStage<Input, Facts> = SagaStep<Input, Facts> | readonly SagaStep<Input, Facts>[];

export interface SagaDefinition<Input, Facts extends object, Answer> {
  /** Names the saga in its records, metrics and logs: `pledge`, `commitment`, `claim`, … */
  readonly kind: string;
  readonly stages: readonly SagaStage<Input, Facts>[];
  /** The last step, whose answer the record keeps for same-key retries; its refusals are definite too. */
  readonly finish: { readonly refusals: readonly ErrorCode[]; run(input: Input, facts: Facts): Promise<Answer> };
  /** Facts before any step ran. */
  initialFacts(input: Input): Facts;
  /**
   * Where this saga's records live; defaults to the service's `SagaLog`. A hot path may keep them
   * in a document it writes anyway, behind the same interface (recovery then claims from it too).
   */
  readonly records?: SagaRecordStore;
  /** Plain data in and out of the record; defaults to storing the value as it is (bigint and Date kept). */
  readonly codec?: { input?: PlainConverter<Input>; answer?: PlainConverter<Answer>; facts?: PlainConverter<Facts> };
}

export interface PlainConverter<Value> {
  toDocument(value: Value): Document;
  fromDocument(document: Document): Value;
}

export interface SagaStart<Input> {
  /** Deterministic from the request's idempotency key: the same request names the same saga. */
  readonly id: string;
  readonly input: Input;
  /** requestFingerprint of the request; a same-id start with another fingerprint is refused. */
  readonly fingerprint: string;
}

/** A defined saga, bound to its service's log. */
export interface Saga<Input, Answer> {
  readonly kind: string;
  /** Starts the saga, or answers a retry of it from its record (driving an unfinished one on). */
  run(start: SagaStart<Input>): Promise<Answer>;
  /** Drives an existing saga on (recovery, the admin command); its answer, or its refusal thrown. */
  resume(id: string): Promise<Answer>;
}

export interface SagasOptions {
  readonly log: SagaLog;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Default `sagaRecoveryAgeDefaultMs`. */
  readonly recoveryAgeMs?: number;
}

/** One per service: defines its sagas on its log and knows them by kind for recovery. */
export class Sagas {
  private readonly byKind = new Map<string, Saga<unknown, unknown>>();
  private readonly storeOfKind = new Map<string, SagaRecordStore>();
  private readonly mutex = new KeyedMutex();

  constructor(readonly options: SagasOptions) {}

  get kinds(): readonly string[] {
    return [...this.byKind.keys()];
  }

  get log(): SagaLog {
    return this.options.log;
  }

  /** Each record store with the kinds kept in it (recovery claims from each). */
  get stores(): readonly { store: SagaRecordStore; kinds: string[] }[] {
    const grouped = new Map<SagaRecordStore, string[]>();
    for (const [kind, store] of this.storeOfKind) grouped.set(store, [...(grouped.get(store) ?? []), kind]);
    return [...grouped].map(([store, kinds]) => ({ store, kinds }));
  }

  define<Input, Facts extends object, Answer>(definition: SagaDefinition<Input, Facts, Answer>): Saga<Input, Answer> {
    if (this.byKind.has(definition.kind)) throw new Error(`saga kind ${definition.kind} is defined twice`);
    for (const step of [...definition.stages.flat(), { name: 'finish', ...definition.finish }]) {
      const unknown = step.refusals.filter((code) => unknownOutcomeCodes.includes(code));
      if (unknown.length > 0) throw new Error(`saga ${definition.kind}: step ${step.name} lists ${unknown.join(', ')} as a definite refusal, but those codes mean an unknown outcome`);
    }
    const store = definition.records ?? this.options.log;
    const saga = new DefinedSaga(definition, { ...this.options, store }, this.mutex);
    this.byKind.set(definition.kind, saga as Saga<unknown, unknown>);
    this.storeOfKind.set(definition.kind, store);
    return saga;
  }

  /** Drives a saga of any kind on (the recovery loop). */
  async resume(record: Pick<SagaRecord, '_id' | 'kind'>): Promise<void> {
    const saga = this.byKind.get(record.kind);
    if (!saga) throw new Error(`no saga kind ${record.kind} is defined in this service`);
    await saga.resume(record._id).catch((error: unknown) => {
      // A refusal is a finished saga: recovery is done with it.
      if (!(error instanceof DomainError) || unknownOutcomeCodes.includes(error.code)) throw error;
    });
  }
}

/** The error a given-back saga answers with. */
export function refusalError(refusal: SagaRefusal): DomainError {
  return new DomainError(refusal.code, refusal.message, refusal.details);
}

/** A definite refusal of the step that failed, or undefined for an unknown outcome. */
function definiteRefusal(error: unknown, refusals: readonly ErrorCode[]): SagaRefusal | undefined {
  // The fault-injection run's switch brings back issue 16's first finding: every DomainError, a gRPC failure too, taken for a refusal.
  if (findingReintroduced('compensate-unknown-outcome') && error instanceof DomainError) return { code: error.code, message: error.message, details: error.details };
  if (!(error instanceof DomainError) || !refusals.includes(error.code) || unknownOutcomeCodes.includes(error.code)) return undefined;
  return { code: error.code, message: error.message, details: error.details };
}

class StepFailure {
  constructor(
    readonly error: unknown,
    readonly refusal: SagaRefusal | undefined,
  ) {}
}

class DefinedSaga<Input, Facts extends object, Answer> implements Saga<Input, Answer> {
  private readonly input: PlainConverter<Input>;
  private readonly answer: PlainConverter<Answer>;
  private readonly facts: PlainConverter<Facts>;

  constructor(
    private readonly definition: SagaDefinition<Input, Facts, Answer>,
    private readonly options: SagasOptions & { readonly store: SagaRecordStore },
    private readonly mutex: KeyedMutex,
  ) {
    this.input = definition.codec?.input ?? plainCodec<Input>();
    this.answer = definition.codec?.answer ?? plainCodec<Answer>();
    this.facts = definition.codec?.facts ?? plainCodec<Facts>();
  }

  get kind(): string {
    return this.definition.kind;
  }

  async run(start: SagaStart<Input>): Promise<Answer> {
    return this.mutex.run(start.id, async () => {
      const now = this.options.clock.now();
      const begun = await this.options.store.begin({
        _id: start.id,
        kind: this.kind,
        state: 'running',
        input: this.input.toDocument(start.input),
        fingerprint: start.fingerprint,
        attempts: 0,
        nextAttemptAt: new Date(now.getTime() + (this.options.recoveryAgeMs ?? sagaRecoveryAgeDefaultMs)),
        createdAt: now,
        updatedAt: now,
      });
      if (begun.kind === 'begun') return this.drive(start.id, start.input, { resumed: false }, begun.facts === undefined ? {} : (this.facts.fromDocument(begun.facts) as Partial<Facts>));
      if (begun.record.kind !== this.kind || begun.record.fingerprint !== start.fingerprint) {
        throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was used for a different request');
      }
      return this.answerFrom(begun.record);
    });
  }

  async resume(id: string): Promise<Answer> {
    return this.mutex.run(id, async () => {
      const record = await this.options.store.load(id);
      if (!record) throw new DomainError('NOT_FOUND', `saga ${id} not found`);
      return this.answerFrom(record);
    });
  }

  private async answerFrom(record: SagaRecord): Promise<Answer> {
    switch (record.state) {
      case 'completed':
        return this.answer.fromDocument(record.answer ?? {});
      case 'given_back':
        throw refusalError(record.refusal!);
      case 'compensating':
        return this.compensate(record._id, this.input.fromDocument(record.input), record.refusal!, record.taken ?? [], this.facts.fromDocument(record.facts ?? {}));
      case 'running':
        return this.drive(record._id, this.input.fromDocument(record.input), { resumed: true });
    }
  }

  /** Runs every stage and the finish; a definite refusal compensates, anything else leaves the saga unfinished. */
  private async drive(id: string, input: Input, drive: SagaDrive, startFacts: Partial<Facts> = {}): Promise<Answer> {
    let facts: Facts = { ...this.definition.initialFacts(input), ...startFacts };
    const taken: string[] = [];
    try {
      for (const stage of this.definition.stages) {
        const steps = Array.isArray(stage) ? (stage as readonly SagaStep<Input, Facts>[]) : [stage as SagaStep<Input, Facts>];
        // A step that throws before returning its promise fails like one that rejects.
        const outcomes = await Promise.allSettled(steps.map(async (step) => step.run(input, facts, drive)));
        const failures: StepFailure[] = [];
        outcomes.forEach((outcome, index) => {
          const step = steps[index]!;
          if (outcome.status === 'fulfilled') {
            taken.push(step.name);
            if (outcome.value) facts = { ...facts, ...outcome.value };
          } else {
            failures.push(new StepFailure(outcome.reason, definiteRefusal(outcome.reason, step.refusals)));
          }
        });
        // One unknown outcome in a stage makes the whole stage unknown: nothing is given back.
        const unknown = failures.find((failure) => failure.refusal === undefined);
        if (unknown) throw unknown;
        if (failures.length > 0) throw failures[0];
      }
      let answer: Answer;
      try {
        answer = await Promise.resolve().then(() => this.definition.finish.run(input, facts));
      } catch (error) {
        throw new StepFailure(error, definiteRefusal(error, this.definition.finish.refusals));
      }
      const now = this.options.clock.now();
      if (!(await this.options.store.complete(id, this.answer.toDocument(answer), now))) return this.answerFromStored(id);
      return answer;
    } catch (thrown) {
      const failure = thrown instanceof StepFailure ? thrown : new StepFailure(thrown, undefined);
      if (failure.refusal === undefined) {
        await this.noteFailure(id, failure.error);
        throw failure.error;
      }
      const now = this.options.clock.now();
      await this.options.store.compensating(id, { refusal: failure.refusal, taken, facts: this.facts.toDocument(facts) }, now);
      // From here the record is the truth: this driver's move, or another driver's outcome if it
      // finished first (a completed saga is never given back); a store may have added facts.
      return this.answerFromStored(id);
    }
  }

  /** Undoes the taken steps in reverse, then records the saga given back and answers with its refusal. */
  private async compensate(id: string, input: Input, refusal: SagaRefusal, taken: readonly string[], facts: Facts): Promise<never> {
    const steps = this.definition.stages.flat() as SagaStep<Input, Facts>[];
    try {
      for (const step of [...steps].reverse()) {
        if (taken.includes(step.name) && step.compensate) await step.compensate(input, facts);
      }
    } catch (error) {
      await this.noteFailure(id, error);
      throw error;
    }
    await this.options.store.givenBack(id, this.options.clock.now());
    throw refusalError(refusal);
  }

  private async answerFromStored(id: string): Promise<Answer> {
    const record = await this.options.store.load(id);
    if (!record) throw new Error(`saga ${id} vanished: saga records are never deleted`);
    return this.answerFrom(record);
  }

  private async noteFailure(id: string, error: unknown): Promise<void> {
    await this.options.store.noteFailure(id, error, this.options.clock.now()).catch((noteError: unknown) => this.options.logger.warn({ err: noteError, sagaId: id }, 'could not note a saga failure'));
  }
}
