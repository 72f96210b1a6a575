// Proves the sandbox provider's decimal → minor units conversion (scripts/psp.ts) exact for every amount, by string arithmetic, refusing extra decimals, zero, signs and floats' notations.
import fc from 'fast-check';
import { depositEventBody, minorDigitsByCurrency, parseDepositCommand, toMinorUnits, UsageError } from '../../scripts/psp';

describe('toMinorUnits', () => {
  it('reads whole units and up to the currency’s decimals exactly', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 16n }),
        fc.integer({ min: 0, max: 99 }),
        fc.integer({ min: 0, max: 2 }),
        fc.constantFrom(...(Object.keys(minorDigitsByCurrency) as Array<keyof typeof minorDigitsByCurrency>)),
        (whole, cents, decimals, currency) => {
          fc.pre(whole > 0n || cents > 0);
          const fraction = String(cents).padStart(2, '0').slice(0, decimals);
          const text = decimals === 0 ? String(whole) : `${whole}.${fraction}`;
          const expected = whole * 100n + BigInt(fraction.padEnd(2, '0') || '0');
          fc.pre(expected > 0n);
          expect(toMinorUnits(text, currency)).toBe(expected);
        },
      ),
    );
  });

  it('keeps leading zeros and trailing zeros from changing the value', () => {
    expect(toMinorUnits('007.50', 'CNY')).toBe(750n);
    expect(toMinorUnits('0.01', 'USD')).toBe(1n);
    expect(toMinorUnits('92233720368547758.07', 'CNY')).toBe(2n ** 63n - 1n);
  });

  it('refuses what is not a positive decimal of at most the currency’s decimals', () => {
    for (const text of ['1.001', '0', '0.00', '-1', '+1', '1.', '.5', '1e3', '1,5', ' 1', '0x10', '', '92233720368547758.08', '9'.repeat(41)]) {
      expect(() => toMinorUnits(text, 'CNY')).toThrow(UsageError);
    }
  });
});

describe('parseDepositCommand', () => {
  it('builds the webhook body the provider signs', () => {
    const command = parseDepositCommand(['deposit', '--participant', 'pt_abc', '--amount', '100.00', '--currency', 'cny'], () => 'evt_fixed');
    expect(command).toEqual({ participantId: 'pt_abc', currency: 'CNY', amountMinor: 10_000n, gatewayUrl: 'http://127.0.0.1:8080', eventId: 'evt_fixed', replay: false });
    expect(depositEventBody(command)).toBe('{"id":"evt_fixed","type":"deposit.succeeded","participantId":"pt_abc","amount":{"currency":"CNY","amountMinor":"10000"}}');
  });
});
