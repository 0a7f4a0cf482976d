// Why: the Volume Daemon contract against the simulated port (in process, through the fault kernel), and what only
// the simulated port has: every call costs the daemon's latency from the fault plan, in virtual time.
import { expect, it } from 'vitest';
import { simCloudStack } from '../../drivers/cloudstack/cloudstack.sim.ts';
import { simVolumeDaemon } from '../../drivers/volumedaemon/volumedaemon.sim.ts';
import { standardCloud } from '../../simulator/cloudstack/cloud.fixture.ts';
import type { SimKernel } from '../../simulator/kernel.ts';
import { SimVolumeDaemon } from '../../simulator/volumedaemon/daemon.ts';
import { daemonKernel, describeVolumeDaemonContract } from './volumedaemon.contract.ts';

const harness = async (kernel: SimKernel) => {
  const world = standardCloud(kernel);
  const daemon = new SimVolumeDaemon(world.cloud);
  return { kernel, world, daemon, port: simVolumeDaemon(daemon), cloudstack: simCloudStack(world.cloud), dispose: async () => {} };
};

describeVolumeDaemonContract('sim', harness);

it('volume daemon sim: a read goes through the fault kernel and takes at least the daemon\'s base latency in virtual time', async () => {
  const h = await harness(daemonKernel());
  const t0 = h.kernel.now();
  const volumeId = h.world.sources[0].volumeIds[0];
  expect(await h.kernel.resolve(h.port.getDevice(volumeId))).toMatchObject({ volumeId });
  expect(h.kernel.now() - t0).toBeGreaterThanOrEqual(h.kernel.plan.latency.volumedaemon.baseMs);
});
