// Why: the benchmarks need failover groups of fixed, reproducible shapes at sizes the scenario generator does not
// allow (it stops at 200 workloads to keep property runs small): 10, 100 and 1,000 workloads for the RTO figure,
// and many small groups in one world for the scale figures.
import { DEFAULT_GROUP_TIMEOUTS, DEFAULT_HEARTBEAT_INTERVAL_MS, type WorkloadKind, type WorkloadSpec } from '../machines/failover/group.types.ts';
import { DEFAULT_CRON_SCHEDULE, DEFAULT_OPERATOR_ID, type Scenario, type ScenarioGroup } from '../simulator/scenario.ts';

const PATTERN: readonly WorkloadKind[] = ['Deployment', 'StatefulSet', 'Deployment', 'StatefulSet', 'CronJob'];
const PREFIX: Record<WorkloadKind, string> = { Deployment: 'deploy', StatefulSet: 'sts', CronJob: 'cron' };

export interface SizedGroupOptions {
  name: string;
  namespace: string;
  workloads: number;
  /** VirtualServices and Ingresses, alternating (default 4, as the reference group). */
  network?: number;
  /** Kustomizations and HelmReleases, alternating (default 2, as the reference group). */
  flux?: number;
}

/**
 * The reference group's pattern at any size (simulator/scenario.ts generateGroup without a PRNG): Deployment,
 * StatefulSet, Deployment, StatefulSet, CronJob, repeated; Deployments run 1–3 replicas, StatefulSets 1–2; one
 * VolumeReplication per Deployment and StatefulSet.
 */
export function sizedGroup(o: SizedGroupOptions): ScenarioGroup {
  if (!Number.isInteger(o.workloads) || o.workloads < 1 || o.workloads > 100_000) throw new RangeError(`sizedGroup: workloads must be a whole number from 1 to 100000 (got ${o.workloads})`);
  const width = String(o.workloads).length;
  const workloads: WorkloadSpec[] = [];
  const replicas: Record<string, number> = {};
  const schedules: Record<string, string> = {};
  for (let i = 0; i < o.workloads; i++) {
    const kind = PATTERN[i % PATTERN.length];
    const name = `${PREFIX[kind]}-${String(i + 1).padStart(width, '0')}`;
    const w: WorkloadSpec = { kind, name, volumeReplications: [] };
    if (kind === 'CronJob') schedules[name] = DEFAULT_CRON_SCHEDULE;
    else {
      replicas[name] = kind === 'Deployment' ? 1 + (i % 3) : 1 + (i % 2);
      w.volumeReplications.push(`${name}-data-0`);
    }
    workloads.push(w);
  }
  const network = o.network ?? 4;
  const flux = o.flux ?? 2;
  const group: ScenarioGroup = {
    spec: {
      name: o.name,
      namespace: o.namespace,
      operatorID: DEFAULT_OPERATOR_ID,
      suspended: false,
      timeouts: { ...DEFAULT_GROUP_TIMEOUTS },
      heartbeatIntervalMs: DEFAULT_HEARTBEAT_INTERVAL_MS,
      workloads,
      networkResources: Array.from({ length: network }, (_, i) =>
        i % 2 === 0 ? { kind: 'VirtualService' as const, name: `${o.name}-vs-${i + 1}` } : { kind: 'Ingress' as const, name: `${o.name}-ingress-${i + 1}` },
      ),
      fluxResources: Array.from({ length: flux }, (_, i) =>
        i % 2 === 0
          ? { kind: 'Kustomization' as const, name: `${o.name}-ks-${i + 1}`, triggerReconcile: true }
          : { kind: 'HelmRelease' as const, name: `${o.name}-hr-${i + 1}`, triggerReconcile: true },
      ),
    },
    replicas,
  };
  if (Object.keys(schedules).length) group.schedules = schedules;
  return group;
}

/** A two-cluster scenario (east primary, west standby) holding the given groups. */
export function benchScenario(name: string, groups: ScenarioGroup[]): Scenario {
  return { name, description: `benchmark: ${groups.length} group(s)`, clusters: ['east', 'west'], primary: 'east', groups };
}
