// Why: the simulated snapshot store must honour the SnapshotStorePort contract.
import { SimKernel } from '../../simulator/kernel.ts';
import { SimSnapshotDisk, SimSnapshotStore } from '../../drivers/snapshots/snapshot.sim.ts';
import { describeSnapshotContract } from './snapshot.contract.ts';

describeSnapshotContract('sim', async () => {
  const kernel = new SimKernel({ seed: 1, keepTraceLines: false });
  const disk = new SimSnapshotDisk('east', () => kernel.now());
  const port = new SimSnapshotStore(kernel, disk, 'operator/east');
  return { port, run: (p) => kernel.resolve(p), dispose: () => {} };
});
