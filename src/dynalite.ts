// Why: dynalite (DynamoDB in memory) started in-process, for `failoverctl world serve` and for tests, so the real
// DynamoDB driver has an endpoint without AWS. dynalite has no TransactWriteItems and no TTL (see docs/dynamodb.md).
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

interface DynaliteOptions {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}

const require = createRequire(import.meta.url);
// dynalite ships no type declarations: it is a function returning a node http.Server.
const dynalite = require('dynalite') as (options?: DynaliteOptions) => Server;

export interface DynaliteServer {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

export interface StartDynaliteOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
}

/** Starts dynalite on loopback with tables active at once (no CREATING delay). */
export async function startDynalite(opts: StartDynaliteOptions = {}): Promise<DynaliteServer> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://${host}:${port}`,
    port,
    stop() {
      stopped ??= (async () => {
        server.closeAllConnections?.();
        // A request whose client went away (a stopped daemon aborts its heartbeat) may still be queued inside
        // dynalite; closing its database under it throws an uncaught "Database is closed". Let such work drain.
        await new Promise((resolve) => setTimeout(resolve, DRAIN_MS));
        await new Promise<void>((resolve, reject) => server.close((err?: Error) => (err ? reject(err) : resolve())));
      })();
      return stopped;
    },
  };
}

/** How long queued requests get to finish before the database closes (they take a few milliseconds). */
const DRAIN_MS = 100;
