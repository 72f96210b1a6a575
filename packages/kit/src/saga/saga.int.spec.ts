// Proves the saga model against the real MongoDB-wire server: records are written first and end completed or given back,
// only a step's listed refusal compensates (in reverse, parallel partners included), an unknown outcome leaves the saga
// for a retry or recovery, same-id retries answer from the record, and recovery drives unfinished sagas on without limit.
import { testDatabaseName, testInfrastructure } from '@sizhong/testkit';
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import pino from 'pino';
import { ManualClock } from '../clock';
import { DomainError } from '../errors';
import { connectMongo, type MongoConnection } from '../mongo/connection';
import { GrpcFaultInjector } from '../grpc/faults';
import { unknownOutcomeCodes } from '../errors';
import { type Saga, type SagaStep, Sagas } from './saga';
import { SagaLog } from './saga-log';
import { recoverSagas, registerSagaGauges, registerStuckJobGauge, sagaRetryDelayAfterMs, sagaRetryDelayMaxMs, sagaStatistics, sagaStuckAfterMs } from './saga-recovery';

const logger = pino({ level: 'silent' });
const recoveryAgeMs = 30_000;
let mongo: MongoConnection;
let otherReplica: MongoConnection;

beforeAll(async () => {
  const { mongoUrl } = testInfrastructure();
  const database = testDatabaseName('saga');
  mongo = await connectMongo(mongoUrl, database);
  otherReplica = await connectMongo(mongoUrl, database);
});

afterAll(async () => {
  await mongo.db.dropDatabase();
  await Promise.all([mongo.close(), otherReplica.close()]);
});

interface Transfer {
  readonly id: string;
  readonly amountMinor: bigint;
}

interface Facts {
  readonly reservedAt?: string;
}

/** What each step did, in order: `run:<step>` or `undo:<step>`. */
type Journal = string[];

/** A scripted step: `behaviour()` says what its next run does (return facts, or throw). */
function step(name: string, journal: Journal, behaviour: () => void | Promise<void>, refusals: DomainError['code'][] = ['INSUFFICIENT_FUNDS']): SagaStep<Transfer, Facts> {
  return {
    name,
    refusals,
    run: async () => {
      await behaviour();
      journal.push(`run:${name}`);
      return name === 'reserve' ? { reservedAt: 'slot-1' } : undefined;
    },
    compensate: async (_input, facts) => void journal.push(`undo:${name}${facts.reservedAt ? `@${facts.reservedAt}` : ''}`),
  };
}

interface Harness {
  readonly sagas: Sagas;
  readonly saga: Saga<Transfer, { transferId: string; amountMinor: bigint }>;
  readonly journal: Journal;
  readonly clock: ManualClock;
  readonly fail: Record<string, (() => never) | undefined>;
}

let kindCounter = 0;

/** A saga of three stages: reserve, then [hold ∥ notify] in parallel, then the finish. Each test gets its own kind. */
function harness(options: { clock?: ManualClock; connection?: MongoConnection; kind?: string; journal?: Journal; fail?: Harness['fail'] } = {}): Harness {
  const clock = options.clock ?? new ManualClock('2026-12-07T12:00:00Z');
  const journal = options.journal ?? [];
  const fail: Harness['fail'] = options.fail ?? {};
  const sagas = new Sagas({ log: new SagaLog(options.connection ?? mongo, 'saga_test'), clock, logger, recoveryAgeMs });
  const behaviour = (name: string) => () => fail[name]?.();
  const saga = sagas.define<Transfer, Facts, { transferId: string; amountMinor: bigint }>({
    kind: options.kind ?? `transfer-${++kindCounter}`,
    initialFacts: () => ({}),
    stages: [step('reserve', journal, behaviour('reserve'), ['TIER_SOLD_OUT']), [step('hold', journal, behaviour('hold')), step('notify', journal, behaviour('notify'))]],
    finish: {
      refusals: ['INVALID_STATE'],
      run: async (input) => {
        fail['finish']?.();
        journal.push('run:finish');
        return { transferId: input.id, amountMinor: input.amountMinor };
      },
    },
  });
  return { sagas, saga, journal, clock, fail };
}

const refusal = (code: DomainError['code']) => () => {
  throw new DomainError(code, `refused: ${code}`, { reason: code.toLowerCase() });
};
const unknownOutcome = () => {
  throw new DomainError('DEADLINE_EXCEEDED', 'deadline exceeded after 5000 ms');
};
const input = (id: string): Transfer => ({ id, amountMinor: 30_000n });
const start = (id: string) => ({ id, input: input(id), fingerprint: `fp-${id}` });

describe('a saga run', () => {
  it('writes its record, completes, and answers a same-id retry from the record without running a step again', async () => {
    const { saga, sagas, journal } = harness();
    await expect(saga.run(start('s-complete'))).resolves.toEqual({ transferId: 's-complete', amountMinor: 30_000n });
    expect(journal.slice(0, 1)).toEqual(['run:reserve']);
    expect(journal.slice(1, 3).sort()).toEqual(['run:hold', 'run:notify']);
    expect(journal.slice(3)).toEqual(['run:finish']);
    await expect(saga.run(start('s-complete'))).resolves.toEqual({ transferId: 's-complete', amountMinor: 30_000n });
    expect(journal).toHaveLength(4);
    await expect(sagas.log.load('s-complete')).resolves.toMatchObject({ state: 'completed', answer: { transferId: 's-complete', amountMinor: 30_000n }, input: { id: 's-complete', amountMinor: 30_000n } });
  });

  it('refuses a same-id start with another request (IDEMPOTENCY_KEY_REUSED)', async () => {
    const { saga } = harness();
    await saga.run(start('s-reused'));
    await expect(saga.run({ ...start('s-reused'), fingerprint: 'another request' })).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('compensates the taken steps in reverse on a listed refusal, ends given back, and answers every retry with the same refusal', async () => {
    const { saga, sagas, journal, fail } = harness();
    fail['hold'] = refusal('INSUFFICIENT_FUNDS');
    await expect(saga.run(start('s-refused'))).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS', message: 'refused: INSUFFICIENT_FUNDS', details: { reason: 'insufficient_funds' } });
    // notify (hold's parallel partner) took effect and is undone, then reserve; hold itself took nothing.
    expect(journal.filter((entry) => entry.startsWith('undo:'))).toEqual(['undo:notify@slot-1', 'undo:reserve@slot-1']);
    await expect(sagas.log.load('s-refused')).resolves.toMatchObject({ state: 'given_back', refusal: { code: 'INSUFFICIENT_FUNDS' }, taken: ['reserve', 'notify'] });

    fail['hold'] = undefined;
    const before = journal.length;
    await expect(saga.run(start('s-refused'))).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    await expect(saga.resume('s-refused')).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    expect(journal).toHaveLength(before);
  });

  it('treats a code the step does not list as an unknown outcome: nothing is given back', async () => {
    const { saga, sagas, journal, fail } = harness();
    fail['reserve'] = refusal('INSUFFICIENT_FUNDS');
    await expect(saga.run(start('s-unlisted'))).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    expect(journal).toEqual([]);
    await expect(sagas.log.load('s-unlisted')).resolves.toMatchObject({ state: 'running', lastError: 'DomainError: refused: INSUFFICIENT_FUNDS' });
  });

  it.each(unknownOutcomeCodes)('leaves the saga running on %s, compensating nothing, and a same-id retry drives it on', async (code) => {
    const { saga, sagas, journal, fail } = harness();
    fail['hold'] = () => {
      throw new DomainError(code, 'the outcome is unknown');
    };
    await expect(saga.run(start(`s-unknown-${code}`))).rejects.toMatchObject({ code });
    expect(journal.some((entry) => entry.startsWith('undo:'))).toBe(false);
    await expect(sagas.log.load(`s-unknown-${code}`)).resolves.toMatchObject({ state: 'running' });

    fail['hold'] = undefined;
    await expect(saga.run(start(`s-unknown-${code}`))).resolves.toEqual({ transferId: `s-unknown-${code}`, amountMinor: 30_000n });
    await expect(sagas.log.load(`s-unknown-${code}`)).resolves.toMatchObject({ state: 'completed' });
  });

  it("counts on its record the failures the fault-injection run's injector caused, and no other", async () => {
    const { saga, sagas, fail } = harness();
    const injector = new GrpcFaultInjector({ seed: 1, delay: 0, delayMaxMs: 0, lostAnswer: 0, unavailable: 1 });
    fail['hold'] = () => {
      throw caught;
    };
    let caught: unknown;
    await injector.around('escrow.Ledger/CreateTransfer', async () => 'never sent').catch((error: unknown) => (caught = error));
    await expect(saga.run(start('s-injected'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(saga.run(start('s-injected'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    fail['hold'] = unknownOutcome;
    await expect(saga.run(start('s-injected'))).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    await expect(sagas.log.load('s-injected')).resolves.toMatchObject({ state: 'running', injectedFaults: 2 });
  });

  it('gives nothing back when one parallel step is refused and its partner has an unknown outcome', async () => {
    const { saga, sagas, journal, fail } = harness();
    fail['hold'] = refusal('INSUFFICIENT_FUNDS');
    fail['notify'] = unknownOutcome;
    await expect(saga.run(start('s-mixed'))).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(journal).toEqual(['run:reserve']);
    await expect(sagas.log.load('s-mixed')).resolves.toMatchObject({ state: 'running' });
  });

  it('a refused finish compensates every stage', async () => {
    const { saga, journal, fail } = harness();
    fail['finish'] = refusal('INVALID_STATE');
    await expect(saga.run(start('s-finish-refused'))).rejects.toMatchObject({ code: 'INVALID_STATE' });
    expect(journal.filter((entry) => entry.startsWith('undo:')).sort()).toEqual(['undo:hold@slot-1', 'undo:notify@slot-1', 'undo:reserve@slot-1']);
  });

  it('refuses to define a step that lists an unknown-outcome code as a refusal', () => {
    const sagas = new Sagas({ log: new SagaLog(mongo, 'saga_test'), clock: new ManualClock('2026-12-07T12:00:00Z'), logger });
    expect(() =>
      sagas.define({ kind: 'bad', initialFacts: () => ({}), stages: [{ name: 'hold', refusals: ['INSUFFICIENT_FUNDS', 'DEADLINE_EXCEEDED'], run: async () => undefined }], finish: { refusals: [], run: async () => ({}) } }),
    ).toThrow(/hold lists DEADLINE_EXCEEDED as a definite refusal/);
  });

  it('tells its steps whether they run in the request that wrote the record or in a later drive', async () => {
    const seen: boolean[] = [];
    let failOnce = true;
    const sagas = new Sagas({ log: new SagaLog(mongo, 'saga_test'), clock: new ManualClock('2026-12-07T12:00:00Z'), logger });
    const saga = sagas.define<Transfer, Facts, Transfer>({
      kind: `transfer-drive-${++kindCounter}`,
      initialFacts: () => ({}),
      stages: [
        {
          name: 'hold',
          refusals: [],
          run: async (_input, _facts, drive) => {
            seen.push(drive.resumed);
            if (failOnce) {
              failOnce = false;
              throw new DomainError('UNAVAILABLE', 'escrow unavailable');
            }
          },
        },
      ],
      finish: { refusals: [], run: async (value) => value },
    });
    await expect(saga.run(start('s-drive'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(saga.run(start('s-drive'))).resolves.toEqual(input('s-drive'));
    expect(seen).toEqual([false, true]);
  });

  it('two replicas driving one saga at once agree on one outcome', async () => {
    const kind = `transfer-shared-${++kindCounter}`;
    const journal: Journal = [];
    const clock = new ManualClock('2026-12-07T12:00:00Z');
    const first = harness({ kind, journal, clock });
    const second = harness({ kind, journal, clock, connection: otherReplica });
    const answers = await Promise.all([first.saga.run(start('s-shared')), second.saga.run(start('s-shared'))]);
    expect(answers).toEqual([
      { transferId: 's-shared', amountMinor: 30_000n },
      { transferId: 's-shared', amountMinor: 30_000n },
    ]);
    await expect(first.sagas.log.load('s-shared')).resolves.toMatchObject({ state: 'completed' });
  });
});

describe('saga recovery', () => {
  it('leaves a fresh saga to its request, then drives it on with growing, capped pauses for as long as it fails', async () => {
    const { sagas, fail, clock } = harness();
    fail['hold'] = unknownOutcome;
    await expect(harness({ clock, fail, kind: sagas.kinds[0]! }).saga.run(start('s-recovered'))).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });

    await expect(recoverSagas({ sagas, logger })).resolves.toBe(0);
    clock.advance(recoveryAgeMs);
    const attemptsWanted = 12;
    for (let attempt = 1; attempt <= attemptsWanted; attempt += 1) {
      await expect(recoverSagas({ sagas, logger })).resolves.toBe(1);
      const record = await sagas.log.load('s-recovered');
      expect(record).toMatchObject({ state: 'running', attempts: attempt, lastError: 'DomainError: deadline exceeded after 5000 ms' });
      expect(record!.nextAttemptAt.getTime() - clock.now().getTime()).toBe(sagaRetryDelayAfterMs(attempt));
      await expect(recoverSagas({ sagas, logger })).resolves.toBe(0);
      clock.advance(sagaRetryDelayAfterMs(attempt));
    }
    expect(sagaRetryDelayAfterMs(attemptsWanted)).toBe(sagaRetryDelayMaxMs);
    const statistics = await sagaStatistics(sagas.log, clock.now());
    expect(statistics.unfinished.find((group) => group.kind === sagas.kinds[0])).toMatchObject({ state: 'running', count: 1 });
    expect(statistics.stuck).toBeGreaterThanOrEqual(clock.now().getTime() - Date.parse('2026-12-07T12:00:00Z') >= sagaStuckAfterMs ? 1 : 0);

    fail['hold'] = undefined;
    await expect(recoverSagas({ sagas, logger })).resolves.toBe(1);
    await expect(sagas.log.load('s-recovered')).resolves.toMatchObject({ state: 'completed', attempts: attemptsWanted + 1 });
  });

  it('finishes a compensation an unknown outcome interrupted, and the saga ends given back', async () => {
    const journal: Journal = [];
    const clock = new ManualClock('2026-12-07T12:00:00Z');
    const kind = `transfer-compensation-${++kindCounter}`;
    let undoFails = true;
    const sagas = new Sagas({ log: new SagaLog(mongo, 'saga_test'), clock, logger, recoveryAgeMs });
    const saga = sagas.define<Transfer, Facts, Transfer>({
      kind,
      initialFacts: () => ({}),
      stages: [
        {
          name: 'reserve',
          refusals: [],
          run: async () => void journal.push('run:reserve'),
          compensate: async () => {
            if (undoFails) throw new DomainError('UNAVAILABLE', 'escrow unavailable');
            journal.push('undo:reserve');
          },
        },
        { name: 'hold', refusals: ['INSUFFICIENT_FUNDS'], run: refusal('INSUFFICIENT_FUNDS') },
      ],
      finish: { refusals: [], run: async (value) => value },
    });
    await expect(saga.run(start('s-compensating'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(sagas.log.load('s-compensating')).resolves.toMatchObject({ state: 'compensating', refusal: { code: 'INSUFFICIENT_FUNDS' }, taken: ['reserve'] });

    undoFails = false;
    clock.advance(recoveryAgeMs);
    await expect(recoverSagas({ sagas, logger })).resolves.toBe(1);
    expect(journal).toEqual(['run:reserve', 'undo:reserve']);
    await expect(sagas.log.load('s-compensating')).resolves.toMatchObject({ state: 'given_back', refusal: { code: 'INSUFFICIENT_FUNDS' } });
    await expect(saga.run(start('s-compensating'))).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
  });

  it('an admin makes an unfinished saga due at once; terminal ones are left alone', async () => {
    const { saga, sagas, fail } = harness();
    fail['notify'] = unknownOutcome;
    await expect(saga.run(start('s-admin'))).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    fail['notify'] = undefined;
    await expect(recoverSagas({ sagas, logger })).resolves.toBe(0);
    await expect(sagas.log.makeDue('s-admin', sagas.options.clock.now())).resolves.toBe(true);
    await expect(recoverSagas({ sagas, logger })).resolves.toBe(1);
    await expect(sagas.log.load('s-admin')).resolves.toMatchObject({ state: 'completed' });
    await expect(sagas.log.makeDue('s-admin', sagas.options.clock.now())).resolves.toBe(false);
  });
});

describe('what is stuck, as metrics', () => {
  class CollectingReader extends MetricReader {
    protected override async onForceFlush(): Promise<void> {}
    protected override async onShutdown(): Promise<void> {}
  }

  it('gauges unfinished sagas by kind and state with the oldest age, and stuck jobs by kind', async () => {
    const reader = new CollectingReader();
    const provider = new MeterProvider({ readers: [reader] });
    metrics.setGlobalMeterProvider(provider);
    try {
      const service = `gauges_${Date.now()}`;
      const log = new SagaLog(mongo, service);
      const createdAt = new Date('2026-12-07T12:00:00Z');
      await log.begin({ _id: 'g-1', kind: 'pledge', state: 'running', input: {}, fingerprint: 'f', attempts: 0, nextAttemptAt: createdAt, createdAt, updatedAt: createdAt });
      await log.begin({ _id: 'g-2', kind: 'pledge', state: 'completed', input: {}, fingerprint: 'f', attempts: 0, nextAttemptAt: createdAt, createdAt, updatedAt: createdAt });
      registerSagaGauges(service, log, () => new Date(createdAt.getTime() + 90_000));
      registerStuckJobGauge(service, { stuckJobs: async () => [{ _id: 'settle:t-1', kind: 'settle-task-payments', dueAt: createdAt, payload: {}, state: 'scheduled', attempt: 9, scheduledAt: createdAt }] });

      const { resourceMetrics } = await reader.collect();
      const points = Object.fromEntries(resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).map((metric) => [metric.descriptor.name, metric.dataPoints.filter((point) => point.attributes['service'] === service).map((point) => ({ attributes: point.attributes, value: point.value }))]));
      expect(points['sizhong.sagas.unfinished']).toEqual([{ attributes: { service, kind: 'pledge', state: 'running' }, value: 1 }]);
      expect(points['sizhong.sagas.oldest_age']).toEqual([{ attributes: { service, kind: 'pledge', state: 'running' }, value: 90 }]);
      expect(points['sizhong.jobs.stuck']).toEqual([{ attributes: { service, kind: 'settle-task-payments' }, value: 1 }]);
    } finally {
      await provider.shutdown();
      metrics.disable();
    }
  });
});
