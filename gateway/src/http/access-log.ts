/**
 * One log line per answered request, with its route template, status, duration and trace id.
 * Probe and scrape routes log at debug: they are called every few seconds and say nothing new.
 */
import type { Logger } from '@sizhong/kit';
import type { RequestHandler } from 'express';
import { requestContextOf } from './request-context';

const quietRoutes = new Set(['/healthz', '/readyz', '/metrics']);

export function accessLog(logger: Logger): RequestHandler {
  return (request, response, next) => {
    const startedAt = process.hrtime.bigint();
    response.once('finish', () => {
      const requestContext = requestContextOf(request);
      const route = requestContext?.route;
      const line = {
        method: request.method,
        route: route ?? request.path,
        status: response.statusCode,
        durationMs: Math.round(Number(process.hrtime.bigint() - startedAt) / 1e4) / 100,
        traceId: requestContext?.traceId,
        participantId: requestContext?.identity?.participantId,
      };
      if (route !== undefined && quietRoutes.has(route)) logger.debug(line, 'request');
      else logger.info(line, 'request');
    });
    next();
  };
}
