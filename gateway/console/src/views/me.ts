/**
 * A participant's own account: wallet and its journal, pledges, tasks and bids, commitments and
 * the credit score with its reasons. There is no "my pledges" list in the API, so pledges (and
 * equity commitments) are found through the wallet journal's references.
 */
import { api, currentSession, hasRole, type Page } from '../api';
import { chart } from '../charts';
import { h } from '../dom';
import { formatDateTime, locale, t, term } from '../i18n';
import { formatMoney, type Money } from '../money';
import { card, definitionList, emptyNotice, loadInto, stateBadge, table } from './common';

interface WalletEntry {
  readonly sequence: number;
  readonly leg: string;
  readonly availableDelta: Money;
  readonly heldDelta: Money;
  readonly available: Money;
  readonly at: string;
  readonly reference: { kind: string; id: string };
}

interface Pledge {
  readonly pledgeId: string;
  readonly campaignId: string;
  readonly amount: Money;
  readonly state: string;
  readonly placedAt: string;
}

interface Task {
  readonly id: string;
  readonly title: string;
  readonly state: string;
  readonly ownerId?: string;
  readonly budget?: Money;
}

interface Credit {
  readonly score: number;
  readonly band: string;
  readonly modelVersion?: string;
  readonly reasons: Array<{ code: string; description: string }>;
  readonly updatedAt?: string;
}

interface Commitment {
  readonly id: string;
  readonly roundId: string;
  readonly role: string;
  readonly amount: Money;
  readonly state: string;
}

/** The credit model's range (services/credit/src/domain/model.ts). */
const creditScoreMin = 350;
const creditScoreMax = 950;

/** What the wallet journal calls the holds of equity commitments. */
const commitmentReferenceKinds = ['commitment', 'equity', 'round'];

/** How many pledges and tasks the page looks up one by one. */
const lookupsMax = 20;

function section(title: string, what: string, load: () => Promise<Node | Node[]>): HTMLElement {
  const body = h('div', {});
  void loadInto(body, what, load);
  return card(title, body);
}

async function journal(): Promise<WalletEntry[]> {
  return (await api<Page<WalletEntry>>('GET', '/v1/wallet/entries?limit=100')).items;
}

/** Where each band starts (services/credit/src/domain/model.ts bandOf), for the gauge's colours. */
const bandStarts: Array<[number, string]> = [
  [500, '#c23b3b'], // very poor below 500
  [600, '#d9822b'], // poor
  [700, '#e0b400'], // fair
  [800, '#1f5fa8'], // good
  [creditScoreMax, '#2a9d8f'], // excellent
];

function gauge(credit: Credit): Node {
  const span = creditScoreMax - creditScoreMin;
  return chart(
    t('credit.chartLabel', { score: credit.score, min: creditScoreMin, max: creditScoreMax }),
    {
      series: [
        {
          type: 'gauge',
          min: creditScoreMin,
          max: creditScoreMax,
          splitNumber: 6,
          radius: '92%',
          center: ['50%', '60%'],
          startAngle: 200,
          endAngle: -20,
          axisLine: { lineStyle: { width: 16, color: bandStarts.map(([end, color]) => [(end - creditScoreMin) / span, color]) } },
          axisTick: { show: false },
          splitLine: { length: 6, distance: -16, lineStyle: { color: '#fff', width: 2 } },
          axisLabel: { distance: 22, fontSize: 11, color: '#4a5a6b' },
          pointer: { width: 5, length: '62%', itemStyle: { color: '#1b2a3a' } },
          anchor: { show: true, size: 10, itemStyle: { color: '#1b2a3a' } },
          title: { show: true, offsetCenter: [0, '38%'], fontSize: 14, color: '#4a5a6b' },
          detail: { valueAnimation: true, fontSize: 32, fontWeight: 700, offsetCenter: [0, '68%'], color: '#1b2a3a' },
          data: [{ value: credit.score, name: term('band', credit.band) }],
        },
      ],
    },
    260,
  );
}

export function renderMe(main: HTMLElement): void {
  const session = currentSession();
  if (!session) return;
  const entries = journal();
  entries.catch(() => undefined);
  main.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', { class: 'page-title' }, t('me.title', { name: session.displayName })), h('p', { class: 'page-lead' }, session.roles.map((role) => t(`role.${role}` as Parameters<typeof t>[0])).join(' · '))),
    h(
      'div',
      { class: 'grid' },
      section(t('wallet.title'), t('service.escrow'), async () => {
        const wallet = await api<{ available: Money; held: Money }>('GET', '/v1/wallet');
        const items = await entries;
        return [
          h('div', { class: 'kpis kpis-inline' }, h('div', { class: 'kpi' }, h('span', { class: 'kpi-label' }, t('wallet.available')), h('strong', { class: 'kpi-value', 'data-testid': 'wallet-available' }, formatMoney(wallet.available, locale()))), h('div', { class: 'kpi' }, h('span', { class: 'kpi-label' }, t('wallet.held')), h('strong', { class: 'kpi-value', 'data-testid': 'wallet-held' }, formatMoney(wallet.held, locale())))),
          items.length === 0
            ? emptyNotice(t('wallet.noEntries'))
            : table(
                t('wallet.entries'),
                [t('wallet.when'), t('wallet.what'), t('wallet.change'), t('wallet.balance')],
                items.slice(0, 10).map((entry) => [
                  formatDateTime(entry.at),
                  `${term('reference', entry.reference.kind)} · ${term('leg', entry.leg)}`,
                  entry.leg === 'hold' || entry.leg === 'release' ? formatMoney(entry.heldDelta, locale()) : formatMoney(entry.availableDelta, locale()),
                  formatMoney(entry.available, locale()),
                ]),
              ),
        ];
      }),
      section(t('credit.title'), t('service.credit'), async () => {
        const credit = await api<Credit>('GET', `/v1/participants/${encodeURIComponent(session.participantId)}/credit`);
        return [
          gauge(credit),
          definitionList([
            [t('credit.band'), term('band', credit.band)],
            [t('credit.updated'), formatDateTime(credit.updatedAt)],
          ]),
          h('h3', { class: 'subheading' }, t('credit.reasons')),
          credit.reasons.length === 0 ? emptyNotice(t('credit.noReasons')) : h('ol', { class: 'reasons' }, ...credit.reasons.map((reason) => h('li', {}, h('code', {}, reason.code), ' ', reason.description))),
        ];
      }),
      section(t('pledges.title'), t('service.escrow'), async () => {
        const ids = [...new Set((await entries).filter((entry) => entry.reference.kind === 'pledge').map((entry) => entry.reference.id))].slice(0, lookupsMax);
        if (ids.length === 0) return emptyNotice(t('pledges.none'));
        const pledges = await Promise.all(ids.map((id) => api<Pledge>('GET', `/v1/pledges/${encodeURIComponent(id)}`).catch(() => undefined)));
        const campaignIds = [...new Set(pledges.flatMap((pledge) => (pledge ? [pledge.campaignId] : [])))];
        const titles = new Map(
          await Promise.all(
            campaignIds.map(async (id) => [id, await api<{ title: string }>('GET', `/v1/campaigns/${encodeURIComponent(id)}`).then((campaign) => campaign.title, () => id)] as const),
          ),
        );
        return table(
          t('pledges.title'),
          [t('pledges.campaign'), t('pledges.amount'), t('pledges.state'), t('pledges.placed')],
          pledges.filter((pledge): pledge is Pledge => pledge !== undefined).map((pledge) => [
            h('a', { href: `#/campaigns/${encodeURIComponent(pledge.campaignId)}` }, titles.get(pledge.campaignId) ?? pledge.campaignId),
            formatMoney(pledge.amount, locale()),
            stateBadge('pledgeState', pledge.state),
            formatDateTime(pledge.placedAt),
          ]),
        );
      }),
      section(t('tasks.title'), t('service.tasks'), async () => {
        const mine = hasRole('enterprise') ? (await api<Page<Task>>('GET', '/v1/tasks?mine=true&limit=100')).items : [];
        const tasks = hasRole('solver') ? (await api<Page<Task>>('GET', '/v1/tasks?limit=100')).items : [];
        // A bidder sees only their own bid on a task (404 on tasks they did not bid on).
        const bidLookups = hasRole('solver') ? tasks.slice(0, lookupsMax) : mine.slice(0, lookupsMax);
        const bids = (
          await Promise.all(
            bidLookups.map((task) =>
              api<Page<{ bidId: string; price: Money; state: string; solverId: string }>>('GET', `/v1/tasks/${encodeURIComponent(task.id)}/bids`).then(
                (page) => page.items.map((bid) => ({ task, bid })),
                () => [],
              ),
            ),
          )
        ).flat();
        const nodes: Node[] = [];
        nodes.push(h('h3', { class: 'subheading' }, t('tasks.mine')));
        nodes.push(mine.length === 0 ? emptyNotice(t('tasks.none')) : table(t('tasks.mine'), [t('tasks.name'), t('tasks.state'), t('tasks.budget')], mine.map((task) => [task.title, stateBadge('taskState', task.state), formatMoney(task.budget, locale())])));
        nodes.push(h('h3', { class: 'subheading' }, t('bids.title')));
        nodes.push(
          bids.length === 0
            ? emptyNotice(t('bids.none'))
            : table(t('bids.title'), [t('tasks.name'), t('bids.price'), t('bids.state')], bids.map(({ task, bid }) => [task.title, formatMoney(bid.price, locale()), stateBadge('bidState', bid.state)])),
        );
        return nodes;
      }),
      section(t('commitments.title'), t('service.equity'), async () => {
        const ids = [...new Set((await entries).filter((entry) => commitmentReferenceKinds.includes(entry.reference.kind)).map((entry) => entry.reference.id))].slice(0, lookupsMax);
        if (ids.length === 0) return emptyNotice(t('commitments.none'));
        const commitments = await Promise.all(ids.map((id) => api<Commitment>('GET', `/v1/commitments/${encodeURIComponent(id)}`).catch(() => undefined)));
        return table(
          t('commitments.title'),
          [t('commitments.round'), t('commitments.role'), t('commitments.amount'), t('commitments.state')],
          commitments
            .filter((commitment): commitment is Commitment => commitment !== undefined)
            .map((commitment) => [h('code', {}, commitment.roundId), term('commitmentRole', commitment.role), formatMoney(commitment.amount, locale()), stateBadge('commitmentState', commitment.state)]),
        );
      }),
      card(t('me.profile'), definitionList([[t('me.participantId'), h('code', {}, session.participantId)], [t('me.name'), session.displayName], [t('me.roles'), session.roles.map((role) => t(`role.${role}` as Parameters<typeof t>[0])).join(' · ')]])),
    ),
  );
}
