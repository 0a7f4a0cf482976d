// Why: the request budget of a failover, counted where the requests land: the simulated Kubernetes API server
// (served over HTTP to the real Kubernetes driver) and dynalite (through an SDK middleware on the real DynamoDB
// client). Writes and reads per managed resource, lists and watches apart, and polling reads found the only
// way a counter can find them: reads that grow with the length of the waits. The same failover runs with every piece
// of physics 4× and 8× slower (both long enough that every wait really waits); a watch-driven wait reads the same
// in both, a poll reads more the longer it waits.
import { WRITE_VERBS, type KubeRequestStats } from '../simulator/serve/kube-stats.ts';
import { runSimulation } from '../simulator/failover-run.ts';
import { quietPlan, type FaultPlan } from '../simulator/faults.ts';
import type { ScenarioGroup } from '../simulator/scenario.ts';
import { referenceScenario } from '../simulator/scenarios/reference.ts';
import { loadCrds } from '../src/crds.ts';
import { startDynalite } from '../src/dynalite.ts';
import { startRealDrivers, type DynamoRequestStats, type RealDrivers } from '../src/e2e/real-world.ts';
import { round } from './machine.ts';

export const SLOWDOWNS = [4, 8] as const;

/** The objects a failover of `group` manages, as the API server's counters name them (`Kind/namespace/name`). */
export function managedObjects(group: ScenarioGroup): string[] {
  const ns = group.spec.namespace;
  const out: string[] = [];
  for (const w of group.spec.workloads) {
    out.push(`${w.kind}/${ns}/${w.name}`);
    for (const vr of w.volumeReplications) out.push(`VolumeReplication/${ns}/${vr}`);
  }
  for (const n of group.spec.networkResources) out.push(`${n.kind}/${ns}/${n.name}`);
  for (const f of group.spec.fluxResources) out.push(`${f.kind}/${ns}/${f.name}`);
  return out;
}

export interface KubeRunCounts {
  /** Per cluster: summed over the managed objects. */
  writes: number;
  gets: number;
  lists: number;
  watches: number;
  discovery: number;
  /** Requests on objects the group does not manage (PVCs read by verification, Namespaces probed, ...). */
  otherObjectRequests: number;
  total: number;
  maxWritesPerResource: number;
  maxGetsPerResource: number;
}

export interface RequestRun {
  physics: 'default' | `${number}x slower`;
  seed: number;
  outcome: string;
  virtualMs: number;
  realMs: number;
  kube: Record<string, KubeRunCounts>;
  dynamo: DynamoRequestStats;
  divergences: number;
}

function planFor(seed: number, slowdown: number): FaultPlan {
  const plan = quietPlan(seed);
  for (const l of Object.values(plan.latency)) l.jitterMs = 0;
  for (const p of Object.values(plan.physics)) {
    p.baseMs *= slowdown;
    p.jitterMs = 0;
  }
  return plan;
}

function countsOf(stats: KubeRequestStats, managed: Set<string>): KubeRunCounts {
  const c: KubeRunCounts = { writes: 0, gets: 0, lists: 0, watches: 0, discovery: stats.byVerb.discovery ?? 0, otherObjectRequests: 0, total: stats.total, maxWritesPerResource: 0, maxGetsPerResource: 0 };
  for (const [obj, verbs] of Object.entries(stats.byObject)) {
    const writes = Object.entries(verbs).reduce((n, [v, k]) => n + (WRITE_VERBS.has(v) ? k : 0), 0);
    const gets = (verbs.get ?? 0) + (verbs['get/status'] ?? 0);
    if (!managed.has(obj)) {
      c.otherObjectRequests += Object.values(verbs).reduce((a, b) => a + b, 0);
      continue;
    }
    c.writes += writes;
    c.gets += gets;
    c.maxWritesPerResource = Math.max(c.maxWritesPerResource, writes);
    c.maxGetsPerResource = Math.max(c.maxGetsPerResource, gets);
  }
  for (const verbs of Object.values(stats.byCollection)) {
    c.lists += verbs.list ?? 0;
    c.watches += verbs.watch ?? 0;
  }
  return c;
}

async function oneRun(dynamoEndpoint: string, seed: number, slowdown: number): Promise<RequestRun> {
  let drivers: RealDrivers | undefined;
  const t0 = performance.now();
  try {
    const r = await runSimulation({
      seed,
      scenario: referenceScenario,
      plan: planFor(seed, slowdown),
      failover: { mode: 'CONSISTENCY', type: 'planned' },
      crds: loadCrds(),
      ports: async (world) => {
        drivers = await startRealDrivers(world, { dynamoEndpoint });
        return drivers.ports;
      },
    });
    const managed = new Set(managedObjects(referenceScenario.groups[0]));
    const byCluster = drivers!.kubeStatsByCluster();
    return {
      physics: slowdown === 1 ? 'default' : `${slowdown}x slower`,
      seed,
      outcome: r.outcome,
      virtualMs: Math.round(r.virtualDurationMs),
      realMs: Math.round(performance.now() - t0),
      kube: Object.fromEntries(Object.entries(byCluster).map(([c, s]) => [c, countsOf(s, managed)])),
      dynamo: drivers!.dynamoStats(),
      divergences: drivers!.divergences.length,
    };
  } finally {
    await drivers?.close();
  }
}

export interface RequestFigures {
  scenario: string;
  managedResourcesPerCluster: number;
  runs: RequestRun[];
  kube: {
    /** Mean over runs at the default physics, per managed resource per failover, both clusters together. */
    writesPerResource: number;
    maxWritesPerResource: number;
    getsPerResource: number;
    maxGetsPerResource: number;
    listsPerFailover: number;
    watchesPerFailover: number;
    discoveryPerFailover: number;
    otherObjectRequestsPerFailover: number;
    /** (gets + lists) with physics 8× slower minus 4× slower: reads that grow with waiting (0 for watch-driven waits). */
    pollingReads: number;
    /** The same difference for watch requests (a re-watch after a stream ends would show here). */
    extraWatchesWhenWaitingLonger: number;
  };
  ddb: {
    requestsPerFailover: number;
    byCommand: Record<string, number>;
    /** Requests at 8× minus 4× slower physics: the peer hand-off poll (global state has no watch) grows with waiting. */
    pollingRequests: number;
  };
}

export async function measureRequests(o: { seeds: number[]; log: (line: string) => void }): Promise<RequestFigures> {
  const dyn = await startDynalite();
  const runs: RequestRun[] = [];
  const measure = async (seed: number, slowdown: number) => {
    const r = await oneRun(dyn.endpoint, seed, slowdown);
    runs.push(r);
    o.log(`requests: seed ${seed}, physics ${r.physics}: ${r.outcome}, kube ${Object.values(r.kube).reduce((n, k) => n + k.total, 0)} requests, dynamodb ${r.dynamo.total} (${r.realMs} ms real)`);
    return r;
  };
  let slower: RequestRun[];
  try {
    for (const seed of o.seeds) await measure(seed, 1);
    slower = [];
    for (const slowdown of SLOWDOWNS) slower.push(await measure(o.seeds[0], slowdown));
  } finally {
    await dyn.stop();
  }
  const managedPerCluster = managedObjects(referenceScenario.groups[0]).length;
  const normal = runs.filter((r) => r.physics === 'default');
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const sum = (r: RequestRun, f: (k: KubeRunCounts) => number) => Object.values(r.kube).reduce((n, k) => n + f(k), 0);
  const resources = managedPerCluster * 2;
  const byCommand: Record<string, number> = {};
  for (const r of normal) for (const [k, n] of Object.entries(r.dynamo.byCommand)) byCommand[k] = (byCommand[k] ?? 0) + n / normal.length;
  const [short, long] = slower;
  return {
    scenario: 'reference (CONSISTENCY planned, fault-free, jitter-free latencies; counted over both clusters)',
    managedResourcesPerCluster: managedPerCluster,
    runs,
    kube: {
      writesPerResource: round(mean(normal.map((r) => sum(r, (k) => k.writes))) / resources, 2),
      maxWritesPerResource: Math.max(0, ...normal.map((r) => Math.max(...Object.values(r.kube).map((k) => k.maxWritesPerResource)))),
      getsPerResource: round(mean(normal.map((r) => sum(r, (k) => k.gets))) / resources, 2),
      maxGetsPerResource: Math.max(0, ...normal.map((r) => Math.max(...Object.values(r.kube).map((k) => k.maxGetsPerResource)))),
      listsPerFailover: round(mean(normal.map((r) => sum(r, (k) => k.lists))), 1),
      watchesPerFailover: round(mean(normal.map((r) => sum(r, (k) => k.watches))), 1),
      discoveryPerFailover: round(mean(normal.map((r) => sum(r, (k) => k.discovery))), 1),
      otherObjectRequestsPerFailover: round(mean(normal.map((r) => sum(r, (k) => k.otherObjectRequests))), 1),
      pollingReads: Math.max(0, sum(long, (k) => k.gets + k.lists) - sum(short, (k) => k.gets + k.lists)),
      extraWatchesWhenWaitingLonger: sum(long, (k) => k.watches) - sum(short, (k) => k.watches),
    },
    ddb: {
      requestsPerFailover: round(mean(normal.map((r) => r.dynamo.total)), 1),
      byCommand: Object.fromEntries(Object.entries(byCommand).map(([k, n]) => [k, round(n, 1)])),
      pollingRequests: long.dynamo.total - short.dynamo.total,
    },
  };
}
