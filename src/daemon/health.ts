// Why: a group's health on one cluster (OK, DEGRADED, ERROR) is what the other clusters' daemons act on, so it is
// computed in one place, from the informer caches only (no API calls), with a per-resource status a person can
// read: what is expected of each object depends on whether this cluster runs the application or stands by.
import type { KubeObject } from '../../drivers/cluster/cluster.port.ts';
import type { FailoverGroupSpec } from '../../machines/failover/group.types.ts';
import { EngineAnnotations } from '../wire/annotations.ts';

export type Health = 'OK' | 'DEGRADED' | 'ERROR';
export type ResourceKindName = 'Deployment' | 'StatefulSet' | 'CronJob' | 'VolumeReplication' | 'VirtualService' | 'Ingress' | 'HelmRelease' | 'Kustomization';

/** What health reads: a cached object, undefined when absent, or 'unsynced' when the cache is not filled (yet). */
export interface ObjectLookup {
  get(kind: ResourceKindName, namespace: string, name: string): KubeObject | undefined | 'unsynced';
  /** Why a kind cannot be read here at all (its API is not served, with the fix), or undefined. */
  unserved?(kind: ResourceKindName): string | undefined;
}

export interface ResourceHealth {
  kind: string;
  name: string;
  health: Health;
  status: string;
}
export interface VolumeHealth {
  name: string;
  health: Health;
  status: string;
}
export interface WorkloadHealth extends ResourceHealth {
  volumeReplications: VolumeHealth[];
}

export interface GroupHealthReport {
  health: Health;
  workloads: WorkloadHealth[];
  networkResources: ResourceHealth[];
  fluxResources: ResourceHealth[];
  /** The first few problems, for the Healthy condition's message. */
  problems: string[];
  /**
   * What the heartbeat publishes: `health`, except UNKNOWN while a cache it reads is not synced yet and nothing it
   * can read is ERROR. An unsynced cache says nothing about the resources (a daemon that has just started, or one
   * whose watches relist): publishing ERROR for it made a peer's planned failover, asked for right then, fail its
   * validation (found by the daemon-level swarm, seeds 5 and 438785842).
   */
  published: Health | 'UNKNOWN';
}

/** 'active': this cluster runs the application (owns the group); 'standby': it holds it ready at rest. */
export type SiteRole = 'active' | 'standby';

const RANK: Record<Health, number> = { OK: 0, DEGRADED: 1, ERROR: 2 };
export function worst(...hs: Health[]): Health {
  return hs.reduce<Health>((a, b) => (RANK[b] > RANK[a] ? b : a), 'OK');
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
function conditionOf(o: KubeObject, type: string): { status?: string; reason?: string; message?: string } | undefined {
  const cs = o.status?.conditions;
  if (!Array.isArray(cs)) return undefined;
  return cs.find((c) => c && typeof c === 'object' && (c as { type?: unknown }).type === type) as { status?: string; reason?: string; message?: string } | undefined;
}

const UNSYNCED = (kind: string) => `the ${kind} cache is not synced (is the CRD installed and readable by the daemon?)`;

function workloadHealth(kind: 'Deployment' | 'StatefulSet' | 'CronJob', o: KubeObject, role: SiteRole): { health: Health; status: string } {
  if (kind === 'CronJob') {
    const suspended = o.spec?.suspend === true;
    if (role === 'active') return suspended ? { health: 'DEGRADED', status: 'suspended on the active cluster' } : { health: 'OK', status: 'scheduled' };
    return suspended ? { health: 'OK', status: 'suspended (standby)' } : { health: 'DEGRADED', status: 'scheduled on the standby cluster' };
  }
  const desired = num(o.spec?.replicas) ?? 1;
  const ready = num(o.status?.readyReplicas) ?? 0;
  if (role === 'active') {
    if (desired === 0) return { health: 'ERROR', status: 'scaled to 0 on the active cluster' };
    if (ready >= desired) return { health: 'OK', status: `ready ${ready}/${desired}` };
    if (ready > 0) return { health: 'DEGRADED', status: `ready ${ready}/${desired}` };
    return { health: 'ERROR', status: `ready 0/${desired}` };
  }
  if (desired === 0 && ready === 0) return { health: 'OK', status: 'scaled to 0 (standby)' };
  return { health: 'DEGRADED', status: `running on the standby cluster: ready ${ready}/${desired}` };
}

function volumeHealth(o: KubeObject, role: SiteRole): { health: Health; status: string } {
  const state = typeof o.status?.state === 'string' ? o.status.state : 'Unknown';
  const want = role === 'active' ? 'Primary' : 'Secondary';
  const degraded = conditionOf(o, 'Degraded');
  if (state !== want) {
    if (role === 'standby' && state === 'Resyncing') return { health: 'DEGRADED', status: 'Resyncing' };
    if (state === 'Unknown') return { health: role === 'active' ? 'ERROR' : 'DEGRADED', status: 'state not reported yet' };
    return { health: 'ERROR', status: `${state} (expected ${want})` };
  }
  if (degraded?.status === 'True') {
    const msg = degraded.message ?? degraded.reason ?? 'degraded';
    // New volumes report "last sync time not found" until their first sync (PARITY.md §2.1): expected, not a fault.
    if (/last sync time not found/i.test(msg)) return { health: 'OK', status: `${state} (first sync pending)` };
    return { health: 'DEGRADED', status: `${state}, degraded: ${msg}` };
  }
  return { health: 'OK', status: state };
}

function networkHealth(o: KubeObject, role: SiteRole): { health: Health; status: string } {
  const disabled = o.metadata.annotations?.[EngineAnnotations.dnsDisabled] === 'true';
  if (role === 'active') return disabled ? { health: 'DEGRADED', status: 'traffic disabled on the active cluster' } : { health: 'OK', status: 'serving' };
  return disabled ? { health: 'OK', status: 'traffic disabled (standby)' } : { health: 'DEGRADED', status: 'traffic enabled on the standby cluster' };
}

function fluxHealth(o: KubeObject, role: SiteRole): { health: Health; status: string } {
  const paused = o.metadata.annotations?.[EngineAnnotations.fluxIgnore] === 'true' || o.spec?.suspend === true;
  if (role === 'standby') return paused ? { health: 'OK', status: 'paused (standby)' } : { health: 'DEGRADED', status: 'reconciling on the standby cluster' };
  if (paused) return { health: 'DEGRADED', status: 'paused on the active cluster' };
  const ready = conditionOf(o, 'Ready');
  if (ready?.status === 'False') return { health: 'DEGRADED', status: `not ready: ${ready.message ?? ready.reason ?? ''}`.trim() };
  return { health: 'OK', status: ready?.status === 'True' ? 'ready' : 'reconciling' };
}

/** The group's health on this cluster, from the caches. */
export function groupHealth(spec: FailoverGroupSpec, role: SiteRole, lookup: ObjectLookup): GroupHealthReport {
  const ns = spec.namespace;
  const problems: string[] = [];
  const note = (kind: string, name: string, h: Health, status: string) => {
    if (h !== 'OK' && problems.length < 5) problems.push(`${kind}/${name}: ${status}`);
  };
  let unsynced = false;
  let known = 'OK' as Health; // the worst health of what could be read (mutated by read())
  const read = <T extends { health: Health; status: string }>(kind: ResourceKindName, name: string, f: (o: KubeObject) => T): { health: Health; status: string } => {
    const missing = lookup.unserved?.(kind);
    const o = missing ? undefined : lookup.get(kind, ns, name);
    if (o === 'unsynced') {
      unsynced = true;
      return { health: 'ERROR', status: UNSYNCED(kind) };
    }
    const h = missing ? { health: 'ERROR' as const, status: missing } : o === undefined ? { health: 'ERROR' as const, status: 'not found' } : f(o);
    known = worst(known, h.health);
    return h;
  };
  const workloads: WorkloadHealth[] = spec.workloads.map((w) => {
    const own = read(w.kind, w.name, (o) => workloadHealth(w.kind, o, role));
    const volumeReplications = w.volumeReplications.map((vr) => {
      const h = read('VolumeReplication', vr, (o) => volumeHealth(o, role));
      note('VolumeReplication', vr, h.health, h.status);
      return { name: vr, health: h.health, status: h.status };
    });
    note(w.kind, w.name, own.health, own.status);
    return { kind: w.kind, name: w.name, health: worst(own.health, ...volumeReplications.map((v) => v.health)), status: own.status, volumeReplications };
  });
  const networkResources = spec.networkResources.map((n) => {
    const h = read(n.kind, n.name, (o) => networkHealth(o, role));
    note(n.kind, n.name, h.health, h.status);
    return { kind: n.kind, name: n.name, ...h };
  });
  const fluxResources = spec.fluxResources.map((f) => {
    const h = read(f.kind, f.name, (o) => fluxHealth(o, role));
    note(f.kind, f.name, h.health, h.status);
    return { kind: f.kind, name: f.name, ...h };
  });
  const health = worst(...workloads.map((w) => w.health), ...networkResources.map((n) => n.health), ...fluxResources.map((f) => f.health));
  return { health, workloads, networkResources, fluxResources, problems, published: unsynced && known !== 'ERROR' ? 'UNKNOWN' : health };
}

/**
 * Whether this cluster runs the application now (used once, to register a new group with the right owner): a
 * Deployment or StatefulSet wants replicas, a CronJob is not suspended, or a VolumeReplication is primary.
 * Undefined while a cache it needs is not synced.
 */
export function runsWorkloads(spec: FailoverGroupSpec, lookup: ObjectLookup): boolean | undefined {
  let any = false;
  for (const w of spec.workloads) {
    const o = lookup.get(w.kind, spec.namespace, w.name);
    if (o === 'unsynced') return undefined;
    if (o && (w.kind === 'CronJob' ? o.spec?.suspend !== true : (num(o.spec?.replicas) ?? 1) > 0)) any = true;
    for (const vr of w.volumeReplications) {
      const v = lookup.get('VolumeReplication', spec.namespace, vr);
      if (v === 'unsynced') return undefined;
      if (v && v.spec?.replicationState === 'primary') any = true;
    }
  }
  return any;
}
