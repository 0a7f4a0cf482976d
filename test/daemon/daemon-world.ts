// Why: the daemon tests share one way to build a simulated world with daemons on it and to read what they wrote,
// so each test reads as the behaviour it checks.
import type { KubeObject } from '../../drivers/cluster/cluster.port.ts';
import type { FailoverGroupSpec } from '../../machines/failover/group.types.ts';
import { scenarioByName } from '../../simulator/scenarios/index.ts';
import { SimWorld } from '../../simulator/world.ts';
import { loadCrds } from '../../src/crds.ts';
import { FailoverGroupKind, FailoverKind } from '../../src/daemon/api.ts';
import { runDaemonsOnWorld, type DaemonSim, type DaemonSimOptions } from '../../src/daemon/sim-harness.ts';

const CRDS = loadCrds();

export interface DaemonWorld {
  world: SimWorld;
  sim: DaemonSim;
  /** The FailoverGroup object on a cluster (straight from the store). */
  group(cluster: string, name?: string): KubeObject | undefined;
  failover(cluster: string, name: string): KubeObject | undefined;
  failovers(cluster: string): KubeObject[];
  /** Runs the world until `until` holds (checked every `stepMs`), at most `maxMs`; returns whether it held. */
  runUntil(until: () => boolean, maxMs: number, stepMs?: number): Promise<boolean>;
}

export async function daemonWorld(
  opts: { seed?: number; scenario?: string; mutate?: (spec: FailoverGroupSpec) => void; daemons?: DaemonSimOptions; prepare?: (world: SimWorld) => void } = {},
): Promise<DaemonWorld> {
  const scenario = scenarioByName(opts.scenario ?? 'sample');
  if (opts.mutate) for (const g of scenario.groups) opts.mutate(g.spec);
  const world = SimWorld.build({ seed: opts.seed ?? 1, scenario, crds: CRDS });
  // Changes to the world before any daemon starts (e.g. an older API server's discovery).
  opts.prepare?.(world);
  const sim = await runDaemonsOnWorld(world, opts.daemons ?? {});
  return {
    world,
    sim,
    group: (cluster, name = 'storefront') => world.get(cluster, { ...FailoverGroupKind, namespace: 'shop', name }),
    failover: (cluster, name) => world.get(cluster, { ...FailoverKind, namespace: 'shop', name }),
    failovers: (cluster) => world.cluster(cluster).store.list(FailoverKind).items,
    runUntil: async (until, maxMs, stepMs = 1_000) => {
      const end = world.kernel.now() + maxMs;
      while (!until() && world.kernel.now() < end) await world.runFor(Math.min(stepMs, end - world.kernel.now()));
      return until();
    },
  };
}

export function conditionOf(obj: KubeObject | undefined, type: string): { status: string; reason: string; message: string } | undefined {
  const cs = obj?.status?.conditions;
  return Array.isArray(cs) ? (cs.find((c) => (c as { type?: string }).type === type) as { status: string; reason: string; message: string } | undefined) : undefined;
}
