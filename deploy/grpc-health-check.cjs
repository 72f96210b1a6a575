// Container health check of a service: asks its gRPC server (grpc.health.v1) whether it is serving.
// Usage: node deploy/grpc-health-check.cjs [host:port] (default 127.0.0.1:$GRPC_PORT). Exit 0 when
// SERVING, 1 otherwise. Kubernetes probes gRPC health natively; docker compose runs this script.
const { credentials } = require('@grpc/grpc-js');
const { healthV1 } = require('@sizhong/proto');

const deadlineMs = 2_000;
const address = process.argv[2] ?? `127.0.0.1:${process.env.GRPC_PORT ?? ''}`;
const client = new healthV1.HealthClient(address, credentials.createInsecure());
client.check({ service: '' }, { deadline: Date.now() + deadlineMs }, (error, response) => {
  const serving = !error && response.status === healthV1.HealthCheckResponse_ServingStatus.SERVING;
  if (!serving) process.stderr.write(`${address}: ${error ? error.message : `status ${response.status}`}\n`);
  client.close();
  process.exit(serving ? 0 : 1);
});
