/**
 * Identity routes (docs/gateway.md, /openapi.json): sign-up, token, the caller's own participant, and the
 * admin's view of participants.
 */
import { DomainError, participantRoles, selfServiceRoles } from '@sizhong/kit';
import { textField } from '../http/fields';
import { passwordLengthMax, pathIdLengthMax, rolesPerParticipantMax } from '../http/limits';
import { pageQuerySchema, pageSchema } from '../http/paging';
import type { RouteRegistrar } from '../openapi/route';
import { z } from '../openapi/zod';
import type { AccessTokens } from './access-tokens';
import type { Participant } from './participant-store';
import { passwordHashQueueMax } from './hashing-gate';
import type { Participants } from './participants';
import { displayNameSchema, emailSchema, newPasswordSchema } from './schemas';

/** Participant ids as `Participants.register` makes them; they sort in creation-independent id order. */
const participantIdPattern = /^pt_[0-9a-f]{32}$/;

const participantIdSchema = textField({ lengthMin: 1, lengthMax: pathIdLengthMax }).describe('opaque participant id');

const participantListQuerySchema = pageQuerySchema(z.string().regex(participantIdPattern, 'a participant id, pt_ and 32 hex digits'));

const signupBodySchema = z
  .object({
    email: emailSchema,
    password: newPasswordSchema,
    displayName: displayNameSchema,
    roles: z
      .array(z.enum(selfServiceRoles))
      .min(1)
      .max(rolesPerParticipantMax)
      .describe(`self-service roles only (${selfServiceRoles.join(', ')}); duplicates count once`),
  })
  .openapi('SignupRequest');

const tokenBodySchema = z
  .object({
    email: emailSchema,
    password: textField({ lengthMin: 1, lengthMax: passwordLengthMax }),
  })
  .openapi('TokenRequest');

const tokenSchema = z
  .object({
    accessToken: z.string().describe('a JWT; send it as `Authorization: Bearer <accessToken>`'),
    tokenType: z.literal('Bearer'),
    expiresIn: z.number().int().positive().describe('seconds until the token expires'),
  })
  .openapi('AccessToken');

const meSchema = z
  .object({
    participantId: z.string(),
    displayName: z.string(),
    roles: z.array(z.enum(participantRoles)),
    email: z.string(),
  })
  .openapi('Me');

const participantSchema = z
  .object({
    participantId: z.string(),
    email: z.string(),
    displayName: z.string(),
    roles: z.array(z.enum(participantRoles)),
    createdAt: z.iso.datetime().describe('RFC 3339, UTC'),
  })
  .openapi('Participant');

function participantView(participant: Participant): z.input<typeof participantSchema> {
  return {
    participantId: participant.participantId,
    email: participant.email,
    displayName: participant.displayName,
    roles: [...participant.roles],
    createdAt: participant.createdAt.toISOString(),
  };
}

export function registerIdentityRoutes(routes: RouteRegistrar, participants: Participants, tokens: AccessTokens): void {
  routes.define(
    {
      method: 'post',
      path: '/v1/auth/signup',
      operationId: 'signUp',
      summary: 'Create a participant with self-service roles',
      description:
        'Regulators, arbiters and admins are created by the admin command, never here. ' +
        'A taken email answers 409 ALREADY_EXISTS (see docs/gateway.md on why that is acceptable).',
      tags: ['identity'],
      access: 'public',
      request: { body: signupBodySchema },
      sensitiveBodyFields: ['password'],
      responses: {
        201: {
          description: 'The participant was created.',
          schema: z.object({ participantId: z.string() }).openapi('SignupResult'),
          links: {
            signIn: {
              operationId: 'issueToken',
              description: 'Sign in as the new participant with the email and password just used.',
              requestBody: { email: '$request.body#/email', password: '$request.body#/password' },
            },
            participant: { operationId: 'getParticipant', description: 'An admin reads the new participant.', parameters: { id: '$response.body#/participantId' } },
          },
        },
      },
      problems: { 409: 'A participant with this email already exists (ALREADY_EXISTS).', 503: `More sign-ins and sign-ups than the password-hashing queue holds (UNAVAILABLE): ${passwordHashQueueMax} waiting beyond one per core; Retry-After says when to come back.` },
    },
    async ({ body }) => {
      const participant = await participants.register({ ...body, createdBy: 'signup' });
      return { status: 201, body: { participantId: participant.participantId } };
    },
  );

  routes.define(
    {
      method: 'post',
      path: '/v1/auth/token',
      operationId: 'issueToken',
      summary: 'Exchange an email and password for an access token',
      description: 'An unknown email and a wrong password get the same answer. Tokens are not kept, so this operation takes no Idempotency-Key.',
      tags: ['identity'],
      access: 'public',
      idempotency: 'none',
      request: { body: tokenBodySchema },
      responses: {
        200: {
          description: 'A short-lived access token.',
          schema: tokenSchema,
          links: { me: { operationId: 'getMe', description: 'Send `accessToken` as `Authorization: Bearer <accessToken>` to read the participant it names.' } },
        },
      },
      problems: { 401: 'The email or the password is wrong (UNAUTHENTICATED).', 503: `More sign-ins and sign-ups than the password-hashing queue holds (UNAVAILABLE): ${passwordHashQueueMax} waiting beyond one per core; Retry-After says when to come back.` },
    },
    async ({ body }) => {
      const identity = await participants.authenticate(body.email, body.password);
      return { status: 200, body: await tokens.issue(identity) };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/me',
      operationId: 'getMe',
      summary: 'The signed-in participant',
      tags: ['identity'],
      access: 'authenticated',
      responses: { 200: { description: 'The caller.', schema: meSchema } },
    },
    async (_input, { identity }) => {
      const participant = await participants.store.findById(identity.participantId);
      // A valid token for a participant that no longer exists names nobody.
      if (!participant) throw new DomainError('UNAUTHENTICATED', 'the participant of this token no longer exists');
      return {
        status: 200,
        body: { participantId: participant.participantId, displayName: participant.displayName, roles: [...participant.roles], email: participant.email },
      };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/admin/participants',
      operationId: 'listParticipants',
      summary: 'List participants (admin)',
      tags: ['admin'],
      access: ['admin'],
      request: { query: participantListQuerySchema },
      responses: {
        200: {
          description: 'A page of participants in id order.',
          schema: pageSchema(participantSchema).openapi('ParticipantPage'),
          links: { firstParticipant: { operationId: 'getParticipant', description: 'The first participant of the page.', parameters: { id: '$response.body#/items/0/participantId' } } },
        },
      },
    },
    async ({ query }) => {
      // One more than asked tells whether another page exists without a count.
      const found = await participants.store.list({ limit: query.limit + 1, after: query.cursor });
      const items = found.slice(0, query.limit);
      const last = items.at(-1);
      return {
        status: 200,
        body: { items: items.map(participantView), nextCursor: found.length > query.limit && last ? last.participantId : null },
      };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/admin/participants/{id}',
      operationId: 'getParticipant',
      summary: 'One participant (admin)',
      tags: ['admin'],
      access: ['admin'],
      request: { params: z.object({ id: participantIdSchema }) },
      responses: { 200: { description: 'The participant.', schema: participantSchema } },
      problems: { 404: 'No participant has this id (NOT_FOUND).' },
    },
    async ({ params }) => {
      const participant = await participants.store.findById(params.id);
      if (!participant) throw new DomainError('NOT_FOUND', `participant ${params.id} not found`);
      return { status: 200, body: participantView(participant) };
    },
  );
}
