// Why: the operator host specialised to the failover chart: its version, its derived status, and the shape of a
// failover submission (the request, the operator's role, its cluster). The daemon and the simulator both build
// their hosts here, so a failover is started, persisted and restored the same way in both.
import type { AnyMachineSnapshot } from 'xstate';
import { FAILOVER_MACHINE_VERSION } from '../../machines/failover/failover.machine.ts';
import { deriveFailoverStatus, type FailoverSnapshotLike, type FailoverStatus } from '../../machines/failover/failover.status.ts';
import type { FailoverInput, FailoverPolicy, FailoverRequest, FailoverRole } from '../../machines/failover/failover.types.ts';
import type { JsonObject } from '../../drivers/json.ts';
import { OperatorHost, type OperatorHostOptions, type Submission } from './operator-host.ts';

export type FailoverHostOptions = Omit<OperatorHostOptions<FailoverStatus>, 'machineVersion' | 'deriveStatus' | 'describeStatus'>;

export type FailoverHost = OperatorHost<FailoverStatus>;

export function createFailoverHost(opts: FailoverHostOptions): FailoverHost {
  return new OperatorHost<FailoverStatus>({
    ...opts,
    machineVersion: FAILOVER_MACHINE_VERSION,
    deriveStatus: (s: AnyMachineSnapshot) => deriveFailoverStatus(s as unknown as FailoverSnapshotLike),
    describeStatus: (st) => ({ phase: st.phase, stage: st.progression.stage, task: st.progression.task }),
  });
}

/** The submission one operator gets for a failover: the same request on both sides, its own role and cluster. */
export function failoverSubmission(request: FailoverRequest, role: FailoverRole, cluster: string, policy?: Partial<FailoverPolicy>): Submission {
  const input: FailoverInput = { request, role, cluster };
  if (policy) input.policy = policy;
  return { failoverId: request.failoverId, input: input as unknown as JsonObject };
}
