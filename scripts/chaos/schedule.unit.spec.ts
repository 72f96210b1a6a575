// Proves the fault-injection run's plan replays from its seed: the same seed gives the same kills, pauses and gRPC fault plans, another seed another schedule, every target is hit before any twice, and every plan is one kit's parser accepts.
import { parseGrpcFaultPlan } from '../../packages/kit/src/grpc/faults';
import { downMaxMs, downMinMs, drawSchedule, faultQuietStartMs, faultTargets, SeededRandom, streamFor } from './schedule';

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
      expect(fault.downMs).toBeLessThanOrEqual(downMaxMs);
    }
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

  it('refuses a seed, a count or a duration it cannot honour', () => {
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
