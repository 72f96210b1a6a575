/**
 * The aggregates credit's single consumer writes, kept in memory after each write, so applying an
 * event reads nothing it wrote itself (a pledge touches five state documents; reading each before
 * its guarded write doubled the round trips). Writes stay version-guarded: if anything else wrote
 * a document, the write fails, the entry is dropped, and the consumer retries the event from the
 * database. Bounded: the least recently used entries go first.
 */
import type { AggregateStore, Loaded } from '@sizhong/kit';

/** Documents kept per store. */
export const cachedAggregatesMax = 20_000;

export class WriteThroughCache<State> {
  private readonly entries = new Map<string, Loaded<State> | null>();

  constructor(
    private readonly store: AggregateStore<State>,
    private readonly entriesMax = cachedAggregatesMax,
  ) {}

  async load(id: string): Promise<Loaded<State> | undefined> {
    const cached = this.entries.get(id);
    if (cached !== undefined) {
      this.entries.delete(id);
      this.entries.set(id, cached);
      return cached ?? undefined;
    }
    const loaded = await this.store.load(id);
    if (loaded) this.remember(id, loaded);
    return loaded;
  }

  /** Creates or writes the next version after `current`; on any failure the entry is dropped. */
  async write(id: string, current: Loaded<State> | undefined, state: State): Promise<Loaded<State>> {
    try {
      if (!current) {
        const created = await this.store.create(id, state, []);
        if (created.kind === 'existing') throw new Error(`${this.store.name} ${id} was created meanwhile; the event is retried`);
        this.remember(id, created.aggregate);
        return created.aggregate;
      }
      const written = await this.store.save(current, state, []);
      this.remember(id, written);
      return written;
    } catch (error) {
      this.entries.delete(id);
      throw error;
    }
  }

  forget(id: string): void {
    this.entries.delete(id);
  }

  private remember(id: string, loaded: Loaded<State>): void {
    this.entries.delete(id);
    this.entries.set(id, loaded);
    if (this.entries.size > this.entriesMax) this.entries.delete(this.entries.keys().next().value as string);
  }
}
