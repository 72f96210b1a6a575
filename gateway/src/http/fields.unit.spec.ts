// Proves the field schemas accept exactly what their documented JSON Schema allows: the pattern or bounds written into /openapi.json and the zod check agree on every value tried (property-based), lengths count code points, and integers are digits only.
import fc from 'fast-check';
import { codePointLength, decimalRangePattern, instantField, instantPattern, integerParameter, notBlankPattern, positiveDecimalField, textField, whitespaceClass } from './fields';
import { emailPattern, emailSchema } from '../identity/schemas';

describe('decimalRangePattern', () => {
  it('matches exactly the integers 1…maximum written without leading zeros', () => {
    for (const maximum of [1n, 9n, 10n, 19n, 20n, 99n, 100n, 101n, 250n, 1000n, 1_000_000_000_000n, 9_223_372_036_854_775_807n]) {
      const pattern = new RegExp(decimalRangePattern(maximum));
      const probes = [0n, 1n, 2n, 9n, 10n, 11n, maximum - 1n, maximum, maximum + 1n, maximum * 10n, maximum / 2n].filter((value) => value >= 0n);
      for (const value of probes) expect({ maximum, value, matches: pattern.test(value.toString()) }).toEqual({ maximum, value, matches: value >= 1n && value <= maximum });
      expect(pattern.test(`0${maximum}`)).toBe(false);
      expect(pattern.test(`-${maximum}`)).toBe(false);
    }
  });

  it('agrees with the numeric comparison on random values (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 64n }), (maximum, value) => {
        expect(new RegExp(decimalRangePattern(maximum)).test(value.toString())).toBe(value >= 1n && value <= maximum);
      }),
    );
  });
});

describe('positiveDecimalField', () => {
  const field = positiveDecimalField(1_000_000_000_000n, 'an amount');
  const pattern = new RegExp(decimalRangePattern(1_000_000_000_000n));

  it('accepts what the documented pattern matches, and nothing else (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.bigInt({ min: -5n, max: 10n ** 14n }).map(String), fc.string(), fc.stringMatching(/^[0-9]{1,15}$/)), (text) => {
        expect(field.safeParse(text).success).toBe(pattern.test(text));
      }),
    );
  });

  it('calls a well-formed amount past the bound too big (LIMIT_EXCEEDED), anything else malformed', () => {
    expect(field.safeParse('1000000000001').error?.issues[0]?.code).toBe('too_big');
    expect(field.safeParse('12a').error?.issues[0]?.code).toBe('invalid_format');
    expect(field.safeParse('0').error?.issues[0]?.code).toBe('invalid_format');
  });
});

describe('textField', () => {
  it('counts code points, as JSON Schema maxLength does', () => {
    const field = textField({ lengthMax: 3 });
    expect(field.safeParse('🫖🫖🫖').success).toBe(true);
    expect(field.safeParse('🫖🫖🫖🫖').error?.issues[0]?.code).toBe('too_big');
    expect(codePointLength('a🫖b')).toBe(3);
  });

  it('with trimmed, refuses text that is whitespace only and hands it on trimmed', () => {
    const field = textField({ lengthMax: 10, trimmed: true });
    expect(field.safeParse('  Ada  ').data).toBe('Ada');
    for (const blank of ['', ' ', '\u3000\t\n', '\ufeff\u00a0']) expect(field.safeParse(blank).success).toBe(false);
    expect(field.safeParse(' \u200bx').success).toBe(true);
  });

  it('refuses exactly the texts the documented pattern and bounds refuse (property)', () => {
    const field = textField({ lengthMax: 8, trimmed: true });
    const documented = (text: string) => codePointLength(text) >= 1 && codePointLength(text) <= 8 && new RegExp(notBlankPattern).test(text);
    const whitespace = [...'\t\n\v\f\r \u00a0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000\ufeff'];
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: fc.constantFrom(...whitespace, 'a', '🫖') })), (text) => {
        expect(field.safeParse(text).success).toBe(documented(text));
      }),
    );
  });

  it('names the same whitespace as String.prototype.trim', () => {
    const whitespace = new RegExp(`^[${whitespaceClass}]$`);
    for (let code = 0; code <= 0xffff; code += 1) {
      const character = String.fromCharCode(code);
      expect({ code, isWhitespace: whitespace.test(character) }).toEqual({ code, isWhitespace: character.trim() === '' });
    }
  });
});

describe('integerParameter', () => {
  const field = integerParameter({ minimum: 0, maximum: 9 });

  it('takes decimal digits only', () => {
    expect(field.safeParse('7').data).toBe(7);
    for (const text of ['', ' 7', '7.0', '1e0', '0x7', 'null', '+7']) expect({ text, ok: field.safeParse(text).success }).toEqual({ text, ok: false });
    expect(field.safeParse('10').error?.issues[0]?.code).toBe('too_big');
  });
});

describe('instantField', () => {
  it('accepts the RFC 3339 times its pattern documents, with real calendar days', () => {
    for (const text of ['2026-02-28T00:00:00Z', '2024-02-29T23:59:59.123456+08:00', '0001-01-01T00:00:00-00:00']) expect(instantField.safeParse(text).success).toBe(true);
    for (const text of ['2026-02-29T00:00:00Z', '2026-01-01t00:00:00z', '2026-01-01T00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T00:00:00+0800']) {
      expect({ text, ok: instantField.safeParse(text).success }).toEqual({ text, ok: false });
    }
  });

  it('uses no class other engines read differently', () => {
    expect(instantPattern).not.toMatch(/\\[dswDSW]/);
    expect(emailPattern).not.toMatch(/\\[dswDSW]/);
  });
});

describe('emailSchema', () => {
  it('accepts addresses its pattern documents, trimmed and lower-cased', () => {
    expect(emailSchema.safeParse('  Ann.O\'Brien+x@Example.ORG ').data).toBe("ann.o'brien+x@example.org");
    for (const text of ['', 'ann', 'ann@', '@example.org', 'a..b@example.org', 'ann@example', 'ann@exa_mple.org', '.ann@example.org']) {
      expect({ text, ok: emailSchema.safeParse(text).success }).toEqual({ text, ok: false });
    }
  });
});
