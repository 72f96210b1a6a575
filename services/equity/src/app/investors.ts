/**
 * Investor profiles: income and net worth sealed on the way in and opened only for the investor's
 * own reads, a regulator's read (the gateway audits those) and the limit formula. Never logged.
 */
import { type CallerIdentity, DomainError, hasRole, type Money, money } from '@sizhong/kit';
import { type Investor, investmentLimit, setProfile, usedAt } from '../domain';
import { platformCurrencies } from '../domain/policy';
import type { EquityWrites } from './context';

export interface InvestorProfileView {
  readonly investorId: string;
  readonly annualIncome: Money;
  readonly netWorth: Money;
  readonly accredited: boolean;
  readonly limit12Months: Money | undefined;
  readonly used: Money;
  readonly updatedAt: Date;
}

export interface ProfileInput {
  readonly annualIncome: Money;
  readonly netWorth: Money;
  readonly accredited: boolean;
}

export class Investors {
  constructor(private readonly writes: EquityWrites) {}

  private get options() {
    return this.writes.options;
  }

  async putProfile(caller: CallerIdentity, input: ProfileInput): Promise<InvestorProfileView> {
    if (!hasRole(caller, 'investor')) throw new DomainError('PERMISSION_DENIED', 'only investors have an investor profile');
    const { annualIncome, netWorth } = input;
    if (annualIncome.currency !== netWorth.currency) throw new DomainError('CURRENCY_MISMATCH', 'annual income and net worth must be in one currency', { field: 'netWorth.currency' });
    if (!(platformCurrencies as readonly string[]).includes(annualIncome.currency)) throw new DomainError('INVALID_ARGUMENT', `profiles are in ${platformCurrencies.join(' or ')}`, { field: 'annualIncome.currency' });
    for (const [field, value] of [['annualIncome', annualIncome], ['netWorth', netWorth]] as const) {
      if (value.amountMinor < 0n) throw new DomainError('INVALID_ARGUMENT', `${field} must not be negative`, { field: `${field}.amountMinor` });
    }
    const now = this.writes.now();
    const investorId = caller.participantId;
    const profile = { currency: annualIncome.currency, accredited: input.accredited, sealed: this.options.cipher.seal(investorId, { annualIncome, netWorth }), updatedAt: now };
    const investor = await this.writes.setInvestorProfile(investorId, (current) => setProfile(current, profile), input.accredited, now);
    return this.view(investor);
  }

  async getProfile(caller: CallerIdentity, investorId: string): Promise<InvestorProfileView> {
    if (caller.participantId !== investorId && !hasRole(caller, 'regulator', 'admin')) throw new DomainError('NOT_FOUND', 'investor profile not found');
    const loaded = await this.options.investors.load(investorId);
    if (!loaded?.state.profile) throw new DomainError('NOT_FOUND', 'investor profile not found');
    return this.view(loaded.state);
  }

  /** The investor's limit now (undefined: accredited, no limit); NOT_FOUND-free: a missing profile is INVALID_STATE. */
  limitOf(investor: Investor): Money | undefined {
    if (!investor.profile) throw new DomainError('INVALID_STATE', 'set an investor profile (PUT /v1/investors/me/profile) before committing', { reason: 'profile_required' });
    const opened = this.options.cipher.open(investor.id, investor.profile.sealed);
    return investmentLimit({ ...opened, accredited: investor.profile.accredited }, this.options.policy);
  }

  private view(investor: Investor): InvestorProfileView {
    const profile = investor.profile;
    if (!profile) throw new DomainError('NOT_FOUND', 'investor profile not found');
    const opened = this.options.cipher.open(investor.id, profile.sealed);
    return {
      investorId: investor.id,
      ...opened,
      accredited: profile.accredited,
      limit12Months: investmentLimit({ ...opened, accredited: profile.accredited }, this.options.policy),
      used: money(profile.currency, usedAt(investor.usage, profile.currency, this.writes.now())),
      updatedAt: profile.updatedAt,
    };
  }
}
