/** The programs the local servers need, checked before any long step so a missing one fails fast. */
import { InfrastructureError } from './infrastructure-error';
import { runCommand, type ToolRequirement } from './processes';

/** Asking a tool for its version never takes long; a hang means something is badly wrong. */
const versionQueryTimeoutMs = 30_000;
/** Kafka 4 brokers and mongo-java-server 1.47 need Java 17 or later. */
export const javaMajorVersionMin = 17;

export const java: ToolRequirement = {
  command: 'java',
  installHint:
    `Kafka and the local MongoDB-wire server (mongo-java-server) need a Java ${javaMajorVersionMin}+ runtime: install a JDK ` +
    '(for example `sudo apt-get install openjdk-17-jdk-headless`, or Temurin 17 from https://adoptium.net), ' +
    'or set KAFKA_BROKERS and MONGO_URL to existing servers.',
};

export const javac: ToolRequirement = {
  command: 'javac',
  installHint:
    "javac compiles the local MongoDB-wire server's main class once per user and version: install a Java " +
    `${javaMajorVersionMin}+ JDK, not only a runtime (for example \`sudo apt-get install openjdk-17-jdk-headless\`), or set MONGO_URL to an existing MongoDB.`,
};

export const maven: ToolRequirement = {
  command: 'mvn',
  installHint:
    'Maven downloads the Kafka and mongo-java-server jars from Maven Central once per user and version: install Maven 3.6+ ' +
    '(for example `sudo apt-get install maven`), or set KAFKA_BROKERS and MONGO_URL to existing servers.',
};

/** Fails with what to install unless `java` runs and is recent enough for Kafka and mongo-java-server. */
export async function requireJava(): Promise<void> {
  const output = await runCommand(java, ['-version'], { cwd: process.cwd(), timeoutMs: versionQueryTimeoutMs });
  // `openjdk version "17.0.15"`, or `java version "1.8.0_402"` before Java 9.
  const match = /version "(\d+)(?:\.(\d+))?/.exec(output);
  if (match === null) return;
  const major = match[1] === '1' ? Number(match[2]) : Number(match[1]);
  if (major < javaMajorVersionMin) {
    throw new InfrastructureError('tool-too-old', `\`java\` on PATH is Java ${major}. ${java.installHint}`);
  }
}

/** Fails with what to install unless `tool` runs. */
export async function requireTool(tool: ToolRequirement, versionArgs: readonly string[]): Promise<void> {
  await runCommand(tool, versionArgs, { cwd: process.cwd(), timeoutMs: versionQueryTimeoutMs });
}
