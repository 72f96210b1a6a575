// Proves the ledger's pure rules: every transfer transition and refusal, and (property-based) that any
// sequence of transfers, posts, voids, expiries and crashes between legs conserves money and never overdraws.
import { amountMinorMax, amountMinorMin, DomainError, InvariantViolation } from '@sizhong/kit/domain';
import fc from 'fast-check';
import { emptyBalance, escrowAccount, externalAccount, feeAccount, walletAccount, accountFromId, type Account, type Balance } from './account';
import { checkInvariants } from './invariants';
import { applyLeg, type Leg } from './leg';
import {
  completeRequest,
  completeResolution,
  isFinal,
  nextLegs,
  rejectRequest,
  requestTransfer,
  sameRequest,
  startExpire,
  startPost,
  startVoid,
  type Transfer,
  type TransferRequest,
} from './transfer';

const now = new Date('2026-11-25T00:00:00Z');
const later = (milliseconds: number) => new Date(now.getTime() + milliseconds);
const alice = walletAccount('pt_alice', 'CNY');
const escrow = escrowAccount('campaign', 'cp_1', 'CNY');
const request = (overrides: Partial<TransferRequest> = {}): TransferRequest => ({
  id: 'tr_1',
  mode: 'two_phase',
  debitAccountId: alice.id,
  creditAccountId: escrow.id,
  currency: 'CNY',
  amountMinor: 1_000n,
  reference: { kind: 'pledge', id: 'pl_1' },
  timeoutMs: 60_000,
  ...overrides,
});

describe('accounts', () => {
  it('have self-describing ids; only external accounts may overdraw', () => {
    expect(alice.id).toBe('wallet:pt_alice:CNY');
    expect(escrow.id).toBe('escrow:campaign:cp_1:CNY');
    expect(feeAccount('CNY').id).toBe('fee:platform:CNY');
    expect(externalAccount('psp', 'CNY')).toMatchObject({ id: 'external:psp:CNY', overdraftAllowed: true });
    expect(accountFromId(escrow.id)).toEqual(escrow);
    expect(accountFromId('nonsense')).toBeUndefined();
    expect(accountFromId('wallet:pt_x:cny')).toBeUndefined();
    expect(() => walletAccount('has space', 'CNY')).toThrow(InvariantViolation);
  });
});

describe('legs', () => {
  it('refuses to overdraw, and lets external accounts go negative', () => {
    expect(() => applyLeg(alice, { available: 5n, held: 0n }, { kind: 'debit', amountMinor: 6n })).toThrow(expect.objectContaining({ code: 'INSUFFICIENT_FUNDS' }));
    expect(() => applyLeg(alice, { available: 5n, held: 0n }, { kind: 'hold', amountMinor: 6n })).toThrow(expect.objectContaining({ code: 'INSUFFICIENT_FUNDS' }));
    expect(applyLeg(externalAccount('psp', 'CNY'), emptyBalance, { kind: 'debit', amountMinor: 6n })).toEqual({ available: -6n, held: 0n });
  });

  it('refuses a leg that would take a balance out of int64, on either side', () => {
    const near = { available: amountMinorMax - 5n, held: 0n };
    expect(() => applyLeg(alice, near, { kind: 'credit', amountMinor: 6n })).toThrow(expect.objectContaining({ code: 'LIMIT_EXCEEDED' }));
    expect(applyLeg(alice, near, { kind: 'credit', amountMinor: 5n })).toEqual({ available: amountMinorMax, held: 0n });
    const external = externalAccount('psp', 'CNY');
    expect(() => applyLeg(external, { available: amountMinorMin + 5n, held: 0n }, { kind: 'debit', amountMinor: 6n })).toThrow(expect.objectContaining({ code: 'LIMIT_EXCEEDED' }));
  });

  it('holds, then releases with a partial post returning the rest', () => {
    const held = applyLeg(alice, { available: 10n, held: 0n }, { kind: 'hold', amountMinor: 10n });
    expect(held).toEqual({ available: 0n, held: 10n });
    expect(applyLeg(alice, held, { kind: 'release', heldMinor: 10n, postedMinor: 7n })).toEqual({ available: 3n, held: 0n });
  });

  it('treats malformed legs as programmer errors', () => {
    expect(() => applyLeg(alice, emptyBalance, { kind: 'credit', amountMinor: 0n })).toThrow(InvariantViolation);
    expect(() => applyLeg(alice, { available: 0n, held: 5n }, { kind: 'release', heldMinor: 5n, postedMinor: 6n })).toThrow(InvariantViolation);
    expect(() => applyLeg(alice, { available: 0n, held: 4n }, { kind: 'release', heldMinor: 5n, postedMinor: 0n })).toThrow(InvariantViolation);
  });
});

describe('transfers', () => {
  it('validates requests', () => {
    expect(() => requestTransfer(request({ amountMinor: 0n }), now)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => requestTransfer(request({ creditAccountId: alice.id }), now)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => requestTransfer(request({ mode: 'single_phase' }), now)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => requestTransfer(request({ timeoutMs: 0 }), now)).toThrow(expect.objectContaining({ code: 'LIMIT_EXCEEDED' }));
    expect(() => requestTransfer(request({ timeoutMs: 366 * 24 * 3_600_000 + 1 }), now)).toThrow(expect.objectContaining({ code: 'LIMIT_EXCEEDED' }));
    expect(requestTransfer(request({ timeoutMs: 366 * 24 * 3_600_000 }), now).state).toBe('requested');
  });

  it('runs a single-phase transfer as debit then credit, then posted', () => {
    const transfer = requestTransfer(request({ mode: 'single_phase', timeoutMs: undefined }), now);
    expect(nextLegs(transfer).map((leg) => [leg.accountId, leg.legKind])).toEqual([
      [alice.id, 'debit'],
      [escrow.id, 'credit'],
    ]);
    const posted = completeRequest(transfer, now);
    expect(posted).toMatchObject({ state: 'posted', postedMinor: 1_000n, resolvedAt: now });
    expect(nextLegs(posted)).toEqual([]);
    expect(() => startPost(posted, undefined, now)).toThrow(expect.objectContaining({ code: 'TRANSFER_NOT_PENDING' }));
  });

  it('posts a pending transfer in part: release the hold, credit the posted part', () => {
    const pending = completeRequest(requestTransfer(request(), now), now);
    expect(pending.state).toBe('pending');
    const posting = startPost(pending, 600n, now);
    expect(nextLegs(posting)).toEqual([
      { accountId: alice.id, legKind: 'release', leg: { kind: 'release', heldMinor: 1_000n, postedMinor: 600n } },
      { accountId: escrow.id, legKind: 'credit', leg: { kind: 'credit', amountMinor: 600n } },
    ]);
    expect(completeResolution(posting, now)).toMatchObject({ state: 'posted', postedMinor: 600n });
    expect(nextLegs(startPost(pending, 0n, now))).toHaveLength(1);
    expect(() => startPost(pending, 1_001n, now)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => startPost(pending, -1n, now)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('resolves a pending transfer at most once', () => {
    const pending = completeRequest(requestTransfer(request(), now), now);
    const voided = completeResolution(startVoid(pending, now), now);
    expect(voided.state).toBe('voided');
    expect(() => startVoid(voided, now)).toThrow(expect.objectContaining({ code: 'TRANSFER_NOT_PENDING' }));
    expect(() => startPost(voided, undefined, now)).toThrow(expect.objectContaining({ code: 'TRANSFER_NOT_PENDING' }));
    expect(() => startPost(startPost(pending, undefined, now), undefined, now)).toThrow(expect.objectContaining({ code: 'TRANSFER_NOT_PENDING' }));
  });

  it('expires only after the timeout, and an expired transfer can no longer be posted', () => {
    const pending = completeRequest(requestTransfer(request(), now), now);
    expect(() => startExpire(pending, later(59_999))).toThrow(expect.objectContaining({ code: 'INVALID_STATE' }));
    expect(() => startPost(pending, undefined, later(60_000))).toThrow(expect.objectContaining({ code: 'TRANSFER_EXPIRED' }));
    const expired = completeResolution(startExpire(pending, later(60_000)), later(60_000));
    expect(expired.state).toBe('expired');
    expect(() => startVoid(expired, later(60_001))).toThrow(expect.objectContaining({ code: 'TRANSFER_EXPIRED' }));
  });

  it('records a refused request as rejected, with nothing left to apply', () => {
    const rejected = rejectRequest(requestTransfer(request(), now), 'INSUFFICIENT_FUNDS', now);
    expect(rejected).toMatchObject({ state: 'rejected', rejectionCode: 'INSUFFICIENT_FUNDS' });
    expect(isFinal(rejected)).toBe(true);
    expect(nextLegs(rejected)).toEqual([]);
    expect(() => completeRequest(rejected, now)).toThrow(InvariantViolation);
  });

  it('tells a replay from a different request under the same id', () => {
    const transfer = requestTransfer(request(), now);
    expect(sameRequest(transfer, request())).toBe(true);
    expect(sameRequest(transfer, request({ amountMinor: 999n }))).toBe(false);
  });
});

/**
 * A reference model of the ledger: the pure rules driven by random operations, including crashes
 * between legs that a recovery pass completes later, as the storage layer's sweeper does.
 */
type Operation =
  | { kind: 'transfer'; mode: 'single_phase' | 'two_phase'; from: number; to: number; amount: bigint }
  | { kind: 'post'; which: number; share: number }
  | { kind: 'void'; which: number }
  | { kind: 'expire'; which: number }
  | { kind: 'crash'; legsBeforeCrash: number }
  | { kind: 'recover' };

const accounts: Account[] = [externalAccount('psp', 'CNY'), walletAccount('pt_a', 'CNY'), walletAccount('pt_b', 'CNY'), escrowAccount('campaign', 'c', 'CNY'), feeAccount('CNY')];

const operations = fc.oneof(
  fc.record({ kind: fc.constant('transfer' as const), mode: fc.constantFrom('single_phase' as const, 'two_phase' as const), from: fc.nat(4), to: fc.nat(4), amount: fc.bigInt({ min: 1n, max: 5_000n }) }),
  fc.record({ kind: fc.constant('post' as const), which: fc.nat(50), share: fc.integer({ min: 0, max: 100 }) }),
  fc.record({ kind: fc.constant('void' as const), which: fc.nat(50) }),
  fc.record({ kind: fc.constant('expire' as const), which: fc.nat(50) }),
  fc.record({ kind: fc.constant('crash' as const), legsBeforeCrash: fc.nat(1) }),
  fc.record({ kind: fc.constant('recover' as const) }),
);

class ReferenceLedger {
  readonly balances = new Map<string, Balance>(accounts.map((account) => [account.id, emptyBalance]));
  readonly transfers: Transfer[] = [];
  readonly applied = new Map<string, Leg[]>();
  readonly appliedKeys = new Set<string>();
  readonly resolutions = new Map<string, number>();
  private crashAfter: number | undefined;
  private clockMs = now.getTime();

  now(): Date {
    this.clockMs += 1_000;
    return new Date(this.clockMs);
  }

  crashNext(legsBeforeCrash: number): void {
    this.crashAfter = legsBeforeCrash;
  }

  /** Applies the transfer's remaining legs; a pending crash stops after some of them. */
  advance(transfer: Transfer): Transfer {
    let appliedNow = 0;
    for (const { accountId, legKind, leg } of nextLegs(transfer)) {
      const key = `${transfer.id}:${legKind}`;
      if (this.appliedKeys.has(key)) continue;
      if (this.crashAfter !== undefined && Number.isFinite(this.crashAfter) && appliedNow >= this.crashAfter) {
        this.crashAfter = undefined;
        return transfer;
      }
      const account = accounts.find((candidate) => candidate.id === accountId)!;
      try {
        this.balances.set(accountId, applyLeg(account, this.balances.get(accountId)!, leg));
      } catch (error) {
        if (error instanceof DomainError && transfer.state === 'requested' && appliedNow === 0) return rejectRequest(transfer, error.code, this.now());
        throw error;
      }
      this.appliedKeys.add(key);
      this.applied.set(transfer.id, [...(this.applied.get(transfer.id) ?? []), leg]);
      appliedNow += 1;
    }
    if (transfer.state === 'requested') return completeRequest(transfer, this.now());
    if (transfer.state === 'posting' || transfer.state === 'voiding' || transfer.state === 'expiring') {
      this.resolutions.set(transfer.id, (this.resolutions.get(transfer.id) ?? 0) + 1);
      return completeResolution(transfer, this.now());
    }
    return transfer;
  }

  replace(transfer: Transfer): void {
    this.transfers[this.transfers.findIndex((candidate) => candidate.id === transfer.id)] = transfer;
  }

  run(operation: Operation): void {
    switch (operation.kind) {
      case 'transfer': {
        if (operation.from === operation.to) return;
        const from = accounts[operation.from]!;
        const to = accounts[operation.to]!;
        const transfer = requestTransfer(
          { id: `t${this.transfers.length}`, mode: operation.mode, debitAccountId: from.id, creditAccountId: to.id, currency: 'CNY', amountMinor: operation.amount, reference: { kind: 'test', id: 'x' }, ...(operation.mode === 'two_phase' ? { timeoutMs: 5_000 } : {}) },
          this.now(),
        );
        this.transfers.push(transfer);
        this.replace(this.advance(transfer));
        return;
      }
      case 'post':
      case 'void':
      case 'expire': {
        const transfer = this.transfers[operation.which % Math.max(1, this.transfers.length)];
        if (!transfer) return;
        const at = this.now();
        try {
          const started =
            operation.kind === 'post'
              ? startPost(transfer, (transfer.amountMinor * BigInt(operation.share)) / 100n, at)
              : operation.kind === 'void'
                ? startVoid(transfer, at)
                : startExpire(transfer, new Date(at.getTime() + 10_000));
          this.replace(started);
          this.replace(this.advance(started));
        } catch (error) {
          if (!(error instanceof DomainError)) throw error;
        }
        return;
      }
      case 'crash':
        this.crashNext(operation.legsBeforeCrash);
        return;
      case 'recover':
        for (const transfer of this.transfers) if (!isFinal(transfer) && transfer.state !== 'pending') this.replace(this.advance(transfer));
    }
  }

  report() {
    return checkInvariants(
      accounts.map((account) => ({ account, balance: this.balances.get(account.id)! })),
      this.transfers.filter((transfer) => !isFinal(transfer)).map((transfer) => ({ transferId: transfer.id, currency: 'CNY', appliedLegs: this.applied.get(transfer.id) ?? [] })),
    );
  }
}

describe('any sequence of ledger operations', () => {
  it('conserves money, never overdraws, and resolves each pending transfer at most once', () => {
    fc.assert(
      fc.property(fc.array(operations, { minLength: 1, maxLength: 80 }), (sequence) => {
        const ledger = new ReferenceLedger();
        // Seed money from outside, as deposits do.
        ledger.run({ kind: 'transfer', mode: 'single_phase', from: 0, to: 1, amount: 10_000n });
        ledger.run({ kind: 'transfer', mode: 'single_phase', from: 0, to: 2, amount: 10_000n });
        for (const operation of sequence) {
          ledger.run(operation);
          const report = ledger.report();
          expect(report.conserved).toBe(true);
          expect(report.negativeAccounts).toEqual([]);
        }
        // The process comes back healthy: a last recovery pass finishes everything in flight.
        ledger.crashNext(Number.POSITIVE_INFINITY);
        ledger.run({ kind: 'recover' });
        const final = ledger.report();
        expect(final.totalsByCurrency['CNY']?.inFlightMinor).toBe(0n);
        expect([...ledger.resolutions.values()].every((count) => count === 1)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('reports a broken ledger as not conserved', () => {
    const report = checkInvariants([{ account: alice, balance: { available: 5n, held: 0n } }], []);
    expect(report.conserved).toBe(false);
    const negative = checkInvariants([{ account: alice, balance: { available: -5n, held: 0n } }, { account: externalAccount('psp', 'CNY'), balance: { available: 5n, held: 0n } }], []);
    expect(negative.conserved).toBe(true);
    expect(negative.negativeAccounts).toEqual([{ accountId: alice.id, available: -5n, held: 0n }]);
  });
});
