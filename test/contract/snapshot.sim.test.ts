// Why: the simulated snapshot store must honour the SnapshotStorePort contract; and what the crash simulation relies
// on: the disk outlives the store, so a store started again on the same disk loads what the crashed one saved.
import { expect, it } from 'vitest';
import { SimKernel } from '../../simulator/kernel.ts';
import { SimSnapshotDisk, SimSnapshotStore } from '../../drivers/snapshots/snapshot.sim.ts';
import { describeSnapshotContract } from './snapshot.contract.ts';

describeSnapshotContract('sim', async () => {
  const kernel = new SimKernel({ seed: 1, keepTraceLines: false });
  const disk = new SimSnapshotDisk('east', () => kernel.now());
  const port = new SimSnapshotStore(kernel, disk, 'operator/east');
  return { port, run: (p) => kernel.resolve(p), dispose: () => {} };
});

it('snapshots sim: a store started again on the same disk loads what the previous one saved, at the same revision', async () => {
  const kernel = new SimKernel({ seed: 1, keepTraceLines: false });
  const disk = new SimSnapshotDisk('east', () => kernel.now());
  const before = new SimSnapshotStore(kernel, disk, 'operator/east');
  const value = { machineVersion: 3, snapshot: { status: 'active', value: 'Stage', context: { n: 1 }, children: {} }, meta: { failoverId: 'f-1' } };
  const { revision } = await kernel.resolve(before.save('f-1', value, undefined));
  const after = new SimSnapshotStore(kernel, disk, 'operator/east');
  expect(await kernel.resolve(after.load('f-1'))).toEqual({ key: 'f-1', revision, ...value });
  expect(await kernel.resolve(new SimSnapshotStore(kernel, new SimSnapshotDisk('east', () => kernel.now()), 'operator/east').load('f-1'))).toBeUndefined();
});
