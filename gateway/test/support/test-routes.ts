/**
 * Routes that exist only in tests, declared with the same helper as real ones: a slow route whose
 * progress the test controls, a flaky one, one that crashes, an echo for generic limits, and one
 * that calls a real gRPC server.
 */
import { createGrpcClient, DomainError, type ErrorCode, errorCodes } from '@sizhong/kit';
import type { GatewayDependencies } from '../../src/app';
import { arrayItemsMax, textLengthMax, titleLengthMax } from '../../src/http/limits';
import { identityOf } from '../../src/http/request-context';
import { z } from '../../src/openapi/zod';
import { ProbeService } from './probe-service';

export class TestControls {
  readonly executions = new Map<string, number>();
  private readonly gates = new Map<string, () => void>();
  private readonly waiting = new Map<string, Promise<void>>();
  /** Outcomes the next executions of a label will have, in order; then success. */
  private readonly planned = new Map<string, Array<ErrorCode | 'crash'>>();
  probeAddress = '127.0.0.1:1';

  plan(label: string, ...outcomes: Array<ErrorCode | 'crash'>): void {
    this.planned.set(label, outcomes);
  }

  nextOutcome(label: string): ErrorCode | 'crash' | undefined {
    return this.planned.get(label)?.shift();
  }

  /** Makes the next executions of `label` wait until `open(label)`. */
  hold(label: string): void {
    this.waiting.set(label, new Promise<void>((resolve) => this.gates.set(label, resolve)));
  }

  open(label: string): void {
    this.gates.get(label)?.();
    this.waiting.delete(label);
  }

  async pass(label: string): Promise<number> {
    const count = (this.executions.get(label) ?? 0) + 1;
    this.executions.set(label, count);
    await this.waiting.get(label);
    return count;
  }

  /** Resolves once `label` has started `count` executions. */
  async started(label: string, count = 1): Promise<void> {
    while ((this.executions.get(label) ?? 0) < count) await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const labelSchema = z.string().min(1).max(64);

export function testRoutes(controls: TestControls): NonNullable<GatewayDependencies['routes']> {
  return (routes) => {
    routes.define(
      {
        method: 'post',
        path: '/v1/test/slow',
        operationId: 'testSlow',
        summary: 'Test only: waits until the test lets it finish',
        tags: ['test'],
        access: 'authenticated',
        idempotency: 'required',
        request: { body: z.object({ label: labelSchema, amount: z.number().int().optional() }) },
        responses: { 201: { description: 'Done.', schema: z.object({ label: z.string(), execution: z.number().int() }) } },
      },
      async ({ body }) => ({ status: 201, body: { label: body.label, execution: await controls.pass(body.label) } }),
    );

    routes.define(
      {
        method: 'post',
        path: '/v1/test/outcome',
        operationId: 'testOutcome',
        summary: 'Test only: fails as the test planned, then answers 201',
        tags: ['test'],
        access: 'authenticated',
        request: { body: z.object({ label: labelSchema }) },
        responses: { 201: { description: 'Done.', schema: z.object({ label: z.string(), execution: z.number().int() }) } },
        problems: { 422: 'The refusal asked for.', 503: 'The failure asked for.' },
      },
      async ({ body }) => {
        const execution = await controls.pass(body.label);
        const outcome = controls.nextOutcome(body.label);
        if (outcome === 'crash') throw new Error('database password is hunter2');
        if (outcome) throw new DomainError(outcome, `failing with ${outcome} as planned`, { execution });
        return { status: 201, body: { label: body.label, execution } };
      },
    );

    routes.define(
      {
        method: 'post',
        path: '/v1/test/echo',
        operationId: 'testEcho',
        summary: 'Test only: echoes bounded text and lists',
        tags: ['test'],
        access: 'public',
        request: {
          body: z.object({
            title: z.string().max(titleLengthMax),
            text: z.string().max(textLengthMax).optional(),
            items: z.array(z.string().max(titleLengthMax)).max(arrayItemsMax).optional(),
          }),
        },
        responses: { 201: { description: 'The body as validated.', schema: z.object({ title: z.string(), itemCount: z.number().int() }) } },
      },
      async ({ body }) => ({ status: 201, body: { title: body.title, itemCount: body.items?.length ?? 0 } }),
    );

    routes.define(
      {
        method: 'post',
        path: '/v1/test/large',
        operationId: 'testLarge',
        summary: 'Test only: answers a JSON body of exactly the size asked for',
        tags: ['test'],
        access: 'authenticated',
        request: { body: z.object({ label: labelSchema, bytes: z.number().int().min(12).max(1_000_000) }) },
        responses: { 201: { description: 'A padded body.', schema: z.object({ pad: z.string() }) } },
      },
      async ({ body }) => {
        await controls.pass(body.label);
        // JSON.stringify({pad: ''}) is 10 bytes; ASCII padding adds one byte per character.
        return { status: 201, body: { pad: 'x'.repeat(body.bytes - 10) } };
      },
    );

    routes.define(
      {
        method: 'get',
        path: '/v1/test/downstream',
        operationId: 'testDownstream',
        summary: 'Test only: calls the probe gRPC service with the caller identity',
        tags: ['test'],
        access: 'authenticated',
        request: { query: z.object({ raise: z.enum(errorCodes).optional() }) },
        responses: {
          200: { description: 'What the service saw.', schema: z.object({ participantId: z.string(), roles: z.array(z.string()), traceId: z.string() }) },
        },
        problems: { 422: 'The refusal asked for.', 503: 'The service is down.' },
      },
      async ({ query }, { request, traceId, signal }) => {
        const client = createGrpcClient(ProbeService, controls.probeAddress, { deadlineMs: 2_000 });
        try {
          if (query.raise) await client.call.raise({ participantId: query.raise, roles: [] }, { identity: identityOf(request), signal });
          const seen = await client.call.whoAmI({ currency: 'CNY', amountMinor: 0n }, { identity: identityOf(request), signal });
          return { status: 200, body: { participantId: seen.participantId, roles: seen.roles, traceId } };
        } finally {
          client.close();
        }
      },
    );
  };
}
