/**
 * Income and net worth at rest: AES-256-GCM with a 96-bit random IV per write, the investor id as
 * additional authenticated data (a sealed profile copied onto another investor does not open),
 * and a key derived with HKDF-SHA256 from EQUITY_PROFILE_KEY or the secret generated under .data/.
 * The figures never leave this module except to the investor's own reads and the limit formula.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { type Money } from '@sizhong/kit';
import type { SealedFinancials } from '../domain';

const keyVersion = 1;
const ivBytes = 12;

export interface OpenFinancials {
  readonly annualIncome: Money;
  readonly netWorth: Money;
}

export class ProfileCipher {
  private readonly key: Buffer;

  constructor(secret: Uint8Array) {
    if (secret.length < 32) throw new Error('the profile key secret needs at least 32 bytes');
    this.key = Buffer.from(hkdfSync('sha256', secret, Buffer.from('sizhong-equity'), Buffer.from('investor profile v1'), 32));
  }

  seal(investorId: string, financials: OpenFinancials): SealedFinancials {
    const iv = randomBytes(ivBytes);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(investorId, 'utf8'));
    const plaintext = JSON.stringify({
      currency: financials.annualIncome.currency,
      annualIncomeMinor: financials.annualIncome.amountMinor.toString(),
      netWorthMinor: financials.netWorth.amountMinor.toString(),
    });
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return { keyVersion, iv: iv.toString('base64'), ciphertext: ciphertext.toString('base64'), tag: cipher.getAuthTag().toString('base64') };
  }

  open(investorId: string, sealed: SealedFinancials): OpenFinancials {
    if (sealed.keyVersion !== keyVersion) throw new Error(`profile sealed with key version ${sealed.keyVersion}; this process has ${keyVersion}`);
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(Buffer.from(investorId, 'utf8'));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    const plaintext = Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]).toString('utf8');
    const parsed = JSON.parse(plaintext) as { currency: string; annualIncomeMinor: string; netWorthMinor: string };
    return {
      annualIncome: { currency: parsed.currency, amountMinor: BigInt(parsed.annualIncomeMinor) },
      netWorth: { currency: parsed.currency, amountMinor: BigInt(parsed.netWorthMinor) },
    };
  }
}
