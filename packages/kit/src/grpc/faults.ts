/**
 * Fault injection for outgoing unary gRPC calls, for the seeded fault-injection run only: switched
 * on by `GRPC_FAULTS` (empty, the default, injects nothing) and never by code. Each call draws from
 * a seeded generator, so a seed replays the same faults in the same order of calls:
 *   - `delay`: the request waits up to `delayMaxMs` before it is sent (a slow network or peer);
 *   - `lost_answer`: the call is made and completes on the server, then the caller sees
 *     DEADLINE_EXCEEDED (the answer was lost): the fault that tells an unknown outcome from a refusal;
 *   - `unavailable`: the call is not made and the caller sees UNAVAILABLE.
 *
 *   GRPC_FAULTS="seed=42,delay=0.1,delayMaxMs=3000,lostAnswer=0.05,unavailable=0.05"
 */
import { DomainError } from '../errors';

export interface GrpcFaultPlan {
  readonly seed: number;
  /** Probabilities per call, each in [0, 1], together at most 1. */
  readonly delay: number;
  readonly delayMaxMs: number;
  readonly lostAnswer: number;
  readonly unavailable: number;
}

export type GrpcFault = { readonly kind: 'none' } | { readonly kind: 'delay'; readonly delayMs: number } | { readonly kind: 'lost_answer' } | { readonly kind: 'unavailable' };

/** The longest delay a plan may ask for (a delay is a fault, not a hang). */
export const grpcFaultDelayMaxMs = 60_000;

const planKeys = ['seed', 'delay', 'delayMaxMs', 'lostAnswer', 'unavailable'] as const;

/** Parses `GRPC_FAULTS`; undefined when it is empty. Throws with the reason on a malformed plan. */
export function parseGrpcFaultPlan(text: string | undefined): GrpcFaultPlan | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const values: Record<string, number> = { seed: 1, delay: 0, delayMaxMs: 1_000, lostAnswer: 0, unavailable: 0 };
  for (const part of text.split(',')) {
    const [key, value, ...rest] = part.split('=').map((piece) => piece.trim());
    if (!key || value === undefined || rest.length > 0 || !(planKeys as readonly string[]).includes(key)) throw new Error(`GRPC_FAULTS: "${part}" is not one of ${planKeys.map((name) => `${name}=<number>`).join(', ')}`);
    const number = Number(value);
    if (!Number.isFinite(number) || number < 0) throw new Error(`GRPC_FAULTS: ${key} must be a number of at least 0, not "${value}"`);
    values[key] = number;
  }
  const plan: GrpcFaultPlan = { seed: Math.floor(values['seed']!), delay: values['delay']!, delayMaxMs: values['delayMaxMs']!, lostAnswer: values['lostAnswer']!, unavailable: values['unavailable']! };
  if (plan.delay + plan.lostAnswer + plan.unavailable > 1) throw new Error('GRPC_FAULTS: delay + lostAnswer + unavailable must be at most 1');
  if (plan.delayMaxMs > grpcFaultDelayMaxMs) throw new Error(`GRPC_FAULTS: delayMaxMs must be at most ${grpcFaultDelayMaxMs}`);
  return plan;
}

/** A small seeded generator (mulberry32): the same seed gives the same draws on every platform. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export class GrpcFaultInjector {
  private readonly random: () => number;
  private readonly counts = { calls: 0, delay: 0, lost_answer: 0, unavailable: 0 };

  constructor(readonly plan: GrpcFaultPlan) {
    this.random = seededRandom(plan.seed);
  }

  /** The fault for the next call. */
  next(): GrpcFault {
    this.counts.calls++;
    const draw = this.random();
    const amount = this.random();
    const { delay, lostAnswer, unavailable } = this.plan;
    if (draw < delay) {
      this.counts.delay++;
      return { kind: 'delay', delayMs: Math.round(amount * this.plan.delayMaxMs) };
    }
    if (draw < delay + lostAnswer) {
      this.counts.lost_answer++;
      return { kind: 'lost_answer' };
    }
    if (draw < delay + lostAnswer + unavailable) {
      this.counts.unavailable++;
      return { kind: 'unavailable' };
    }
    return { kind: 'none' };
  }

  /** Calls seen and faults injected so far, by kind. */
  get injected(): Readonly<typeof this.counts> {
    return { ...this.counts };
  }

  /** Runs `call` under the next fault. */
  async around<T>(method: string, call: () => Promise<T>): Promise<T> {
    const fault = this.next();
    if (fault.kind === 'unavailable') throw new DomainError('UNAVAILABLE', `fault injected: ${method} not sent`, injectedFaultDetails);
    if (fault.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    const answer = await call();
    if (fault.kind === 'lost_answer') throw new DomainError('DEADLINE_EXCEEDED', `fault injected: the answer of ${method} was lost`, injectedFaultDetails);
    return answer;
  }
}

let installed: GrpcFaultInjector | undefined;

/** Switches fault injection on for every client of this process (the fault-injection run's services and gateway). */
export function installGrpcFaults(plan: GrpcFaultPlan | undefined): void {
  installed = plan === undefined ? undefined : new GrpcFaultInjector(plan);
}

export function installedGrpcFaults(): GrpcFaultInjector | undefined {
  return installed;
}

/** What an injected fault's error carries, so a saga can count the faults that hit it (saga-log.ts). */
const injectedFaultDetails = { injectedFault: true } as const;

/** Whether `error` is one this injector raised (a call not sent, an answer lost). */
export function isInjectedFault(error: unknown): boolean {
  return error instanceof DomainError && error.details['injectedFault'] === true;
}
