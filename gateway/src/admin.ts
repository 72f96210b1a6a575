/**
 * The admin command: creates participants with any role, including those sign-up refuses
 * (regulator, arbiter, admin). Reads MONGO_URL and GATEWAY_DATABASE like the gateway; when
 * MONGO_URL is unset it uses the platform `npm start` runs from this clone (kit's
 * `findLocalPlatform`), so it works right after `npm start` with nothing exported.
 *
 *   npm run admin -- create-participant --role regulator --email r@example.org --password '…' [--display-name 'R. Egulator']
 *   npm run admin -- stuck [--service escrow] [--older-than 60] [--json]
 *   npm run admin -- drive --service escrow --id <saga or job id>
 *
 * `stuck` lists, per service, the sagas not yet completed or given back and the deadline jobs that
 * keep failing, with their last error; `drive` makes one of them due now, so the service's recovery
 * loop or scheduler takes it at once (the work itself always runs in the service, with its code).
 *
 * Exit codes: 0 created, 1 refused or failed (e.g. the email is taken, or no MONGO_URL and no
 * running platform), 2 usage error, 78 invalid configuration.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  connectMongo,
  exitOnConfigurationError,
  findLocalPlatform,
  isDomainError,
  isParticipantRole,
  noLocalPlatformMessage,
  type ParticipantRole,
  participantRoles,
  systemClock,
} from '@sizhong/kit';
import { type GatewayConfig, loadGatewayConfig } from './config';
import { parseStuckWorkCommand, runStuckWorkCommand, StuckWorkUsageError, stuckWorkUsage } from './admin-stuck-work';
import { ParticipantStore } from './identity/participant-store';
import { Participants } from './identity/participants';
import { displayNameSchema, emailSchema, newPasswordSchema } from './identity/schemas';

export const adminUsage = `Usage:
  npm run admin -- create-participant --role <role> --email <email> (--password <password> | --password-stdin) [--display-name <name>]
${stuckWorkUsage}

  --role            one of ${participantRoles.join(', ')}; repeat it or separate with commas for several
  --email           the participant's email (compared case-insensitively, must be unused)
  --password        the initial password (visible in the process list; prefer --password-stdin)
  --password-stdin  read the password from standard input
  --display-name    shown to others; defaults to the part of the email before @

Environment: MONGO_URL and GATEWAY_DATABASE (default sizhong_gateway); when MONGO_URL is unset, those of
the platform \`npm start\` runs from this clone.`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface CreateParticipantCommand {
  readonly roles: readonly ParticipantRole[];
  readonly email: string;
  readonly password: string;
  readonly displayName: string;
}

/** Parses and validates the arguments with the same rules as sign-up, except which roles are allowed. */
export function parseCreateParticipant(argv: readonly string[], readStdin: () => string = () => readFileSync(0, 'utf8')): CreateParticipantCommand {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') throw new UsageError('no command given');
  if (command !== 'create-participant') throw new UsageError(`unknown command "${command}"`);
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      strict: true,
      allowPositionals: false,
      options: {
        role: { type: 'string', multiple: true },
        email: { type: 'string' },
        password: { type: 'string' },
        'password-stdin': { type: 'boolean' },
        'display-name': { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const roles = [...new Set((values.role ?? []).flatMap((role) => role.split(',')).map((role) => role.trim()).filter(Boolean))];
  if (roles.length === 0) throw new UsageError('--role is required');
  const unknown = roles.filter((role) => !isParticipantRole(role));
  if (unknown.length > 0) throw new UsageError(`unknown role ${unknown.map((role) => `"${role}"`).join(', ')}; roles are ${participantRoles.join(', ')}`);
  if (values.email === undefined) throw new UsageError('--email is required');
  const email = emailSchema.safeParse(values.email);
  if (!email.success) throw new UsageError(`--email: ${email.error.issues.map((issue) => issue.message).join('; ')}`);
  if (values.password !== undefined && values['password-stdin']) throw new UsageError('give --password or --password-stdin, not both');
  const passwordText = values['password-stdin'] ? readStdin().replace(/\r?\n$/, '') : values.password;
  if (passwordText === undefined) throw new UsageError('--password or --password-stdin is required');
  const password = newPasswordSchema.safeParse(passwordText);
  if (!password.success) throw new UsageError(`--password: ${password.error.issues.map((issue) => issue.message).join('; ')}`);
  const displayName = displayNameSchema.safeParse(values['display-name'] ?? email.data.split('@')[0]);
  if (!displayName.success) throw new UsageError(`--display-name: ${displayName.error.issues.map((issue) => issue.message).join('; ')}`);
  return { roles: roles.filter(isParticipantRole), email: email.data, password: password.data, displayName: displayName.data };
}

/** The configured database, else the one of the platform running from this clone. */
function findGatewayDatabase(config: GatewayConfig): { mongoUrl: string; name: string } | undefined {
  if (config.MONGO_URL !== undefined) return { mongoUrl: config.MONGO_URL, name: config.GATEWAY_DATABASE };
  const platform = findLocalPlatform();
  if (platform === undefined) return undefined;
  // A GATEWAY_DATABASE given here wins; otherwise the one the running gateway was given.
  const name = process.env['GATEWAY_DATABASE']?.trim() ? config.GATEWAY_DATABASE : (platform.gatewayDatabase ?? config.GATEWAY_DATABASE);
  return { mongoUrl: platform.mongoUrl, name };
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === 'stuck' || argv[0] === 'drive') {
    try {
      return await runStuckWorkCommand(parseStuckWorkCommand(argv), process.env, (text) => process.stdout.write(text));
    } catch (error) {
      if (!(error instanceof StuckWorkUsageError)) throw error;
      process.stderr.write(`admin: ${error.message}\n\n${adminUsage}\n`);
      return 2;
    }
  }
  let command: CreateParticipantCommand;
  try {
    command = parseCreateParticipant(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`admin: ${error.message}\n\n${adminUsage}\n`);
    return 2;
  }
  const database = findGatewayDatabase(loadGatewayConfig());
  if (database === undefined) {
    process.stderr.write(`admin: MONGO_URL is not set and ${noLocalPlatformMessage()}, or set MONGO_URL to the MongoDB the gateway uses\n`);
    return 1;
  }
  const mongo = await connectMongo(database.mongoUrl, database.name);
  try {
    const store = new ParticipantStore(mongo);
    await store.ensureIndexes();
    const participant = await new Participants(store, systemClock).register({ ...command, createdBy: 'admin-command' });
    process.stdout.write(`${JSON.stringify({ participantId: participant.participantId, email: participant.email, roles: participant.roles })}\n`);
    return 0;
  } catch (error) {
    if (!isDomainError(error)) throw error;
    process.stderr.write(`admin: ${error.message} (${error.code})\n`);
    return 1;
  } finally {
    await mongo.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (exitCode) => process.exit(exitCode),
    (error: unknown) => {
      exitOnConfigurationError(error, 'admin');
      process.stderr.write(`admin: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
