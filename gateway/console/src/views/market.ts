/** The marketplace: campaigns, tasks and equity rounds with their state and progress. */
import { api, type Page } from '../api';
import { h } from '../dom';
import { formatDateTime, formatNumber, formatPercent, locale, t, term } from '../i18n';
import { formatMoney, type Money, progressBps } from '../money';
import { card, emptyNotice, loadInto, progressBar, stateBadge } from './common';

export interface CampaignSummary {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly state: string;
  readonly goal: Money;
  readonly pledged: Money;
  readonly backersCount: number;
  readonly endsAt: string;
  readonly fundingModel: string;
}

interface Task {
  readonly id: string;
  readonly title: string;
  readonly state: string;
  readonly kind?: string;
  readonly mode?: string;
  readonly budget?: Money;
  readonly deadline?: string;
  readonly skills?: string[];
}

interface Round {
  readonly id: string;
  readonly title?: string;
  readonly state: string;
  readonly target?: Money;
  readonly maximum?: Money;
  readonly committed?: Money;
  readonly investorsCount?: number;
  readonly endsAt?: string;
}

export function campaignTile(campaign: CampaignSummary): HTMLElement {
  const bps = progressBps(campaign.pledged, campaign.goal);
  return h(
    'li',
    { class: 'tile' },
    h('div', { class: 'tile-head' }, h('h3', { class: 'tile-title' }, h('a', { href: `#/campaigns/${encodeURIComponent(campaign.id)}` }, campaign.title)), stateBadge('campaignState', campaign.state)),
    h('p', { class: 'tile-text' }, campaign.description),
    progressBar(bps, t('campaign.progressLabel', { title: campaign.title })),
    h(
      'p',
      { class: 'tile-meta' },
      h('strong', {}, formatMoney(campaign.pledged, locale())),
      ` ${t('campaign.of')} ${formatMoney(campaign.goal, locale())} · ${formatPercent(bps)} · ${t('campaign.backersCount', { count: formatNumber(campaign.backersCount) })}`,
    ),
    h('p', { class: 'tile-meta' }, `${term('fundingModel', campaign.fundingModel)} · ${t('campaign.endsAt', { date: formatDateTime(campaign.endsAt) })}`),
  );
}

function taskTile(task: Task): HTMLElement {
  return h(
    'li',
    { class: 'tile' },
    h('div', { class: 'tile-head' }, h('h3', { class: 'tile-title' }, task.title), stateBadge('taskState', task.state)),
    h('p', { class: 'tile-meta' }, [task.mode ? term('taskMode', task.mode) : '', task.kind ? term('taskKind', task.kind) : ''].filter(Boolean).join(' · ')),
    h('p', { class: 'tile-meta' }, h('strong', {}, formatMoney(task.budget, locale())), task.deadline ? ` · ${t('task.deadline', { date: formatDateTime(task.deadline) })}` : ''),
    task.skills && task.skills.length > 0 ? h('p', { class: 'chips' }, ...task.skills.map((skill) => h('span', { class: 'chip' }, skill))) : undefined,
  );
}

function roundTile(round: Round): HTMLElement {
  const bps = progressBps(round.committed, round.target);
  return h(
    'li',
    { class: 'tile' },
    h('div', { class: 'tile-head' }, h('h3', { class: 'tile-title' }, round.title ?? round.id), stateBadge('roundState', round.state)),
    progressBar(bps, t('round.progressLabel', { title: round.title ?? round.id })),
    h('p', { class: 'tile-meta' }, h('strong', {}, formatMoney(round.committed, locale())), ` ${t('campaign.of')} ${formatMoney(round.target, locale())} · ${t('round.investors', { count: formatNumber(round.investorsCount ?? 0) })}`),
    round.endsAt ? h('p', { class: 'tile-meta' }, t('campaign.endsAt', { date: formatDateTime(round.endsAt) })) : undefined,
  );
}

function listSection(title: string, what: string, load: () => Promise<Node>): HTMLElement {
  const body = h('div', {});
  void loadInto(body, what, load);
  return card(title, body);
}

export function renderMarket(main: HTMLElement): void {
  main.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', { class: 'page-title' }, t('market.title')), h('p', { class: 'page-lead' }, t('market.lead'))),
    h(
      'div',
      { class: 'stack' },
      listSection(t('market.campaigns'), t('service.escrow'), async () => {
        const page = await api<Page<CampaignSummary>>('GET', '/v1/campaigns?limit=50');
        return page.items.length === 0 ? emptyNotice(t('market.noCampaigns')) : h('ul', { class: 'tiles' }, ...page.items.map(campaignTile));
      }),
      listSection(t('market.tasks'), t('service.tasks'), async () => {
        const page = await api<Page<Task>>('GET', '/v1/tasks?limit=50');
        return page.items.length === 0 ? emptyNotice(t('market.noTasks')) : h('ul', { class: 'tiles' }, ...page.items.map(taskTile));
      }),
      listSection(t('market.rounds'), t('service.equity'), async () => {
        const page = await api<Page<Round>>('GET', '/v1/rounds?limit=50');
        return page.items.length === 0 ? emptyNotice(t('market.noRounds')) : h('ul', { class: 'tiles' }, ...page.items.map(roundTile));
      }),
    ),
  );
}
