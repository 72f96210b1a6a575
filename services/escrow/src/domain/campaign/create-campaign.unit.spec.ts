// Proves createCampaign turns a valid command into a draft and refuses every bad field, each limit at and past its bound.
import { InvariantViolation } from '@sizhong/kit/domain';
import { initialTotals } from './campaign';
import { createCampaign, type CreateCampaignCommand } from './create-campaign';
import { afterEnd, at, campaignId, cny, createCommand, creatorId, endsAt, refusalOf, secondMs, t0, testPolicy, usd } from './fixtures';
import { campaignAmountMinorMax, descriptionLengthMax, milestonesPerCampaignMax, tierQuantityMax, tiersPerCampaignMax, titleLengthMax } from './limits';
import { defaultCampaignPolicy, type CampaignPolicy } from './policy';

const create = (overrides: Partial<CreateCampaignCommand> = {}, now = t0, policy: CampaignPolicy = testPolicy) => createCampaign(createCommand(overrides), now, policy);
const refusal = (overrides: Partial<CreateCampaignCommand>, now = t0, policy: CampaignPolicy = testPolicy) => refusalOf(() => create(overrides, now, policy));
const text = (length: number) => '茶'.repeat(length);
const tier = (overrides: Partial<{ title: string; price: ReturnType<typeof cny>; quantity: number }> = {}) => ({ title: 'Tier', price: cny(100), ...overrides });
const evenMilestones = (count: number) =>
  Array.from({ length: count }, (_, index) => ({ title: `M${index}`, shareBps: 10_000 / count, dueAt: afterEnd((index + 1) * secondMs) }));

describe('initialTotals', () => {
  it('given a created campaign, then nothing is pledged and every limited tier, and only those, has its whole quantity left', () => {
    const { campaign } = create({ tiers: [tier({ quantity: 3 }), tier(), tier({ quantity: 1 })] });
    expect(initialTotals(campaign)).toEqual({ pledged: cny(0), pledgesCount: 0, backersCount: 0, remainingByTier: { 'cp_1-t0': 3, 'cp_1-t2': 1 } });
  });

  it('given a campaign without tiers or in another currency, then the totals follow it', () => {
    expect(initialTotals(create({ tiers: [], goal: usd(5_000) }).campaign)).toEqual({ pledged: usd(0), pledgesCount: 0, backersCount: 0, remainingByTier: {} });
  });
});

describe('createCampaign', () => {
  it('given a valid command, when created, then it is a draft with derived tier ids and no totals of its own', () => {
    const { campaign, events } = create({ title: '  A better teapot  ' });

    expect(campaign).toMatchObject({ id: campaignId, creatorId, state: 'draft', title: 'A better teapot', createdAt: t0 });
    for (const moved of ['pledged', 'backersCount', 'reservations', 'settled']) expect(campaign).not.toHaveProperty(moved);
    expect(campaign.tiers).toEqual([
      { id: 'cp_1-t0', title: 'Early bird', price: cny(1_000), quantity: 2 },
      { id: 'cp_1-t1', title: 'Standard', price: cny(2_000) },
    ]);
    expect(campaign.milestones.map((milestone) => [milestone.index, milestone.state, milestone.shareBps])).toEqual([
      [0, 'planned', 3_000],
      [1, 'planned', 7_000],
    ]);
    expect(events).toEqual([
      { type: 'CampaignCreated', campaignId, creatorId, occurredAt: t0, goal: cny(100_000), fundingModel: 'all_or_nothing', endsAt, tiersCount: 2, milestonesCount: 2 },
    ]);
  });

  it('given no tiers and no milestones, when created, then pledges without a reward and one immediate payout are planned', () => {
    const { campaign } = create({ tiers: [], milestones: undefined, fundingModel: 'keep_it_all' });
    expect(campaign.tiers).toEqual([]);
    expect(campaign.milestones).toEqual([]);
    expect(campaign.fundingModel).toBe('keep_it_all');
  });

  describe('text fields', () => {
    it.each([
      ['title', (value: string) => ({ title: value }), 'title'],
      ['description', (value: string) => ({ description: value }), 'description'],
      ['a tier title', (value: string) => ({ tiers: [tier({ title: value })] }), 'tiers[0].title'],
      ['a milestone title', (value: string) => ({ milestones: [{ title: value, shareBps: 10_000, dueAt: afterEnd(secondMs) }] }), 'milestones[0].title'],
    ])('refuses an empty or blank %s with INVALID_ARGUMENT', (_name, build, field) => {
      for (const value of ['', '   ']) {
        const error = refusal(build(value));
        expect(error.code).toBe('INVALID_ARGUMENT');
        expect(error.details.field).toBe(field);
      }
    });

    it.each([
      ['title', (value: string) => ({ title: value }), titleLengthMax],
      ['description', (value: string) => ({ description: value }), descriptionLengthMax],
      ['a tier title', (value: string) => ({ tiers: [tier({ title: value })] }), titleLengthMax],
      ['a milestone title', (value: string) => ({ milestones: [{ title: value, shareBps: 10_000, dueAt: afterEnd(secondMs) }] }), titleLengthMax],
    ])('accepts %s at its length limit in characters and refuses it one past with LIMIT_EXCEEDED', (_name, build, lengthMax) => {
      expect(() => create(build(text(lengthMax)))).not.toThrow();
      expect(refusal(build(text(lengthMax + 1))).code).toBe('LIMIT_EXCEEDED');
    });

    it('counts characters, not UTF-16 units: an emoji title at the limit is accepted', () => {
      expect(create({ title: '🫖'.repeat(titleLengthMax) }).campaign.title).toHaveLength(titleLengthMax * 2);
    });
  });

  describe('goal', () => {
    it('refuses a zero or negative goal with INVALID_ARGUMENT', () => {
      expect(refusal({ goal: cny(0) }).code).toBe('INVALID_ARGUMENT');
      expect(refusal({ goal: cny(-1) }).code).toBe('INVALID_ARGUMENT');
    });

    it('refuses a goal whose currency is not an ISO code with INVALID_ARGUMENT', () => {
      expect(refusal({ goal: { currency: 'yuan', amountMinor: 100n } }).details.field).toBe('goal.currency');
    });

    it('accepts the largest goal and refuses one unit more with LIMIT_EXCEEDED', () => {
      expect(() => create({ goal: cny(campaignAmountMinorMax) })).not.toThrow();
      expect(refusal({ goal: cny(campaignAmountMinorMax + 1n) }).code).toBe('LIMIT_EXCEEDED');
    });
  });

  it('refuses an unknown funding model with INVALID_ARGUMENT', () => {
    expect(refusal({ fundingModel: 'flexible' as never }).details.field).toBe('fundingModel');
  });

  describe('schedule', () => {
    it('accepts a duration of exactly the policy minimum and maximum, and refuses one millisecond outside', () => {
      const unscheduled = { milestones: undefined, deliveryDate: at(testPolicy.durationMaxMs + secondMs) };
      expect(() => create({ ...unscheduled, endsAt: at(testPolicy.durationMinMs) })).not.toThrow();
      expect(() => create({ ...unscheduled, endsAt: at(testPolicy.durationMaxMs) })).not.toThrow();
      expect(refusal({ endsAt: at(testPolicy.durationMinMs - 1) })).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'endsAt' } });
      expect(refusal({ endsAt: at(testPolicy.durationMaxMs + 1) })).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'endsAt' } });
    });

    it('takes its bounds from the policy only: the same command is refused under the default policy of days', () => {
      expect(refusal({}, t0, defaultCampaignPolicy)).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'endsAt' } });
    });

    it('refuses an end in the past', () => {
      expect(refusal({ endsAt: at(-secondMs) }).code).toBe('INVALID_ARGUMENT');
    });

    it('refuses invalid times with INVALID_ARGUMENT', () => {
      expect(refusal({ endsAt: new Date(Number.NaN) }).details.field).toBe('endsAt');
      expect(refusal({ deliveryDate: new Date(Number.NaN) }).details.field).toBe('deliveryDate');
      expect(refusal({ milestones: [{ title: 'M', shareBps: 10_000, dueAt: new Date(Number.NaN) }] }).details.field).toBe('milestones[0].dueAt');
    });

    it('refuses a delivery date at or before the end', () => {
      expect(refusal({ deliveryDate: endsAt })).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'deliveryDate' } });
      expect(() => create({ deliveryDate: afterEnd(1) })).not.toThrow();
    });

    it('accepts a delivery date at the horizon and refuses it one millisecond later with LIMIT_EXCEEDED', () => {
      expect(() => create({ deliveryDate: afterEnd(testPolicy.deliveryHorizonMaxMs) })).not.toThrow();
      expect(refusal({ deliveryDate: afterEnd(testPolicy.deliveryHorizonMaxMs + 1) })).toMatchObject({ code: 'LIMIT_EXCEEDED', details: { field: 'deliveryDate' } });
    });
  });

  describe('tiers', () => {
    it('accepts the tier count limit and refuses one more with LIMIT_EXCEEDED', () => {
      expect(create({ tiers: Array.from({ length: tiersPerCampaignMax }, () => tier()) }).campaign.tiers.at(-1)?.id).toBe(`cp_1-t${tiersPerCampaignMax - 1}`);
      expect(refusal({ tiers: Array.from({ length: tiersPerCampaignMax + 1 }, () => tier()) })).toMatchObject({ code: 'LIMIT_EXCEEDED', details: { field: 'tiers' } });
    });

    it('refuses a tier priced in another currency than the goal with CURRENCY_MISMATCH', () => {
      expect(refusal({ tiers: [tier(), tier({ price: usd(100) })] })).toMatchObject({ code: 'CURRENCY_MISMATCH', details: { field: 'tiers[1].price.currency' } });
    });

    it('refuses a zero or negative price with INVALID_ARGUMENT', () => {
      expect(refusal({ tiers: [tier({ price: cny(0) })] }).details.field).toBe('tiers[0].price.amountMinor');
      expect(refusal({ tiers: [tier({ price: cny(-5) })] }).code).toBe('INVALID_ARGUMENT');
    });

    it('accepts the largest price and refuses one unit more with LIMIT_EXCEEDED', () => {
      expect(() => create({ tiers: [tier({ price: cny(campaignAmountMinorMax) })] })).not.toThrow();
      expect(refusal({ tiers: [tier({ price: cny(campaignAmountMinorMax + 1n) })] }).code).toBe('LIMIT_EXCEEDED');
    });

    it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses quantity %p with INVALID_ARGUMENT', (quantity) => {
      expect(refusal({ tiers: [tier({ quantity })] })).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'tiers[0].quantity' } });
    });

    it('accepts a quantity of 1 and of the limit, and refuses one past the limit with LIMIT_EXCEEDED', () => {
      expect(create({ tiers: [tier({ quantity: 1 })] }).campaign.tiers[0]).toEqual({ id: 'cp_1-t0', title: 'Tier', price: cny(100), quantity: 1 });
      expect(create({ tiers: [tier({ quantity: tierQuantityMax })] }).campaign.tiers[0]).toMatchObject({ quantity: tierQuantityMax });
      expect(refusal({ tiers: [tier({ quantity: tierQuantityMax + 1 })] }).code).toBe('LIMIT_EXCEEDED');
    });
  });

  describe('milestones', () => {
    it('accepts the milestone count limit and refuses one more with LIMIT_EXCEEDED', () => {
      expect(create({ milestones: evenMilestones(milestonesPerCampaignMax) }).campaign.milestones).toHaveLength(milestonesPerCampaignMax);
      const tooMany = Array.from({ length: milestonesPerCampaignMax + 1 }, (_, index) => ({ title: `M${index}`, shareBps: index === 0 ? 9_990 : 1, dueAt: afterEnd((index + 1) * secondMs) }));
      expect(refusal({ milestones: tooMany })).toMatchObject({ code: 'LIMIT_EXCEEDED', details: { field: 'milestones' } });
    });

    it('treats an empty milestone list like none', () => {
      expect(create({ milestones: [] }).campaign.milestones).toEqual([]);
    });

    it.each([0, -100, 1.5, 10_001])('refuses shareBps %p with INVALID_ARGUMENT', (shareBps) => {
      expect(refusal({ milestones: [{ title: 'M', shareBps, dueAt: afterEnd(secondMs) }] }).details.field).toBe('milestones[0].shareBps');
    });

    it.each([9_999, 10_001])('refuses shares summing to %p basis points', (lastShareBps) => {
      const error = refusal({ milestones: [{ title: 'A', shareBps: 1, dueAt: afterEnd(secondMs) }, { title: 'B', shareBps: lastShareBps - 1, dueAt: afterEnd(2 * secondMs) }] });
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'milestones', shareBpsSum: lastShareBps } });
    });

    it('refuses a milestone due at or before the end', () => {
      expect(refusal({ milestones: [{ title: 'M', shareBps: 10_000, dueAt: endsAt }] }).details.field).toBe('milestones[0].dueAt');
    });

    it('refuses due dates that do not strictly ascend', () => {
      const same = afterEnd(secondMs);
      const error = refusal({ milestones: [{ title: 'A', shareBps: 5_000, dueAt: same }, { title: 'B', shareBps: 5_000, dueAt: same }] });
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'milestones[1].dueAt' } });
    });

    it('accepts a milestone due at the horizon and refuses it one millisecond later with LIMIT_EXCEEDED', () => {
      expect(() => create({ milestones: [{ title: 'M', shareBps: 10_000, dueAt: afterEnd(testPolicy.deliveryHorizonMaxMs) }] })).not.toThrow();
      expect(refusal({ milestones: [{ title: 'M', shareBps: 10_000, dueAt: afterEnd(testPolicy.deliveryHorizonMaxMs + 1) }] }).code).toBe('LIMIT_EXCEEDED');
    });
  });

  it('is deterministic: the same command at the same time gives the same draft (a replayed create names the same tiers)', () => {
    expect(create()).toEqual(create());
  });

  it('treats missing ids and a broken policy as programmer errors', () => {
    expect(() => create({ campaignId: '' })).toThrow(InvariantViolation);
    expect(() => create({ creatorId: '' })).toThrow(InvariantViolation);
    expect(() => create({}, t0, { ...testPolicy, durationMinMs: 0 })).toThrow(InvariantViolation);
    expect(() => create({}, t0, { ...testPolicy, durationMinMs: testPolicy.durationMaxMs + 1 })).toThrow(InvariantViolation);
    expect(() => create({}, t0, { ...testPolicy, deliveryGraceMs: testPolicy.milestoneSilenceMs })).toThrow(InvariantViolation);
    expect(() => create({}, t0, { ...testPolicy, lastCallMs: 1.5 })).toThrow(InvariantViolation);
  });
});
