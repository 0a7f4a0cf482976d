// Why: the CloudStack contract against the simulated port (in process, through the fault kernel).
import { simCloudStack } from '../../drivers/cloudstack/cloudstack.sim.ts';
import { standardCloud } from '../../simulator/cloudstack/cloud.fixture.ts';
import { describeCloudStackContract } from './cloudstack.contract.ts';

describeCloudStackContract('sim', async (kernel) => {
  const world = standardCloud(kernel);
  return { kernel, world, port: simCloudStack(world.cloud), dispose: async () => {} };
});
