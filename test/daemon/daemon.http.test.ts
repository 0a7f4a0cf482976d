// Why: the production path end to end: two daemons built by `failoverctl daemon`'s own code (client-node over
// HTTP to the simulated API servers, the DynamoDB driver against dynalite, the wall clock) register a group,
// heartbeat, and run a Failover to completion. The simulated world runs in real time.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDynamoDBClient, DynamoGlobalState } from '../../drivers/globalstate/globalstate.dynamodb.ts';
import { realClock } from '../../drivers/clock/clock.real.ts';
import { parseDaemonFlags, runDaemon } from '../../src/cli/daemon.ts';
import { startWorldServe, type ServedWorld } from '../../src/cli/world-serve.ts';
import { FailoverGroupKind, FailoverKind } from '../../src/daemon/api.ts';
import { failoverObject } from '../../src/daemon/failover-spec.ts';
import { failoverGroupObject } from '../../src/daemon/group-spec.ts';
import { silentLogger } from '../../src/log.ts';

/**
 * Waits until `f` holds, re-checking on every change of the served world's stores (the daemons' writes over HTTP,
 * the simulated controllers) and at least every `recheckMs` (DynamoDB has no watch). The bound is generous: this
 * test runs on the wall clock and must not fail because a loaded machine is slow; an idle one returns at once.
 */
function until(world: ServedWorld['world'], what: string, f: () => boolean | Promise<boolean>, timeoutMs: number, recheckMs = 500): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let done = false;
    let checking = false;
    let again = false;
    const unsubscribe = ['east', 'west'].map((c) => world.cluster(c).store.subscribe(() => void check()));
    const timer = setInterval(() => void check(), recheckMs);
    const bound = setTimeout(() => finish(new Error(`timed out after ${timeoutMs}ms waiting for ${what}`)), timeoutMs);
    function finish(err?: Error) {
      if (done) return;
      done = true;
      clearInterval(timer);
      clearTimeout(bound);
      for (const u of unsubscribe) u();
      if (err) reject(err);
      else resolve();
    }
    async function check(): Promise<void> {
      if (done) return;
      if (checking) return void (again = true);
      checking = true;
      try {
        do {
          again = false;
          if (await f()) return finish();
        } while (again && !done);
      } catch (e) {
        finish(e instanceof Error ? e : new Error(String(e)));
      } finally {
        checking = false;
      }
    }
    void check();
  });
}

describe('daemon: real drivers over HTTP', () => {
  let served: ServedWorld | undefined;
  afterAll(async () => {
    await served?.stop();
  });

  it('daemon: http: registers, heartbeats and runs a Failover through client-node and DynamoDB (dynalite)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'daemon-http-'));
    const kubeconfig = join(dir, 'kubeconfig');
    // Speed 1, the way a user runs `failoverctl daemon` (on the wall clock) against `world serve --no-daemons`: the
    // world's clock starts at the wall time and follows it, so the two clocks agree.
    served = await startWorldServe({ seed: 1, scenario: 'sample', kubeconfigOut: kubeconfig, speed: 1, profile: 'none', kubePortBase: 0, table: 'failover-engine' });
    const world = served.world;
    const endpoint = /dynamodb: (\S+)/.exec(served.lines.join('\n'))![1];
    // Timeouts far above what a loaded machine needs, so a slow run is never mistaken for a stuck failover or a dead
    // primary (the wall clock drives the daemons).
    const spec = { ...world.scenario.groups[0].spec, heartbeatIntervalMs: 1_000, timeouts: { transitoryStateMs: 1_800_000, unhealthyPrimaryMs: 600_000, heartbeatMs: 120_000 } };
    for (const c of ['east', 'west']) {
      const store = world.cluster(c).store;
      store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'failover-engine-system' } });
      store.create(failoverGroupObject(spec));
    }
    const credentials = { accessKeyId: 'dynalite', secretAccessKey: 'dynalite' };
    let stop!: (why: string) => void;
    const stopWhen = new Promise<string>((r) => (stop = r));
    const runs = ['east', 'west'].map((c) =>
      runDaemon(
        parseDaemonFlags({ kubeconfig, context: c, clusterName: c, peerContext: [`${c === 'east' ? 'west' : 'east'}=${c === 'east' ? 'west' : 'east'}`], dynamodbEndpoint: endpoint, qps: '0' }, {}),
        stopWhen,
        { log: silentLogger, credentials },
      ),
    );
    const client = createDynamoDBClient({ endpoint, region: 'us-east-1', credentials });
    const gs = new DynamoGlobalState({ client, tableName: 'failover-engine', clock: realClock });
    try {
      await until(world, 'the group registered by east in DynamoDB, both clusters heartbeating', async () => {
        const rec = await gs.getGroup('shop/storefront');
        const clusters = await gs.listClusters('shop/storefront');
        return rec?.ownerCluster === 'east' && clusters.length === 2 && clusters.every((c) => c.health === 'OK');
      }, 240_000);
      await until(world, 'the FailoverGroup status written over HTTP', () => world.get('east', { ...FailoverGroupKind, namespace: 'shop', name: 'storefront' })?.status?.health === 'OK', 120_000);

      world.cluster('east').store.create(failoverObject({ name: 'http-move', namespace: 'shop', targetCluster: 'west', mode: 'CONSISTENCY', groups: [{ name: 'storefront' }] }));
      const st = (c: string) => world.get(c, { ...FailoverKind, namespace: 'shop', name: 'http-move' })?.status?.status;
      await until(world, 'the Failover to succeed on both clusters', () => st('east') === 'SUCCESS' && st('west') === 'SUCCESS', 480_000);
      expect((await gs.getGroup('shop/storefront'))?.ownerCluster).toBe('west');
      expect(world.volumeState('west', 'shop', 'db-data-0')).toBe('Primary');
      expect((await gs.listHistory('shop/storefront')).map((h) => h.status)).toEqual(['SUCCESS']);
      // One clock: the daemons (wall clock) and the served objects (the world's clock, started at the wall time) agree,
      // so the duration is the failover's, not the 2.94e7 s between the simulator's fixed epoch and today.
      const metrics = world.get('west', { ...FailoverKind, namespace: 'shop', name: 'http-move' })?.status?.metrics as { totalFailoverTimeSeconds: number };
      expect(metrics.totalFailoverTimeSeconds).toBeGreaterThan(0);
      expect(metrics.totalFailoverTimeSeconds).toBeLessThan(180);
    } finally {
      stop('test done');
      await Promise.all(runs);
      client.destroy();
    }
  }, 900_000);
});
