// Why: the appliance contract against the simulated port (in process, through the fault kernel), and what only the
// simulated port has: every call costs its operation class's latency from the fault plan, in virtual time.
import { expect, it } from 'vitest';
import { simAppliance } from '../../drivers/appliance/appliance.sim.ts';
import type { SimKernel } from '../../simulator/kernel.ts';
import { applianceKernel, applianceWorld, describeApplianceContract } from './appliance.contract.ts';

const harness = async (kernel: SimKernel) => {
  const world = applianceWorld(kernel);
  return { kernel, world, port: simAppliance(world.cloud), dispose: async () => {} };
};

describeApplianceContract('sim', harness);

it('appliance sim: a read goes through the fault kernel and takes at least the CloudStack read latency in virtual time', async () => {
  const h = await harness(applianceKernel());
  const t0 = h.kernel.now();
  const vms = await h.kernel.resolve(h.port.listVms());
  expect(vms.length).toBeGreaterThan(0);
  expect(h.kernel.now() - t0).toBeGreaterThanOrEqual(h.kernel.plan.latency['cloudstack.read'].baseMs);
});
