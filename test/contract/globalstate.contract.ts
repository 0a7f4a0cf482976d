// Why: the one contract every GlobalStatePort implementation must meet (the simulator's store and DynamoDB on
// dynalite), so the simulated global state stays an honest copy of the real one: same compare-and-sets, same
// refusal reasons, same idempotent re-runs, same lease expiry.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AcquireLockInput, CreateGroupInput, GlobalStatePort, GroupRecord, HistoryRecord, LeaseProof } from '../../drivers/globalstate/globalstate.port.ts';

export interface GlobalStateHarness {
  port: GlobalStatePort;
  /** Runs the implementation's world until `p` settles (virtual time for the simulator; identity for real ones). */
  settle<T>(p: Promise<T>): Promise<T>;
  /** Moves the clock the implementation reads lease expiry from. */
  advanceMs(ms: number): Promise<void>;
  /** The implementation's clock now. */
  nowMs(): number;
  dispose(): Promise<void>;
}

const TTL_MS = 10_000;

function groupInput(groupId = 'shop', overrides: Partial<CreateGroupInput> = {}): CreateGroupInput {
  return {
    groupId,
    ownerCluster: 'east',
    timeouts: { transitoryStateMs: 300_000, unhealthyPrimaryMs: 300_000, heartbeatMs: 300_000 },
    heartbeatIntervalMs: 30_000,
    metadata: { replicas: { web: 3, worker: 2 }, note: 'created by test' },
    ...overrides,
  };
}

function lockInput(holder: string, leaseToken: string, overrides: Partial<AcquireLockInput> = {}): AcquireLockInput {
  return { holder, leaseToken, failoverId: `fo-${leaseToken}`, reason: 'planned failover', ttlMs: TTL_MS, ...overrides };
}

function proofOf(record: GroupRecord): LeaseProof {
  if (!record.lock) throw new Error('test setup: the record holds no lock');
  return { leaseToken: record.lock.leaseToken, fencingToken: record.fencingToken };
}

function historyEntry(failoverId: string, endMs: number, overrides: Partial<HistoryRecord> = {}): HistoryRecord {
  return {
    groupId: 'shop',
    failoverId,
    failoverName: `failover-${failoverId}`,
    sourceCluster: 'east',
    targetCluster: 'west',
    mode: 'CONSISTENCY',
    type: 'planned',
    startMs: endMs - 60_000,
    endMs,
    status: 'SUCCESS',
    reason: 'operator request',
    downtimeSeconds: 12,
    durationSeconds: 60,
    ...overrides,
  };
}

export function describeGlobalStateContract(name: string, makeHarness: () => Promise<GlobalStateHarness>): void {
  describe(`GlobalStatePort contract (${name})`, () => {
    let h: GlobalStateHarness;
    let port: GlobalStatePort;
    const run = <T>(p: Promise<T>): Promise<T> => h.settle(p);
    const refused = (p: Promise<unknown>, kind: string, reason?: string) =>
      expect(run(p)).rejects.toMatchObject({ name: 'DriverError', kind, ...(reason !== undefined ? { reason } : {}) });

    beforeEach(async () => {
      h = await makeHarness();
      port = h.port;
    });
    afterEach(async () => {
      await h.dispose();
    });

    it('group: createGroup stores the record and getGroup reads it back', async () => {
      const before = h.nowMs();
      const created = await run(port.createGroup(groupInput()));
      const after = h.nowMs();
      expect(created).toMatchObject({
        groupId: 'shop',
        ownerCluster: 'east',
        version: 1,
        fencingToken: 0,
        suspended: false,
        heartbeatIntervalMs: 30_000,
        timeouts: { transitoryStateMs: 300_000, unhealthyPrimaryMs: 300_000, heartbeatMs: 300_000 },
        metadata: { replicas: { web: 3, worker: 2 }, note: 'created by test' },
      });
      expect(created.lock).toBeUndefined();
      expect(created.previousOwner).toBeUndefined();
      expect(created.volumeState).toBeUndefined();
      expect(created.updatedAtMs).toBeGreaterThanOrEqual(before);
      expect(created.updatedAtMs).toBeLessThanOrEqual(after);
      expect(await run(port.getGroup('shop'))).toEqual(created);
      expect(await run(port.getGroup('no-such-group'))).toBeUndefined();
    });

    it('group: createGroup of an existing group is Conflict AlreadyExists and changes nothing', async () => {
      const created = await run(port.createGroup(groupInput()));
      await refused(port.createGroup(groupInput('shop', { ownerCluster: 'west' })), 'Conflict', 'AlreadyExists');
      expect(await run(port.getGroup('shop'))).toEqual(created);
    });

    it('group: bad input is Invalid and the message names the field', async () => {
      await expect(run(port.createGroup(groupInput('shop', { heartbeatIntervalMs: 0 })))).rejects.toMatchObject({ kind: 'Invalid', message: expect.stringContaining('heartbeatIntervalMs') });
      await run(port.createGroup(groupInput()));
      await expect(run(port.acquireLock('shop', lockInput('east', 't1', { ttlMs: -5 })))).rejects.toMatchObject({ kind: 'Invalid', message: expect.stringContaining('ttlMs') });
      await expect(run(port.listHistory('shop', { limit: 0 }))).rejects.toMatchObject({ kind: 'Invalid', message: expect.stringContaining('limit') });
      await expect(
        run(port.transferOwnership('shop', { from: 'east', to: 'east', expectedVersion: 1, failoverId: 'fo' })),
      ).rejects.toMatchObject({ kind: 'Invalid', message: expect.stringContaining('to is the same cluster as from') });
    });

    it('group: operations on an unknown group are NotFound; listings are empty', async () => {
      const proof = { leaseToken: 't', fencingToken: 1 };
      await refused(port.acquireLock('ghost', lockInput('east', 't')), 'NotFound');
      await refused(port.renewLock('ghost', proof, TTL_MS), 'NotFound');
      await refused(port.releaseLock('ghost', 't'), 'NotFound');
      await refused(port.setVolumeState('ghost', proof, { failoverId: 'fo', state: 'PROMOTED' }), 'NotFound');
      await refused(port.patchMetadata('ghost', proof, { a: 1 }), 'NotFound');
      await refused(port.transferOwnership('ghost', { from: 'east', to: 'west', expectedVersion: 1, failoverId: 'fo' }), 'NotFound');
      await refused(port.setSuspended('ghost', true, 'x'), 'NotFound');
      await refused(port.heartbeat({ groupId: 'ghost', cluster: 'east', health: 'OK', role: 'PRIMARY' }), 'NotFound');
      await refused(port.recordHistory(historyEntry('fo', 100_000, { groupId: 'ghost' })), 'NotFound');
      expect(await run(port.listClusters('ghost'))).toEqual([]);
      expect(await run(port.listHistory('ghost'))).toEqual([]);
      expect(await run(port.getGroup('ghost'))).toBeUndefined();
    });

    it('lock: acquireLock takes a free lock and issues the next fencing token', async () => {
      await run(port.createGroup(groupInput()));
      const before = h.nowMs();
      const locked = await run(port.acquireLock('shop', lockInput('east', 'lease-1', { failoverId: 'fo-9', reason: 'drain east' })));
      const after = h.nowMs();
      expect(locked.fencingToken).toBe(1);
      expect(locked.lock).toMatchObject({ holder: 'east', leaseToken: 'lease-1', failoverId: 'fo-9', reason: 'drain east' });
      expect(locked.lock!.acquiredAtMs).toBeGreaterThanOrEqual(before);
      expect(locked.lock!.acquiredAtMs).toBeLessThanOrEqual(after);
      expect(locked.lock!.expiresAtMs).toBe(locked.lock!.acquiredAtMs + TTL_MS);
      expect(await run(port.getGroup('shop'))).toEqual(locked);
    });

    it('lock: re-acquiring with the same lease token is idempotent (same fencing token)', async () => {
      await run(port.createGroup(groupInput()));
      const first = await run(port.acquireLock('shop', lockInput('east', 'lease-1')));
      await h.advanceMs(1_000);
      const again = await run(port.acquireLock('shop', lockInput('east', 'lease-1')));
      expect(again.fencingToken).toBe(first.fencingToken);
      expect(again.lock!.leaseToken).toBe('lease-1');
      expect(again.lock!.expiresAtMs).toBeGreaterThanOrEqual(first.lock!.expiresAtMs);
    });

    it('lock: a second holder is refused (Locked) until the lease expires, then takes it with a higher token', async () => {
      await run(port.createGroup(groupInput()));
      const a = await run(port.acquireLock('shop', lockInput('east', 'lease-a')));
      await refused(port.acquireLock('shop', lockInput('west', 'lease-b')), 'Conflict', 'Locked');
      await h.advanceMs(TTL_MS / 2);
      await refused(port.acquireLock('shop', lockInput('west', 'lease-b')), 'Conflict', 'Locked');
      expect((await run(port.getGroup('shop')))!.lock!.holder).toBe('east');
      await h.advanceMs(TTL_MS / 2 + 1_000);
      const b = await run(port.acquireLock('shop', lockInput('west', 'lease-b')));
      expect(b.lock).toMatchObject({ holder: 'west', leaseToken: 'lease-b' });
      expect(b.fencingToken).toBeGreaterThan(a.fencingToken);
    });

    it('lock: the fencing token never decreases over acquire, release, expiry and re-acquire cycles', async () => {
      await run(port.createGroup(groupInput()));
      const issued: number[] = [];
      let observedMax = 0;
      const observe = async () => {
        const g = (await run(port.getGroup('shop')))!;
        expect(g.fencingToken).toBeGreaterThanOrEqual(observedMax);
        observedMax = g.fencingToken;
      };
      for (let i = 0; i < 4; i++) {
        const holder = i % 2 === 0 ? 'east' : 'west';
        const got = await run(port.acquireLock('shop', lockInput(holder, `lease-${i}`)));
        issued.push(got.fencingToken);
        await observe();
        const again = await run(port.acquireLock('shop', lockInput(holder, `lease-${i}`)));
        expect(again.fencingToken).toBe(got.fencingToken);
        await observe();
        if (i % 2 === 0) {
          expect(await run(port.releaseLock('shop', `lease-${i}`))).toBe(true);
        } else {
          await h.advanceMs(TTL_MS + 1_000);
        }
        await observe();
      }
      for (let i = 1; i < issued.length; i++) expect(issued[i]).toBeGreaterThan(issued[i - 1]);
    });

    it('lock: renewLock with the holder proof extends the lease past its first expiry', async () => {
      await run(port.createGroup(groupInput()));
      const a = await run(port.acquireLock('shop', lockInput('east', 'lease-a')));
      await h.advanceMs(TTL_MS - 2_000);
      const renewed = await run(port.renewLock('shop', proofOf(a), TTL_MS));
      expect(renewed.lock!.expiresAtMs).toBeGreaterThan(a.lock!.expiresAtMs);
      expect(renewed.fencingToken).toBe(a.fencingToken);
      await h.advanceMs(TTL_MS - 2_000); // past the first expiry, within the renewed one
      await refused(port.acquireLock('shop', lockInput('west', 'lease-b')), 'Conflict', 'Locked');
      const patched = await run(port.patchMetadata('shop', proofOf(a), { stillHere: true }));
      expect(patched.metadata.stillHere).toBe(true);
    });

    it('lock: renewLock with a foreign, expired or superseded proof is LeaseLost', async () => {
      await run(port.createGroup(groupInput()));
      const a = await run(port.acquireLock('shop', lockInput('east', 'lease-a')));
      await refused(port.renewLock('shop', { leaseToken: 'not-mine', fencingToken: a.fencingToken }, TTL_MS), 'Conflict', 'LeaseLost');
      await h.advanceMs(TTL_MS + 1_000);
      await refused(port.renewLock('shop', proofOf(a), TTL_MS), 'Conflict', 'LeaseLost');
      await run(port.acquireLock('shop', lockInput('west', 'lease-b')));
      await refused(port.renewLock('shop', proofOf(a), TTL_MS), 'Conflict', 'LeaseLost');
      expect((await run(port.getGroup('shop')))!.lock!.holder).toBe('west');
    });

    it('lock: an expired lease refuses every guarded write (LeaseLost) and changes nothing', async () => {
      await run(port.createGroup(groupInput()));
      const a = await run(port.acquireLock('shop', lockInput('east', 'lease-a')));
      await h.advanceMs(TTL_MS + 1_000);
      const proof = proofOf(a);
      await refused(port.setVolumeState('shop', proof, { failoverId: 'fo-lease-a', state: 'READY_FOR_PROMOTION' }), 'Conflict', 'LeaseLost');
      await refused(port.patchMetadata('shop', proof, { x: 1 }), 'Conflict', 'LeaseLost');
      await refused(port.transferOwnership('shop', { from: 'east', to: 'west', expectedVersion: 1, failoverId: 'fo-lease-a', proof }), 'Conflict', 'LeaseLost');
      const g = (await run(port.getGroup('shop')))!;
      expect(g.volumeState).toBeUndefined();
      expect(g.metadata.x).toBeUndefined();
      expect(g.ownerCluster).toBe('east');
      expect(g.version).toBe(1);
    });

    it('lock: releaseLock frees the lock only for its holder and is idempotent', async () => {
      await run(port.createGroup(groupInput()));
      const a = await run(port.acquireLock('shop', lockInput('east', 'lease-a')));
      expect(await run(port.releaseLock('shop', 'lease-b'))).toBe(false);
      expect((await run(port.getGroup('shop')))!.lock!.leaseToken).toBe('lease-a');
      expect(await run(port.releaseLock('shop', 'lease-a'))).toBe(true);
      expect((await run(port.getGroup('shop')))!.lock).toBeUndefined();
      expect(await run(port.releaseLock('shop', 'lease-a'))).toBe(false);
      const b = await run(port.acquireLock('shop', lockInput('west', 'lease-b')));
      expect(b.fencingToken).toBeGreaterThan(a.fencingToken);
      expect(await run(port.releaseLock('shop', 'lease-a'))).toBe(false);
      expect((await run(port.getGroup('shop')))!.lock!.holder).toBe('west');
    });

    it('lock: a suspended group refuses acquireLock (Suspended) until it is resumed', async () => {
      await run(port.createGroup(groupInput()));
      const s = await run(port.setSuspended('shop', true, 'maintenance window'));
      expect(s).toMatchObject({ suspended: true, suspensionReason: 'maintenance window' });
      await refused(port.acquireLock('shop', lockInput('east', 'lease-a')), 'Conflict', 'Suspended');
      expect((await run(port.getGroup('shop')))!.fencingToken).toBe(0);
      const r = await run(port.setSuspended('shop', false, undefined));
      expect(r.suspended).toBe(false);
      expect(r.suspensionReason).toBeUndefined();
      expect((await run(port.acquireLock('shop', lockInput('east', 'lease-a')))).fencingToken).toBe(1);
    });

    it('lock: a forced acquire takes the lock of a suspended group; an unforced one is refused (Suspended)', async () => {
      await run(port.createGroup(groupInput()));
      await run(port.setSuspended('shop', true, 'maintenance window'));
      await refused(port.acquireLock('shop', { ...lockInput('east', 'lease-a'), force: false }), 'Conflict', 'Suspended');
      const forced = await run(port.acquireLock('shop', { ...lockInput('east', 'lease-a'), force: true }));
      expect(forced).toMatchObject({ suspended: true, fencingToken: 1, lock: { holder: 'east', leaseToken: 'lease-a' } });
      // Force never overrides a live lock held by another lease.
      await refused(port.acquireLock('shop', { ...lockInput('west', 'lease-b'), force: true }), 'Conflict', 'Locked');
    });

    it('fencing: setVolumeState is guarded by the fencing token (a stale token is refused)', async () => {
      await run(port.createGroup(groupInput()));
      const a = await run(port.acquireLock('shop', lockInput('east', 'lease-a')));
      const before = h.nowMs();
      const set = await run(port.setVolumeState('shop', proofOf(a), { failoverId: 'fo-1', state: 'READY_FOR_PROMOTION', message: 'source demoted' }));
      expect(set.volumeState).toMatchObject({ failoverId: 'fo-1', state: 'READY_FOR_PROMOTION', fencingToken: a.fencingToken, message: 'source demoted' });
      expect(set.volumeState!.updatedAtMs).toBeGreaterThanOrEqual(before);
      await refused(port.setVolumeState('shop', { leaseToken: 'lease-a', fencingToken: a.fencingToken - 1 }, { failoverId: 'fo-1', state: 'PROMOTED' }), 'Conflict', 'StaleFencingToken');
      await refused(port.patchMetadata('shop', { leaseToken: 'lease-a', fencingToken: a.fencingToken + 1 }, { y: 1 }), 'Conflict', 'StaleFencingToken');
      expect((await run(port.getGroup('shop')))!.volumeState!.state).toBe('READY_FOR_PROMOTION');
      // A later holder's token supersedes the old one: the old holder's writes are refused.
      await h.advanceMs(TTL_MS + 1_000);
      const b = await run(port.acquireLock('shop', lockInput('west', 'lease-b')));
      await refused(port.setVolumeState('shop', proofOf(a), { failoverId: 'fo-1', state: 'PROMOTED' }), 'Conflict', 'LeaseLost');
      const promoted = await run(port.setVolumeState('shop', proofOf(b), { failoverId: 'fo-2', state: 'PROMOTED' }));
      expect(promoted.volumeState).toMatchObject({ failoverId: 'fo-2', state: 'PROMOTED', fencingToken: b.fencingToken });
    });

    it('fencing: re-running an applied setVolumeState succeeds even after the lease is gone; another state is refused', async () => {
      await run(port.createGroup(groupInput()));
      const a = await run(port.acquireLock('shop', lockInput('east', 'lease-a')));
      const first = await run(port.setVolumeState('shop', proofOf(a), { failoverId: 'fo-1', state: 'PROMOTED' }));
      const rerun = await run(port.setVolumeState('shop', proofOf(a), { failoverId: 'fo-1', state: 'PROMOTED' }));
      expect(rerun.volumeState).toMatchObject({ failoverId: 'fo-1', state: 'PROMOTED', fencingToken: a.fencingToken });
      await h.advanceMs(TTL_MS + 1_000);
      const late = await run(port.setVolumeState('shop', proofOf(a), { failoverId: 'fo-1', state: 'PROMOTED' }));
      expect(late.volumeState).toMatchObject({ state: 'PROMOTED', fencingToken: first.volumeState!.fencingToken });
      await refused(port.setVolumeState('shop', proofOf(a), { failoverId: 'fo-1', state: 'COMPLETED' }), 'Conflict', 'LeaseLost');
    });

    it('metadata: patchMetadata merges top-level keys, replaces nested values and removes null keys', async () => {
      await run(port.createGroup(groupInput()));
      const a = await run(port.acquireLock('shop', lockInput('east', 'lease-a')));
      const patched = await run(port.patchMetadata('shop', proofOf(a), { replicas: { web: 0 }, 'scaled.down at': 1234, note: null, tags: ['a', 'b'], empty: '' }));
      expect(patched.metadata).toEqual({ replicas: { web: 0 }, 'scaled.down at': 1234, tags: ['a', 'b'], empty: '' });
      const again = await run(port.patchMetadata('shop', proofOf(a), { flag: false }));
      expect(again.metadata).toEqual({ replicas: { web: 0 }, 'scaled.down at': 1234, tags: ['a', 'b'], empty: '', flag: false });
      expect((await run(port.getGroup('shop')))!.metadata).toEqual(again.metadata);
    });

    it('ownership: transferOwnership is a compare-and-set on owner and version', async () => {
      await run(port.createGroup(groupInput()));
      const a = await run(port.acquireLock('shop', lockInput('west', 'lease-w')));
      const proof = proofOf(a);
      await refused(port.transferOwnership('shop', { from: 'east', to: 'west', expectedVersion: 7, failoverId: 'fo-1', proof }), 'Conflict', 'VersionMismatch');
      await refused(port.transferOwnership('shop', { from: 'north', to: 'west', expectedVersion: 1, failoverId: 'fo-1', proof }), 'Conflict', 'NotOwner');
      const before = h.nowMs();
      const moved = await run(port.transferOwnership('shop', { from: 'east', to: 'west', expectedVersion: 1, failoverId: 'fo-1', proof }));
      expect(moved).toMatchObject({ ownerCluster: 'west', previousOwner: 'east', version: 2, fencingToken: a.fencingToken });
      expect(moved.lastFailover).toMatchObject({ failoverId: 'fo-1', sourceCluster: 'east', targetCluster: 'west' });
      expect(moved.lastFailover!.atMs).toBeGreaterThanOrEqual(before);
      // The holder keeps its lock through a guarded transfer and goes on writing.
      expect(moved.lock!.leaseToken).toBe('lease-w');
      await run(port.setVolumeState('shop', proof, { failoverId: 'fo-1', state: 'COMPLETED' }));
      // A re-run of the same transfer (its answer was lost) is a success, not a VersionMismatch.
      const rerun = await run(port.transferOwnership('shop', { from: 'east', to: 'west', expectedVersion: 1, failoverId: 'fo-1', proof }));
      expect(rerun).toMatchObject({ ownerCluster: 'west', version: 2 });
      // Another transfer from the old version is refused.
      await refused(port.transferOwnership('shop', { from: 'east', to: 'west', expectedVersion: 1, failoverId: 'fo-2', proof }), 'Conflict', 'NotOwner');
      await refused(port.transferOwnership('shop', { from: 'west', to: 'east', expectedVersion: 1, failoverId: 'fo-2', proof }), 'Conflict', 'VersionMismatch');
      expect((await run(port.getGroup('shop')))!.version).toBe(2);
    });

    it('ownership: an unguarded transfer fences the old owner (its later guarded writes fail) and frees the lock', async () => {
      await run(port.createGroup(groupInput()));
      const east = await run(port.acquireLock('shop', lockInput('east', 'lease-east')));
      const eastProof = proofOf(east);
      // West cannot take the lock (east's lease is live and east is unreachable): it fences by version alone.
      await refused(port.acquireLock('shop', lockInput('west', 'lease-west')), 'Conflict', 'Locked');
      const fenced = await run(port.transferOwnership('shop', { from: 'east', to: 'west', expectedVersion: 1, failoverId: 'fo-unplanned' }));
      expect(fenced).toMatchObject({ ownerCluster: 'west', previousOwner: 'east', version: 2 });
      expect(fenced.lock).toBeUndefined();
      expect(fenced.fencingToken).toBeGreaterThan(east.fencingToken);
      await refused(port.setVolumeState('shop', eastProof, { failoverId: 'fo-east', state: 'PROMOTED' }), 'Conflict', 'LeaseLost');
      await refused(port.patchMetadata('shop', eastProof, { east: 'was here' }), 'Conflict', 'LeaseLost');
      await refused(port.renewLock('shop', eastProof, TTL_MS), 'Conflict', 'LeaseLost');
      await refused(port.transferOwnership('shop', { from: 'east', to: 'west', expectedVersion: 1, failoverId: 'fo-east', proof: eastProof }), 'Conflict', 'NotOwner');
      expect(await run(port.releaseLock('shop', 'lease-east'))).toBe(false);
      const west = await run(port.acquireLock('shop', lockInput('west', 'lease-west')));
      expect(west.fencingToken).toBeGreaterThan(fenced.fencingToken);
      const g = (await run(port.getGroup('shop')))!;
      expect(g.volumeState).toBeUndefined();
      expect(g.metadata.east).toBeUndefined();
    });

    it('clusters: heartbeat records health and role; the last write wins; listClusters lists each cluster once', async () => {
      await run(port.createGroup(groupInput()));
      const w = await run(port.heartbeat({ groupId: 'shop', cluster: 'west', health: 'OK', role: 'STANDBY' }));
      const e1 = await run(port.heartbeat({ groupId: 'shop', cluster: 'east', health: 'OK', role: 'PRIMARY', components: { api: 'OK', volumes: 3 } }));
      await h.advanceMs(5_000);
      const e2 = await run(port.heartbeat({ groupId: 'shop', cluster: 'east', health: 'DEGRADED', role: 'PRIMARY' }));
      expect(e2.lastHeartbeatMs).toBeGreaterThanOrEqual(e1.lastHeartbeatMs + 5_000);
      const list = await run(port.listClusters('shop'));
      expect(list).toEqual([e2, w]);
      expect(list[0].components).toBeUndefined();
      expect(w).toMatchObject({ groupId: 'shop', cluster: 'west', health: 'OK', role: 'STANDBY' });
      await expect(run(port.heartbeat({ groupId: 'shop', cluster: 'east', health: 'FINE' as never, role: 'PRIMARY' }))).rejects.toMatchObject({ kind: 'Invalid', message: expect.stringContaining('health') });
    });

    it('history: recordHistory records a failover exactly once', async () => {
      await run(port.createGroup(groupInput()));
      const end = h.nowMs();
      expect(await run(port.recordHistory(historyEntry('fo-1', end)))).toBe(true);
      // A re-run (after a restore recomputed the end time, say) is recognised by failoverId.
      expect(await run(port.recordHistory(historyEntry('fo-1', end + 5_000, { status: 'FAILED' })))).toBe(false);
      const list = await run(port.listHistory('shop'));
      expect(list).toEqual([historyEntry('fo-1', end)]);
    });

    it('history: listHistory is newest first and honours limit', async () => {
      await run(port.createGroup(groupInput()));
      const base = h.nowMs();
      const entries = [historyEntry('fo-b', base + 2_000), historyEntry('fo-a', base + 9_000), historyEntry('fo-c', base + 100), historyEntry('fo-d', base + 9_000)];
      for (const e of entries) expect(await run(port.recordHistory(e))).toBe(true);
      const all = await run(port.listHistory('shop'));
      expect(all.map((e) => e.failoverId)).toEqual(['fo-d', 'fo-a', 'fo-b', 'fo-c']);
      expect(all[0]).toEqual(entries[3]);
      const two = await run(port.listHistory('shop', { limit: 2 }));
      expect(two.map((e) => e.failoverId)).toEqual(['fo-d', 'fo-a']);
      expect((await run(port.listHistory('shop', { limit: 10 }))).length).toBe(4);
      await run(port.createGroup(groupInput('other')));
      expect(await run(port.listHistory('other'))).toEqual([]);
    });
  });
}
