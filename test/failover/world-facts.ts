// Why: what a failover test asserts about the world, read straight from the simulated clusters and global store
// (the state of the world, not the calls made): where the application runs, where traffic goes, what is paused.
import { Kinds } from '../../drivers/cluster/cluster.port.ts';
import type { SimWorld } from '../../simulator/world.ts';
import { FENCING_TOKEN_ANNOTATION } from '../../src/wire/fenced-write.ts';
import { EngineAnnotations } from '../../src/wire/annotations.ts';

export interface SiteFacts {
  /** spec.replicas and ready replicas and live pods per workload. */
  workloads: Record<string, { spec: number; ready: number; pods: number }>;
  cronJobsSuspended: Record<string, boolean>;
  /** VolumeReplication status.state per name. */
  volumes: Record<string, string | undefined>;
  /** external-dns controller annotation and dns-disabled per network resource. */
  network: Record<string, { controller?: string; dnsDisabled?: string }>;
  /** Flux ignore annotation per object. */
  fluxPaused: Record<string, boolean>;
  /** The highest fencing token any group object carries. */
  maxFencingToken: number;
}

export function siteFacts(world: SimWorld, cluster: string): SiteFacts {
  const g = world.scenario.groups[0].spec;
  const ns = g.namespace;
  const facts: SiteFacts = { workloads: {}, cronJobsSuspended: {}, volumes: {}, network: {}, fluxPaused: {}, maxFencingToken: 0 };
  const token = (o: { metadata: { annotations?: Record<string, string> } } | undefined) => {
    const n = Number(o?.metadata.annotations?.[FENCING_TOKEN_ANNOTATION] ?? 0);
    if (n > facts.maxFencingToken) facts.maxFencingToken = n;
  };
  for (const w of g.workloads) {
    const o = world.workload(cluster, w.kind, ns, w.name);
    token(o);
    if (w.kind === 'CronJob') facts.cronJobsSuspended[w.name] = o?.spec?.suspend === true;
    else facts.workloads[w.name] = { spec: Number(o?.spec?.replicas ?? -1), ready: world.readyReplicas(cluster, w.kind, ns, w.name), pods: world.pods(cluster, w.kind, ns, w.name).length };
    for (const vr of w.volumeReplications) {
      facts.volumes[vr] = world.volumeState(cluster, ns, vr);
      token(world.get(cluster, { ...Kinds.VolumeReplication, namespace: ns, name: vr }));
    }
  }
  for (const n of g.networkResources) {
    const o = world.get(cluster, { ...Kinds[n.kind], namespace: ns, name: n.name });
    token(o);
    facts.network[`${n.kind}/${n.name}`] = { controller: o?.metadata.annotations?.[EngineAnnotations.externalDnsController], dnsDisabled: o?.metadata.annotations?.[EngineAnnotations.dnsDisabled] };
  }
  for (const f of g.fluxResources) {
    const o = world.get(cluster, { ...Kinds[f.kind], namespace: ns, name: f.name });
    token(o);
    facts.fluxPaused[`${f.kind}/${f.name}`] = o?.metadata.annotations?.[EngineAnnotations.fluxIgnore] === 'true';
  }
  return facts;
}

/** The sample scenario's running replica counts. */
export function scenarioReplicas(world: SimWorld): Record<string, number> {
  return { ...world.scenario.groups[0].replicas };
}

export function isActive(f: SiteFacts, replicas: Record<string, number>): boolean {
  return (
    Object.entries(f.workloads).every(([name, w]) => w.spec === replicas[name] && w.ready === replicas[name]) &&
    Object.values(f.cronJobsSuspended).every((s) => !s) &&
    Object.values(f.volumes).every((v) => v === 'Primary') &&
    Object.values(f.network).every((n) => n.controller === 'dns-controller' && n.dnsDisabled === undefined) &&
    Object.values(f.fluxPaused).every((p) => !p)
  );
}

export function isStandingBy(f: SiteFacts): boolean {
  return (
    Object.values(f.workloads).every((w) => w.spec === 0 && w.pods === 0) &&
    Object.values(f.cronJobsSuspended).every((s) => s) &&
    Object.values(f.volumes).every((v) => v === 'Secondary') &&
    Object.values(f.network).every((n) => n.controller === 'ignore' && n.dnsDisabled === 'true') &&
    Object.values(f.fluxPaused).every((p) => p)
  );
}
