/**
 * Checks real responses against the gateway's own /openapi.json with ajv (JSON Schema 2020-12):
 * the status must be documented for the operation, the content type too, and the body must match.
 */
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { HttpResponse } from './test-gateway';

export interface Operation {
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
  operationId?: string;
  parameters?: Array<{ name: string; in: string }>;
}
export type OpenApi = { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };

const documentId = 'https://sizhong.test/openapi.json';

export class Conformance {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private checks = 0;

  constructor(readonly document: OpenApi) {
    addFormats(this.ajv);
    this.ajv.addSchema({ ...document, $id: documentId } as object);
  }

  schemaFor(template: string, method: string, status: number, contentType: string): unknown {
    const responses = this.document.paths[template]?.[method.toLowerCase()]?.responses;
    if (!responses) throw new Error(`${method} ${template} is not documented`);
    const documented = responses[String(status)];
    if (!documented) throw new Error(`${method} ${template} answered ${status}, which is not documented`);
    const mediaType = contentType.split(';')[0]?.trim() ?? '';
    const entry = Object.entries(documented.content ?? {}).find(([key]) => key.split(';')[0]?.trim() === mediaType);
    if (!entry) throw new Error(`${method} ${template} ${status}: ${mediaType} is not documented`);
    return entry[1].schema;
  }

  validator(template: string, method: string, status: number, contentType: string) {
    this.checks += 1;
    return this.ajv.compile({ $id: `https://sizhong.test/checks/${this.checks}`, ...(relocate(this.schemaFor(template, method, status, contentType)) as object) });
  }

  expectConforms(template: string, method: string, response: HttpResponse): void {
    const validate = this.validator(template, method, response.status, response.headers.get('content-type') ?? '');
    const value = response.body ?? response.text;
    if (!validate(value)) throw new Error(`${method} ${template} ${response.status} does not conform: ${this.ajv.errorsText(validate.errors)}\n${response.text.slice(0, 500)}`);
  }
}

/** Inline schemas refer to components as `#/components/…`; point them at the document. */
function relocate(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(relocate);
  if (schema !== null && typeof schema === 'object') {
    return Object.fromEntries(
      Object.entries(schema).map(([key, value]) => [key, key === '$ref' && typeof value === 'string' && value.startsWith('#/') ? `${documentId}${value}` : relocate(value)]),
    );
  }
  return schema;
}
