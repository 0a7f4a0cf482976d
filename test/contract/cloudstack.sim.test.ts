// Why: the CloudStack contract against the simulated port (in process, through the fault kernel), and what only the
// simulated port has: every call costs its operation class's latency from the fault plan, in virtual time.
import { expect, it } from 'vitest';
import { simCloudStack } from '../../drivers/cloudstack/cloudstack.sim.ts';
import { standardCloud } from '../../simulator/cloudstack/cloud.fixture.ts';
import type { SimKernel } from '../../simulator/kernel.ts';
import { contractKernel, describeCloudStackContract } from './cloudstack.contract.ts';

const harness = async (kernel: SimKernel) => {
  const world = standardCloud(kernel);
  return { kernel, world, port: simCloudStack(world.cloud), dispose: async () => {} };
};

describeCloudStackContract('sim', harness);

it('cloudstack sim: a read goes through the fault kernel and takes at least its class\'s base latency in virtual time', async () => {
  const h = await harness(contractKernel());
  const t0 = h.kernel.now();
  const zones = await h.kernel.resolve(h.port.listZones());
  expect(zones.map((z) => z.id)).toContain(h.world.zone.id);
  expect(h.kernel.now() - t0).toBeGreaterThanOrEqual(h.kernel.plan.latency['cloudstack.read'].baseMs);
});
