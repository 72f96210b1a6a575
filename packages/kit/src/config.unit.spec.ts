// Proves configuration is validated once with clear messages (variable, problem, rule, example; secrets hidden), documented defaults, and the exit-78 convention.
import { z } from 'zod';
import { skewedClock, systemClock } from './clock';
import { ConfigurationError, configFields, configurationErrorExitCode, describeConfig, exitOnConfigurationError, loadConfig, serviceConfigShape } from './config';
import { checkChaosFindingMode, clockSkewMaxMs, serviceRuntimeShape } from './service/service-main';

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

  function refusal(environment: Record<string, string>, schema: Record<string, z.ZodType> = shape): ConfigurationError {
    try {
      loadConfig(schema, environment);
    } catch (error) {
      if (error instanceof ConfigurationError) return error;
      throw error;
    }
    throw new Error('expected a ConfigurationError');
  }

  it('names every invalid variable, in the order of the shape, with the problem, the rule and an example', () => {
    const error = refusal({ PLATFORM_FEE_BPS: 'abc', GRPC_PORT: '70000', LOG_LEVEL: 'loud', MONGO_URL: 'nope' });
    expect(error.problems).toEqual([
      { variable: 'LOG_LEVEL', given: '"loud"', problem: 'not one of the allowed values', expected: 'one of fatal, error, warn, info, debug, trace, silent — pino log level', example: 'info' },
      { variable: 'MONGO_URL', given: '"nope"', problem: expect.stringMatching(/^not a MongoDB connection string \(mongodb:\/\/host/), expected: expect.stringMatching(/^text — MongoDB connection string/), example: 'mongodb://127.0.0.1:27027/' },
      { variable: 'GRPC_PORT', given: '"70000"', problem: 'more than 65535', expected: 'a whole number from 0 to 65535 — gRPC port', example: '0' },
      { variable: 'PLATFORM_FEE_BPS', given: '"abc"', problem: 'not a number', expected: 'a whole number from 0 to 10000 — platform fee (basis points)', example: '500' },
    ]);
    expect(error.message.split('\n').slice(0, 4)).toEqual([
      'invalid configuration (4 variables); fix the environment and start again:',
      '  LOG_LEVEL="loud": not one of the allowed values',
      '    expected: one of fatal, error, warn, info, debug, trace, silent — pino log level',
      '    example:  LOG_LEVEL=info',
    ]);
  });

  it('keeps a message written for the setting, says "unset" for a missing one, and hides secrets and URL passwords', () => {
    const schema = {
      API_SECRET: z.string().min(32, 'API_SECRET must be at least 32 characters').optional().describe('signing secret'),
      DATABASE_URL: z.string().regex(/^postgres:/).describe('where the rows are'),
      NEEDED: z.string().min(1).describe('must be set'),
      RATIO: z.coerce.number().int().min(1).default(3),
    };
    const error = refusal({ API_SECRET: 'hunter2', DATABASE_URL: 'mongodb://ann:pa55word@db:27017/', RATIO: '1.5' }, schema);
    expect(error.problems).toEqual([
      { variable: 'API_SECRET', given: '(hidden, 7 characters)', problem: 'API_SECRET must be at least 32 characters', expected: 'text at least 32 characters — signing secret', example: undefined },
      { variable: 'DATABASE_URL', given: '"mongodb://…@db:27017/"', problem: 'does not have the expected form', expected: 'text matching /^postgres:/ — where the rows are', example: undefined },
      { variable: 'NEEDED', given: '(unset)', problem: 'required, but unset', expected: 'text at least 1 character — must be set', example: undefined },
      { variable: 'RATIO', given: '"1.5"', problem: 'not a whole number', expected: 'a whole number, at least 1', example: '3' },
    ]);
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toContain('pa55word');
  });

  it('describes every setting with its default', () => {
    const rows = describeConfig({ ...shape, REQUIRED: z.string().describe('must be set') });
    expect(rows.find((row) => row.name === 'PLATFORM_FEE_BPS')).toEqual({ name: 'PLATFORM_FEE_BPS', defaultValue: '500', description: 'platform fee (basis points)' });
    expect(rows.find((row) => row.name === 'REQUIRED')?.defaultValue).toBe('(required)');
    expect(rows.find((row) => row.name === 'MONGO_URL')?.defaultValue).toBe('(unset)');
  });
});

describe('exitOnConfigurationError', () => {
  let exit: jest.SpyInstance;
  let write: jest.SpyInstance;
  beforeEach(() => {
    exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    exit.mockRestore();
    write.mockRestore();
  });

  it('prints the message once, without a stack, and exits with 78 (EX_CONFIG)', () => {
    let error: unknown;
    try {
      loadConfig(shape, { PLATFORM_FEE_BPS: 'abc' });
    } catch (caught) {
      error = caught;
    }
    exitOnConfigurationError(error, 'escrow');
    expect(configurationErrorExitCode).toBe(78);
    expect(exit).toHaveBeenCalledWith(78);
    expect(write).toHaveBeenCalledTimes(1);
    const printed = String(write.mock.calls[0]?.[0]);
    expect(printed).toMatch(/^escrow cannot start: invalid configuration \(1 variable\)/);
    expect(printed).toContain('PLATFORM_FEE_BPS="abc": not a number');
    expect(printed).not.toMatch(/\n\s+at /);
  });

  it('returns at once for any other error, which the caller reports as a crash', () => {
    exitOnConfigurationError(new Error('boom'), 'escrow');
    expect(exit).not.toHaveBeenCalled();
    expect(write).not.toHaveBeenCalled();
  });
});

describe('MONGO_URL', () => {
  const shape = { MONGO_URL: configFields.optionalMongoUrl('where the documents are') };

  it.each([
    'mongodb://127.0.0.1:27027/',
    'mongodb://mongo-0.mongo:27017,mongo-1.mongo:27017,mongo-2.mongo:27017/?replicaSet=rs0',
    'mongodb://user:p%40ss@a:27017,b:27017/sizhong?replicaSet=rs0&w=majority',
    'mongodb+srv://cluster0.example.net/?retryWrites=true',
    'mongodb://localhost',
  ])('takes %s (one host, a replica set seed list, SRV)', (value) => {
    expect(loadConfig(shape, { MONGO_URL: value }).MONGO_URL).toBe(value);
  });

  it.each(['http://127.0.0.1:27017/', 'mongodb://', 'mongodb+srv://a:27017,b:27017/', 'mongodb://a b:27017/', 'mongodb://a,,b/'])('refuses %s with the rule', (value) => {
    expect(() => loadConfig(shape, { MONGO_URL: value })).toThrow(/MONGO_URL[\s\S]*MongoDB connection string/);
  });
});

describe('gRPC addresses, fault plans and clock skew', () => {
  const shape = { ...serviceRuntimeShape({ grpcPortDefault: 50_099 }), ESCROW_GRPC_ADDRESS: configFields.grpcAddress('escrow') };

  it('takes one address or the replicas of a service, and refuses anything else', () => {
    expect(loadConfig(shape, { ESCROW_GRPC_ADDRESS: '127.0.0.1:50051' }).ESCROW_GRPC_ADDRESS).toBe('127.0.0.1:50051');
    expect(loadConfig(shape, { ESCROW_GRPC_ADDRESS: '127.0.0.1:50051,127.0.0.1:50061' }).ESCROW_GRPC_ADDRESS).toBe('127.0.0.1:50051,127.0.0.1:50061');
    expect(() => loadConfig(shape, { ESCROW_GRPC_ADDRESS: '127.0.0.1:50051,' })).toThrow(ConfigurationError);
    expect(() => loadConfig(shape, { ESCROW_GRPC_ADDRESS: 'http://escrow' })).toThrow('expected host:port');
  });

  it('injects no faults and no skew unless told, and refuses a malformed plan or a skew past the limit', () => {
    const defaults = loadConfig(shape, {});
    expect(defaults.GRPC_FAULTS).toBeUndefined();
    expect(defaults.CLOCK_SKEW_MS).toBe(0);
    expect(loadConfig(shape, { CLOCK_SKEW_MS: String(-clockSkewMaxMs) }).CLOCK_SKEW_MS).toBe(-clockSkewMaxMs);
    expect(() => loadConfig(shape, { CLOCK_SKEW_MS: String(clockSkewMaxMs + 1) })).toThrow(ConfigurationError);
    expect(() => loadConfig(shape, { GRPC_FAULTS: 'lostAnswer=2' })).toThrow('at most 1');
  });

  it('re-introduces no finding unless told, and takes one only in the fault-injection run (with a gRPC fault plan)', () => {
    expect(loadConfig(shape, {}).CHAOS_FINDING).toBeUndefined();
    expect(() => loadConfig(shape, { CHAOS_FINDING: 'no-such-finding' })).toThrow(ConfigurationError);
    const outside = loadConfig(shape, { CHAOS_FINDING: 'jobs-give-up' });
    expect(() => checkChaosFindingMode(outside)).toThrow('CHAOS_FINDING');
    const inRun = loadConfig(shape, { CHAOS_FINDING: 'jobs-give-up', GRPC_FAULTS: 'seed=1,delay=0' });
    expect(() => checkChaosFindingMode(inRun)).not.toThrow();
    expect(inRun.CHAOS_FINDING).toBe('jobs-give-up');
    expect(() => checkChaosFindingMode(loadConfig(shape, {}))).not.toThrow();
  });

  it('a skewed clock runs the given distance ahead of (or behind) the system clock', () => {
    const before = Date.now();
    const ahead = skewedClock(60_000).now().getTime();
    expect(ahead - before).toBeGreaterThanOrEqual(60_000);
    expect(ahead - Date.now()).toBeLessThanOrEqual(60_000);
    expect(skewedClock(0)).toBe(systemClock);
  });
});
