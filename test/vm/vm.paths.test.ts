// Why: every state of every VM chart must be reachable, or it is dead code no test exercises. xstate/graph
// generates the shortest path to each reachable (state, relevant context) pair from the invoked actors' possible
// results (done with each kind of output, error) and the outside events; each chart's state nodes are then
// enumerated and each must be reached by some generated path.
import { getShortestPaths, getStateNodes } from 'xstate/graph';
import { createEmptyActor, createMachine, type AnyActorScope, type AnyStateMachine, type EventObject } from 'xstate';
import { describe, expect, it } from 'vitest';
import { cleanupMachine } from '../../machines/vm/cleanup.machine.ts';
import { failbackMachine } from '../../machines/vm/failback.machine.ts';
import { liveFailoverMachine } from '../../machines/vm/live-failover.machine.ts';
import { stepMachine } from '../../machines/vm/step.machine.ts';
import { testFailoverMachine } from '../../machines/vm/test-failover.machine.ts';
import { vmLifecycleMachine } from '../../machines/vm/vm-lifecycle.machine.ts';
import { volumeLifecycleMachine } from '../../machines/vm/volume-lifecycle.machine.ts';
import type { CleanupInput, StepError, VmLifecycleInput, VolumeLifecycleInput } from '../../machines/vm/vm.types.ts';
import { APPLIANCE, FAST_POLICY, StubCloud, job, readyFacts } from './stub-ops.ts';

const E: StepError = { kind: 'Fatal', driver: 'stub', op: 'x', message: 'boom' };
const T: StepError = { kind: 'Transient', driver: 'stub', op: 'x', message: 'flaky' };
const ok = (value: unknown) => ({ ok: true, value, attempts: 1 });
const bad = (error: StepError = E) => ({ ok: false, error, attempts: 3 });

/** Possible outputs per actor source (the named actor an invoke runs). */
type Outputs = Record<string, unknown[]>;

const notReady = (() => {
  const f = readyFacts(new StubCloud());
  f.facts.vm!.cpuCount = 0;
  return f;
})();

const CHAIN_OUTPUTS: Outputs = {
  openJob: [ok({}), bad()],
  gatherFacts: [ok(readyFacts(new StubCloud())), ok(notReady), bad()],
  createSnapshots: [ok([{ volumeId: 'vol-1', name: 's', snapshotId: 'snap-1' }]), bad()],
  injectDrivers: [ok({}), bad(T), bad(E)],
  revertSnapshot: [ok({}), bad()],
  findRootVolume: [ok({ volumeId: 'root-1' }), ok({}), bad()],
  deleteRootVolume: [ok({}), bad()],
  verifyVm: [ok({}), bad()],
  setContextStatus: [ok({}), bad()],
  deleteSnapshots: [ok({}), bad()],
  finishJob: [ok({}), bad()],
  vmLifecycle: [
    { goalReached: true, vmId: 'vm-1', state: 'stopped' },
    { goalReached: false, state: 'unknown', error: E },
  ],
  volumeLifecycle: [
    { volumeId: 'vol-1', goalReached: true, where: 'target' },
    { volumeId: 'vol-1', goalReached: false, where: 'appliance', error: E },
  ],
  cleanup: [
    { clean: true, volumes: [{ volumeId: 'vol-1', where: 'appliance' }], vmRemoved: true, reverted: true, snapshotsDeleted: true, conditions: [] },
    { clean: false, volumes: [{ volumeId: 'vol-1', where: 'none' }], vmRemoved: false, reverted: false, snapshotsDeleted: false, error: E, conditions: [] },
    { clean: false, volumes: [{ volumeId: 'vol-1', where: 'appliance' }], vmRemoved: false, reverted: false, snapshotsDeleted: false, error: E, conditions: [] },
  ],
};

const STEP_OUTPUTS: Outputs = {
  observeVm: [ok({ vmId: 'vm-1', state: 'absent' }), ok({ vmId: 'vm-1', state: 'stopped' }), ok({ vmId: 'vm-1', state: 'running' }), ok({ vmId: 'vm-1', state: 'starting' }), ok({ vmId: 'vm-1', state: 'error', rawState: 'Error' }), bad()],
  deployVm: [ok({ vmId: 'vm-1', state: 'stopped' }), bad()],
  startVm: [ok({ vmId: 'vm-1', state: 'running' }), bad()],
  stopVm: [ok({ vmId: 'vm-1', state: 'stopped' }), bad()],
  destroyVm: [ok({}), bad()],
  recordStep: [ok({}), bad()],
  observeVolume: [
    ok({ volumeId: 'vol-1', attachedToVmId: APPLIANCE, devicePath: '/dev/vdb' }),
    ok({ volumeId: 'vol-1', attachedToVmId: 'vm-t' }),
    ok({ volumeId: 'vol-1' }),
    ok({ volumeId: 'vol-1', attachedToVmId: 'stranger' }),
    bad(),
  ],
  detachVolume: [ok({}), bad()],
  attachVolume: [ok({ volumeId: 'vol-1', attachedToVmId: 'vm-t' }), bad()],
  gatherFailbackFacts: [
    ok({
      vmId: 'vm-1001',
      vm: { name: 'app01', contextStatus: 'failed_over_live', volumeIds: ['vol-1', 'vol-2'] },
      liveVm: { vmId: 'vm-t', name: 'app01-live', state: 'Running' },
      volumes: [
        { volumeId: 'vol-1', attachedToVmId: 'vm-t' },
        { volumeId: 'vol-2', attachedToVmId: 'vm-t' },
      ],
      appliance: { vmId: APPLIANCE, state: 'Running' },
      activeJobIds: [],
    }),
    ok({ vmId: 'vm-1001', volumes: [], activeJobIds: [] }),
    bad(),
  ],
};

const LIFECYCLE_OUTPUTS: Outputs = {
  vmLifecycle: [
    { goalReached: true, vmId: 'vm-t', state: 'stopped' },
    { goalReached: false, state: 'unknown', error: E },
  ],
  volumeLifecycle: [
    { volumeId: 'vol-1', goalReached: true, where: 'appliance' },
    { volumeId: 'vol-1', goalReached: true, where: 'none' },
    { volumeId: 'vol-1', goalReached: false, where: 'target', vmId: 'vm-t', error: E },
    { volumeId: 'vol-1', goalReached: false, where: 'appliance', error: E },
    { volumeId: 'vol-1', goalReached: false, where: 'none', error: E },
    { volumeId: 'vol-1', goalReached: false, where: 'unknown', error: E },
  ],
};

/** The events that can reach a snapshot: each active invoke's possible results, timers, and `extra`. */
function eventsFor(outputs: Outputs, extra: EventObject[] = []) {
  return (snapshot: any): EventObject[] => {
    const events: EventObject[] = [...extra];
    for (const node of snapshot._nodes as Array<{ invoke: Array<{ id: string; src: unknown }> }>) {
      for (const inv of node.invoke) {
        const src = typeof inv.src === 'string' ? inv.src : '';
        if (src === 'waitUntil') {
          events.push({ type: 'timer.armed', deadlineMs: 5_000 } as EventObject, { type: 'timer.fired' });
        }
        for (const output of outputs[src] ?? []) events.push({ type: `xstate.done.actor.${inv.id}`, output } as EventObject);
        events.push({ type: `xstate.error.actor.${inv.id}`, error: new Error('actor crashed') } as EventObject);
      }
    }
    return events;
  };
}

/** Every state node id active in a state value (with its ancestors). */
function activeIds(machine: AnyStateMachine, value: unknown): string[] {
  const ids: string[] = [];
  const walk = (prefix: string, v: unknown) => {
    if (typeof v === 'string') ids.push(`${prefix}.${v}`);
    else if (v && typeof v === 'object') {
      for (const [k, sub] of Object.entries(v)) {
        ids.push(`${prefix}.${k}`);
        walk(`${prefix}.${k}`, sub);
      }
    }
  };
  walk(machine.id, value);
  return ids;
}

/** A scope for computing microsteps outside an actor (as xstate/graph does internally). */
function mockScope(): AnyActorScope {
  const empty = createEmptyActor();
  return { self: empty, logger: () => {}, id: '', sessionId: 'paths', defer: () => {}, system: empty.system, stopChild: () => {}, emit: () => {}, actionExecutor: () => {} } as unknown as AnyActorScope;
}

/** The ids of the initial states entered when a node is entered (transient ones included). */
function initialIds(machine: AnyStateMachine, node: any): string[] {
  const out: string[] = [];
  for (const t of node.initial?.target ?? []) {
    out.push(t.path.length ? `${machine.id}.${t.path.join('.')}` : machine.id, ...initialIds(machine, t));
  }
  return out;
}

/**
 * Generates the shortest path to every reachable (state, relevant context) pair, then replays each step's
 * microsteps, so the decision states a macrostep passes through (`always` only, never at rest) count as reached.
 */
function coverage(machine: AnyStateMachine, inputs: unknown[], outputs: Outputs, serialize: (s: any) => unknown, extra: EventObject[] = []) {
  const reached = new Set<string>([machine.id, ...initialIds(machine, machine.root)]);
  const scope = mockScope();
  let paths = 0;
  for (const input of inputs) {
    const found = getShortestPaths(machine, {
      input,
      events: eventsFor(outputs, extra),
      serializeState: (s: any) => JSON.stringify({ v: s.value, s: s.status, c: serialize(s.context) }),
      limit: 200_000,
    } as any);
    paths += found.length;
    for (const p of found) {
      let prev: any;
      for (const step of p.steps as Array<{ event: EventObject; state: any }>) {
        if (prev) for (const micro of machine.microstep(prev, step.event as any, scope)) for (const id of activeIds(machine, micro.value)) reached.add(id);
        for (const id of activeIds(machine, step.state.value)) reached.add(id);
        prev = step.state;
      }
    }
  }
  const all = getStateNodes(machine.root).map((n) => (n.path.length ? `${machine.id}.${n.path.join('.')}` : machine.id));
  return { reached, all, missing: all.filter((id) => !reached.has(id)), paths };
}

describe('vm charts: generated paths reach every state', () => {
  it('paths: the coverage check reports a state no event reaches (it can fail)', () => {
    const m = createMachine({ id: 'probe', initial: 'a', states: { a: { on: { go: 'b' } }, b: { always: 'c' }, c: {}, island: {} } });
    const r = coverage(m, [undefined], {}, () => null, [{ type: 'go' }]);
    expect(r.missing).toEqual(['probe.island']);
    expect(r.reached.has('probe.b')).toBe(true);
  });

  it('paths: step chart (attemptMax=2)', () => {
    const r = coverage(stepMachine, [{ op: 'x', args: {}, retry: { attemptMax: 2, backoffBaseMs: 1, backoffMaxMs: 2 } }], {
      attempt: [{ any: 1 }],
    }, (c) => [c.attempt, c.ok, c.retryAtMs !== undefined], [{ type: 'xstate.error.actor.attempt', error: T } as EventObject]);
    expect(r.missing).toEqual([]);
    expect(r.all.length).toBeGreaterThanOrEqual(6);
  });

  it('paths: VM lifecycle chart (goals stopped, running, destroyed)', () => {
    const base: VmLifecycleInput = { jobId: 'j', vm: { name: 'v' }, goal: 'stopped', acceptAbsent: false, protectedVolumeIds: [], policy: FAST_POLICY };
    const deploy = { name: 'v', displayName: 'v', zoneId: 'z', serviceOfferingId: 'o', templateId: 't', networkIds: ['n'] };
    const inputs = [
      { ...base, deploy, record: { name: 'test-vm-creation' } },
      { ...base, goal: 'running' as const, record: { name: 'test-vm-startup' } },
      { ...base, goal: 'destroyed' as const, acceptAbsent: true },
      { ...base, acceptAbsent: true },
    ];
    const r = coverage(vmLifecycleMachine, inputs, STEP_OUTPUTS, (c) => [c.state, c.settleRounds, c.goalReached, c.vmId, c.settleAtMs !== undefined]);
    expect(r.missing).toEqual([]);
  });

  it('paths: volume lifecycle chart (goals target, appliance, detached; with and without fallback)', () => {
    const base: VolumeLifecycleInput = { jobId: 'j', volumeId: 'vol-1', applianceVmId: APPLIANCE, targetVmId: 'vm-t', goal: 'target', fallbackToTarget: false, policy: FAST_POLICY };
    const inputs = [
      { ...base, record: { name: 'volume-attachment' } },
      { ...base, goal: 'appliance' as const, fallbackToTarget: true },
      { ...base, goal: 'detached' as const },
    ];
    const r = coverage(volumeLifecycleMachine, inputs, STEP_OUTPUTS, (c) => [c.where, c.abandoned, c.reattachTried, c.fallbackTried, c.goalReached]);
    expect(r.missing).toEqual([]);
  });

  it('paths: cleanup chart (cleanup and rollback, with and without a VM and a revert)', () => {
    const base: CleanupInput = {
      job: job('cleanup'),
      mode: 'cleanup',
      applianceVmId: APPLIANCE,
      volumeIds: ['vol-1', 'vol-2'],
      devicePaths: {},
      vmRole: 'test',
      vm: { vmId: 'vm-t', name: 'app01-test' },
      snapshots: [
        { volumeId: 'vol-1', name: 's1', snapshotId: 'snap-1' },
        { volumeId: 'vol-2', name: 's2', snapshotId: 'snap-2' },
      ],
      revert: true,
      policy: FAST_POLICY,
    };
    const inputs = [base, { ...base, mode: 'rollback' as const, vm: undefined, revert: false }, { ...base, snapshots: [], revert: false }];
    const r = coverage(
      cleanupMachine,
      inputs,
      { ...STEP_OUTPUTS, openJob: [ok({}), bad()], revertSnapshot: [ok({}), bad()], deleteSnapshots: [ok({}), bad()], setContextStatus: [ok({}), bad()], finishJob: [ok({}), bad()], ...LIFECYCLE_OUTPUTS },
      (c) => [c.volumeIndex, c.volumes.map((v: any) => [v.where, v.reverted, v.vmId === 'vm-t']), c.vmRemoved, c.snapshotsDeleted, c.error !== undefined, c.vm?.vmId],
    );
    expect(r.missing).toEqual([]);
  });

  it('paths: test failover chart (with and without a test duration)', () => {
    const inputs = [
      { job: job('test-failover'), policy: FAST_POLICY },
      { job: job('test-failover'), policy: FAST_POLICY, testDurationMs: 60_000 },
    ];
    const r = coverage(testFailoverMachine, inputs, CHAIN_OUTPUTS, (c) => [c.injectionAttempt, c.volumeIndex, c.report?.ready, c.rootVolumeId, c.targetVm?.vmId, c.autoCleanupAtMs !== undefined, c.outcome], [
      { type: 'cleanup.requested' },
    ]);
    expect(r.missing).toEqual([]);
    expect(r.paths).toBeGreaterThan(50);
  });

  it('paths: live failover chart', () => {
    const r = coverage(liveFailoverMachine, [{ job: job('failover'), policy: FAST_POLICY }], CHAIN_OUTPUTS, (c) => [c.injectionAttempt, c.volumeIndex, c.report?.ready, c.rootVolumeId, c.targetVm?.vmId, c.outcome]);
    expect(r.missing).toEqual([]);
  });

  it('paths: failback chart', () => {
    const r = coverage(
      failbackMachine,
      [{ job: job('failback'), policy: FAST_POLICY }],
      { ...STEP_OUTPUTS, openJob: [ok({}), bad()], setContextStatus: [ok({}), bad()], finishJob: [ok({}), bad()], ...LIFECYCLE_OUTPUTS },
      (c) => [c.volumeIndex, c.moved, c.returnTried, c.report?.ready, c.error !== undefined, c.outcome],
    );
    expect(r.missing).toEqual([]);
  });
});
