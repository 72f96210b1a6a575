/**
 * The credit model (docs/credit-model.md): a score from 350 to 950 per participant and role,
 * computed from counters of facts over the participant's history. Every factor is a count times
 * a weight, capped, so no single kind of fact can decide a score and one more fact moves a score by
 * a bounded amount. Scores depend only on the counters (sums, minima and maxima), so they do not
 * depend on the order in which events are applied.
 */
/** The model's identity, returned with every score: bumped whenever a factor changes (credit-model-2 added ACCREDITED_INVESTOR). */
export const modelVersion = 'credit-model-2';
export const scoreMin = 350;
export const scoreMax = 950;
/** The score of a participant (or role) with no history yet. */
export const startingScore = 600;
/** Reasons returned with a score. */
export const reasonsMax = 4;
export const dayMs = 86_400_000;

export const creditRoles = ['solver', 'enterprise', 'creator', 'backer', 'investor', 'issuer'] as const;
export type CreditRole = (typeof creditRoles)[number];
/** Where a fact is counted: a role, or `other` (facts that belong to no role, counted only overall). */
export type FactScope = CreditRole | 'other';

export function isCreditRole(value: string): value is CreditRole {
  return (creditRoles as readonly string[]).includes(value);
}

export const factNames = [
  'deliveriesAccepted',
  'deliveriesLate',
  'milestonesRejected',
  'disputesLost',
  'leasesExpired',
  'tasksCompleted',
  'tasksCancelled',
  'campaignsSucceeded',
  'campaignsFailed',
  'campaignsDelivered',
  'campaignDeliveriesFailed',
  'deliveriesOverdue',
  'pledgesCollected',
  'cancellations',
  'paymentFailures',
  'leadRoundsClosed',
  'leadRoundsFailed',
  'roundsClosed',
  'roundsFailed',
  'limitBreachesAttempted',
] as const;
export type FactName = (typeof factNames)[number];

/** What the model knows about one participant in one scope. */
export interface ScopeFacts {
  readonly counts: Readonly<Partial<Record<FactName, number>>>;
  /** Events about the participant in this scope (volume). */
  readonly activity: number;
  readonly firstSeenAt: Date;
  readonly lastSeenAt: Date;
  /** The investor's latest accreditation (investor scope and overall only; absent: not accredited). */
  readonly accredited?: boolean;
}

export type Band = 'excellent' | 'good' | 'fair' | 'poor' | 'very_poor';

export interface Reason {
  readonly code: string;
  readonly descriptionZh: string;
  readonly descriptionEn: string;
  /** Points this factor took off (positive). */
  readonly impact: number;
}

export interface Score {
  readonly score: number;
  readonly band: Band;
  readonly reasons: readonly Reason[];
  readonly isNew: boolean;
}

interface Factor {
  readonly code: string;
  /** +1 raises the score, -1 lowers it. */
  readonly direction: 1 | -1;
  readonly pointsEach: number;
  readonly pointsMax: number;
  readonly units: (facts: ScopeFacts) => number;
  readonly zh: string;
  readonly en: string;
}

const count = (name: FactName) => (facts: ScopeFacts) => facts.counts[name] ?? 0;

/** The factors, in the order docs/credit-model.md lists them. */
export const factors: readonly Factor[] = [
  { code: 'DELIVERY_RECORD', direction: 1, pointsEach: 6, pointsMax: 150, units: count('deliveriesAccepted'), zh: '按要求交付的工作', en: 'Work delivered and accepted' },
  { code: 'CAMPAIGNS_DELIVERED', direction: 1, pointsEach: 30, pointsMax: 150, units: count('campaignsDelivered'), zh: '众筹项目已完成交付', en: 'Crowdfunding campaigns delivered' },
  { code: 'CAMPAIGNS_FUNDED', direction: 1, pointsEach: 10, pointsMax: 50, units: count('campaignsSucceeded'), zh: '众筹项目达成目标', en: 'Crowdfunding campaigns that met their goal' },
  { code: 'ACCREDITED_INVESTOR', direction: 1, pointsEach: 60, pointsMax: 60, units: (facts) => (facts.accredited === true ? 1 : 0), zh: '合格投资者认证', en: 'Accredited investor' },
  { code: 'LEAD_TRACK_RECORD', direction: 1, pointsEach: 25, pointsMax: 125, units: count('leadRoundsClosed'), zh: '作为领投人成功完成的融资', en: 'Rounds closed as lead investor' },
  { code: 'ROUNDS_CLOSED', direction: 1, pointsEach: 20, pointsMax: 100, units: count('roundsClosed'), zh: '成功完成的融资轮', en: 'Equity rounds closed' },
  { code: 'TASKS_COMPLETED', direction: 1, pointsEach: 10, pointsMax: 100, units: count('tasksCompleted'), zh: '已完成并付款的任务', en: 'Tasks completed and paid' },
  { code: 'PLEDGES_HONOURED', direction: 1, pointsEach: 2, pointsMax: 40, units: count('pledgesCollected'), zh: '已兑现的支持', en: 'Pledges collected' },
  { code: 'ACCOUNT_AGE', direction: 1, pointsEach: 3, pointsMax: 45, units: (facts) => Math.floor((facts.lastSeenAt.getTime() - facts.firstSeenAt.getTime()) / (30 * dayMs)), zh: '账户历史时长', en: 'Length of history' },
  { code: 'VOLUME', direction: 1, pointsEach: 2, pointsMax: 30, units: (facts) => Math.floor(facts.activity / 10), zh: '交易活跃度', en: 'Volume of activity' },
  { code: 'DISPUTES_LOST', direction: -1, pointsEach: 45, pointsMax: 225, units: count('disputesLost'), zh: '败诉的争议', en: 'Disputes lost' },
  { code: 'MILESTONES_REJECTED', direction: -1, pointsEach: 12, pointsMax: 120, units: count('milestonesRejected'), zh: '被拒收的交付', en: 'Deliveries rejected' },
  { code: 'LATE_DELIVERIES', direction: -1, pointsEach: 10, pointsMax: 100, units: count('deliveriesLate'), zh: '逾期交付', en: 'Deliveries after their due date' },
  { code: 'ABANDONED_WORK', direction: -1, pointsEach: 10, pointsMax: 80, units: count('leasesExpired'), zh: '领取后未完成的派单', en: 'Claimed assignments left unfinished' },
  { code: 'TASKS_CANCELLED', direction: -1, pointsEach: 15, pointsMax: 90, units: count('tasksCancelled'), zh: '授标后取消的任务', en: 'Tasks cancelled after award' },
  { code: 'CANCELLATIONS', direction: -1, pointsEach: 4, pointsMax: 40, units: count('cancellations'), zh: '取消的支持或认购', en: 'Pledges or commitments cancelled' },
  { code: 'CAMPAIGNS_FAILED', direction: -1, pointsEach: 20, pointsMax: 100, units: count('campaignsFailed'), zh: '未达成目标的众筹', en: 'Campaigns that failed' },
  { code: 'DELIVERY_FAILED', direction: -1, pointsEach: 150, pointsMax: 300, units: count('campaignDeliveriesFailed'), zh: '众筹交付失败', en: 'Campaign deliveries failed' },
  { code: 'DELIVERY_OVERDUE', direction: -1, pointsEach: 25, pointsMax: 125, units: count('deliveriesOverdue'), zh: '众筹交付逾期', en: 'Campaign milestones overdue' },
  { code: 'LEAD_ROUNDS_FAILED', direction: -1, pointsEach: 30, pointsMax: 150, units: count('leadRoundsFailed'), zh: '作为领投人失败的融资', en: 'Rounds failed with this lead' },
  { code: 'ROUNDS_FAILED', direction: -1, pointsEach: 15, pointsMax: 75, units: count('roundsFailed'), zh: '失败的融资轮', en: 'Equity rounds failed' },
  { code: 'PAYMENT_FAILURES', direction: -1, pointsEach: 20, pointsMax: 120, units: count('paymentFailures'), zh: '余额不足导致的支付失败', en: 'Payments refused for lack of funds' },
  { code: 'LIMIT_BREACHES', direction: -1, pointsEach: 15, pointsMax: 90, units: count('limitBreachesAttempted'), zh: '试图超出投资限额', en: 'Attempts to invest past the limit' },
];

export function bandOf(score: number): Band {
  if (score >= 800) return 'excellent';
  if (score >= 700) return 'good';
  if (score >= 600) return 'fair';
  if (score >= 500) return 'poor';
  return 'very_poor';
}

function points(factor: Factor, facts: ScopeFacts): number {
  const units = Math.max(0, factor.units(facts));
  return Math.min(factor.pointsMax, units * factor.pointsEach);
}

/** The score of one scope's facts (undefined: no history, the starting score). */
export function scoreOf(facts: ScopeFacts | undefined): Score {
  if (!facts) return { score: startingScore, band: bandOf(startingScore), reasons: [], isNew: true };
  let total = startingScore;
  const reasons: Reason[] = [];
  for (const factor of factors) {
    const value = points(factor, facts);
    total += factor.direction * value;
    if (factor.direction === -1 && value > 0) reasons.push({ code: factor.code, descriptionZh: factor.zh, descriptionEn: factor.en, impact: value });
  }
  reasons.sort((a, b) => b.impact - a.impact || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
  const score = Math.min(scoreMax, Math.max(scoreMin, total));
  return { score, band: bandOf(score), reasons: reasons.slice(0, reasonsMax), isNew: false };
}

/** Counts with their keys in `factNames` order, so equal counts are stored as equal bytes whatever the order of events. */
export function canonicalCounts(counts: Readonly<Partial<Record<FactName, number>>>): Partial<Record<FactName, number>> {
  const ordered: Partial<Record<FactName, number>> = {};
  for (const name of factNames) if (counts[name] !== undefined) ordered[name] = counts[name];
  return ordered;
}

/** Adds two scopes' facts (the overall score is the score of every scope added up). */
export function combineFacts(a: ScopeFacts | undefined, b: ScopeFacts | undefined): ScopeFacts | undefined {
  if (!a) return b;
  if (!b) return a;
  const counts: Partial<Record<FactName, number>> = { ...a.counts };
  for (const name of factNames) {
    const added = b.counts[name];
    if (added !== undefined) counts[name] = (counts[name] ?? 0) + added;
  }
  return {
    counts: canonicalCounts(counts),
    activity: a.activity + b.activity,
    firstSeenAt: a.firstSeenAt.getTime() <= b.firstSeenAt.getTime() ? a.firstSeenAt : b.firstSeenAt,
    lastSeenAt: a.lastSeenAt.getTime() >= b.lastSeenAt.getTime() ? a.lastSeenAt : b.lastSeenAt,
    ...(a.accredited === true || b.accredited === true ? { accredited: true } : {}),
  };
}
