// Why: the same failover (same wiring, same operator hosts, same nemesis and invariants: simulator/failover-run.ts)
// through the REAL drivers: each operator's ClusterPort is the Kubernetes driver talking HTTP to the simulated API
// servers of the world (simulator/serve/kube-api.ts), and its GlobalStatePort is the DynamoDB driver on dynalite.
// Virtual time waits while bytes are on the wire (the transit gate for Kubernetes, a held SDK middleware for
// DynamoDB) and runs while requests wait on their simulated latency. Every global-state write that took effect in
// dynalite is replayed on the world's simulated store, and their answers compared, so the global-state invariants
// (fencing tokens grow, no stale write, lock released, history once) read the same logs as in a simulated run, and
// any disagreement between dynalite and the model is reported.
import { KubeConfig } from '@kubernetes/client-node';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { simClock } from '../../drivers/clock/clock.sim.ts';
import { KubernetesCluster } from '../../drivers/cluster/cluster.kubernetes.ts';
import type { CallOpts, ClusterPort } from '../../drivers/cluster/cluster.port.ts';
import { DriverError, isDriverError } from '../../drivers/errors.ts';
import type { JsonObject } from '../../drivers/json.ts';
import { ensureTable } from '../../drivers/globalstate/dynamodb.table.ts';
import { createDynamoDBClient, DynamoGlobalState } from '../../drivers/globalstate/globalstate.dynamodb.ts';
import type {
  AcquireLockInput,
  ClusterStatusRecord,
  CreateGroupInput,
  GlobalStatePort,
  GroupRecord,
  HistoryRecord,
  LeaseProof,
  VolumeHandoff,
} from '../../drivers/globalstate/globalstate.port.ts';
import type { TransferInput } from '../../drivers/globalstate/globalstate.rules.ts';
import { simRandom } from '../../drivers/random/random.sim.ts';
import { USER_PARTY, type RunPorts } from '../../simulator/failover-run.ts';
import type { OpClass } from '../../simulator/faults.ts';
import type { SimGlobalStateStore } from '../../simulator/globalstate/store.ts';
import type { SimKernel } from '../../simulator/kernel.ts';
import { serveKubeApi, type KubeApiServer } from '../../simulator/serve/kube-api.ts';
import type { KubeRequestStats } from '../../simulator/serve/kube-stats.ts';
import { simKubeConfigYaml } from '../../simulator/serve/sim-kubeconfig.ts';
import { transitGate } from '../../simulator/serve/transit-gate.ts';
import type { SimWorld } from '../../simulator/world.ts';
import { groupIdOf } from '../../machines/failover/group.types.ts';

export interface RealDriversOptions {
  /** dynalite's (or DynamoDB's) endpoint, `http://127.0.0.1:<port>`. */
  dynamoEndpoint: string;
  /** A fresh table per run (default `failover-e2e-<seed>-<n>`). */
  tableName?: string;
  /** The Kubernetes driver's client-side rate limit (default: its own, client-go's 5 per second, bursts of 10). */
  qps?: number;
  burst?: number;
}

/** DynamoDB requests counted by the SDK middleware (every HTTP attempt), in total and per command. */
export interface DynamoRequestStats {
  total: number;
  byCommand: Record<string, number>;
}

/** The real drivers of one world, and what they saw. */
export interface RealDrivers {
  ports: RunPorts;
  /** The simulated API servers, one per (cluster, calling operator) so partitions and crashes apply per route. */
  servers: Array<{ cluster: string; caller: string; server: KubeApiServer }>;
  /** Every server's request counts, summed. */
  kubeStats(): KubeRequestStats;
  /** Request counts per cluster (summed over the operators calling it). */
  kubeStatsByCluster(): Record<string, KubeRequestStats>;
  dynamoStats(): DynamoRequestStats;
  resetStats(): void;
  /** Where dynalite and the simulated store answered the same write differently (empty when they agree). */
  divergences: string[];
  close(): Promise<void>;
}

let tables = 0;

/** Sums several servers' request counts. */
export function sumKubeStats(all: KubeRequestStats[]): KubeRequestStats {
  const out: KubeRequestStats = { total: 0, byVerb: {}, byObject: {}, byCollection: {} };
  const addTo = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
  };
  for (const s of all) {
    out.total += s.total;
    addTo(out.byVerb, s.byVerb);
    for (const [o, v] of Object.entries(s.byObject)) addTo((out.byObject[o] ??= {}), v);
    for (const [c, v] of Object.entries(s.byCollection)) addTo((out.byCollection[c] ??= {}), v);
  }
  return out;
}

/**
 * Serves `world` over HTTP and starts the DynamoDB driver on a fresh table seeded with the world's global state.
 * Call before time starts (runSimulation calls it through its `ports` option); close() when the run is over.
 */
export async function startRealDrivers(world: SimWorld, opts: RealDriversOptions): Promise<RealDrivers> {
  const kernel = world.kernel;
  const clusters = [...world.clusters.keys()];
  const operators = clusters.map((c) => `operator/${c}`);
  const servers: RealDrivers['servers'] = [];
  const dynamoCounts: DynamoRequestStats = { total: 0, byCommand: {} };
  const divergences: string[] = [];
  let client: DynamoDBClient | undefined;
  try {
    for (const cluster of clusters) {
      // The operators, and the user who creates the Failover (runSimulation's USER_PARTY).
      for (const caller of [...operators, USER_PARTY]) {
        servers.push({ cluster, caller, server: await serveKubeApi({ kernel, store: world.cluster(cluster).store, caller }) });
      }
    }
    const contextOf = (cluster: string, caller: string) => `${cluster}--as--${caller.replace(/\//g, '-')}`;
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(simKubeConfigYaml(servers.map((s) => ({ name: contextOf(s.cluster, s.caller), url: s.server.url }))));

    client = createDynamoDBClient({
      endpoint: opts.dynamoEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'dynalite', secretAccessKey: 'dynalite' },
    });
    // Innermost, after the SDK's own steps: one count and one hold per HTTP request on the wire.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        dynamoCounts.total++;
        const name = context.commandName ?? 'unknown';
        dynamoCounts.byCommand[name] = (dynamoCounts.byCommand[name] ?? 0) + 1;
        const release = kernel.sched.hold();
        try {
          return await next(args);
        } finally {
          release();
        }
      },
      { step: 'finalizeRequest', priority: 'low', name: 'simulatedTimeHold' },
    );
    const tableName = opts.tableName ?? `failover-e2e-${kernel.seed}-${++tables}-${process.pid}`;
    await ensureTable(client, tableName, { pollMs: 10 });
    const dynamo = new DynamoGlobalState({ client, tableName, clock: simClock(kernel.sched), retry: { random: simRandom(kernel.prng.stream('dynamodb-retry')) } });
    await seedGlobalState(world, dynamo, divergences);
    // The seeding requests are not the failover's.
    dynamoCounts.total = 0;
    dynamoCounts.byCommand = {};

    const ports: RunPorts = {
      clusterPort: (cluster: string, caller: string): ClusterPort =>
        new KubernetesCluster({
          kubeConfig,
          context: contextOf(cluster, caller),
          name: cluster,
          clock: simClock(kernel.sched),
          observer: transitGate(kernel),
          ...(opts.qps !== undefined ? { qps: opts.qps } : {}),
          ...(opts.burst !== undefined ? { burst: opts.burst } : {}),
        }),
      globalStatePort: (caller: string): GlobalStatePort => new MirroredGlobalState(kernel, dynamo, world.globalState, caller, divergences),
    };
    const ownedClient = client;
    return {
      ports,
      servers,
      kubeStats: () => sumKubeStats(servers.map((s) => s.server.stats())),
      kubeStatsByCluster: () => Object.fromEntries(clusters.map((c) => [c, sumKubeStats(servers.filter((s) => s.cluster === c).map((s) => s.server.stats()))])),
      dynamoStats: () => JSON.parse(JSON.stringify(dynamoCounts)) as DynamoRequestStats,
      resetStats: () => {
        for (const s of servers) s.server.resetStats();
        dynamoCounts.total = 0;
        dynamoCounts.byCommand = {};
      },
      divergences,
      async close() {
        ownedClient.destroy();
        await Promise.all(servers.map((s) => s.server.close()));
      },
    };
  } catch (e) {
    client?.destroy();
    await Promise.all(servers.map((s) => s.server.close()));
    throw e;
  }
}

/** Writes the world's starting global state (groups, suspension, heartbeats) into the table, as populate() did. */
async function seedGlobalState(world: SimWorld, dynamo: DynamoGlobalState, divergences: string[]): Promise<void> {
  const store = world.globalState;
  for (const g of world.scenario.groups) {
    const groupId = groupIdOf(g.spec);
    const sim = store.group(groupId);
    if (!sim) throw new Error(`seedGlobalState: group ${groupId} is missing from the simulated store`);
    const input: CreateGroupInput = { groupId, ownerCluster: sim.ownerCluster, timeouts: { ...sim.timeouts }, heartbeatIntervalMs: sim.heartbeatIntervalMs, metadata: sim.metadata };
    let real = await dynamo.createGroup(input);
    if (sim.suspended) real = await dynamo.setSuspended(groupId, true, sim.suspensionReason);
    for (const c of store.clustersOf(groupId)) await dynamo.heartbeat({ groupId, cluster: c.cluster, health: c.health, role: c.role });
    const diff = recordDiff(sim, real);
    if (diff) divergences.push(`seed ${groupId}: ${diff}`);
  }
}

/** The facts of a group record both stores must agree on (timestamps aside: the clocks may read a tick apart). */
function recordFacts(r: GroupRecord | undefined): unknown {
  if (!r) return null;
  return {
    ownerCluster: r.ownerCluster,
    version: r.version,
    fencingToken: r.fencingToken,
    lock: r.lock ? { holder: r.lock.holder, leaseToken: r.lock.leaseToken, failoverId: r.lock.failoverId, expiresAtMs: r.lock.expiresAtMs } : null,
    volumeState: r.volumeState ? { failoverId: r.volumeState.failoverId, state: r.volumeState.state, fencingToken: r.volumeState.fencingToken } : null,
    lastFailover: r.lastFailover?.failoverId ?? null,
    suspended: r.suspended,
    metadata: stable(r.metadata),
  };
}

function stable(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stable(o[k])}`)
    .join(',')}}`;
}

function recordDiff(sim: GroupRecord | undefined, real: GroupRecord | undefined): string | undefined {
  const a = JSON.stringify(recordFacts(sim));
  const b = JSON.stringify(recordFacts(real));
  return a === b ? undefined : `simulated store ${a} but dynalite ${b}`;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

function errorFacts(e: unknown): string {
  return isDriverError(e) ? `${e.kind}${e.reason ? `/${e.reason}` : ''}` : `non-driver error: ${e instanceof Error ? e.message : String(e)}`;
}

/**
 * The GlobalStatePort an operator uses in a real-driver run: each call meets the world's latency, partitions and
 * faults (kernel.call, exactly as the simulated driver's calls do) and is carried out by the DynamoDB driver on
 * dynalite; a write is then replayed on the simulated store (which keeps the logs the invariants read) and the two
 * answers compared.
 */
export class MirroredGlobalState implements GlobalStatePort {
  constructor(
    private readonly kernel: SimKernel,
    private readonly real: DynamoGlobalState,
    private readonly mirror: SimGlobalStateStore,
    readonly caller: string,
    private readonly divergences: string[],
  ) {}

  getGroup(groupId: string, opts?: CallOpts): Promise<GroupRecord | undefined> {
    return this.read('getGroup', groupId, opts, () => this.real.getGroup(groupId));
  }
  listClusters(groupId: string, opts?: CallOpts): Promise<ClusterStatusRecord[]> {
    return this.read('listClusters', groupId, opts, () => this.real.listClusters(groupId));
  }
  listHistory(groupId: string, opts?: CallOpts & { limit?: number }): Promise<HistoryRecord[]> {
    return this.read('listHistory', groupId, opts, () => this.real.listHistory(groupId, opts?.limit === undefined ? undefined : { limit: opts.limit }));
  }
  createGroup(input: CreateGroupInput, opts?: CallOpts): Promise<GroupRecord> {
    return this.write('createGroup', input.groupId, opts, () => this.real.createGroup(input), () => this.mirror.createGroup(this.caller, input));
  }
  setSuspended(groupId: string, suspended: boolean, reason: string | undefined, opts?: CallOpts): Promise<GroupRecord> {
    return this.write('setSuspended', groupId, opts, () => this.real.setSuspended(groupId, suspended, reason), () => this.mirror.setSuspended(this.caller, groupId, suspended, reason));
  }
  acquireLock(groupId: string, input: AcquireLockInput, opts?: CallOpts): Promise<GroupRecord> {
    return this.write('acquireLock', groupId, opts, () => this.real.acquireLock(groupId, input), () => this.mirror.acquireLock(this.caller, groupId, input));
  }
  renewLock(groupId: string, proof: LeaseProof, ttlMs: number, opts?: CallOpts): Promise<GroupRecord> {
    return this.write('renewLock', groupId, opts, () => this.real.renewLock(groupId, proof, ttlMs), () => this.mirror.renewLock(this.caller, groupId, proof, ttlMs));
  }
  releaseLock(groupId: string, leaseToken: string, opts?: CallOpts): Promise<boolean> {
    return this.write('releaseLock', groupId, opts, () => this.real.releaseLock(groupId, leaseToken), () => this.mirror.releaseLock(this.caller, groupId, leaseToken));
  }
  setVolumeState(groupId: string, proof: LeaseProof, handoff: Omit<VolumeHandoff, 'fencingToken' | 'updatedAtMs'>, opts?: CallOpts): Promise<GroupRecord> {
    return this.write('setVolumeState', groupId, opts, () => this.real.setVolumeState(groupId, proof, handoff), () => this.mirror.setVolumeState(this.caller, groupId, proof, handoff));
  }
  patchMetadata(groupId: string, proof: LeaseProof, metadata: JsonObject, opts?: CallOpts): Promise<GroupRecord> {
    return this.write('patchMetadata', groupId, opts, () => this.real.patchMetadata(groupId, proof, metadata), () => this.mirror.patchMetadata(this.caller, groupId, proof, metadata));
  }
  transferOwnership(groupId: string, input: TransferInput, opts?: CallOpts): Promise<GroupRecord> {
    return this.write('transferOwnership', groupId, opts, () => this.real.transferOwnership(groupId, input), () => this.mirror.transferOwnership(this.caller, groupId, input));
  }
  heartbeat(status: Omit<ClusterStatusRecord, 'lastHeartbeatMs'>, opts?: CallOpts): Promise<ClusterStatusRecord> {
    return this.write('heartbeat', status.groupId, opts, () => this.real.heartbeat(status), () => this.mirror.heartbeat(this.caller, status));
  }
  recordHistory(entry: HistoryRecord, opts?: CallOpts): Promise<boolean> {
    return this.write('recordHistory', entry.groupId, opts, () => this.real.recordHistory(entry), () => this.mirror.recordHistory(this.caller, entry));
  }

  private read<T>(method: string, groupId: string, opts: CallOpts | undefined, real: () => Promise<T>): Promise<T> {
    return this.call('globalstate.read', method, groupId, opts, real);
  }

  private write<T>(method: string, groupId: string, opts: CallOpts | undefined, real: () => Promise<T>, mirror: () => T): Promise<T> {
    return this.call('globalstate.write', method, groupId, opts, async () => {
      let realOut: Outcome<T>;
      try {
        realOut = { ok: true, value: await real() };
      } catch (error) {
        realOut = { ok: false, error };
      }
      let simOut: Outcome<T>;
      try {
        simOut = { ok: true, value: mirror() };
      } catch (error) {
        simOut = { ok: false, error };
      }
      const diff = this.compare(realOut, simOut);
      if (diff) this.divergences.push(`T+${this.kernel.elapsed()}ms ${this.caller} ${method} ${groupId}: ${diff}`);
      if (!realOut.ok) throw realOut.error;
      return realOut.value;
    });
  }

  private compare<T>(real: Outcome<T>, sim: Outcome<T>): string | undefined {
    if (real.ok !== sim.ok) {
      return real.ok ? `dynalite applied it, the simulated store refused it (${errorFacts((sim as { error: unknown }).error)})` : `dynalite refused it (${errorFacts(real.error)}), the simulated store applied it`;
    }
    if (!real.ok || !sim.ok) {
      const a = errorFacts((real as { error: unknown }).error);
      const b = errorFacts((sim as { error: unknown }).error);
      return a === b ? undefined : `dynalite refused it with ${a}, the simulated store with ${b}`;
    }
    const rv = real.value as unknown;
    const sv = sim.value as unknown;
    if (rv !== null && typeof rv === 'object' && 'fencingToken' in (rv as object)) return recordDiff(sv as GroupRecord, rv as GroupRecord);
    if (typeof rv === 'boolean' || typeof sv === 'boolean') return rv === sv ? undefined : `dynalite answered ${String(rv)}, the simulated store ${String(sv)}`;
    return undefined;
  }

  /** One request through the world's route (latency, partitions, down parties, injected faults), carried out by `apply`. */
  private async call<T>(opClass: OpClass, method: string, groupId: string, opts: CallOpts | undefined, apply: () => Promise<T>): Promise<T> {
    if (opts?.signal?.aborted) throw opts.signal.reason;
    const out = await this.kernel.call<Outcome<T>>(
      opClass,
      { from: this.caller, to: 'globalstate', op: `globalstate.${method}`, detail: groupId },
      async () => {
        try {
          return { ok: true, value: await apply() };
        } catch (error) {
          if (!(error instanceof DriverError)) throw error;
          return { ok: false, error };
        }
      },
      'globalstate',
    );
    if (!out.ok) throw out.error;
    return out.value;
  }
}
