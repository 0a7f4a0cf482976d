// Why: the job-log contract against the DynamoDB implementation on dynalite (started here, in memory), plus what
// only the real driver shows: the item layout and the missing-table error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoJobLog } from '../../drivers/joblog/joblog.dynamodb.ts';
import { ensureTable } from '../../drivers/globalstate/dynamodb.table.ts';
import { startDynalite, type DynaliteHandle } from '../support/dynalite.ts';
import { manualClock } from '../support/manual-clock.ts';
import { describeJobLogContract } from './joblog.contract.ts';

let dyn: DynaliteHandle;
let tables = 0;
beforeAll(async () => {
  dyn = await startDynalite();
});
afterAll(async () => {
  await dyn?.stop();
});

async function freshLog() {
  const tableName = `joblog-${process.pid}-${++tables}`;
  await ensureTable(dyn.client, tableName);
  const clock = manualClock(1_767_225_600_000);
  return { tableName, clock, port: new DynamoJobLog(dyn.client, { tableName, clock }) };
}

describeJobLogContract('dynamodb', async () => {
  const { port, clock } = await freshLog();
  return { port, clock, dispose: async () => {} };
});

describe('JobLog on DynamoDB: the item', () => {
  it('joblog: dynamodb: one item per job, keyed for the by-VM index, with its version', async () => {
    const { port, tableName } = await freshLog();
    await port.createJob({ id: 'j1', type: 'failover', vmId: 'vm-9', correlationId: 'c' });
    await port.startStep('j1', 'pre-failover-validation');
    const res = await dyn.client.send(new GetItemCommand({ TableName: tableName, Key: { PK: { S: 'JOB#j1' }, SK: { S: 'JOB' } }, ConsistentRead: true }));
    expect(res.Item?.GSI1PK?.S).toBe('VMJOBS#vm-9');
    expect(res.Item?.version?.N).toBe('2');
    expect(JSON.parse(res.Item!.doc!.S!)).toMatchObject({ id: 'j1', steps: [{ name: 'pre-failover-validation', status: 'running' }] });
  });

  it('joblog: dynamodb: a missing table is NotFound and says how to create it', async () => {
    const port = new DynamoJobLog(dyn.client, { tableName: 'no-such-table', clock: manualClock(0) });
    await expect(port.getJob('x')).rejects.toMatchObject({ kind: 'NotFound', message: expect.stringContaining('ensureTable') });
  });

  it('joblog: dynamodb: a missing table name is refused naming the field', () => {
    expect(() => new DynamoJobLog(dyn.client, { tableName: '', clock: manualClock(0) })).toThrow(/joblog\.tableName/);
  });
});
