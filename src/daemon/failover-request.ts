// Why: a FailoverRequest is what both operators' charts are handed, and the two must agree on every field (the
// failover id keys the lease, the history and the snapshots). It is built in one place from what a Failover object
// says (its names, its spec, the pinned source cluster and request time) and the group's spec, so the daemon's
// reconciler, the simulator and the benchmark floor cannot drift apart.
import type { FailoverRequest } from '../../machines/failover/failover.types.ts';
import { groupIdOf } from '../../machines/failover/group.types.ts';
import { failoverIdOf } from './failover-spec.ts';

/**
 * What a request is built from: the request's own fields, except the three derived from the Failover object's
 * identity and the group (`failoverId`, `failoverName`, `groupId`); `sourceCluster` and `requestedAtMs` are the
 * pinned ones.
 */
export type FailoverRequestInput = Omit<FailoverRequest, 'failoverId' | 'failoverName' | 'groupId'> & {
  /** The Failover object's namespace and name (its identity on every cluster). */
  failover: { namespace: string; name: string };
};

/** The request one group's failover runs with; the same input gives the same request on every cluster. */
export function failoverRequestOf(i: FailoverRequestInput): FailoverRequest {
  return {
    failoverId: failoverIdOf(i.failover, { namespace: i.group.namespace, name: i.group.name }),
    failoverName: i.failover.name,
    groupId: groupIdOf(i.group),
    group: i.group,
    sourceCluster: i.sourceCluster,
    targetCluster: i.targetCluster,
    mode: i.mode,
    type: i.type,
    force: i.force,
    reason: i.reason,
    requestedAtMs: i.requestedAtMs,
  };
}
