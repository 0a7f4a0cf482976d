// Why: the tests that run `failoverctl daemon`'s own code (runDaemon: client-node over HTTP, DynamoDB on dynalite,
// the wall clock) against the served world set it up the same way: the world served, the sample group with short
// heartbeats and generous timeouts (a loaded machine is never mistaken for a dead primary) in both clusters, one
// daemon per cluster, and a DynamoDB client to read global state. One helper, so they cannot drift apart.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realClock } from '../../drivers/clock/clock.real.ts';
import { createDynamoDBClient, DynamoGlobalState } from '../../drivers/globalstate/globalstate.dynamodb.ts';
import { parseDaemonFlags, runDaemon, type DaemonCliFlags } from '../../src/cli/daemon.ts';
import { startWorldServe, type ServedWorld, type WorldServeOptions } from '../../src/cli/world-serve.ts';
import { failoverGroupObject } from '../../src/daemon/group-spec.ts';
import { silentLogger } from '../../src/log.ts';

export interface ServedDaemons {
  served: ServedWorld;
  world: ServedWorld['world'];
  /** Global state as the daemons see it (dynalite). */
  gs: DynamoGlobalState;
  /** Stops both daemons and the DynamoDB client (the served world is stopped by the caller's afterAll). */
  stop(): Promise<void>;
}

/** Serves the world and runs one daemon per cluster (east and west, each the other's peer) on it. */
export async function startServedDaemons(o: { prefix: string; serve: Pick<WorldServeOptions, 'seed' | 'speed'>; flags?: (world: ServedWorld['world']) => Partial<DaemonCliFlags> }): Promise<ServedDaemons> {
  const kubeconfig = join(mkdtempSync(join(tmpdir(), o.prefix)), 'kubeconfig');
  const served = await startWorldServe({ ...o.serve, scenario: 'sample', kubeconfigOut: kubeconfig, profile: 'none', kubePortBase: 0, table: 'failover-engine' });
  const world = served.world;
  const endpoint = /dynamodb: (\S+)/.exec(served.lines.join('\n'))![1];
  const spec = { ...world.scenario.groups[0].spec, heartbeatIntervalMs: 1_000, timeouts: { transitoryStateMs: 1_800_000, unhealthyPrimaryMs: 600_000, heartbeatMs: 120_000 } };
  for (const c of ['east', 'west']) {
    const store = world.cluster(c).store;
    store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'failover-engine-system' } });
    store.create(failoverGroupObject(spec));
  }
  const credentials = { accessKeyId: 'dynalite', secretAccessKey: 'dynalite' };
  let end!: (why: string) => void;
  const stopWhen = new Promise<string>((r) => (end = r));
  const extra = o.flags?.(world) ?? {};
  const runs = ['east', 'west'].map((c) =>
    runDaemon(parseDaemonFlags({ kubeconfig, context: c, clusterName: c, peerContext: [`${c === 'east' ? 'west' : 'east'}=${c === 'east' ? 'west' : 'east'}`], dynamodbEndpoint: endpoint, qps: '0', ...extra }, {}), stopWhen, { log: silentLogger, credentials }),
  );
  const client = createDynamoDBClient({ endpoint, region: 'us-east-1', credentials });
  const gs = new DynamoGlobalState({ client, tableName: 'failover-engine', clock: realClock });
  return {
    served,
    world,
    gs,
    stop: async () => {
      end('test done');
      await Promise.all(runs);
      client.destroy();
    },
  };
}
