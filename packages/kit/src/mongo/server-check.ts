/**
 * Which MongoDB-wire servers Sizhong refuses to run on, decided from their `buildInfo` answer.
 *
 * Storage relies on conditional writes being compare-and-set (docs/storage.md): a
 * version-guarded `updateOne` and a `findOneAndUpdate` claim must match and change the document in
 * one step. FerretDB 1.24 does not do that: with 16 clients it reported 800 successful
 * version-guarded updates of which 65 (SQLite backend) or 239 (PostgreSQL backend) happened, and let
 * 100 due jobs be claimed 312 or 482 times (docs/infrastructure.md). Such a server corrupts money
 * silently, so connecting to it fails loudly instead.
 */

/** The `buildInfo` fields this check reads; any other fields are ignored. */
export type BuildInfo = Readonly<Record<string, unknown>>;

/** Thrown by connectMongo when the server is one that loses conditional updates. */
export class UnsafeMongoServerError extends Error {
  override readonly name = 'UnsafeMongoServerError';
}

/**
 * Why Sizhong must not use the server that gave this `buildInfo` answer, or undefined when it may.
 * FerretDB says what it is with fields of its own (`ferretdbVersion`, `ferretdbFeatures`) next to
 * the MongoDB version it imitates; MongoDB and mongo-java-server have neither.
 */
export function unsafeMongoServerReason(buildInfo: BuildInfo): string | undefined {
  if (!('ferretdbVersion' in buildInfo) && !('ferretdbFeatures' in buildInfo)) return undefined;
  const ferretDbVersion = typeof buildInfo.ferretdbVersion === 'string' ? buildInfo.ferretdbVersion : 'unknown';
  // An embedded FerretDB (its Go package inside another program) reports `unknown`.
  const version = ferretDbVersion === 'unknown' ? 'of unreported version (an embedded build)' : ferretDbVersion;
  const imitated = typeof buildInfo.version === 'string' ? `, answering as MongoDB ${buildInfo.version}` : '';
  return (
    `the MongoDB-wire server is FerretDB ${version}${imitated}. FerretDB does not apply conditional updates atomically ` +
    '(measured with FerretDB 1.24: 800 version-guarded updates reported successful, 65 applied; 100 due jobs claimed 312 times), ' +
    "and Sizhong's storage depends on them. Point MONGO_URL at MongoDB, or unset it to use the project's local mongo-java-server; " +
    'see docs/infrastructure.md.'
  );
}
