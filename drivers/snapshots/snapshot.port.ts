// Why: a failover must survive its operator's crash. The operator persists each failover chart's snapshot
// through this port on every transition and restores it on restart; the writes are conditional on a revision
// (as Kubernetes uses resourceVersion) so two operator processes can never silently overwrite each other.
import type { CallOpts } from '../cluster/cluster.port.ts';
import { DriverError } from '../errors.ts';
import type { JsonObject } from '../json.ts';

/** The most a stored value may take, serialized (a ConfigMap holds at most 1 MiB, keys and metadata included). */
export const SNAPSHOT_BYTES_MAX = 1_000_000;

/** What is stored for one failover: the chart's persisted snapshot, stamped with the chart's version. */
export interface SnapshotValue {
  /** The chart version the snapshot was taken with (FAILOVER_MACHINE_VERSION); restore refuses any other. */
  machineVersion: number;
  /** `actor.getPersistedSnapshot()`: JSON-safe by construction (chart context holds JSON only). */
  snapshot: unknown;
  /** What the host needs to recreate the actor (the request, the role, the cluster). JSON only. */
  meta?: JsonObject;
}

export interface StoredSnapshot extends SnapshotValue {
  key: string;
  /** The revision of this stored value; pass it to the next `save` as `expectedRevision`. */
  revision: number;
}

/**
 * Durable, per-operator storage of chart snapshots, one entry per failover (key = the failover's id).
 * Every failure is a DriverError:
 * - `save` with `expectedRevision` undefined creates the entry and fails with Conflict (reason `AlreadyExists`)
 *   when it exists; with a number it replaces the entry only if it is still at that revision, else Conflict
 *   (reason `Conflict`, or `NotFound` when the entry is gone);
 * - a value too large for the backend fails with Invalid (reason `TooLarge`), naming the key and the size;
 * - reads of an unknown key resolve undefined.
 */
export interface SnapshotStorePort {
  load(key: string, opts?: CallOpts): Promise<StoredSnapshot | undefined>;
  save(key: string, value: SnapshotValue, expectedRevision: number | undefined, opts?: CallOpts): Promise<{ revision: number }>;
  /** Resolves true when deleted, false when there was nothing to delete. */
  delete(key: string, opts?: CallOpts): Promise<boolean>;
  /** Every stored key, sorted: what a restarted operator restores from. */
  list(opts?: CallOpts): Promise<string[]>;
}

/** Refuses a key the backends cannot hold: Invalid, naming the key and the fix. */
export function checkSnapshotKey(driver: string, op: string, key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > 200 || !/^[A-Za-z0-9._/-]+$/.test(key)) {
    throw new DriverError(
      'Invalid',
      driver,
      op,
      `snapshot key must be 1 to 200 characters of [A-Za-z0-9._/-], got ${JSON.stringify(key)}: use the failover's id as the key`,
      { reason: 'InvalidKey' },
    );
  }
}

/** Serializes a value once, refusing what the backends cannot hold: Invalid `TooLarge`, naming the key and size. */
export function serializeSnapshot(driver: string, key: string, value: SnapshotValue): string {
  if (!Number.isSafeInteger(value.machineVersion) || value.machineVersion < 0) {
    throw new DriverError('Invalid', driver, 'save', `snapshot ${key}: machineVersion must be a non-negative integer, got ${String(value.machineVersion)}`, {
      reason: 'Invalid',
    });
  }
  const json = JSON.stringify(value);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > SNAPSHOT_BYTES_MAX) {
    throw new DriverError(
      'Invalid',
      driver,
      'save',
      `snapshot ${key} is ${bytes} bytes serialized, more than the ${SNAPSHOT_BYTES_MAX} a ConfigMap holds: keep large data out of chart context`,
      { reason: 'TooLarge' },
    );
  }
  return json;
}
