// Why: the one CloudStack contract, run against the simulated port (in process) and the real signed client over
// HTTP against the same simulated cloud: both must show CloudStack's rules and the port's idempotency alike.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CloudStackPort, VmView } from '../../drivers/cloudstack/cloudstack.port.ts';
import { quietPlan, type FaultPlan } from '../../simulator/faults.ts';
import { SimKernel } from '../../simulator/kernel.ts';
import type { StandardCloud } from '../../simulator/cloudstack/cloud.fixture.ts';

export interface CloudStackHarness {
  kernel: SimKernel;
  world: StandardCloud;
  port: CloudStackPort;
  dispose(): Promise<void>;
}

export type CloudStackHarnessFactory = (kernel: SimKernel) => Promise<CloudStackHarness>;

/** A kernel with no faults (default latencies and physics), or with the given plan. */
export function contractKernel(seed = 7, plan?: FaultPlan): SimKernel {
  return new SimKernel({ seed, plan: plan ?? quietPlan(seed), keepTraceLines: true });
}

export function describeCloudStackContract(name: string, factory: CloudStackHarnessFactory): void {
  describe(`CloudStackPort contract (${name})`, () => {
    let h: CloudStackHarness;
    const run = <T>(p: Promise<T>) => h.kernel.resolve(p);
    const deployTestVm = (suffix = 'test') =>
      run(
        h.port.deployVm({
          name: `app01-${suffix}`,
          zoneId: h.world.zone.id,
          serviceOfferingId: h.world.offerings.small.id,
          templateId: h.world.template.id,
          networkIds: [h.world.networks.test.id, h.world.networks.prod.id],
        }),
      );
    const sourceVolume = () => h.world.sources[0].volumeIds[0];

    beforeEach(async () => {
      h = await factory(contractKernel());
    });
    afterEach(async () => {
      await h.dispose();
    });

    it('cloudstack: list: zones, offerings and networks of the cloud', async () => {
      const zones = await run(h.port.listZones());
      expect(zones).toEqual([{ id: h.world.zone.id, name: 'zone-a', allocationState: 'Enabled' }]);
      const offs = await run(h.port.listServiceOfferings());
      expect(offs.map((o) => [o.name, o.cpuNumber, o.memoryMb])).toEqual([
        ['small-2cpu-4gb', 2, 4096],
        ['large-8cpu-32gb', 8, 32768],
      ]);
      const nets = await run(h.port.listNetworks({ zoneId: h.world.zone.id }));
      expect(nets.map((n) => n.name).sort()).toEqual(['net-prod', 'net-test']);
    });

    it('cloudstack: list: VMs and volumes with their attachments; unknown VM resolves undefined', async () => {
      const vms = await run(h.port.listVms());
      expect(vms.map((v) => [v.name, v.state])).toEqual([['replication-appliance', 'Running']]);
      const vols = await run(h.port.listVolumes({ vmId: h.world.appliance.id }));
      expect(vols.map((v) => [v.type, v.deviceId]).sort()).toEqual([
        ['DATADISK', 1],
        ['ROOT', 0],
      ]);
      expect(await run(h.port.getVm('6f1b2c3d-0000-4000-8000-000000000000'))).toBeUndefined();
      expect(await run(h.port.getVolume('6f1b2c3d-0000-4000-8000-000000000001'))).toBeUndefined();
    });

    it('cloudstack: deployVm: a stopped VM with its NICs and a root volume; idempotent by name', async () => {
      const t0 = h.kernel.now();
      const vm = await deployTestVm();
      expect(vm).toMatchObject({ name: 'app01-test', state: 'Stopped', cpuNumber: 2, memoryMb: 4096, zoneId: h.world.zone.id });
      expect(vm.nics.map((n) => [n.networkId, n.isDefault])).toEqual([
        [h.world.networks.test.id, true],
        [h.world.networks.prod.id, false],
      ]);
      expect(h.kernel.now()).toBeGreaterThan(t0);
      const root = await run(h.port.listVolumes({ vmId: vm.id }));
      expect(root.map((v) => [v.type, v.deviceId, v.state])).toEqual([['ROOT', 0, 'Ready']]);
      const again = await deployTestVm();
      expect(again.id).toBe(vm.id);
      expect((await run(h.port.listVms())).filter((v) => v.name === 'app01-test')).toHaveLength(1);
    });

    it('cloudstack: deployVm: a bad request names the field', async () => {
      await expect(run(h.port.deployVm({ name: '9bad', zoneId: h.world.zone.id, serviceOfferingId: 'x', templateId: 'y', networkIds: ['z'] }))).rejects.toMatchObject({
        kind: 'Invalid',
        message: expect.stringContaining('name'),
      });
      await expect(
        run(h.port.deployVm({ name: 'ok-name', zoneId: h.world.zone.id, serviceOfferingId: h.world.offerings.small.id, templateId: h.world.template.id, networkIds: [] })),
      ).rejects.toMatchObject({ kind: 'Invalid', message: expect.stringContaining('networkIds') });
    });

    it('cloudstack: startVm/stopVm: take boot and stop time, and are idempotent', async () => {
      const vm = await deployTestVm();
      const t0 = h.kernel.now();
      const up = await run(h.port.startVm(vm.id));
      expect(up.state).toBe('Running');
      expect(h.kernel.now() - t0).toBeGreaterThanOrEqual(h.kernel.plan.physics.vmBootMs.baseMs);
      expect((await run(h.port.startVm(vm.id))).state).toBe('Running');
      const down = await run(h.port.stopVm(vm.id));
      expect(down.state).toBe('Stopped');
      expect((await run(h.port.stopVm(vm.id))).state).toBe('Stopped');
      expect(h.world.cloud.vm(vm.id)?.state).toBe('Stopped');
    });

    it('cloudstack: startVm: waits out a start already in progress instead of failing', async () => {
      const vm = await deployTestVm();
      const first = h.world.cloud.startVm('startVirtualMachine', vm.id);
      const viaPort = h.port.startVm(vm.id);
      const [, view] = await run(Promise.all([first.done, viaPort]));
      expect(view.state).toBe('Running');
    });

    it('cloudstack: destroyVm: expunges the VM and its root volume, detaches data disks; twice is fine', async () => {
      const vm = await deployTestVm();
      const extra = h.world.cloud.addVolume({ name: 'scratch', zoneId: h.world.zone.id, sizeBytes: 2 ** 30 });
      await run(h.port.attachVolume(extra.id, vm.id));
      const root = (await run(h.port.listVolumes({ vmId: vm.id, type: 'ROOT' })))[0];
      await run(h.port.startVm(vm.id));
      await run(h.port.destroyVm(vm.id));
      expect(await run(h.port.getVm(vm.id))).toBeUndefined();
      expect(await run(h.port.getVolume(root.id))).toBeUndefined();
      const left = await run(h.port.getVolume(extra.id));
      expect(left?.vmId).toBeUndefined();
      await run(h.port.destroyVm(vm.id));
    });

    it('cloudstack: unknown ids: start, stop, attach and revert reject with NotFound', async () => {
      const ghost = '0b0b0b0b-0000-4000-8000-00000000dead';
      await expect(run(h.port.startVm(ghost))).rejects.toMatchObject({ kind: 'NotFound', driver: 'cloudstack' });
      await expect(run(h.port.stopVm(ghost))).rejects.toMatchObject({ kind: 'NotFound' });
      await expect(run(h.port.attachVolume(sourceVolume(), ghost))).rejects.toMatchObject({ kind: 'NotFound' });
      await expect(run(h.port.attachVolume(ghost, h.world.appliance.id))).rejects.toMatchObject({ kind: 'NotFound' });
      await expect(run(h.port.revertSnapshot(ghost))).rejects.toMatchObject({ kind: 'NotFound' });
      await expect(run(h.port.queryAsyncJob(ghost))).rejects.toMatchObject({ kind: 'NotFound' });
    });

    it('cloudstack: attach: a volume attached to another VM is refused (Invalid); detach is idempotent', async () => {
      const vm = await deployTestVm();
      await expect(run(h.port.attachVolume(sourceVolume(), vm.id))).rejects.toMatchObject({ kind: 'Invalid', code: 431 });
      expect(h.world.cloud.whereIs(sourceVolume()).kind).toBe('appliance');
      const detached = await run(h.port.detachVolume(sourceVolume()));
      expect(detached.vmId).toBeUndefined();
      expect((await run(h.port.detachVolume(sourceVolume()))).vmId).toBeUndefined();
      expect(h.world.cloud.whereIs(sourceVolume())).toEqual({ kind: 'detached' });
    });

    it('cloudstack: attach as root: needs the VM stopped and without a root volume; root detach needs it stopped', async () => {
      const vm = await deployTestVm();
      await run(h.port.detachVolume(sourceVolume()));
      // The test VM still has its template root.
      await expect(run(h.port.attachVolume(sourceVolume(), vm.id, { deviceId: 0 }))).rejects.toMatchObject({ kind: 'Invalid' });
      await run(h.port.startVm(vm.id));
      // A data disk may be hot-plugged into and out of a running VM.
      const data = await run(h.port.attachVolume(sourceVolume(), vm.id));
      expect(data).toMatchObject({ vmId: vm.id, deviceId: 1, type: 'DATADISK' });
      await run(h.port.detachVolume(sourceVolume()));
      const root = (await run(h.port.listVolumes({ vmId: vm.id, type: 'ROOT' })))[0];
      await expect(run(h.port.detachVolume(root.id))).rejects.toMatchObject({ kind: 'Invalid' });
      await run(h.port.stopVm(vm.id));
      await run(h.port.detachVolume(root.id));
      await expect(run(h.port.startVm(vm.id))).rejects.toMatchObject({ kind: 'Invalid' });
      // Device 0 on a running VM is refused too.
      const other = await deployTestVm('other');
      const otherRoot = (await run(h.port.listVolumes({ vmId: other.id, type: 'ROOT' })))[0];
      await run(h.port.detachVolume(otherRoot.id));
      await run(h.port.attachVolume(otherRoot.id, other.id, { deviceId: 0 }));
      await run(h.port.startVm(other.id));
      await expect(run(h.port.attachVolume(sourceVolume(), other.id, { deviceId: 0 }))).rejects.toMatchObject({ kind: 'Invalid' });
      expect(h.world.cloud.whereIs(sourceVolume())).toEqual({ kind: 'detached' });
    });

    it('cloudstack: attach as root: the switch of a source volume from the appliance to a test VM and back', async () => {
      const vm = await deployTestVm();
      const root = (await run(h.port.listVolumes({ vmId: vm.id, type: 'ROOT' })))[0];
      await run(h.port.detachVolume(root.id));
      await run(h.port.deleteVolume(root.id));
      await run(h.port.deleteVolume(root.id)); // gone: resolves
      await run(h.port.startVm(vm.id)).then(
        () => expect.fail('a VM without a root volume must not start'),
        (e: unknown) => expect(e).toMatchObject({ kind: 'Invalid' }),
      );
      await run(h.port.detachVolume(sourceVolume()));
      const attached = await run(h.port.attachVolume(sourceVolume(), vm.id, { deviceId: 0 }));
      expect(attached).toMatchObject({ vmId: vm.id, deviceId: 0, type: 'ROOT' });
      expect((await run(h.port.attachVolume(sourceVolume(), vm.id, { deviceId: 0 }))).deviceId).toBe(0);
      const running = await run(h.port.startVm(vm.id));
      expect(running.state).toBe('Running');
      expect(h.world.cloud.whereIs(sourceVolume())).toMatchObject({ kind: 'vm', vmId: vm.id, deviceId: 0, vmState: 'Running' });
      await run(h.port.stopVm(vm.id));
      const back = await run(h.port.detachVolume(sourceVolume()));
      expect(back.type).toBe('DATADISK');
      await run(h.port.attachVolume(sourceVolume(), h.world.appliance.id));
      expect(h.world.cloud.whereIs(sourceVolume())).toMatchObject({ kind: 'appliance' });
      await run(h.port.destroyVm(vm.id));
      expect(h.world.cloud.whereIs(sourceVolume()).kind).toBe('appliance');
    });

    it('cloudstack: snapshots: create (idempotent by name), revert only when detached or VM stopped, delete twice', async () => {
      const vol = sourceVolume();
      const before = { ...h.world.cloud.volume(vol)!.data };
      const snap = await run(h.port.createSnapshot(vol, 'pre-failover-app01'));
      expect(snap).toMatchObject({ volumeId: vol, name: 'pre-failover-app01', state: 'BackedUp' });
      expect((await run(h.port.createSnapshot(vol, 'pre-failover-app01'))).id).toBe(snap.id);
      expect((await run(h.port.listSnapshots({ volumeId: vol }))).map((s) => s.id)).toEqual([snap.id]);

      // Attached to the running appliance: CloudStack refuses to revert.
      await expect(run(h.port.revertSnapshot(snap.id))).rejects.toMatchObject({ kind: 'Invalid' });

      h.world.cloud.volume(vol)!.data = { generation: before.generation, virtio: true, dirty: true };
      await run(h.port.detachVolume(vol));
      const reverted = await run(h.port.revertSnapshot(snap.id));
      expect(reverted.id).toBe(vol);
      expect(h.world.cloud.volume(vol)!.data).toEqual(before);

      await run(h.port.deleteSnapshot(snap.id));
      await run(h.port.deleteSnapshot(snap.id));
      expect(await run(h.port.listSnapshots({ volumeId: vol }))).toEqual([]);
      await expect(run(h.port.revertSnapshot(snap.id))).rejects.toMatchObject({ kind: 'NotFound' });
    });

    it('cloudstack: async jobs: pending, then succeeded with its result', async () => {
      const vm = await deployTestVm();
      const { job, done } = h.world.cloud.startVm('startVirtualMachine', vm.id);
      const pending = await run(h.port.queryAsyncJob(job.id));
      expect(pending).toMatchObject({ jobId: job.id, status: 'pending' });
      await run(done);
      const ended = await run(h.port.queryAsyncJob(job.id));
      expect(ended).toMatchObject({ status: 'succeeded', resultCode: 0 });
      expect((ended.result?.virtualmachine as { state?: string } | undefined)?.state).toBe('Running');
    });

    it('cloudstack: async jobs: a failed job reports CloudStack\'s error code and text', async () => {
      const vm = await deployTestVm();
      const { job, done } = h.world.cloud.attachVolume('attachVolume', sourceVolume(), vm.id, undefined);
      await run(done);
      const failed = await run(h.port.queryAsyncJob(job.id));
      expect(failed).toMatchObject({ status: 'failed', resultCode: 431, errorCode: 431, errorText: 'Please specify a volume that is not attached to any VM.' });
    });

    it('cloudstack: views: JSON-safe (round-trip through JSON unchanged)', async () => {
      const vm: VmView = await deployTestVm();
      const vols = await run(h.port.listVolumes());
      for (const v of [vm, ...vols]) expect(JSON.parse(JSON.stringify(v))).toEqual(v);
    });
  });

  describe(`CloudStackPort contract (${name}): faults`, () => {
    it('cloudstack: faults: a failing CloudStack job rejects with a retryable error and leaves the VM stopped', async () => {
      const plan = quietPlan(3);
      plan.healAtMs = 10 * 60_000;
      plan.errorRates['cloudstack.job'] = { Conflict: 0, Throttled: 0, Transient: 1, Timeout: 0 };
      const h = await factory(contractKernel(3, plan));
      try {
        const vm = await h.kernel.resolve(
          h.port.deployVm({ name: 'f1', zoneId: h.world.zone.id, serviceOfferingId: h.world.offerings.small.id, templateId: h.world.template.id, networkIds: [h.world.networks.test.id] }),
        ).catch((e: unknown) => e);
        expect(vm).toMatchObject({ kind: 'Transient', code: 530 });
        const [created] = h.world.cloud.deployedVms();
        const start = await h.kernel.resolve(h.port.startVm(created.id)).catch((e: unknown) => e);
        expect(start).toMatchObject({ kind: 'Transient', driver: 'cloudstack', code: 530 });
        expect(h.world.cloud.vm(created.id)?.state).toBe('Stopped');
      } finally {
        await h.dispose();
      }
    });

    it('cloudstack: faults: throttled API calls map to Throttled', async () => {
      const plan = quietPlan(4);
      plan.healAtMs = 10 * 60_000;
      plan.errorRates['cloudstack.read'] = { Conflict: 0, Throttled: 1, Transient: 0, Timeout: 0 };
      const h = await factory(contractKernel(4, plan));
      try {
        await expect(h.kernel.resolve(h.port.listZones())).rejects.toMatchObject({ kind: 'Throttled', reason: 'TooManyRequests' });
      } finally {
        await h.dispose();
      }
    });

    it('cloudstack: faults: the cloud down gives Transient/Unavailable', async () => {
      const h = await factory(contractKernel(5));
      try {
        h.kernel.setDown('cloudstack', true);
        await expect(h.kernel.resolve(h.port.listVms())).rejects.toMatchObject({ kind: 'Transient', reason: 'Unavailable' });
      } finally {
        await h.dispose();
      }
    });
  });
}
