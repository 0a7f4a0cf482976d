// Why: the GlobalStatePort on the simulator's store. Every call goes through kernel.call, so it meets the fault
// plan's latency, partitions, throttling and timeouts (a timed-out write may still have applied, as with
// DynamoDB); the store applies it with the same compare-and-set semantics the DynamoDB driver relies on.
import type { CallOpts } from '../cluster/cluster.port.ts';
import type { JsonObject } from '../json.ts';
import type { OpClass } from '../../simulator/faults.ts';
import type { SimKernel } from '../../simulator/kernel.ts';
import type { SimGlobalStateStore } from '../../simulator/globalstate/store.ts';
import type {
  AcquireLockInput,
  ClusterStatusRecord,
  CreateGroupInput,
  GlobalStatePort,
  GroupRecord,
  HistoryRecord,
  LeaseProof,
  VolumeHandoff,
} from './globalstate.port.ts';
import { GlobalStateValidator, type TransferInput } from './globalstate.rules.ts';

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

export class SimGlobalState implements GlobalStatePort {
  constructor(
    private readonly kernel: SimKernel,
    private readonly store: SimGlobalStateStore,
    /** The party making the calls (`operator/<cluster>`): partitions and crashes are checked on its route. */
    readonly caller: string,
  ) {}

  async getGroup(groupId: string, opts?: CallOpts): Promise<GroupRecord | undefined> {
    const v = this.validator('getGroup');
    v.groupId(groupId);
    return this.call('globalstate.read', 'getGroup', groupId, opts, () => this.store.getGroup(groupId));
  }

  async createGroup(input: CreateGroupInput, opts?: CallOpts): Promise<GroupRecord> {
    this.validator('createGroup').createGroup(input);
    return this.call('globalstate.write', 'createGroup', input.groupId, opts, () => this.store.createGroup(this.caller, input));
  }

  async setSuspended(groupId: string, suspended: boolean, reason: string | undefined, opts?: CallOpts): Promise<GroupRecord> {
    const v = this.validator('setSuspended');
    v.groupId(groupId);
    if (typeof suspended !== 'boolean') v.fail('suspended', 'must be true or false', 'pass a boolean');
    v.optionalText('reason', reason);
    return this.call('globalstate.write', 'setSuspended', groupId, opts, () => this.store.setSuspended(this.caller, groupId, suspended, reason));
  }

  async acquireLock(groupId: string, input: AcquireLockInput, opts?: CallOpts): Promise<GroupRecord> {
    const v = this.validator('acquireLock');
    v.groupId(groupId);
    v.acquire(input);
    return this.call('globalstate.write', 'acquireLock', groupId, opts, () => this.store.acquireLock(this.caller, groupId, input));
  }

  async renewLock(groupId: string, proof: LeaseProof, ttlMs: number, opts?: CallOpts): Promise<GroupRecord> {
    const v = this.validator('renewLock');
    v.groupId(groupId);
    v.proof(proof);
    v.positiveInt('ttlMs', ttlMs);
    return this.call('globalstate.write', 'renewLock', groupId, opts, () => this.store.renewLock(this.caller, groupId, proof, ttlMs));
  }

  async releaseLock(groupId: string, leaseToken: string, opts?: CallOpts): Promise<boolean> {
    const v = this.validator('releaseLock');
    v.groupId(groupId);
    v.text('leaseToken', leaseToken);
    return this.call('globalstate.write', 'releaseLock', groupId, opts, () => this.store.releaseLock(this.caller, groupId, leaseToken));
  }

  async setVolumeState(groupId: string, proof: LeaseProof, handoff: Omit<VolumeHandoff, 'fencingToken' | 'updatedAtMs'>, opts?: CallOpts): Promise<GroupRecord> {
    const v = this.validator('setVolumeState');
    v.groupId(groupId);
    v.proof(proof);
    v.handoff(handoff);
    return this.call('globalstate.write', 'setVolumeState', groupId, opts, () => this.store.setVolumeState(this.caller, groupId, proof, handoff));
  }

  async patchMetadata(groupId: string, proof: LeaseProof, metadata: JsonObject, opts?: CallOpts): Promise<GroupRecord> {
    const v = this.validator('patchMetadata');
    v.groupId(groupId);
    v.proof(proof);
    v.jsonObject('metadata', metadata);
    return this.call('globalstate.write', 'patchMetadata', groupId, opts, () => this.store.patchMetadata(this.caller, groupId, proof, metadata));
  }

  async transferOwnership(groupId: string, input: TransferInput, opts?: CallOpts): Promise<GroupRecord> {
    const v = this.validator('transferOwnership');
    v.groupId(groupId);
    v.transfer(input);
    return this.call('globalstate.write', 'transferOwnership', groupId, opts, () => this.store.transferOwnership(this.caller, groupId, input));
  }

  async heartbeat(status: Omit<ClusterStatusRecord, 'lastHeartbeatMs'>, opts?: CallOpts): Promise<ClusterStatusRecord> {
    this.validator('heartbeat').clusterStatus(status);
    return this.call('globalstate.write', 'heartbeat', status.groupId, opts, () => this.store.heartbeat(this.caller, status));
  }

  async listClusters(groupId: string, opts?: CallOpts): Promise<ClusterStatusRecord[]> {
    this.validator('listClusters').groupId(groupId);
    return this.call('globalstate.read', 'listClusters', groupId, opts, () => this.store.listClusters(groupId));
  }

  async recordHistory(entry: HistoryRecord, opts?: CallOpts): Promise<boolean> {
    this.validator('recordHistory').history(entry);
    return this.call('globalstate.write', 'recordHistory', entry.groupId, opts, () => this.store.recordHistory(this.caller, entry));
  }

  async listHistory(groupId: string, opts?: CallOpts & { limit?: number }): Promise<HistoryRecord[]> {
    const v = this.validator('listHistory');
    v.groupId(groupId);
    const limit = v.limit(opts?.limit);
    return this.call('globalstate.read', 'listHistory', groupId, opts, () => this.store.listHistory(groupId, limit));
  }

  private validator(method: string): GlobalStateValidator {
    return new GlobalStateValidator('globalstate', `globalstate.${method}`);
  }

  /**
   * One simulated request. The store's answer (a value or a refusal) is carried out of kernel.call as data, so
   * that a call which times out after applying reports the timeout, not the store's answer, as a real one would.
   */
  private async call<T>(opClass: OpClass, method: string, groupId: string, opts: CallOpts | undefined, apply: () => T): Promise<T> {
    if (opts?.signal?.aborted) throw opts.signal.reason;
    const out = await this.kernel.call<Outcome<T>>(
      opClass,
      { from: this.caller, to: 'globalstate', op: `globalstate.${method}`, detail: groupId },
      () => {
        try {
          return { ok: true, value: apply() };
        } catch (error) {
          return { ok: false, error };
        }
      },
      'globalstate',
    );
    if (!out.ok) throw out.error;
    return out.value;
  }
}
