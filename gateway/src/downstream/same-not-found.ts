/**
 * Services word "no such id" and "not yours" differently (one names the id in the message, the
 * other adds it as a detail). The contract promises one 404 for both, so that an answer never tells a
 * stranger that someone else's object exists: the gateway answers both with the same problem.
 * The status still comes from the one error table; only the wording is made uniform.
 */
import { DomainError, isDomainError } from '@sizhong/kit';

export async function sameNotFound<Result>(call: Promise<Result>, detail: string): Promise<Result> {
  try {
    return await call;
  } catch (error) {
    if (isDomainError(error) && error.code === 'NOT_FOUND') throw new DomainError('NOT_FOUND', detail);
    throw error;
  }
}
