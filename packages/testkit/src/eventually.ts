/** How often `eventually` probes again. */
export const eventuallyPollMs = 100;
export const eventuallyTimeoutMsDefault = 30_000;

/**
 * Probes until `accept` takes the value (what a consumer, a scheduler or a relay will do soon), or
 * fails after `timeoutMs` naming what it waited for and the last value it saw (bigints as text).
 */
export async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, what: string, timeoutMs = eventuallyTimeoutMsDefault): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(value, (_key, entry: unknown) => (typeof entry === 'bigint' ? entry.toString() : entry))}`);
    await new Promise((resolve) => setTimeout(resolve, eventuallyPollMs));
  }
}
