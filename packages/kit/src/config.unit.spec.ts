// Proves configuration is validated once with clear messages and documented defaults.
import { z } from 'zod';
import { ConfigurationError, configFields, describeConfig, loadConfig, serviceConfigShape } from './config';

const shape = {
  ...serviceConfigShape,
  GRPC_PORT: configFields.port(0, 'gRPC port'),
  SCHEDULER_INTERVAL_MS: configFields.milliseconds(1_000, 'how often due deadlines are looked for'),
  PLATFORM_FEE_BPS: configFields.basisPoints(500, 'platform fee'),
};

describe('loadConfig', () => {
  it('applies defaults and coerces numbers and lists', () => {
    const config = loadConfig(shape, { KAFKA_BROKERS: '127.0.0.1:1, 127.0.0.1:2', PLATFORM_FEE_BPS: '250' });
    expect(config.SCHEDULER_INTERVAL_MS).toBe(1_000);
    expect(config.PLATFORM_FEE_BPS).toBe(250);
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:1', '127.0.0.1:2']);
    expect(config.MONGO_URL).toBeUndefined();
    expect(config.LOG_LEVEL).toBe('info');
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig(shape, { PLATFORM_FEE_BPS: '' }).PLATFORM_FEE_BPS).toBe(500);
  });

  it('names every invalid variable', () => {
    expect(() => loadConfig(shape, { PLATFORM_FEE_BPS: '10001', GRPC_PORT: 'x' })).toThrow(ConfigurationError);
    try {
      loadConfig(shape, { PLATFORM_FEE_BPS: '10001', GRPC_PORT: 'x' });
    } catch (error) {
      expect((error as Error).message).toContain('PLATFORM_FEE_BPS');
      expect((error as Error).message).toContain('GRPC_PORT');
    }
  });

  it('describes every setting with its default', () => {
    const rows = describeConfig({ ...shape, REQUIRED: z.string().describe('must be set') });
    expect(rows.find((row) => row.name === 'PLATFORM_FEE_BPS')).toEqual({ name: 'PLATFORM_FEE_BPS', defaultValue: '500', description: 'platform fee (basis points)' });
    expect(rows.find((row) => row.name === 'REQUIRED')?.defaultValue).toBe('(required)');
    expect(rows.find((row) => row.name === 'MONGO_URL')?.defaultValue).toBe('(unset)');
  });
});
