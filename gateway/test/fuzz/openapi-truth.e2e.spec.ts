// Proves /openapi.json is the whole truth for a client that knows nothing else: it is valid OpenAPI 3.1 (openapi-spec-validator), and schemathesis, generating seeded requests from it alone for every operation as each role (real HTTP → gateway → real gRPC → escrow), finds no server error, no answer outside the document, no valid request refused and no undeclared method answered but with 405 — and reaches every operation, including ones added later.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findRepositoryRoot } from '@sizhong/testkit';
import * as escrowCampaignLimits from '../../../services/escrow/src/domain/campaign/limits';
import { campaignLimits } from '../../src/escrow/campaign-views';
import { documentedOperations, type FuzzReport, pruneOldReports, readFuzzReport } from './fuzz-report';
import { type FuzzTarget, startFuzzTarget } from './fuzz-target';
import { ensurePythonTools, fuzzDirectory, type PythonTools, runPythonModule } from './python-tools';

/** Fixed, so a failure reproduces; SIZHONG_FUZZ_SEED explores others. */
const seed = process.env.SIZHONG_FUZZ_SEED ?? '20260601';
/** Reports of this many runs stay in .cache/fuzz/. */
const reportsKept = 5;
/** The first run creates the Python environment (about half a minute) before anything else. */
const setupTimeoutMs = 20 * 60_000;
/**
 * With four services behind the gateway (about 70 operations) the run takes a few minutes on two
 * idle cores and more on a busy machine; this bound only stops a hung one.
 */
const fuzzTimeoutMs = 15 * 60_000;

let tools: PythonTools;
let target: FuzzTarget;
let document: { openapi: string; paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string; required?: boolean }> }>> };
let reportDirectory: string;

beforeAll(async () => {
  tools = await ensurePythonTools();
  target = await startFuzzTarget('gateway-fuzz');
  document = (await target.gateway.http.get('/openapi.json')).body;
  const reportsDirectory = join(findRepositoryRoot(), '.cache', 'fuzz');
  pruneOldReports(reportsDirectory, reportsKept - 1);
  reportDirectory = join(reportsDirectory, new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(reportDirectory, { recursive: true });
}, setupTimeoutMs);

afterAll(async () => {
  await target?.close();
});

async function validateDocument(name: string, value: unknown) {
  const file = join(reportDirectory, name);
  writeFileSync(file, JSON.stringify(value, null, 2));
  return runPythonModule(tools, 'openapi_spec_validator', ['--schema', '3.1', '--validation-errors', 'all', file], {
    cwd: reportDirectory,
    environment: process.env,
    timeoutMs: 60_000,
    logFile: `${file}.log`,
  });
}

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1 by openapi-spec-validator', async () => {
    const validated = await validateDocument('openapi.json', document);
    expect({ exitCode: validated.exitCode, output: validated.output.trim() }).toEqual({ exitCode: 0, output: expect.stringMatching(/: OK$/) });
  });

  it('fails the validator when a path parameter is optional (the check is not vacuous)', async () => {
    const broken = structuredClone(document);
    const accept = broken.paths['/v1/campaigns/{id}/milestones/{n}/accept']?.post?.parameters?.find((parameter) => parameter.name === 'n');
    expect(accept).toBeDefined();
    accept!.required = false;
    const validated = await validateDocument('openapi-broken.json', broken);
    expect(validated.exitCode).not.toBe(0);
    expect(validated.output).toMatch(/required/);
  });

  it("documents escrow's own campaign limits", () => {
    expect(campaignLimits).toEqual({
      titleLengthMax: escrowCampaignLimits.titleLengthMax,
      descriptionLengthMax: escrowCampaignLimits.descriptionLengthMax,
      tiersPerCampaignMax: escrowCampaignLimits.tiersPerCampaignMax,
      tierQuantityMax: escrowCampaignLimits.tierQuantityMax,
      milestonesPerCampaignMax: escrowCampaignLimits.milestonesPerCampaignMax,
      amountMinorMax: escrowCampaignLimits.campaignAmountMinorMax,
    });
  });
});

describe('schemathesis against the running gateway', () => {
  let report: FuzzReport;
  let output: string;
  let exitCode: number | null;

  beforeAll(async () => {
    // From a file: given the document's URL, schemathesis leaves GET /openapi.json itself out.
    const documentFile = join(reportDirectory, 'fuzzed-openapi.json');
    writeFileSync(documentFile, JSON.stringify(document));
    const junitFile = join(reportDirectory, 'schemathesis.junit.xml');
    const ndjsonFile = join(reportDirectory, 'schemathesis.ndjson');
    const run = await runPythonModule(
      tools,
      'schemathesis.cli',
      [
        '--config-file',
        join(fuzzDirectory, 'schemathesis.toml'),
        '--no-color',
        'run',
        documentFile,
        '--url',
        target.url,
        '--seed',
        seed,
        ...(process.env.SIZHONG_FUZZ_MAX_EXAMPLES ? ['--max-examples', process.env.SIZHONG_FUZZ_MAX_EXAMPLES] : []),
        '--report',
        'junit,ndjson',
        '--report-junit-path',
        junitFile,
        '--report-ndjson-path',
        ndjsonFile,
      ],
      {
        cwd: reportDirectory,
        environment: {
          ...process.env,
          PYTHONPATH: fuzzDirectory,
          // No __pycache__ beside the hooks in the clone.
          PYTHONDONTWRITEBYTECODE: '1',
          SCHEMATHESIS_HOOKS: 'sizhong_fuzz_hooks',
          SIZHONG_FUZZ_TOKENS: JSON.stringify(target.tokens),
          SIZHONG_FUZZ_GATEWAY_URL: target.url,
        },
        timeoutMs: fuzzTimeoutMs,
        logFile: join(reportDirectory, 'schemathesis.log'),
      },
    );
    output = run.output;
    exitCode = run.exitCode;
    report = readFuzzReport(junitFile, ndjsonFile);
    process.stderr.write(`[fuzz] schemathesis ${tools.schemathesisVersion}, seed ${seed}: ${report.requestsCount} requests; reports in ${reportDirectory}\n`);
  }, fuzzTimeoutMs + 60_000);

  const failureSummary = () => `\n${output.split('\n').slice(-80).join('\n')}\n(reports in ${reportDirectory})`;

  it('finds no failure on any operation', () => {
    const failures = [...report.failures].map(
      ([operation, found]) => `${operation}:\n${found.map((text) => text.split('\n').slice(0, 14).map((line) => `    ${line}`).join('\n')).join('\n')}`,
    );
    if (failures.length > 0) throw new Error(`schemathesis found failures on ${failures.length} operations:\n${failures.join('\n')}${failureSummary()}`);
    if (exitCode !== 0) throw new Error(`schemathesis exited with ${exitCode}${failureSummary()}`);
  });

  it('calls every documented operation, and gets answers', () => {
    const operations = documentedOperations(document);
    expect(operations.length).toBeGreaterThanOrEqual(26);
    expect(operations.filter((operation) => !report.answered.has(operation))).toEqual([]);
  });

  it('reaches past the 404s: campaigns are launched and pledged to, pledges read and cancelled', () => {
    const successes = (operation: string) => [...(report.statusCounts.get(operation) ?? new Map<number, number>())].filter(([status]) => status < 300).reduce((sum, [, count]) => sum + count, 0);
    expect({
      createCampaign: successes('POST /v1/campaigns') > 0,
      launchCampaign: successes('POST /v1/campaigns/{id}/launch') > 0,
      placePledge: successes('POST /v1/campaigns/{id}/pledges') > 0,
      getPledge: successes('GET /v1/pledges/{id}') > 0,
      cancelPledge: successes('POST /v1/pledges/{id}/cancel') > 0,
      signUp: successes('POST /v1/auth/signup') > 0,
      requestWithdrawal: successes('POST /v1/wallet/withdrawals') > 0,
    }).toEqual({ createCampaign: true, launchCampaign: true, placePledge: true, getPledge: true, cancelPledge: true, signUp: true, requestWithdrawal: true });
  });
});
