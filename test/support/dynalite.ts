// Why: the DynamoDB contract tests run the real driver against dynalite (DynamoDB in-process, in memory), so
// every conditional write is checked by a DynamoDB implementation rather than by our own model of it. The server is
// the one `failoverctl world serve` starts (src/dynalite.ts); this adds the SDK clients the tests use.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startDynalite as startServer } from '../../src/dynalite.ts';

export interface DynaliteHandle {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** A client for this endpoint: region us-east-1, dummy credentials, the SDK's own retries off (maxAttempts 1). */
  client: DynamoDBClient;
  /** Another client for the same endpoint (same settings): for a test that adds middleware to its client. */
  newClient(): DynamoDBClient;
  stop(): Promise<void>;
}

/** Starts dynalite on 127.0.0.1, on a free port, with tables active at once (no CREATING delay). */
export async function startDynalite(): Promise<DynaliteHandle> {
  const server = await startServer();
  const clients: DynamoDBClient[] = [];
  const newClient = () => {
    const c = new DynamoDBClient({
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'dynalite', secretAccessKey: 'dynalite' },
      maxAttempts: 1,
    });
    clients.push(c);
    return c;
  };
  const client = newClient();
  return {
    endpoint: server.endpoint,
    client,
    newClient,
    async stop() {
      for (const c of clients) c.destroy();
      await server.stop();
    },
  };
}
