/**
 * Where the CPU went during a scenario: the cores each process of the run used (this driver,
 * escrow, the gateway, the MongoDB-wire server, Kafka) and the whole machine, read from /proc
 * before and after. On two shared cores this tells whether a figure is bound by the database
 * server, by a service, or by something else on the machine. Linux only; elsewhere it says nothing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

export interface CpuSubject {
  readonly name: string;
  readonly pid: number;
}

interface Snapshot {
  readonly atMs: number;
  readonly ticksByPid: ReadonlyMap<number, number>;
  readonly machineBusyTicks: number;
  readonly machineTotalTicks: number;
}

const procAvailable = existsSync('/proc/self/stat');
const ticksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of one process (all its threads), in clock ticks; undefined once it is gone. */
function processTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces; the fields after its closing parenthesis do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/** The CPU time one process has used so far (all its threads), in milliseconds; undefined without /proc or once it is gone. */
export function processCpuMs(pid: number): number | undefined {
  const ticks = procAvailable ? processTicks(pid) : undefined;
  return ticks === undefined ? undefined : (ticks * 1_000) / ticksPerSecond;
}

function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  const total = values.reduce((sum, value) => sum + value, 0);
  return { busy: total - idle, total };
}

/** The processes whose command line contains every one of `needles` (for servers this run did not start). */
export function findProcesses(name: string, needles: readonly string[]): CpuSubject[] {
  if (!procAvailable) return [];
  const found: CpuSubject[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let commandLine: string;
    try {
      commandLine = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue;
    }
    if (needles.every((needle) => commandLine.includes(needle))) found.push({ name, pid: Number(entry) });
  }
  return found;
}

/** The local MongoDB-wire server and Kafka broker, when they run on this machine. */
export function findServerProcesses(mongoUrl: string): CpuSubject[] {
  let port = '';
  try {
    port = new URL(mongoUrl).port;
  } catch {
    // A URL naming several hosts is not a local server of ours.
  }
  const mongo = port === '' ? [] : findProcesses('mongo-java-server', ['SizhongMongoServer', `--port ${port}`]);
  return [...mongo, ...findProcesses('kafka', ['kafka.Kafka'])];
}

/** Cores other processes may use during a scenario before its figures count as disturbed. */
export const disturbedCoresMin = 0.2;

export class CpuMeter {
  /** The scenarios during which other processes used more than disturbedCoresMin cores. */
  readonly disturbed: string[] = [];

  constructor(private readonly subjects: readonly CpuSubject[]) {}

  start(): Snapshot {
    const ticksByPid = new Map<number, number>();
    if (!procAvailable) return { atMs: performance.now(), ticksByPid, machineBusyTicks: 0, machineTotalTicks: 0 };
    for (const subject of this.subjects) ticksByPid.set(subject.pid, processTicks(subject.pid) ?? 0);
    const machine = machineTicks();
    return { atMs: performance.now(), ticksByPid, machineBusyTicks: machine.busy, machineTotalTicks: machine.total };
  }

  /** `escrow 0.93, mongo-java-server 0.61, bench 0.18, kafka 0.04; everything else 0.09; the machine 1.85 of 2 busy`. */
  describe(label: string, since: Snapshot): string {
    if (!procAvailable) return 'CPU: not measured (no /proc)';
    const seconds = (performance.now() - since.atMs) / 1_000;
    let oursCores = 0;
    const parts = this.subjects.map((subject) => {
      const used = ((processTicks(subject.pid) ?? 0) - (since.ticksByPid.get(subject.pid) ?? 0)) / ticksPerSecond / seconds;
      oursCores += used;
      return `${subject.name} ${used.toFixed(2)}`;
    });
    const machine = machineTicks();
    const cores = readFileSync('/proc/cpuinfo', 'utf8').split('\n').filter((line) => line.startsWith('processor')).length;
    const busyCores = ((machine.busy - since.machineBusyTicks) / Math.max(1, machine.total - since.machineTotalTicks)) * cores;
    // What the listed processes did not use: other processes, the kernel's own work, measurement noise.
    const othersCores = Math.max(0, busyCores - oursCores);
    if (othersCores > disturbedCoresMin) this.disturbed.push(`${label} (other processes used ${othersCores.toFixed(2)} cores)`);
    return `CPU in cores: ${parts.join(', ')}; everything else ${othersCores.toFixed(2)}; the machine ${busyCores.toFixed(2)} of ${cores} busy`;
  }
}

/** How busy the whole machine was over the next `sampleMs` (0 to 1); undefined without /proc. */
export async function sampleMachineBusy(sampleMs: number): Promise<number | undefined> {
  if (!procAvailable) return undefined;
  const before = machineTicks();
  await new Promise((resolve) => setTimeout(resolve, sampleMs));
  const after = machineTicks();
  return (after.busy - before.busy) / Math.max(1, after.total - before.total);
}
