/** The consumer's dedupe memory: one document per (consumer group, event id), unique by _id. */
import { type Clock, systemClock } from '../clock';
import type { ProcessedEventStore } from '../kafka/consumer';
import { isDuplicateKeyError, type MongoConnection } from './connection';

interface ProcessedEventDocument {
  _id: string;
  consumerGroup: string;
  eventId: string;
  processedAt: Date;
}

export class MongoProcessedEventStore implements ProcessedEventStore {
  private readonly collection;

  constructor(
    mongo: MongoConnection,
    collectionName = 'processed_events',
    /** When an event counts as processed: the service's clock, so tests and replays control it. */
    private readonly clock: Clock = systemClock,
  ) {
    this.collection = mongo.collection<ProcessedEventDocument>(collectionName);
  }

  async isProcessed(consumerGroup: string, eventId: string): Promise<boolean> {
    return (await this.collection.findOne({ _id: `${consumerGroup}:${eventId}` })) !== null;
  }

  async markProcessed(consumerGroup: string, eventId: string): Promise<void> {
    try {
      await this.collection.insertOne({ _id: `${consumerGroup}:${eventId}`, consumerGroup, eventId, processedAt: this.clock.now() });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
  }
}
