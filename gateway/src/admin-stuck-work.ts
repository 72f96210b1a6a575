/**
 * The admin command's view of unfinished work (`stuck`, `drive`): sagas not yet completed or
 * given back and deadline jobs that keep failing, read from each service's own database (the
 * service's `<NAME>_DATABASE` or its default `sizhong_<name>`), so it answers while a service is
 * down. `drive` makes one due now; the service's recovery loop or scheduler then runs it.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectMongo, driveOn, findLocalPlatform, noLocalPlatformMessage, repositoryRoot, stuckWorkReport, type StuckWorkReport, systemClock } from '@sizhong/kit';

export const stuckWorkUsage = `  npm run admin -- stuck [--service <name>]... [--older-than <seconds>] [--json]
  npm run admin -- drive --service <name> --id <saga or job id>`;

class StuckWorkUsageError extends Error {
  override readonly name = 'UsageError';
}

export type StuckWorkCommand =
  | { readonly kind: 'stuck'; readonly services: readonly string[]; readonly olderThanSeconds: number; readonly json: boolean }
  | { readonly kind: 'drive'; readonly service: string; readonly id: string };

/** Services present in this clone (the directories under services/), for `stuck` without --service. */
export function presentServiceNames(root: string = repositoryRoot()): string[] {
  const directory = join(root, 'services');
  if (!existsSync(directory)) return [];
  return readdirSync(directory)
    .filter((name) => existsSync(join(directory, name, 'src', 'main.ts')))
    .sort();
}

export function serviceDatabaseName(service: string, environment: NodeJS.ProcessEnv): string {
  const variable = `${service.toUpperCase().replace(/-/g, '_')}_DATABASE`;
  return environment[variable]?.trim() || `sizhong_${service.replace(/-/g, '_')}`;
}

export function parseStuckWorkCommand(argv: readonly string[], known: readonly string[] = presentServiceNames()): StuckWorkCommand {
  const [command, ...rest] = argv;
  let values;
  try {
    ({ values } = parseArgs({ args: rest, strict: true, allowPositionals: false, options: { service: { type: 'string', multiple: true }, 'older-than': { type: 'string' }, json: { type: 'boolean' }, id: { type: 'string' } } }));
  } catch (error) {
    throw new StuckWorkUsageError((error as Error).message);
  }
  const services = values.service ?? [];
  const unknown = services.filter((service) => !known.includes(service));
  if (unknown.length > 0) throw new StuckWorkUsageError(`unknown service ${unknown.map((service) => `"${service}"`).join(', ')}; services are ${known.join(', ')}`);
  if (command === 'drive') {
    if (services.length !== 1) throw new StuckWorkUsageError('drive needs exactly one --service');
    if (!values.id) throw new StuckWorkUsageError('drive needs --id (a saga or job id from `stuck`)');
    return { kind: 'drive', service: services[0]!, id: values.id };
  }
  const olderThanSeconds = values['older-than'] === undefined ? 0 : Number(values['older-than']);
  if (!Number.isInteger(olderThanSeconds) || olderThanSeconds < 0) throw new StuckWorkUsageError('--older-than takes whole seconds (0 or more)');
  return { kind: 'stuck', services: services.length > 0 ? services : known, olderThanSeconds, json: values.json ?? false };
}

function formatReport(report: StuckWorkReport): string {
  const lines = [`${report.service}: ${report.sagas.length} unfinished saga(s), ${report.jobs.length} stuck job(s)`];
  for (const saga of report.sagas) {
    lines.push(`  saga ${saga.id}  ${saga.kind} ${saga.state}, ${saga.ageSeconds} s old, ${saga.attempts} recovery attempt(s), next ${saga.nextAttemptAt}${saga.lastError ? `\n      last error: ${saga.lastError}` : ''}`);
  }
  for (const job of report.jobs) lines.push(`  job  ${job.id}  ${job.kind} ${job.state}, attempt ${job.attempt}, due ${job.dueAt}${job.lastError ? `\n      last error: ${job.lastError}` : ''}`);
  return `${lines.join('\n')}\n`;
}

/** Runs `stuck` or `drive`; exit code 0, or 1 when there is no database or nothing to drive on. */
export async function runStuckWorkCommand(command: StuckWorkCommand, environment: NodeJS.ProcessEnv, write: (text: string) => void): Promise<number> {
  const mongoUrl = environment['MONGO_URL']?.trim() || findLocalPlatform()?.mongoUrl;
  if (!mongoUrl) {
    process.stderr.write(`admin: MONGO_URL is not set and ${noLocalPlatformMessage()}, or set MONGO_URL to the MongoDB the services use\n`);
    return 1;
  }
  const services = command.kind === 'drive' ? [command.service] : command.services;
  const reports: StuckWorkReport[] = [];
  for (const service of services) {
    const mongo = await connectMongo(mongoUrl, serviceDatabaseName(service, environment));
    try {
      const now = systemClock.now();
      if (command.kind === 'drive') {
        const found = await driveOn(mongo, service, command.id, now);
        if (found === 'not_found_or_finished') {
          process.stderr.write(`admin: ${service} has no unfinished saga or job ${command.id} (finished, or never existed)\n`);
          return 1;
        }
        write(`${JSON.stringify({ service, id: command.id, found, dueAt: now.toISOString() })}\n`);
        return 0;
      }
      reports.push(await stuckWorkReport(mongo, service, now, command.olderThanSeconds * 1000));
    } finally {
      await mongo.close();
    }
  }
  if (command.kind === 'stuck') write(command.json ? `${JSON.stringify(reports)}\n` : reports.map(formatReport).join(''));
  return 0;
}

export { StuckWorkUsageError };
