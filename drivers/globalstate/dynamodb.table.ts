// Why: creates the global-state table the DynamoDB driver expects (PK/SK strings, index GSI1 on GSI1PK/GSI1SK,
// on-demand billing), idempotently, for tests, the simulator's HTTP mode and first-time installs. The daemon
// itself never creates tables: its IAM policy need not allow it (docs/dynamodb.md).
import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient, type TableDescription } from '@aws-sdk/client-dynamodb';
import { realClock } from '../clock/clock.real.ts';
import type { ClockPort } from '../clock/clock.port.ts';
import { DriverError } from '../errors.ts';
import { isResourceInUse, toDriverError, DYNAMODB_DRIVER } from './dynamodb.errors.ts';

export const GSI1 = 'GSI1';

export interface EnsureTableOptions {
  /** How long to wait for the table (and GSI1) to become ACTIVE. Default 120 s. */
  waitMs?: number;
  /** Between DescribeTable polls. Default 500 ms. */
  pollMs?: number;
  clock?: ClockPort;
  signal?: AbortSignal;
}

/**
 * Creates the table if it does not exist and waits until it and GSI1 are ACTIVE. An existing table is
 * checked: a table without GSI1 or with other key names is refused (Invalid) rather than silently used.
 * Returns true when this call created the table.
 */
export async function ensureTable(client: DynamoDBClient, tableName: string, options: EnsureTableOptions = {}): Promise<boolean> {
  const op = 'dynamodb.ensureTable';
  const clock = options.clock ?? realClock;
  const waitMs = options.waitMs ?? 120_000;
  const pollMs = options.pollMs ?? 500;
  let created = false;
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'PK', AttributeType: 'S' },
          { AttributeName: 'SK', AttributeType: 'S' },
          { AttributeName: 'GSI1PK', AttributeType: 'S' },
          { AttributeName: 'GSI1SK', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'PK', KeyType: 'HASH' },
          { AttributeName: 'SK', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: GSI1,
            KeySchema: [
              { AttributeName: 'GSI1PK', KeyType: 'HASH' },
              { AttributeName: 'GSI1SK', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
      { abortSignal: options.signal },
    );
    created = true;
  } catch (e) {
    if (!isResourceInUse(e)) throw toDriverError(op, e);
  }
  const deadline = clock.now() + waitMs;
  for (;;) {
    let table: TableDescription | undefined;
    try {
      table = (await client.send(new DescribeTableCommand({ TableName: tableName }), { abortSignal: options.signal })).Table;
    } catch (e) {
      // Right after CreateTable, DescribeTable can briefly answer ResourceNotFound on real DynamoDB.
      if (!(created && toDriverError(op, e).kind === 'NotFound')) throw toDriverError(op, e, { tableName });
    }
    if (table) {
      checkLayout(op, tableName, table);
      const gsi = table.GlobalSecondaryIndexes?.find((g) => g.IndexName === GSI1);
      if (table.TableStatus === 'ACTIVE' && gsi?.IndexStatus === 'ACTIVE') return created;
    }
    if (clock.now() >= deadline) {
      throw new DriverError('Transient', DYNAMODB_DRIVER, op, `table ${tableName} did not become ACTIVE within ${waitMs} ms (status ${table?.TableStatus ?? 'unknown'}): try again later`, {
        reason: 'Timeout',
      });
    }
    await clock.sleep(pollMs, options.signal);
  }
}

function checkLayout(op: string, tableName: string, table: TableDescription): void {
  const keys = (table.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
  const gsi = table.GlobalSecondaryIndexes?.find((g) => g.IndexName === GSI1);
  const gsiKeys = (gsi?.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
  if (keys !== 'PK:HASH,SK:RANGE' || gsiKeys !== 'GSI1PK:HASH,GSI1SK:RANGE') {
    throw new DriverError(
      'Invalid',
      DYNAMODB_DRIVER,
      op,
      `table ${tableName} exists with another layout (keys ${keys || 'none'}, GSI1 ${gsiKeys || 'missing'}): use another table name, or delete it and let ensureTable create PK/SK with GSI1 on GSI1PK/GSI1SK`,
      { reason: 'TableLayout', details: { table: tableName } },
    );
  }
}
