// Why: the Volume Daemon owns every attach and detach of the replicated source volumes, so it can correlate a
// CloudStack volume id with the block device it appears as on the replication appliance (/dev/vdb ...). The
// charts use this port for source volumes; the real HTTP client and the simulated daemon both implement it.
import type { CallOpts } from '../cluster/cluster.port.ts';

export type { CallOpts } from '../cluster/cluster.port.ts';

export const VOLUMEDAEMON_DRIVER = 'volumedaemon';

export type OperationType = 'attach' | 'detach';
export type OperationStatus = 'pending' | 'executing' | 'completed' | 'failed';

/** One daemon operation (attach or detach are asynchronous: POST returns it, GET polls it). */
export interface OperationView {
  id: string;
  type: OperationType;
  status: OperationStatus;
  volumeId: string;
  vmId?: string;
  /** The device slot, once known. */
  deviceId?: number;
  /** Set when completed: the device the volume appeared as, for an attach to the appliance. */
  devicePath?: string;
  error?: string;
  createdAtMs: number;
  completedAtMs?: number;
}

/** Where a volume is attached, as the daemon records it. */
export interface DeviceMapping {
  volumeId: string;
  vmId: string;
  /** CloudStack's device slot (0 = root). */
  deviceId: number;
  /** The block device on the appliance; absent when the volume is attached to another VM (a test VM). */
  devicePath?: string;
}

export interface AttachOpts extends CallOpts {
  /** Attach at this slot; 0 attaches as the VM's root disk (the VM must be stopped and have no root). */
  deviceId?: number;
}

/**
 * The Volume Daemon. attach and detach wait for their operation to end (bounded polling); a failed operation
 * rejects with its mapped DriverError. Idempotent by observation:
 * - attach of a volume already attached to that VM (and slot, when given) → resolves with the mapping;
 * - attach of a volume attached to ANOTHER VM → Invalid (detach it first);
 * - detach of a detached volume → resolves.
 * Unknown volume → NotFound.
 */
export interface VolumeDaemonPort {
  attach(volumeId: string, vmId: string, opts?: AttachOpts): Promise<DeviceMapping>;
  detach(volumeId: string, opts?: CallOpts): Promise<void>;
  /** The current mapping; undefined when the volume is detached. */
  getDevice(volumeId: string, opts?: CallOpts): Promise<DeviceMapping | undefined>;
  getOperation(operationId: string, opts?: CallOpts): Promise<OperationView>;
}
