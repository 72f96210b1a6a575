/**
 * Configuration is read once from the environment, validated with zod, and passed down. Every
 * setting has a default and a description, which `describeConfig` turns into documentation.
 */
import { z } from 'zod';

export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

type EnvironmentShape = Record<string, z.ZodType>;

export function loadConfig<Shape extends EnvironmentShape>(
  shape: Shape,
  environment: Readonly<Record<string, string | undefined>> = process.env,
): z.infer<z.ZodObject<Shape>> {
  const input = Object.fromEntries(Object.keys(shape).map((name) => [name, emptyToUndefined(environment[name])]));
  const result = z.object(shape).safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n');
    throw new ConfigurationError(`Invalid configuration:\n${problems}`);
  }
  return result.data;
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

export interface ConfigDescription {
  readonly name: string;
  readonly defaultValue: string;
  readonly description: string;
}

/** Rows for a documentation table: name, default and meaning of every setting. */
export function describeConfig(shape: EnvironmentShape): ConfigDescription[] {
  return Object.entries(shape).map(([name, schema]) => {
    const parsed = schema.safeParse(undefined);
    const defaultValue = parsed.success ? (parsed.data === undefined ? '(unset)' : String(parsed.data)) : '(required)';
    return { name, defaultValue, description: schema.description ?? '' };
  });
}

/** Common building blocks for service configurations. */
export const configFields = {
  milliseconds: (defaultValue: number, description: string) =>
    z.coerce.number().int().min(0).max(365 * 24 * 3_600_000).default(defaultValue).describe(`${description} (milliseconds)`),
  port: (defaultValue: number, description: string) => z.coerce.number().int().min(0).max(65_535).default(defaultValue).describe(description),
  basisPoints: (defaultValue: number, description: string) =>
    z.coerce.number().int().min(0).max(10_000).default(defaultValue).describe(`${description} (basis points)`),
  commaList: (description: string) =>
    z
      .string()
      .optional()
      .transform((value) => (value === undefined ? undefined : value.split(',').map((item) => item.trim()).filter(Boolean)))
      .describe(description),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level'),
  optionalUrl: (description: string) => z.string().url().optional().describe(description),
};

/** Settings every service process reads. */
export const serviceConfigShape = {
  LOG_LEVEL: configFields.logLevel(),
  KAFKA_BROKERS: configFields.commaList('Kafka bootstrap brokers, comma separated; unset means the local broker started by the project'),
  MONGO_URL: configFields.optionalUrl('MongoDB connection string; unset means the local MongoDB-wire server (mongo-java-server) started by the project'),
  OTEL_EXPORTER_OTLP_ENDPOINT: configFields.optionalUrl('OTLP/HTTP endpoint for traces; unset means spans are not exported'),
};
