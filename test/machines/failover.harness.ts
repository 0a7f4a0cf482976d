// Why: the failover chart run with stub actors (provide()) on virtual time, so each stage, failure policy and
// timer can be driven from a script without a world: a behaviour per task path, consumed in order.
import { createActor, fromPromise, type Actor } from 'xstate';
import { SimKernel } from '../../simulator/kernel.ts';
import { failoverMachine } from '../../machines/failover/failover.machine.ts';
import type { FailoverInput, FailoverRequest, ReachabilityOutput, StepFailure, StepInput, StepOutput } from '../../machines/failover/failover.types.ts';
import type { FailoverGroupSpec } from '../../machines/failover/group.types.ts';

export type Behaviour =
  | { ok: Partial<StepOutput>; takesMs?: number }
  | { fail: Partial<StepFailure>; takesMs?: number }
  | { hang: true };

export const transient = (message = 'injected transient'): Behaviour => ({ fail: { kind: 'Transient', reason: 'InternalError', message } });
export const fatal = (message = 'injected fatal'): Behaviour => ({ fail: { kind: 'Invalid', reason: 'Invalid', message } });
export const leaseLost = (): Behaviour => ({ fail: { kind: 'Conflict', reason: 'LeaseLost', message: 'lease lost' } });
export const observed = (value: string, extra: Partial<StepOutput> = {}): Behaviour => ({ ok: { observed: value, ...extra } });

export function sampleGroup(overrides: Partial<FailoverGroupSpec> = {}): FailoverGroupSpec {
  return {
    name: 'shop',
    namespace: 'shop',
    operatorID: 'op',
    suspended: false,
    timeouts: { transitoryStateMs: 5 * 60_000, unhealthyPrimaryMs: 120_000, heartbeatMs: 60_000 },
    heartbeatIntervalMs: 30_000,
    workloads: [{ kind: 'Deployment', name: 'web', volumeReplications: ['web-data'] }],
    networkResources: [{ kind: 'VirtualService', name: 'web' }],
    fluxResources: [{ kind: 'Kustomization', name: 'shop', triggerReconcile: true }],
    ...overrides,
  };
}

export function sampleRequest(kernel: SimKernel, overrides: Partial<FailoverRequest> = {}): FailoverRequest {
  const group = sampleGroup();
  return {
    failoverId: 'fo-1',
    failoverName: 'move-shop',
    groupId: 'shop/shop',
    group,
    sourceCluster: 'east',
    targetCluster: 'west',
    mode: 'CONSISTENCY',
    type: 'planned',
    force: false,
    reason: 'test',
    requestedAtMs: kernel.now(),
    ...overrides,
  };
}

export interface Harness {
  kernel: SimKernel;
  actor: Actor<typeof failoverMachine>;
  /** Every step invocation, in order: `<path>` (infra actors as `#renew`, `#regain`, `#probe`). */
  calls: string[];
  /** Runs virtual time until the actor stops (or the bound). */
  settle(untilMs?: number): Promise<void>;
  /** Each snapshot seen (JSON round-tripped), for progression checks. */
  snapshots: any[];
}

export interface HarnessOptions {
  input: (k: SimKernel) => FailoverInput;
  /** Behaviours by task path (`holding.work.sourceClusterShutdown.disablingNetwork`) or by actor name. */
  script?: Record<string, Behaviour[]>;
  probe?: (calls: number) => Partial<ReachabilityOutput>;
  renew?: Behaviour[];
  regain?: Behaviour[];
  snapshot?: any;
  kernel?: SimKernel;
  stepMs?: number;
}

const STEP_ACTORS = [
  'validateFailover', 'acquireLock', 'joinLease', 'disableNetwork', 'enableNetwork', 'disableFlux', 'resumeFlux', 'suspendCronJobs',
  'resumeCronJobs', 'scaleDownWorkloads', 'waitForWorkloadsScaledDown', 'scaleUpWorkloads', 'waitForWorkloadsReady', 'demoteVolumes',
  'waitForVolumesDemoted', 'promoteVolumes', 'waitForVolumesPromoted', 'verifyDataAvailability', 'setVolumeState', 'waitForPeer',
  'transferOwnership', 'recordHistory', 'releaseLock', 'fenceSource', 'unfenceSource',
] as const;

export function startHarness(o: HarnessOptions): Harness {
  const kernel = o.kernel ?? new SimKernel({ seed: 1 });
  const calls: string[] = [];
  const counters = new Map<string, number>();
  const stepMs = o.stepMs ?? 10;
  const next = (key: string, list: Behaviour[] | undefined): Behaviour | undefined => {
    if (!list || list.length === 0) return undefined;
    const n = counters.get(key) ?? 0;
    counters.set(key, n + 1);
    return list[Math.min(n, list.length - 1)];
  };
  const run = async (b: Behaviour | undefined, defaults: Partial<StepOutput>, signal: AbortSignal): Promise<any> => {
    const started = kernel.now();
    if (b && 'hang' in b) {
      await new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    }
    await kernel.sched.sleep(b && 'takesMs' in b && b.takesMs !== undefined ? b.takesMs : stepMs, signal);
    if (b && 'fail' in b) throw { kind: 'Transient', driver: 'stub', op: 'stub', message: 'stub failure', ...b.fail, atMs: kernel.now() };
    return { atMs: kernel.now(), startedAtMs: started, ...defaults, ...(b && 'ok' in b ? b.ok : {}) };
  };
  const defaultsFor = (name: string, input: StepInput): Partial<StepOutput> => {
    if (name === 'validateFailover') return { version: 1 };
    if (name === 'acquireLock' || name === 'joinLease') return { proof: { leaseToken: input.leaseToken, fencingToken: 1 }, leaseExpiresAtMs: kernel.now() + input.policy.leaseTtlMs, version: 1, observed: 'JOINED' };
    if (name === 'waitForPeer') return { observed: (input.params.awaiting as string[])[0] };
    return {};
  };
  const actors: Record<string, any> = {};
  for (const name of STEP_ACTORS) {
    actors[name] = fromPromise<StepOutput, StepInput>(async ({ input, signal }) => {
      calls.push(input.path);
      const b = next(input.path, o.script?.[input.path]) ?? next(name, o.script?.[name]);
      return run(b, defaultsFor(name, input), signal);
    });
  }
  actors.waitUntil = fromPromise<{ atMs: number }, { atMs: number }>(async ({ input, signal }) => {
    await kernel.sched.sleep(Math.max(0, input.atMs - kernel.now()), signal);
    return { atMs: kernel.now() };
  });
  actors.renewLease = fromPromise<StepOutput, StepInput>(async ({ input, signal }) => {
    calls.push('#renew');
    return run(next('#renew', o.renew), { leaseExpiresAtMs: kernel.now() + input.policy.leaseTtlMs }, signal);
  });
  actors.regainLease = fromPromise<StepOutput, StepInput>(async ({ input, signal }) => {
    calls.push('#regain');
    return run(next('#regain', o.regain), { proof: { leaseToken: input.leaseToken, fencingToken: 2 }, leaseExpiresAtMs: kernel.now() + input.policy.leaseTtlMs }, signal);
  });
  let probes = 0;
  actors.probeReachability = fromPromise<ReachabilityOutput, StepInput>(async ({ signal }) => {
    calls.push('#probe');
    await kernel.sched.sleep(stepMs, signal);
    return { atMs: kernel.now(), own: true, peer: true, globalState: true, ...(o.probe?.(probes++) ?? {}) };
  });
  const machine = failoverMachine.provide({ actors });
  const snapshots: any[] = [];
  const actor = createActor(machine, { input: o.input(kernel), clock: kernel.sched.xstateClock, ...(o.snapshot ? { snapshot: o.snapshot } : {}) });
  actor.subscribe({ next: () => snapshots.push(JSON.parse(JSON.stringify(actor.getPersistedSnapshot()))), error: () => {} });
  actor.start();
  return {
    kernel,
    actor,
    calls,
    snapshots,
    async settle(untilMs?: number) {
      await kernel.run({ stopWhen: () => actor.getSnapshot().status !== 'active', ...(untilMs !== undefined ? { untilMs: kernel.now() + untilMs } : {}), maxEvents: 200_000 });
    },
  };
}

/** Leaf path of the work state (without the branch), for assertions. */
export function leafPath(value: unknown): string {
  const parts: string[] = [];
  let v: any = value;
  while (v && typeof v === 'object') {
    const keys = Object.keys(v);
    const k = keys.includes('work') ? 'work' : keys[0];
    parts.push(k);
    v = v[k];
  }
  if (typeof v === 'string') parts.push(v);
  return parts.join('.');
}
