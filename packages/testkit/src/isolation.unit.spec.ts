// Proves that isolation names are valid MongoDB database names and Kafka topic prefixes, unique per call, and that missing setup is explained.
import { databaseNameLengthMax, newTestRunId, testDatabaseName, testInfrastructure, testRunIdVariable, testTopicPrefix } from './isolation';

const savedEnvironment = { ...process.env };

afterEach(() => {
  process.env = { ...savedEnvironment };
});

describe('testDatabaseName', () => {
  beforeEach(() => {
    process.env[testRunIdVariable] = 'run12345';
  });

  it.each(['escrow', 'Escrow Service: HTTP/2 tests!', '', '___', 'a'.repeat(200), 'ünïcödé'])('gives a valid, bounded name for %j', (label) => {
    const name = testDatabaseName(label);
    expect(name).toMatch(/^[a-z0-9_]+$/);
    expect(name.length).toBeLessThanOrEqual(databaseNameLengthMax);
    expect(name).toContain('run12345');
  });

  it('gives a different name on every call with the same label', () => {
    const names = new Set(Array.from({ length: 1_000 }, () => testDatabaseName('same')));
    expect(names.size).toBe(1_000);
  });
});

describe('testTopicPrefix', () => {
  it('gives a unique prefix of legal topic characters that includes the run id', () => {
    process.env[testRunIdVariable] = 'run12345';
    const first = testTopicPrefix('Ledger events');
    expect(first).toMatch(/^test\.run12345\.ledger-events\.[a-z0-9]{6}\.$/);
    expect(testTopicPrefix('Ledger events')).not.toBe(first);
  });
});

describe('without the global setup', () => {
  it('explains what is missing instead of connecting nowhere', () => {
    delete process.env.KAFKA_BROKERS;
    delete process.env.MONGO_URL;
    delete process.env[testRunIdVariable];
    expect(() => testInfrastructure()).toThrow(/KAFKA_BROKERS is not set: the test infrastructure was not started/);
    expect(() => testDatabaseName('x')).toThrow(/SIZHONG_TEST_RUN_ID is not set/);
  });

  it('returns the servers once the environment names them', () => {
    process.env.KAFKA_BROKERS = 'a:1,b:2';
    process.env.MONGO_URL = 'mongodb://m:1/';
    expect(testInfrastructure()).toEqual({ kafkaBrokers: ['a:1', 'b:2'], mongoUrl: 'mongodb://m:1/' });
  });
});

describe('newTestRunId', () => {
  it('is eight lower-case letters or digits', () => {
    expect(newTestRunId()).toMatch(/^[a-z0-9]{8}$/);
  });
});
