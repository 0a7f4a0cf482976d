// Why: the job-log contract against the in-memory implementation, and what only it has: its jobs live in this
// process alone (the embedded default's log is lost with the process; DynamoDB keeps the real one).
import { expect, it } from 'vitest';
import { MemoryJobLog } from '../../drivers/joblog/joblog.memory.ts';
import { manualClock } from '../support/manual-clock.ts';
import { describeJobLogContract } from './joblog.contract.ts';

describeJobLogContract('memory', async () => {
  const clock = manualClock(1_767_225_600_000);
  return { port: new MemoryJobLog(clock), clock, dispose: async () => {} };
});

it('joblog memory: a job created in one log is not seen by another: nothing is shared or kept outside the instance', async () => {
  const clock = manualClock(1_767_225_600_000);
  const first = new MemoryJobLog(clock);
  const job = await first.createJob({ id: 'enhanced-test-failover-vm-1001-1767225600', type: 'test-failover', vmId: 'vm-1001', correlationId: 'corr-1' });
  expect(await first.getJob(job.id)).toMatchObject({ id: job.id, vmId: 'vm-1001' });
  expect(await new MemoryJobLog(clock).getJob(job.id)).toBeUndefined();
});
