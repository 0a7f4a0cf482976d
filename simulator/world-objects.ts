// Why: the Kubernetes objects of a failover group as they stand on the active site and on a standby, in one place,
// so the world builder, tests and the docs agree on what "active" and "standby" look like: the standby holds the
// same workloads at 0 replicas with their original count annotated (dr-syncer style), secondary volumes,
// traffic switched off and Flux paused.
import { apiVersionOf, Kinds, type KubeObject } from '../drivers/cluster/cluster.port.ts';
import type { JsonObject } from '../drivers/json.ts';
import type { FluxResourceSpec, NetworkResourceSpec, WorkloadSpec } from '../machines/failover/group.types.ts';
import { Annotations, EXTERNAL_DNS_ACTIVE, EXTERNAL_DNS_IGNORE } from './kube/controllers/common.ts';
import { DEFAULT_CRON_SCHEDULE, type ScenarioGroup } from './scenario.ts';

/** The label every object of a group carries: `<namespace>.<name>` of the group. */
export const GROUP_LABEL = 'failover-engine.io/group';
export const VOLUME_REPLICATION_CLASS = 'rbd-volumereplicationclass';
export const STORAGE_CLASS = 'ceph-rbd';

export type SiteRole = 'active' | 'standby';

function meta(namespace: string, name: string, group: ScenarioGroup, extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}): KubeObject['metadata'] {
  const m: KubeObject['metadata'] = { name, namespace, labels: { [GROUP_LABEL]: `${group.spec.namespace}.${group.spec.name}`, ...(extra.labels ?? {}) } };
  if (extra.annotations && Object.keys(extra.annotations).length) m.annotations = extra.annotations;
  return m;
}

export function namespaceObject(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

export function volumeReplicationClassObject(): KubeObject {
  return {
    apiVersion: apiVersionOf(Kinds.VolumeReplicationClass),
    kind: 'VolumeReplicationClass',
    metadata: { name: VOLUME_REPLICATION_CLASS },
    spec: {
      provisioner: 'rbd.csi.ceph.com',
      parameters: {
        mirroringMode: 'snapshot',
        schedulingInterval: '1m',
        'replication.storage.openshift.io/replication-secret-name': 'rook-csi-rbd-provisioner',
        'replication.storage.openshift.io/replication-secret-namespace': 'rook-ceph',
      },
    },
  };
}

function podTemplate(name: string, volumes: readonly string[]): JsonObject {
  const spec: JsonObject = { containers: [{ name: 'app', image: `registry.example/${name}:1.0.0` }] };
  if (volumes.length) {
    spec.volumes = volumes.map((v) => ({ name: v, persistentVolumeClaim: { claimName: v } }));
    (spec.containers as JsonObject[])[0].volumeMounts = volumes.map((v, i) => ({ name: v, mountPath: `/data/${i}` }));
  }
  return { metadata: { labels: { app: name } }, spec };
}

/** A Deployment, StatefulSet or CronJob of the group, as it stands on an active or a standby site. */
export function workloadObject(group: ScenarioGroup, w: WorkloadSpec, role: SiteRole): KubeObject {
  const ns = group.spec.namespace;
  if (w.kind === 'CronJob') {
    return {
      apiVersion: apiVersionOf(Kinds.CronJob),
      kind: 'CronJob',
      metadata: meta(ns, w.name, group, { labels: { app: w.name } }),
      spec: {
        schedule: group.schedules?.[w.name] ?? DEFAULT_CRON_SCHEDULE,
        suspend: role === 'standby',
        concurrencyPolicy: 'Forbid',
        jobTemplate: { spec: { template: { ...podTemplate(w.name, w.volumeReplications), spec: { ...(podTemplate(w.name, w.volumeReplications).spec as JsonObject), restartPolicy: 'OnFailure' } } } },
      },
    };
  }
  const replicas = group.replicas[w.name] ?? 1;
  const annotations: Record<string, string> = role === 'standby' ? { [Annotations.originalReplicas]: String(replicas) } : {};
  const spec: JsonObject = {
    replicas: role === 'active' ? replicas : 0,
    selector: { matchLabels: { app: w.name } },
    template: podTemplate(w.name, w.volumeReplications),
  };
  if (w.kind === 'StatefulSet') {
    spec.serviceName = w.name;
    spec.podManagementPolicy = 'OrderedReady';
  }
  return { apiVersion: apiVersionOf(Kinds[w.kind]), kind: w.kind, metadata: meta(ns, w.name, group, { labels: { app: w.name }, annotations }), spec };
}

/** The PersistentVolumeClaim a VolumeReplication replicates (same name). */
export function pvcObject(group: ScenarioGroup, name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: meta(group.spec.namespace, name, group),
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } }, storageClassName: STORAGE_CLASS },
  };
}

export function volumeReplicationObject(group: ScenarioGroup, name: string, role: SiteRole): KubeObject {
  return {
    apiVersion: apiVersionOf(Kinds.VolumeReplication),
    kind: 'VolumeReplication',
    metadata: meta(group.spec.namespace, name, group),
    spec: {
      volumeReplicationClass: VOLUME_REPLICATION_CLASS,
      replicationState: role === 'active' ? 'primary' : 'secondary',
      dataSource: { kind: 'PersistentVolumeClaim', name },
      autoResync: false,
    },
  };
}

/** Traffic annotations: external-dns publishes the active site only; the standby carries the dns-disabled switch. */
export function networkAnnotations(role: SiteRole): Record<string, string> {
  return role === 'active' ? { [Annotations.externalDnsController]: EXTERNAL_DNS_ACTIVE } : { [Annotations.externalDnsController]: EXTERNAL_DNS_IGNORE, [Annotations.dnsDisabled]: 'true' };
}

export function networkObject(group: ScenarioGroup, n: NetworkResourceSpec, role: SiteRole): KubeObject {
  const ns = group.spec.namespace;
  const host = `${n.name}.${ns}.example.com`;
  const backend = group.spec.workloads.find((w) => w.kind !== 'CronJob')?.name ?? n.name;
  if (n.kind === 'VirtualService') {
    return {
      apiVersion: apiVersionOf(Kinds.VirtualService),
      kind: 'VirtualService',
      metadata: meta(ns, n.name, group, { annotations: networkAnnotations(role) }),
      spec: { hosts: [host], gateways: ['istio-system/public-gateway'], http: [{ route: [{ destination: { host: `${backend}.${ns}.svc.cluster.local`, port: { number: 80 } } }] }] },
    };
  }
  return {
    apiVersion: apiVersionOf(Kinds.Ingress),
    kind: 'Ingress',
    metadata: meta(ns, n.name, group, { annotations: networkAnnotations(role) }),
    spec: {
      ingressClassName: 'nginx',
      rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: backend, port: { number: 80 } } } }] } }],
    },
  };
}

/** Flux objects: active on the active site, paused with `fluxcd.io/ignore: "true"` (PARITY.md §2.3) on a standby. */
export function fluxObject(group: ScenarioGroup, f: FluxResourceSpec, role: SiteRole): KubeObject {
  const ns = group.spec.namespace;
  const annotations: Record<string, string> = role === 'standby' ? { [Annotations.fluxIgnore]: 'true' } : {};
  if (f.kind === 'Kustomization') {
    return {
      apiVersion: apiVersionOf(Kinds.Kustomization),
      kind: 'Kustomization',
      metadata: meta(ns, f.name, group, { annotations }),
      spec: { interval: '10m', path: `./apps/${ns}/${f.name}`, prune: true, sourceRef: { kind: 'GitRepository', name: 'platform', namespace: 'flux-system' } },
    };
  }
  return {
    apiVersion: apiVersionOf(Kinds.HelmRelease),
    kind: 'HelmRelease',
    metadata: meta(ns, f.name, group, { annotations }),
    spec: { interval: '10m', chart: { spec: { chart: f.name, version: '1.4.2', sourceRef: { kind: 'HelmRepository', name: 'charts', namespace: 'flux-system' } } } },
  };
}
