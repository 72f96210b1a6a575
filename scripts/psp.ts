/**
 * The sandbox payment provider: tells the platform that money arrived for a participant, the way a
 * real provider would, by POSTing a signed webhook to the gateway (`POST /v1/psp/webhooks`).
 *
 *   npm run psp -- deposit --participant pt_… --amount 100.00 [--currency CNY] [--gateway http://127.0.0.1:8080] [--event-id evt_…] [--replay]
 *
 * The amount is converted to minor units with string arithmetic (never floats). The body is
 * `{id, type: "deposit.succeeded", participantId, amount: {currency, amountMinor}}`, signed with
 * escrow's own `signPayload` and the secret escrow uses: PSP_WEBHOOK_SECRET, else the file
 * `<data directory>/psp-webhook-secret` (created on first use by whichever of escrow and this
 * script runs first). `--replay` sends the same signed event a second time, as a provider retries,
 * to show that escrow applies it once.
 *
 * Without `--gateway` it delivers to the platform `npm start` runs from this clone, and takes that
 * platform's data directory for the secret (kit's `findLocalPlatform`, which the admin command uses
 * too); with no such platform, to http://127.0.0.1:8080 and `<repository>/.data` (SIZHONG_DATA_DIR
 * moves it).
 *
 * Prints one JSON line per delivery on stdout. Exit codes: 0 delivered, 1 refused by the platform
 * or the gateway unreachable, 2 usage error.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { amountMinorMax, defaultDataDirectory, findLocalPlatform, type LocalPlatform, noLocalPlatformMessage, resolveLocalSecret } from '@sizhong/kit';
import { signPayload } from '../services/escrow/src/app/payment-provider';

/** Decimal places of each currency the platform supports (escrow's platform currencies). */
export const minorDigitsByCurrency = { CNY: 2, USD: 2 } as const;
export type ProviderCurrency = keyof typeof minorDigitsByCurrency;

export const pspUsage = `Usage:
  npm run psp -- deposit --participant <participant id> --amount <decimal> [--currency <code>] [options]

  --participant  whose wallet receives the money, e.g. pt_0123…
  --amount       the amount in major units, e.g. 100 or 100.50 (at most as many decimals as the currency has)
  --currency     default CNY; ${Object.entries(minorDigitsByCurrency)
    .map(([currency, digits]) => `${currency} (${digits} decimals)`)
    .join(', ')}
  --gateway      the gateway's base URL (default: the platform \`npm start\` runs from this clone, else http://127.0.0.1:8080)
  --event-id     the provider's event id (default: a new random one); reuse one to resend an event
  --replay       send the same signed event twice, to see it applied once

Environment: PSP_WEBHOOK_SECRET (at least 32 characters; default: the secret in the running platform's data
directory, else in <repository>/.data, file psp-webhook-secret).`;

/** The same file name and minimum length escrow uses (services/escrow/src/escrow-service.ts). */
export const pspWebhookSecretFileName = 'psp-webhook-secret';
export const pspWebhookSecretLengthMin = 32;
export const gatewayUrlDefault = 'http://127.0.0.1:8080';
/** How long one delivery may take before the script gives up on it. */
export const deliveryTimeoutMs = 10_000;
/** Escrow's rule for provider event ids and participant ids (services/escrow/src/app/payment-provider.ts). */
const eventIdPattern = /^[A-Za-z0-9_-]{1,100}$/;
const participantIdPattern = /^[A-Za-z0-9_-]{1,64}$/;
const decimalPattern = /^(\d+)(?:\.(\d+))?$/;
/** Longer input cannot be an int64 of minor units; refusing it early keeps the message clear. */
const amountTextLengthMax = 40;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface DepositCommand {
  readonly participantId: string;
  readonly currency: ProviderCurrency;
  readonly amountMinor: bigint;
  readonly gatewayUrl: string;
  readonly eventId: string;
  readonly replay: boolean;
}

function isProviderCurrency(value: string): value is ProviderCurrency {
  return Object.hasOwn(minorDigitsByCurrency, value);
}

/** `"100.5"` CNY → 10050n: whole digits followed by the fraction padded to the currency's decimals. */
export function toMinorUnits(amount: string, currency: ProviderCurrency): bigint {
  const digits = minorDigitsByCurrency[currency];
  const match = amount.length <= amountTextLengthMax ? decimalPattern.exec(amount) : null;
  if (!match) throw new UsageError(`--amount "${amount}" is not a decimal amount such as 100 or 100.50`);
  const whole = match[1] ?? '';
  const fraction = match[2] ?? '';
  if (fraction.length > digits) throw new UsageError(`--amount "${amount}" has ${fraction.length} decimals; ${currency} has ${digits}`);
  const amountMinor = BigInt(`${whole}${fraction.padEnd(digits, '0')}`);
  if (amountMinor === 0n) throw new UsageError('--amount must be more than zero');
  if (amountMinor > amountMinorMax) throw new UsageError(`--amount "${amount}" is too large`);
  return amountMinor;
}

export function parseDepositCommand(
  argv: readonly string[],
  newEventId: () => string = () => `evt_${randomBytes(12).toString('hex')}`,
  gatewayUrlFallback: string = gatewayUrlDefault,
): DepositCommand {
  const [command, ...rest] = argv;
  if (command === undefined) throw new UsageError('no command given');
  if (command !== 'deposit') throw new UsageError(`unknown command "${command}"`);
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      strict: true,
      allowPositionals: false,
      options: {
        participant: { type: 'string' },
        amount: { type: 'string' },
        currency: { type: 'string' },
        gateway: { type: 'string' },
        'event-id': { type: 'string' },
        replay: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const participantId = values.participant;
  if (participantId === undefined) throw new UsageError('--participant is required');
  if (!participantIdPattern.test(participantId)) throw new UsageError(`--participant "${participantId}" is not a participant id (1–64 of A–Z a–z 0–9 _ -)`);
  // CNY, the platform's home currency, unless told otherwise.
  const currency = (values.currency ?? 'CNY').toUpperCase();
  if (!isProviderCurrency(currency)) throw new UsageError(`--currency "${values.currency}" is not supported; use ${Object.keys(minorDigitsByCurrency).join(' or ')}`);
  if (values.amount === undefined) throw new UsageError('--amount is required');
  const amountMinor = toMinorUnits(values.amount, currency);
  const eventId = values['event-id'] ?? newEventId();
  if (!eventIdPattern.test(eventId)) throw new UsageError(`--event-id "${eventId}" must be 1–100 of A–Z a–z 0–9 _ -`);
  return { participantId, currency, amountMinor, gatewayUrl: parseGatewayUrl(values.gateway ?? gatewayUrlFallback), eventId, replay: values.replay ?? false };
}

function parseGatewayUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--gateway "${text}" is not a URL such as ${gatewayUrlDefault}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--gateway "${text}" must be an http or https URL`);
  return url.href.replace(/\/+$/, '');
}

/** The webhook body, exactly the bytes that are signed and sent. */
export function depositEventBody(command: DepositCommand): string {
  return JSON.stringify({
    id: command.eventId,
    type: 'deposit.succeeded',
    participantId: command.participantId,
    amount: { currency: command.currency, amountMinor: command.amountMinor.toString() },
  });
}

/** The secret escrow verifies with: the configured one, else the shared local file in `dataDirectory`. */
export function resolveWebhookSecret(configured: string | undefined, dataDirectory: string = defaultDataDirectory()): Uint8Array {
  const value = configured === undefined || configured.trim() === '' ? undefined : configured;
  if (value !== undefined && value.length < pspWebhookSecretLengthMin) {
    throw new UsageError(`PSP_WEBHOOK_SECRET must be at least ${pspWebhookSecretLengthMin} characters (escrow refuses shorter ones)`);
  }
  return resolveLocalSecret({ configured: value, dataDirectory, fileName: pspWebhookSecretFileName, lengthMin: pspWebhookSecretLengthMin }).secret;
}

interface Delivery {
  readonly status: number;
  readonly body: Record<string, unknown> | undefined;
}

async function deliver(gatewayUrl: string, body: string, signature: string): Promise<Delivery> {
  const response = await fetch(`${gatewayUrl}/v1/psp/webhooks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'sizhong-signature': signature },
    body,
    signal: AbortSignal.timeout(deliveryTimeoutMs),
  });
  const text = await response.text();
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed };
}

function describeFailure(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${deliveryTimeoutMs} ms`;
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

async function main(argv: readonly string[]): Promise<number> {
  const [first] = argv;
  if (first === 'help' || first === '--help' || first === '-h') {
    process.stdout.write(`${pspUsage}\n`);
    return 0;
  }
  const platform: LocalPlatform | undefined = findLocalPlatform();
  // SIZHONG_DATA_DIR set here wins, as it does for escrow.
  const dataDirectory = process.env['SIZHONG_DATA_DIR'] === undefined && platform !== undefined ? platform.dataDirectory : defaultDataDirectory();
  let command: DepositCommand;
  let secret: Uint8Array;
  try {
    command = parseDepositCommand(argv, undefined, platform?.gatewayUrl);
    secret = resolveWebhookSecret(process.env['PSP_WEBHOOK_SECRET'], dataDirectory);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`psp: ${error.message}\n\n${pspUsage}\n`);
    return 2;
  }

  const body = depositEventBody(command);
  // A retry by a real provider resends the very same request: same bytes, same signature.
  const signature = signPayload(secret, body, Math.floor(Date.now() / 1_000));
  const deliveries = command.replay ? 2 : 1;
  for (let delivery = 1; delivery <= deliveries; delivery += 1) {
    let answer: Delivery;
    try {
      answer = await deliver(command.gatewayUrl, body, signature);
    } catch (error) {
      const gatewayGiven = argv.some((argument) => argument === '--gateway' || argument.startsWith('--gateway='));
      const hint = platform === undefined && !gatewayGiven ? `; ${noLocalPlatformMessage()}, or pass --gateway` : '';
      process.stderr.write(`psp: cannot deliver to ${command.gatewayUrl}: ${describeFailure(error)}${hint}\n`);
      return 1;
    }
    if (answer.status !== 200) {
      const code = typeof answer.body?.['code'] === 'string' ? answer.body['code'] : 'no problem code';
      const detail = typeof answer.body?.['detail'] === 'string' ? `: ${answer.body['detail']}` : '';
      process.stderr.write(`psp: the gateway refused event ${command.eventId} with ${answer.status} ${code}${detail}\n`);
      return 1;
    }
    process.stdout.write(
      `${JSON.stringify({
        delivery,
        status: answer.status,
        eventId: answer.body?.['eventId'],
        outcome: answer.body?.['outcome'],
        participantId: command.participantId,
        amount: { currency: command.currency, amountMinor: command.amountMinor.toString() },
      })}\n`,
    );
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (exitCode) => process.exit(exitCode),
    (error: unknown) => {
      process.stderr.write(`psp: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
