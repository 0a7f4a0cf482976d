// Why: the chart may revert a volume only once no injection writes to it any more, so the injection port says
// whether one still runs on a device: the real driver from its own runs and the process table (a run an earlier
// engine process left behind), the simulated one from the appliance's runs; and an orphaned simulated run never
// writes to a device it lost, even after the volume was reverted and reattached at the same path.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { simCloudStack } from '../../drivers/cloudstack/cloudstack.sim.ts';
import { CommandInjection, findInjectionProcess } from '../../drivers/injection/injection.command.ts';
import { SimInjection } from '../../drivers/injection/injection.sim.ts';
import { standardCloud } from '../../simulator/cloudstack/cloud.fixture.ts';
import { quietPlan } from '../../simulator/faults.ts';
import { SimKernel } from '../../simulator/kernel.ts';

const node = process.execPath;
const hasProc = existsSync('/proc/self/cmdline');
const device = `/dev/vdz-status-${process.pid}`;

function until(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = async () => {
      if (await check()) return resolve();
      if (Date.now() > end) return reject(new Error('condition not met in time'));
      setTimeout(tick, 20);
    };
    void tick();
  });
}

describe('injection status: command (real)', () => {
  it('injection: status: running while its own run lasts (by device or volume), idle once it exited', async () => {
    const inj = new CommandInjection({ command: node, args: ['-e', 'setTimeout(() => {}, 300)', '{device}'], checkDevice: false });
    const run = inj.inject({ devicePath: device, volumeId: 'vol-s1', vmId: 'vm-1' });
    expect(await inj.status({ devicePath: device })).toBe('running');
    expect(await inj.status({ volumeId: 'vol-s1' })).toBe('running');
    await run;
    expect(await inj.status({ devicePath: device })).toBe(hasProc ? 'idle' : 'unknown');
    expect(await inj.status({ volumeId: 'vol-s1' })).toBe('unknown');
  });

  it.skipIf(!hasProc)('injection: status: a run an earlier engine process left behind is found in the process table until it exits', async () => {
    const orphan = spawn(node, ['-e', 'setTimeout(() => {}, 20000)', device], { stdio: 'ignore' });
    const exited = new Promise((resolve) => orphan.once('exit', resolve));
    try {
      const fresh = new CommandInjection({ command: node });
      await until(async () => (await fresh.status({ devicePath: device })) === 'running');
      // Another device, or a longer name that merely starts with this one, is not this run.
      expect(await fresh.status({ devicePath: `${device}9` })).toBe('idle');
      expect(await new CommandInjection({ command: 'virt-v2v-in-place' }).status({ devicePath: device })).toBe('idle');
    } finally {
      orphan.kill('SIGKILL');
      await exited;
    }
    expect(await new CommandInjection({ command: node }).status({ devicePath: device })).toBe('idle');
  });

  it('injection: status: without a process table to read it is unknown', async () => {
    expect(await findInjectionProcess(node, device, '/no/such/proc')).toBe('unknown');
  });
});

describe('injection status: simulated', () => {
  const setup = (injectMs = 5_000) => {
    const plan = quietPlan(33);
    plan.physics.injectMs = { baseMs: injectMs, jitterMs: 0 };
    const kernel = new SimKernel({ seed: 33, plan, keepTraceLines: true });
    const world = standardCloud(kernel);
    const vol = world.sources[0].volumeIds[0];
    return { kernel, world, vol, cs: simCloudStack(world.cloud), req: { devicePath: '/dev/vdb', volumeId: vol, vmId: world.sources[0].vmId } };
  };

  it('injection: sim: status is running from the start to the end of the tool, seen from another engine incarnation', async () => {
    const { kernel, req, world } = setup();
    const first = new SimInjection(world.cloud);
    const later = new SimInjection(world.cloud);
    expect(await later.status({ devicePath: '/dev/vdb' })).toBe('idle');
    const run = first.inject(req);
    await kernel.run({ untilMs: kernel.now() + 1_000 });
    expect(await later.status({ devicePath: '/dev/vdb' })).toBe('running');
    expect(await later.status({ volumeId: req.volumeId })).toBe('running');
    expect(await later.status({ devicePath: '/dev/vdc' })).toBe('idle');
    await kernel.resolve(run);
    expect(await later.status({ devicePath: '/dev/vdb' })).toBe('idle');
    expect(await later.status({})).toBe('unknown');
  });

  it('injection: sim: an orphaned run loses its device at the detach (disk half-written then) and writes nothing after, even once reverted and reattached', async () => {
    const { kernel, world, vol, cs, req } = setup(120_000);
    const snap = await kernel.resolve(cs.createSnapshot(vol, 'before-injection'));
    const orphan = new SimInjection(world.cloud).inject(req);
    const outcome = orphan.then(
      () => 'resolved',
      (e: { reason?: string }) => e.reason,
    );
    await kernel.run({ untilMs: kernel.now() + 2_000 });
    expect(world.cloud.volume(vol)!.data).toMatchObject({ virtio: false, dirty: false });
    await kernel.resolve(cs.detachVolume(vol));
    // The tool had been writing until the device went: the disk is half-written from that moment.
    expect(world.cloud.volume(vol)!.data).toMatchObject({ dirty: true });
    expect(kernel.trace.lines.some((l) => l.includes('inject.device-lost'))).toBe(true);
    await kernel.resolve(cs.revertSnapshot(snap.id));
    await kernel.resolve(cs.attachVolume(vol, world.appliance.id, { deviceId: 1 }));
    expect(world.cloud.whereIs(vol)).toMatchObject({ kind: 'appliance', deviceId: 1 });
    expect(world.cloud.volume(vol)!.data).toEqual({ generation: 1, virtio: false, dirty: false });
    // The orphan ends at the same path it started on, but it lost that device: it writes nothing.
    expect(await kernel.resolve(outcome)).toBe('DeviceVanished');
    expect(world.cloud.volume(vol)!.data).toEqual({ generation: 1, virtio: false, dirty: false });
    expect(await new SimInjection(world.cloud).status({ devicePath: '/dev/vdb' })).toBe('idle');
  });
});
