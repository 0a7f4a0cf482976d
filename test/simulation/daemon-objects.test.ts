// Why: the daemon-level invariants judge what users see (both clusters' Failover copies, every FailoverGroup's
// status), so each must hold on objects that tell the truth and fail on objects that do not; a check that cannot
// fail would make every daemon-level run look green.
import { describe, expect, it } from 'vitest';
import { isoTime } from '../../drivers/clock/clock.port.ts';
import type { JsonObject } from '../../drivers/json.ts';
import { DAEMON_INV, DaemonObjectInvariants } from '../../simulator/invariants/daemon-objects.ts';
import { scenarioByName } from '../../simulator/scenarios/index.ts';
import { SimWorld } from '../../simulator/world.ts';
import { loadCrds } from '../../src/crds.ts';
import { FailoverGroupKind, FailoverKind } from '../../src/daemon/api.ts';
import { failoverRequestOf } from '../../src/daemon/failover-request.ts';
import { failoverObject } from '../../src/daemon/failover-spec.ts';
import { createGroupObjects } from '../../src/daemon/sim-harness.ts';

const CRDS = loadCrds();

interface Copy {
  status: string;
  state: string;
  stage?: string;
  at?: string;
  metrics?: JsonObject;
}

/** A world with the sample group's FailoverGroup objects, the invariants installed, and two Failover copies. */
async function judge(copies: { source: Copy; target: Copy }, group: { activeCluster: (c: string) => string }): Promise<Map<string, boolean>> {
  const world = SimWorld.build({ seed: 1, scenario: scenarioByName('sample'), crds: CRDS });
  const spec = world.scenario.groups[0].spec;
  createGroupObjects(world, [spec]);
  const request = failoverRequestOf({ failover: { namespace: 'shop', name: 'move' }, group: spec, sourceCluster: 'east', targetCluster: 'west', mode: 'CONSISTENCY', type: 'planned', force: false, reason: 'test', requestedAtMs: world.kernel.now() });
  const inv = new DaemonObjectInvariants(world, request);
  inv.install();
  await world.runFor(5_000);
  const now = isoTime(world.kernel.now());
  for (const [role, cluster] of [['source', 'east'], ['target', 'west']] as const) {
    const c = copies[role];
    const store = world.cluster(cluster).store;
    store.create(failoverObject({ name: 'move', namespace: 'shop', targetCluster: 'west', mode: 'CONSISTENCY', groups: [{ name: 'storefront' }] }));
    const status: JsonObject = { ...(c.metrics ? { metrics: c.metrics } : {}), status: c.status, state: c.state, progression: { stageIndex: 6, stage: c.stage ?? 'Completion', task: c.state.replace(/^TASK_/, '') }, conditions: [{ type: 'Accepted', status: 'True', reason: 'Running', message: '', lastTransitionTime: c.at ?? now }] };
    store.patchStatus({ ...FailoverKind, name: 'move', namespace: 'shop' }, { status });
    store.patchStatus({ ...FailoverGroupKind, name: 'storefront', namespace: 'shop' }, { status: { health: 'OK', globalState: { activeCluster: group.activeCluster(cluster) } } });
  }
  // The world's owner is still east (nothing moved it): the group statuses are judged against that.
  await inv.awaitGroupStatus((ms) => world.runFor(ms));
  return new Map(world.kernel.invariantResults().map((r) => [r.name, r.held]));
}

// Both copies of a succeeded failover name the task that ended it as a whole (finalTaskOf), whichever side ran it.
const truthful = { source: { status: 'SUCCESS', state: 'TASK_ReleaseLock' }, target: { status: 'SUCCESS', state: 'TASK_ReleaseLock' } };
const owner = { activeCluster: () => 'east' };

describe('simulation: daemon-level invariants on the objects users see', () => {
  it('daemon invariants: truthful copies and group statuses hold every check', async () => {
    const held = await judge(truthful, owner);
    for (const name of Object.values(DAEMON_INV)) expect(held.get(name), name).toBe(true);
  });

  it('daemon invariants: copies that end differently (SUCCESS on one cluster, FAILED on the other) break failover-copies-agree', async () => {
    const held = await judge({ ...truthful, target: { status: 'FAILED', state: 'TASK_ReleaseLock' } }, owner);
    expect(held.get(DAEMON_INV.copiesAgree)).toBe(false);
  });

  it('daemon invariants: a succeeded copy that names a task other than the failover\'s final one (its own last wait) breaks succeeded-names-final-task', async () => {
    const held = await judge({ ...truthful, target: { status: 'SUCCESS', state: 'TASK_WaitForFailoverCompletion' } }, owner);
    expect(held.get(DAEMON_INV.succeededNamesFinalTask)).toBe(false);
    expect(held.get(DAEMON_INV.copiesAgree)).toBe(true);
  });

  it('daemon invariants: succeeded copies that report different downtimes break failover-copies-agree', async () => {
    const metrics = (downtime: number) => ({ totalDowntimeSeconds: downtime, totalFailoverTimeSeconds: 36.1 });
    const held = await judge({ source: { ...truthful.source, metrics: metrics(0) }, target: { ...truthful.target, metrics: metrics(14.7) } }, owner);
    expect(held.get(DAEMON_INV.copiesAgree)).toBe(false);
    const same = await judge({ source: { ...truthful.source, metrics: metrics(14.7) }, target: { ...truthful.target, metrics: metrics(14.7) } }, owner);
    expect(same.get(DAEMON_INV.copiesAgree)).toBe(true);
  });

  it('daemon invariants: a status time from another clock (the wall clock of 2020) breaks status-times-one-clock', async () => {
    const held = await judge({ ...truthful, source: { ...truthful.source, at: '2020-01-01T00:00:00.000Z' } }, owner);
    expect(held.get(DAEMON_INV.statusTimesOneClock)).toBe(false);
  });

  it('daemon invariants: a FailoverGroup status naming another active cluster than global state breaks group-status-agrees', async () => {
    const held = await judge(truthful, { activeCluster: (c) => (c === 'west' ? 'west' : 'east') });
    expect(held.get(DAEMON_INV.groupStatusAgrees)).toBe(false);
  });
});
