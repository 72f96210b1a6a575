/**
 * A codec for domain states made of plain data (strings, numbers, booleans, bigint, Date, arrays,
 * nested objects): stored as they are (bigint as BSON Long, read back as bigint because
 * connections set `useBigInt64`), with `undefined` fields left out, since BSON has no undefined.
 */
import type { Document } from 'mongodb';
import type { AggregateCodec } from './aggregate-store';

function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (value instanceof Date || value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([, entry]) => entry !== undefined)
      .map(([key, entry]) => [key, withoutUndefined(entry)]),
  );
}

export function plainCodec<State>(): AggregateCodec<State> {
  return {
    toDocument: (state) => withoutUndefined(state) as Document,
    fromDocument: (document) => document as State,
  };
}
