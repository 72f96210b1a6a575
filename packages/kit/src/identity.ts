/** Participants and roles: who may call, and what a service learns about the caller. */
export const participantRoles = ['enterprise', 'solver', 'creator', 'backer', 'investor', 'issuer', 'regulator', 'arbiter', 'admin'] as const;
export type ParticipantRole = (typeof participantRoles)[number];

/** Roles anyone may take at sign-up; the others are granted by an admin command only. */
export const selfServiceRoles = ['enterprise', 'solver', 'creator', 'backer', 'investor', 'issuer'] as const satisfies readonly ParticipantRole[];
export type SelfServiceRole = (typeof selfServiceRoles)[number];

export interface CallerIdentity {
  readonly participantId: string;
  readonly roles: readonly ParticipantRole[];
}

export function isParticipantRole(value: string): value is ParticipantRole {
  return (participantRoles as readonly string[]).includes(value);
}

export function hasRole(identity: CallerIdentity | undefined, ...roles: ParticipantRole[]): boolean {
  return identity !== undefined && identity.roles.some((role) => roles.includes(role));
}
