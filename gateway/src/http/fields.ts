/**
 * Field schemas whose OpenAPI form says exactly what their zod check accepts, so that a client
 * (or a fuzzer) generating from /openapi.json never sends a "valid" value the gateway refuses.
 *
 * The traps they avoid:
 * - zod's `.min()`/`.max()` count UTF-16 code units, JSON Schema's `minLength`/`maxLength` count
 *   code points (an emoji is 2 units and 1 point): text lengths here count code points.
 * - `\d`, `\s` and `\w` differ between JavaScript and other regex engines (Python's match any
 *   Unicode digit or space): documented patterns use explicit classes only, and no flags.
 * - `z.coerce.number()` accepts `""`, `" 1"` and `"1e1"` and is documented as a nullable,
 *   optional number: integer parameters here take decimal digits only and are documented as integers.
 * - "at most N" for decimal strings cannot be a `maximum` (the value is a string): the pattern
 *   itself encodes the bound (`decimalRangePattern`).
 *
 * Values past an upper bound are refused with zod's `too_big` issue, which the validation layer
 * reports as LIMIT_EXCEEDED; anything else malformed (too short included) is INVALID_ARGUMENT.
 */
import { z } from '../openapi/zod';

/**
 * The characters `String.prototype.trim` removes (ECMAScript WhiteSpace and LineTerminator), as
 * a regex class body valid in JavaScript and in other engines alike.
 */
export const whitespaceClass = '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';
/** Matches text holding at least one character that trimming keeps. */
export const notBlankPattern = `[^${whitespaceClass}]`;

export function codePointLength(text: string): number {
  let length = 0;
  for (const _ of text) length += 1;
  return length;
}

export interface TextFieldOptions {
  /** Code points, as sent (surrounding whitespace counts). */
  readonly lengthMax: number;
  readonly lengthMin?: number;
  /** Refuse text that is whitespace only, and hand the handler the text trimmed. */
  readonly trimmed?: boolean;
}

/** Free text bounded in code points; with `trimmed`, it must hold a non-whitespace character and is trimmed. */
export function textField(options: TextFieldOptions) {
  const trimmed = options.trimmed ?? false;
  const lengthMax = options.lengthMax;
  const lengthMin = options.lengthMin ?? (trimmed ? 1 : 0);
  const notBlank = new RegExp(notBlankPattern);
  // One issue per field at most: the first rule broken, in the order a client would fix them.
  const checked = z.string().superRefine((text, context) => {
    const length = codePointLength(text);
    if (length > lengthMax) {
      context.addIssue({ code: 'too_big', origin: 'string', maximum: lengthMax, inclusive: true, input: text, message: `at most ${lengthMax} characters` });
    } else if (length < lengthMin) {
      context.addIssue({ code: 'too_small', origin: 'string', minimum: lengthMin, inclusive: true, input: text, message: `at least ${lengthMin} characters` });
    } else if (trimmed && !notBlank.test(text)) {
      context.addIssue({ code: 'invalid_format', format: 'regex', pattern: notBlankPattern, input: text, message: 'must hold a character other than whitespace' });
    }
  });
  if (!trimmed) return checked.openapi({ minLength: lengthMin, maxLength: lengthMax });
  return checked.transform((text) => text.trim()).openapi({ type: 'string', minLength: lengthMin, maxLength: lengthMax, pattern: notBlankPattern });
}

const decimalIntegerPattern = /^-?[0-9]{1,16}$/;

/** A path or query integer: decimal digits (an optional minus sign), within [minimum, maximum]. */
export function integerParameter({ minimum, maximum }: { minimum: number; maximum: number }) {
  return z
    .string()
    .regex(decimalIntegerPattern, 'an integer in decimal digits')
    .transform(Number)
    .pipe(z.number().int().min(minimum).max(maximum))
    .openapi({ type: 'integer', minimum, maximum });
}

/**
 * A regex source matching the decimal integers from 1 to `maximum` with no leading zeros, e.g.
 * `decimalRangePattern(250n)` matches 1…250 and nothing else. JSON Schema cannot bound a decimal
 * string's value otherwise.
 */
export function decimalRangePattern(maximum: bigint): string {
  if (maximum < 1n) throw new Error(`decimalRangePattern needs a positive maximum, got ${maximum}`);
  const digits = maximum.toString();
  const alternatives: string[] = [];
  // Fewer digits than the maximum: any such number.
  if (digits.length > 1) alternatives.push(digits.length === 2 ? '[1-9]' : `[1-9][0-9]{0,${digits.length - 2}}`);
  // As many digits: a prefix of the maximum, one smaller digit, then anything.
  for (let position = 0; position < digits.length; position += 1) {
    const digit = Number(digits[position]);
    const lowest = position === 0 ? 1 : 0;
    if (digit - 1 < lowest) continue;
    const rest = digits.length - position - 1;
    const smaller = digit - 1 === lowest ? String(lowest) : `[${lowest}-${digit - 1}]`;
    alternatives.push(`${digits.slice(0, position)}${smaller}${rest === 0 ? '' : rest === 1 ? '[0-9]' : `[0-9]{${rest}}`}`);
  }
  alternatives.push(digits);
  return `^(?:${alternatives.join('|')})$`;
}

/**
 * A positive decimal integer string up to `maximum`: past it (or longer than it) is LIMIT_EXCEEDED,
 * anything but digits is INVALID_ARGUMENT. Documented with the exact pattern.
 */
export function positiveDecimalField(maximum: bigint, description: string) {
  const pattern = decimalRangePattern(maximum);
  const digitsOnly = /^[1-9][0-9]*$/;
  return z
    .string()
    .superRefine((text, context) => {
      if (!digitsOnly.test(text)) {
        context.addIssue({ code: 'invalid_format', format: 'regex', pattern: pattern, input: text, message: 'a positive integer as a decimal string, e.g. "10050"' });
      } else if (BigInt(text) > maximum) {
        context.addIssue({ code: 'too_big', origin: 'bigint', maximum, inclusive: true, input: text, message: `at most ${maximum}` });
      }
    })
    .openapi({ pattern })
    .describe(description);
}

/**
 * RFC 3339 with upper-case `T`, seconds and a `Z` or `±hh:mm` offset, a real calendar day (leap
 * years included) and no leap second: zod's `iso.datetime({offset: true})` rule, spelled with
 * `[0-9]` so that every engine reads it alike.
 */
export const instantPattern =
  '^(?:(?:[0-9][0-9][2468][048]|[0-9][0-9][13579][26]|[0-9][0-9]0[48]|[02468][048]00|[13579][26]00)-02-29|[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8])))' +
  'T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]+)?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$';

export const instantField = z
  .string()
  .regex(new RegExp(instantPattern), 'an RFC 3339 time such as 2026-07-01T12:00:00Z')
  .openapi({ format: 'date-time' })
  .describe('RFC 3339 time with `Z` or an offset (answers use UTC)');
