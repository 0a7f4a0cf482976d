// Why: the VM charts' machine tests run on stub actors: each named step is a plain function over a tiny model
// of the cloud (where each volume is, which VMs exist, which snapshots), so the tests can script failures per
// operation and assert where things ended without any driver or simulator. The model is deliberately small:
// the simulator (test/vm/vm.sim.test.ts) checks the charts against the full rules.
import { createActor, fromCallback, fromPromise, toPromise, type AnyActorRef, type AnyStateMachine } from 'xstate';
import { composeVmCharts, type WiredVmCharts } from '../../src/wire/vm-failover.ts';
import { DriverError } from '../../drivers/errors.ts';
import type { GatheredFacts } from '../../machines/vm/failover-chain.ts';
import { DEFAULT_VM_POLICY, type AttemptInput, type TimerEvent, type TimerInput, type VmPolicy } from '../../machines/vm/vm.types.ts';

export const APPLIANCE = 'appliance-1';
export const FAST_POLICY: VmPolicy = {
  ...DEFAULT_VM_POLICY,
  retry: { attemptMax: 3, backoffBaseMs: 1, backoffMaxMs: 2 },
  reattach: { attemptMax: 4, backoffBaseMs: 1, backoffMaxMs: 2 },
  settleRoundsMax: 2,
  settleWaitMs: 1,
};

export interface StubVm {
  id: string;
  name: string;
  state: 'Running' | 'Stopped';
}

/** A failure rule: return an error to make this call fail (n counts the op's calls from 1). */
export type FailRule = (args: any, n: number) => Error | undefined;

export class StubCloud {
  volumes = new Map<string, { vmId?: string; deviceId?: number; reverted: number; injected: boolean }>();
  vms = new Map<string, StubVm>();
  snapshots = new Map<string, { volumeId: string; name: string }>();
  calls = new Map<string, number>();
  log: string[] = [];
  failures = new Map<string, FailRule>();
  contextStatus = 'ready_for_failover';
  jobStatuses: string[] = [];
  steps: string[] = [];
  private seq = 0;

  constructor(volumeIds: string[] = ['vol-1']) {
    volumeIds.forEach((id, i) => this.volumes.set(id, { vmId: APPLIANCE, deviceId: i + 1, reverted: 0, injected: false }));
  }

  fail(op: string, rule: FailRule): this {
    this.failures.set(op, rule);
    return this;
  }

  /** Transient errors on the first `times` calls of an op. */
  flaky(op: string, times: number): this {
    return this.fail(op, (_a, n) => (n <= times ? new DriverError('Transient', 'stub', op, `${op}: injected transient ${n}`) : undefined));
  }

  /** Every call of an op fails with this kind. */
  broken(op: string, kind: DriverError['kind'] = 'Fatal', when: (args: any) => boolean = () => true): this {
    return this.fail(op, (a) => (when(a) ? new DriverError(kind, 'stub', op, `${op}: broken`) : undefined));
  }

  where(volumeId: string): string {
    const v = this.volumes.get(volumeId);
    if (!v?.vmId) return 'none';
    if (v.vmId === APPLIANCE) return 'appliance';
    return this.vms.get(v.vmId)?.name ?? v.vmId;
  }

  private volumeOf(id: string) {
    const v = this.volumes.get(id);
    if (!v) throw new DriverError('NotFound', 'stub', 'volume', `no volume ${id}`);
    return v;
  }

  readonly ops: Record<string, (args: any, input: AttemptInput) => Promise<unknown>> = {
    openJob: async () => ({}),
    finishJob: async (a) => {
      this.jobStatuses.push(a.status);
      return { status: a.status };
    },
    gatherFacts: async (a) => readyFacts(this, a.kind),
    gatherFailbackFacts: async (a) => ({
      vmId: a.vmId,
      vm: { name: 'app01', contextStatus: this.contextStatus, volumeIds: [...this.volumes.keys()] },
      ...(this.liveVm() ? { liveVm: { vmId: this.liveVm()!.id, name: this.liveVm()!.name, state: this.liveVm()!.state } } : {}),
      volumes: [...this.volumes.entries()].map(([volumeId, v]) => ({ volumeId, state: 'Ready', ...(v.vmId ? { attachedToVmId: v.vmId } : {}) })),
      appliance: { vmId: APPLIANCE, state: 'Running' },
      activeJobIds: [],
    }),
    createSnapshots: async (a) =>
      a.snapshots.map((s: { volumeId: string; name: string }) => {
        const id = `snap-${s.volumeId}`;
        this.snapshots.set(id, { volumeId: s.volumeId, name: s.name });
        return { ...s, snapshotId: id };
      }),
    injectDrivers: async (a) => {
      this.volumeOf(a.volumeId).injected = true;
      return { exitCode: 0 };
    },
    revertSnapshot: async (a) => {
      const v = this.volumeOf(a.volumeId);
      if (v.vmId && this.vms.get(v.vmId)?.state !== 'Stopped') throw new DriverError('Invalid', 'stub', 'revertSnapshot', 'volume attached to a running VM');
      v.reverted++;
      v.injected = false;
      return {};
    },
    deleteSnapshots: async (a) => {
      for (const s of a.snapshots) for (const [id, x] of this.snapshots) if (x.name === s.name) this.snapshots.delete(id);
      return {};
    },
    findRootVolume: async () => ({ volumeId: 'root-of-target' }),
    deleteRootVolume: async () => ({}),
    verifyVm: async () => ({}),
    setContextStatus: async (a) => {
      this.contextStatus = a.status;
      return {};
    },
    observeVm: async (a) => {
      const vm = (a.vmId && this.vms.get(a.vmId)) || [...this.vms.values()].find((v) => v.name === a.name);
      return vm ? { vmId: vm.id, state: vm.state === 'Running' ? 'running' : 'stopped' } : { state: 'absent' };
    },
    deployVm: async (a) => {
      const existing = [...this.vms.values()].find((v) => v.name === a.deploy.name);
      if (existing) return { vmId: existing.id, state: 'stopped' };
      const vm: StubVm = { id: `vm-${++this.seq}`, name: a.deploy.name, state: 'Stopped' };
      this.vms.set(vm.id, vm);
      return { vmId: vm.id, state: 'stopped' };
    },
    startVm: async (a) => {
      const vm = this.vms.get(a.vmId)!;
      vm.state = 'Running';
      return { vmId: vm.id, state: 'running' };
    },
    stopVm: async (a) => {
      const vm = this.vms.get(a.vmId)!;
      vm.state = 'Stopped';
      return { vmId: vm.id, state: 'stopped' };
    },
    destroyVm: async (a) => {
      const vm = (a.vmId && this.vms.get(a.vmId)) || [...this.vms.values()].find((v) => v.name === a.name);
      if (!vm) return {};
      if ([...this.volumes.values()].some((v) => v.vmId === vm.id)) throw new DriverError('Invalid', 'stub', 'destroyVm', 'a replicated volume is on it');
      this.vms.delete(vm.id);
      return {};
    },
    observeVolume: async (a) => {
      const v = this.volumeOf(a.volumeId);
      return { volumeId: a.volumeId, ...(v.vmId ? { attachedToVmId: v.vmId, deviceId: v.deviceId } : {}), ...(v.vmId === APPLIANCE ? { devicePath: `/dev/vd${'abcdefgh'[v.deviceId ?? 0]}` } : {}) };
    },
    detachVolume: async (a) => {
      const v = this.volumeOf(a.volumeId);
      delete v.vmId;
      delete v.deviceId;
      return {};
    },
    attachVolume: async (a) => {
      const v = this.volumeOf(a.volumeId);
      if (v.vmId && v.vmId !== a.vmId) throw new DriverError('Invalid', 'stub', 'attachVolume', 'attached elsewhere');
      v.vmId = a.vmId;
      v.deviceId = a.deviceId ?? 1;
      return { volumeId: a.volumeId, attachedToVmId: a.vmId, deviceId: v.deviceId };
    },
    recordStep: async (a, input) => {
      if (input.record) this.steps.push(`${input.record.name}:${a.ok ? 'completed' : 'failed'}`);
      return {};
    },
  };

  liveVm(): StubVm | undefined {
    return [...this.vms.values()].find((v) => v.name.endsWith('-live'));
  }

  attempt(name: string) {
    return fromPromise<unknown, AttemptInput>(async ({ input }) => {
      const n = (this.calls.get(name) ?? 0) + 1;
      this.calls.set(name, n);
      for (const s of input.record?.statuses ?? []) if (this.jobStatuses[this.jobStatuses.length - 1] !== s) this.jobStatuses.push(s);
      const rule = this.failures.get(name);
      const err = rule?.(input.args, n);
      this.log.push(`${name}${err ? '!' : ''}`);
      if (err) throw err;
      const impl = this.ops[name];
      if (!impl) throw new Error(`stub: no op ${name}`);
      const out = await impl(input.args, input);
      if (input.record?.mode === 'whole') this.steps.push(`${input.record.name}:completed`);
      return out;
    });
  }

  charts(): Omit<WiredVmCharts, 'ops'> {
    return composeVmCharts((name) => this.attempt(name), immediateTimer);
  }
}

/** A timer that arms and fires at once (machine tests do not wait). */
export const immediateTimer = fromCallback<TimerEvent, TimerInput>(({ input, sendBack }) => {
  let live = true;
  void Promise.resolve().then(() => {
    if (!live) return;
    if (input.deadlineMs === undefined) sendBack({ type: 'timer.armed', deadlineMs: 1_000 + input.delayMs });
    void Promise.resolve().then(() => live && sendBack({ type: 'timer.fired' }));
  });
  return () => {
    live = false;
  };
});

/** Facts that score 100 for the stub cloud's volumes. */
export function readyFacts(cloud: StubCloud, kind: 'test' | 'live' = 'test'): GatheredFacts {
  void kind;
  const volumeIds = [...cloud.volumes.keys()];
  return {
    facts: {
      vmId: 'vm-1001',
      vm: {
        name: 'app01',
        cpuCount: 2,
        memoryMb: 4096,
        osType: 'linux',
        contextStatus: cloud.contextStatus,
        nics: [{ macAddress: '00:50:56:00:01:01', sourceNetwork: 'VM Network' }],
        networkMappings: { 'VM Network': 'net-test' },
        volumeIds,
        lastReplication: { status: 'succeeded', changeId: '52 d0/1', completedAtMs: 0 },
      },
      volumes: volumeIds.map((volumeId, i) => ({ volumeId, state: 'Ready', attachedToVmId: APPLIANCE, zoneId: 'zone-a', devicePath: `/dev/vd${'bcdefgh'[i]}` })),
      appliance: { vmId: APPLIANCE, state: 'Running', zoneId: 'zone-a' },
      activeJobIds: [],
      networks: [{ id: 'net-test', zoneId: 'zone-a' }],
      offering: { id: 'off-small', cpuNumber: 2, memoryMb: 4096 },
      templateId: 'tpl-1',
      zoneId: 'zone-a',
      nowMs: 1_000,
    },
    leftovers: { vmIds: [], snapshotNames: [] },
  };
}

export function job(type: 'test-failover' | 'failover' | 'failback' | 'cleanup' = 'test-failover') {
  return { jobId: `job-${type}`, correlationId: 'corr-1', vmId: 'vm-1001', type };
}

/** Runs a chart to its end (or to `until`), round-tripping nothing; returns the actor and final snapshot. */
export async function runChart(machine: AnyStateMachine, input: unknown, until?: (value: unknown) => boolean): Promise<{ actor: AnyActorRef; snapshot: any }> {
  const actor = createActor(machine, { input });
  const errors: unknown[] = [];
  actor.subscribe({ error: (e) => errors.push(e) });
  if (until) {
    const reached = new Promise<void>((resolve) => {
      const sub = actor.subscribe((s) => {
        if (until(s.value) || s.status === 'done') {
          sub.unsubscribe();
          resolve();
        }
      });
    });
    actor.start();
    await reached;
  } else {
    actor.start();
    await toPromise(actor).catch(() => undefined);
  }
  if (errors.length) throw errors[0];
  return { actor, snapshot: actor.getSnapshot() };
}
