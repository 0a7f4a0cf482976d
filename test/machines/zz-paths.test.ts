import { it } from 'vitest';
import { getShortestPaths } from 'xstate/graph';
import { failoverMachine } from '../../machines/failover/failover.machine.ts';
import { SimKernel } from '../../simulator/kernel.ts';
import { sampleRequest } from './failover.harness.ts';
it('paths', () => {
  const k = new SimKernel({ seed: 1 });
  const input = { request: sampleRequest(k), role: 'source' as const, cluster: 'east', policy: { attemptMax: 2, leaseLossMax: 1 } };
  const t0 = performance.now();
  const OBS = ['JOINED','READY_FOR_PROMOTION','PROMOTED','COMPLETED','FAILED','OWNED','ENDED_SUCCESS','ENDED_FAILED','ENDED_ROLLED_BACK'];
  const events = (s: any) => {
    const out: any[] = [{ type: 'deadline.passed' }];
    const nodes = s._nodes as any[];
    const workLeaf = nodes.find((n) => n.invoke.length && !n.id.includes('#') && !/\.(lease|deadline)\./.test(n.id));
    const first = nodes.some((n: any) => /\.work\.[a-zA-Z]+\.(disablingNetwork|promotingVolumes|waitingForTrafficSwitch|fencingSource|waitingForReadyForPromotion|waitingForCompletion)$/.test(n.id));
    for (const n of nodes) for (const inv of n.invoke) {
      const region = /\.(lease|deadline)\./.test(n.id);
      if (region && !first) continue;
      const id = inv.id;
      out.push({ type: `xstate.error.actor.${id}`, error: { kind: 'Transient', message: 'x', atMs: 1 } });
      out.push({ type: `xstate.error.actor.${id}`, error: { kind: 'Invalid', message: 'x', atMs: 1 } });
      out.push({ type: `xstate.error.actor.${id}`, error: { kind: 'Conflict', reason: 'LeaseLost', message: 'x', atMs: 1 } });
      if (inv.src === 'probeReachability') { out.push({ type: `xstate.done.actor.${id}`, output: { atMs: 1, own: false, peer: false, globalState: true } }); out.push({ type: `xstate.done.actor.${id}`, output: { atMs: 1, own: true, peer: true, globalState: true } }); }
      else if (inv.src === 'waitForPeer' || inv.src === 'joinLease' || inv.src === 'regainLease') { for (const o of OBS) out.push({ type: `xstate.done.actor.${id}`, output: { atMs: 1, startedAtMs: 1, observed: o, proof: { leaseToken: 't', fencingToken: 1 } } }); out.push({ type: `xstate.done.actor.${id}`, output: { atMs: 1, startedAtMs: 1, proof: { leaseToken: 't', fencingToken: 1 } } }); }
      else out.push({ type: `xstate.done.actor.${id}`, output: { atMs: 1, startedAtMs: 1, proof: { leaseToken: 't', fencingToken: 1 } } });
    }
    void workLeaf;
    return out;
  };
  const paths = getShortestPaths(failoverMachine, { input, events, serializeState: (s: any) => JSON.stringify(s.value) + s.context.attempt + Math.min(2, s.context.leaseLostCount) + (s.context.leaseReleased ? 'R' : '') });
  console.log('paths', paths.length, performance.now() - t0);
});
