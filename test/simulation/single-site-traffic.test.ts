// Why: two sites serving one application's traffic is the user-visible face of two primaries. Outside the window a
// chart declares (UPTIME's dualPrimaryWindow, an unplanned failover's sourceFenced), at most one unfenced site may
// serve each network resource; this checks the invariant holds on the world as built and breaks when a second
// site starts serving with no window declared.
import { describe, expect, it } from 'vitest';
import { Kinds } from '../../drivers/cluster/cluster.port.ts';
import { FailoverInvariants, INV } from '../../simulator/invariants/failover.ts';
import { scenarioByName } from '../../simulator/scenarios/index.ts';
import { SimWorld } from '../../simulator/world.ts';
import { loadCrds } from '../../src/crds.ts';
import { failoverRequestOf } from '../../src/daemon/failover-request.ts';
import { EngineAnnotations } from '../../src/wire/annotations.ts';

function world() {
  const w = SimWorld.build({ seed: 1, scenario: scenarioByName('sample'), crds: loadCrds() });
  const group = w.scenario.groups[0];
  const request = failoverRequestOf({ failover: { namespace: 'shop', name: 'move' }, group: group.spec, sourceCluster: 'east', targetCluster: 'west', mode: 'UPTIME', type: 'planned', force: false, reason: 'test', requestedAtMs: w.kernel.now() });
  new FailoverInvariants(w, request, group).install(new Map());
  return { w, network: group.spec.networkResources[0] };
}
const trafficHeld = (w: SimWorld) => {
  w.kernel.checkAlways(false);
  return w.kernel.invariantResults().find((r) => r.name === INV.singleSiteTraffic)!.held;
};

describe('simulation: single-site traffic', () => {
  it('single-site traffic: the world as built (east serves, west dns-disabled) holds', () => {
    const { w } = world();
    expect(trafficHeld(w)).toBe(true);
  });

  it('single-site traffic: the standby starting to serve with no window declared breaks it, naming both sites', () => {
    const { w, network } = world();
    w.cluster('west').store.mergePatch({ ...Kinds[network.kind], namespace: 'shop', name: network.name }, { metadata: { annotations: { [EngineAnnotations.dnsDisabled]: null } } });
    expect(trafficHeld(w)).toBe(false);
    expect(w.kernel.invariantResults().find((r) => r.name === INV.singleSiteTraffic)!.message).toContain('serves traffic on east and west');
  });
});
