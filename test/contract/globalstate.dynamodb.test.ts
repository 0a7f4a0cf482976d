// Why: runs the SAME GlobalStatePort contract against the DynamoDB driver on dynalite (started here, in memory),
// and checks what only the real driver has: throttling retried with jittered backoff, writes whose answer was
// lost re-run idempotently, the SDK error mapping, the table helper, and numbers (not strings) in the item.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DeleteTableCommand,
  GetItemCommand,
  ThrottlingException,
  CreateTableCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { DynamoGlobalState, type DynamoRetryOptions } from '../../drivers/globalstate/globalstate.dynamodb.ts';
import { dynamoErrorKind, toDriverError } from '../../drivers/globalstate/dynamodb.errors.ts';
import { ensureTable } from '../../drivers/globalstate/dynamodb.table.ts';
import type { AcquireLockInput, CreateGroupInput, GroupRecord } from '../../drivers/globalstate/globalstate.port.ts';
import type { RandomPort } from '../../drivers/random/random.port.ts';
import { startDynalite, type DynaliteHandle } from '../support/dynalite.ts';
import { manualClock } from '../support/manual-clock.ts';
import { describeGlobalStateContract } from './globalstate.contract.ts';

/**
 * Just below 10^10 ms: a 10 s lease taken now expires at an 11-digit time. A driver comparing expiry as strings
 * ("10000005000" < "9999995000") would think every such lease had expired, and the contract's Locked tests fail.
 */
const CLOCK_START_MS = 9_999_995_000;

/** A RandomPort that always draws the top of the range, so backoff delays are predictable. */
const maxRandom: RandomPort = { int: (_min, max) => max, float: () => 0.999, uuid: () => '00000000-0000-4000-8000-000000000000' };

let dyn: DynaliteHandle;
let tables = 0;
beforeAll(async () => {
  dyn = await startDynalite();
});
afterAll(async () => {
  await dyn?.stop();
});

async function freshTable(client: DynamoDBClient = dyn.client): Promise<string> {
  const tableName = `globalstate-${process.pid}-${++tables}`;
  await ensureTable(client, tableName);
  return tableName;
}

describeGlobalStateContract('dynamodb on dynalite', async () => {
  const tableName = await freshTable();
  const clock = manualClock(CLOCK_START_MS);
  const port = new DynamoGlobalState({ client: dyn.client, tableName, clock, retry: { random: maxRandom } });
  return {
    port,
    settle: (p) => p,
    advanceMs: async (ms) => clock.advance(ms),
    nowMs: () => clock.now(),
    dispose: async () => {
      await dyn.client.send(new DeleteTableCommand({ TableName: tableName }));
    },
  };
});

const group: CreateGroupInput = {
  groupId: 'shop',
  ownerCluster: 'east',
  timeouts: { transitoryStateMs: 300_000, unhealthyPrimaryMs: 300_000, heartbeatMs: 300_000 },
  heartbeatIntervalMs: 30_000,
};
const lock = (holder: string, leaseToken: string): AcquireLockInput => ({ holder, leaseToken, failoverId: `fo-${leaseToken}`, reason: 'test', ttlMs: 10_000 });
const proof = (r: GroupRecord) => ({ leaseToken: r.lock!.leaseToken, fencingToken: r.fencingToken });

interface Injection {
  /** Which command to fail (`GetItemCommand`, `UpdateItemCommand`, `PutItemCommand`, `QueryCommand`). */
  command: string;
  /** How many of its calls to fail. */
  times: number;
  /** `before`: fail without sending. `after`: send (DynamoDB applies it), then lose the answer. */
  when: 'before' | 'after';
  error: () => Error;
}

/** A driver on its own client, with middleware that fails chosen calls; `calls` counts every call per command. */
async function driverWithFaults(injections: Injection[], retry: DynamoRetryOptions = {}) {
  const client = dyn.newClient();
  const tableName = await freshTable(client);
  const clock = manualClock(CLOCK_START_MS);
  const calls: Record<string, number> = {};
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = (context as { commandName?: string }).commandName ?? 'unknown';
      calls[command] = (calls[command] ?? 0) + 1;
      const inj = injections.find((i) => i.command === command && i.times > 0);
      if (inj?.when === 'before') {
        inj.times--;
        throw inj.error();
      }
      const out = await next(args);
      if (inj?.when === 'after') {
        inj.times--;
        throw inj.error();
      }
      return out;
    },
    { step: 'initialize', name: 'injectFaults' },
  );
  const port = new DynamoGlobalState({ client, tableName, clock, retry: { random: maxRandom, ...retry } });
  return { port, clock, calls, client, tableName };
}

const throttle = () => new ThrottlingException({ message: 'Rate of requests exceeds the allowed throughput.', $metadata: { httpStatusCode: 400 } });
const connectionReset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

describe('globalstate dynamodb: retries and lost answers', () => {
  it('dynamodb: throttling is retried with jittered exponential backoff, then succeeds (throttled=2)', async () => {
    const injections: Injection[] = [{ command: 'UpdateItemCommand', times: 2, when: 'before', error: throttle }];
    const { port, clock, calls } = await driverWithFaults(injections, { baseDelayMs: 40, maxDelayMs: 1_000 });
    await port.createGroup(group);
    const locked = await port.acquireLock('shop', lock('east', 'a'));
    expect(locked.fencingToken).toBe(1);
    expect(calls.UpdateItemCommand).toBe(3);
    // Full jitter over a doubling cap: draws in [0, 40] then [0, 80]; maxRandom takes the top.
    expect(clock.sleeps).toEqual([40, 80]);
  });

  it('dynamodb: throttling that outlasts the bounded attempts is a Throttled DriverError (attemptsMax=3)', async () => {
    const injections: Injection[] = [{ command: 'GetItemCommand', times: 100, when: 'before', error: throttle }];
    const { port, calls, clock } = await driverWithFaults(injections, { attemptsMax: 3, baseDelayMs: 10, maxDelayMs: 15 });
    await expect(port.getGroup('shop')).rejects.toMatchObject({ name: 'DriverError', kind: 'Throttled', reason: 'ThrottlingException', driver: 'dynamodb' });
    expect(calls.GetItemCommand).toBe(3);
    expect(clock.sleeps).toEqual([10, 15]);
  });

  it('dynamodb: a transient failure of a read is retried; of a write it is reported (the write may have applied)', async () => {
    const reads = await driverWithFaults([{ command: 'GetItemCommand', times: 1, when: 'before', error: connectionReset }]);
    expect(await reads.port.getGroup('shop')).toBeUndefined();
    expect(reads.calls.GetItemCommand).toBe(2);
    const writes = await driverWithFaults([{ command: 'PutItemCommand', times: 1, when: 'before', error: connectionReset }]);
    await expect(writes.port.createGroup(group)).rejects.toMatchObject({ kind: 'Transient', reason: 'ECONNRESET' });
    expect(writes.calls.PutItemCommand).toBe(1);
  });

  it('dynamodb: an acquireLock whose answer was lost is re-run idempotently (same fencing token)', async () => {
    const injections: Injection[] = [];
    const { port, calls } = await driverWithFaults(injections);
    await port.createGroup(group);
    injections.push({ command: 'UpdateItemCommand', times: 1, when: 'after', error: connectionReset });
    await expect(port.acquireLock('shop', lock('east', 'a'))).rejects.toMatchObject({ kind: 'Transient' });
    expect(calls.UpdateItemCommand).toBe(1);
    const stored = await port.getGroup('shop');
    expect(stored!.lock!.leaseToken).toBe('a'); // it applied
    const rerun = await port.acquireLock('shop', lock('east', 'a'));
    expect(rerun.fencingToken).toBe(1);
  });

  it('dynamodb: setVolumeState, releaseLock, transferOwnership and recordHistory re-run after a lost answer succeed', async () => {
    const injections: Injection[] = [];
    const { port } = await driverWithFaults(injections);
    await port.createGroup(group);
    const a = await port.acquireLock('shop', lock('west', 'w'));
    const lose = (command: string) => injections.push({ command, times: 1, when: 'after', error: connectionReset });

    lose('UpdateItemCommand');
    await expect(port.setVolumeState('shop', proof(a), { failoverId: 'fo-1', state: 'PROMOTED' })).rejects.toMatchObject({ kind: 'Transient' });
    expect((await port.setVolumeState('shop', proof(a), { failoverId: 'fo-1', state: 'PROMOTED' })).volumeState!.state).toBe('PROMOTED');

    lose('UpdateItemCommand');
    const transfer = { from: 'east', to: 'west', expectedVersion: 1, failoverId: 'fo-1', proof: proof(a) };
    await expect(port.transferOwnership('shop', transfer)).rejects.toMatchObject({ kind: 'Transient' });
    expect(await port.transferOwnership('shop', transfer)).toMatchObject({ ownerCluster: 'west', version: 2 });

    lose('PutItemCommand');
    const entry = {
      groupId: 'shop',
      failoverId: 'fo-1',
      failoverName: 'move-shop',
      sourceCluster: 'east',
      targetCluster: 'west',
      mode: 'CONSISTENCY' as const,
      type: 'planned' as const,
      startMs: CLOCK_START_MS,
      endMs: CLOCK_START_MS + 1_000,
      status: 'SUCCESS' as const,
      reason: '',
      downtimeSeconds: 0,
      durationSeconds: 1,
    };
    await expect(port.recordHistory(entry)).rejects.toMatchObject({ kind: 'Transient' });
    expect(await port.recordHistory(entry)).toBe(false);
    expect(await port.listHistory('shop')).toEqual([entry]);

    lose('UpdateItemCommand');
    await expect(port.releaseLock('shop', 'w')).rejects.toMatchObject({ kind: 'Transient' });
    expect(await port.releaseLock('shop', 'w')).toBe(false);
    expect((await port.getGroup('shop'))!.lock).toBeUndefined();
  });

  it('dynamodb: an aborted call rejects with the signal reason and is not retried', async () => {
    const { port, calls } = await driverWithFaults([{ command: 'GetItemCommand', times: 5, when: 'before', error: throttle }]);
    const ac = new AbortController();
    ac.abort(new Error('operator cancelled'));
    await expect(port.getGroup('shop', { signal: ac.signal })).rejects.toThrow('operator cancelled');
    expect(calls.GetItemCommand ?? 0).toBe(0);
  });
});

describe('globalstate dynamodb: table and item layout', () => {
  it('dynamodb: a missing table is NotFound and the message says how to create it', async () => {
    const port = new DynamoGlobalState({ client: dyn.client, tableName: 'no-such-table', clock: manualClock(CLOCK_START_MS) });
    const err = await port.getGroup('shop').catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'DriverError', kind: 'NotFound', reason: 'TableNotFound' });
    expect((err as Error).message).toContain('ensureTable(client, "no-such-table")');
  });

  it('dynamodb: ensureTable is idempotent and refuses a table of another layout', async () => {
    const name = `layout-${process.pid}`;
    expect(await ensureTable(dyn.client, name)).toBe(true);
    expect(await ensureTable(dyn.client, name)).toBe(false);
    const other = `other-layout-${process.pid}`;
    await dyn.client.send(
      new CreateTableCommand({ TableName: other, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] }),
    );
    await expect(ensureTable(dyn.client, other)).rejects.toMatchObject({ kind: 'Invalid', reason: 'TableLayout' });
  });

  it('dynamodb: owner, version, lock and fencing token live in the one CONFIG item, times as numbers', async () => {
    const tableName = await freshTable();
    const clock = manualClock(CLOCK_START_MS);
    const port = new DynamoGlobalState({ client: dyn.client, tableName, clock });
    await port.createGroup(group);
    const a = await port.acquireLock('shop', lock('east', 'a'));
    await port.setVolumeState('shop', proof(a), { failoverId: 'fo-a', state: 'READY_FOR_PROMOTION' });
    const raw = (await dyn.client.send(new GetItemCommand({ TableName: tableName, Key: { PK: { S: 'GROUP#shop' }, SK: { S: 'CONFIG' } }, ConsistentRead: true }))).Item!;
    expect(raw.ownerCluster).toEqual({ S: 'east' });
    expect(raw.version).toEqual({ N: '1' });
    expect(raw.fencingToken).toEqual({ N: '1' });
    expect(raw.lockToken).toEqual({ S: 'a' });
    expect(raw.lockExpiresAt).toEqual({ N: String(CLOCK_START_MS + 10_000) });
    expect(raw.volumeState.M!.state).toEqual({ S: 'READY_FOR_PROMOTION' });
    // The lease crosses 10^10 ms: only a numeric comparison keeps it held.
    expect(CLOCK_START_MS + 10_000).toBeGreaterThan(10 ** 10);
    await expect(port.acquireLock('shop', lock('west', 'b'))).rejects.toMatchObject({ kind: 'Conflict', reason: 'Locked' });
  });
});

describe('globalstate dynamodb: error mapping', () => {
  const named = (name: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(`${name} happened`), { name, ...extra });
  it.each([
    ['ConditionalCheckFailedException', 'Conflict'],
    ['TransactionConflictException', 'Conflict'],
    ['ProvisionedThroughputExceededException', 'Throttled'],
    ['ThrottlingException', 'Throttled'],
    ['RequestLimitExceeded', 'Throttled'],
    ['ResourceNotFoundException', 'NotFound'],
    ['ValidationException', 'Invalid'],
    ['SerializationException', 'Invalid'],
    ['UnrecognizedClientException', 'Unauthorized'],
    ['AccessDeniedException', 'Unauthorized'],
    ['ExpiredTokenException', 'Unauthorized'],
    ['InternalServerError', 'Transient'],
    ['ServiceUnavailable', 'Transient'],
    ['TimeoutError', 'Transient'],
    ['ItemCollectionSizeLimitExceededException', 'Fatal'],
    ['SomethingNobodyExpected', 'Fatal'],
  ])('dynamodb errors: %s maps to %s', (name, kind) => {
    expect(dynamoErrorKind(named(name))).toBe(kind);
  });

  it('dynamodb errors: network failures and HTTP 5xx are Transient, 429 Throttled, 403 Unauthorized', () => {
    expect(dynamoErrorKind(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe('Transient');
    expect(dynamoErrorKind(named('Http500', { $metadata: { httpStatusCode: 503 } }))).toBe('Transient');
    expect(dynamoErrorKind(named('Odd', { $fault: 'server' }))).toBe('Transient');
    expect(dynamoErrorKind(named('Odd', { $metadata: { httpStatusCode: 429 } }))).toBe('Throttled');
    expect(dynamoErrorKind(named('Odd', { $metadata: { httpStatusCode: 403 } }))).toBe('Unauthorized');
  });

  it('dynamodb errors: a failed condition takes the reason the driver derived; a missing table names the fix', () => {
    const ccf = named('ConditionalCheckFailedException');
    expect(toDriverError('op', ccf, { conflict: { reason: 'LeaseLost', message: 'the lease expired' } })).toMatchObject({ kind: 'Conflict', reason: 'LeaseLost', message: 'the lease expired' });
    expect(toDriverError('op', ccf)).toMatchObject({ kind: 'Conflict', reason: 'ConditionFailed' });
    const missing = toDriverError('op', named('ResourceNotFoundException'), { tableName: 'gs' });
    expect(missing).toMatchObject({ kind: 'NotFound', reason: 'TableNotFound' });
    expect(missing.message).toMatch(/ensureTable/);
    expect(missing.cause).toBeInstanceOf(Error);
  });
});
