// Proves the generated document refuses links that lead nowhere: to an operation it does not have, or setting a parameter the target does not take.
import { ApiDocument } from './registry';
import { z } from './zod';

function documentWithLink(link: { operationId: string; parameters?: Record<string, string> }): ApiDocument {
  const document = new ApiDocument('test');
  document.registry.registerPath({
    method: 'get',
    path: '/things/{id}',
    operationId: 'getThing',
    request: { params: z.object({ id: z.string() }) },
    responses: { 200: { description: 'A thing.' } },
  });
  document.registry.registerPath({
    method: 'post',
    path: '/things',
    operationId: 'createThing',
    responses: { 201: { description: 'Created.', links: { next: { description: 'Then.', ...link } } } },
  });
  return document;
}

describe('ApiDocument links', () => {
  it('keeps a link to an operation and parameter the document has', () => {
    const generated = documentWithLink({ operationId: 'getThing', parameters: { id: '$response.body#/id' } }).document();
    expect(generated.paths?.['/things']?.post?.responses?.['201']).toMatchObject({ links: { next: { operationId: 'getThing' } } });
  });

  it('refuses a link to an operation the document does not have', () => {
    expect(() => documentWithLink({ operationId: 'getThingy' }).document()).toThrow(/names operation getThingy/);
  });

  it('refuses a link setting a parameter the target does not take', () => {
    expect(() => documentWithLink({ operationId: 'getThing', parameters: { thingId: '$response.body#/id' } }).document()).toThrow(/sets parameter thingId/);
  });
});
