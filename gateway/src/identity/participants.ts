/**
 * Identity use cases shared by the HTTP routes and the admin command: register a participant,
 * and check a password without telling whether the email exists.
 */
import { type CallerIdentity, type Clock, DomainError, type ParticipantRole, randomId } from '@sizhong/kit';
import { HashingGate } from './hashing-gate';
import { type Participant, type ParticipantOrigin, ParticipantStore } from './participant-store';
import { hashPassword, needsRehash, type PasswordHash, type ScryptParameters, scryptParametersDefault, verifyPassword } from './password-hashing';

export interface Registration {
  /** Normalized: trimmed and lower case. */
  readonly email: string;
  readonly password: string;
  readonly displayName: string;
  readonly roles: readonly ParticipantRole[];
  readonly createdBy: ParticipantOrigin;
}

/** The one message for an unknown email and a wrong password: no user enumeration. */
export const signInRefusedMessage = 'the email or the password is wrong';

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export class Participants {
  /** A hash to check passwords against when the email is unknown, so both cases take as long. */
  private decoyHash: Promise<PasswordHash> | undefined;

  constructor(
    readonly store: ParticipantStore,
    private readonly clock: Clock,
    private readonly hashing: ScryptParameters = scryptParametersDefault,
    /** Bounds the hashes running and waiting (hashing-gate.ts); past it, 503 with Retry-After. */
    private readonly gate: HashingGate = new HashingGate(),
  ) {}

  /** Creates the participant, or refuses with ALREADY_EXISTS when the email is taken. */
  async register(registration: Registration): Promise<Participant> {
    const passwordHash = await this.gate.run(() => hashPassword(registration.password, this.hashing));
    const outcome = await this.store.insert({
      _id: randomId('pt'),
      email: normalizeEmail(registration.email),
      displayName: registration.displayName,
      roles: [...new Set(registration.roles)],
      passwordHash,
      createdAt: this.clock.now(),
      createdBy: registration.createdBy,
    });
    if (outcome.kind === 'email_taken') throw new DomainError('ALREADY_EXISTS', 'a participant with this email already exists');
    return outcome.participant;
  }

  /** The caller a correct email and password name; UNAUTHENTICATED otherwise, in the same time. */
  async authenticate(email: string, password: string): Promise<CallerIdentity> {
    const credentials = await this.store.findCredentialsByEmail(normalizeEmail(email));
    if (!credentials) {
      const decoy = await this.decoy();
      await this.gate.run(() => verifyPassword(password, decoy));
      throw new DomainError('UNAUTHENTICATED', signInRefusedMessage);
    }
    if (!(await this.gate.run(() => verifyPassword(password, credentials.passwordHash)))) {
      throw new DomainError('UNAUTHENTICATED', signInRefusedMessage);
    }
    if (needsRehash(credentials.passwordHash, this.hashing)) {
      await this.store.replacePasswordHash(credentials._id, await this.gate.run(() => hashPassword(password, this.hashing)));
    }
    return { participantId: credentials._id, roles: credentials.roles };
  }

  /** Warms the decoy hash so the first unknown-email sign-in is not faster than the rest. */
  async prepare(): Promise<void> {
    await this.decoy();
  }

  private decoy(): Promise<PasswordHash> {
    this.decoyHash ??= hashPassword(randomId('decoy'), this.hashing);
    return this.decoyHash;
  }
}
