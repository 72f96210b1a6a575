/**
 * Money arrives as `{currency, amountMinor}` with a decimal string of minor units; it is shown
 * without ever passing through a float (bigint division into major and minor parts).
 */
export interface Money {
  readonly currency: string;
  readonly amountMinor: string;
}

const minorDigits: Record<string, number> = { CNY: 2, USD: 2, JPY: 0 };

export function formatMoney(money: Money | undefined, locale: string): string {
  if (!money) return '—';
  const digits = minorDigits[money.currency] ?? 2;
  let minor: bigint;
  try {
    minor = BigInt(money.amountMinor);
  } catch {
    return `${money.amountMinor} ${money.currency}`;
  }
  const negative = minor < 0n;
  const absolute = negative ? -minor : minor;
  const scale = 10n ** BigInt(digits);
  const major = absolute / scale;
  const fraction = (absolute % scale).toString().padStart(digits, '0');
  const grouped = new Intl.NumberFormat(locale, { useGrouping: true }).format(major);
  const symbol = money.currency === 'CNY' ? '¥' : money.currency === 'USD' ? '$' : '';
  const number = `${negative ? '−' : ''}${symbol}${grouped}${digits > 0 ? `.${fraction}` : ''}`;
  return symbol ? number : `${number} ${money.currency}`;
}

/** Major units as a number, for charts only (never for arithmetic on money). */
export function chartValue(money: Money | undefined): number {
  if (!money) return 0;
  const digits = minorDigits[money.currency] ?? 2;
  const minor = BigInt(money.amountMinor);
  const scale = 10n ** BigInt(digits);
  return Number(minor / scale) + Number(minor % scale) / Number(scale);
}

/** pledged / goal in basis points, capped at 10 000 only by the caller (overfunding is real). */
export function progressBps(pledged: Money | undefined, goal: Money | undefined): number {
  if (!pledged || !goal) return 0;
  const goalMinor = BigInt(goal.amountMinor);
  if (goalMinor <= 0n) return 0;
  return Number((BigInt(pledged.amountMinor) * 10_000n) / goalMinor);
}

/** Parses what a person typed ("12.5", "1,000") into minor units; undefined when it is not money. */
export function parseMajor(text: string, currency: string): string | undefined {
  const digits = minorDigits[currency] ?? 2;
  const cleaned = text.replace(/[,\s，]/g, '');
  const match = /^(\d{1,15})(?:\.(\d*))?$/.exec(cleaned);
  if (!match) return undefined;
  const fraction = match[2] ?? '';
  if (fraction.length > digits) return undefined;
  const minor = BigInt(match[1] ?? '0') * 10n ** BigInt(digits) + BigInt(fraction.padEnd(digits, '0') || '0');
  return minor > 0n ? minor.toString() : undefined;
}
