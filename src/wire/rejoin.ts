// Why: the rejoin chart wired to a cluster that came back: it reads ownership from global state and, when
// another cluster owns the group, keeps this cluster standing by (fenced writes with the group's current token).
import type { Logger } from 'pino';
import { fromPromise } from 'xstate';
import type { ClockPort } from '../../drivers/clock/clock.port.ts';
import type { ClusterPort, GVK } from '../../drivers/cluster/cluster.port.ts';
import { DriverError } from '../../drivers/errors.ts';
import type { GlobalStatePort } from '../../drivers/globalstate/globalstate.port.ts';
import { DEFAULT_FAILOVER_POLICY } from '../../machines/failover/failover.types.ts';
import { rejoinMachine, type OwnershipView, type RejoinStepInput } from '../../machines/failover/rejoin.machine.ts';
import { ResourceOps, type OpsOptions } from './resource-ops.ts';
import { stampAt } from './stamp.ts';
import { withCallRetries } from './resilient.ts';

export interface RejoinDeps {
  cluster: string;
  clusterPort: ClusterPort;
  globalState: GlobalStatePort;
  clock: ClockPort;
  log: Logger;
  concurrencyMax?: number;
  /** The version this cluster serves CronJob at (discovery; default batch/v1). */
  cronJobKind?: GVK;
}

export function wireRejoin(raw: RejoinDeps) {
  const deps: RejoinDeps = { ...raw, clusterPort: withCallRetries(raw.clusterPort, raw.clock), globalState: withCallRetries(raw.globalState, raw.clock) };
  const ops = new ResourceOps(deps.clusterPort, deps.clock, deps.cronJobKind);
  const log = (groupId: string) => deps.log.child({ groupId, cluster: deps.cluster, chart: 'rejoin' });
  const opsOf = (input: RejoinStepInput, signal: AbortSignal): OpsOptions => ({
    token: input.fencingToken,
    log: log(input.groupId),
    signal,
    concurrencyMax: deps.concurrencyMax ?? DEFAULT_FAILOVER_POLICY.concurrencyMax,
    waitTimeoutMs: input.waitTimeoutMs,
    attemptMax: input.attemptMax,
    backoffBaseMs: input.backoffBaseMs,
    backoffMaxMs: input.backoffMaxMs,
  });
  const step = (name: string, fn: (input: RejoinStepInput, o: OpsOptions) => Promise<void>) =>
    fromPromise<{ atMs: number }, RejoinStepInput>(({ input, signal }) =>
      stampAt(deps.clock, async () => {
        const o = opsOf(input, signal);
        await fn(input, o);
        o.log.info({ step: name }, 'Stood down');
        return { atMs: Math.floor(deps.clock.now()) };
      }),
    );
  return rejoinMachine.provide({
    actors: {
      readOwnership: fromPromise<OwnershipView, { groupId: string }>(({ input, signal }) =>
        stampAt(deps.clock, async () => {
          const r = await deps.globalState.getGroup(input.groupId, { log: log(input.groupId), signal });
          if (!r) throw new DriverError('NotFound', 'globalstate', 'readOwnership', `group ${input.groupId} does not exist in global state`, { reason: 'NotFound' });
          log(input.groupId).info({ owner: r.ownerCluster, version: r.version }, 'Read group ownership');
          return { atMs: Math.floor(deps.clock.now()), ownerCluster: r.ownerCluster, version: r.version, fencingToken: r.fencingToken };
        }),
      ),
      disableNetwork: step('disableNetwork', (i, o) => ops.setNetwork(i.group, false, o)),
      disableFlux: step('disableFlux', (i, o) => ops.setFlux(i.group, true, o)),
      suspendCronJobs: step('suspendCronJobs', (i, o) => ops.setCronJobs(i.group, true, o)),
      scaleDownWorkloads: step('scaleDownWorkloads', (i, o) => ops.scaleDown(i.group, false, o)),
      waitForWorkloadsScaledDown: step('waitForWorkloadsScaledDown', (i, o) => ops.scaleDown(i.group, true, o)),
      demoteVolumes: step('demoteVolumes', (i, o) => ops.requestVolumes(i.group, 'secondary', false, o)),
      waitForVolumesSecondary: step('waitForVolumesSecondary', (i, o) => ops.waitVolumes(i.group, 'secondary', 'safe', false, o)),
      waitUntil: fromPromise<{ atMs: number }, { atMs: number }>(async ({ input, signal }) => {
        const ms = Math.max(0, input.atMs - deps.clock.now());
        if (ms > 0) await deps.clock.sleep(ms, signal);
        return { atMs: Math.floor(deps.clock.now()) };
      }),
    },
  });
}
