/**
 * A stand-in for the risk routes of API.md (GET /v1/risk/alerts, /v1/risk/feed, /v1/risk/summary,
 * GET /v1/inspections, POST /v1/inspections/draws), answered inside the browser (playwright's
 * page.route) and nowhere else: the gateway and the services stay real. It exists only until the
 * credit service serves these routes; then the console test drives the real ones (see the it.todo
 * in console.e2e.spec.ts). It records what the console sent, so the test can check the headers.
 *
 * The feed answers each request with the events queued for it and ends the stream (page.route
 * cannot hold a response open); the console then resumes with Last-Event-ID, which is the
 * behaviour under test. A later request with nothing new is left pending, as an idle stream would be.
 */
import type { Page, Route } from 'playwright-core';

export interface StandInAlert {
  readonly id: string;
  readonly rule: string;
  readonly severity: 'low' | 'medium' | 'high' | 'critical';
  readonly subject: { kind: string; id: string };
  readonly summary: string;
  readonly at: string;
}

const cny = (amountMinor: string) => ({ currency: 'CNY', amountMinor });

export class RiskStandIn {
  /** Headers of every feed request, in order. */
  readonly feedRequests: Array<Record<string, string>> = [];
  private readonly queued: Array<{ sequence: number; alert: StandInAlert }> = [];
  private readonly pending: Route[] = [];
  private sequence = 0;

  constructor(private readonly history: readonly StandInAlert[]) {}

  /** Queues an alert for the feed; a feed request already waiting gets it now. */
  raise(alert: StandInAlert): void {
    this.sequence += 1;
    this.queued.push({ sequence: this.sequence, alert });
    const waiting = this.pending.shift();
    if (waiting) void this.answerFeed(waiting);
  }

  async install(page: Page): Promise<void> {
    await page.route('**/v1/risk/feed', (route) => {
      this.feedRequests.push(route.request().headers());
      // The first request is answered at once (a real stream sends its headers at once); later
      // ones wait until there is something after their Last-Event-ID.
      if (this.feedRequests.length === 1 || this.eventsAfter(route).length > 0) void this.answerFeed(route);
      else this.pending.push(route);
    });
    await page.route('**/v1/risk/alerts?*', (route) => route.fulfill({ json: { items: this.history, nextCursor: null } }));
    await page.route('**/v1/risk/summary', (route) =>
      route.fulfill({
        json: {
          alerts: [
            { rule: 'PLEDGE_VELOCITY_SPIKE', severity: 'high', count: 4 },
            { rule: 'PLEDGE_VELOCITY_SPIKE', severity: 'medium', count: 7 },
            { rule: 'SELF_DEALING_SUSPECTED', severity: 'critical', count: 1 },
            { rule: 'SELF_DEALING_SUSPECTED', severity: 'high', count: 2 },
            { rule: 'ESCROW_HELD_TOO_LONG', severity: 'low', count: 9 },
            { rule: 'ESCROW_HELD_TOO_LONG', severity: 'medium', count: 3 },
            { rule: 'CREDIT_SCORE_DROP', severity: 'medium', count: 5 },
          ],
          alertsTotal: 31,
          heldInEscrow: [
            { kind: 'pledge', held: cny('158800000') },
            { kind: 'task', held: cny('92000000') },
            { kind: 'equity', held: cny('240000000') },
          ],
          computedAt: new Date().toISOString(),
        },
      }),
    );
    await page.route('**/v1/inspections?*', (route) =>
      route.fulfill({
        json: {
          items: [
            { drawId: 'dr_1', index: 0, subject: { kind: 'campaign', id: 'cp_lamp' }, inspectorId: 'pt_reg_a', outcome: 'compliant', summary: '资金托管与披露一致 Escrow matches disclosures', completedAt: '2026-11-20T09:30:00Z' },
            { drawId: 'dr_1', index: 1, subject: { kind: 'task', id: 'tk_survey' }, inspectorId: 'pt_reg_b', outcome: 'findings', summary: '里程碑验收记录缺失 Missing acceptance record', completedAt: '2026-11-21T14:05:00Z' },
            { drawId: 'dr_2', index: 0, subject: { kind: 'round', id: 'rd_seed' }, inspectorId: 'pt_reg_a', outcome: 'compliant', summary: '领投人资质合规 Lead qualified', completedAt: '2026-11-24T11:00:00Z' },
          ],
          nextCursor: null,
        },
      }),
    );
    await page.route('**/v1/inspections/draws', (route) =>
      route.fulfill({
        status: 201,
        json: {
          id: 'dr_3',
          seed: 'b3f9c2',
          populationSize: 42,
          items: [
            { subject: { kind: 'campaign', id: 'cp_helmet' }, inspectorId: 'pt_reg_a' },
            { subject: { kind: 'task', id: 'tk_logo' }, inspectorId: 'pt_reg_b' },
          ],
        },
      }),
    );
  }

  private eventsAfter(route: Route): Array<{ sequence: number; alert: StandInAlert }> {
    const lastEventId = Number(route.request().headers()['last-event-id'] ?? '0');
    return this.queued.filter((entry) => entry.sequence > lastEventId);
  }

  private async answerFeed(route: Route): Promise<void> {
    const events = this.eventsAfter(route);
    const body = ['retry: 300', '', ...events.flatMap((entry) => [`id: ${entry.sequence}`, 'event: alert', `data: ${JSON.stringify(entry.alert)}`, ''])].join('\n') + '\n';
    await route.fulfill({ status: 200, headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-store' }, body });
  }
}
