/** gRPC adapter of credit scores: decode, call one use case, encode. Any caller may read a score. */
import { DomainError, type ServiceHandlers } from '@sizhong/kit';
import { type commonV1, creditV1 } from '@sizhong/proto';
import type { CreditProfiles } from '../../app/credit-profiles';
import { type CreditRole, isCreditRole } from '../../domain/model';

export const pageSizeDefault = 20;
export const pageSizeMax = 100;
const participantIdPattern = /^[A-Za-z0-9_:.-]{1,128}$/;

export function pageSize(page: commonV1.PageRequest | undefined): number {
  const limit = page?.limit ?? 0;
  if (limit > pageSizeMax) throw new DomainError('LIMIT_EXCEEDED', `a page holds at most ${pageSizeMax} items`, { limitMax: pageSizeMax });
  return limit === 0 ? pageSizeDefault : limit;
}

/** An offset cursor: the count of items already returned. */
export function offsetCursor(page: commonV1.PageRequest | undefined): number {
  if (!page?.cursor) return 0;
  if (!/^\d{1,9}$/.test(page.cursor)) throw new DomainError('INVALID_ARGUMENT', 'malformed cursor', { field: 'cursor' });
  return Number(page.cursor);
}

export function participantIdIn(value: string): string {
  if (!participantIdPattern.test(value)) throw new DomainError('INVALID_ARGUMENT', 'participant_id must be 1–128 characters of [A-Za-z0-9_:.-]', { field: 'participant_id' });
  return value;
}

export function roleIn(value: string): CreditRole | '' {
  if (value === '' || isCreditRole(value)) return value;
  throw new DomainError('INVALID_ARGUMENT', 'role must be solver, enterprise, creator, backer, investor, issuer or empty', { field: 'role' });
}

export function creditServiceHandlers(profiles: CreditProfiles): ServiceHandlers<typeof creditV1.CreditServiceService> {
  return {
    getScore: async (request) => {
      const profile = await profiles.profile(participantIdIn(request.participantId), roleIn(request.role));
      return {
        participantId: profile.participantId,
        role: profile.role,
        score: profile.score,
        band: profile.band,
        modelVersion: profile.modelVersion,
        reasons: profile.reasons.map((reason) => ({ code: reason.code, descriptionZh: reason.descriptionZh, descriptionEn: reason.descriptionEn, impact: reason.impact })),
        updatedAt: profile.updatedAt,
        isNew: profile.isNew,
      };
    },
    getHistory: async (request) => {
      const limit = pageSize(request.page);
      const skip = offsetCursor(request.page);
      const changes = await profiles.changes(participantIdIn(request.participantId), roleIn(request.role), limit + 1, skip);
      const items = changes.slice(0, limit).map((change) => ({
        score: change.score,
        previousScore: change.previousScore,
        at: change.at,
        causeEventType: change.causeEventType,
        causeEventId: change.causeEventId,
        cause: change.cause,
      }));
      return { items, page: { nextCursor: changes.length > limit ? String(skip + limit) : '' } };
    },
  };
}
