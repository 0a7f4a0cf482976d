// Why: the Volume Daemon contract against the simulated port (in process, through the fault kernel).
import { simCloudStack } from '../../drivers/cloudstack/cloudstack.sim.ts';
import { simVolumeDaemon } from '../../drivers/volumedaemon/volumedaemon.sim.ts';
import { standardCloud } from '../../simulator/cloudstack/cloud.fixture.ts';
import { SimVolumeDaemon } from '../../simulator/volumedaemon/daemon.ts';
import { describeVolumeDaemonContract } from './volumedaemon.contract.ts';

describeVolumeDaemonContract('sim', async (kernel) => {
  const world = standardCloud(kernel);
  const daemon = new SimVolumeDaemon(world.cloud);
  return { kernel, world, daemon, port: simVolumeDaemon(daemon), cloudstack: simCloudStack(world.cloud), dispose: async () => {} };
});
