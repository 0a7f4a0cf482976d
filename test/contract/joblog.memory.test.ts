// Why: the job-log contract against the in-memory implementation.
import { MemoryJobLog } from '../../drivers/joblog/joblog.memory.ts';
import { manualClock } from '../support/manual-clock.ts';
import { describeJobLogContract } from './joblog.contract.ts';

describeJobLogContract('memory', async () => {
  const clock = manualClock(1_767_225_600_000);
  return { port: new MemoryJobLog(clock), clock, dispose: async () => {} };
});
