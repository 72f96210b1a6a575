/**
 * Preloaded into every child the benchmarks start (`--import`): the child's standard input is a
 * pipe from the benchmark, which closes when the benchmark ends in any way, SIGKILL included; the
 * child then stops itself as on Ctrl-C, so no escrow or gateway outlives a killed run.
 */
const stopSelf = () => process.kill(process.pid, 'SIGTERM');
process.stdin.once('end', stopSelf);
process.stdin.once('error', stopSelf);
process.stdin.resume();
// Reading standard input must not by itself keep the child running.
(process.stdin as { unref?: () => void }).unref?.();
