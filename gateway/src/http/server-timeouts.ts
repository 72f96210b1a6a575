import type { Server } from 'node:http';

/**
 * Behind a load balancer, as Node's documentation recommends: an idle keep-alive connection is
 * kept longer than the balancer keeps its own (AWS ALB, nginx and GCP default to 60 s), so the
 * balancer, not the server, closes it — otherwise a request sent on a connection the server is
 * closing at that instant is dropped with no answer. Headers must arrive within a little more.
 */
export const serverKeepAliveTimeoutMs = 65_000;
export const serverHeadersTimeoutMs = 66_000;

export function applyServerTimeouts(server: Server): void {
  server.keepAliveTimeout = serverKeepAliveTimeoutMs;
  server.headersTimeout = serverHeadersTimeoutMs;
}
