// Why: VirtIO injection in the simulated world: it takes the plan's injection time, can fail (fault plan, or a
// scripted failure), and changes the volume's content as the real tool would: drivers in on success, a
// half-written disk on failure, which only a revert to the snapshot repairs. A run is a process on the appliance:
// it outlives the engine that started it (a crash does not stop it), `status` sees it from any engine incarnation,
// and it writes only while its device is attached: a detach mid-run leaves the disk half-written at that moment,
// and nothing the orphaned run does afterwards reaches the volume (not even after it is reattached).
import { DriverError } from '../errors.ts';
import { devicePathFor, type SimCloud } from '../../simulator/cloudstack/cloud.ts';
import { INJECTION_DRIVER, type CallOpts, type InjectionPort, type InjectionRequest, type InjectionResult, type InjectionStatus, type InjectionTarget } from './injection.port.ts';

/** One run of the tool on the appliance. */
interface SimRun {
  volumeId: string;
  devicePath: string;
  /** Its device was detached while it ran: it can no longer write to the volume. */
  lost: boolean;
}

/** The runs under way on one simulated appliance, shared by every SimInjection (every engine incarnation). */
class SimRuns {
  readonly active = new Set<SimRun>();

  constructor(private readonly cloud: SimCloud) {
    cloud.onVolumeDetached((v, fromVmId) => {
      if (fromVmId !== cloud.applianceVmId) return;
      for (const run of this.active) {
        if (run.volumeId !== v.id || run.lost) continue;
        // The tool was writing until now: the disk is half-written, and stays so until a revert.
        run.lost = true;
        v.data.dirty = true;
        cloud.kernel.emit('inject.device-lost', { volume: v.id, device: run.devicePath });
      }
    });
  }

  find(t: InjectionTarget): SimRun | undefined {
    for (const run of this.active) {
      if ((t.devicePath === undefined || run.devicePath === t.devicePath) && (t.volumeId === undefined || run.volumeId === t.volumeId)) return run;
    }
    return undefined;
  }
}

const runsByCloud = new WeakMap<SimCloud, SimRuns>();

function runsOf(cloud: SimCloud): SimRuns {
  let r = runsByCloud.get(cloud);
  if (!r) {
    r = new SimRuns(cloud);
    runsByCloud.set(cloud, r);
  }
  return r;
}

export class SimInjection implements InjectionPort {
  private readonly runs: SimRuns;

  constructor(
    private readonly cloud: SimCloud,
    /** Where the tool runs (default the appliance). */
    private readonly party = 'appliance',
  ) {
    this.runs = runsOf(cloud);
  }

  /** Is the volume attached to the appliance at this device path? */
  private present(req: InjectionRequest): boolean {
    const v = this.cloud.volume(req.volumeId);
    return !!v && v.vmId !== undefined && v.vmId === this.cloud.applianceVmId && v.deviceId !== undefined && devicePathFor(v.deviceId) === req.devicePath;
  }

  /** A local look at the appliance's process table: no request, no faults. */
  async status(target: InjectionTarget, _opts?: CallOpts): Promise<InjectionStatus> {
    if (target.devicePath === undefined && target.volumeId === undefined) return 'unknown';
    return this.runs.find(target) ? 'running' : 'idle';
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
    const run: SimRun = { volumeId: req.volumeId, devicePath: req.devicePath, lost: false };
    this.runs.active.add(run);
    /** The tool stops; a stop while it still had its device leaves the disk half-written. */
    const end = (halfWritten: boolean) => {
      if (!this.runs.active.delete(run)) return;
      if (halfWritten && !run.lost && this.present(req)) {
        const v = this.cloud.volume(req.volumeId);
        if (v) v.data.dirty = true;
      }
    };
    kernel.emit('inject.started', { volume: req.volumeId, device: req.devicePath });
    try {
      await kernel.sched.sleep(this.cloud.physics(kernel.plan.physics.injectMs), opts?.signal, 'inject.run');
      return await kernel
        .call('inject', { from: this.party, to: this.party, op: 'inject.virtio', detail: req.volumeId }, () => {
          if (run.lost || !this.present(req)) {
            end(false);
            throw new DriverError('Fatal', INJECTION_DRIVER, 'inject', `inject: device ${req.devicePath} vanished during the injection (volume ${req.volumeId})`, { reason: 'DeviceVanished', code: 1 });
          }
          if (this.cloud.takeInjectionFailure(req.volumeId)) {
            end(true);
            kernel.emit('inject.failed', { volume: req.volumeId, exit: 1 });
            throw new DriverError('Fatal', INJECTION_DRIVER, 'inject', `inject: virt-v2v-in-place on ${req.devicePath} exited 1: virt-v2v-in-place: error: inspection could not detect the source guest`, {
              reason: 'ExitCode',
              code: 1,
            });
          }
          const v = this.cloud.volume(req.volumeId)!;
          v.data.virtio = true;
          end(false);
          kernel.emit('inject.done', { volume: req.volumeId, dirty: v.data.dirty });
          return { devicePath: req.devicePath, exitCode: 0, durationMs: 0, outputTail: '[   0.0] Setting up the source: -i disk\n[  42.0] Finishing off\n' };
        })
        .then((r) => ({ ...r, durationMs: kernel.now() - started }));
    } catch (e) {
      // A fault of the kernel (a lost session, a timeout before the tool finished) leaves a half-written disk too;
      // an abort (the engine gave up on it) ends it as the real driver's kill does, without a write counted here.
      end(e instanceof DriverError);
      throw e;
    }
  }
}
