// Proves docs/gateway.md stays true: it names every gateway setting with its default and every named limit with its value.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeConfig } from '@sizhong/kit';
import { gatewayConfigShape } from '../src/config';
import { idempotencyAttemptsMax, idempotentResponseBytesMax } from '../src/http/idempotency';
import * as limits from '../src/http/limits';
import { rateLimitBucketsMax } from '../src/http/rate-limit';

const documentation = readFileSync(join(__dirname, '..', '..', 'docs', 'gateway.md'), 'utf8');
const rows = documentation.split('\n').filter((line) => line.startsWith('|'));

function rowNaming(name: string): string | undefined {
  return rows.find((row) => row.includes(`\`${name}\``));
}

describe('docs/gateway.md', () => {
  it.each(describeConfig(gatewayConfigShape).map((setting) => [setting.name, setting.defaultValue]))('documents %s with its default %s', (name, defaultValue) => {
    const row = rowNaming(name);
    expect(row).toBeDefined();
    if (defaultValue !== '(unset)') expect(row).toContain(`| ${defaultValue} |`);
  });

  const numericLimits = Object.entries({ ...limits, idempotencyAttemptsMax, idempotentResponseBytesMax, rateLimitBucketsMax }).filter(
    (entry): entry is [string, number] => typeof entry[1] === 'number',
  );

  it.each(numericLimits)('documents the limit %s = %d', (name, value) => {
    const row = rowNaming(name);
    expect(row).toBeDefined();
    expect(row).toMatch(new RegExp(`\\b${value}\\b`));
  });
});
