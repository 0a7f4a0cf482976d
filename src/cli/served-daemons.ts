// Why: the served world is only the product when the engine runs in it. This starts one daemon per cluster the way
// `failoverctl daemon` does (parseDaemonFlags and runDaemon: client-node over HTTP to the served API servers, the
// DynamoDB driver on dynalite), on the world's clock so their timestamps and the served objects' agree, and creates
// the scenario's FailoverGroups in every cluster, so a Failover applied with kubectl runs.
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { stringify } from 'yaml';
import { Kinds } from '../../drivers/cluster/cluster.port.ts';
import { DEFAULT_DAEMON_NAMESPACE } from '../daemon/daemon.ts';
import { FailoverKind } from '../daemon/api.ts';
import { failoverObject } from '../daemon/failover-spec.ts';
import { failoverGroupObject } from '../daemon/group-spec.ts';
import { createRootLogger } from '../log.ts';
import { parseDaemonFlags, runDaemon } from './daemon.ts';
import type { ClockPort } from '../../drivers/clock/clock.port.ts';
import type { SimWorld } from '../../simulator/world.ts';

/** What the daemons need of a served world (world-serve.ts ServedWorld; structural, so the two files import one way). */
export interface ServedWorld {
  world: SimWorld;
  services: ReadonlyArray<{ name: string; endpoint?: string }>;
  /** The world's clock (sim-realtime.ts): the daemons' timestamps must agree with the served objects'. */
  clock: { clock: ClockPort };
}

export interface ServedDaemonsOptions {
  /** The daemons' logger; default: one JSON log file per cluster next to the kubeconfig (`daemon-<cluster>.log`). */
  log?: Logger;
  logLevel?: string;
}

export interface ServedDaemons {
  clusters: string[];
  /** The lines `world serve` prints about them. */
  lines: string[];
  /** A sample Failover manifest (to the scenario's first standby) written next to the kubeconfig. */
  failoverManifest: string;
  /** Rejects if a daemon stops on an error before stop() is called. */
  failed: Promise<never>;
  stop(): Promise<void>;
}

/** The kubeconfig the served world wrote, and its DynamoDB endpoint. */
export function servedEndpoints(served: ServedWorld): { kubeconfig: string; dynamodb: string } {
  const kubeconfig = served.services.find((s) => s.name === 'kubernetes')?.endpoint;
  const dynamodb = served.services.find((s) => s.name === 'dynamodb')?.endpoint;
  if (!kubeconfig || !dynamodb) throw new Error('the served world has no Kubernetes API or no DynamoDB: daemons need both');
  return { kubeconfig, dynamodb };
}

/** The scenario's FailoverGroups (and the daemons' namespace) in every cluster, as the world's setup. */
function createGroups(served: ServedWorld): void {
  const { world } = served;
  for (const c of world.scenario.clusters) {
    const store = world.cluster(c).store;
    const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: DEFAULT_DAEMON_NAMESPACE } };
    if (!store.get({ ...Kinds.Namespace, name: DEFAULT_DAEMON_NAMESPACE })) store.create(ns);
    for (const g of world.scenario.groups) store.create(failoverGroupObject(g.spec));
  }
}

/**
 * The first group's Failover, by default from the scenario's primary to the first other cluster (what `start` runs,
 * and the sample manifest).
 */
export function sampleFailover(served: ServedWorld, name: string, way: { from?: string; to?: string } = {}): { source: string; target: string; object: ReturnType<typeof failoverObject> } {
  const { scenario } = served.world;
  const group = scenario.groups[0];
  const source = way.from ?? scenario.primary;
  const target = way.to ?? scenario.clusters.find((c) => c !== source)!;
  const object = failoverObject({ name, namespace: group.spec.namespace, targetCluster: target, mode: 'CONSISTENCY', groups: [{ name: group.spec.name }], reason: 'failoverctl: sample failover' });
  return { source, target, object };
}

/** Starts the daemons over the served world (which must be serving) and creates the groups they manage. */
export function startServedDaemons(served: ServedWorld, opts: ServedDaemonsOptions = {}): ServedDaemons {
  const { kubeconfig, dynamodb } = servedEndpoints(served);
  const dir = dirname(resolve(kubeconfig));
  createGroups(served);
  const clusters = [...served.world.scenario.clusters];
  let stop!: (why: string) => void;
  const stopWhen = new Promise<string>((r) => (stop = r));
  let stopping = false;
  const files: Array<{ end(): void }> = [];
  const logFor = (cluster: string): Logger => {
    if (opts.log) return opts.log;
    const dest = pino.destination({ dest: join(dir, `daemon-${cluster}.log`), sync: true, mkdir: true });
    files.push(dest);
    return createRootLogger({ level: opts.logLevel ?? 'info', destination: dest });
  };
  const runs = clusters.map((c) =>
    runDaemon(
      parseDaemonFlags(
        { kubeconfig, context: c, clusterName: c, peerContext: clusters.filter((p) => p !== c).map((p) => `${p}=${p}`), dynamodbEndpoint: dynamodb, qps: '0', logLevel: opts.logLevel ?? 'info' },
        {},
      ),
      stopWhen,
      { log: logFor(c), clock: served.clock.clock },
    ),
  );
  const failed = Promise.all(runs).then(
    () => {
      if (!stopping) throw new Error('a daemon stopped on its own');
      return new Promise<never>(() => {});
    },
    (e: unknown) => {
      throw e instanceof Error ? e : new Error(String(e));
    },
  );
  failed.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection
  const sample = sampleFailover(served, 'sample-failover');
  const manifest = join(dir, 'failover.yaml');
  writeFileSync(manifest, stringify(sample.object));
  const groups = served.world.scenario.groups.map((g) => `${g.spec.namespace}/${g.spec.name}`).join(', ');
  const lines = [
    `daemons: ${clusters.join(', ')} (failoverctl daemon over HTTP, DynamoDB on dynalite; logs in ${opts.log ? 'the caller\'s logger' : join(dir, 'daemon-<cluster>.log')})`,
    `groups: FailoverGroup ${groups} in ${clusters.join(', ')}`,
    `fail over: kubectl --kubeconfig ${kubeconfig} --context ${sample.source} apply -f ${manifest}   (a new failover needs a new metadata.name)`,
    `watch: kubectl --kubeconfig ${kubeconfig} --context ${sample.target} get ${FailoverKind.kind.toLowerCase()}s -A -w`,
  ];
  let stopped: Promise<void> | undefined;
  return {
    clusters,
    lines,
    failoverManifest: manifest,
    failed,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        stop('stopped');
        await Promise.allSettled(runs);
        for (const f of files) f.end();
      })();
      return stopped;
    },
  };
}
