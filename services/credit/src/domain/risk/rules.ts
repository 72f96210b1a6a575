/**
 * The risk rules (docs/credit-risk.md): each with a stable id, a severity, thresholds with
 * defaults (overridable by configuration), and pure steps. Windows are measured on the events'
 * own times, so a replay raises the same alerts.
 */
import { flag, text, whole } from '../events';
import type { CreditEvent } from '../events';
import { type AlertDraft, burstWith, evidenceOf, links, nothing, type RiskRule, slideWindow, type StateMap, type StepResult, type WindowEntry, windowEvidence, windowHorizonWindows } from './rule';

const dayMs = 86_400_000;
/** Overdue milestones count over the subject's whole life: a window so long its horizon never drops one. */
const foreverMs = Math.floor(Number.MAX_SAFE_INTEGER / windowHorizonWindows);

function only(key: string, state: unknown, alerts: AlertDraft[] = []): StepResult {
  return { states: new Map([[key, state]]), alerts };
}

function windowOf(states: StateMap, key: string): WindowEntry[] {
  return (states.get(key) as WindowEntry[] | undefined) ?? [];
}

function money(payload: Readonly<Record<string, unknown>>, field: string): { currency: string; amountMinor: bigint } {
  const value = payload[field] as { currency?: unknown; amountMinor?: unknown } | undefined;
  const amount = value?.amountMinor;
  return { currency: typeof value?.currency === 'string' ? value.currency : '', amountMinor: typeof amount === 'bigint' ? amount : BigInt(typeof amount === 'number' ? amount : 0) };
}

/** Many pledges on one campaign in a short time: a bot, a ring, or a promotion that needs a look. */
export const pledgeVelocitySpike: RiskRule<{ pledges: number; windowMs: number }> = {
  id: 'PLEDGE_VELOCITY_SPIKE',
  severity: 'high',
  description: 'at least `pledges` pledges on one campaign within `windowMs`',
  defaults: { pledges: 20, windowMs: 60_000 },
  keys: (event) => (event.type === 'PledgePlaced' && text(event.payload, 'campaignId') ? [`campaign:${text(event.payload, 'campaignId')}`] : []),
  step(states, event, thresholds) {
    const campaignId = text(event.payload, 'campaignId');
    const key = `campaign:${campaignId}`;
    const entry: WindowEntry = { atMs: event.occurredAt.getTime(), eventId: event.id, eventType: event.type, link: links.pledge(text(event.payload, 'pledgeId')) };
    const kept = slideWindow(windowOf(states, key), entry, thresholds.windowMs);
    const entries = burstWith(kept, event.id, thresholds.windowMs, thresholds.pledges);
    if (!entries) return only(key, kept);
    const first = entries[0]!;
    const last = entries[entries.length - 1]!;
    return only(key, kept, [
      {
        rule: this.id,
        severity: this.severity,
        subject: { kind: 'campaign', id: campaignId },
        summary: `${entries.length} pledges on campaign ${campaignId} within ${Math.round((last.atMs - first.atMs) / 1000)} s (threshold ${thresholds.pledges} in ${thresholds.windowMs / 1000} s)`,
        evidence: [...windowEvidence(entries), { eventId: '', eventType: 'Campaign', occurredAt: event.occurredAt, link: links.campaign(campaignId) }],
        at: event.occurredAt,
        dedupeKey: String(Math.floor(first.atMs / thresholds.windowMs)),
      },
    ]);
  },
};

interface Pledged {
  readonly totalMinor: bigint;
}

interface CampaignPledged extends Pledged {
  /** The largest backers by amount pledged, largest first (at most `topBackersKept`). */
  readonly top: readonly { readonly backerId: string; readonly amountMinor: bigint }[];
  /** The campaign's goal, from CampaignLaunched; until it is known nothing is judged. */
  readonly goalMinor?: bigint;
}

/** Backers whose totals each campaign keeps for the concentration check. */
export const topBackersKept = 5;

/**
 * One backer holding a large share of a campaign: the campaign's success may be manufactured.
 * The share is measured against the campaign's goal, or against what is pledged once that is more
 * (`max(goal, pledged)`): the first backer of a campaign holds "100 % of what is pledged so far",
 * which says nothing; holding half of what the campaign needs does. Judged after every pledge and
 * cancellation, and when the goal arrives (CampaignLaunched may reach credit after the first
 * pledges: it travels on the campaign's partition, pledges on theirs), against the campaign's
 * largest backers, so the outcome does not depend on the order events arrive in.
 */
export const backerConcentration: RiskRule<{ shareBps: number; campaignTotalMinMinor: number }> = {
  id: 'BACKER_CONCENTRATION',
  severity: 'medium',
  description: "one backer holds at least `shareBps` of a campaign's goal (or of what is pledged, once that is more), the campaign having at least `campaignTotalMinMinor` pledged",
  defaults: { shareBps: 5_000, campaignTotalMinMinor: 100_000 },
  keys: (event) => {
    if (event.type === 'CampaignLaunched') return [`campaign:${text(event.payload, 'campaignId')}`];
    if (event.type !== 'PledgePlaced' && event.type !== 'PledgeCancelled') return [];
    const campaignId = text(event.payload, 'campaignId');
    return campaignId ? [`campaign:${campaignId}`, `campaign:${campaignId}:backer:${text(event.payload, 'backerId')}`] : [];
  },
  step(states, event, thresholds) {
    const campaignId = text(event.payload, 'campaignId');
    const campaignKey = `campaign:${campaignId}`;
    const campaign = (states.get(campaignKey) as CampaignPledged | undefined) ?? { totalMinor: 0n, top: [] };
    if (event.type === 'CampaignLaunched') {
      const launched: CampaignPledged = { ...campaign, goalMinor: money(event.payload, 'goal').amountMinor };
      return { states: new Map<string, unknown>([[campaignKey, launched]]), alerts: concentrationAlerts(this, launched, event, campaignId, thresholds) };
    }
    const backerId = text(event.payload, 'backerId');
    const backerKey = `campaign:${campaignId}:backer:${backerId}`;
    const amount = money(event.payload, 'amount').amountMinor * (event.type === 'PledgePlaced' ? 1n : -1n);
    const total = campaign.totalMinor + amount;
    const backer = ((states.get(backerKey) as Pledged | undefined)?.totalMinor ?? 0n) + amount;
    const top = [...campaign.top.filter((entry) => entry.backerId !== backerId), { backerId, amountMinor: backer }]
      .sort((a, b) => (a.amountMinor > b.amountMinor ? -1 : a.amountMinor < b.amountMinor ? 1 : a.backerId < b.backerId ? -1 : 1))
      .slice(0, topBackersKept);
    const updated: CampaignPledged = { ...campaign, totalMinor: total, top };
    const result = new Map<string, unknown>([
      [campaignKey, updated],
      [backerKey, { totalMinor: backer }],
    ]);
    return { states: result, alerts: concentrationAlerts(this, updated, event, campaignId, thresholds) };
  },
};

function concentrationAlerts(rule: { id: string; severity: AlertDraft['severity'] }, campaign: CampaignPledged, event: CreditEvent, campaignId: string, thresholds: { shareBps: number; campaignTotalMinMinor: number }): AlertDraft[] {
  const total = campaign.totalMinor;
  if (campaign.goalMinor === undefined || total <= 0n || total < BigInt(thresholds.campaignTotalMinMinor)) return [];
  const base = campaign.goalMinor > total ? campaign.goalMinor : total;
  const against = campaign.goalMinor > total ? 'its goal' : 'what is pledged';
  const pledgeId = text(event.payload, 'pledgeId');
  return campaign.top
    .filter((entry) => entry.amountMinor * 10_000n >= BigInt(thresholds.shareBps) * base)
    .map((entry) => ({
      rule: rule.id,
      severity: rule.severity,
      subject: { kind: 'campaign', id: campaignId },
      summary: `backer ${entry.backerId} holds ${Number((entry.amountMinor * 10_000n) / base) / 100}% of ${against} for campaign ${campaignId} (${entry.amountMinor} of ${base} minor units; threshold ${thresholds.shareBps / 100}%)`,
      evidence: [pledgeId ? evidenceOf(event, links.pledge(pledgeId)) : evidenceOf(event, links.campaign(campaignId)), { eventId: '', eventType: 'Campaign', occurredAt: event.occurredAt, link: links.campaign(campaignId) }],
      at: event.occurredAt,
      dedupeKey: entry.backerId,
    }));
}

/** Delivery milestones past their due date (campaigns) or work handed in late (tasks). */
export const deliveryOverdue: RiskRule<{ overdueMilestones: number }> = {
  id: 'DELIVERY_OVERDUE',
  severity: 'medium',
  description: 'at least `overdueMilestones` milestones of one campaign past due, or of one task handed in late',
  defaults: { overdueMilestones: 1 },
  keys: (event) => {
    if (event.type === 'DeliveryOverdue') return [`campaign:${text(event.payload, 'campaignId')}`];
    if (event.type === 'MilestoneSubmitted' && !flag(event.payload, 'onTime')) return [`task:${text(event.payload, 'taskId')}`];
    return [];
  },
  step(states, event, thresholds) {
    const isCampaign = event.type === 'DeliveryOverdue';
    const id = text(event.payload, isCampaign ? 'campaignId' : 'taskId');
    const key = `${isCampaign ? 'campaign' : 'task'}:${id}`;
    const link = isCampaign ? links.campaign(id) : links.task(id);
    const entries = slideWindow(windowOf(states, key), { atMs: event.occurredAt.getTime(), eventId: event.id, eventType: event.type, link }, foreverMs);
    if (entries.length < thresholds.overdueMilestones) return only(key, entries);
    const owner = text(event.payload, isCampaign ? 'creatorId' : 'solverId');
    return only(key, entries, [
      {
        rule: this.id,
        severity: this.severity,
        subject: { kind: isCampaign ? 'campaign' : 'task', id },
        summary: `${entries.length} milestone(s) of ${isCampaign ? 'campaign' : 'task'} ${id} overdue (by ${owner}; threshold ${thresholds.overdueMilestones})`,
        evidence: [...windowEvidence(entries), { eventId: '', eventType: 'Participant', occurredAt: event.occurredAt, link: links.participant(owner) }],
        at: event.occurredAt,
        dedupeKey: `milestone-${whole(event.payload, 'milestoneIndex')}-${text(event.payload, 'assignmentId')}`,
      },
    ]);
  },
};

/** Disputes opened against one participant piling up. */
export const disputesRising: RiskRule<{ disputes: number; windowMs: number }> = {
  id: 'DISPUTES_RISING',
  severity: 'medium',
  description: 'at least `disputes` disputes opened against one participant within `windowMs`',
  defaults: { disputes: 3, windowMs: 30 * dayMs },
  keys: (event) => (event.type === 'DisputeOpened' ? [`participant:${disputedParty(event)}`] : []),
  step(states, event, thresholds) {
    const participantId = disputedParty(event);
    const key = `participant:${participantId}`;
    const kept = slideWindow(windowOf(states, key), { atMs: event.occurredAt.getTime(), eventId: event.id, eventType: event.type, link: links.task(text(event.payload, 'taskId')) }, thresholds.windowMs);
    const entries = burstWith(kept, event.id, thresholds.windowMs, thresholds.disputes);
    if (!entries) return only(key, kept);
    return only(key, kept, [
      {
        rule: this.id,
        severity: this.severity,
        subject: { kind: 'participant', id: participantId },
        summary: `${entries.length} disputes opened against ${participantId} within ${thresholds.windowMs / dayMs} days (threshold ${thresholds.disputes})`,
        evidence: [...windowEvidence(entries), { eventId: '', eventType: 'Participant', occurredAt: event.occurredAt, link: links.participant(participantId) }],
        at: event.occurredAt,
        dedupeKey: String(Math.floor(entries[0]!.atMs / thresholds.windowMs)),
      },
    ]);
  },
};

/**
 * A task dispute no arbiter resolved within DISPUTE_RESOLUTION_MS (task-dispatch publishes
 * DisputeOverdue; the money stays held in the task's escrow): the regulator looks. One alert per
 * dispute, however often the event arrives.
 */
export const disputeOverdue: RiskRule<{ overdueDisputes: number }> = {
  id: 'DISPUTE_OVERDUE',
  severity: 'high',
  description: 'a task dispute unresolved past DISPUTE_RESOLUTION_MS (task-dispatch’s DisputeOverdue); `overdueDisputes` per task before it fires',
  defaults: { overdueDisputes: 1 },
  keys: (event) => (event.type === 'DisputeOverdue' ? [`task:${text(event.payload, 'taskId')}`] : []),
  step(states, event, thresholds) {
    const taskId = text(event.payload, 'taskId');
    const disputeId = text(event.payload, 'disputeId');
    const key = `task:${taskId}`;
    const entries = slideWindow(windowOf(states, key), { atMs: event.occurredAt.getTime(), eventId: event.id, eventType: event.type, link: links.task(taskId) }, foreverMs);
    if (entries.length < thresholds.overdueDisputes) return only(key, entries);
    const amount = money(event.payload, 'amount');
    return only(key, entries, [
      {
        rule: this.id,
        severity: this.severity,
        subject: { kind: 'task', id: taskId },
        summary: `dispute ${disputeId} on task ${taskId} is unresolved past its deadline; ${amount.amountMinor} ${amount.currency} minor units stay held`,
        evidence: [evidenceOf(event, links.task(taskId))],
        at: event.occurredAt,
        dedupeKey: disputeId,
      },
    ]);
  },
};

function disputedParty(event: CreditEvent): string {
  return text(event.payload, 'openedBy') === 'solver' ? text(event.payload, 'ownerId') : text(event.payload, 'solverId');
}

/** An investor repeatedly trying to invest past the 12-month limit. */
export const investorLimitBreaches: RiskRule<{ attempts: number; windowMs: number }> = {
  id: 'INVESTOR_LIMIT_BREACHES',
  severity: 'high',
  description: 'at least `attempts` refused commitments past the 12-month limit by one investor within `windowMs`',
  defaults: { attempts: 3, windowMs: 30 * dayMs },
  keys: (event) => (event.type === 'InvestorLimitBreachAttempted' ? [`investor:${text(event.payload, 'investorId')}`] : []),
  step(states, event, thresholds) {
    const investorId = text(event.payload, 'investorId');
    const key = `investor:${investorId}`;
    const kept = slideWindow(windowOf(states, key), { atMs: event.occurredAt.getTime(), eventId: event.id, eventType: event.type, link: links.round(text(event.payload, 'roundId')) }, thresholds.windowMs);
    const entries = burstWith(kept, event.id, thresholds.windowMs, thresholds.attempts);
    if (!entries) return only(key, kept);
    return only(key, kept, [
      {
        rule: this.id,
        severity: this.severity,
        subject: { kind: 'participant', id: investorId },
        summary: `investor ${investorId} tried ${entries.length} times within ${thresholds.windowMs / dayMs} days to commit past the limit (threshold ${thresholds.attempts})`,
        evidence: [...windowEvidence(entries), { eventId: '', eventType: 'Participant', occurredAt: event.occurredAt, link: links.participant(investorId) }],
        at: event.occurredAt,
        dedupeKey: String(Math.floor(entries[0]!.atMs / thresholds.windowMs)),
      },
    ]);
  },
};

/** Per investor: the issuers they committed to, with how often and the first event. */
interface Ties {
  readonly issuers: Readonly<Record<string, { readonly count: number; readonly eventId: string; readonly roundId: string }>>;
}
/** Issuers remembered per investor. */
export const tiesPerInvestorMax = 500;

/** A lead investor who is the issuer, or whose own rounds the issuer invested in (a reciprocal tie). */
export const leadTiedToIssuer: RiskRule<{ reciprocalCommitments: number }> = {
  id: 'LEAD_TIED_TO_ISSUER',
  severity: 'high',
  description: 'a lead investor who is the issuer, or whose rounds the issuer committed to at least `reciprocalCommitments` times',
  defaults: { reciprocalCommitments: 1 },
  keys: (event) => {
    if (event.type === 'LeadCommitted') return [`investor:${text(event.payload, 'investorId')}`, `investor:${text(event.payload, 'issuerId')}`];
    if (event.type === 'CommitmentPlaced') return [`investor:${text(event.payload, 'investorId')}`];
    return [];
  },
  step(states, event, thresholds) {
    const investorId = text(event.payload, 'investorId');
    const issuerId = text(event.payload, 'issuerId');
    const roundId = text(event.payload, 'roundId');
    const investorKey = `investor:${investorId}`;
    const ties = (states.get(investorKey) as Ties | undefined) ?? { issuers: {} };
    const previous = ties.issuers[issuerId];
    const issuers = previous || Object.keys(ties.issuers).length < tiesPerInvestorMax ? { ...ties.issuers, [issuerId]: { count: (previous?.count ?? 0) + 1, eventId: previous?.eventId ?? event.id, roundId: previous?.roundId ?? roundId } } : ties.issuers;
    const result = new Map<string, unknown>([[investorKey, { issuers }]]);
    if (event.type !== 'LeadCommitted') return { states: result, alerts: [] };
    const reciprocal = ((states.get(`investor:${issuerId}`) as Ties | undefined) ?? { issuers: {} }).issuers[investorId];
    const self = investorId === issuerId;
    if (!self && (reciprocal?.count ?? 0) < thresholds.reciprocalCommitments) return { states: result, alerts: [] };
    const evidence = [evidenceOf(event, links.round(roundId))];
    if (reciprocal) evidence.push({ eventId: reciprocal.eventId, eventType: 'Commitment', occurredAt: event.occurredAt, link: links.round(reciprocal.roundId) });
    return {
      states: result,
      alerts: [
        {
          rule: this.id,
          severity: this.severity,
          subject: { kind: 'round', id: roundId },
          summary: self ? `the lead investor of round ${roundId} is its issuer ${issuerId}` : `lead ${investorId} of round ${roundId} is tied to issuer ${issuerId}: the issuer committed ${reciprocal?.count} time(s) to the lead's rounds`,
          evidence,
          at: event.occurredAt,
          dedupeKey: investorId,
        },
      ],
    };
  },
};

interface ScorePoint {
  readonly atMs: number;
  readonly score: number;
  readonly eventId: string;
  readonly eventType: string;
}
/** Score points remembered per participant and role. */
export const scorePointsMax = 200;

/** A score falling far within a short time. Fed by `ScoreChanged` facts the scoring produces. */
export const scoreCollapse: RiskRule<{ dropPoints: number; windowMs: number }> = {
  id: 'SCORE_COLLAPSE',
  severity: 'high',
  description: 'a score at least `dropPoints` below its highest point within `windowMs`',
  defaults: { dropPoints: 100, windowMs: 30 * dayMs },
  keys: (event) => (event.type === scoreChangedType ? [`score:${text(event.payload, 'participantId')}:${text(event.payload, 'role')}`] : []),
  step(states, event, thresholds) {
    const participantId = text(event.payload, 'participantId');
    const role = text(event.payload, 'role');
    const key = `score:${participantId}:${role}`;
    const atMs = event.occurredAt.getTime();
    const score = whole(event.payload, 'score');
    const before: ScorePoint[] = (states.get(key) as ScorePoint[] | undefined) ?? [];
    // The score before this change is a point too (a first change starts from the previous score).
    const seeded = before.length === 0 ? [{ atMs, score: whole(event.payload, 'previousScore'), eventId: '', eventType: '' }] : before;
    const points = [...seeded, { atMs, score, eventId: text(event.payload, 'causeEventId'), eventType: text(event.payload, 'causeEventType') }].filter((point) => point.atMs > atMs - thresholds.windowMs).slice(-scorePointsMax);
    const peak = points.reduce((best, point) => (point.score > best.score ? point : best), points[0]!);
    if (peak.score - score < thresholds.dropPoints) return only(key, points);
    return only(key, points, [
      {
        rule: this.id,
        severity: this.severity,
        subject: { kind: 'participant', id: participantId },
        summary: `${role || 'overall'} score of ${participantId} fell from ${peak.score} to ${score} within ${thresholds.windowMs / dayMs} days (threshold ${thresholds.dropPoints} points)`,
        evidence: [
          { eventId: text(event.payload, 'causeEventId'), eventType: text(event.payload, 'causeEventType'), occurredAt: event.occurredAt, link: links.participant(participantId) },
        ],
        at: event.occurredAt,
        dedupeKey: `${role}:${peak.atMs}:${peak.score}`,
      },
    ]);
  },
};

/** The type of the fact credit derives from each score change (see scoreChangedEvent). */
export const scoreChangedType = 'ScoreChanged';

/** A campaign that drew many pledges and still failed: promotion that did not hold up. */
export const campaignFailedAfterPromotion: RiskRule<{ pledges: number }> = {
  id: 'CAMPAIGN_FAILED_AFTER_PROMOTION',
  severity: 'medium',
  description: 'a campaign that failed after drawing at least `pledges` pledges',
  defaults: { pledges: 50 },
  keys: (event) => (event.type === 'CampaignFailed' ? [`campaign:${text(event.payload, 'campaignId')}`] : []),
  step(_states, event, thresholds) {
    const campaignId = text(event.payload, 'campaignId');
    const key = `campaign:${campaignId}`;
    const pledges = whole(event.payload, 'pledgesCount');
    if (pledges < thresholds.pledges) return only(key, { failed: true });
    return only(key, { failed: true }, [
      {
        rule: this.id,
        severity: this.severity,
        subject: { kind: 'campaign', id: campaignId },
        summary: `campaign ${campaignId} failed (${text(event.payload, 'reason')}) after ${pledges} pledges from ${whole(event.payload, 'backersCount')} backers (threshold ${thresholds.pledges})`,
        evidence: [evidenceOf(event, links.campaign(campaignId)), { eventId: '', eventType: 'Participant', occurredAt: event.occurredAt, link: links.participant(text(event.payload, 'creatorId')) }],
        at: event.occurredAt,
        dedupeKey: 'failed',
      },
    ]);
  },
};

/** The type of the fact the invariants loop derives from escrow's ledger report. */
export const ledgerInvariantsType = 'LedgerInvariantsReported';

/** Money not conserved in the ledger: balances plus money in flight do not sum to zero. */
export const moneyConservation: RiskRule<{ toleranceMinor: number }> = {
  id: 'MONEY_CONSERVATION_BROKEN',
  severity: 'critical',
  description: 'in some currency, the ledger balances plus money in flight differ from zero by more than `toleranceMinor`',
  defaults: { toleranceMinor: 0 },
  keys: (event) => (event.type === ledgerInvariantsType ? ['ledger'] : []),
  step(states, event, thresholds) {
    const totals = Array.isArray(event.payload['totals']) ? (event.payload['totals'] as Record<string, unknown>[]) : [];
    const broken = totals
      .map((total) => ({ currency: text(total, 'currency'), imbalance: BigInt((total['balancesMinor'] as bigint | undefined) ?? 0n) + BigInt((total['inFlightMinor'] as bigint | undefined) ?? 0n) }))
      .filter((total) => (total.imbalance < 0n ? -total.imbalance : total.imbalance) > BigInt(thresholds.toleranceMinor));
    const state = states.get('ledger') as { breachedAtMs?: number } | undefined;
    if (broken.length === 0) return only('ledger', {});
    if (state?.breachedAtMs !== undefined) return only('ledger', state);
    return only('ledger', { breachedAtMs: event.occurredAt.getTime() }, [
      {
        rule: this.id,
        severity: this.severity,
        subject: { kind: 'ledger', id: 'escrow' },
        summary: `money is not conserved: ${broken.map((total) => `${total.currency} off by ${total.imbalance} minor units`).join(', ')}`,
        evidence: [evidenceOf(event, links.ledger())],
        at: event.occurredAt,
        dedupeKey: String(event.occurredAt.getTime()),
      },
    ]);
  },
};

/** Escrow account ids: `escrow:<deal kind>:<deal id>:<currency>`. */
export function escrowAccountOf(accountId: string): { kind: string; currency: string } | undefined {
  const parts = accountId.split(':');
  if (parts[0] !== 'escrow' || parts.length < 4) return undefined;
  return { kind: parts[1]!, currency: parts[parts.length - 1]! };
}

export interface Hold {
  readonly transferId: string;
  readonly open: boolean;
  readonly sinceMs: number;
  readonly amountMinor: bigint;
  readonly currency: string;
  readonly dealKind: string;
  readonly creditAccountId: string;
  readonly eventId: string;
}

export interface EscrowTotal {
  readonly pendingMinor: bigint;
  readonly postedMinor: bigint;
}

/**
 * Money waiting in escrow: holds (pending transfers into an escrow account) and posted escrow
 * balances, by deal kind and currency, for the summary; and holds open longer than `windowMs`.
 * A hold resolved after the window raises its alert at resolution (deterministic on a replay); the
 * hold loop (`overdueHolds`) raises it as soon as the window passes.
 */
export const escrowHeldTooLong: RiskRule<{ windowMs: number }> = {
  id: 'ESCROW_HELD_TOO_LONG',
  severity: 'medium',
  description: 'money held in escrow by a pending transfer for longer than `windowMs`',
  defaults: { windowMs: 90 * dayMs },
  keys: (event) => {
    if (!event.type.startsWith('Transfer')) return [];
    const keys: string[] = [];
    const credit = escrowAccountOf(text(event.payload, 'creditAccountId'));
    const debit = escrowAccountOf(text(event.payload, 'debitAccountId'));
    if (credit && text(event.payload, 'mode') === 'two_phase') keys.push(`hold:${text(event.payload, 'transferId')}`);
    for (const account of [credit, debit]) if (account && !keys.includes(`total:${account.kind}:${account.currency}`)) keys.push(`total:${account.kind}:${account.currency}`);
    return keys;
  },
  step(states, event, thresholds) {
    const transferId = text(event.payload, 'transferId');
    const amount = money(event.payload, 'amount').amountMinor;
    const posted = event.payload['postedAmount'] ? money(event.payload, 'postedAmount').amountMinor : amount;
    const credit = escrowAccountOf(text(event.payload, 'creditAccountId'));
    const debit = escrowAccountOf(text(event.payload, 'debitAccountId'));
    const twoPhase = text(event.payload, 'mode') === 'two_phase';
    const result = new Map<string, unknown>();
    const total = (account: { kind: string; currency: string }) => `total:${account.kind}:${account.currency}`;
    const adjust = (account: { kind: string; currency: string } | undefined, pending: bigint, postedDelta: bigint) => {
      if (!account) return;
      const key = total(account);
      const current = (result.get(key) ?? states.get(key) ?? { pendingMinor: 0n, postedMinor: 0n }) as EscrowTotal;
      result.set(key, { pendingMinor: current.pendingMinor + pending, postedMinor: current.postedMinor + postedDelta });
    };
    const holdKey = `hold:${transferId}`;
    const hold = states.get(holdKey) as Hold | undefined;
    const alerts: AlertDraft[] = [];
    switch (event.type) {
      case 'TransferPending':
        if (credit && twoPhase) {
          result.set(holdKey, { transferId, open: true, sinceMs: event.occurredAt.getTime(), amountMinor: amount, currency: credit.currency, dealKind: credit.kind, creditAccountId: text(event.payload, 'creditAccountId'), eventId: event.id } satisfies Hold);
          adjust(credit, amount, 0n);
        }
        break;
      case 'TransferPosted':
        if (twoPhase && hold?.open) {
          result.set(holdKey, { ...hold, open: false });
          adjust(credit, -hold.amountMinor, posted);
          alerts.push(...overdueHolds([hold], event.occurredAt.getTime(), thresholds.windowMs, event.id));
        } else if (!twoPhase) adjust(credit, 0n, posted);
        adjust(debit, 0n, -posted);
        break;
      case 'TransferVoided':
      case 'TransferExpired':
        if (hold?.open) {
          result.set(holdKey, { ...hold, open: false });
          adjust(credit, -hold.amountMinor, 0n);
          alerts.push(...overdueHolds([hold], event.occurredAt.getTime(), thresholds.windowMs, event.id));
        }
        break;
      default:
        return nothing;
    }
    return { states: result, alerts };
  },
};

/** Open holds older than the window at `nowMs`: one alert per hold (the same id however often it is checked). */
export function overdueHolds(holds: readonly Hold[], nowMs: number, windowMs: number, resolvedByEventId?: string): AlertDraft[] {
  return holds
    .filter((hold) => nowMs - hold.sinceMs > windowMs)
    .map((hold) => ({
      rule: escrowHeldTooLong.id,
      severity: escrowHeldTooLong.severity,
      subject: { kind: 'transfer', id: hold.transferId },
      summary: `${hold.amountMinor} ${hold.currency} minor units held in ${hold.dealKind} escrow ${hold.creditAccountId} for ${Math.floor((nowMs - hold.sinceMs) / 1000)} s (threshold ${windowMs / 1000} s)`,
      evidence: [
        { eventId: hold.eventId, eventType: 'TransferPending', occurredAt: new Date(hold.sinceMs), link: links.account(hold.creditAccountId) },
        ...(resolvedByEventId ? [{ eventId: resolvedByEventId, eventType: 'TransferResolved', occurredAt: new Date(nowMs), link: links.account(hold.creditAccountId) }] : []),
      ],
      at: new Date(hold.sinceMs + windowMs),
      dedupeKey: 'held',
    }));
}

export const riskRules: readonly RiskRule[] = [
  pledgeVelocitySpike,
  backerConcentration,
  deliveryOverdue,
  disputesRising,
  disputeOverdue,
  escrowHeldTooLong,
  investorLimitBreaches,
  leadTiedToIssuer,
  scoreCollapse,
  campaignFailedAfterPromotion,
  moneyConservation,
] as unknown as readonly RiskRule[];

export type RuleThresholds = Readonly<Record<string, Readonly<Record<string, number>>>>;

/** Defaults with the configured overrides on top; unknown rules or threshold names are refused. */
export function resolveThresholds(overrides: RuleThresholds): RuleThresholds {
  const resolved: Record<string, Record<string, number>> = {};
  for (const rule of riskRules) resolved[rule.id] = { ...rule.defaults };
  for (const [ruleId, values] of Object.entries(overrides)) {
    const target = resolved[ruleId];
    if (!target) throw new Error(`unknown risk rule ${ruleId}; known: ${riskRules.map((rule) => rule.id).join(', ')}`);
    for (const [name, value] of Object.entries(values)) {
      if (!(name in target)) throw new Error(`rule ${ruleId} has no threshold ${name}; it has ${Object.keys(target).join(', ')}`);
      if (!Number.isFinite(value) || value < 0) throw new Error(`threshold ${ruleId}.${name} must be a non-negative number`);
      target[name] = value;
    }
  }
  return resolved;
}

/** The fact derived from a score change, for the score-collapse rule. */
export function scoreChangedEvent(change: { participantId: string; role: string; score: number; previousScore: number; at: Date; causeEventId: string; causeEventType: string }): CreditEvent {
  return {
    id: `score|${change.participantId}|${change.role}|${change.causeEventId}`,
    type: scoreChangedType,
    aggregateId: change.participantId,
    aggregateType: 'participant',
    occurredAt: change.at,
    payload: { ...change },
  };
}

