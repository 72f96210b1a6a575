/**
 * Configuration is read once from the environment, validated with zod, and passed down. Every
 * setting has a default and a description, which `describeConfig` turns into documentation.
 *
 * A process that cannot start because of its configuration says so once, without a stack, and
 * exits with `configurationErrorExitCode` (78, EX_CONFIG in sysexits.h). Restarting cannot fix an
 * environment, so the platform runner (`npm start`) never restarts a process that exits with 78; it
 * stops the platform instead. Every entry point ends the same way:
 *
 *   main().catch((error: unknown) => {
 *     exitOnConfigurationError(error, 'escrow'); // returns only when error is something else
 *     // …a crash: log it with its stack, then process.exit(1)
 *   });
 */
import { z } from 'zod';

/** EX_CONFIG from sysexits.h: the process refused its configuration. */
export const configurationErrorExitCode = 78;

/** One bad variable, in words a person can act on. */
export interface ConfigurationProblem {
  /** The environment variable, such as `PLATFORM_FEE_BPS`. */
  readonly variable: string;
  /** What was given, ready to print: `"abc"`, `(unset)`, or `(hidden, 5 characters)` for secrets. */
  readonly given: string;
  /** What is wrong with it, such as `not a number`. */
  readonly problem: string;
  /** The rule and the setting's meaning, such as `a whole number from 0 to 10000 — platform fee …`. */
  readonly expected: string;
  /** A value that passes (the default when there is one); undefined when none is known. */
  readonly example: string | undefined;
}

/** Thrown by `loadConfig` with every bad variable at once, so one round of fixes is enough. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';

  constructor(readonly problems: readonly ConfigurationProblem[]) {
    super(formatConfigurationProblems(problems));
  }
}

type EnvironmentShape = Record<string, z.ZodType>;

export function loadConfig<Shape extends EnvironmentShape>(
  shape: Shape,
  environment: Readonly<Record<string, string | undefined>> = process.env,
): z.infer<z.ZodObject<Shape>> {
  const input = Object.fromEntries(Object.keys(shape).map((name) => [name, emptyToUndefined(environment[name])]));
  const result = z.object(shape).safeParse(input);
  if (!result.success) {
    // In the shape's order, one entry per variable however many rules it breaks.
    const problems = Object.keys(shape).flatMap((variable) => {
      const issues = result.error.issues.filter((issue) => issue.path[0] === variable);
      const schema = shape[variable];
      return issues.length === 0 || schema === undefined ? [] : [describeProblem(variable, input[variable], schema, issues)];
    });
    throw new ConfigurationError(problems);
  }
  return result.data;
}

/**
 * When `error` is a ConfigurationError: prints `<serviceName> cannot start: <what is wrong>` once
 * to standard error, without a stack, and exits with `configurationErrorExitCode`. Any other error
 * returns at once, for the caller to report as the crash it is (with its stack, exit code 1).
 */
export function exitOnConfigurationError(error: unknown, serviceName: string): void {
  if (!(error instanceof ConfigurationError)) return;
  process.stderr.write(`${serviceName} cannot start: ${error.message}\n`);
  process.exit(configurationErrorExitCode);
}

/** The same words for a problem found outside `loadConfig`, such as a variable one process requires. */
export function configurationProblem(variable: string, value: string | undefined, problem: string, expected: string, example?: string): ConfigurationProblem {
  return { variable, given: describeGivenValue(variable, value), problem, expected, example };
}

function formatConfigurationProblems(problems: readonly ConfigurationProblem[]): string {
  const count = problems.length === 1 ? '1 variable' : `${problems.length} variables`;
  const lines = problems.flatMap(({ variable, given, problem, expected, example }) => [
    `  ${variable}=${given}: ${problem}`,
    `    expected: ${expected}`,
    ...(example === undefined ? [] : [`    example:  ${variable}=${example}`]),
  ]);
  return [`invalid configuration (${count}); fix the environment and start again:`, ...lines].join('\n');
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** Names whose values must never reach a terminal or a log. */
const secretVariablePattern = /SECRET|PASSWORD|CREDENTIAL|PRIVATE_KEY/i;

function describeGivenValue(variable: string, value: string | undefined): string {
  if (value === undefined) return '(unset)';
  if (secretVariablePattern.test(variable)) return `(hidden, ${value.length} characters)`;
  // A connection string may carry a password in its user information.
  return JSON.stringify(value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1…@'));
}

function describeProblem(variable: string, value: string | undefined, schema: z.ZodType, issues: readonly z.core.$ZodIssue[]): ConfigurationProblem {
  const problem = [...new Set(issues.map((issue) => describeIssue(issue, value)))].join('; ');
  const base = innermostSchema(schema);
  const form = expectedForm(base);
  const expected = schema.description === undefined ? form : `${form} — ${schema.description}`;
  return configurationProblem(variable, value, problem, expected, exampleValue(schema, base));
}

/** zod's own English messages start like this; any other message was written for this setting. */
const zodDefaultMessagePattern = /^(Invalid|Too (big|small)|Unrecognized)\b/;

function describeIssue(issue: z.core.$ZodIssue, value: string | undefined): string {
  if (!zodDefaultMessagePattern.test(issue.message)) return issue.message;
  if (value === undefined) return 'required, but unset';
  switch (issue.code) {
    case 'invalid_type':
      if (issue.expected === 'number') return 'not a number';
      return issue.expected === 'int' ? 'not a whole number' : `not a ${issue.expected}`;
    case 'too_small':
      if (issue.origin === 'string') return `shorter than ${String(issue.minimum)} characters`;
      return `${issue.inclusive === false ? 'not more than' : 'less than'} ${String(issue.minimum)}`;
    case 'too_big':
      if (issue.origin === 'string') return `longer than ${String(issue.maximum)} characters`;
      return `${issue.inclusive === false ? 'not less than' : 'more than'} ${String(issue.maximum)}`;
    case 'invalid_format':
      return issue.format === 'regex' ? 'does not have the expected form' : `not a valid ${issue.format}`;
    case 'invalid_value':
      return 'not one of the allowed values';
    default:
      return issue.message;
  }
}

/** The schema under defaults, optionals and transforms: the one that states the rule. */
function innermostSchema(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  for (let depth = 0; depth < 10; depth += 1) {
    const definition = current.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
    const next = definition.innerType ?? (definition.type === 'pipe' ? definition.in : undefined);
    if (next === undefined) return current;
    current = next;
  }
  return current;
}

interface CheckDefinition {
  readonly check: string;
  readonly format?: string;
  readonly pattern?: RegExp;
  readonly minimum?: number;
  readonly maximum?: number;
}

function checksOf(schema: z.ZodType): CheckDefinition[] {
  const checks = (schema.def as { checks?: Array<{ _zod: { def: CheckDefinition } }> }).checks ?? [];
  return checks.map((check) => check._zod.def);
}

function expectedForm(schema: z.ZodType): string {
  if (schema instanceof z.ZodNumber) {
    const kind = schema.isInt ? 'a whole number' : 'a number';
    const bounded = (bound: number | null) => bound !== null && Number.isFinite(bound) && Math.abs(bound) < Number.MAX_SAFE_INTEGER;
    const { minValue, maxValue } = schema;
    if (bounded(minValue) && bounded(maxValue)) return `${kind} from ${minValue} to ${maxValue}`;
    if (bounded(minValue)) return `${kind}, at least ${minValue}`;
    if (bounded(maxValue)) return `${kind}, at most ${maxValue}`;
    return kind;
  }
  if (schema instanceof z.ZodEnum) return `one of ${schema.options.join(', ')}`;
  if (schema instanceof z.ZodBoolean) return 'true or false';
  if (schema instanceof z.ZodString) {
    const rules = checksOf(schema).map((check) => {
      if (check.check === 'string_format') return check.format === 'regex' ? `matching ${String(check.pattern)}` : `a ${check.format === 'url' ? 'URL' : check.format}`;
      if (check.check === 'min_length') return `at least ${characters(check.minimum)}`;
      if (check.check === 'max_length') return `at most ${characters(check.maximum)}`;
      return undefined;
    });
    const known = rules.filter((rule): rule is string => rule !== undefined);
    return known.length === 0 ? 'text' : `text ${known.join(', ')}`.replace(/^text a /, 'a ');
  }
  return 'a valid value';
}

function characters(count: number | undefined): string {
  return count === 1 ? '1 character' : `${count} characters`;
}

/** The first example attached with `.meta({ examples })` on any layer, else the default, else one derived from the rule. */
function exampleValue(schema: z.ZodType, base: z.ZodType): string | undefined {
  for (let current: z.ZodType | undefined = schema; current !== undefined; ) {
    const examples = z.globalRegistry.get(current)?.examples;
    if (Array.isArray(examples) && examples.length > 0) return String(examples[0]);
    const definition = current.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
    current = definition.innerType ?? (definition.type === 'pipe' ? definition.in : undefined);
  }
  const parsed = schema.safeParse(undefined);
  if (parsed.success && parsed.data !== undefined) return Array.isArray(parsed.data) ? parsed.data.join(',') : String(parsed.data);
  if (base instanceof z.ZodEnum) return String(base.options[0]);
  return undefined;
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
  /**
   * A gRPC address `host:port`, or several (`host:port,host:port`: the replicas of one service,
   * called round robin, a replica that stops answering left out until it answers again).
   */
  grpcAddress: (description: string) =>
    z
      .string()
      .regex(grpcAddressPattern, 'expected host:port (or host:port,host:port… for replicas)')
      .meta({ examples: ['127.0.0.1:50051'] })
      .optional()
      .describe(description),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level'),
  /** `example` is printed when the value is refused, so it should be a real, working form. */
  optionalUrl: (description: string, example?: string) =>
    (example === undefined ? z.string().url() : z.string().url().meta({ examples: [example] })).optional().describe(description),
  /**
   * A MongoDB connection string. Not a URL check: a replica set's seed list
   * (`mongodb://a:27017,b:27017/?replicaSet=rs0`) is not a WHATWG URL, and production needs it.
   */
  optionalMongoUrl: (description: string, example = 'mongodb://127.0.0.1:27027/') =>
    z.string().refine((value) => mongoConnectionStringPattern.test(value), mongoConnectionStringRule).meta({ examples: [example] }).optional().describe(description),
};

/** `host:port` (a name, an IPv4 address or a bracketed IPv6 address), comma separated for replicas. */
export const grpcAddressPattern = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}(?:,(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5})*$/;

/** `mongodb://[user:password@]host[:port][,host[:port]…][/database][?options]`, or `mongodb+srv://[user:password@]name[/database][?options]`. */
export const mongoConnectionStringPattern = /^mongodb:\/\/([^@/\s]+@)?[^@/\s,?]+(,[^@/\s,?]+)*(\/[^\s?]*)?(\?\S*)?$|^mongodb\+srv:\/\/([^@/\s]+@)?[^@/\s,:?]+(\/[^\s?]*)?(\?\S*)?$/;
const mongoConnectionStringRule = 'not a MongoDB connection string (mongodb://host[:port][,host[:port]…][/database][?options] or mongodb+srv://name[/database][?options])';

/** Settings every service process reads. */
export const serviceConfigShape = {
  LOG_LEVEL: configFields.logLevel(),
  KAFKA_BROKERS: configFields.commaList('Kafka bootstrap brokers, comma separated; unset means the local broker started by the project'),
  MONGO_URL: configFields.optionalMongoUrl(
    'MongoDB connection string (one host, a replica set seed list, or mongodb+srv); unset means the local MongoDB-wire server (mongo-java-server) started by the project',
  ),
  OTEL_EXPORTER_OTLP_ENDPOINT: configFields.optionalUrl('OTLP/HTTP endpoint for traces; unset means spans are not exported', 'http://127.0.0.1:4318'),
};
