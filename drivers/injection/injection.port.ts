// Why: VirtIO driver injection rewrites a source volume in place (virt-v2v-in-place on the appliance) so the
// Windows/Linux guest boots on KVM. It is a port so the charts can run it for real or in the simulator.
import type { CallOpts } from '../cluster/cluster.port.ts';

export type { CallOpts } from '../cluster/cluster.port.ts';

export const INJECTION_DRIVER = 'inject';

export interface InjectionRequest {
  /** The block device on the appliance (from the Volume Daemon's mapping), e.g. /dev/vdb. */
  devicePath: string;
  /** For logs and the simulator: which CloudStack volume this device is. */
  volumeId: string;
  /** The source VM (for logs). */
  vmId: string;
}

export interface InjectionResult {
  devicePath: string;
  exitCode: number;
  durationMs: number;
  /** The tail of stdout and stderr (bounded), for the job log. */
  outputTail: string;
}

/** Which device (or volume) a status question is about; give the device path when known. */
export interface InjectionTarget {
  devicePath?: string;
  volumeId?: string;
}

/**
 * Whether an injection is writing to a device: `running`, `idle` (none is), or `unknown` (this implementation
 * cannot tell, e.g. no process table to look at). The chart waits for `idle` before it reverts a volume an
 * interrupted injection may still be writing; on `unknown` it waits a fixed time instead.
 */
export type InjectionStatus = 'running' | 'idle' | 'unknown';

/**
 * Runs the injection once. A non-zero exit, a timeout or a missing device rejects with a DriverError
 * (Fatal for a non-zero exit — the volume may be half-written and must be reverted to its snapshot;
 * Transient/Timeout for a timeout; Invalid when the device is not there). Not idempotent on its own: the
 * chart reverts to the snapshot before retrying.
 */
export interface InjectionPort {
  inject(req: InjectionRequest, opts?: CallOpts): Promise<InjectionResult>;
  /**
   * Is an injection still running on this device? It also sees a run an earlier engine process started and lost
   * (a crash does not stop the tool). Never throws for an unknown device: that is `idle`.
   */
  status(target: InjectionTarget, opts?: CallOpts): Promise<InjectionStatus>;
}
