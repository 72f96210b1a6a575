// Proves the fault-injection run's plan replays from its seed: the same seed gives the same kills, pauses and gRPC fault plans, another seed another schedule, every target is hit before any twice, and every plan is one kit's parser accepts; at two replicas every replica is a target of its own with its own plan and a clock skew inside the bound, and one replica leaves phase 1's schedules as they were.
import { parseGrpcFaultPlan } from '../../packages/kit/src/grpc/faults';
import { downMaxMs, downMinMs, drawSchedule, faultQuietStartMs, faultTargets, longOutageChance, longOutageMaxMs, longOutageMinMs, SeededRandom, serviceOf, streamFor, targetsAt } from './schedule';

describe('the chaos schedule', () => {
  it('is the same for the same seed, and another for another seed', () => {
    const first = drawSchedule({ seed: 42, faultCount: 30, durationMs: 600_000 });
    const again = drawSchedule({ seed: 42, faultCount: 30, durationMs: 600_000 });
    const other = drawSchedule({ seed: 43, faultCount: 30, durationMs: 600_000 });
    expect(again).toEqual(first);
    expect(other.faults).not.toEqual(first.faults);
    expect(other.grpcFaults).not.toEqual(first.grpcFaults);
  });

  it('numbers its steps in time order, inside the run, each process down for a bounded pause', () => {
    const { faults } = drawSchedule({ seed: 7, faultCount: 50, durationMs: 120_000 });
    expect(faults.map((fault) => fault.step)).toEqual(Array.from({ length: 50 }, (_, index) => index + 1));
    for (const [index, fault] of faults.entries()) {
      expect(fault.atMs).toBeGreaterThanOrEqual(faultQuietStartMs);
      expect(fault.atMs).toBeLessThan(120_000);
      if (index > 0) expect(fault.atMs).toBeGreaterThanOrEqual(faults[index - 1]!.atMs);
      expect(fault.downMs).toBeGreaterThanOrEqual(downMinMs);
      const short = fault.downMs <= downMaxMs;
      expect(short || (fault.downMs >= longOutageMinMs && fault.downMs <= longOutageMaxMs)).toBe(true);
    }
  });

  it('makes about a tenth of the kills long outages, longer than a job retries in its first 15 s', () => {
    const faults = Array.from({ length: 200 }, (_, index) => drawSchedule({ seed: index, faultCount: 30, durationMs: 120_000 }).faults).flat();
    const long = faults.filter((fault) => fault.downMs >= longOutageMinMs);
    expect(long.length / faults.length).toBeGreaterThan(longOutageChance * 0.7);
    expect(long.length / faults.length).toBeLessThan(longOutageChance * 1.3);
    expect(longOutageMinMs).toBeGreaterThan(1_000 + 2_000 + 4_000 + 8_000);
  });

  it('kills every target once before any twice', () => {
    const { faults } = drawSchedule({ seed: 1, faultCount: faultTargets.length, durationMs: 60_000 });
    expect(new Set(faults.map((fault) => fault.target))).toEqual(new Set(faultTargets));
  });

  it('gives every gRPC client process a plan kit accepts, with its own seed', () => {
    const { grpcFaults } = drawSchedule({ seed: 99, faultCount: 0, durationMs: 60_000 });
    const plans = Object.values(grpcFaults).map((text) => parseGrpcFaultPlan(text)!);
    expect(plans).toHaveLength(5);
    expect(new Set(plans.map((plan) => plan.seed)).size).toBe(5);
  });

  it('at two replicas kills each replica as a target of its own, one at a time, and gives each its own plan and skew', () => {
    const schedule = drawSchedule({ seed: 11, faultCount: targetsAt(2).length, durationMs: 120_000, replicas: 2, skewMs: 2_000 });
    expect(new Set(schedule.faults.map((fault) => fault.target))).toEqual(new Set(targetsAt(2)));
    expect(targetsAt(2)).toEqual(expect.arrayContaining(['escrow-r1', 'escrow-r2', 'task-dispatch-r1', 'task-dispatch-r2', 'gateway', 'kafka', 'mongo']));
    expect(targetsAt(2)).not.toContain('gateway-r2');
    expect(Object.keys(schedule.grpcFaults)).toHaveLength(9);
    expect(new Set(Object.values(schedule.grpcFaults).map((text) => parseGrpcFaultPlan(text)!.seed)).size).toBe(9);
    const skews = Object.values(schedule.clockSkews);
    expect(skews).toHaveLength(8);
    for (const skew of skews) expect(Math.abs(skew)).toBeLessThanOrEqual(2_000);
    expect(new Set(skews).size).toBeGreaterThan(1);
    expect(serviceOf('task-dispatch-r2')).toBe('task-dispatch');
    expect(serviceOf('escrow')).toBe('escrow');
    expect(serviceOf('gateway')).toBeUndefined();
  });

  it('at one replica draws the schedule phase 1 drew, with no skew', () => {
    const schedule = drawSchedule({ seed: 2, faultCount: 7, durationMs: 60_000 });
    expect(drawSchedule({ seed: 2, faultCount: 7, durationMs: 60_000, replicas: 1, skewMs: 0 })).toEqual(schedule);
    expect(Object.values(schedule.clockSkews).every((skew) => skew === 0)).toBe(true);
    expect(Object.keys(schedule.grpcFaults)).toEqual(['escrow', 'task-dispatch', 'equity', 'credit', 'gateway']);
  });

  it('refuses a seed, a count or a duration it cannot honour', () => {
    expect(() => drawSchedule({ seed: 1, faultCount: 1, durationMs: 60_000, replicas: 0 })).toThrow(/replicas/);
    expect(() => drawSchedule({ seed: 1, faultCount: 1, durationMs: 60_000, skewMs: 11 * 60_000 })).toThrow(/skew/);
    expect(() => drawSchedule({ seed: -1, faultCount: 1, durationMs: 60_000 })).toThrow(/seed/);
    expect(() => drawSchedule({ seed: 1, faultCount: 1.5, durationMs: 60_000 })).toThrow(/faults/);
    expect(() => drawSchedule({ seed: 1, faultCount: 1, durationMs: 1_000 })).toThrow(/duration/);
  });

  it('draws independent streams per purpose, each replayable', () => {
    const draws = (random: SeededRandom) => Array.from({ length: 5 }, () => random.next());
    expect(draws(streamFor(5, 'workload'))).toEqual(draws(streamFor(5, 'workload')));
    expect(draws(streamFor(5, 'workload'))).not.toEqual(draws(streamFor(5, 'schedule')));
  });
});
