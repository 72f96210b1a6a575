/** MongoDB connections through mongoose; int64 values come back as bigint. */
import mongoose, { type Connection } from 'mongoose';
import type { Collection, Db, Document } from 'mongodb';
import { UnsafeMongoServerError, unsafeMongoServerReason } from './server-check';

export { UnsafeMongoServerError, unsafeMongoServerReason, type BuildInfo } from './server-check';

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
 * tests pass their own names for isolation. Fails with UnsafeMongoServerError, after closing the
 * connection, when the server is one that loses conditional updates (FerretDB; see server-check.ts).
 */
export async function connectMongo(url: string, databaseName: string): Promise<MongoConnection> {
  const connection = mongoose.createConnection(url, {
    dbName: databaseName,
    serverSelectionTimeoutMS: mongoServerSelectionTimeoutMs,
    maxPoolSize: mongoPoolSizeMax,
    // Money is int64: read it back as bigint, never as a lossy number.
    useBigInt64: true,
    // Retryable writes need sessions. mongo-java-server (local runs and tests) has none, so the
    // driver never retries there whatever this says; turning retries off everywhere keeps
    // production's replica set on the behaviour the tests exercise: a write whose answer is lost
    // fails to the caller, and commands are idempotent by their deterministic ids and version guards.
    retryWrites: false,
  } as mongoose.ConnectOptions);
  await connection.asPromise();
  const db = connection.db;
  if (!db) throw new Error(`MongoDB connection to ${databaseName} has no database handle`);
  const refusal = unsafeMongoServerReason(await db.admin().buildInfo());
  if (refusal !== undefined) {
    await connection.close();
    throw new UnsafeMongoServerError(`Refusing to use ${databaseName}: ${refusal}`);
  }
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
