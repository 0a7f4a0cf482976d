// Why: the replication appliance's VM records (simulator/cloudstack/cloud.types.ts SourceVmRecord) behind the
// SourceVmDirectory interface the VM wiring reads and writes. The database lives on the appliance, so each call
// is a request from the engine's process to the appliance through the fault kernel (latency, partitions,
// injected faults of the cloudstack.read/write classes), as a call to the appliance's database API would be.
import { DriverError } from '../drivers/errors.ts';
import type { CallOpts } from '../drivers/cluster/cluster.port.ts';
import type { SourceVmDirectory, SourceVmView } from '../src/wire/vm-directory.ts';
import type { SimCloud } from './cloudstack/cloud.ts';
import type { SourceVmRecord } from './cloudstack/cloud.types.ts';

const DRIVER = 'appliance';
const STATUSES = ['ready_for_failover', 'failed_over_test', 'failed_over_live'];

function view(r: SourceVmRecord): SourceVmView {
  return structuredClone({ ...r }) as SourceVmView;
}

export class SimSourceVmDirectory implements SourceVmDirectory {
  constructor(
    private readonly cloud: SimCloud,
    /** The engine's party (the calls' origin). */
    private readonly from = 'appliance',
  ) {}

  private read<T>(op: string, detail: string | undefined, f: () => T): Promise<T> {
    return this.cloud.kernel.call('cloudstack.read', { from: this.from, to: 'appliance', op: `appliance.${op}`, detail }, f, DRIVER);
  }

  applianceVmId(_opts?: CallOpts): Promise<string> {
    return this.read('applianceVmId', undefined, () => {
      const id = this.cloud.applianceVmId;
      if (!id) throw new DriverError('NotFound', DRIVER, 'applianceVmId', 'the simulated cloud has no replication appliance (SimCloud.setAppliance)');
      return id;
    });
  }

  getVm(vmId: string, _opts?: CallOpts): Promise<SourceVmView | undefined> {
    return this.read('getVm', vmId, () => {
      const r = this.cloud.getSourceVm(vmId);
      return r ? view(r) : undefined;
    });
  }

  listVms(_opts?: CallOpts): Promise<SourceVmView[]> {
    return this.read('listVms', undefined, () => this.cloud.listSourceVms().map(view));
  }

  setContextStatus(vmId: string, status: string, _opts?: CallOpts): Promise<void> {
    if (!STATUSES.includes(status)) {
      return Promise.reject(new DriverError('Invalid', DRIVER, 'setContextStatus', `setContextStatus: status: "${status}" is not one of ${STATUSES.join(', ')}`));
    }
    return this.cloud.kernel.call('cloudstack.write', { from: this.from, to: 'appliance', op: 'appliance.setContextStatus', detail: vmId }, () => {
      const r = this.cloud.getSourceVm(vmId);
      if (!r) throw new DriverError('NotFound', DRIVER, 'setContextStatus', `setContextStatus: VM ${vmId} is not known to the appliance`);
      if (r.contextStatus !== status) {
        this.cloud.updateSourceVm(vmId, { contextStatus: status });
        this.cloud.kernel.emit('appliance.context', { vm: vmId, status });
      }
    }, DRIVER);
  }
}
