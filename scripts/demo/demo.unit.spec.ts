// Proves the guided demo's small parts: money printed exactly from minor units (no floats), a refusal carrying the problem+json's status, code and detail, the gateway chosen from --gateway, the running platform or the default, and demo emails told apart from others.
import { parseDemoArgs, UsageError } from '../demo';
import { demoEmail, isDemoEmail } from './accounts';
import { cny, formatMoney, refusal } from './client';

const platform = { runnerPid: 1, startedAt: '2026-11-29T00:00:00.000Z', gatewayUrl: 'http://127.0.0.1:41234', mongoUrl: 'mongodb://127.0.0.1:27027', kafkaBrokers: ['127.0.0.1:29092'], dataDirectory: '/tmp/data' };

describe('formatMoney', () => {
  it.each([
    ['0', '0.00 CNY'],
    ['5', '0.05 CNY'],
    ['99', '0.99 CNY'],
    ['617500', '6 175.00 CNY'],
    ['12000000', '120 000.00 CNY'],
    ['-280001', '-2 800.01 CNY'],
    ['900719925474099312', '9 007 199 254 740 993.12 CNY'],
  ])('%s minor units read %s', (amountMinor, text) => {
    expect(formatMoney({ currency: 'CNY', amountMinor })).toBe(text);
  });

  it('writes whole yuan as minor units and shows a missing amount as a dash', () => {
    expect(cny(12_000)).toEqual({ currency: 'CNY', amountMinor: '1200000' });
    expect(formatMoney(null)).toBe('—');
  });
});

describe('refusal', () => {
  it('carries the status, the code and the detail of the problem+json', () => {
    const refused = refusal('lead the round', { status: 422, body: { type: 'about:blank', title: 'Unprocessable', status: 422, code: 'LEAD_NOT_QUALIFIED', detail: 'a lead investor needs a credit score of at least 650' } });
    expect(refused).toMatchObject({ status: 422, code: 'LEAD_NOT_QUALIFIED', detail: 'a lead investor needs a credit score of at least 650' });
    expect(refused.message).toBe('lead the round: refused with 422 LEAD_NOT_QUALIFIED (a lead investor needs a credit score of at least 650)');
  });

  it('still says what happened when the answer is not a problem', () => {
    expect(refusal('read the round', { status: 502, body: undefined })).toMatchObject({ status: 502, code: 'NO_PROBLEM_CODE', detail: '' });
  });
});

describe('parseDemoArgs', () => {
  it('takes --gateway, else the running platform, else the default', () => {
    expect(parseDemoArgs(['--gateway', 'http://10.0.0.5:9000/'], platform)).toEqual({ gatewayUrl: 'http://10.0.0.5:9000' });
    expect(parseDemoArgs([], platform)).toEqual({ gatewayUrl: 'http://127.0.0.1:41234' });
    expect(parseDemoArgs([], undefined)).toEqual({ gatewayUrl: 'http://127.0.0.1:8080' });
  });

  it('refuses what is not a URL or not an option', () => {
    expect(() => parseDemoArgs(['--gateway', 'ftp://x'], undefined)).toThrow(UsageError);
    expect(() => parseDemoArgs(['--gateway', 'not a url'], undefined)).toThrow(UsageError);
    expect(() => parseDemoArgs(['--fast'], undefined)).toThrow(UsageError);
  });
});

describe('demo emails', () => {
  it('carry the run id and are told apart from other emails', () => {
    expect(demoEmail('regulator', 'a4311a')).toBe('regulator.a4311a@demo.sizhong.example.org');
    expect(isDemoEmail(demoEmail('regulator', 'a4311a'))).toBe(true);
    expect(isDemoEmail('regulator@example.org')).toBe(false);
    expect(isDemoEmail('x@evil-demo.sizhong.example.org')).toBe(false);
  });
});
