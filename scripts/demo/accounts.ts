/**
 * The demo's participants: self-service roles sign up through the API; the regulator and the
 * arbiter, which sign-up refuses, are created the way `npm run admin -- create-participant` creates
 * them (the gateway's own Participants on the gateway's MongoDB: MONGO_URL and GATEWAY_DATABASE when
 * set, else the platform `npm start` runs from this clone). Every run has its own emails (a run id),
 * so the demo can run again on the same platform; every account has the one demo password.
 */
import { connectMongo, type LocalPlatform, type MongoConnection, type ParticipantRole, systemClock } from '@sizhong/kit';
import { loadGatewayConfig } from '../../gateway/src/config';
import { type Participant, ParticipantStore } from '../../gateway/src/identity/participant-store';
import { Participants } from '../../gateway/src/identity/participants';
import { type DemoClient } from './client';

/** The one password of every demo account (printed at the end, so you can sign in to the console). */
export const demoPassword = 'sizhong-demo-2026';
/** Demo emails: `<label>.<run id>@<domain>`. */
export const demoEmailDomain = 'demo.sizhong.example.org';

export interface Account {
  readonly label: string;
  readonly email: string;
  readonly displayName: string;
  readonly roles: readonly ParticipantRole[];
  readonly participantId: string;
  readonly token: string;
}

export function demoEmail(label: string, runId: string): string {
  return `${label}.${runId}@${demoEmailDomain}`;
}

/** Whether an email is a demo account's (of any run), so its password is the demo password. */
export function isDemoEmail(email: string): boolean {
  return email.endsWith(`@${demoEmailDomain}`);
}

export async function signIn(client: DemoClient, email: string): Promise<string> {
  const token = await client.post(`sign in ${email}`, '/v1/auth/token', { body: { email, password: demoPassword } });
  return token.accessToken as string;
}

export async function signUp(client: DemoClient, runId: string, label: string, displayName: string, roles: readonly ParticipantRole[]): Promise<Account> {
  const email = demoEmail(label, runId);
  const created = await client.post(`sign up ${email}`, '/v1/auth/signup', { body: { email, password: demoPassword, displayName, roles } });
  return { label, email, displayName, roles, participantId: created.participantId as string, token: await signIn(client, email) };
}

/** Where the gateway keeps its participants: the configured MongoDB, else the local platform's. */
export function gatewayDatabase(platform: LocalPlatform | undefined, environment: NodeJS.ProcessEnv = process.env): { mongoUrl: string; name: string } | undefined {
  const config = loadGatewayConfig(environment);
  if (config.MONGO_URL !== undefined) return { mongoUrl: config.MONGO_URL, name: config.GATEWAY_DATABASE };
  if (platform === undefined) return undefined;
  const name = environment['GATEWAY_DATABASE']?.trim() ? config.GATEWAY_DATABASE : (platform.gatewayDatabase ?? config.GATEWAY_DATABASE);
  return { mongoUrl: platform.mongoUrl, name };
}

/** The admin command's way in: Participants on the gateway's database, for roles sign-up refuses. */
export class AdminAccounts {
  private constructor(
    private readonly mongo: MongoConnection,
    private readonly store: ParticipantStore,
  ) {}

  static async connect(database: { mongoUrl: string; name: string }): Promise<AdminAccounts> {
    const mongo = await connectMongo(database.mongoUrl, database.name);
    const store = new ParticipantStore(mongo);
    await store.ensureIndexes();
    return new AdminAccounts(mongo, store);
  }

  async create(client: DemoClient, runId: string, label: string, displayName: string, roles: readonly ParticipantRole[]): Promise<Account> {
    const email = demoEmail(label, runId);
    const participant = await new Participants(this.store, systemClock).register({ roles, email, password: demoPassword, displayName, createdBy: 'admin-command' });
    return { label, email, displayName, roles, participantId: participant.participantId, token: await signIn(client, email) };
  }

  /** A participant by id (to learn whether an inspector is a demo account of an earlier run). */
  find(participantId: string): Promise<Participant | undefined> {
    return this.store.findById(participantId);
  }

  close(): Promise<void> {
    return this.mongo.close();
  }
}
