/** Identity field rules, shared by the HTTP routes and the admin command. */
import { displayNameLengthMax, emailLengthMax, passwordLengthMax, passwordLengthMin } from '../http/limits';
import { z } from '../openapi/zod';

/** Emails are bounded as sent, then trimmed and lower-cased, then checked. */
export const emailSchema = z
  .string()
  .max(emailLengthMax)
  .trim()
  .toLowerCase()
  .pipe(z.email())
  .describe(`an email address, at most ${emailLengthMax} characters; compared case-insensitively`);

export const newPasswordSchema = z
  .string()
  .min(passwordLengthMin)
  .max(passwordLengthMax)
  .describe(`${passwordLengthMin} to ${passwordLengthMax} characters`);

export const displayNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(displayNameLengthMax)
  .describe(`shown to other participants, 1 to ${displayNameLengthMax} characters`);
