// Why: runs the wired failover chart (src/wire/cluster-failover.ts) on the simulated world: one actor per
// participating operator, each with its own cluster's ports, as the daemon would. Tests then assert the state
// of the world, not the calls made.
import { createActor, type Actor } from 'xstate';
import { simClock } from '../../drivers/clock/clock.sim.ts';
import { simRandom } from '../../drivers/random/random.sim.ts';
import { memoryDestination, createRootLogger } from '../../src/log.ts';
import { loadCrds } from '../../src/crds.ts';
import { wireFailover } from '../../src/wire/cluster-failover.ts';
import { SimWorld } from '../../simulator/world.ts';
import { scenarioByName } from '../../simulator/scenarios/index.ts';
import { groupIdOf } from '../../machines/failover/group.types.ts';
import type { FailoverInput, FailoverPolicy, FailoverRequest } from '../../machines/failover/failover.types.ts';
import type { FaultPlan } from '../../simulator/faults.ts';

let crdCache: ReturnType<typeof loadCrds> | undefined;
export function crds() {
  crdCache ??= loadCrds();
  return crdCache;
}

export interface WorldRun {
  world: SimWorld;
  request: FailoverRequest;
  actors: Map<string, Actor<ReturnType<typeof wireFailover>>>;
  logs: string[];
  /** Runs until every actor has stopped (or the virtual-time bound); `afterEvent` runs after each world event. */
  settle(maxMs?: number, afterEvent?: () => void): Promise<void>;
  /** Every snapshot each actor emitted, JSON round-tripped (persisted form), by role. */
  snapshots: Map<string, any[]>;
  /**
   * Simulates an operator crash: the actor stops at once (its in-flight steps are abandoned), the process stays
   * down for `downMs`, then a new actor restores from the last persisted snapshot, as the operator host does.
   */
  crash(role: 'source' | 'target', downMs: number): void;
}

export interface WorldRunOptions {
  seed?: number;
  scenario?: string;
  mode?: 'CONSISTENCY' | 'UPTIME';
  type?: 'planned' | 'unplanned';
  source?: string;
  target?: string;
  /** Which operators run an actor (default: source and target for planned, target for unplanned). */
  roles?: Array<'source' | 'target'>;
  policy?: Partial<FailoverPolicy>;
  plan?: FaultPlan;
  /** A fault profile the plan is derived from (seeded). */
  profile?: 'none' | 'calm' | 'swarm';
  horizonMs?: number;
  /** Called after the world is built, before any actor starts (mark parties down, for example). */
  before?: (world: SimWorld) => void;
  force?: boolean;
  failoverId?: string;
}

export function startWorldFailover(o: WorldRunOptions = {}): WorldRun {
  const world = SimWorld.build({
    seed: o.seed ?? 1,
    scenario: scenarioByName(o.scenario ?? 'sample'),
    crds: crds(),
    ...(o.plan ? { plan: o.plan } : {}),
    ...(o.profile ? { profile: o.profile } : {}),
    ...(o.horizonMs !== undefined ? { horizonMs: o.horizonMs } : {}),
  });
  o.before?.(world);
  const k = world.kernel;
  const source = o.source ?? world.scenario.primary;
  const target = o.target ?? world.scenario.clusters.find((c) => c !== source)!;
  const group = world.scenario.groups[0].spec;
  const type = o.type ?? 'planned';
  const request: FailoverRequest = {
    failoverId: o.failoverId ?? 'fo-0001',
    failoverName: 'move-storefront',
    groupId: groupIdOf(group),
    group,
    sourceCluster: source,
    targetCluster: target,
    mode: o.mode ?? 'CONSISTENCY',
    type,
    force: o.force ?? false,
    reason: 'test',
    requestedAtMs: k.now(),
  };
  const dest = memoryDestination();
  const root = createRootLogger({ destination: dest, now: () => k.now(), level: 'debug' });
  const roles = o.roles ?? (type === 'planned' ? ['source', 'target'] : ['target']);
  const actors = new Map<string, Actor<ReturnType<typeof wireFailover>>>();
  const logicFor = (role: 'source' | 'target') => {
    const cluster = role === 'source' ? source : target;
    const peer = role === 'source' ? target : source;
    const caller = `operator/${cluster}`;
    const logic = wireFailover({
      cluster,
      clusterPort: world.clusterPort(cluster, caller),
      peerClusterPort: world.clusterPort(peer, caller),
      globalState: world.globalStatePort(caller),
      clock: simClock(k.sched),
      random: simRandom(k.prng.stream(`random/${cluster}`)),
      log: root,
      fencing: { cidrsOf: (c) => [world.clusterCidr(c)], driver: 'rbd.csi.ceph.com', secret: { name: 'rook-csi-rbd-provisioner', namespace: 'rook-ceph' } },
    });
    const input: FailoverInput = { request, role, cluster, ...(o.policy ? { policy: o.policy } : {}) };
    return { logic, input };
  };
  for (const role of roles) {
    const { logic, input } = logicFor(role);
    actors.set(role, createActor(logic, { input, clock: k.sched.xstateClock }));
  }
  const snapshots = new Map<string, any[]>();
  let pendingRestarts = 0;
  for (const [role, a] of actors) {
    const list: any[] = [];
    snapshots.set(role, list);
    a.subscribe({ next: () => list.push(JSON.parse(JSON.stringify(a.getPersistedSnapshot()))), error: () => {} });
  }
  for (const a of actors.values()) a.start();
  return {
    world,
    request,
    actors,
    logs: dest.lines,
    snapshots,
    crash(role, downMs) {
      const old = actors.get(role)!;
      const list = snapshots.get(role)!;
      const last = list[list.length - 1];
      old.stop();
      pendingRestarts++;
      const cluster = role === 'source' ? source : target;
      k.setDown(`operator/${cluster}`, true);
      k.sched.after(downMs, 'test.restart', () => {
        pendingRestarts--;
        k.setDown(`operator/${cluster}`, false);
        const { logic, input } = logicFor(role);
        const restored = createActor(logic, { input, clock: k.sched.xstateClock, snapshot: JSON.parse(JSON.stringify(last)) });
        restored.subscribe({ next: () => list.push(JSON.parse(JSON.stringify(restored.getPersistedSnapshot()))), error: () => {} });
        actors.set(role, restored);
        restored.start();
      });
    },
    async settle(maxMs = 30 * 60_000, afterEvent?: () => void) {
      const until = k.now() + maxMs;
      const restarting = () => pendingRestarts > 0;
      await k.run({ untilMs: until, stopWhen: () => !restarting() && [...actors.values()].every((a) => a.getSnapshot().status !== 'active'), ...(afterEvent ? { afterEvent } : {}) });
    },
  };
}
