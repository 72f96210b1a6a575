/**
 * Runs the risk rules over each event: load the states the rule names, step (pure), raise its
 * alerts (idempotent), then write the states (kept in memory after each write: WriteThroughCache). Alerts go first so a crash between the two repeats
 * the step from the old states and raises the same alerts (deduplicated by id). A state that
 * already applied the event keeps its state.
 */
import type { AggregateStore, Loaded } from '@sizhong/kit';
import type { CreditEvent } from '../domain/events';
import type { RiskRule } from '../domain/risk/rule';
import { escrowHeldTooLong, type Hold, overdueHolds, type RuleThresholds } from '../domain/risk/rules';
import { ruleStateAppliedKept, type RuleState } from '../storage/risk-store';
import type { RiskAlerts } from './risk-alerts';
import { WriteThroughCache } from './write-through-cache';

/** Open holds checked per sweep of the hold loop. */
export const holdsPerSweepMax = 10_000;

export class RiskEngine {
  private readonly cache: WriteThroughCache<RuleState>;

  constructor(
    private readonly rules: readonly RiskRule[],
    private readonly thresholds: RuleThresholds,
    private readonly states: AggregateStore<RuleState>,
    private readonly alerts: RiskAlerts,
  ) {
    this.cache = new WriteThroughCache(states);
  }

  /** Runs every rule the event concerns; rules touch disjoint documents, so they run side by side. */
  async evaluate(event: CreditEvent): Promise<void> {
    await Promise.all(
      this.rules.map(async (rule) => {
        const keys = rule.keys(event);
        if (keys.length > 0) await this.step(rule, keys, event);
      }),
    );
  }

  private async step(rule: RiskRule, keys: readonly string[], event: CreditEvent): Promise<void> {
    const loaded = new Map<string, Loaded<RuleState> | undefined>();
    for (const key of keys) loaded.set(key, await this.cache.load(`${rule.id}|${key}`));
    const fresh = keys.filter((key) => !loaded.get(key)?.state.applied.includes(event.id));
    if (fresh.length === 0) return;
    const result = rule.step(new Map(keys.map((key) => [key, loaded.get(key)?.state.data])), event, this.thresholds[rule.id] ?? rule.defaults);
    for (const draft of result.alerts) await this.alerts.raise(draft);
    for (const [key, data] of result.states) {
      if (!fresh.includes(key)) continue;
      const current = loaded.get(key);
      await this.cache.write(`${rule.id}|${key}`, current, { data, applied: [...(current?.state.applied ?? []), event.id].slice(-ruleStateAppliedKept) });
    }
  }

  /** Raises ESCROW_HELD_TOO_LONG for holds still open past the window at `now` (the hold loop). */
  async sweepHolds(now: Date): Promise<number> {
    const windowMs = this.thresholds[escrowHeldTooLong.id]?.['windowMs'] ?? escrowHeldTooLong.defaults.windowMs;
    const open = await this.states.find({ _id: { $regex: `^${escrowHeldTooLong.id}\\|hold:` }, 'state.data.open': true, 'state.data.sinceMs': { $lt: now.getTime() - windowMs } }, { limit: holdsPerSweepMax });
    const holds = open.map((loaded) => loaded.state.data as Hold);
    let raised = 0;
    for (const draft of overdueHolds(holds, now.getTime(), windowMs)) if ((await this.alerts.raise(draft)).created) raised += 1;
    return raised;
  }

  /** Money waiting in escrow by deal kind and currency (holds plus posted escrow balances). */
  async heldInEscrow(): Promise<{ kind: string; currency: string; amountMinor: bigint }[]> {
    const totals = await this.states.find({ _id: { $regex: `^${escrowHeldTooLong.id}\\|total:` } }, { limit: 1_000 });
    return totals
      .map((loaded) => {
        const [, kind = '', currency = ''] = loaded.id.split('|')[1]!.split(':');
        const data = loaded.state.data as { pendingMinor: bigint; postedMinor: bigint };
        return { kind, currency, amountMinor: BigInt(data.pendingMinor) + BigInt(data.postedMinor) };
      })
      .sort((a, b) => (a.kind + a.currency < b.kind + b.currency ? -1 : 1));
  }
}
