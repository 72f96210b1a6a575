/**
 * Bearer authentication and role checks. 401 when the token is missing or bad (with an RFC 6750
 * `WWW-Authenticate` challenge), 403 when the caller's roles do not include one the route allows.
 */
import { type CallerIdentity, hasRole, isDomainError, type ParticipantRole } from '@sizhong/kit';
import type { Request } from 'express';
import type { AccessTokens } from '../identity/access-tokens';
import { bearerTokenLengthMax } from './limits';
import { HttpRefusal } from './problem';

const realm = 'sizhong';
const bearerPattern = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i;

export async function authenticateRequest(request: Request, tokens: AccessTokens): Promise<CallerIdentity> {
  const header = request.headers.authorization;
  if (header === undefined || header.trim() === '') {
    throw new HttpRefusal('UNAUTHENTICATED', 'this operation needs an access token (Authorization: Bearer <token>)', [], {
      'WWW-Authenticate': `Bearer realm="${realm}"`,
    });
  }
  const match = header.length <= bearerTokenLengthMax + 'Bearer '.length ? bearerPattern.exec(header.trim()) : null;
  const token = match?.[1];
  if (token === undefined) {
    throw new HttpRefusal('UNAUTHENTICATED', 'the Authorization header must be "Bearer <token>"', [], {
      'WWW-Authenticate': `Bearer realm="${realm}", error="invalid_request"`,
    });
  }
  try {
    return await tokens.verify(token);
  } catch (error) {
    if (!isDomainError(error)) throw error;
    throw new HttpRefusal('UNAUTHENTICATED', error.message, [], {
      'WWW-Authenticate': `Bearer realm="${realm}", error="invalid_token"`,
    });
  }
}

export function requireRole(identity: CallerIdentity, allowed: readonly ParticipantRole[]): void {
  if (!hasRole(identity, ...allowed)) {
    throw new HttpRefusal('PERMISSION_DENIED', `this operation is for: ${allowed.join(', ')}`);
  }
}
