/**
 * List paging: `?limit=` (1…pageSizeMax, default pageSizeDefault) and `?cursor=`; answers are
 * `{items, nextCursor}`. A limit past the maximum is refused (400 LIMIT_EXCEEDED) rather than
 * clamped, so a client never silently gets fewer items than it asked for.
 *
 * A cursor is a position in the list's order: the last item's id (or journal sequence) of the
 * page before. Each list documents the exact form of its positions, and any well-formed one is a
 * valid place to start, whether or not the list ever gave it out (a page after an id that does not
 * exist starts at the next one that does). So a cursor the document allows is never refused.
 */
import { integerParameter } from './fields';
import { pageSizeDefault, pageSizeMax } from './limits';
import { z } from '../openapi/zod';

export const pageLimitSchema = integerParameter({ minimum: 1, maximum: pageSizeMax })
  .optional()
  .transform((limit) => limit ?? pageSizeDefault)
  .openapi({ type: 'integer', minimum: 1, maximum: pageSizeMax, default: pageSizeDefault })
  .describe(`items per page, 1 to ${pageSizeMax} (default ${pageSizeDefault})`);

/** `?limit=&cursor=` where a cursor is what `position` accepts. */
export function pageQuerySchema(position: z.ZodType<string, string>) {
  return z.object({
    limit: pageLimitSchema,
    cursor: position.optional().describe('`nextCursor` of the previous page: the page starts after this position'),
  });
}

export function pageSchema<Item extends z.ZodType>(item: Item) {
  return z.object({
    items: z.array(item),
    nextCursor: z.string().nullable().describe('pass as `cursor` for the next page; null on the last page'),
  });
}
