// Why: runs the GlobalStatePort contract against the simulator's store, and checks what only the simulator has:
// faults on the route (timeouts that still apply, partitions), injected lease expiry, and the logs invariants read.
import { describe, expect, it } from 'vitest';
import { SimGlobalState } from '../../drivers/globalstate/globalstate.sim.ts';
import type { AcquireLockInput, GroupRecord } from '../../drivers/globalstate/globalstate.port.ts';
import { quietPlan } from '../../simulator/faults.ts';
import { SimGlobalStateStore } from '../../simulator/globalstate/store.ts';
import { SimKernel } from '../../simulator/kernel.ts';
import { describeGlobalStateContract } from './globalstate.contract.ts';

function simWorld(seed = 1, plan = quietPlan(seed)) {
  const kernel = new SimKernel({ seed, plan });
  const store = new SimGlobalStateStore(kernel);
  const east = new SimGlobalState(kernel, store, 'operator/east');
  const west = new SimGlobalState(kernel, store, 'operator/west');
  const run = <T>(p: Promise<T>) => kernel.resolve(p);
  const sleep = (ms: number) => kernel.resolve(kernel.sched.sleep(ms));
  return { kernel, store, east, west, run, sleep };
}

const group = {
  groupId: 'shop',
  ownerCluster: 'east',
  timeouts: { transitoryStateMs: 300_000, unhealthyPrimaryMs: 300_000, heartbeatMs: 300_000 },
  heartbeatIntervalMs: 30_000,
};
const lock = (holder: string, leaseToken: string): AcquireLockInput => ({ holder, leaseToken, failoverId: `fo-${leaseToken}`, reason: 'test', ttlMs: 10_000 });
const proof = (r: GroupRecord) => ({ leaseToken: r.lock!.leaseToken, fencingToken: r.fencingToken });

describeGlobalStateContract('sim', async () => {
  const { kernel, east } = simWorld();
  return {
    port: east,
    settle: (p) => kernel.resolve(p),
    advanceMs: async (ms) => {
      await kernel.resolve(kernel.sched.sleep(ms));
    },
    nowMs: () => kernel.now(),
    dispose: async () => {},
  };
});

describe('globalstate sim: store inspection', () => {
  it('globalstate sim: fencingTokenLog lists every token issued, strictly increasing, with its cause', async () => {
    const w = simWorld();
    await w.run(w.east.createGroup(group));
    const a = await w.run(w.east.acquireLock('shop', lock('east', 'a')));
    await w.run(w.east.acquireLock('shop', lock('east', 'a'))); // idempotent: issues nothing
    await w.run(w.east.releaseLock('shop', 'a'));
    await w.run(w.west.acquireLock('shop', lock('west', 'b')));
    await w.run(w.west.transferOwnership('shop', { from: 'east', to: 'west', expectedVersion: 1, failoverId: 'fo-x' }));
    const log = w.store.fencingTokenLog('shop');
    expect(log.map((e) => [e.fencingToken, e.cause, e.by])).toEqual([
      [1, 'acquireLock', 'operator/east'],
      [2, 'acquireLock', 'operator/west'],
      [3, 'transferOwnership', 'operator/west'],
    ]);
    expect(a.fencingToken).toBe(1);
    expect(w.store.group('shop')!.fencingToken).toBe(3);
    const ops = w.store.revisionsOf('shop').map((r) => r.op);
    expect(ops).toEqual(['createGroup', 'acquireLock', 'acquireLock', 'releaseLock', 'acquireLock', 'transferOwnership']);
  });

  it('globalstate sim: guardedWrites records each write with the token it carried and whether it applied', async () => {
    const w = simWorld();
    await w.run(w.east.createGroup(group));
    const a = await w.run(w.east.acquireLock('shop', lock('east', 'a')));
    await w.run(w.east.setVolumeState('shop', proof(a), { failoverId: 'fo-a', state: 'READY_FOR_PROMOTION' }));
    await w.sleep(11_000);
    const b = await w.run(w.west.acquireLock('shop', lock('west', 'b')));
    await expect(w.run(w.east.patchMetadata('shop', proof(a), { k: 1 }))).rejects.toMatchObject({ kind: 'Conflict', reason: 'LeaseLost' });
    await w.run(w.east.setVolumeState('shop', proof(a), { failoverId: 'fo-a', state: 'READY_FOR_PROMOTION' })); // applied re-run
    await w.run(w.west.setVolumeState('shop', proof(b), { failoverId: 'fo-b', state: 'PROMOTED' }));
    const writes = w.store.guardedWrites('shop').map((x) => ({ op: x.op, by: x.by, ft: x.fencingToken, recordFt: x.recordFencingToken, applied: x.applied, reason: x.reason, replay: x.replay }));
    expect(writes).toEqual([
      { op: 'setVolumeState', by: 'operator/east', ft: 1, recordFt: 1, applied: true, reason: undefined, replay: undefined },
      { op: 'patchMetadata', by: 'operator/east', ft: 1, recordFt: 2, applied: false, reason: 'LeaseLost', replay: undefined },
      { op: 'setVolumeState', by: 'operator/east', ft: 1, recordFt: 2, applied: false, reason: undefined, replay: true },
      { op: 'setVolumeState', by: 'operator/west', ft: 2, recordFt: 2, applied: true, reason: undefined, replay: undefined },
    ]);
    // The property an invariant checks: applied guarded writes always carry the record's current token.
    for (const x of w.store.guardedWrites()) if (x.applied && x.guarded) expect(x.fencingToken).toBe(x.recordFencingToken);
  });

  it('globalstate sim: inspection results are copies (mutating them changes nothing)', async () => {
    const w = simWorld();
    await w.run(w.east.createGroup({ ...group, metadata: { a: 1 } }));
    const g = w.store.group('shop')!;
    g.ownerCluster = 'mallory';
    g.metadata.a = 2;
    expect(w.store.group('shop')).toMatchObject({ ownerCluster: 'east', metadata: { a: 1 } });
    const fromPort = (await w.run(w.east.getGroup('shop')))!;
    fromPort.version = 99;
    expect(w.store.group('shop')!.version).toBe(1);
  });

  it('globalstate sim: expireLease ends a live lease so another holder takes the lock and the old proof is refused', async () => {
    const w = simWorld();
    await w.run(w.east.createGroup(group));
    const a = await w.run(w.east.acquireLock('shop', lock('east', 'a')));
    expect(w.store.liveLock('shop')!.holder).toBe('east');
    expect(w.store.expireLease('shop')).toBe(true);
    expect(w.store.liveLock('shop')).toBeUndefined();
    expect(w.store.expireLease('shop')).toBe(false);
    const b = await w.run(w.west.acquireLock('shop', lock('west', 'b')));
    expect(b.fencingToken).toBe(a.fencingToken + 1);
    await expect(w.run(w.east.renewLock('shop', proof(a), 10_000))).rejects.toMatchObject({ kind: 'Conflict', reason: 'LeaseLost' });
    expect(w.kernel.trace.text()).toContain('globalstate.lease.expired');
  });
});

describe('globalstate sim: faults on the route', () => {
  it('globalstate sim: a partition between operator and store turns calls into Transient timeouts, and the other side still works', async () => {
    const w = simWorld();
    await w.run(w.east.createGroup(group));
    w.kernel.plan.partitions.push({ between: ['operator/east', 'globalstate'], fromMs: 0, toMs: 120_000 });
    await expect(w.run(w.east.acquireLock('shop', lock('east', 'a')))).rejects.toMatchObject({ kind: 'Transient', reason: 'Timeout' });
    const b = await w.run(w.west.acquireLock('shop', lock('west', 'b')));
    expect(b.lock!.holder).toBe('west');
  });

  it('globalstate sim: a timed-out acquireLock that applied is re-run idempotently (same fencing token)', async () => {
    // Every write times out until healAtMs; whether a timed-out write applied is the seed's choice.
    let appliedSeen = false;
    for (let seed = 1; seed <= 20 && !appliedSeen; seed++) {
      const plan = quietPlan(seed);
      plan.healAtMs = 1_000_000;
      plan.errorRates['globalstate.write'] = { Conflict: 0, Throttled: 0, Transient: 0, Timeout: 1 };
      const w = simWorld(seed, plan);
      w.store.createGroup('setup', group);
      // The lease outlives the timeout (plan.timeoutMs is 10 s), so the re-run finds it still held.
      const longLease = { ...lock('east', 'a'), ttlMs: 60_000 };
      const first = await w.run(w.east.acquireLock('shop', longLease)).then(
        () => 'ok',
        (e: { kind: string; reason: string }) => `${e.kind}/${e.reason}`,
      );
      expect(first).toBe('Transient/Timeout');
      const afterFirst = w.store.group('shop')!;
      plan.errorRates['globalstate.write'] = { Conflict: 0, Throttled: 0, Transient: 0, Timeout: 0 };
      const rerun = await w.run(w.east.acquireLock('shop', longLease));
      expect(rerun.lock!.leaseToken).toBe('a');
      if (afterFirst.lock) {
        appliedSeen = true;
        expect(rerun.fencingToken).toBe(afterFirst.fencingToken);
        expect(w.store.fencingTokenLog('shop')).toHaveLength(1);
      } else {
        expect(rerun.fencingToken).toBe(1);
      }
    }
    expect(appliedSeen).toBe(true);
  });

  it('globalstate sim: invalid input is refused before the call reaches the store (no latency, no fault)', async () => {
    const w = simWorld();
    const t0 = w.kernel.now();
    await expect(w.run(w.east.createGroup({ ...group, groupId: '' }))).rejects.toMatchObject({ kind: 'Invalid', driver: 'globalstate', op: 'globalstate.createGroup' });
    expect(w.kernel.now()).toBe(t0);
    expect(w.store.groupIds()).toEqual([]);
  });
});
