/**
 * The campaigns' recovery loop, behind the scheduler and the kit's saga recovery (which drives on
 * every settlement and delivery saga that has a record): it finds what has none yet.
 *   - campaigns past their deadline by `recoveryAgeMs` and still `live` (their settle job was lost,
 *     for example a crash between the launch write and its schedule), and campaigns `closing` or
 *     `succeeded` (settled by a version of escrow without settlement sagas): their settlement saga
 *     is started, or answered from its record;
 *   - pledge sagas left running or compensating on live campaigns (a backer's request gave up
 *     mid-way and never came back): driven on, so a hold does not wait for the deadline to be
 *     completed or given back. Settlement drives on the rest behind its fence (it is also the
 *     backstop for an entry this replica's sweep window passed by, stamped by a replica whose
 *     clock is behind).
 * Round trips: two bounded campaign queries per run; the pledge sweep, once per
 * `CAMPAIGN_RECOVERY_AGE_MS` (a scan of positions locally), reads the positions with entries begun
 * since the last sweep (all of them after a start) and one pledge document per such entry.
 */
import { sagaStuckAfterMs } from '@sizhong/kit';
import type { Campaign } from '../../domain/campaign';
import type { EndedPledge, PositionPledge } from '../../storage/campaign-store';
import type { CampaignWrites } from './context';
import type { Pledging } from './pledging';

/** Campaigns one recovery run settles at most. */
export const campaignRecoveryBatch = 20;
/** Positions one page of the pledge sweep reads. */
export const pledgeSweepPageSize = 200;

export class CampaignRecovery {
  /** Pledge sagas begun up to this instant have been looked at (none after a start). */
  private sweptUpTo = new Date(0);
  private lastSweepAtMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly writes: CampaignWrites,
    private readonly pledging: Pledging,
    private readonly settle: (campaignId: string) => Promise<unknown>,
  ) {}

  private get options() {
    return this.writes.options;
  }

  /** One run; returns how many campaigns and sagas it drove on. The first failure is thrown after the rest ran. */
  async recover(): Promise<number> {
    const now = this.writes.now();
    const overdue = await this.options.campaigns.find({ 'state.state': 'live', 'state.endsAt': { $lte: new Date(now.getTime() - this.options.recoveryAgeMs) } }, { limit: campaignRecoveryBatch });
    const unsettled = await this.options.campaigns.find({ 'state.state': { $in: ['closing', 'succeeded'] } }, { limit: campaignRecoveryBatch });
    const failures: unknown[] = [];
    for (const loaded of [...overdue, ...unsettled]) await this.settle(loaded.id).catch((error: unknown) => void failures.push(error));
    const swept = await this.sweepPledges(now).catch((error: unknown) => void failures.push(error));
    if (failures.length > 0) throw failures[0];
    return overdue.length + unsettled.length + (swept ?? 0);
  }

  private async sweepPledges(now: Date): Promise<number> {
    if (now.getTime() - this.lastSweepAtMs < this.options.recoveryAgeMs) return 0;
    this.lastSweepAtMs = now.getTime();
    const upTo = new Date(now.getTime() - this.options.recoveryAgeMs);
    const campaigns = new Map<string, Campaign | undefined>();
    let driven = 0;
    let failure: unknown;
    for (let afterId = ''; ; ) {
      const page = await this.options.positions.withUnfinished(this.sweptUpTo, upTo, afterId, pledgeSweepPageSize);
      for (const position of page) {
        const started = position.pledges.filter((entry) => entry.startedAt !== undefined && entry.startedAt > this.sweptUpTo && entry.startedAt <= upTo);
        const compensating = (position.ended ?? []).filter((entry) => entry.state === 'compensating');
        for (const entry of [...started, ...compensating]) {
          if (!('state' in entry) && (await this.options.pledges.load(entry.pledgeId))) continue;
          if (!campaigns.has(position.campaignId)) campaigns.set(position.campaignId, (await this.options.campaigns.load(position.campaignId))?.state);
          const campaign = campaigns.get(position.campaignId);
          // Past live, settlement drives the campaign's sagas on behind its fence.
          if (campaign?.state !== 'live') continue;
          driven += 1;
          await this.pledging.sagas.driveOn(campaign, position.backerId, entry).catch((error: unknown) => {
            failure ??= error;
            this.reportFailure(now, position.backerId, entry, error);
          });
        }
      }
      if (page.length < pledgeSweepPageSize) break;
      afterId = page[page.length - 1]!._id;
    }
    // A saga that could not be driven on is looked at again from the same instant next time.
    if (failure !== undefined) throw failure;
    this.sweptUpTo = upTo;
    return driven;
  }

  /** Pledge sagas live in positions, not in `escrow_sagas`: the sweep is what says one is stuck (an error log past `sagaStuckAfterMs`). */
  private reportFailure(now: Date, backerId: string, entry: PositionPledge | EndedPledge, error: unknown): void {
    const ageMs = entry.startedAt === undefined ? undefined : now.getTime() - entry.startedAt.getTime();
    const fields = { err: error, kind: 'pledge', sagaId: entry.pledgeId, backerId, state: 'state' in entry ? entry.state : 'running', ageMs };
    if (ageMs !== undefined && ageMs >= sagaStuckAfterMs) this.options.logger.error(fields, `pledge saga ${entry.pledgeId} is still unfinished after ${Math.round(ageMs / 1000)} s`);
    else this.options.logger.info(fields, `pledge saga ${entry.pledgeId} stays unfinished; the next sweep tries again`);
  }
}
