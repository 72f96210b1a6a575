/** What travels in gRPC metadata besides the message: caller identity, trace context, error codes. */
import { Metadata } from '@grpc/grpc-js';
import { type CallerIdentity, isParticipantRole } from '../identity';

export const metadataKeys = {
  participantId: 'sizhong-participant-id',
  roles: 'sizhong-roles',
  errorCode: 'sizhong-error-code',
  errorDetails: 'sizhong-error-details',
} as const;

/** Participant ids are opaque but bounded: anything else in metadata is a forged or broken call. */
const participantIdPattern = /^[A-Za-z0-9_-]{1,64}$/;

export function writeIdentity(metadata: Metadata, identity: CallerIdentity): Metadata {
  metadata.set(metadataKeys.participantId, identity.participantId);
  metadata.set(metadataKeys.roles, identity.roles.join(','));
  return metadata;
}

export function readIdentity(metadata: Metadata): CallerIdentity | undefined {
  const [participantId] = metadata.get(metadataKeys.participantId);
  if (typeof participantId !== 'string' || !participantIdPattern.test(participantId)) return undefined;
  const [rolesText] = metadata.get(metadataKeys.roles);
  const roles = typeof rolesText === 'string' ? rolesText.split(',').filter(isParticipantRole) : [];
  return { participantId, roles };
}

export function metadataToHeaders(metadata: Metadata): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [key, values] of Object.entries(metadata.getMap())) {
    if (typeof values === 'string') headers[key] = values;
  }
  return headers;
}
