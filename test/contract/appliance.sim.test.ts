// Why: the appliance contract against the simulated port (in process, through the fault kernel).
import { simAppliance } from '../../drivers/appliance/appliance.sim.ts';
import { applianceWorld, describeApplianceContract } from './appliance.contract.ts';

describeApplianceContract('sim', async (kernel) => {
  const world = applianceWorld(kernel);
  return { kernel, world, port: simAppliance(world.cloud), dispose: async () => {} };
});
