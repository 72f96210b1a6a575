/**
 * Starts, stops and reports the local Kafka and MongoDB-wire (mongo-java-server) servers of this clone
 * (`npm run infra:up|infra:down|infra:status`). See docs/infrastructure.md.
 *
 * This command always manages the local servers, never containers: testcontainers removes its
 * containers when the process that started them exits, which this command does at once.
 */
import { InfrastructureError, LocalKafka, LocalMongo, formatSeconds, type LocalServerStarted, type LocalServerStatus } from '../packages/testkit/src/infra';

const usage = 'usage: tsx scripts/infra.ts up|down|status';
/** The longest server name, `mongo-java-server`. */
const nameWidth = 17;

async function up(): Promise<void> {
  const startedAtMs = Date.now();
  const kafka = new LocalKafka();
  const mongo = new LocalMongo();
  // Settled, not all: one server failing must neither hide the other's error nor leave it starting unreported.
  const [kafkaStarted, mongoStarted] = await Promise.allSettled([kafka.up(), mongo.up()]);
  const report = (variable: string, value: string, outcome: PromiseSettledResult<LocalServerStarted>): void => {
    if (outcome.status === 'fulfilled') {
      const { name, startedHere, pid } = outcome.value;
      console.log(`${variable}=${value}   # ${name} ${startedHere ? 'started' : 'already running'}, pid ${pid}`);
    } else {
      process.exitCode = 1;
      console.error(describeError(outcome.reason));
    }
  };
  report('KAFKA_BROKERS', kafka.brokers.join(','), kafkaStarted);
  report('MONGO_URL', mongo.mongoUrl, mongoStarted);
  if (process.exitCode === 1) return;
  console.log(`Ready in ${formatSeconds(Date.now() - startedAtMs)}. Stop with \`npm run infra:down\`; logs in ${kafka.logFile} and ${mongo.logFile}.`);
  if (process.env.KAFKA_BROKERS || process.env.MONGO_URL) {
    console.log('Note: KAFKA_BROKERS or MONGO_URL is set in this shell, so `npm start` and the tests use that instead of these servers.');
  }
}

async function down(): Promise<void> {
  const stopped = await Promise.all([new LocalKafka().down(), new LocalMongo().down()]);
  for (const server of stopped) {
    const outcome =
      server.outcome === 'was-not-running' ? 'was not running' : `${server.outcome === 'killed' ? 'killed after ignoring SIGTERM' : 'stopped'} (pid ${server.pid}, ${formatSeconds(server.elapsedMs)})`;
    console.log(`${server.name.padEnd(nameWidth)} ${outcome}`);
  }
}

async function status(): Promise<void> {
  const statuses: LocalServerStatus[] = await Promise.all([new LocalKafka().status(), new LocalMongo().status()]);
  for (const server of statuses) {
    const pid = server.state === 'stopped' ? '' : `pid ${server.pid}`;
    const detail = server.state === 'stopped' && server.detail !== undefined ? `  (${server.detail})` : '';
    console.log(`${server.name.padEnd(nameWidth)} ${server.state.padEnd(13)} ${pid.padEnd(11)} ${server.address}${detail}`);
  }
}

async function main(command: string | undefined): Promise<void> {
  switch (command) {
    case 'up':
      return up();
    case 'down':
      return down();
    case 'status':
      return status();
    default:
      console.error(usage);
      process.exitCode = 2;
  }
}

main(process.argv[2]).catch((error: unknown) => {
  console.error(describeError(error));
  process.exitCode = 1;
});

/** Expected failures carry a message written for this terminal; anything else shows its stack. */
function describeError(error: unknown): string {
  if (error instanceof InfrastructureError) return `infra: ${error.message}`;
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
