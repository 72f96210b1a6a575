/**
 * The payment provider's webhook protocol: `Sizhong-Signature: t=<unix seconds>,v1=<hex>` where
 * the hex is HMAC-SHA256 over `"<t>.<raw body>"` with the shared secret. A signature older or
 * newer than the tolerance is refused (a captured webhook cannot be replayed later); a correctly
 * signed retry of the same event id is applied once by the caller.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { DomainError, isCurrencyCode, parseMoney, type Money } from '@sizhong/kit';
import { isPlatformCurrency, platformCurrencies } from '../domain/ledger/account';

export const signatureToleranceMs = 5 * 60_000;
export const webhookBodyBytesMax = 16 * 1024;
const signatureHeaderPattern = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/;
const eventIdPattern = /^[A-Za-z0-9_-]{1,100}$/;
const participantIdPattern = /^[A-Za-z0-9_-]{1,64}$/;

export function signPayload(secret: Uint8Array, body: Buffer | string, unixSeconds: number): string {
  const hex = createHmac('sha256', secret).update(`${unixSeconds}.`).update(body).digest('hex');
  return `t=${unixSeconds},v1=${hex}`;
}

export function verifySignature(secret: Uint8Array, body: Buffer, header: string, now: Date): void {
  const match = signatureHeaderPattern.exec(header.trim());
  if (!match) throw new DomainError('SIGNATURE_INVALID', 'malformed signature header');
  const unixSeconds = Number(match[1]);
  if (Math.abs(now.getTime() - unixSeconds * 1_000) > signatureToleranceMs) {
    throw new DomainError('SIGNATURE_INVALID', 'signature timestamp outside the tolerance');
  }
  const expected = Buffer.from(signPayload(secret, body, unixSeconds).split('v1=')[1]!, 'hex');
  const given = Buffer.from(match[2]!, 'hex');
  if (!timingSafeEqual(expected, given)) throw new DomainError('SIGNATURE_INVALID', 'signature does not match');
}

export type ProviderEvent =
  | { readonly kind: 'deposit'; readonly id: string; readonly participantId: string; readonly amount: Money }
  | { readonly kind: 'other'; readonly id: string; readonly type: string };

/** Parses a verified body; the provider is trusted for content only after the signature check. */
/** The largest single deposit (10 billion in major units): with int64 balances, no wallet can be filled past its range by chance. */
export const depositAmountMinorMax = 1_000_000_000_000n;

export function parseProviderEvent(body: Buffer): ProviderEvent {
  if (body.length > webhookBodyBytesMax) throw new DomainError('PAYLOAD_TOO_LARGE', `webhook bodies are at most ${webhookBodyBytesMax} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new DomainError('INVALID_ARGUMENT', 'webhook body is not JSON');
  }
  const record = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const id = record['id'];
  const type = record['type'];
  if (typeof id !== 'string' || !eventIdPattern.test(id)) throw new DomainError('INVALID_ARGUMENT', 'webhook event id is missing or malformed');
  if (typeof type !== 'string') throw new DomainError('INVALID_ARGUMENT', 'webhook event type is missing');
  if (type !== 'deposit.succeeded') return { kind: 'other', id, type };
  const participantId = record['participantId'];
  const amount = record['amount'] as Record<string, unknown> | undefined;
  if (typeof participantId !== 'string' || !participantIdPattern.test(participantId)) throw new DomainError('INVALID_ARGUMENT', 'participantId is missing or malformed');
  if (!amount || typeof amount['currency'] !== 'string' || typeof amount['amountMinor'] !== 'string' || !isCurrencyCode(amount['currency'])) {
    throw new DomainError('INVALID_ARGUMENT', 'amount must be {currency, amountMinor}');
  }
  if (!isPlatformCurrency(amount['currency'])) throw new DomainError('CURRENCY_MISMATCH', `deposits are in ${platformCurrencies.join(' or ')}`, { field: 'amount.currency' });
  const money = parseMoney({ currency: amount['currency'], amountMinor: amount['amountMinor'] });
  if (money.amountMinor <= 0n) throw new DomainError('INVALID_ARGUMENT', 'a deposit is positive');
  if (money.amountMinor > depositAmountMinorMax) throw new DomainError('LIMIT_EXCEEDED', `a deposit is at most ${depositAmountMinorMax} minor units`, { field: 'amount.amountMinor', max: depositAmountMinorMax.toString() });
  return { kind: 'deposit', id, participantId, amount: money };
}
