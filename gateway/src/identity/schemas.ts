/**
 * Identity field rules, shared by the HTTP routes and the admin command. Each documents exactly
 * what it accepts (http/fields.ts): lengths in code points, patterns every regex engine reads alike.
 */
import { textField, whitespaceClass } from '../http/fields';
import { displayNameLengthMax, emailLengthMax, passwordLengthMax, passwordLengthMin } from '../http/limits';
import { z } from '../openapi/zod';

/**
 * `local@domain.tld`: dot-separated runs of letters, digits and `_'+-` before the `@`, then
 * dot-separated labels and a top-level domain of letters. Surrounding whitespace is allowed and
 * trimmed (form input); the address is compared in lower case.
 */
export const emailPattern = `^[${whitespaceClass}]*[A-Za-z0-9_'+-]+(?:\\.[A-Za-z0-9_'+-]+)*@(?:[A-Za-z0-9][A-Za-z0-9-]*\\.)+[A-Za-z]{2,}[${whitespaceClass}]*$`;

export const emailSchema = z
  .string()
  .max(emailLengthMax)
  .regex(new RegExp(emailPattern), 'an email address such as ann@example.org')
  .transform((email) => email.trim().toLowerCase())
  .openapi({ type: 'string', maxLength: emailLengthMax, pattern: emailPattern })
  .describe(`an email address, at most ${emailLengthMax} characters; compared case-insensitively`);

export const newPasswordSchema = textField({ lengthMin: passwordLengthMin, lengthMax: passwordLengthMax }).describe(
  `${passwordLengthMin} to ${passwordLengthMax} characters`,
);

export const displayNameSchema = textField({ lengthMax: displayNameLengthMax, trimmed: true }).describe(
  `shown to other participants: 1 to ${displayNameLengthMax} characters, not only whitespace (trimmed)`,
);
