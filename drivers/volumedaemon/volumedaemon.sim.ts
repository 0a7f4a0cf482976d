// Why: the Volume Daemon port on the simulated daemon, in process: each request goes through the fault kernel
// (class `volumedaemon`) and the same router the simulated HTTP server uses.
import type { CallOpts } from '../cluster/cluster.port.ts';
import { simClock } from '../clock/clock.sim.ts';
import { DriverError } from '../errors.ts';
import type { JsonObject } from '../json.ts';
import { VOLUMEDAEMON_PARTY, type SimVolumeDaemon } from '../../simulator/volumedaemon/daemon.ts';
import { handleDaemonRequest } from '../../simulator/volumedaemon/daemon.api.ts';
import { VolumeDaemonClient, type DaemonResponse, type OperationPollOptions, type VolumeDaemonTransport } from './volumedaemon.client.ts';
import { injectedDaemonFault } from './volumedaemon.errors.ts';
import type { VolumeDaemonPort } from './volumedaemon.port.ts';

export class SimVolumeDaemonTransport implements VolumeDaemonTransport {
  constructor(
    private readonly daemon: SimVolumeDaemon,
    private readonly from: string,
  ) {}

  async request(method: 'GET' | 'POST', path: string, body: JsonObject | undefined, _op: string, _opts?: CallOpts): Promise<DaemonResponse> {
    try {
      return await this.daemon.kernel.call('volumedaemon', { from: this.from, to: VOLUMEDAEMON_PARTY, op: `volumedaemon.${method} ${path}` }, () =>
        handleDaemonRequest(this.daemon, method, path, body === undefined ? undefined : JSON.parse(JSON.stringify(body))),
      );
    } catch (e) {
      if (e instanceof DriverError) return injectedDaemonFault(e);
      throw e;
    }
  }
}

/** The Volume Daemon port on the simulated daemon, polling on virtual time. */
export function simVolumeDaemon(daemon: SimVolumeDaemon, options: { from?: string; poll?: Partial<OperationPollOptions> } = {}): VolumeDaemonPort {
  return new VolumeDaemonClient(new SimVolumeDaemonTransport(daemon, options.from ?? 'appliance'), simClock(daemon.kernel.sched), options.poll);
}
