/**
 * The one express error handler: whatever was thrown (a DomainError, a body-parser failure, a
 * bug) leaves as problem+json through the one mapping table, with the request's trace id. Also
 * the handler of requests no route matched.
 */
import type { Logger } from '@sizhong/kit';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { requestBodyBytesMax } from './limits';
import { HttpRefusal, problemContentType, type ProblemResponse, toProblem } from './problem';
import { traceIdOf } from './request-context';

/** body-parser's failures carry a `type`; these are the client's fault. */
function fromBodyParserError(error: unknown): HttpRefusal | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { type, status } = error as { type?: unknown; status?: unknown };
  if (typeof type !== 'string' || typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  switch (type) {
    case 'entity.too.large':
      return new HttpRefusal('PAYLOAD_TOO_LARGE', `the request body is larger than ${requestBodyBytesMax} bytes`, [], {}, { requestBodyBytesMax });
    case 'entity.parse.failed':
      return new HttpRefusal('INVALID_ARGUMENT', 'the request body is not valid JSON', [{ path: 'body', message: 'not valid JSON' }]);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpRefusal('INVALID_ARGUMENT', 'the request body must be UTF-8 JSON', [{ path: 'headers.content-type', message: 'unsupported charset or encoding' }]);
    default:
      return new HttpRefusal('INVALID_ARGUMENT', 'the request body could not be read');
  }
}

export function sendProblem(response: Response, problem: ProblemResponse): void {
  response.status(problem.status);
  for (const [name, value] of Object.entries(problem.headers)) response.setHeader(name, value);
  response.setHeader('Content-Type', `${problemContentType}; charset=utf-8`);
  response.send(JSON.stringify(problem.body));
}

export function errorMiddleware(logger: Logger): ErrorRequestHandler {
  return (error: unknown, request: Request, response: Response, next) => {
    if (response.headersSent) {
      // Too late for a problem body: let express close the connection.
      next(error);
      return;
    }
    const problem = toProblem(fromBodyParserError(error) ?? error, { traceId: traceIdOf(request), instance: request.path, logger });
    sendProblem(response, problem);
  };
}

export function notFoundHandler(logger: Logger): RequestHandler {
  return (request, response) => {
    sendProblem(
      response,
      toProblem(new HttpRefusal('NOT_FOUND', `no route for ${request.method} ${request.path}`), { traceId: traceIdOf(request), instance: request.path, logger }),
    );
  };
}
