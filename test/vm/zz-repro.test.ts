import { it } from 'vitest';
import { runVmSimulation } from '../../simulator/vm-run.ts';
it('repro', async () => {
  const r = await runVmSimulation({ seed: 1147581576, operation: 'test-failover', profile: 'swarm', policy: { retry: { attemptMax: 2, backoffBaseMs: 500, backoffMaxMs: 2_000 } }, keepTraceLines: true });
  console.log(JSON.stringify({ result: r.result, state: r.state, failure: r.failure, world: r.world, conditions: r.conditions }, null, 1));
  console.log(r.trace!.split('\n').filter((l) => /inject|appliance.context|vm.state|volume.(de|at)tach|fault|crash|restart|snapshot.revert/.test(l)).slice(0, 150).join('\n'));
});
