/**
 * Access tokens: HS256 JWTs (jose) carrying the participant id (`sub`) and roles, issued for a
 * short time. Verification pins the algorithm, issuer, audience and type, and reads time from the
 * injected clock, so tests can let a token expire without waiting.
 */
import { randomBytes } from 'node:crypto';
import { type CallerIdentity, type Clock, DomainError, isParticipantRole, type ParticipantRole } from '@sizhong/kit';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';

export const accessTokenIssuer = 'sizhong-gateway';
export const accessTokenAudience = 'sizhong-api';
export const accessTokenType = 'at+jwt';
const algorithm = 'HS256';
/** Replicas' clocks may disagree a little; more than this is a stale token. */
export const accessTokenClockToleranceSeconds = 5;
/** HS256 wants a key at least as long as its hash (RFC 7518 §3.2). */
export const tokenSecretBytesMin = 32;
const participantIdPattern = /^[A-Za-z0-9_-]{1,64}$/;

export interface IssuedAccessToken {
  readonly accessToken: string;
  readonly tokenType: 'Bearer';
  /** Seconds, as in OAuth 2.0 (RFC 6749 §5.1). */
  readonly expiresIn: number;
}

export class AccessTokens {
  private readonly ttlSeconds: number;

  constructor(
    private readonly secret: Uint8Array,
    ttlMs: number,
    private readonly clock: Clock,
  ) {
    if (secret.length < tokenSecretBytesMin) throw new Error(`the token secret must be at least ${tokenSecretBytesMin} bytes`);
    this.ttlSeconds = Math.max(1, Math.floor(ttlMs / 1_000));
  }

  async issue(identity: CallerIdentity): Promise<IssuedAccessToken> {
    const issuedAt = Math.floor(this.clock.now().getTime() / 1_000);
    const accessToken = await new SignJWT({ roles: [...identity.roles] })
      .setProtectedHeader({ alg: algorithm, typ: accessTokenType })
      .setSubject(identity.participantId)
      .setIssuer(accessTokenIssuer)
      .setAudience(accessTokenAudience)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + this.ttlSeconds)
      .setJti(randomBytes(12).toString('base64url'))
      .sign(this.secret);
    return { accessToken, tokenType: 'Bearer', expiresIn: this.ttlSeconds };
  }

  /** The caller a token names, or UNAUTHENTICATED (expired, tampered, foreign or malformed). */
  async verify(token: string): Promise<CallerIdentity> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.secret, {
        algorithms: [algorithm],
        issuer: accessTokenIssuer,
        audience: accessTokenAudience,
        typ: accessTokenType,
        currentDate: this.clock.now(),
        clockTolerance: accessTokenClockToleranceSeconds,
        requiredClaims: ['sub', 'exp', 'iat'],
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new DomainError('UNAUTHENTICATED', 'the access token has expired');
      if (error instanceof joseErrors.JOSEError) throw new DomainError('UNAUTHENTICATED', 'the access token is not valid');
      throw error;
    }
    const { sub, roles } = payload;
    if (typeof sub !== 'string' || !participantIdPattern.test(sub) || !Array.isArray(roles)) {
      throw new DomainError('UNAUTHENTICATED', 'the access token is not valid');
    }
    return { participantId: sub, roles: roles.filter((role): role is ParticipantRole => typeof role === 'string' && isParticipantRole(role)) };
  }
}
