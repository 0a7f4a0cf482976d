import { it, expect } from 'vitest';
import { startHarness, sampleRequest } from './failover.harness.ts';
import { deriveFailoverStatus } from '../../machines/failover/failover.status.ts';
it('smoke', async () => {
  const h = startHarness({ input: (k) => ({ request: sampleRequest(k), role: 'source', cluster: 'east' }) });
  await h.settle();
  const s = h.actor.getSnapshot();
  console.log(s.status, JSON.stringify(s.value), h.calls.join('\n'));
  console.log(JSON.stringify(deriveFailoverStatus(s as any), null, 1));
});
