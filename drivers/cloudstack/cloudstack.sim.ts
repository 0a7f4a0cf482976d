// Why: the CloudStack port on the simulated cloud, in process: each command goes through the fault kernel
// (latency, partitions, injected faults of class cloudstack.read/write) and then the same command layer the
// simulated HTTP server uses; errors go through the same mapping as the real client's, so both agree.
import type { CallOpts } from '../cluster/cluster.port.ts';
import { simClock } from '../clock/clock.sim.ts';
import { DriverError } from '../errors.ts';
import type { JsonObject } from '../json.ts';
import { CLOUDSTACK_PARTY, type SimCloud } from '../../simulator/cloudstack/cloud.ts';
import { executeCommand, opClassOf } from '../../simulator/cloudstack/cloud.commands.ts';
import { CloudStackClient, type CloudStackTransport, type JobPollOptions } from './cloudstack.client.ts';
import { CloudStackApiError, fromCloudStackError, fromCloudStackHttp, injectedFaultToHttp } from './cloudstack.errors.ts';
import type { CloudStackPort } from './cloudstack.port.ts';
import type { CloudStackParams } from './cloudstack.signing.ts';

/** Maps an injected fault exactly as it would arrive over HTTP, so the sim and HTTP paths give equal errors. */
export function simFaultToDriverError(op: string, command: string, e: DriverError): DriverError {
  const wire = injectedFaultToHttp(e);
  return fromCloudStackHttp(op, wire.status, wire.body ? JSON.stringify({ [`${command.toLowerCase()}response`]: wire.body }) : (wire.text ?? ''));
}

export class SimCloudStackTransport implements CloudStackTransport {
  constructor(
    private readonly cloud: SimCloud,
    /** The calling party, for partitions and crashes (the engine's process). */
    private readonly from: string,
  ) {}

  async send(command: string, params: CloudStackParams, op: string, _opts?: CallOpts): Promise<JsonObject> {
    const kernel = this.cloud.kernel;
    try {
      return await kernel.call(opClassOf(command), { from: this.from, to: CLOUDSTACK_PARTY, op: `cloudstack.${command}`, detail: params.id ?? params.volumeid ?? params.jobid }, () =>
        executeCommand(this.cloud, command, params),
      );
    } catch (e) {
      if (e instanceof CloudStackApiError) throw fromCloudStackError(op, e.body());
      if (e instanceof DriverError) throw simFaultToDriverError(op, command, e);
      throw e;
    }
  }
}

export interface SimCloudStackOptions {
  /** The calling party (default `appliance`, where the VM failover engine runs). */
  from?: string;
  jobPoll?: Partial<JobPollOptions>;
  settleWaitMs?: number;
  pageSize?: number;
}

/** The CloudStack port on the simulated cloud, polling on virtual time. */
export function simCloudStack(cloud: SimCloud, options: SimCloudStackOptions = {}): CloudStackPort {
  return new CloudStackClient(new SimCloudStackTransport(cloud, options.from ?? 'appliance'), {
    clock: simClock(cloud.kernel.sched),
    ...(options.jobPoll ? { jobPoll: options.jobPoll } : {}),
    ...(options.settleWaitMs !== undefined ? { settleWaitMs: options.settleWaitMs } : {}),
    ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}),
  });
}
