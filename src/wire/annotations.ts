// Why: the annotations and labels the engine reads and writes on Kubernetes objects, in one place. They follow
// the reference operator (PARITY.md §2.3), csi-addons, Flux and external-dns; the simulated controllers
// (simulator/kube/controllers/common.ts) honour the same names, and a test checks the two lists agree.

export const EngineAnnotations = {
  /** Forces a VolumeReplication promotion while the peer is still primary (the CRD has no force field). */
  forcePromote: 'replication.storage.openshift.io/force-promote',
  /** Flux v1-style pause (the reference operator's): `"true"` stops reconciliation. */
  fluxIgnore: 'fluxcd.io/ignore',
  /** A Flux reconcile request (RFC 3339 time); Flux records it in status.lastHandledReconcileAt. */
  fluxRequestedAt: 'reconcile.fluxcd.io/requestedAt',
  /** external-dns: `dns-controller` publishes the object's records, `ignore` leaves them alone. */
  externalDnsController: 'external-dns.alpha.kubernetes.io/controller',
  /** The reference operator's network switch: `"true"` while the site serves no traffic. */
  dnsDisabled: 'failover.io/dns-disabled',
  /** The replica count a standby workload runs with once activated (dr-syncer style). */
  originalReplicas: 'failover-engine.io/original-replicas',
} as const;

export const EXTERNAL_DNS_ACTIVE = 'dns-controller';
export const EXTERNAL_DNS_IGNORE = 'ignore';

/** The messages csi-addons writes to a NetworkFence's status.message once the operation succeeded. */
export const NETWORK_FENCE_MESSAGES = { Fenced: 'fencing operation successful', Unfenced: 'unfencing operation successful' } as const;
export const NETWORK_FENCE_SUCCEEDED = 'Succeeded';
