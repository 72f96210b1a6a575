// Proves the ledger against the real MongoDB-wire server: transfers of both phases, refusals, idempotent
// replays, concurrent writers that never overdraw or lose an entry, legs applied once even when repeated
// long after, saga holds resumed after a crash, recovery of half-applied transfers, and the transfer facts.
import { AggregateStore, connectMongo, decodeEnvelope, ManualClock, type MongoConnection } from '@sizhong/kit';
import { Binary } from 'mongodb';
import { testDatabaseName, testInfrastructure } from '@sizhong/testkit';
import pino from 'pino';
import { escrowAccount, externalAccount, feeAccount, walletAccount } from '../domain/ledger/account';
import { requestTransfer, type Transfer, type TransferRequest } from '../domain/ledger/transfer';
import { AccountStore, legKeysKept } from '../storage/account-store';
import { transferCodec } from '../storage/transfer-codec';
import { Ledger, recoveryAgeDefaultMs } from './ledger';

const logger = pino({ level: 'silent' });
const psp = externalAccount('psp', 'CNY');
const campaignEscrow = escrowAccount('campaign', 'cp_1', 'CNY');
const clock = new ManualClock('2026-11-25T00:00:00Z');
let connections: MongoConnection[] = [];
let ledgers: Ledger[] = [];
let ledger: Ledger;
let accounts: AccountStore;
let transferStore: AggregateStore<Transfer>;

function build(mongo: MongoConnection): { ledger: Ledger; accounts: AccountStore; transfers: AggregateStore<Transfer> } {
  const accountStore = new AccountStore(mongo, logger);
  const transfers = new AggregateStore<Transfer>(mongo, 'transfers', transferCodec, logger);
  return { ledger: new Ledger({ accounts: accountStore, transfers, clock, topicPrefix: '' }), accounts: accountStore, transfers };
}

const single = (id: string, from: string, to: string, amountMinor: bigint): TransferRequest => ({
  id,
  mode: 'single_phase',
  debitAccountId: from,
  creditAccountId: to,
  currency: 'CNY',
  amountMinor,
  reference: { kind: 'test', id },
});
const pending = (id: string, from: string, to: string, amountMinor: bigint, timeoutMs = 60_000): TransferRequest => ({ ...single(id, from, to, amountMinor), mode: 'two_phase', timeoutMs });

beforeAll(async () => {
  const { mongoUrl } = testInfrastructure();
  const database = testDatabaseName('ledger');
  connections = await Promise.all(Array.from({ length: 3 }, () => connectMongo(mongoUrl, database)));
  const built = connections.map(build);
  ledgers = built.map((entry) => entry.ledger);
  ledger = ledgers[0]!;
  accounts = built[0]!.accounts;
  transferStore = built[0]!.transfers;
  await accounts.ensureIndexes();
  await transferStore.ensureIndexes();
  for (const account of [psp, campaignEscrow, feeAccount('CNY')]) await ledger.openAccount(account);
});

afterAll(async () => {
  await connections[0]?.db.dropDatabase();
  await Promise.all(connections.map((connection) => connection.close()));
});

describe('Ledger', () => {
  it('moves money from the external account into a wallet and records both legs', async () => {
    const alice = walletAccount('pt_alice', 'CNY');
    const transfer = await ledger.createTransfer(single('tr_deposit_alice', psp.id, alice.id, 10_000n));
    expect(transfer).toMatchObject({ state: 'posted', postedMinor: 10_000n });
    await expect(ledger.balance(alice.id)).resolves.toEqual({ available: 10_000n, held: 0n });
    await expect(ledger.balance(psp.id)).resolves.toEqual({ available: -10_000n, held: 0n });
    const [entry] = await ledger.entries(alice.id, 10);
    expect(entry).toMatchObject({ seq: 1, leg: 'credit', availableDelta: 10_000n, available: 10_000n, transferId: 'tr_deposit_alice' });
  });

  it('refuses an overdraft, writes nothing, and answers a replay with the same refusal', async () => {
    const bob = walletAccount('pt_bob', 'CNY');
    await expect(ledger.createTransfer(single('tr_overdraft', bob.id, campaignEscrow.id, 1n))).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    await expect(ledger.createTransfer(single('tr_overdraft', bob.id, campaignEscrow.id, 1n))).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    await expect(ledger.transfer('tr_overdraft')).resolves.toMatchObject({ state: 'rejected', rejectionCode: 'INSUFFICIENT_FUNDS' });
    await expect(ledger.entries(bob.id, 10)).resolves.toEqual([]);
  });

  it('replays an identical request and refuses a different one under the same id', async () => {
    const carol = walletAccount('pt_carol', 'CNY');
    const first = await ledger.createTransfer(single('tr_replay', psp.id, carol.id, 500n));
    await expect(ledger.createTransfer(single('tr_replay', psp.id, carol.id, 500n))).resolves.toEqual(first);
    await expect(ledger.createTransfer(single('tr_replay', psp.id, carol.id, 501n))).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    await expect(ledger.balance(carol.id)).resolves.toEqual({ available: 500n, held: 0n });
  });

  it('refuses unknown accounts and mixed currencies', async () => {
    await expect(ledger.createTransfer(single('tr_unknown', psp.id, escrowAccount('campaign', 'nope', 'CNY').id, 1n))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(ledger.createTransfer(single('tr_usd', psp.id, walletAccount('pt_alice', 'USD').id, 1n))).rejects.toMatchObject({ code: 'CURRENCY_MISMATCH' });
    await expect(ledger.createTransfer(single('tr_bad', 'not-an-account', psp.id, 1n))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('holds a pending transfer, posts part of it, and returns the rest', async () => {
    const dave = walletAccount('pt_dave', 'CNY');
    await ledger.createTransfer(single('tr_deposit_dave', psp.id, dave.id, 1_000n));
    const held = await ledger.createTransfer(pending('tr_pledge_dave', dave.id, campaignEscrow.id, 800n));
    expect(held.state).toBe('pending');
    await expect(ledger.balance(dave.id)).resolves.toEqual({ available: 200n, held: 800n });
    const posted = await ledger.postPending('tr_pledge_dave', 600n);
    expect(posted).toMatchObject({ state: 'posted', postedMinor: 600n });
    await expect(ledger.balance(dave.id)).resolves.toEqual({ available: 400n, held: 0n });
    // The same post again returns the result; anything else finds it resolved.
    await expect(ledger.postPending('tr_pledge_dave', 600n)).resolves.toMatchObject({ state: 'posted' });
    await expect(ledger.postPending('tr_pledge_dave', 700n)).rejects.toMatchObject({ code: 'TRANSFER_NOT_PENDING' });
    await expect(ledger.voidPending('tr_pledge_dave')).rejects.toMatchObject({ code: 'TRANSFER_NOT_PENDING' });
  });

  it('voids a pending transfer and expires another after its timeout', async () => {
    const erin = walletAccount('pt_erin', 'CNY');
    await ledger.createTransfer(single('tr_deposit_erin', psp.id, erin.id, 1_000n));
    await ledger.createTransfer(pending('tr_void_erin', erin.id, campaignEscrow.id, 300n));
    await ledger.createTransfer(pending('tr_expire_erin', erin.id, campaignEscrow.id, 300n, 5_000));
    await expect(ledger.voidPending('tr_void_erin')).resolves.toMatchObject({ state: 'voided' });
    await expect(ledger.expirePending('tr_expire_erin')).rejects.toMatchObject({ code: 'INVALID_STATE' });
    clock.advance(5_000);
    await expect(ledger.postPending('tr_expire_erin')).rejects.toMatchObject({ code: 'TRANSFER_EXPIRED' });
    await expect(ledger.expirePending('tr_expire_erin')).resolves.toMatchObject({ state: 'expired' });
    await expect(ledger.balance(erin.id)).resolves.toEqual({ available: 1_000n, held: 0n });
  });

  it('never overdraws under concurrent transfers from one wallet across replicas', async () => {
    const frank = walletAccount('pt_frank', 'CNY');
    await ledger.createTransfer(single('tr_deposit_frank', psp.id, frank.id, 3_000n));
    const attempts = Array.from({ length: 45 }, (_, index) =>
      ledgers[index % ledgers.length]!.createTransfer(pending(`tr_frank_${index}`, frank.id, campaignEscrow.id, 100n)).then(
        () => 'pending',
        (error: { code?: string }) => error.code,
      ),
    );
    const outcomes = await Promise.all(attempts);
    expect(outcomes.filter((outcome) => outcome === 'pending')).toHaveLength(30);
    expect(outcomes.filter((outcome) => outcome === 'INSUFFICIENT_FUNDS')).toHaveLength(15);
    await expect(ledger.balance(frank.id)).resolves.toEqual({ available: 0n, held: 3_000n });
    const entries = await ledger.entries(frank.id, 100);
    expect(entries.map((entry) => entry.seq)).toEqual(Array.from({ length: 31 }, (_, index) => 31 - index));
  });

  it('credits a hot account from many writers without losing an entry', async () => {
    const hot = escrowAccount('campaign', 'cp_hot', 'CNY');
    await ledger.openAccount(hot);
    await Promise.all(Array.from({ length: 30 }, (_, index) => ledgers[index % ledgers.length]!.createTransfer(single(`tr_hot_${index}`, psp.id, hot.id, 7n))));
    await expect(ledger.balance(hot.id)).resolves.toEqual({ available: 210n, held: 0n });
  });

  it('completes a transfer a crash left between its legs, and reports the money in flight meanwhile', async () => {
    const grace = walletAccount('pt_grace', 'CNY');
    await ledger.openAccount(grace);
    const { transfers } = build(connections[0]!);
    // A crash after the debit leg: the transfer is recorded, its source leg applied, its credit not.
    const transfer = requestTransfer(single('tr_crashed', psp.id, grace.id, 250n), clock.now());
    await transfers.create(transfer.id, transfer, []);
    await accounts.apply({ account: psp, transferId: transfer.id, legKind: 'debit', leg: { kind: 'debit', amountMinor: 250n }, reference: transfer.reference, at: clock.now() }, { verified: false });

    const during = await ledger.invariants();
    expect(during.conserved).toBe(true);
    expect(during.totalsByCurrency['CNY']?.inFlightMinor).toBe(250n);

    await expect(ledger.recover()).resolves.toBe(0); // Too young: it may still be running.
    clock.advance(recoveryAgeDefaultMs + 1);
    await expect(ledger.recover()).resolves.toBe(1);
    await expect(ledger.transfer('tr_crashed')).resolves.toMatchObject({ state: 'posted' });
    await expect(ledger.balance(grace.id)).resolves.toEqual({ available: 250n, held: 0n });
    const after = await ledger.invariants();
    expect(after).toMatchObject({ conserved: true, negativeAccounts: [] });
    expect(after.totalsByCurrency['CNY']).toEqual({ balancesMinor: 0n, inFlightMinor: 0n });
  });

  it('applies a leg once even when it is repeated after more than the remembered keys', async () => {
    const henry = walletAccount('pt_henry', 'CNY');
    await ledger.openAccount(henry);
    const leg = { account: henry, transferId: 'tr_henry_0', legKind: 'credit' as const, leg: { kind: 'credit' as const, amountMinor: 1n }, reference: { kind: 'test', id: 'h' }, at: clock.now() };
    // Each credit has its debit on the external account, so the ledger stays conserved.
    const debit = (transferId: string) => accounts.apply({ ...leg, account: psp, transferId, legKind: 'debit', leg: { kind: 'debit', amountMinor: 1n } }, { verified: false });
    await debit('tr_henry_0');
    await expect(accounts.apply(leg, { verified: false })).resolves.toBe('applied');
    await expect(accounts.apply(leg, { verified: false })).resolves.toBe('already_applied');
    for (let index = 1; index <= legKeysKept + 6; index += 1) {
      await debit(`tr_henry_${index}`);
      await accounts.apply({ ...leg, transferId: `tr_henry_${index}` }, { verified: false });
    }
    // Its key has left the account; the journal still knows it.
    await expect(accounts.apply(leg, { verified: true })).resolves.toBe('already_applied');
    await expect(ledger.balance(henry.id)).resolves.toEqual({ available: BigInt(legKeysKept + 7), held: 0n });
    const entries = await ledger.entries(henry.id, 100);
    expect(entries).toHaveLength(legKeysKept + 7);
    expect(entries[0]).toMatchObject({ seq: legKeysKept + 7, available: BigInt(legKeysKept + 7) });
    expect(entries.at(-1)).toMatchObject({ seq: 1, available: 1n, transferId: 'tr_henry_0' });
  });

  it('resumes a saga hold a crash left without its transfer, holding the money once', async () => {
    const iris = walletAccount('pt_iris', 'CNY');
    await ledger.createTransfer(single('tr_deposit_iris', psp.id, iris.id, 1_000n));
    const request = { ...pending('tr_saga_iris', iris.id, campaignEscrow.id, 400n), mode: 'two_phase' as const };
    // The crash: the hold leg applied, the transfer document never written.
    await accounts.apply({ account: iris, transferId: request.id, legKind: 'hold', leg: { kind: 'hold', amountMinor: 400n }, reference: request.reference, at: clock.now() }, { verified: false });
    await expect(ledger.transfer(request.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(ledger.createSagaHold(request, { resume: true })).resolves.toMatchObject({ state: 'pending' });
    await expect(ledger.createSagaHold(request, { resume: true })).resolves.toMatchObject({ state: 'pending' });
    await expect(ledger.balance(iris.id)).resolves.toEqual({ available: 600n, held: 400n });
    await expect(ledger.createSagaHold({ ...request, id: 'tr_saga_iris_big', amountMinor: 700n }, { resume: false })).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    await expect(ledger.voidPending(request.id)).resolves.toMatchObject({ state: 'voided' });
    await expect(ledger.balance(iris.id)).resolves.toEqual({ available: 1_000n, held: 0n });
    expect((await ledger.invariants()).conserved).toBe(true);
  });

  it('puts each transfer fact on its outbox: pending, posted with the posted part, voided, rejected', async () => {
    const jack = walletAccount('pt_jack', 'CNY');
    await ledger.createTransfer(single('tr_deposit_jack', psp.id, jack.id, 500n));
    await ledger.createTransfer(pending('tr_jack_post', jack.id, campaignEscrow.id, 300n));
    await ledger.postPending('tr_jack_post', 120n);
    await ledger.createTransfer(single('tr_jack_refused', jack.id, campaignEscrow.id, 10_000n)).catch(() => undefined);
    const factsOf = async (id: string) =>
      ((await transferStore.collection.findOne({ _id: id }))?.outbox ?? []).map((event) => {
        const envelope = decodeEnvelope(event.bytes instanceof Binary ? Buffer.from(event.bytes.buffer.subarray(0, event.bytes.position)) : Buffer.from(event.bytes));
        return envelope.type;
      });
    await expect(factsOf('tr_deposit_jack')).resolves.toEqual(['TransferPosted']);
    await expect(factsOf('tr_jack_post')).resolves.toEqual(['TransferPending', 'TransferPosted']);
    await expect(factsOf('tr_jack_refused')).resolves.toEqual(['TransferRejected']);
  });
});
