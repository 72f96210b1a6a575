/**
 * A solver's skills (PUT /v1/me/skills), kept on the participant's document in the
 * gateway's identity store. Task routes read them (one read by _id) and pass them to task-dispatch,
 * whose dispatch eligibility matches them against a task's `skills`.
 */
import { DomainError, type MongoConnection } from '@sizhong/kit';
import type { Collection } from 'mongodb';
import type { RouteRegistrar } from '../openapi/route';
import { z } from '../openapi/zod';
import { participantsCollectionName } from './participant-store';

/** task-dispatch's own skill rules (services/task-dispatch/src/domain/limits.ts). */
export const skillLimits = { skillsPerParticipantMax: 50, skillLengthMax: 40 } as const;
export const skillPattern = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

export const skillSchema = z
  .string()
  .min(1)
  .max(skillLimits.skillLengthMax)
  .regex(skillPattern, "lower-case words joined by '-'")
  .describe(`a skill: lower-case letters and digits in words joined by '-', at most ${skillLimits.skillLengthMax} characters (\`ui-design\`)`);

export const skillsBodySchema = z.object({ skills: z.array(skillSchema).max(skillLimits.skillsPerParticipantMax).describe('the whole set (duplicates are dropped)') }).openapi('Skills');

interface SkillsDocument {
  _id: string;
  skills?: string[];
}

export class SkillStore {
  private readonly participants: Collection<SkillsDocument>;

  constructor(mongo: MongoConnection) {
    this.participants = mongo.collection<SkillsDocument>(participantsCollectionName);
  }

  async skillsOf(participantId: string): Promise<string[]> {
    return (await this.participants.findOne({ _id: participantId }, { projection: { skills: 1 } }))?.skills ?? [];
  }

  /** Replaces the set; false when the participant does not exist. */
  async replace(participantId: string, skills: readonly string[]): Promise<boolean> {
    const result = await this.participants.updateOne({ _id: participantId }, { $set: { skills: [...new Set(skills)].sort() } });
    return result.matchedCount === 1;
  }
}

export function registerSkillRoutes(routes: RouteRegistrar, skills: SkillStore): void {
  routes.define(
    {
      method: 'put',
      path: '/v1/me/skills',
      operationId: 'replaceMySkills',
      summary: "Replace the signed-in solver's skills",
      description: "Dispatch claims need every skill a task lists (a task without skills takes any solver). The answer is the stored set, sorted and without duplicates.",
      tags: ['identity'],
      access: ['solver'],
      request: { body: skillsBodySchema },
      responses: { 200: { description: 'The stored skills.', schema: skillsBodySchema } },
      problems: { 401: 'The participant of this token no longer exists (UNAUTHENTICATED).' },
    },
    async ({ body }, { identity }) => {
      const stored = [...new Set(body.skills)].sort();
      if (!(await skills.replace(identity.participantId, stored))) throw new DomainError('UNAUTHENTICATED', 'the participant of this token no longer exists');
      return { status: 200, body: { skills: stored } };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/me/skills',
      operationId: 'getMySkills',
      summary: "The signed-in participant's skills",
      tags: ['identity'],
      access: 'authenticated',
      responses: { 200: { description: 'The stored skills.', schema: skillsBodySchema } },
    },
    async (_input, { identity }) => ({ status: 200, body: { skills: await skills.skillsOf(identity.participantId) } }),
  );
}
