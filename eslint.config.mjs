// Lint rules for every workspace. The domain rule keeps services/*/src/domain pure: no framework,
// no I/O, no clock or randomness imports (ARCHITECTURE.md §7, STYLE.md rule 1). The saga rules
// (scripts/lint/saga-rules.mjs) keep compensation on definite refusals only and saga records in
// the kit (docs/storage.md "Sagas").
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import sagaRules from './scripts/lint/saga-rules.mjs';

const forbiddenInDomain = [
  'mongoose', 'mongodb', 'kafkajs', '@grpc/*', 'express', 'express-*', '@opentelemetry/*', 'pino', 'pino-*',
  'node:*', 'fs', 'fs/*', 'http', 'https', 'net', 'crypto', 'child_process', 'os', 'path', 'zod',
  '@sizhong/testkit', '**/storage/**', '**/transport/**', '**/app/**', '../app', '../storage', '../transport',
];

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/.turbo/**', '.cache/**', 'proto/src/gen/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.jest } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-syntax': ['error', { selector: "CallExpression[callee.name='parseFloat']", message: 'Money is bigint minor units: never parseFloat.' }],
    },
  },
  {
    files: ['services/*/src/app/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    plugins: { sizhong: sagaRules },
    rules: { 'sizhong/definite-refusals-only': 'error' },
  },
  {
    files: ['services/**/*.ts', 'gateway/**/*.ts', 'packages/**/*.ts', 'scripts/**/*.ts'],
    ignores: ['packages/kit/src/saga/**', '**/*.spec.ts'],
    plugins: { sizhong: sagaRules },
    rules: { 'sizhong/saga-records-in-kit-only': 'error' },
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['services/*/src/domain/**/*.ts'],
    ignores: ['services/*/src/domain/**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: '@sizhong/kit', message: "domain/ imports the kit's pure parts from '@sizhong/kit/domain'; the barrel brings gRPC, MongoDB and Kafka." }],
          patterns: [{ group: forbiddenInDomain, message: 'domain/ is pure: no framework, I/O, clock or randomness imports.' }],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'domain/ has no timers.' },
        { name: 'process', message: 'domain/ reads no environment.' },
        { name: 'fetch', message: 'domain/ does no I/O.' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.name='parseFloat']", message: 'Money is bigint minor units: never parseFloat.' },
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'domain/ never reads the clock: take `now` as a parameter.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'domain/ is deterministic: no randomness.' },
        { object: 'Date', property: 'now', message: 'domain/ never reads the clock.' },
      ],
    },
  },
);
