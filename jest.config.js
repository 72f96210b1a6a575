// One jest setup for every workspace: TypeScript through SWC (no type checking here; `npm run
// typecheck` does that), workspace packages mapped to their sources so tests never need a build.
/** @type {import('jest').Config} */
const swc = ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }];

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/proto', '<rootDir>/services', '<rootDir>/gateway', '<rootDir>/scripts', '<rootDir>/deploy'],
  testMatch: ['**/*.spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^@sizhong/proto$': '<rootDir>/proto/src/index.ts',
    '^@sizhong/proto/(.*)$': '<rootDir>/proto/src/$1',
    '^@sizhong/(kit|testkit)$': '<rootDir>/packages/$1/src/index.ts',
    '^@sizhong/(kit|testkit)/(.*)$': '<rootDir>/packages/$1/src/$2',
  },
  globalSetup: '<rootDir>/packages/testkit/src/jest/global-setup.ts',
  globalTeardown: '<rootDir>/packages/testkit/src/jest/global-teardown.ts',
  maxWorkers: 2,
  testTimeout: 60_000,
  verbose: false,
};
