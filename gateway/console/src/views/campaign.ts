/** One campaign: its progress, tiers and milestones, and a pledge form for backers (POST /v1/campaigns/{id}/pledges). */
import { api, hasRole, newIdempotencyKey } from '../api';
import { h } from '../dom';
import { formatDateTime, formatNumber, formatPercent, locale, t, term } from '../i18n';
import { formatMoney, type Money, parseMajor, progressBps } from '../money';
import { card, definitionList, describeError, loadInto, progressBar, stateBadge } from './common';

interface Tier {
  readonly id: string;
  readonly title: string;
  readonly price: Money;
  readonly quantity: number | null;
  readonly remaining: number | null;
}

interface Campaign {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly state: string;
  readonly goal: Money;
  readonly pledged: Money;
  readonly backersCount: number;
  readonly pledgesCount: number;
  readonly fundingModel: string;
  readonly endsAt: string;
  readonly deliveryDate: string;
  readonly tiers: Tier[];
  readonly milestones: Array<{ index: number; title: string; shareBps: number; state: string; dueAt: string }>;
}

function pledgeForm(campaign: Campaign, redraw: () => void): HTMLElement {
  const message = h('div', { class: 'form-message', 'aria-live': 'polite' });
  const noTier = h('input', { type: 'radio', name: 'tier', value: '', id: 'tier-none', checked: campaign.tiers.length === 0 });
  const options = campaign.tiers.map((tier, index) =>
    h('input', { type: 'radio', name: 'tier', value: tier.id, id: `tier-${index}`, checked: index === 0, disabled: tier.remaining === 0 }),
  );
  const amount = h('input', { id: 'pledge-amount', inputmode: 'decimal', autocomplete: 'off', required: true, value: campaign.tiers[0] ? formatMoney(campaign.tiers[0].price, 'en').replace(/[^\d.]/g, '') : '' });
  for (const [index, option] of options.entries()) {
    option.addEventListener('change', () => {
      const tier = campaign.tiers[index];
      if (tier) amount.value = formatMoney(tier.price, 'en').replace(/[^\d.]/g, '');
    });
  }
  // One key per intended pledge: a retry after an error sends the same key, so it pledges once.
  let key = newIdempotencyKey('pledge');
  const submit = h('button', { type: 'submit', class: 'button button-primary' }, t('pledge.submit'));
  return h(
    'form',
    {
      class: 'form',
      'aria-labelledby': 'pledge-heading',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const tierId = [noTier, ...options].find((option) => option.checked)?.value ?? '';
        const amountMinor = parseMajor(amount.value, campaign.goal.currency);
        message.className = 'form-message';
        if (!amountMinor) {
          message.textContent = t('pledge.badAmount');
          message.classList.add('is-error');
          amount.focus();
          return;
        }
        submit.disabled = true;
        try {
          const pledge = await api<{ pledgeId: string; state: string }>('POST', `/v1/campaigns/${encodeURIComponent(campaign.id)}/pledges`, {
            body: { ...(tierId ? { tierId } : {}), amount: { currency: campaign.goal.currency, amountMinor } },
            idempotencyKey: key,
          });
          key = newIdempotencyKey('pledge');
          message.textContent = t('pledge.placed', { amount: formatMoney({ currency: campaign.goal.currency, amountMinor }, locale()), state: term('pledgeState', pledge.state) });
          message.classList.add('is-ok');
          setTimeout(redraw, 1_500);
        } catch (error) {
          message.textContent = describeError(error);
          message.classList.add('is-error');
        } finally {
          submit.disabled = false;
        }
      },
    },
    h(
      'fieldset',
      { class: 'tiers' },
      h('legend', {}, t('pledge.tier')),
      ...campaign.tiers.map((tier, index) =>
        h(
          'label',
          { class: 'tier-option', for: `tier-${index}` },
          options[index],
          h('span', { class: 'tier-text' }, h('strong', {}, tier.title), h('span', {}, formatMoney(tier.price, locale())), h('small', {}, tier.remaining === null ? t('tier.unlimited') : t('tier.remaining', { count: formatNumber(tier.remaining) }))),
        ),
      ),
      h('label', { class: 'tier-option', for: 'tier-none' }, noTier, h('span', { class: 'tier-text' }, h('strong', {}, t('pledge.noReward')), h('small', {}, t('pledge.noRewardHint')))),
    ),
    h('div', { class: 'field' }, h('label', { for: 'pledge-amount' }, t('pledge.amount', { currency: campaign.goal.currency })), amount, h('p', { class: 'hint' }, t('pledge.amountHint'))),
    message,
    submit,
  );
}

export function renderCampaign(main: HTMLElement, id: string): void {
  const body = h('div', {});
  main.replaceChildren(h('p', { class: 'breadcrumb' }, h('a', { href: '#/market' }, `← ${t('nav.market')}`)), body);
  const draw = () =>
    loadInto(body, t('service.escrow'), async () => {
      const campaign = await api<Campaign>('GET', `/v1/campaigns/${encodeURIComponent(id)}`);
      const bps = progressBps(campaign.pledged, campaign.goal);
      const canPledge = campaign.state === 'live' && hasRole('backer');
      return [
        h('div', { class: 'page-head' }, h('h1', { class: 'page-title' }, campaign.title, ' ', stateBadge('campaignState', campaign.state)), h('p', { class: 'page-lead' }, campaign.description)),
        h(
          'div',
          { class: 'grid' },
          card(
            t('campaign.funding'),
            h('p', { class: 'big-number' }, formatMoney(campaign.pledged, locale()), h('small', {}, ` ${t('campaign.of')} ${formatMoney(campaign.goal, locale())}`)),
            progressBar(bps, t('campaign.progressLabel', { title: campaign.title })),
            definitionList([
              [t('campaign.progress'), formatPercent(bps)],
              [t('campaign.backers'), formatNumber(campaign.backersCount)],
              [t('campaign.pledges'), formatNumber(campaign.pledgesCount)],
              [t('campaign.model'), term('fundingModel', campaign.fundingModel)],
              [t('campaign.ends'), formatDateTime(campaign.endsAt)],
              [t('campaign.delivery'), formatDateTime(campaign.deliveryDate)],
            ]),
          ),
          canPledge
            ? h('section', { class: 'card', 'aria-labelledby': 'pledge-heading' }, h('h2', { id: 'pledge-heading', class: 'card-title' }, t('pledge.title')), pledgeForm(campaign, () => void draw()))
            : card(t('pledge.title'), h('p', { class: 'notice' }, campaign.state !== 'live' ? t('pledge.notLive') : t('pledge.backersOnly'))),
          campaign.milestones.length > 0
            ? card(
                t('campaign.milestones'),
                h(
                  'ol',
                  { class: 'milestones' },
                  ...campaign.milestones.map((milestone) =>
                    h('li', {}, h('strong', {}, milestone.title), ' ', stateBadge('milestoneState', milestone.state), h('small', {}, ` ${formatPercent(milestone.shareBps)} · ${formatDateTime(milestone.dueAt)}`)),
                  ),
                ),
              )
            : undefined,
        ),
      ];
    });
  void draw();
}
