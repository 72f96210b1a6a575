// Proves the selection order: servers named by the environment win, each on its own, and nothing this call did not start is stopped.
import { ensureInfrastructure, parseBrokerList } from './ensure-infrastructure';
import { LocalKafka } from './local-kafka';
import { discardLog } from './progress';

describe('ensureInfrastructure', () => {
  it('uses KAFKA_BROKERS and MONGO_URL when both are set, starting nothing', async () => {
    const infrastructure = await ensureInfrastructure({
      environment: { KAFKA_BROKERS: ' broker-a:9092, broker-b:9092 ', MONGO_URL: 'mongodb://elsewhere:27017/' },
      log: discardLog,
    });
    expect(infrastructure).toMatchObject({ kafkaBrokers: ['broker-a:9092', 'broker-b:9092'], mongoUrl: 'mongodb://elsewhere:27017/', source: 'environment', startedHere: false });
    await infrastructure.stop();
  });

  it('takes MONGO_URL from the environment and Kafka from the local servers', async () => {
    // Given the shared local Kafka runs (global setup, or `npm run infra:up`).
    const kafka = new LocalKafka({ log: discardLog });
    const kafkaStarted = await kafka.up();
    try {
      const infrastructure = await ensureInfrastructure({ environment: { ...process.env, KAFKA_BROKERS: '', MONGO_URL: 'mongodb://elsewhere:27017/', SIZHONG_INFRA_LOCAL: '1' }, log: discardLog });
      expect(infrastructure).toMatchObject({ kafkaBrokers: kafka.brokers, mongoUrl: 'mongodb://elsewhere:27017/', source: 'local', startedHere: false });
      // Stopping what this call started stops nothing: it found Kafka running.
      await infrastructure.stop();
      expect(await kafka.status()).toMatchObject({ state: 'running', pid: kafkaStarted.pid });
    } finally {
      if (kafkaStarted.startedHere) await kafka.down();
    }
  });

  it('reads a broker list, ignoring blanks', () => {
    expect(parseBrokerList('a:1,,b:2 ,')).toEqual(['a:1', 'b:2']);
    expect(parseBrokerList(' ')).toBeUndefined();
    expect(parseBrokerList(undefined)).toBeUndefined();
  });
});
