// Proves ids derived from idempotency keys are stable, scoped, and collision-resistant to joins.
import fc from 'fast-check';
import { canonicalJson, deterministicId, randomId, requestFingerprint } from './ids';

describe('deterministicId', () => {
  it('gives the same id for the same scope and key, different ids otherwise', () => {
    expect(deterministicId('pl', 'pledge', 'p1', 'key-1')).toBe(deterministicId('pl', 'pledge', 'p1', 'key-1'));
    expect(deterministicId('pl', 'pledge', 'p1', 'key-1')).not.toBe(deterministicId('pl', 'pledge', 'p2', 'key-1'));
    expect(deterministicId('pl', 'pledge', 'ab', 'c')).not.toBe(deterministicId('pl', 'pledge', 'a', 'bc'));
    expect(deterministicId('pl', 'pledge', 'x')).toMatch(/^pl_[0-9a-f]{32}$/);
  });

  it('never collides for distinct key pairs', () => {
    fc.assert(
      fc.property(fc.tuple(fc.string(), fc.string()), fc.tuple(fc.string(), fc.string()), ([a, b], [c, d]) => {
        fc.pre(a !== c || b !== d);
        expect(deterministicId('t', 's', a, b)).not.toBe(deterministicId('t', 's', c, d));
      }),
    );
  });

  it('refuses malformed prefixes', () => {
    expect(() => deterministicId('Bad-Prefix', 's')).toThrow();
    expect(randomId('tx')).toMatch(/^tx_[0-9a-f]{32}$/);
  });
});

describe('requestFingerprint', () => {
  it('ignores key order and undefined fields, and sees every value', () => {
    expect(requestFingerprint({ a: 1, b: { c: 2n, d: [1, 2] } })).toBe(requestFingerprint({ b: { d: [1, 2], c: 2n }, a: 1, e: undefined }));
    expect(requestFingerprint({ a: 1 })).not.toBe(requestFingerprint({ a: 2 }));
    expect(canonicalJson({ b: 1n, a: new Date('2026-01-01T00:00:00Z') })).toBe('{"a":"2026-01-01T00:00:00.000Z","b":"1"}');
  });
});
