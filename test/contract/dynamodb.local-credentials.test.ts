// Why: `failoverctl daemon --dynamodb-endpoint http://localhost:…` must work against dynalite without AWS
// variables set by hand: a local endpoint gets dummy credentials by itself, unless credentials are configured.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDBClient } from '../../drivers/globalstate/globalstate.dynamodb.ts';
import { isLocalEndpoint, LOCAL_DUMMY_CREDENTIALS, localCredentialsFor } from '../../drivers/globalstate/dynamodb.local-credentials.ts';
import { startDynalite, type DynaliteServer } from '../../src/dynalite.ts';

/** An environment with no AWS credentials anywhere (HOME points at an empty directory). */
const bare = (): NodeJS.ProcessEnv => ({ HOME: mkdtempSync(join(tmpdir(), 'no-aws-')) });

describe('DynamoDB: dummy credentials for a local endpoint', () => {
  let db: DynaliteServer;
  beforeAll(async () => {
    db = await startDynalite();
  });
  afterAll(async () => {
    await db?.stop();
  });

  it('dynamodb: a local endpoint without configured credentials is signed with dummy ones (no CredentialsProviderError)', async () => {
    const client = createDynamoDBClient({ endpoint: db.endpoint, region: 'us-east-1' }, bare());
    try {
      const out = await client.send(new ListTablesCommand({}));
      expect(out.TableNames).toEqual([]);
    } finally {
      client.destroy();
    }
  });

  it('dynamodb: localhost, 127.0.0.1 and [::1] are local; any other host is not', () => {
    for (const e of ['http://localhost:8000', 'http://127.0.0.1:4567', 'http://[::1]:8000', 'https://LOCALHOST']) expect(isLocalEndpoint(e), e).toBe(true);
    for (const e of ['https://dynamodb.us-east-1.amazonaws.com', 'http://10.0.0.5:8000', 'http://localhost.example.com', 'localhost:8000', undefined]) expect(isLocalEndpoint(e), String(e)).toBe(false);
  });

  it('dynamodb: configured credentials win over the dummy ones (given, variables, profile, shared file)', () => {
    const endpoint = 'http://localhost:8000';
    expect(localCredentialsFor({ endpoint }, bare())).toEqual(LOCAL_DUMMY_CREDENTIALS);
    expect(localCredentialsFor({ endpoint, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }, bare())).toBeUndefined();
    expect(localCredentialsFor({ endpoint }, { ...bare(), AWS_ACCESS_KEY_ID: 'AKIA' })).toBeUndefined();
    expect(localCredentialsFor({ endpoint }, { ...bare(), AWS_PROFILE: 'dev' })).toBeUndefined();
    const home = mkdtempSync(join(tmpdir(), 'aws-home-'));
    const file = join(home, 'credentials');
    writeFileSync(file, '[default]\naws_access_key_id = x\naws_secret_access_key = y\n');
    expect(localCredentialsFor({ endpoint }, { HOME: home, AWS_SHARED_CREDENTIALS_FILE: file })).toBeUndefined();
    expect(localCredentialsFor({ endpoint: 'https://dynamodb.eu-west-1.amazonaws.com' }, bare())).toBeUndefined();
  });
});
