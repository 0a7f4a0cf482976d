// Why: the failover host remembers the status it derived per snapshot (failoverStatusOf) and the invariants read
// a live snapshot's tags instead of resolving them through the chart. Both are caches: these tests check that they
// answer exactly what deriving afresh answers, on every snapshot of a real failover, live and persisted.
import { createActor, type AnyMachineSnapshot } from 'xstate';
import { describe, expect, it } from 'vitest';
import { floorRequest, noopFailoverLogic } from '../../bench/floor.ts';
import { deriveFailoverStatus, dualPrimaryWindowOpen, sourceFencedWindowOpen, type FailoverSnapshotLike } from '../../machines/failover/failover.status.ts';
import type { FailoverInput, FailoverRequest, FailoverRole } from '../../machines/failover/failover.types.ts';
import { referenceScenario } from '../../simulator/scenarios/reference.ts';
import { windowOpen } from '../../simulator/invariants/failover.ts';
import { failoverStatusOf } from '../../src/runtime/failover-host.ts';

interface Seen {
  live: FailoverSnapshotLike;
  persisted: FailoverSnapshotLike;
}

/** Every snapshot one side's actor emits (no-op drivers), with its persisted form taken at that moment. */
function sideSnapshots(role: FailoverRole, mode: FailoverRequest['mode'] = 'CONSISTENCY'): Promise<Seen[]> {
  const request: FailoverRequest = { ...floorRequest(referenceScenario.groups[0].spec, 7), mode };
  const input: FailoverInput = { request, role, cluster: role === 'source' ? request.sourceCluster : request.targetCluster };
  const seen: Seen[] = [];
  return new Promise((resolve, reject) => {
    const actor = createActor(noopFailoverLogic, { input });
    actor.subscribe({
      next: (s: AnyMachineSnapshot) => seen.push({ live: s as unknown as FailoverSnapshotLike, persisted: actor.getPersistedSnapshot() as unknown as FailoverSnapshotLike }),
      complete: () => resolve(seen),
      error: reject,
    });
    actor.start();
  });
}

const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('failover host: derived status cache', () => {
  it('failover host: status cache: every live and persisted snapshot of a failover derives what deriving afresh does', async () => {
    const [source, target] = await Promise.all([sideSnapshots('source'), sideSnapshots('target')]);
    const all = [...source, ...target];
    expect(all.length).toBeGreaterThan(20);
    for (const { live, persisted } of all) {
      // The live one first (what the host does), then the persisted one (what the invariants do): the second
      // is served from the cache and must equal a derivation from the stored JSON.
      expect(failoverStatusOf(live)).toEqual(deriveFailoverStatus(live));
      expect(failoverStatusOf(persisted)).toEqual(deriveFailoverStatus(json(persisted)));
    }
    expect(new Set(all.map((s) => failoverStatusOf(s.live).phase))).toEqual(new Set(['Pending', 'InProgress', 'Succeeded']));
  });

  it('failover host: status cache: the same context with another state value or status is derived afresh', async () => {
    const seen = await sideSnapshots('source');
    const active = seen.find((s) => s.live.status === 'active' && failoverStatusOf(s.live).phase === 'InProgress')!.live;
    const first = failoverStatusOf(active);
    const ended: FailoverSnapshotLike = { value: active.value, status: 'done', context: active.context };
    expect(failoverStatusOf(ended)).toEqual(deriveFailoverStatus(ended));
    expect(failoverStatusOf(ended).phase).not.toBe(first.phase);
    const elsewhere: FailoverSnapshotLike = { value: seen[0].live.value, status: 'active', context: active.context };
    expect(failoverStatusOf(elsewhere)).toEqual(deriveFailoverStatus(elsewhere));
    expect(failoverStatusOf(active)).toEqual(deriveFailoverStatus(active));
  });

  it('failover invariants: a live snapshot declares the same windows as its persisted form resolved through the chart', async () => {
    // An UPTIME failover's source keeps its volumes Primary while the target promotes: it opens the window.
    const [source, target] = await Promise.all([sideSnapshots('source', 'UPTIME'), sideSnapshots('target', 'UPTIME')]);
    let open = 0;
    for (const { live, persisted } of [...source, ...target]) {
      if (live.status !== 'active') continue;
      const stored = json(persisted);
      expect(windowOpen(live)).toBe(dualPrimaryWindowOpen(stored) || sourceFencedWindowOpen(stored));
      expect(windowOpen(stored)).toBe(windowOpen(live));
      if (windowOpen(live)) open++;
    }
    expect(open).toBeGreaterThan(0);
  });
});
