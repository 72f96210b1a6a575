// Proves the web console in a real browser (headless Chromium from npm, driven by playwright-core) against a real gateway and the real escrow service: a regulator signs in and sees the dashboard (the ledger check, the funding curves, and a clear "service unavailable" on the risk cards while no risk service is configured), the language switch re-renders every string in English and back, a new participant signs up through the form, and a backer opens a campaign and pledges, with the held money visible in the API; screenshots in both languages and at 375 px are kept under .cache/screenshots/console.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectMongo, createLogger, loadConfig } from '@sizhong/kit';
import { testDatabaseName, testInfrastructure, testTopicPrefix } from '@sizhong/testkit';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { signPayload } from '../../../services/escrow/src/app/payment-provider';
import { escrowConfigShape } from '../../../services/escrow/src/config';
import { type RunningEscrow, startEscrow } from '../../../services/escrow/src/escrow-service';
import { createPrivilegedParticipant, signUpAndSignIn, startTestGateway, type TestGateway, testPassword, uniqueEmail } from '../support/test-gateway';
import { launchBrowser, screenshot } from './browser';
import { RiskStandIn } from './risk-stand-in';

jest.setTimeout(120_000);

/**
 * The live-alert test against the real credit service runs once the gateway routes the risk feed
 * (credit already serves StreamRiskFeed over gRPC). Until then the stand-in test below covers the
 * console's side, and this one is skipped, visibly.
 */
const gatewayServesRiskFeed = (readdirSync(join(__dirname, '..', '..', 'src'), { recursive: true, encoding: 'utf8' }) as string[])
  .filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'))
  .some((file) => readFileSync(join(__dirname, '..', '..', 'src', file), 'utf8').includes("'/v1/risk/feed'"));

const webhookSecret = 'console-e2e-webhook-secret-0123456789abcdef';
const cny = (amountMinor: number) => ({ currency: 'CNY', amountMinor: String(amountMinor) });

let escrow: RunningEscrow;
let escrowDatabase: string;
/** Escrow's topics; credit, when it runs here, reads the same. */
let topicPrefix: string;
let creditDatabase: string | undefined;
let test: TestGateway;
let browser: Browser;
let regulator: { participantId: string; token: string; email: string };
let creator: { participantId: string; token: string; email: string };
let campaign: { id: string; title: string; tiers: Array<{ id: string; title: string }> };
let keyCounter = 0;

async function fund(participantId: string, amountMinor: number): Promise<void> {
  keyCounter += 1;
  const body = JSON.stringify({ id: `evt_console_${Date.now()}_${keyCounter}`, type: 'deposit.succeeded', participantId, amount: cny(amountMinor) });
  const signature = signPayload(new TextEncoder().encode(webhookSecret), body, Math.floor(Date.now() / 1_000));
  const response = await test.http.request('POST', '/v1/psp/webhooks', { rawBody: body, headers: { 'content-type': 'application/json', 'sizhong-signature': signature } });
  expect(response.status).toBe(200);
}

async function launchCampaign(title: string, goalMinor: number, pledgeMinor: number) {
  keyCounter += 1;
  const now = Date.now();
  const created = await test.http.post(
    '/v1/campaigns',
    {
      title,
      description: '一盏会朗读的台灯：原型已完成，本次众筹用于开模。A lamp that reads aloud.',
      goal: cny(goalMinor),
      fundingModel: 'all_or_nothing',
      endsAt: new Date(now + 10 * 60_000).toISOString(),
      deliveryDate: new Date(now + 30 * 24 * 3_600_000).toISOString(),
      tiers: [
        { title: '早鸟 Early bird', price: cny(pledgeMinor), quantity: 100 },
        { title: '标准 Standard', price: cny(pledgeMinor * 2) },
      ],
    },
    { token: creator.token, headers: { 'Idempotency-Key': `console-create-${now}-${keyCounter}` } },
  );
  expect(created.status).toBe(201);
  const launched = await test.http.post(`/v1/campaigns/${created.body.id}/launch`, {}, { token: creator.token });
  expect(launched.status).toBe(200);
  return launched.body;
}

beforeAll(async () => {
  const infrastructure = testInfrastructure();
  escrowDatabase = testDatabaseName('gateway-console-escrow');
  topicPrefix = testTopicPrefix('gateway-console');
  escrow = await startEscrow(
    loadConfig(escrowConfigShape, {
      MONGO_URL: infrastructure.mongoUrl,
      KAFKA_BROKERS: infrastructure.kafkaBrokers.join(','),
      ESCROW_DATABASE: escrowDatabase,
      KAFKA_TOPIC_PREFIX: topicPrefix,
      PSP_WEBHOOK_SECRET: webhookSecret,
      GRPC_PORT: '0',
      LOG_LEVEL: 'silent',
      DEADLINE_MIN_MS: '1000',
    }),
    { logger: createLogger({ service: 'escrow', level: 'silent' }) },
  );
  // Without credit the risk routes answer 503 (or do not exist yet), which the console must show as such.
  test = await startTestGateway({ label: 'gateway-console', environment: { ESCROW_GRPC_ADDRESS: escrow.address, LOG_LEVEL: 'warn' } });
  [regulator, creator] = await Promise.all([createPrivilegedParticipant(test, ['regulator']), signUpAndSignIn(test.http, ['creator'])]);
  campaign = await launchCampaign('会朗读的台灯 Reading lamp', 500_000, 8_800);
  // A second campaign, partly funded, so the funding curves have two lines.
  const second = await launchCampaign('城市骑行头盔 Smart helmet', 200_000, 5_000);
  const earlyBacker = await signUpAndSignIn(test.http, ['backer']);
  await fund(earlyBacker.participantId, 300_000);
  const pledged = await test.http.post(`/v1/campaigns/${second.id}/pledges`, { tierId: second.tiers[0].id, amount: cny(150_000) }, { token: earlyBacker.token, headers: { 'Idempotency-Key': `console-early-${Date.now()}` } });
  expect(pledged.status).toBe(201);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await test?.close();
  await escrow?.stop();
  for (const database of [escrowDatabase, creditDatabase]) {
    if (!database) continue;
    const mongo = await connectMongo(testInfrastructure().mongoUrl, database);
    await mongo.db.dropDatabase();
    await mongo.close();
  }
});

async function openConsole(width = 1280, height = 900): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width, height }, locale: 'zh-CN' });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${test.url}/`);
  return { context, page, errors };
}

async function signInThroughForm(page: Page, email: string, language: 'zh' | 'en' = 'zh'): Promise<void> {
  const form = page.getByRole('form', { name: language === 'zh' ? '登录' : 'Sign in' });
  await form.getByLabel(language === 'zh' ? '电子邮箱' : 'Email').fill(email);
  await form.getByLabel(language === 'zh' ? '密码' : 'Password').fill(testPassword);
  await form.getByRole('button', { name: language === 'zh' ? '登录' : 'Sign in' }).click();
}

describe('the web console', () => {
  it('serves a sign-in page in Chinese by default, in its own web font, with no script errors', async () => {
    const { context, page, errors } = await openConsole();
    await expect(page.getByRole('heading', { level: 2, name: '登录' })).toBeTruthy();
    await page.getByRole('heading', { name: '注册新账户' }).waitFor();
    expect(await page.evaluate('document.documentElement.lang')).toBe('zh-CN');
    await page.evaluate('document.fonts.ready.then(() => true)');
    // The Chinese glyphs come from the bundled Noto Sans SC, not from whatever the machine has.
    expect(await page.evaluate(`document.fonts.check('16px "Noto Sans SC"', '监管看板')`)).toBe(true);
    await screenshot(page, 'sign-in.zh');
    // Keyboard: the first Tab reaches the skip link, which moves focus to the main content.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('跳到主要内容');
    await page.keyboard.press('Enter');
    expect(await page.evaluate('document.activeElement.id')).toBe('main');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.id')).toBe('sign-in-email');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('shows a regulator the dashboard, with the risk cards unavailable while no risk service runs, in Chinese and in English', async () => {
    const { context, page, errors } = await openConsole();
    await signInThroughForm(page, regulator.email);
    await page.getByRole('heading', { level: 1, name: '监管看板' }).waitFor();
    expect(page.url()).toContain('#/dashboard');
    // The ledger check comes from escrow, which runs.
    await page.getByText('账本守恒：借贷平衡').waitFor();
    // Both launched campaigns are in the funding table.
    await page.getByRole('link', { name: campaign.title }).first().waitFor();
    await page.getByRole('link', { name: '城市骑行头盔 Smart helmet' }).first().waitFor();
    // The feed, the alert chart and the inspections say the risk service is unavailable instead of breaking.
    await page.getByText('预警流不可用').waitFor({ timeout: 20_000 });
    expect(await page.getByText('服务暂不可用').count()).toBeGreaterThanOrEqual(2);
    // The live feed is a polite live region.
    expect(await page.getByRole('list', { name: '最新预警，新预警会自动出现在顶部' }).getAttribute('aria-live')).toBe('polite');
    await page.waitForTimeout(600); // the charts' entry animation
    await screenshot(page, 'dashboard.zh');

    await page.getByRole('button', { name: /Switch to English/ }).click();
    await page.getByRole('heading', { level: 1, name: 'Oversight dashboard' }).waitFor();
    expect(await page.evaluate('document.documentElement.lang')).toBe('en');
    await page.getByText('Conserved: debits equal credits').waitFor();
    await page.getByText('Alert feed unavailable').waitFor();
    expect(await page.getByText('监管').count()).toBe(0);
    await page.waitForTimeout(600);
    await screenshot(page, 'dashboard.en');

    // The choice is remembered across a reload, and switching back restores Chinese.
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Oversight dashboard' }).waitFor();
    await page.getByRole('button', { name: /切换到中文/ }).click();
    await page.getByRole('heading', { level: 1, name: '监管看板' }).waitFor();
    expect(errors).toEqual([]);
    await context.close();
  });

  it('signs a new participant up through the form and takes them to the marketplace', async () => {
    const { context, page, errors } = await openConsole();
    const form = page.getByRole('form', { name: '注册新账户' });
    await form.getByLabel('电子邮箱').fill(uniqueEmail('console-signup'));
    await form.getByLabel('密码').fill(testPassword);
    await form.getByLabel('显示名称').fill('林晓');
    await form.getByRole('checkbox', { name: /创作者|发起人/ }).check();
    await form.getByRole('button', { name: '注册并登录' }).click();
    await page.getByRole('heading', { level: 1, name: '市场' }).waitFor();
    await page.getByRole('link', { name: campaign.title }).waitFor();
    // Tasks and rounds belong to services not running here: unavailable, not an error.
    await page.getByRole('heading', { name: '任务' }).waitFor();
    expect(await page.getByText('服务暂不可用').count()).toBeGreaterThanOrEqual(1);
    await screenshot(page, 'market.zh');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('lets a funded backer open a campaign and pledge, and the money is held on their wallet', async () => {
    const backer = await signUpAndSignIn(test.http, ['backer']);
    await fund(backer.participantId, 100_000);
    const { context, page, errors } = await openConsole(375, 812);
    await signInThroughForm(page, backer.email);
    await page.getByRole('heading', { level: 1, name: '市场' }).waitFor();
    await screenshot(page, 'market.zh.375');
    await page.getByRole('link', { name: campaign.title }).click();
    await page.getByRole('heading', { level: 1, name: /会朗读的台灯/ }).waitFor();
    const form = page.getByRole('form', { name: '支持这个项目' });
    await form.getByRole('radio', { name: /早鸟 Early bird/ }).check();
    expect(await form.getByLabel('支持金额（CNY）').inputValue()).toBe('88.00');
    await screenshot(page, 'campaign.zh.375');
    await form.getByRole('button', { name: '确认支持' }).click();
    await page.getByText('支持成功：¥88.00，状态：冻结中。').waitFor();

    const wallet = await test.http.get('/v1/wallet', { token: backer.token });
    expect(wallet.body.held).toEqual(cny(8_800));
    expect(wallet.body.available).toEqual(cny(100_000 - 8_800));

    // The account page shows the same: the held money and the pledge, found through the journal.
    await page.getByRole('link', { name: '我的账户' }).click();
    await page.getByTestId('wallet-held').getByText('¥88.00').waitFor();
    await page.getByRole('cell', { name: '冻结中' }).first().waitFor();
    await screenshot(page, 'me.zh.375');
    await page.getByRole('button', { name: /Switch to English/ }).click();
    await page.getByRole('heading', { level: 1, name: /account/ }).waitFor();
    await page.getByRole('cell', { name: 'Held' }).first().waitFor();
    await screenshot(page, 'me.en.375');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('refuses a pledge beyond the wallet with a translated message', async () => {
    const backer = await signUpAndSignIn(test.http, ['backer']);
    await fund(backer.participantId, 1_000);
    const { context, page } = await openConsole();
    await page.evaluate("localStorage.setItem('sizhong.language', 'en')");
    await page.reload();
    await signInThroughForm(page, backer.email, 'en');
    await page.getByRole('heading', { level: 1, name: 'Marketplace' }).waitFor();
    await page.getByRole('link', { name: campaign.title }).click();
    const form = page.getByRole('form', { name: 'Back this campaign' });
    await form.getByRole('button', { name: 'Pledge' }).click();
    await page.getByText('Your wallet does not hold enough available money: top it up first.').waitFor();
    await page.waitForTimeout(300);
    await screenshot(page, 'campaign.en');
    expect((await test.http.get('/v1/wallet', { token: backer.token })).body.held).toEqual(cny(0));
    await context.close();
  });

  it('shows risk alerts arriving live, resuming the feed with Last-Event-ID (risk routes answered in the browser by a stand-in of API.md until the credit service serves them)', async () => {
    const standIn = new RiskStandIn([
      { id: 'al_h1', rule: 'ESCROW_HELD_TOO_LONG', severity: 'low', subject: { kind: 'campaign', id: campaign.id }, summary: '托管资金超过 90 天未结算 Held over 90 days', at: new Date(Date.now() - 3_600_000).toISOString() },
    ]);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await standIn.install(page);
    await page.goto(`${test.url}/`);
    await signInThroughForm(page, regulator.email);
    const feed = page.getByRole('list', { name: '最新预警，新预警会自动出现在顶部' });
    await feed.getByText('ESCROW_HELD_TOO_LONG').waitFor();
    await page.getByText('实时连接中').waitFor();
    // EventSource could not have sent this: the feed is read with fetch and the bearer token.
    expect(standIn.feedRequests[0]?.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    expect(standIn.feedRequests[0]?.accept).toBe('text/event-stream');
    expect(standIn.feedRequests[0]?.['last-event-id']).toBeUndefined();

    standIn.raise({ id: 'al_1', rule: 'PLEDGE_VELOCITY_SPIKE', severity: 'high', subject: { kind: 'campaign', id: campaign.id }, summary: '10 分钟内 40 笔支持，来自 3 个新账户 40 pledges in 10 minutes from 3 new accounts', at: new Date().toISOString() });
    await feed.getByText('PLEDGE_VELOCITY_SPIKE').waitFor();
    standIn.raise({ id: 'al_2', rule: 'SELF_DEALING_SUSPECTED', severity: 'critical', subject: { kind: 'campaign', id: campaign.id }, summary: '发起人与支持者共用支付账户 Creator and backer share a payment account', at: new Date().toISOString() });
    await feed.getByText('SELF_DEALING_SUSPECTED').waitFor();
    // Newest first, each once, and the page was never reloaded.
    expect(await feed.locator('li .rule').allTextContents()).toEqual(['SELF_DEALING_SUSPECTED', 'PLEDGE_VELOCITY_SPIKE', 'ESCROW_HELD_TOO_LONG']);
    // After the first stream ended, the console resumed after the last event it had.
    const resumed = standIn.feedRequests.map((headers) => headers['last-event-id']);
    expect(resumed).toContain('1');
    // The dashboard's other risk cards read the summary and the inspections.
    await page.getByText('预警总数').waitFor();
    await page.getByRole('group', { name: '关键指标' }).getByText('31').waitFor();
    await page.getByRole('cell', { name: '里程碑验收记录缺失 Missing acceptance record' }).waitFor();
    await page.waitForTimeout(800); // the charts' entry animation
    await screenshot(page, 'dashboard-live.zh');
    await page.getByRole('button', { name: /Switch to English/ }).click();
    // The alerts received stay across the re-render in the other language.
    await page.getByRole('list', { name: 'Latest alerts; new ones appear at the top' }).getByText('SELF_DEALING_SUSPECTED').waitFor();
    await page.getByText('Critical').first().waitFor();
    await page.waitForTimeout(800);
    await screenshot(page, 'dashboard-live.en');
    expect(errors).toEqual([]);
    await context.close();
  });

  // The same as the stand-in test, against the real credit service: a backer gives more than half
  // of a campaign's pledges (BACKER_CONCENTRATION, by default over 50 % of at least ¥1,000), escrow
  // publishes the pledge, credit raises the alert, the gateway streams it, the open dashboard shows it.
  // A gateway of its own with CREDIT_GRPC_ADDRESS, so the other tests keep seeing the risk service unavailable.
  (gatewayServesRiskFeed ? it : it.skip)('shows a real risk alert from the credit service on the open dashboard without a reload', async () => {
    const infrastructure = testInfrastructure();
    /* eslint-disable @typescript-eslint/no-require-imports -- loaded only once the gateway routes the feed */
    const { startCredit } = require('../../../services/credit/src/credit-service') as typeof import('../../../services/credit/src/credit-service');
    const { creditConfigShape } = require('../../../services/credit/src/config') as typeof import('../../../services/credit/src/config');
    /* eslint-enable @typescript-eslint/no-require-imports */
    creditDatabase = testDatabaseName('gateway-console-credit');
    const credit = await startCredit(
      loadConfig(creditConfigShape, {
        MONGO_URL: infrastructure.mongoUrl,
        KAFKA_BROKERS: infrastructure.kafkaBrokers.join(','),
        CREDIT_DATABASE: creditDatabase,
        KAFKA_TOPIC_PREFIX: topicPrefix,
        GRPC_PORT: '0',
        LOG_LEVEL: 'silent',
        CREDIT_FEED_POLL_MS: '200',
      }),
      { logger: createLogger({ service: 'credit', level: 'silent' }) },
    );
    const withRisk = await startTestGateway({ label: 'gateway-console-risk', environment: { ESCROW_GRPC_ADDRESS: escrow.address, CREDIT_GRPC_ADDRESS: credit.address, LOG_LEVEL: 'warn' } });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
    try {
      const riskRegulator = await createPrivilegedParticipant(withRisk, ['regulator']);
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(`${withRisk.url}/`);
      await signInThroughForm(page, riskRegulator.email);
      await page.getByText('实时连接中').waitFor({ timeout: 30_000 });
      const target = await launchCampaign('集中支持测试 Concentration check', 200_000, 1_000);
      const whale = await signUpAndSignIn(withRisk.http, ['backer']);
      await fund(whale.participantId, 150_000);
      const pledged = await withRisk.http.post(`/v1/campaigns/${target.id}/pledges`, { amount: cny(120_000) }, { token: whale.token, headers: { 'Idempotency-Key': `console-whale-${Date.now()}` } });
      expect(pledged.status).toBe(201);
      const feed = page.getByRole('list', { name: '最新预警，新预警会自动出现在顶部' });
      await feed.locator('li[data-alert-id]', { has: page.getByRole('link', { name: target.id }) }).first().waitFor({ timeout: 60_000 });
      await feed.getByText('BACKER_CONCENTRATION').first().waitFor();
      await page.waitForTimeout(800);
      await screenshot(page, 'dashboard-real-alert.zh');
      expect(errors).toEqual([]);

      // The backer's own page shows their credit score from the same credit service, with its band.
      const backerPage = await context.newPage();
      await backerPage.goto(`${withRisk.url}/`);
      await backerPage.evaluate('sessionStorage.clear()');
      await backerPage.reload();
      await signInThroughForm(backerPage, whale.email);
      await backerPage.getByRole('link', { name: '我的账户' }).click();
      await backerPage.getByRole('img', { name: /^信用评分 \d+ 分/ }).waitFor({ timeout: 30_000 });
      await backerPage.getByText('信用等级').waitFor();
      await backerPage.waitForTimeout(600);
      await screenshot(backerPage, 'me-credit.zh');
    } finally {
      await context.close();
      await withRisk.close();
      await credit.stop();
    }
  });
});
