/**
 * The credit service as parts for the kit's service skeleton (docs/adding-a-service.md): credit
 * records and their history built from every domain topic (CreditService), and the risk rules over
 * the same events with their alerts, the regulators' feed, the summary and random inspections
 * (RiskService). Loops read escrow's ledger invariants (money conservation) and sweep holds kept
 * past their window.
 */
import { type AggregateStore, type BackgroundLoop, createGrpcClient, grpcService, riskAlertsTopic, type RunningService, type ServiceDefinition, startService, type StartServiceOptions } from '@sizhong/kit';
import { creditV1, escrowV1 } from '@sizhong/proto';
import { consumedTopics } from './app/consumed-topics';
import { CreditProfiles } from './app/credit-profiles';
import { creditEventOf } from './app/decode-event';
import { createInspectionStore, Inspections } from './app/inspections';
import { RiskAlerts } from './app/risk-alerts';
import { RiskEngine } from './app/risk-engine';
import type { CreditConfig } from './config';
import type { CreditEvent } from './domain/events';
import { ledgerInvariantsType, resolveThresholds, riskRules, scoreChangedEvent } from './domain/risk/rules';
import { createCreditStore, ScoreHistory } from './storage/credit-store';
import { Counters, createAlertStore, createRuleStateStore } from './storage/risk-store';
import { Subjects, subjectOpenedBy } from './storage/subjects';
import { creditServiceHandlers } from './transport/grpc/credit-service';
import { riskServiceHandlers } from './transport/grpc/risk-service';

/** Partitions of the domain topics the consumer applies at once. */
export const consumerPartitionsConcurrently = 4;

/** What tests and benchmarks reach in-process. */
export interface CreditUseCases {
  readonly profiles: CreditProfiles;
  readonly engine: RiskEngine;
  readonly alerts: RiskAlerts;
  readonly inspections: Inspections;
  /** Applies one event as the consumer does (scores, risk rules, inspection population). */
  readonly applyEvent: (event: CreditEvent) => Promise<void>;
}

export type RunningCredit = RunningService<CreditUseCases> & CreditUseCases;

export const creditService: ServiceDefinition<CreditConfig, CreditUseCases> = {
  name: 'credit',
  databaseName: (config) => config.CREDIT_DATABASE,
  topics: (config) => [...consumedTopics(config.KAFKA_TOPIC_PREFIX), riskAlertsTopic(config.KAFKA_TOPIC_PREFIX)],
  async build({ config, clock, logger, mongo }) {
    const records = createCreditStore(mongo, logger);
    const history = new ScoreHistory(mongo);
    const alertStore = createAlertStore(mongo, logger);
    const draws = createInspectionStore(mongo, logger);
    for (const store of [records, history, alertStore, draws]) await store.ensureIndexes();
    const profiles = new CreditProfiles(records, history);
    const alerts = new RiskAlerts(alertStore, new Counters(mongo), clock, config.KAFKA_TOPIC_PREFIX);
    const engine = new RiskEngine(riskRules, resolveThresholds(config.CREDIT_RISK_THRESHOLDS), (ruleId) => createRuleStateStore(mongo, logger, ruleId), alerts);
    await engine.ensureIndexes();
    const subjects = new Subjects(mongo);
    const inspections = new Inspections(draws, subjects, clock);

    const applyEvent = async (event: CreditEvent) => {
      const opened = subjectOpenedBy(event.type, event.aggregateId);
      if (opened) await subjects.remember(opened);
      // Scores and rules touch different documents: side by side; score collapses need the changes.
      const [changes] = await Promise.all([profiles.apply(event), engine.evaluate(event)]);
      for (const change of changes) await engine.evaluate(scoreChangedEvent(change));
    };

    const loops: BackgroundLoop[] = [{ name: 'escrow hold sweep', intervalMs: config.CREDIT_HOLDS_CHECK_INTERVAL_MS, run: () => engine.sweepHolds(clock.now()) }];
    const ledger = config.ESCROW_GRPC_ADDRESS ? createGrpcClient(escrowV1.LedgerServiceService, config.ESCROW_GRPC_ADDRESS) : undefined;
    if (ledger) {
      loops.push({
        name: 'ledger invariants',
        intervalMs: config.CREDIT_INVARIANTS_INTERVAL_MS,
        run: async () => {
          const report = await ledger.call.getInvariants({});
          const at = report.computedAt ?? clock.now();
          await engine.evaluate({ id: `ledger-invariants|${at.getTime()}`, type: ledgerInvariantsType, aggregateId: 'escrow', aggregateType: 'ledger', occurredAt: at, payload: { conserved: report.conserved, totals: report.totals } });
        },
      });
    }

    return {
      grpc: [
        grpcService(creditV1.CreditServiceService, creditServiceHandlers(profiles)),
        grpcService(creditV1.RiskServiceService, riskServiceHandlers({ alerts, engine, inspections, feedPollMs: config.CREDIT_FEED_POLL_MS, now: () => clock.now() })),
      ],
      outboxes: [alertStore] as AggregateStore<unknown>[],
      consumers: [
        {
          name: `scores-g${config.CREDIT_CONSUMER_GENERATION}`,
          topics: consumedTopics(config.KAFKA_TOPIC_PREFIX),
          handler: async ({ envelope }) => applyEvent(creditEventOf(envelope)),
          // Partitions side by side; the records and rule states lock per document in process.
          partitionsConcurrently: consumerPartitionsConcurrently,
        },
      ],
      loops,
      stop: async () => ledger?.close(),
      exposed: { profiles, engine, alerts, inspections, applyEvent },
    };
  },
};

/** Starts credit in this process (integration tests, benchmarks). */
export async function startCredit(config: CreditConfig, options: StartServiceOptions = {}): Promise<RunningCredit> {
  const running = await startService(creditService, config, options);
  return { ...running, ...running.exposed };
}
