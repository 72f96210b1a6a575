/**
 * The OpenAPI 3.1 document, generated from the registry that the route helper fills: every route
 * is declared once, and that declaration both validates requests and documents them.
 */
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { problemSchema } from '../http/problem';

export const bearerSecurityScheme = 'bearerAuth';

export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

export class ApiDocument {
  readonly registry = new OpenAPIRegistry();
  private generated: OpenApiDocument | undefined;

  constructor(private readonly version: string) {
    this.registry.registerComponent('securitySchemes', bearerSecurityScheme, {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: 'An access token from POST /v1/auth/token.',
    });
    this.registry.register('Problem', problemSchema);
  }

  /** Routes are declared at start-up; call this after the last one changed, or leave it to the first read. */
  invalidate(): void {
    this.generated = undefined;
  }

  document(): OpenApiDocument {
    this.generated ??= new OpenApiGeneratorV31(this.registry.definitions).generateDocument({
      openapi: '3.1.0',
      info: {
        title: 'Sizhong API',
        version: this.version,
        description:
          'The public HTTP API of Sizhong (四众), a marketplace for crowdsourcing and crowdfunding. ' +
          'Errors are RFC 9457 problem details with a stable `code`. POSTs take an `Idempotency-Key`; ' +
          'lists take `limit` (at most 100) and `cursor`.',
      },
      servers: [{ url: '/' }],
    });
    return this.generated;
  }
}
