// Why: the operator host specialised to the failover chart: its version, its derived status, and the shape of a
// failover submission (the request, the operator's role, its cluster). The daemon and the simulator both build
// their hosts here, so a failover is started, persisted and restored the same way in both.
import type { AnyMachineSnapshot } from 'xstate';
import { FAILOVER_MACHINE_VERSION } from '../../machines/failover/failover.machine.ts';
import { deriveFailoverStatus, type FailoverSnapshotLike, type FailoverStatus } from '../../machines/failover/failover.status.ts';
import type { FailoverInput, FailoverPolicy, FailoverRequest, FailoverRole } from '../../machines/failover/failover.types.ts';
import type { JsonObject } from '../../drivers/json.ts';
import { OperatorHost, type OperatorHostOptions, type Submission, type TraceFields } from './operator-host.ts';

export type FailoverHostOptions = Omit<OperatorHostOptions<FailoverStatus>, 'machineVersion' | 'deriveStatus' | 'describeStatus' | 'describeSnapshot'>;

export type FailoverHost = OperatorHost<FailoverStatus>;

/** The last status derived from each chart context, with the snapshot parts it was derived with. */
const derived = new WeakMap<object, { value: unknown; status: string; error: unknown; result: Readonly<FailoverStatus> }>();

/**
 * deriveFailoverStatus, remembered per snapshot: for read-only use (trace lines, invariants), never handed to a
 * caller that may change it. A status is a function of the snapshot's value, status, error and context, and
 * resolving the state through the chart is its costly part. The host derives each new live snapshot's status, and
 * the persisted form of that snapshot (getPersistedSnapshot keeps the same value and context objects) is derived
 * again where it is stored: the second is served from here. XState never changes a context in place (every
 * assign makes a new object), so an entry cannot go stale: a new snapshot brings a new context or a new value.
 */
export function failoverStatusOf(s: FailoverSnapshotLike): Readonly<FailoverStatus> {
  const context = s.context as unknown as object;
  if (context === null || typeof context !== 'object') return deriveFailoverStatus(s);
  const hit = derived.get(context);
  if (hit && hit.value === s.value && hit.status === s.status && hit.error === s.error) return hit.result;
  const result = deriveFailoverStatus(s);
  derived.set(context, { value: s.value, status: s.status, error: s.error, result });
  return result;
}

export function createFailoverHost(opts: FailoverHostOptions): FailoverHost {
  return new OperatorHost<FailoverStatus>({
    ...opts,
    machineVersion: FAILOVER_MACHINE_VERSION,
    deriveStatus: (s: AnyMachineSnapshot) => deriveFailoverStatus(s as unknown as FailoverSnapshotLike),
    describeStatus: describe,
    describeSnapshot: (s: AnyMachineSnapshot) => describe(failoverStatusOf(s as unknown as FailoverSnapshotLike)),
  });
}

function describe(st: Readonly<FailoverStatus>): TraceFields {
  return { phase: st.phase, stage: st.progression.stage, task: st.progression.task };
}

/** The submission one operator gets for a failover: the same request on both sides, its own role and cluster. */
export function failoverSubmission(request: FailoverRequest, role: FailoverRole, cluster: string, policy?: Partial<FailoverPolicy>): Submission {
  const input: FailoverInput = { request, role, cluster };
  if (policy) input.policy = policy;
  return { failoverId: request.failoverId, input: input as unknown as JsonObject };
}
