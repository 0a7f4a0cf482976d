// Why: the appliance port on the simulated world, in process. The appliance's database lives on the appliance,
// so each call is a request from the engine's process to the `appliance` party through the fault kernel
// (latency, partitions, injected faults of class cloudstack.read for reads and cloudstack.write for the context
// update), answered by the same routing the simulated HTTP server uses; injected faults are put in their wire
// form and mapped back through the one error table, so the simulated and the HTTP paths give equal errors.
import type { CallOpts } from '../cluster/cluster.port.ts';
import { DriverError } from '../errors.ts';
import type { JsonObject } from '../json.ts';
import type { SimCloud } from '../../simulator/cloudstack/cloud.ts';
import { APPLIANCE_PARTY, handleApplianceRequest } from '../../simulator/appliance/appliance.api.ts';
import { ApplianceClient, type ApplianceOp, type ApplianceResponse, type ApplianceTransport } from './appliance.client.ts';
import { injectedApplianceFault } from './appliance.errors.ts';
import { APPLIANCE_DRIVER } from './appliance.port.ts';

export class SimApplianceTransport implements ApplianceTransport {
  constructor(
    private readonly cloud: SimCloud,
    /** The calling party (the engine's process), for partitions and crashes. */
    private readonly from: string,
  ) {}

  async request(method: 'GET' | 'PUT', path: string, body: JsonObject | undefined, call: { op: ApplianceOp; detail?: string }, _opts?: CallOpts): Promise<ApplianceResponse> {
    const kernel = this.cloud.kernel;
    const copy = body === undefined ? undefined : (JSON.parse(JSON.stringify(body)) as unknown);
    try {
      return await kernel.call(
        method === 'GET' ? 'cloudstack.read' : 'cloudstack.write',
        { from: this.from, to: APPLIANCE_PARTY, op: `appliance.${call.op}`, detail: call.detail },
        () => handleApplianceRequest(this.cloud, method, path, copy),
        APPLIANCE_DRIVER,
      );
    } catch (e) {
      if (e instanceof DriverError) return injectedApplianceFault(e);
      throw e;
    }
  }
}

/** The appliance port on the simulated cloud's appliance records. */
export class SimSourceVmDirectory extends ApplianceClient {
  constructor(cloud: SimCloud, from = 'appliance') {
    super(new SimApplianceTransport(cloud, from));
  }
}

/** The appliance port on the simulated cloud (the name the other simulated ports follow). */
export function simAppliance(cloud: SimCloud, options: { from?: string } = {}): SimSourceVmDirectory {
  return new SimSourceVmDirectory(cloud, options.from ?? 'appliance');
}
