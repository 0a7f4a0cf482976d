// Why: the DynamoDB contract tests run the real driver against dynalite (DynamoDB in-process, in memory), so
// every conditional write is checked by a DynamoDB implementation rather than by our own model of it.
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

interface DynaliteOptions {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}

const require = createRequire(import.meta.url);
// dynalite ships no type declarations: it is a function returning a node http.Server.
const dynalite = require('dynalite') as (options?: DynaliteOptions) => Server;

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
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: DynamoDBClient[] = [];
  const newClient = () => {
    const c = new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'dynalite', secretAccessKey: 'dynalite' },
      maxAttempts: 1,
    });
    clients.push(c);
    return c;
  };
  const client = newClient();
  let stopped = false;
  return {
    endpoint,
    client,
    newClient,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const c of clients) c.destroy();
      server.closeAllConnections?.();
      await new Promise<void>((resolve, reject) => server.close((err?: Error) => (err ? reject(err) : resolve())));
    },
  };
}
