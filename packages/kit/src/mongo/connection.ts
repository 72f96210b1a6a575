/** MongoDB connections through mongoose; int64 values come back as bigint. */
import mongoose, { type Connection } from 'mongoose';
import type { Collection, Db, Document } from 'mongodb';

export const mongoServerSelectionTimeoutMs = 5_000;
export const mongoPoolSizeMax = 20;

export interface MongoConnection {
  readonly connection: Connection;
  readonly db: Db;
  collection<Schema extends Document = Document>(name: string): Collection<Schema>;
  close(): Promise<void>;
}

/**
 * Connects to `databaseName` on `url`. Each service owns one database (`sizhong_<service>`);
 * tests pass their own names for isolation.
 */
export async function connectMongo(url: string, databaseName: string): Promise<MongoConnection> {
  const connection = mongoose.createConnection(url, {
    dbName: databaseName,
    serverSelectionTimeoutMS: mongoServerSelectionTimeoutMs,
    maxPoolSize: mongoPoolSizeMax,
    // Money is int64: read it back as bigint, never as a lossy number.
    useBigInt64: true,
    // FerretDB does not support retryable writes' transaction numbers; our writes are idempotent anyway.
    retryWrites: false,
  } as mongoose.ConnectOptions);
  await connection.asPromise();
  const db = connection.db;
  if (!db) throw new Error(`MongoDB connection to ${databaseName} has no database handle`);
  return {
    connection,
    db,
    collection: <Schema extends Document = Document>(name: string) => db.collection<Schema>(name),
    close: () => connection.close(),
  };
}

/** The server's duplicate-key error: a unique index refused an insert. */
export function isDuplicateKeyError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}
