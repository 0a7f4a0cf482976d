// Why: the one Volume Daemon contract, run against the simulated port (in process) and the real HTTP client
// against the simulated daemon: device-path correlation, the async operation protocol, idempotency and errors.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VolumeDaemonPort } from '../../drivers/volumedaemon/volumedaemon.port.ts';
import type { StandardCloud } from '../../simulator/cloudstack/cloud.fixture.ts';
import { SimKernel } from '../../simulator/kernel.ts';
import type { SimVolumeDaemon } from '../../simulator/volumedaemon/daemon.ts';
import { quietPlan, type FaultPlan } from '../../simulator/faults.ts';
import type { CloudStackPort } from '../../drivers/cloudstack/cloudstack.port.ts';

export interface VolumeDaemonHarness {
  kernel: SimKernel;
  world: StandardCloud;
  daemon: SimVolumeDaemon;
  port: VolumeDaemonPort;
  /** CloudStack on the same world (to make a test VM). */
  cloudstack: CloudStackPort;
  dispose(): Promise<void>;
}

export type VolumeDaemonHarnessFactory = (kernel: SimKernel) => Promise<VolumeDaemonHarness>;

export function daemonKernel(seed = 21, plan?: FaultPlan): SimKernel {
  return new SimKernel({ seed, plan: plan ?? quietPlan(seed) });
}

export function describeVolumeDaemonContract(name: string, factory: VolumeDaemonHarnessFactory): void {
  describe(`VolumeDaemonPort contract (${name})`, () => {
    let h: VolumeDaemonHarness;
    const run = <T>(p: Promise<T>) => h.kernel.resolve(p);
    beforeEach(async () => {
      h = await factory(daemonKernel());
    });
    afterEach(() => h.dispose());

    it('volumedaemon: getDevice: a source volume on the appliance has its device path', async () => {
      const vol = h.world.sources[0].volumeIds[0];
      expect(await run(h.port.getDevice(vol))).toEqual({ volumeId: vol, vmId: h.world.appliance.id, deviceId: 1, devicePath: '/dev/vdb' });
    });

    it('volumedaemon: detach then attach to the appliance: the device path is correlated to the volume; both idempotent', async () => {
      const vol = h.world.sources[0].volumeIds[0];
      await run(h.port.detach(vol));
      expect(await run(h.port.getDevice(vol))).toBeUndefined();
      expect(h.world.cloud.whereIs(vol)).toEqual({ kind: 'detached' });
      await run(h.port.detach(vol));
      const other = h.world.cloud.addVolume({ name: 'other', zoneId: h.world.zone.id, sizeBytes: 2 ** 30 });
      const first = await run(h.port.attach(other.id, h.world.appliance.id));
      expect(first).toEqual({ volumeId: other.id, vmId: h.world.appliance.id, deviceId: 1, devicePath: '/dev/vdb' });
      const m = await run(h.port.attach(vol, h.world.appliance.id));
      expect(m).toEqual({ volumeId: vol, vmId: h.world.appliance.id, deviceId: 2, devicePath: '/dev/vdc' });
      expect(await run(h.port.attach(vol, h.world.appliance.id))).toEqual(m);
      expect(await run(h.port.getDevice(vol))).toEqual(m);
    });

    it('volumedaemon: attach as root of a stopped test VM: no device path on the appliance', async () => {
      const vol = h.world.sources[0].volumeIds[0];
      const vm = await run(
        h.cloudstack.deployVm({ name: 'app01-test', zoneId: h.world.zone.id, serviceOfferingId: h.world.offerings.small.id, templateId: h.world.template.id, networkIds: [h.world.networks.test.id] }),
      );
      const [root] = await run(h.cloudstack.listVolumes({ vmId: vm.id }));
      await run(h.cloudstack.detachVolume(root.id));
      await run(h.cloudstack.deleteVolume(root.id));
      await run(h.port.detach(vol));
      const m = await run(h.port.attach(vol, vm.id, { deviceId: 0 }));
      expect(m).toEqual({ volumeId: vol, vmId: vm.id, deviceId: 0 });
      expect(h.world.cloud.whereIs(vol)).toMatchObject({ kind: 'vm', vmId: vm.id, deviceId: 0 });
    });

    it('volumedaemon: attach of a volume attached to another VM is Invalid; unknown volume is NotFound', async () => {
      const vol = h.world.sources[0].volumeIds[0];
      const vm = await run(
        h.cloudstack.deployVm({ name: 'app01-test', zoneId: h.world.zone.id, serviceOfferingId: h.world.offerings.small.id, templateId: h.world.template.id, networkIds: [h.world.networks.test.id] }),
      );
      await expect(run(h.port.attach(vol, vm.id))).rejects.toMatchObject({ kind: 'Invalid', driver: 'volumedaemon' });
      await expect(run(h.port.getDevice('no-such-volume'))).rejects.toMatchObject({ kind: 'NotFound' });
      await expect(run(h.port.attach('no-such-volume', vm.id))).rejects.toMatchObject({ kind: 'NotFound' });
      await expect(run(h.port.getOperation('no-such-op'))).rejects.toMatchObject({ kind: 'NotFound' });
    });

    it('volumedaemon: a CloudStack rule broken by the attach fails the operation with Invalid', async () => {
      const vol = h.world.sources[0].volumeIds[0];
      const vm = await run(
        h.cloudstack.deployVm({ name: 'app01-test', zoneId: h.world.zone.id, serviceOfferingId: h.world.offerings.small.id, templateId: h.world.template.id, networkIds: [h.world.networks.test.id] }),
      );
      await run(h.port.detach(vol));
      // The test VM still has its root volume: device 0 is refused by CloudStack, inside the daemon's operation.
      await expect(run(h.port.attach(vol, vm.id, { deviceId: 0 }))).rejects.toMatchObject({ kind: 'Invalid', code: 400, message: expect.stringContaining('root volume') });
      const failed = [...h.daemon.operations.values()].find((o) => o.status === 'failed');
      expect(failed).toBeDefined();
      const view = await run(h.port.getOperation(failed!.id));
      expect(view).toMatchObject({ type: 'attach', status: 'failed', volumeId: vol, error: expect.stringContaining('root volume') });
    });

    it('volumedaemon: operations: pending first, completed with the device later', async () => {
      const vol = h.world.sources[0].volumeIds[0];
      await run(h.port.detach(vol));
      const op = h.daemon.attach(vol, h.world.appliance.id);
      const seen = await run(h.port.getOperation(op.id));
      expect(['pending', 'executing']).toContain(seen.status);
      await h.kernel.run();
      expect(await run(h.port.getOperation(op.id))).toMatchObject({ status: 'completed', devicePath: '/dev/vdb', vmId: h.world.appliance.id });
    });
  });

  describe(`VolumeDaemonPort contract (${name}): faults`, () => {
    it('volumedaemon: faults: the daemon down gives Transient/Unavailable', async () => {
      const h = await factory(daemonKernel(22));
      try {
        h.kernel.setDown('volumedaemon', true);
        await expect(h.kernel.resolve(h.port.getDevice(h.world.sources[0].volumeIds[0]))).rejects.toMatchObject({ kind: 'Transient', reason: 'Unavailable', driver: 'volumedaemon' });
      } finally {
        await h.dispose();
      }
    });

    it('volumedaemon: faults: CloudStack failing under the daemon fails the operation with a retryable error; the volume stays put', async () => {
      const plan = quietPlan(23);
      plan.healAtMs = 60 * 60_000;
      plan.errorRates['cloudstack.job'] = { Conflict: 0, Throttled: 0, Transient: 1, Timeout: 0 };
      const h = await factory(daemonKernel(23, plan));
      try {
        const vol = h.world.sources[0].volumeIds[0];
        const e = await h.kernel.resolve(h.port.detach(vol)).catch((x: unknown) => x);
        expect(e).toMatchObject({ kind: 'Transient', driver: 'volumedaemon', code: 503 });
        expect(h.world.cloud.whereIs(vol).kind).toBe('appliance');
      } finally {
        await h.dispose();
      }
    });
  });
}
