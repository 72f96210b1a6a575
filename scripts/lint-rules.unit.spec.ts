// Proves the lint rules fire and stay quiet where they should: domain/ stays pure, a caught DomainError is compensated or ignored only for named codes, and saga records are touched only by the kit.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const repositoryRoot = join(__dirname, '..');
const domainFile = join(__dirname, '..', 'services', 'example', 'src', 'domain', 'campaign.ts');
const appFile = join(__dirname, '..', 'services', 'example', 'src', 'app', 'launch-campaign.ts');

/** Runs the real ESLint CLI (its flat config is ESM, which jest's module system cannot load). */
async function messages(code: string, filePath: string): Promise<string[]> {
  const run = spawnSync(process.execPath, [join(repositoryRoot, 'node_modules', 'eslint', 'bin', 'eslint.js'), '--format', 'json', '--stdin', '--stdin-filename', filePath], {
    cwd: repositoryRoot,
    input: code,
    encoding: 'utf8',
  });
  const [result] = JSON.parse(run.stdout) as { messages: { ruleId: string; message: string }[] }[];
  return (result?.messages ?? []).map((message) => `${message.ruleId}: ${message.message}`);
}

jest.setTimeout(30_000);

describe('domain purity lint rule', () => {
  it.each([
    ["import mongoose from 'mongoose';\nexport const m = mongoose;", 'no-restricted-imports'],
    ["import { Kafka } from 'kafkajs';\nexport const k = Kafka;", 'no-restricted-imports'],
    ["import { Server } from '@grpc/grpc-js';\nexport const s = Server;", 'no-restricted-imports'],
    ["import { readFileSync } from 'node:fs';\nexport const r = readFileSync;", 'no-restricted-imports'],
    ["import { trace } from '@opentelemetry/api';\nexport const t = trace;", 'no-restricted-imports'],
    ["import { save } from '../storage/campaign-repository';\nexport const s = save;", 'no-restricted-imports'],
    ['export const now = () => new Date();', 'no-restricted-syntax'],
    ['export const now = () => Date.now();', 'no-restricted-properties'],
    ['export const roll = () => Math.random();', 'no-restricted-properties'],
    ['export const env = () => process.env.X;', 'no-restricted-globals'],
    // The barrel brings gRPC, MongoDB and Kafka with it: domain/ takes the pure entry instead.
    ["import { money } from '@sizhong/kit';\nexport const m = money;", 'no-restricted-imports'],
  ])('refuses %p in domain/', async (code, rule) => {
    expect((await messages(code, domainFile)).some((message) => message.startsWith(`${rule}:`))).toBe(true);
  });

  it('allows pure code, kit money and dates passed in', async () => {
    const code = [
      "import { split, type Money } from '@sizhong/kit/domain';",
      'export function deadlinePassed(endsAt: Date, now: Date): boolean {',
      '  return now.getTime() >= new Date(endsAt.getTime()).getTime();',
      '}',
      'export const halves = (total: Money) => split(total.amountMinor, [1n, 1n]);',
    ].join('\n');
    expect(await messages(code, domainFile)).toEqual([]);
  });

  it('allows I/O outside domain/', async () => {
    expect(await messages("import mongoose from 'mongoose';\nexport const m = mongoose;", appFile)).toEqual([]);
  });
});

describe('saga lint rules', () => {
  const header = "import { DomainError, isDomainError } from '@sizhong/kit';\nexport const used = [DomainError, isDomainError, giveBack];\ndeclare function hold(): Promise<void>;\ndeclare function giveBack(): Promise<void>;\n";

  it.each([
    ['a catch that compensates any DomainError', 'export async function f() {\n  try { await hold(); } catch (error) {\n    if (error instanceof DomainError) await giveBack();\n    throw error;\n  }\n}'],
    ['a .catch that swallows any DomainError', 'export const f = () => hold().catch((error: unknown) => {\n  if (!(error instanceof DomainError)) throw error;\n});'],
    ['isDomainError without a code', 'export const f = () => hold().catch(async (failure: unknown) => {\n  if (isDomainError(failure)) await giveBack();\n});'],
  ])('refuses %s in app/', async (_name, body) => {
    expect(await messages(header + body, appFile)).toEqual([expect.stringMatching(/^sizhong\/definite-refusals-only: A caught DomainError may be a gRPC failure/)]);
  });

  it.each([
    ['a code compared in the same test', "export async function f() {\n  try { await hold(); } catch (error) {\n    if (error instanceof DomainError && error.code === 'INSUFFICIENT_FUNDS') await giveBack();\n    throw error;\n  }\n}"],
    ['a code list checked on a later line', "export const f = () => hold().catch(async (error: unknown) => {\n  if (!(error instanceof DomainError)) throw error;\n  if (!['TIER_SOLD_OUT'].includes(error.code)) throw error;\n  await giveBack();\n});"],
  ])('allows %s', async (_name, body) => {
    expect(await messages(header + body, appFile)).toEqual([]);
  });

  it('refuses saga collections outside the kit, and allows them in the kit', async () => {
    const code = "declare const db: { collection(name: string): { deleteOne(filter: object): Promise<void> } };\nexport const f = (service: string) => db.collection(`${service}_sagas`).deleteOne({ _id: 'x' });";
    expect(await messages(code, appFile)).toEqual([expect.stringMatching(/^sizhong\/saga-records-in-kit-only: Saga records are the kit's/)]);
    expect(await messages(code, join(repositoryRoot, 'packages', 'kit', 'src', 'saga', 'saga-log.ts'))).toEqual([]);
  });
});
