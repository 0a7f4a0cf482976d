// Why: the engine's own Kubernetes API (group failover-engine.io, crds/engine/) as the daemon names it: the kinds,
// the labels and annotations it reads and writes, in one place, so the reconcilers, the CLI, the simulator harness
// and the docs agree.
import type { GVK } from '../../drivers/cluster/cluster.port.ts';

export const API_GROUP = 'failover-engine.io';
export const API_VERSION = 'v1alpha1';
export const ENGINE_API_VERSION = `${API_GROUP}/${API_VERSION}`;

export const FailoverGroupKind: GVK = { group: API_GROUP, version: API_VERSION, kind: 'FailoverGroup' };
export const FailoverKind: GVK = { group: API_GROUP, version: API_VERSION, kind: 'Failover' };

/** The field manager of every write the daemon makes. */
export const FIELD_MANAGER = 'failover-engine-daemon';

/** The operatorID a FailoverGroup gets when its spec names none (the CRD's default). */
export const DEFAULT_OPERATOR_ID = 'failover-engine';

export const Labels = {
  /** `auto-failover` on a Failover the daemon created by itself (PARITY.md §2.5). */
  component: 'app.kubernetes.io/component',
} as const;
export const AUTO_FAILOVER_COMPONENT = 'auto-failover';

export const Annotations = {
  /** `"true"` on a Failover the daemon created by itself. */
  automatic: 'failover-engine.io/automatic',
  /** Why an automatic Failover was created (the detection that fired, with the numbers). */
  reason: 'failover-engine.io/reason',
  /**
   * The cluster that owned the groups when the Failover was accepted. Pinned by the first daemon that accepts the
   * Failover (and copied with it to the peer), so both operators build the same request even after ownership moved.
   */
  sourceCluster: 'failover-engine.io/source-cluster',
  /** When the failover was requested (RFC 3339, milliseconds): the same on both clusters. Pinned like sourceCluster. */
  requestedAt: 'failover-engine.io/requested-at',
  /** On a Failover a daemon copied into its peer cluster: the cluster it came from. */
  mirroredFrom: 'failover-engine.io/mirrored-from',
} as const;

