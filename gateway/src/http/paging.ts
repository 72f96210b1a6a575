/**
 * List paging: `?limit=` (1…pageSizeMax, default pageSizeDefault) and an opaque `?cursor=`;
 * answers are `{items, nextCursor}`. A limit past the maximum is refused (400 LIMIT_EXCEEDED)
 * rather than clamped, so a client never silently gets fewer items than it asked for.
 */
import { z } from '../openapi/zod';
import { cursorLengthMax, pageSizeDefault, pageSizeMax } from './limits';
import { HttpRefusal } from './problem';

export const pageQuerySchema = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(pageSizeMax)
    .default(pageSizeDefault)
    .describe(`items per page, 1 to ${pageSizeMax} (default ${pageSizeDefault})`),
  cursor: z.string().min(1).max(cursorLengthMax).optional().describe('`nextCursor` of the previous page'),
});

export function pageSchema<Item extends z.ZodType>(item: Item) {
  return z.object({
    items: z.array(item),
    nextCursor: z.string().nullable().describe('pass as `cursor` for the next page; null on the last page'),
  });
}

/** Cursors are the last item's sort key, base64url-encoded: opaque to clients, cheap for us. */
export function encodeCursor(sortKey: string): string {
  return Buffer.from(sortKey, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined, sortKeyPattern: RegExp): string | undefined {
  if (cursor === undefined) return undefined;
  const sortKey = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!sortKeyPattern.test(sortKey)) {
    throw new HttpRefusal('INVALID_ARGUMENT', 'the cursor is not one this list gave out', [{ path: 'query.cursor', message: 'unknown cursor' }]);
  }
  return sortKey;
}
