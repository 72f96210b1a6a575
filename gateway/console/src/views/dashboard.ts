/**
 * The regulator's dashboard: the live risk feed, alerts by rule and severity, money held in escrow
 * by kind over time, campaign funding curves, the ledger's conservation check and random
 * inspections (draw one, see the public outcomes). Each card loads on its own, so one service
 * missing leaves the others working.
 */
import { api, ApiError, hasRole, newIdempotencyKey, type Page } from '../api';
import { chart, severityColors } from '../charts';
import { h } from '../dom';
import { feedAlerts, feedState, mergeAlerts, onFeed, type RiskAlert, startFeed } from '../feed';
import { formatDateTime, formatNumber, formatTime, locale, t, term } from '../i18n';
import { chartValue, formatMoney, type Money, progressBps } from '../money';
import { card, describeError, emptyNotice, loadInto, severityBadge, stateBadge, table, unavailableNotice } from './common';

interface RiskSummary {
  readonly alerts?: Array<{ rule: string; severity: string; count: number | string }>;
  readonly alertsTotal?: number | string;
  readonly heldInEscrow?: Array<{ kind: string; held: Money }>;
  readonly computedAt?: string;
}

interface Campaign {
  readonly id: string;
  readonly title: string;
  readonly state: string;
  readonly goal: Money;
  readonly pledged: Money;
  readonly backersCount: number;
  readonly endsAt: string;
  readonly createdAt?: string;
  readonly launchedAt?: string;
  readonly settledAt?: string;
}

interface InspectionItem {
  readonly drawId?: string;
  readonly index?: number;
  readonly subject?: { kind: string; id: string };
  readonly inspectorId?: string;
  readonly outcome?: string;
  readonly summary?: string;
  readonly completedAt?: string;
}

const severities = ['critical', 'high', 'medium', 'low'] as const;
/** How often the summary and the campaigns are read again while the dashboard is open. */
export const dashboardRefreshMs = 15_000;
const subjectKinds = ['campaign', 'task', 'round', 'participant'] as const;

/** Samples of money held by kind, taken at each refresh this session: the "over time" of the chart. */
const heldSamples: Array<{ at: string; byKind: Record<string, number> }> = [];
/** Pledged amounts of each campaign at each refresh, for the funding curves. */
const fundingSamples = new Map<string, Array<[string, number]>>();
let refreshTimer: ReturnType<typeof setInterval> | undefined;

function alertItem(alert: RiskAlert, fresh: boolean): HTMLElement {
  return h(
    'li',
    { class: `alert-item${fresh ? ' alert-fresh' : ''}`, 'data-alert-id': alert.id },
    h('div', { class: 'alert-head' }, severityBadge(alert.severity), h('code', { class: 'rule' }, alert.rule), h('time', { datetime: alert.at ?? '' }, formatTime(alert.at))),
    alert.summary ? h('p', { class: 'alert-summary' }, alert.summary) : undefined,
    alert.subject ? h('p', { class: 'alert-subject' }, `${term('subject', alert.subject.kind)} · `, subjectLink(alert.subject)) : undefined,
  );
}

function subjectLink(subject: { kind: string; id: string }): Node {
  if (subject.kind === 'campaign') return h('a', { href: `#/campaigns/${encodeURIComponent(subject.id)}` }, subject.id);
  return h('code', {}, subject.id);
}

let summaryRefresh: ReturnType<typeof setTimeout> | undefined;
let refreshSummary: (() => void) | undefined;

/** New alerts change the counts: read the summary again soon (once for a burst of alerts). */
function alertsArrived(): void {
  if (summaryRefresh) return;
  summaryRefresh = setTimeout(() => {
    summaryRefresh = undefined;
    refreshSummary?.();
  }, 1_000);
}

function feedCard(): HTMLElement {
  const status = h('span', { class: 'feed-status', role: 'status' });
  const list = h('ol', { class: 'alert-list', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-label': t('feed.listLabel') });
  const empty = emptyNotice(t('feed.empty'));
  const unavailable = unavailableNotice(t('service.risk'));
  function drawStatus(): void {
    const state = feedState();
    status.className = `feed-status feed-${state}`;
    status.textContent = t(`feed.state.${state}`);
    unavailable.hidden = state !== 'unavailable';
    empty.hidden = state === 'unavailable' || feedAlerts().length > 0;
  }
  list.replaceChildren(...feedAlerts().map((alert) => alertItem(alert, false)));
  // The card is built before it is in the document; once it has been shown and is gone (another
  // view, a language switch), it stops listening.
  let shown = false;
  const unsubscribe = onFeed((added) => {
    if (!list.isConnected) {
      if (shown) unsubscribe();
      return;
    }
    shown = true;
    for (const alert of [...added].reverse()) list.prepend(alertItem(alert, true));
    while (list.children.length > 50) list.lastElementChild?.remove();
    drawStatus();
    if (added.length > 0) alertsArrived();
  });
  drawStatus();
  // History first (GET /v1/risk/alerts), then the stream brings what follows.
  api<Page<RiskAlert>>('GET', '/v1/risk/alerts?limit=50').then(
    (page) => {
      const added = mergeAlerts(page.items);
      if (added.length > 0) list.replaceChildren(...feedAlerts().slice(0, 50).map((alert) => alertItem(alert, false)));
      drawStatus();
    },
    () => undefined,
  );
  setTimeout(() => {
    shown = list.isConnected;
    drawStatus();
    startFeed();
  }, 0);
  return card(t('feed.title'), h('div', { class: 'card-toolbar' }, h('span', { class: 'live-dot', 'aria-hidden': 'true' }), status), unavailable, empty, list);
}

function alertsChart(summary: RiskSummary): Node {
  const rows = summary.alerts ?? [];
  if (rows.length === 0) return emptyNotice(t('alerts.none'));
  const rules = [...new Set(rows.map((row) => row.rule))].sort();
  const series = severities.map((severity) => ({
    name: term('severity', severity),
    type: 'bar',
    stack: 'severity',
    itemStyle: { color: severityColors[severity] },
    data: rules.map((rule) => rows.filter((row) => row.rule === rule && row.severity === severity).reduce((sum, row) => sum + Number(row.count), 0)),
  }));
  return chart(
    t('alerts.chartLabel'),
    {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      legend: { bottom: 0 },
      grid: { left: 8, right: 16, top: 8, bottom: 36, containLabel: true },
      xAxis: { type: 'value', minInterval: 1 },
      yAxis: { type: 'category', data: rules, axisLabel: { width: 210, overflow: 'truncate', fontFamily: 'ui-monospace, Menlo, monospace', fontSize: 11 } },
      series,
    },
    Math.max(200, rules.length * 44 + 60),
  );
}

function heldChart(): Node {
  const kinds = [...new Set(heldSamples.flatMap((sample) => Object.keys(sample.byKind)))].sort();
  if (kinds.length === 0) return emptyNotice(t('held.none'));
  const latest = heldSamples[heldSamples.length - 1];
  if (heldSamples.length < 2 && latest) {
    // One reading is not a line yet: the split by kind, until the next reading draws the curve.
    return chart(
      t('held.nowLabel'),
      {
        tooltip: { trigger: 'item', valueFormatter: (value: number) => formatMoney({ currency: 'CNY', amountMinor: String(Math.round(value * 100)) }, locale()) },
        legend: { bottom: 0 },
        series: [{ type: 'pie', radius: ['42%', '68%'], center: ['50%', '45%'], label: { formatter: '{b}\n{d}%' }, data: kinds.map((kind) => ({ name: term('heldKind', kind), value: latest.byKind[kind] ?? 0 })) }],
      },
      240,
    );
  }
  return chart(t('held.chartLabel'), {
    tooltip: { trigger: 'axis' },
    legend: { bottom: 0 },
    grid: { left: 8, right: 16, top: 32, bottom: 36, containLabel: true },
    xAxis: { type: 'time', axisLabel: { hideOverlap: true } },
    yAxis: { type: 'value', name: t('held.axis'), nameTextStyle: { align: 'left' } },
    series: kinds.map((kind) => ({
      name: term('heldKind', kind),
      type: 'line',
      stack: 'held',
      areaStyle: { opacity: 0.25 },
      showSymbol: heldSamples.length < 3,
      data: heldSamples.map((sample) => [sample.at, sample.byKind[kind] ?? 0]),
    })),
  });
}

function summaryCards(summary: RiskSummary, slot: { kpis: HTMLElement; alerts: HTMLElement; held: HTMLElement }): void {
  const total = Number(summary.alertsTotal ?? (summary.alerts ?? []).reduce((sum, row) => sum + Number(row.count), 0));
  const serious = (summary.alerts ?? []).filter((row) => row.severity === 'high' || row.severity === 'critical').reduce((sum, row) => sum + Number(row.count), 0);
  const held = summary.heldInEscrow ?? [];
  const byKind: Record<string, number> = {};
  for (const row of held) byKind[row.kind] = (byKind[row.kind] ?? 0) + chartValue(row.held);
  heldSamples.push({ at: summary.computedAt ?? new Date().toISOString(), byKind });
  if (heldSamples.length > 240) heldSamples.shift();
  const heldTotal = held.filter((row) => row.held.currency === 'CNY').reduce((sum, row) => sum + BigInt(row.held.amountMinor), 0n);
  slot.kpis.replaceChildren(
    kpi(t('kpi.alerts'), formatNumber(total)),
    kpi(t('kpi.serious'), formatNumber(serious), serious > 0 ? 'kpi-warn' : undefined),
    kpi(t('kpi.held'), formatMoney({ currency: 'CNY', amountMinor: heldTotal.toString() }, locale())),
  );
  slot.alerts.replaceChildren(alertsChart(summary));
  slot.held.replaceChildren(
    heldChart(),
    table(
      t('held.tableCaption'),
      [t('held.kind'), t('held.amount')],
      held.map((row) => [term('heldKind', row.kind), formatMoney(row.held, locale())]),
    ),
  );
}

function kpi(label: string, value: string, modifier?: string): HTMLElement {
  return h('div', { class: `kpi${modifier ? ` ${modifier}` : ''}` }, h('span', { class: 'kpi-label' }, label), h('strong', { class: 'kpi-value' }, value));
}

function fundingCurves(campaigns: readonly Campaign[]): Node {
  const shown = campaigns.filter((campaign) => campaign.state !== 'draft').slice(0, 8);
  if (shown.length === 0) return emptyNotice(t('funding.none'));
  const now = new Date().toISOString();
  for (const campaign of shown) {
    const samples = fundingSamples.get(campaign.id) ?? [];
    samples.push([campaign.settledAt ?? now, progressBps(campaign.pledged, campaign.goal) / 100]);
    fundingSamples.set(campaign.id, samples.slice(-120));
  }
  return h(
    'div',
    {},
    chart(t('funding.chartLabel'), {
      tooltip: { trigger: 'axis', valueFormatter: (value: number) => `${Math.round(value)}%` },
      legend: { bottom: 0, type: 'scroll' },
      grid: { left: 8, right: 24, top: 32, bottom: 40, containLabel: true },
      xAxis: { type: 'time', axisLabel: { hideOverlap: true } },
      yAxis: { type: 'value', name: t('funding.axis'), axisLabel: { formatter: '{value}%' } },
      series: shown.map((campaign) => ({
        name: campaign.title,
        type: 'line',
        showSymbol: true,
        // From launch (nothing pledged) to each reading of this session.
        data: [[campaign.launchedAt ?? campaign.createdAt ?? now, 0], ...(fundingSamples.get(campaign.id) ?? [])],
        markLine: { silent: true, symbol: 'none', lineStyle: { type: 'dashed', color: '#2a9d8f' }, label: { formatter: t('funding.goal') }, data: [{ yAxis: 100 }] },
      })),
    }),
    table(
      t('funding.tableCaption'),
      [t('campaign.name'), t('campaign.state'), t('campaign.pledged'), t('campaign.goal'), t('campaign.backers')],
      shown.map((campaign) => [
        h('a', { href: `#/campaigns/${encodeURIComponent(campaign.id)}` }, campaign.title),
        stateBadge('campaignState', campaign.state),
        formatMoney(campaign.pledged, locale()),
        formatMoney(campaign.goal, locale()),
        formatNumber(campaign.backersCount),
      ]),
    ),
  );
}

function ledgerCard(): HTMLElement {
  const body = h('div', {});
  void loadInto(body, t('service.escrow'), async () => {
    const report = await api<{ conserved: boolean; totalsByCurrency?: unknown; negativeAccounts?: unknown[] }>('GET', '/v1/ledger/invariants');
    return h(
      'div',
      { class: `ledger-check ${report.conserved ? 'is-ok' : 'is-bad'}` },
      h('span', { class: 'ledger-icon', 'aria-hidden': 'true' }, report.conserved ? '✓' : '!'),
      h('div', {}, h('strong', {}, report.conserved ? t('ledger.conserved') : t('ledger.notConserved')), h('p', {}, t('ledger.negative', { count: report.negativeAccounts?.length ?? 0 }))),
    );
  });
  return card(t('ledger.title'), body);
}

function inspectionsCard(): HTMLElement {
  const results = h('div', { class: 'draw-result', 'aria-live': 'polite' });
  const kindBoxes = subjectKinds.map((kind) => h('input', { type: 'checkbox', id: `draw-kind-${kind}`, value: kind, checked: kind === 'campaign' || kind === 'task' }));
  const sampleSize = h('input', { id: 'draw-sample-size', type: 'number', min: 1, max: 100, value: 5, required: true, inputmode: 'numeric' });
  const seed = h('input', { id: 'draw-seed', type: 'text', maxlength: 64, autocomplete: 'off' });
  const submit = h('button', { type: 'submit', class: 'button button-primary' }, t('inspections.draw'));
  const form = h(
    'form',
    {
      class: 'form form-inline',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const kinds = kindBoxes.filter((box) => box.checked).map((box) => box.value);
        if (kinds.length === 0) {
          results.replaceChildren(h('p', { class: 'form-message is-error' }, t('inspections.pickKind')));
          return;
        }
        submit.disabled = true;
        try {
          const draw = await api<{ id: string; seed: string; populationSize: number; items: InspectionItem[] }>('POST', '/v1/inspections/draws', {
            body: { subjectKinds: kinds, sampleSize: Number(sampleSize.value), ...(seed.value.trim() ? { seed: seed.value.trim() } : {}) },
            idempotencyKey: newIdempotencyKey('draw'),
          });
          results.replaceChildren(
            h('p', { class: 'form-message is-ok' }, t('inspections.drawn', { count: draw.items.length, population: draw.populationSize, seed: draw.seed })),
            table(
              t('inspections.drawCaption'),
              [t('inspections.subject'), t('inspections.inspector')],
              draw.items.map((item) => [item.subject ? h('span', {}, `${term('subject', item.subject.kind)} · `, subjectLink(item.subject)) : '—', h('code', {}, item.inspectorId ?? '—')]),
            ),
          );
        } catch (error) {
          results.replaceChildren(error instanceof ApiError && error.unavailable ? unavailableNotice(t('service.risk')) : h('p', { class: 'form-message is-error', role: 'alert' }, describeError(error)));
        } finally {
          submit.disabled = false;
        }
      },
    },
    h('fieldset', { class: 'roles roles-inline' }, h('legend', {}, t('inspections.kinds')), ...kindBoxes.map((box) => h('label', { class: 'check', for: box.id }, box, h('span', {}, term('subject', box.value))))),
    h('div', { class: 'field field-small' }, h('label', { for: sampleSize.id }, t('inspections.sampleSize')), sampleSize),
    h('div', { class: 'field field-small' }, h('label', { for: seed.id }, t('inspections.seed')), seed, h('p', { class: 'hint' }, t('inspections.seedHint'))),
    submit,
  );
  const completed = h('div', {});
  void loadInto(completed, t('service.risk'), async () => {
    const page = await api<Page<InspectionItem>>('GET', '/v1/inspections?limit=50');
    if (page.items.length === 0) return emptyNotice(t('inspections.none'));
    const outcomes = new Map<string, number>();
    for (const item of page.items) outcomes.set(item.outcome ?? 'pending', (outcomes.get(item.outcome ?? 'pending') ?? 0) + 1);
    return [
      chart(
        t('inspections.chartLabel'),
        {
          tooltip: { trigger: 'item' },
          legend: { bottom: 0 },
          series: [{ type: 'pie', radius: ['45%', '70%'], data: [...outcomes].map(([outcome, count]) => ({ name: term('outcome', outcome), value: count, itemStyle: { color: outcome === 'compliant' ? '#2a9d8f' : outcome === 'findings' ? '#c23b3b' : '#5c7080' } })) }],
        },
        220,
      ),
      table(
        t('inspections.completedCaption'),
        [t('inspections.subject'), t('inspections.outcome'), t('inspections.summary'), t('inspections.date')],
        page.items.map((item) => [
          item.subject ? `${term('subject', item.subject.kind)} · ${item.subject.id}` : '—',
          stateBadge('outcome', item.outcome ?? 'pending'),
          item.summary ?? '',
          formatDateTime(item.completedAt),
        ]),
      ),
    ];
  });
  return card(t('inspections.title'), h('p', { class: 'card-intro' }, t('inspections.intro')), form, results, h('h3', { class: 'subheading' }, t('inspections.completed')), completed);
}

export function renderDashboard(main: HTMLElement): void {
  if (!hasRole('regulator', 'admin')) {
    main.replaceChildren(h('h1', { class: 'page-title' }, t('nav.dashboard')), h('div', { class: 'notice' }, t('dashboard.regulatorsOnly')));
    return;
  }
  const kpis = h('div', { class: 'kpis', 'aria-label': t('kpi.label'), role: 'group' }, kpi(t('kpi.alerts'), '—'), kpi(t('kpi.serious'), '—'), kpi(t('kpi.held'), '—'));
  const alerts = h('div', {});
  const held = h('div', {});
  const funding = h('div', {});
  const summarySlot = { kpis, alerts, held };
  function readSummary(): void {
    if (!main.isConnected) return;
    api<RiskSummary>('GET', '/v1/risk/summary').then(
      (summary) => summaryCards(summary, summarySlot),
      (error: unknown) => {
        const notice = error instanceof ApiError && error.unavailable ? unavailableNotice(t('service.risk')) : h('div', { class: 'notice notice-error', role: 'alert' }, describeError(error));
        alerts.replaceChildren(notice);
        held.replaceChildren(notice.cloneNode(true));
        const unknown = t('kpi.unavailable');
        kpis.replaceChildren(kpi(t('kpi.alerts'), unknown, 'kpi-muted'), kpi(t('kpi.serious'), unknown, 'kpi-muted'), kpi(t('kpi.held'), unknown, 'kpi-muted'));
      },
    );
  }
  refreshSummary = readSummary;
  function refresh(): void {
    if (!main.isConnected) {
      if (refreshTimer) clearInterval(refreshTimer);
      refreshTimer = undefined;
      return;
    }
    readSummary();
    const loadFunding = async () => fundingCurves((await api<Page<Campaign>>('GET', '/v1/campaigns?limit=100')).items);
    // The first reading shows "loading"; later ones replace the chart only once they have arrived.
    if (funding.childElementCount === 0) void loadInto(funding, t('service.escrow'), loadFunding);
    else loadFunding().then((content) => funding.replaceChildren(content), () => undefined);
  }
  main.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', { class: 'page-title' }, t('dashboard.title')), h('p', { class: 'page-lead' }, t('dashboard.lead'))),
    kpis,
    h(
      'div',
      { class: 'grid grid-dashboard' },
      feedCard(),
      card(t('alerts.title'), alerts),
      card(t('held.title'), held),
      ledgerCard(),
      h('div', { class: 'span-2' }, card(t('funding.title'), funding)),
      h('div', { class: 'span-2' }, inspectionsCard()),
    ),
  );
  refresh();
  if (refreshTimer) clearInterval(refreshTimer);
  refreshTimer = setInterval(refresh, dashboardRefreshMs);
}

