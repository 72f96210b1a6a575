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
    this.generated ??= checkedLinks(this.generate());
    return this.generated;
  }

  private generate(): OpenApiDocument {
    return new OpenApiGeneratorV31(this.registry.definitions).generateDocument({
      openapi: '3.1.0',
      info: {
        title: 'Sizhong API',
        version: this.version,
        description:
          'The public HTTP API of Sizhong (四众), a marketplace for crowdsourcing and crowdfunding. ' +
          'Errors are RFC 9457 problem details with a stable `code`. POSTs take an `Idempotency-Key`; ' +
          'lists take `limit` (at most 100) and `cursor`. A path called with a method it does not declare answers 405 ' +
          '`METHOD_NOT_ALLOWED` with an `Allow` header; OPTIONS answers 204 with `Allow`. ' +
          'Status 400 means the request is malformed: it does not match this document, or it breaks a rule that an operation\'s ' +
          'description states because JSON Schema cannot (a relation between fields, to the clock, or to an object the request names, ' +
          'such as a pledge below its tier\'s price); `errors` or `field` name the field. 422 means a well-formed request was refused ' +
          'by a rule about the current state of things, named by its `code`.',
      },
      servers: [{ url: '/' }],
    });
  }
}

/** Every link names an operation of this document and parameters that operation has. */
function checkedLinks(document: OpenApiDocument): OpenApiDocument {
  const operations = new Map<string, { parameters?: unknown[] }>();
  for (const item of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(item as Record<string, { operationId?: string; parameters?: unknown[] }>)) {
      if (operation.operationId) operations.set(operation.operationId, operation);
    }
  }
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const [method, operation] of Object.entries(item as Record<string, { responses?: Record<string, { links?: Record<string, { operationId?: string; parameters?: Record<string, unknown> }> }> }>)) {
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        for (const [name, link] of Object.entries(response.links ?? {})) {
          const target = operations.get(link.operationId ?? '');
          const where = `link ${name} of ${method.toUpperCase()} ${path} ${status}`;
          if (!target) throw new Error(`${where} names operation ${link.operationId}, which the document does not have`);
          const names = new Set((target.parameters ?? []).map((parameter) => (parameter as { name: string }).name));
          for (const parameter of Object.keys(link.parameters ?? {})) {
            if (!names.has(parameter)) throw new Error(`${where} sets parameter ${parameter}, which ${link.operationId} does not have`);
          }
        }
      }
    }
  }
  return document;
}
