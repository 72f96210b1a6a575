/**
 * Runs the risk rules over each event: load the states the rule names, step (pure), raise its
 * alerts (idempotent), then write the states (kept in memory after each write: WriteThroughCache). Alerts go first so a crash between the two repeats
 * the step from the old states and raises the same alerts (deduplicated by id). A state that
 * already applied the event keeps its state.
 */
import { type AggregateStore, KeyedMutex, type Loaded } from '@sizhong/kit';
import type { CreditEvent } from '../domain/events';
import type { RiskRule } from '../domain/risk/rule';
import { escrowHeldTooLong, type Hold, overdueHolds, type RuleThresholds } from '../domain/risk/rules';
import { ruleStateAppliedKept, type RuleState } from '../storage/risk-store';
import type { RiskAlerts } from './risk-alerts';
import { WriteThroughCache } from './write-through-cache';

/** Open holds checked per sweep of the hold loop. */
export const holdsPerSweepMax = 10_000;

export class RiskEngine {
  private readonly caches = new Map<string, WriteThroughCache<RuleState>>();
  private readonly stores = new Map<string, AggregateStore<RuleState>>();
  /** Events of different partitions are applied side by side: one rule's documents change one event at a time. */
  private readonly locks = new KeyedMutex();

  constructor(
    private readonly rules: readonly RiskRule[],
    private readonly thresholds: RuleThresholds,
    storeOf: (ruleId: string) => AggregateStore<RuleState>,
    private readonly alerts: RiskAlerts,
  ) {
    for (const rule of rules) {
      const store = storeOf(rule.id);
      this.stores.set(rule.id, store);
      this.caches.set(rule.id, new WriteThroughCache(store));
    }
  }

  async ensureIndexes(): Promise<void> {
    for (const store of this.stores.values()) await store.ensureIndexes();
  }

  /** Runs every rule the event concerns; rules touch disjoint documents, so they run side by side. */
  async evaluate(event: CreditEvent): Promise<void> {
    await Promise.all(
      this.rules.map(async (rule) => {
        const keys = rule.keys(event);
        if (keys.length > 0) await this.withLocks(rule.id, [...new Set(keys)].sort(), () => this.step(rule, keys, event));
      }),
    );
  }

  /** Takes the keys' locks in sorted order (so two events never wait for each other in a cycle). */
  private async withLocks<T>(ruleId: string, sortedKeys: readonly string[], work: () => Promise<T>): Promise<T> {
    const [first, ...rest] = sortedKeys;
    if (first === undefined) return work();
    return this.locks.run(`${ruleId}|${first}`, () => this.withLocks(ruleId, rest, work));
  }

  private async step(rule: RiskRule, keys: readonly string[], event: CreditEvent): Promise<void> {
    const cache = this.caches.get(rule.id)!;
    const loaded = new Map<string, Loaded<RuleState> | undefined>();
    for (const key of keys) loaded.set(key, await cache.load(key));
    const fresh = keys.filter((key) => !loaded.get(key)?.state.applied.includes(event.id));
    if (fresh.length === 0) return;
    const result = rule.step(new Map(keys.map((key) => [key, loaded.get(key)?.state.data])), event, this.thresholds[rule.id] ?? rule.defaults);
    for (const draft of result.alerts) await this.alerts.raise(draft);
    await Promise.all(
      [...result.states].filter(([key]) => fresh.includes(key)).map(([key, data]) => {
        const current = loaded.get(key);
        return cache.write(key, current, { data, applied: [...(current?.state.applied ?? []), event.id].slice(-ruleStateAppliedKept) });
      }),
    );
  }

  /** Raises ESCROW_HELD_TOO_LONG for holds still open past the window at `now` (the hold loop). */
  async sweepHolds(now: Date): Promise<number> {
    const windowMs = this.thresholds[escrowHeldTooLong.id]?.['windowMs'] ?? escrowHeldTooLong.defaults.windowMs;
    const open = await this.stores.get(escrowHeldTooLong.id)!.find({ _id: { $regex: '^hold:' }, 'state.data.open': true, 'state.data.sinceMs': { $lt: now.getTime() - windowMs } }, { limit: holdsPerSweepMax });
    const holds = open.map((loaded) => loaded.state.data as Hold);
    let raised = 0;
    for (const draft of overdueHolds(holds, now.getTime(), windowMs)) if ((await this.alerts.raise(draft)).created) raised += 1;
    return raised;
  }

  /** Money waiting in escrow by deal kind and currency (holds plus posted escrow balances). */
  async heldInEscrow(): Promise<{ kind: string; currency: string; amountMinor: bigint }[]> {
    const totals = await this.stores.get(escrowHeldTooLong.id)!.find({ _id: { $regex: '^total:' } }, { limit: 1_000 });
    return totals
      .map((loaded) => {
        const [, kind = '', currency = ''] = loaded.id.split(':');
        const data = loaded.state.data as { pendingMinor: bigint; postedMinor: bigint };
        return { kind, currency, amountMinor: BigInt(data.pendingMinor) + BigInt(data.postedMinor) };
      })
      .sort((a, b) => (a.kind + a.currency < b.kind + b.currency ? -1 : 1));
  }
}
