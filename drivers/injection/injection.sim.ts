// Why: VirtIO injection in the simulated world: it takes the plan's injection time, can fail (fault plan, or a
// scripted failure), and changes the volume's content as the real tool would: drivers in on success, a
// half-written disk on failure, which only a revert to the snapshot repairs.
import { DriverError } from '../errors.ts';
import { devicePathFor, type SimCloud } from '../../simulator/cloudstack/cloud.ts';
import { INJECTION_DRIVER, type CallOpts, type InjectionPort, type InjectionRequest, type InjectionResult } from './injection.port.ts';

export class SimInjection implements InjectionPort {
  constructor(
    private readonly cloud: SimCloud,
    /** Where the tool runs (default the appliance). */
    private readonly party = 'appliance',
  ) {}

  /** Is the volume attached to the appliance at this device path? */
  private present(req: InjectionRequest): boolean {
    const v = this.cloud.volume(req.volumeId);
    return !!v && v.vmId !== undefined && v.vmId === this.cloud.applianceVmId && v.deviceId !== undefined && devicePathFor(v.deviceId) === req.devicePath;
  }

  async inject(req: InjectionRequest, opts?: CallOpts): Promise<InjectionResult> {
    for (const f of ['devicePath', 'volumeId', 'vmId'] as const) {
      if (typeof req?.[f] !== 'string' || req[f] === '') throw new DriverError('Invalid', INJECTION_DRIVER, 'inject', `inject: ${f}: required`, { details: { field: f } });
    }
    const kernel = this.cloud.kernel;
    if (!this.present(req)) {
      throw new DriverError('Invalid', INJECTION_DRIVER, 'inject', `inject: device ${req.devicePath} (volume ${req.volumeId}) is not present on the appliance`, {
        reason: 'DeviceMissing',
        details: { devicePath: req.devicePath, volumeId: req.volumeId },
      });
    }
    const started = kernel.now();
    const halfWrite = () => {
      const v = this.cloud.volume(req.volumeId);
      if (v) v.data.dirty = true;
    };
    let finished = false;
    kernel.emit('inject.started', { volume: req.volumeId, device: req.devicePath });
    await kernel.sched.sleep(this.cloud.physics(kernel.plan.physics.injectMs), opts?.signal, 'inject.run');
    try {
      return await kernel.call('inject', { from: this.party, to: this.party, op: 'inject.virtio', detail: req.volumeId }, () => {
        if (!this.present(req)) {
          halfWrite();
          throw new DriverError('Fatal', INJECTION_DRIVER, 'inject', `inject: device ${req.devicePath} vanished during the injection (volume ${req.volumeId})`, { reason: 'DeviceVanished', code: 1 });
        }
        if (this.cloud.takeInjectionFailure(req.volumeId)) {
          halfWrite();
          kernel.emit('inject.failed', { volume: req.volumeId, exit: 1 });
          throw new DriverError('Fatal', INJECTION_DRIVER, 'inject', `inject: virt-v2v-in-place on ${req.devicePath} exited 1: virt-v2v-in-place: error: inspection could not detect the source guest`, {
            reason: 'ExitCode',
            code: 1,
          });
        }
        const v = this.cloud.volume(req.volumeId)!;
        v.data.virtio = true;
        finished = true;
        kernel.emit('inject.done', { volume: req.volumeId, dirty: v.data.dirty });
        return { devicePath: req.devicePath, exitCode: 0, durationMs: 0, outputTail: '[   0.0] Setting up the source: -i disk\n[  42.0] Finishing off\n' };
      }).then((r) => ({ ...r, durationMs: kernel.now() - started }));
    } catch (e) {
      // A fault of the kernel (a lost session, a timeout before the tool finished) leaves a half-written disk too.
      if (!finished && e instanceof DriverError && e.reason !== 'ExitCode' && e.reason !== 'DeviceVanished') halfWrite();
      throw e;
    }
  }
}
