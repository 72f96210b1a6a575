/**
 * Participants and their credentials, in the gateway's own database. One document per
 * participant; the unique index on `email` makes sign-up a single atomic insert, so two sign-ups
 * with one email can never both succeed.
 */
import { isDuplicateKeyError, type MongoConnection, type ParticipantRole } from '@sizhong/kit';
import type { Collection } from 'mongodb';
import type { PasswordHash } from './password-hashing';

export const participantsCollectionName = 'participants';

export type ParticipantOrigin = 'signup' | 'admin-command';

export interface ParticipantDocument {
  _id: string;
  email: string;
  displayName: string;
  roles: ParticipantRole[];
  passwordHash: PasswordHash;
  createdAt: Date;
  createdBy: ParticipantOrigin;
}

export interface Participant {
  readonly participantId: string;
  readonly email: string;
  readonly displayName: string;
  readonly roles: readonly ParticipantRole[];
  readonly createdAt: Date;
}

export type InsertOutcome = { readonly kind: 'created'; readonly participant: Participant } | { readonly kind: 'email_taken' };

export function toParticipant(document: ParticipantDocument): Participant {
  return {
    participantId: document._id,
    email: document.email,
    displayName: document.displayName,
    roles: document.roles,
    createdAt: document.createdAt,
  };
}

export class ParticipantStore {
  private readonly participants: Collection<ParticipantDocument>;

  constructor(mongo: MongoConnection) {
    this.participants = mongo.collection<ParticipantDocument>(participantsCollectionName);
  }

  async ensureIndexes(): Promise<void> {
    await this.participants.createIndex({ email: 1 }, { unique: true, name: 'email_unique' });
  }

  async insert(document: ParticipantDocument): Promise<InsertOutcome> {
    try {
      await this.participants.insertOne(document);
    } catch (error) {
      if (isDuplicateKeyError(error)) return { kind: 'email_taken' };
      throw error;
    }
    return { kind: 'created', participant: toParticipant(document) };
  }

  async findById(participantId: string): Promise<Participant | undefined> {
    const document = await this.participants.findOne({ _id: participantId });
    return document ? toParticipant(document) : undefined;
  }

  /** The participant with its password hash, for signing in. `email` is already normalized. */
  async findCredentialsByEmail(email: string): Promise<ParticipantDocument | undefined> {
    return (await this.participants.findOne({ email })) ?? undefined;
  }

  /** Only the participant's own sign-in rewrites its hash, so this write races with nobody that matters. */
  async replacePasswordHash(participantId: string, passwordHash: PasswordHash): Promise<void> {
    await this.participants.updateOne({ _id: participantId }, { $set: { passwordHash } });
  }

  /** A page in id order, after the id `after` when given. */
  async list(options: { limit: number; after?: string | undefined }): Promise<Participant[]> {
    const documents = await this.participants
      .find(options.after === undefined ? {} : { _id: { $gt: options.after } })
      .sort({ _id: 1 })
      .limit(options.limit)
      .toArray();
    return documents.map(toParticipant);
  }
}
