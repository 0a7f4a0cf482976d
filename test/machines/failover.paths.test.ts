// Why: path generation (xstate/graph getShortestPaths) over every chart: each declared state is reached by some
// generated path, and along every path of the failover chart the status progression never goes backwards.
import { describe, expect, it } from 'vitest';
import { failoverMachine } from '../../machines/failover/failover.machine.ts';
import { finalTaskOf } from '../../machines/failover/failover.plan.ts';
import { deriveFailoverStatus } from '../../machines/failover/failover.status.ts';
import { rejoinMachine } from '../../machines/failover/rejoin.machine.ts';
import { replicationMachine } from '../../machines/replication/replication.machine.ts';
import { workloadMachine } from '../../machines/workload/workload.machine.ts';
import { SimKernel } from '../../simulator/kernel.ts';
import { sampleGroup, sampleRequest } from './failover.harness.ts';
import { activeInvokes, allStateIds, cover, done, error } from './paths.ts';

const OBSERVATIONS = ['JOINED', 'READY_FOR_PROMOTION', 'PROMOTED', 'COMPLETED', 'FAILED', 'OWNED', 'ENDED_SUCCESS', 'ENDED_FAILED', 'ENDED_ROLLED_BACK'];
const TRANSIENT = { kind: 'Transient', driver: 'stub', op: 'stub', message: 'unavailable', atMs: 1 };
const FATAL = { kind: 'Invalid', driver: 'stub', op: 'stub', message: 'invalid', atMs: 1 };
const LEASE_LOST = { kind: 'Conflict', driver: 'stub', op: 'stub', reason: 'LeaseLost', message: 'lease lost', atMs: 1 };
const OUT = { atMs: 1, startedAtMs: 1, proof: { leaseToken: 't', fencingToken: 1 }, version: 1 };
/** The first task of each branch's work: only there are the lease and deadline regions' own events explored. */
const FIRST_WORK_TASK = /\.work\.[a-zA-Z]+\.(disablingNetwork|promotingVolumes|waitingForTrafficSwitch|fencingSource|waitingForReadyForPromotion|waitingForCompletion)$/;

function failoverEvents(s: any): any[] {
  const out: any[] = [{ type: 'deadline.passed' }];
  const atFirstTask = (s._nodes as any[]).some((n) => FIRST_WORK_TASK.test(n.id));
  for (const inv of activeInvokes(s)) {
    // The lease and deadline regions run beside every task; exploring their events everywhere multiplies the
    // state space for nothing: each of their states is reached beside the first task.
    if (/\.holding\.(lease|deadline)\./.test(inv.node) && !atFirstTask) continue;
    out.push(error(inv.id, TRANSIENT), error(inv.id, FATAL), error(inv.id, LEASE_LOST));
    if (inv.src === 'probeReachability') {
      out.push(done(inv.id, { atMs: 1, own: false, peer: false, globalState: true }), done(inv.id, { atMs: 1, own: true, peer: true, globalState: true }));
    } else if (inv.src === 'waitForPeer' || inv.src === 'joinLease' || inv.src === 'regainLease') {
      for (const o of OBSERVATIONS) out.push(done(inv.id, { ...OUT, observed: o }));
      out.push(done(inv.id, OUT));
    } else out.push(done(inv.id, OUT));
  }
  return out;
}

/** States differing only in context the guards do not read are one state; progression is kept so paths stay honest. */
const failoverKey = (s: any) => `${JSON.stringify(s.value)}|${s.context.attempt}|${Math.min(2, s.context.leaseLostCount)}|${s.context.leaseReleased ? 'R' : ''}|${s.context.progress.order}`;

describe('failover charts: generated paths', () => {
  const k = new SimKernel({ seed: 1 });
  const policy = { attemptMax: 2, leaseLossMax: 1 };
  const inputs = [
    { request: sampleRequest(k), role: 'source', cluster: 'east', policy },
    { request: sampleRequest(k), role: 'target', cluster: 'west', policy },
    { request: sampleRequest(k, { mode: 'UPTIME' }), role: 'source', cluster: 'east', policy },
    { request: sampleRequest(k, { mode: 'UPTIME' }), role: 'target', cluster: 'west', policy },
    { request: sampleRequest(k, { type: 'unplanned' }), role: 'target', cluster: 'west', policy },
    { request: sampleRequest(k, { type: 'unplanned' }), role: 'source', cluster: 'east', policy },
    { request: sampleRequest(k), role: 'source', cluster: 'nowhere', policy },
  ];
  const coverage = cover(failoverMachine, inputs, failoverEvents, failoverKey);

  it('failover chart: every state is reached by a generated path (6 branches + invalid input)', () => {
    // `routing` is transient (eventless): it is left in the same microstep it is entered.
    const all = allStateIds(failoverMachine, (n) => n.id === 'failover.routing');
    const missing = all.filter((id) => !coverage.reached.has(id));
    expect(missing).toEqual([]);
    expect(all.length).toBeGreaterThan(500);
  });

  it('failover chart: progression never goes backwards along any generated path, and status derives on every step', () => {
    let checked = 0;
    for (const p of coverage.paths) {
      let last = 0;
      for (const step of p.steps) {
        const order = step.state.context.progress.order;
        expect(order).toBeGreaterThanOrEqual(last);
        last = order;
        checked++;
      }
      // Status derives from the persisted (JSON) form of each path's end state.
      const persisted = JSON.parse(JSON.stringify({ value: p.state.value, status: p.state.status, context: p.state.context }));
      // A succeeded failover names the task that ended it as a whole (the same on both sides); any other, its own.
      const derived = deriveFailoverStatus(persisted);
      const want = derived.phase === 'Succeeded' ? finalTaskOf(persisted.context.request) : persisted.context.progress;
      expect(derived.progression).toEqual({ stageIndex: want.stageIndex, stage: want.stage, task: want.task });
      expect(derived.state).toBe(`TASK_${want.task}`);
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('replication chart: every state is reached by a generated path', () => {
    const view = (over: object) => ({ exists: true, atMs: 1, generation: 1, observedGeneration: 1, ...over });
    const outputs = [
      view({ exists: false }),
      view({ spec: 'primary', state: 'Primary' }),
      view({ spec: 'secondary', state: 'Secondary' }),
      view({ spec: 'secondary', state: 'Secondary', degraded: { status: 'True', reason: 'SplitBrain', message: 'split brain' } }),
      view({ spec: 'secondary', state: 'Resyncing' }),
      view({ spec: 'primary', state: 'Secondary' }),
    ];
    const events = (s: any) =>
      activeInvokes(s).flatMap((inv) => [error(inv.id, TRANSIENT), error(inv.id, FATAL), ...(inv.src === 'waitUntil' ? [done(inv.id, { atMs: 1 })] : outputs.map((o) => done(inv.id, o)))]);
    const base = { namespace: 'shop', name: 'db', mode: 'safe', force: false, deadlineMs: 10_000, attemptMax: 2, backoffBaseMs: 100, backoffMaxMs: 1_000 };
    const c = cover(replicationMachine, [{ ...base, desired: 'primary' }, { ...base, desired: 'secondary' }], events, (s) => `${JSON.stringify(s.value)}|${s.context.attempt}|${s.context.resynced}`);
    expect(allStateIds(replicationMachine).filter((id) => !c.reached.has(id))).toEqual([]);
  });

  it('workload chart: every state is reached by a generated path', () => {
    const events = (s: any) => activeInvokes(s).flatMap((inv) => [error(inv.id, TRANSIENT), error(inv.id, FATAL), done(inv.id, { atMs: 1, exists: true, specReplicas: 0, readyReplicas: 0 })]);
    const base = { kind: 'Deployment', namespace: 'shop', name: 'web', replicas: 3, deadlineMs: 10_000, attemptMax: 2, backoffBaseMs: 100, backoffMaxMs: 1_000 };
    const c = cover(workloadMachine, [{ ...base, wait: 'none' }, { ...base, wait: 'converged' }], events, (s) => `${JSON.stringify(s.value)}|${s.context.attempt}`);
    expect(allStateIds(workloadMachine).filter((id) => !c.reached.has(id))).toEqual([]);
  });

  it('rejoin chart: every state is reached by a generated path', () => {
    const events = (s: any) =>
      activeInvokes(s).flatMap((inv) => [
        error(inv.id, TRANSIENT),
        error(inv.id, FATAL),
        ...(inv.src === 'readOwnership'
          ? [done(inv.id, { atMs: 1, ownerCluster: 'east', version: 1, fencingToken: 1 }), done(inv.id, { atMs: 1, ownerCluster: 'west', version: 2, fencingToken: 2 })]
          : [done(inv.id, { atMs: 1 })]),
      ]);
    const c = cover(rejoinMachine, [{ groupId: 'shop/shop', group: sampleGroup(), cluster: 'east', attemptMax: 2 }], events, (s) => `${JSON.stringify(s.value)}|${s.context.attempt}`);
    expect(allStateIds(rejoinMachine).filter((id) => !c.reached.has(id))).toEqual([]);
  });
});
