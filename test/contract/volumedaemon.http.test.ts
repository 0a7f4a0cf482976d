// Why: the Volume Daemon contract against the real HTTP client, served by the simulated daemon; and the wire.
import { describe, expect, it } from 'vitest';
import { simClock } from '../../drivers/clock/clock.sim.ts';
import { simCloudStack } from '../../drivers/cloudstack/cloudstack.sim.ts';
import { httpVolumeDaemon } from '../../drivers/volumedaemon/volumedaemon.http.ts';
import { standardCloud } from '../../simulator/cloudstack/cloud.fixture.ts';
import type { SimKernel } from '../../simulator/kernel.ts';
import { heldFetch } from '../../simulator/serve/request-holds.ts';
import { serveVolumeDaemonApi } from '../../simulator/serve/volumedaemon-api.ts';
import { SimVolumeDaemon } from '../../simulator/volumedaemon/daemon.ts';
import { daemonKernel, describeVolumeDaemonContract } from './volumedaemon.contract.ts';

async function httpHarness(kernel: SimKernel) {
  const world = standardCloud(kernel);
  const daemon = new SimVolumeDaemon(world.cloud);
  const served = await serveVolumeDaemonApi(daemon);
  const port = httpVolumeDaemon({ baseUrl: served.baseUrl, clock: simClock(kernel.sched), fetch: heldFetch(kernel.sched) });
  return { kernel, world, daemon, port, served, cloudstack: simCloudStack(world.cloud), dispose: () => served.close() };
}

describeVolumeDaemonContract('http', httpHarness);

describe('Volume Daemon over HTTP: the wire', () => {
  it('volumedaemon: wire: attach is 202 with an operation id; a bad body is 400 naming the field', async () => {
    const h = await httpHarness(daemonKernel());
    try {
      const f = heldFetch(h.kernel.sched);
      const vol = h.world.sources[0].volumeIds[0];
      const bad = await h.kernel.resolve(f(`${h.served.baseUrl}/api/v1/volumes/${vol}/attach`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }));
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ error: expect.stringContaining('vm_id') });
      const dev = await h.kernel.resolve(f(`${h.served.baseUrl}/api/v1/volumes/${vol}/device`));
      expect(await dev.json()).toEqual({ volume_id: vol, attached: true, vm_id: h.world.appliance.id, device_id: 1, device_path: '/dev/vdb' });
      const det = await h.kernel.resolve(f(`${h.served.baseUrl}/api/v1/volumes/${vol}/detach`, { method: 'POST' }));
      expect(det.status).toBe(202);
      expect(await det.json()).toMatchObject({ operation_id: expect.any(String), status: 'pending' });
    } finally {
      await h.dispose();
    }
  });

  it('volumedaemon: config: a bad base URL names the field', () => {
    expect(() => httpVolumeDaemon({ baseUrl: 'nope' })).toThrow(/volumeDaemon\.baseUrl/);
  });
});
