/**
 * A diagnostic preload for a child process (BENCH_COUNT_COMMANDS=1, `node --import tsx --import
 * <this file>`): turns on the MongoDB driver's command monitoring in every client the process
 * connects and counts the commands it sends (the round trips to the database), by command and
 * collection, with the time each took. On SIGUSR2 it prints one line
 * `BENCH_MONGO_COMMANDS {"<command> <collection>": {"count": n, "totalMs": t}, …}` on standard
 * output and starts counting afresh, so the benchmark reads the counts of each scenario apart.
 * Not loaded in normal runs: monitoring costs a little time per command.
 */
import { type CommandFailedEvent, type CommandStartedEvent, type CommandSucceededEvent, MongoClient } from 'mongodb';
import { mongoCommandsReportPrefix } from './report-prefix';

interface Tally {
  count: number;
  totalMs: number;
}

/** The command's verb and, for commands on one collection, the collection: "insert pledges". */
function commandKey(commandName: string, command: Record<string, unknown>): string {
  const target = command[commandName];
  return typeof target === 'string' ? `${commandName} ${target}` : commandName;
}

function installCounting(): void {
  let tallies = new Map<string, Tally>();
  const keysByRequest = new Map<number, string>();
  const tally = (key: string) => {
    let found = tallies.get(key);
    if (!found) tallies.set(key, (found = { count: 0, totalMs: 0 }));
    return found;
  };
  const onStarted = (event: CommandStartedEvent) => {
    const key = commandKey(event.commandName, event.command as Record<string, unknown>);
    keysByRequest.set(event.requestId, key);
    tally(key).count += 1;
  };
  const onFinished = (event: CommandSucceededEvent | CommandFailedEvent) => {
    const key = keysByRequest.get(event.requestId);
    keysByRequest.delete(event.requestId);
    if (key !== undefined) tally(key).totalMs += event.duration;
  };
  // Kit connects through mongoose; counting is only complete when mongoose uses this same driver copy.
  const kitDirectory = `${__dirname}/../../packages/kit`;
  const mongooseDriver = require.resolve('mongodb', { paths: [require.resolve('mongoose', { paths: [kitDirectory] })] });
  if (mongooseDriver !== require.resolve('mongodb', { paths: [kitDirectory] })) {
    process.stderr.write(`count-mongo-commands: mongoose uses another mongodb driver (${mongooseDriver}); its commands are not counted\n`);
  }
  const connect = MongoClient.prototype.connect;
  MongoClient.prototype.connect = function connectMonitored(this: MongoClient) {
    // The driver's setter (not in its typings) switches monitoring on for a client not yet connected.
    const monitored = this as unknown as { monitorCommands: boolean };
    if (!monitored.monitorCommands) {
      monitored.monitorCommands = true;
      this.on('commandStarted', onStarted);
      this.on('commandSucceeded', onFinished);
      this.on('commandFailed', onFinished);
    }
    return connect.call(this);
  };
  process.on('SIGUSR2', () => {
    const report = Object.fromEntries([...tallies.entries()].sort(([left], [right]) => left.localeCompare(right)));
    process.stdout.write(`${mongoCommandsReportPrefix}${JSON.stringify(report)}\n`);
    tallies = new Map();
  });
}

installCounting();
