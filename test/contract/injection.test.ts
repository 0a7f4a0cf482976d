// Why: VirtIO injection, real (a configured command run with a timeout) and simulated (content of the volume
// changes as the real tool would change it): success, non-zero exit, timeout, missing device, bad config.
import { describe, expect, it } from 'vitest';
import { CommandInjection, resolveInjectionConfig } from '../../drivers/injection/injection.command.ts';
import { SimInjection } from '../../drivers/injection/injection.sim.ts';
import { standardCloud } from '../../simulator/cloudstack/cloud.fixture.ts';
import { quietPlan } from '../../simulator/faults.ts';
import { SimKernel } from '../../simulator/kernel.ts';

const node = process.execPath;
const req = { devicePath: '/dev/vdb', volumeId: 'vol-1', vmId: 'vm-1001' };

describe('injection: command (real)', () => {
  it('injection: command: runs with the device as an argument and keeps the output tail', async () => {
    const inj = new CommandInjection({ command: node, args: ['-e', 'console.log("injected into " + process.argv[1])', '{device}'], checkDevice: false });
    const r = await inj.inject(req);
    expect(r).toMatchObject({ devicePath: '/dev/vdb', exitCode: 0, outputTail: 'injected into /dev/vdb\n' });
  });

  it('injection: command: a non-zero exit is Fatal with the exit code and the end of the output', async () => {
    const inj = new CommandInjection({ command: node, args: ['-e', 'console.error("no guest found"); process.exit(3)'], checkDevice: false, outputTailBytes: 64 });
    await expect(inj.inject(req)).rejects.toMatchObject({ kind: 'Fatal', reason: 'ExitCode', code: 3, driver: 'inject', message: expect.stringContaining('no guest found') });
  });

  it('injection: command: a run over its timeout is killed and Transient/Timeout', async () => {
    const inj = new CommandInjection({ command: node, args: ['-e', 'setTimeout(() => {}, 60000)'], checkDevice: false, timeoutMs: 300 });
    await expect(inj.inject(req)).rejects.toMatchObject({ kind: 'Transient', reason: 'Timeout' });
  });

  it('injection: command: a missing program or device is Invalid and says which', async () => {
    await expect(new CommandInjection({ command: 'no-such-virt-v2v-here', checkDevice: false }).inject(req)).rejects.toMatchObject({
      kind: 'Invalid',
      reason: 'CommandNotFound',
      message: expect.stringContaining('injection.command'),
    });
    await expect(new CommandInjection({ command: node }).inject({ ...req, devicePath: '/dev/no-such-device-xyz' })).rejects.toMatchObject({ kind: 'Invalid', reason: 'DeviceMissing' });
    await expect(new CommandInjection({ command: node }).inject({ ...req, devicePath: 'vdb' })).rejects.toMatchObject({ kind: 'Invalid', message: expect.stringContaining('devicePath') });
  });

  it('injection: config: each bad field is named', () => {
    expect(() => resolveInjectionConfig({ command: '' })).toThrow(/injection\.command/);
    expect(() => resolveInjectionConfig({ args: 'x' as never })).toThrow(/injection\.args/);
    expect(() => resolveInjectionConfig({ timeoutMs: -1 })).toThrow(/injection\.timeoutMs/);
    expect(() => resolveInjectionConfig({ outputTailBytes: 0 })).toThrow(/injection\.outputTailBytes/);
    expect(resolveInjectionConfig({})).toMatchObject({ command: 'virt-v2v-in-place', args: ['-i', 'disk', '{device}'] });
  });
});

describe('injection: simulated', () => {
  const setup = () => {
    const kernel = new SimKernel({ seed: 31, plan: quietPlan(31) });
    const world = standardCloud(kernel);
    const vol = world.sources[0].volumeIds[0];
    return { kernel, world, vol, inj: new SimInjection(world.cloud), req: { devicePath: '/dev/vdb', volumeId: vol, vmId: world.sources[0].vmId } };
  };

  it('injection: sim: takes the injection time and leaves drivers in the volume', async () => {
    const { kernel, world, vol, inj, req } = setup();
    const r = await kernel.resolve(inj.inject(req));
    expect(r.exitCode).toBe(0);
    expect(r.durationMs).toBeGreaterThanOrEqual(kernel.plan.physics.injectMs.baseMs + kernel.plan.latency.inject.baseMs);
    expect(world.cloud.volume(vol)!.data).toMatchObject({ virtio: true, dirty: false });
  });

  it('injection: sim: a failed run is Fatal and leaves a half-written disk', async () => {
    const { kernel, world, vol, inj, req } = setup();
    world.cloud.failNextInjections(vol, 1);
    await expect(kernel.resolve(inj.inject(req))).rejects.toMatchObject({ kind: 'Fatal', reason: 'ExitCode', code: 1 });
    expect(world.cloud.volume(vol)!.data).toMatchObject({ virtio: false, dirty: true });
    await kernel.resolve(inj.inject(req));
    expect(world.cloud.volume(vol)!.data).toMatchObject({ virtio: true, dirty: true });
  });

  it('injection: sim: the wrong device path is Invalid/DeviceMissing', async () => {
    const { kernel, inj, req } = setup();
    await expect(kernel.resolve(inj.inject({ ...req, devicePath: '/dev/vdc' }))).rejects.toMatchObject({ kind: 'Invalid', reason: 'DeviceMissing' });
  });
});
