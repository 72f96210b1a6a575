// Proves that connectMongo's server check refuses FerretDB and accepts MongoDB and mongo-java-server,
// from buildInfo answers kept in fixtures/:
// - buildinfo-ferretdb-1.24.2.json: recorded from FerretDB 1.24.2 as this project ran it (its Go
//   package embedded in a wrapper, hence `ferretdbVersion: "unknown"`);
// - buildinfo-mongo-java-server-1.47.0.json: recorded from scripts/infra/mongo's server;
// - buildinfo-mongodb-7.0.json: the fields MongoDB 7.0 documents for buildInfo, with representative
//   values (no MongoDB server can run on the project's machines to record one; the gitVersion is zeros).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BuildInfo, unsafeMongoServerReason } from './server-check';

function fixture(name: string): BuildInfo {
  return JSON.parse(readFileSync(join(__dirname, 'fixtures', name), 'utf8')) as BuildInfo;
}

describe('unsafeMongoServerReason', () => {
  it("refuses FerretDB 1.24 as embedded here, naming it, the MongoDB version it imitates and where to read more", () => {
    const reason = unsafeMongoServerReason(fixture('buildinfo-ferretdb-1.24.2.json'));
    expect(reason).toContain('FerretDB of unreported version (an embedded build), answering as MongoDB 7.0.42');
    expect(reason).toContain('conditional updates');
    expect(reason).toContain('docs/infrastructure.md');
  });

  it('refuses a released FerretDB binary by its version', () => {
    const released = { ...fixture('buildinfo-ferretdb-1.24.2.json'), ferretdbVersion: 'v1.24.2', gitVersion: 'b6c3b2c3' };
    expect(unsafeMongoServerReason(released)).toContain('FerretDB v1.24.2, answering as MongoDB 7.0.42');
  });

  it('refuses an answer that carries only the FerretDB feature list', () => {
    const { ferretdbVersion: _omitted, ...featuresOnly } = fixture('buildinfo-ferretdb-1.24.2.json');
    expect(unsafeMongoServerReason(featuresOnly)).toContain('FerretDB of unreported version');
  });

  it('accepts mongo-java-server', () => {
    expect(unsafeMongoServerReason(fixture('buildinfo-mongo-java-server-1.47.0.json'))).toBeUndefined();
  });

  it('accepts MongoDB 7', () => {
    expect(unsafeMongoServerReason(fixture('buildinfo-mongodb-7.0.json'))).toBeUndefined();
  });
});
