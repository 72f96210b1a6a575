// Proves the platform's one rule for idempotency keys: any visible ASCII up to 255 at the edge, handed to the services as it is or hashed.
import { checkServiceIdempotencyKey, idempotencyKeyLengthMax, idempotencyKeyPattern, serviceIdempotencyKey, serviceIdempotencyKeyPattern } from './idempotency-key';

describe('idempotency keys', () => {
  it('takes visible ASCII at the edge and nothing else', () => {
    expect(idempotencyKeyLengthMax).toBe(255);
    for (const key of ['a', 'alice@example.com', 'orders/42/pay#1?x=~', '550e8400-e29b-41d4-a716-446655440000']) expect(idempotencyKeyPattern.test(key)).toBe(true);
    for (const key of ['', 'with space', 'tab\there', 'clé', 'new\nline']) expect(idempotencyKeyPattern.test(key)).toBe(false);
  });

  it('hands a service-safe key on as it is, any other hashed: stable, distinct and always safe', () => {
    expect(serviceIdempotencyKey('order-42:pay.1')).toBe('order-42:pay.1');
    const email = serviceIdempotencyKey('alice@example.com');
    expect(email).toMatch(/^ik_[0-9a-f]{64}$/);
    expect(serviceIdempotencyKey('alice@example.com')).toBe(email);
    expect(serviceIdempotencyKey('alice@example.org')).not.toBe(email);
    const long = serviceIdempotencyKey('k'.repeat(129));
    expect(long).toMatch(/^ik_/);
    expect(serviceIdempotencyKey('k'.repeat(128))).toBe('k'.repeat(128));
    for (const key of [email, long]) expect(serviceIdempotencyKeyPattern.test(key)).toBe(true);
    expect(checkServiceIdempotencyKey(email)).toBe(email);
    expect(() => checkServiceIdempotencyKey('alice@example.com')).toThrow(expect.objectContaining({ code: 'IDEMPOTENCY_KEY_REQUIRED' }));
  });
});
