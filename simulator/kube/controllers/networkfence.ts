// Why: the simulated csi-addons NetworkFence controller. Fencing cuts a failed site's clients off its storage so
// it cannot keep writing after its volumes were taken over; the world reads the outcome (isFenced) to stop that
// site's writes.
import { Kinds, type GVK, type KubeObject } from '../../../drivers/cluster/cluster.port.ts';
import type { StoreChange } from '../store.types.ts';
import { asString, BaseController, refFor, splitKey, type ControllerContext } from './common.ts';

/** The messages csi-addons writes to status.message after a successful operation. */
export const FENCE_MESSAGES = { Fenced: 'fencing operation successful', Unfenced: 'unfencing operation successful' } as const;
export const FENCE_RESULT_SUCCEEDED = 'Succeeded';

export function fenceCidrs(obj: KubeObject): string[] {
  const c = obj.spec?.cidrs;
  return Array.isArray(c) ? c.filter((x): x is string => typeof x === 'string') : [];
}

/** Whether this NetworkFence currently fences its CIDRs (the fence operation finished and was not undone). */
export function fenceInEffect(obj: KubeObject): boolean {
  return asString(obj.status?.result) === FENCE_RESULT_SUCCEEDED && asString(obj.status?.message) === FENCE_MESSAGES.Fenced;
}

export class NetworkFenceController extends BaseController {
  readonly name = 'networkfence';
  protected readonly kinds: readonly GVK[] = [Kinds.NetworkFence];

  constructor(ctx: ControllerContext) {
    super(ctx, 'networkfence');
  }

  protected override onChange(c: StoreChange): void {
    if (c.type === 'DELETED') {
      this.timers.cancel(c.object.metadata.name);
      this.emit('deleted', { name: c.object.metadata.name });
      return;
    }
    if (c.type === 'MODIFIED' && c.old && c.old.metadata.generation === c.object.metadata.generation) return;
    super.onChange(c);
  }

  protected reconcile(key: string): void {
    const obj = this.ctx.store.peek(refFor(Kinds.NetworkFence, key));
    if (!obj) return;
    const desired = asString(obj.spec?.fenceState) === 'Unfenced' ? 'Unfenced' : 'Fenced';
    if (asString(obj.status?.message) === FENCE_MESSAGES[desired] && asString(obj.status?.result) === FENCE_RESULT_SUCCEEDED) return;
    // Fencing is a storage-side operation, as long as a demotion.
    this.timers.set(key, this.ctx.kernel.draw(this.ctx.kernel.plan.physics.volumeDemoteMs), () => {
      const now = this.ctx.store.peek(refFor(Kinds.NetworkFence, key));
      if (!now) return;
      const state = asString(now.spec?.fenceState) === 'Unfenced' ? 'Unfenced' : 'Fenced';
      this.writeStatus(now, { ...(now.status ?? {}), result: FENCE_RESULT_SUCCEEDED, message: FENCE_MESSAGES[state] });
      this.emit(state === 'Fenced' ? 'fenced' : 'unfenced', { name: splitKey(key).name, cidrs: fenceCidrs(now).join(',') });
    });
  }
}
