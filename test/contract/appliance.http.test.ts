// Why: the appliance contract against the real HTTP client, served by the simulated appliance API; and what only
// the wire shows: the bearer token, the documented JSON shapes, the error mapping of statuses and malformed answers.
import { describe, expect, it } from 'vitest';
import { httpAppliance } from '../../drivers/appliance/appliance.http.ts';
import { simAppliance } from '../../drivers/appliance/appliance.sim.ts';
import type { SourceVmDirectory } from '../../drivers/appliance/appliance.port.ts';
import { SimKernel } from '../../simulator/kernel.ts';
import { serveApplianceApi } from '../../simulator/serve/appliance-api.ts';
import { heldFetch } from '../../simulator/serve/request-holds.ts';
import { applianceKernel, applianceWorld, describeApplianceContract } from './appliance.contract.ts';

async function httpHarness(kernel: SimKernel, tokenOverride?: string) {
  const world = applianceWorld(kernel);
  const served = await serveApplianceApi(world.cloud);
  const port = httpAppliance({ baseUrl: served.baseUrl, token: tokenOverride ?? served.token, fetch: heldFetch(kernel.sched) });
  return { kernel, world, port, served, dispose: () => served.close() };
}

describeApplianceContract('http', (kernel) => httpHarness(kernel));

describe('appliance over HTTP: the wire', () => {
  it('appliance: wire: a VM record is the documented snake_case JSON; the list is {vms: [...]}', async () => {
    const h = await httpHarness(applianceKernel());
    try {
      const get = (path: string) => h.kernel.resolve(heldFetch(h.kernel.sched)(`${h.served.baseUrl}${path}`, { headers: { authorization: `Bearer ${h.served.token}` } }));
      const one = await get('/api/v1/vms/vm-1001');
      expect(one.status).toBe(200);
      const src = h.world.sources[0];
      expect(await one.json()).toEqual({
        vm_id: 'vm-1001',
        name: 'app01',
        cpu_count: 2,
        memory_mb: 4096,
        os_type: 'windows',
        nics: [{ mac_address: src.nics[0].macAddress, source_network: 'VM Network' }],
        network_mappings: { 'VM Network': h.world.networks.test.id },
        volume_ids: src.volumeIds,
        last_replication: { status: 'succeeded', change_id: src.lastReplication.changeId, completed_at: '2026-01-01T00:00:00.000Z' },
        active_jobs: [],
        context_status: 'ready_for_failover',
      });
      const list = (await (await get('/api/v1/vms')).json()) as { vms: { vm_id: string }[] };
      expect(list.vms.map((v) => v.vm_id)).toEqual(['vm-1001', 'vm-1002']);
      expect(await (await get('/api/v1/appliance')).json()).toEqual({ vm_id: h.world.appliance.id });
      const missing = await get('/api/v1/vms/vm-404');
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ code: 'vm_not_found' });
    } finally {
      await h.dispose();
    }
  });

  it('appliance: token: no token or a wrong one is 401 (Unauthorized, the token never in the message); health needs none', async () => {
    const h = await httpHarness(applianceKernel(), 'not-the-token');
    try {
      const bare = await fetch(`${h.served.baseUrl}/api/v1/vms`);
      expect(bare.status).toBe(401);
      expect(await bare.json()).toEqual({ error: 'missing bearer token (Authorization: Bearer <token>)', code: 'unauthorized' });
      const health = await fetch(`${h.served.baseUrl}/api/v1/health`);
      expect(await health.json()).toEqual({ status: 'ok' });
      const e = (await h.kernel.resolve(h.port.listVms()).then(
        () => new Error('resolved'),
        (x: unknown) => x as Error,
      )) as Error & { kind: string };
      expect(e).toMatchObject({ kind: 'Unauthorized', reason: 'BadToken', code: 401, driver: 'appliance' });
      expect(e.message).toMatch(/--appliance-token/);
      expect(e.message).not.toContain('not-the-token');
      expect(e.message).not.toContain(h.served.token);
      expect(h.kernel.trace.lines.some((l) => l.includes('appliance.api.unauthorized'))).toBe(true);
      const write = await fetch(`${h.served.baseUrl}/api/v1/vms/vm-1001/context`, { method: 'PUT', body: JSON.stringify({ status: 'failed_over_live' }), headers: { authorization: 'Bearer nope' } });
      expect(write.status).toBe(401);
      expect(h.world.cloud.getSourceVm('vm-1001')?.contextStatus).toBe('ready_for_failover');
    } finally {
      await h.dispose();
    }
  });

  it('appliance: wire: a 404 that is not the API saying "no such VM" (a wrong base URL) is an error, not an absent VM', async () => {
    const h = await httpHarness(applianceKernel());
    try {
      const wrong = httpAppliance({ baseUrl: `${h.served.baseUrl}/wrong-prefix`, token: h.served.token, fetch: heldFetch(h.kernel.sched) });
      await expect(h.kernel.resolve(wrong.getVm('vm-1001'))).rejects.toMatchObject({ kind: 'NotFound', code: 404 });
    } finally {
      await h.dispose();
    }
  });

  it('appliance: wire: a malformed answer is Fatal/BadResponse naming the field', async () => {
    const answer = (body: unknown) => (async () => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } })) as typeof fetch;
    const port = (body: unknown) => httpAppliance({ baseUrl: 'http://appliance.invalid', token: 't', fetch: answer(body) });
    await expect(port({ vm_id: 'vm-1', name: 'x' }).getVm('vm-1')).rejects.toMatchObject({ kind: 'Fatal', reason: 'BadResponse', message: expect.stringContaining('vm.cpu_count') });
    await expect(port({ items: [] }).listVms()).rejects.toMatchObject({ kind: 'Fatal', reason: 'BadResponse', message: expect.stringContaining('vms: expected a list') });
    await expect(port({}).applianceVmId()).rejects.toMatchObject({ kind: 'Fatal', message: expect.stringContaining('vm_id') });
  });

  it('appliance: config: a bad base URL or a missing token names the field; unreachable is Transient/Unavailable', async () => {
    expect(() => httpAppliance({ baseUrl: 'nope', token: 't' })).toThrow(/appliance\.baseUrl/);
    expect(() => httpAppliance({ baseUrl: 'http://x', token: '' })).toThrow(/appliance\.token/);
    const h = await httpHarness(applianceKernel());
    const base = h.served.baseUrl;
    await h.dispose();
    const port = httpAppliance({ baseUrl: base, token: 't', fetch: heldFetch(h.kernel.sched) });
    await expect(h.kernel.resolve(port.listVms())).rejects.toMatchObject({ kind: 'Transient', reason: 'Unavailable', driver: 'appliance' });
  });
});

/** A validation-like sequence; each outcome (or error kind) is recorded, so faults do not stop it. */
async function scenario(kernel: SimKernel, port: SourceVmDirectory): Promise<string[]> {
  const out: string[] = [];
  const step = async (name: string, p: () => Promise<unknown>) => {
    try {
      out.push(`${name} ok ${JSON.stringify(await kernel.resolve(p()))}`);
    } catch (e) {
      out.push(`${name} ${(e as { kind?: string }).kind} ${(e as { reason?: string }).reason}`);
    }
  };
  for (let i = 0; i < 6; i++) {
    await step('appliance', () => port.applianceVmId());
    await step('list', () => port.listVms());
    await step('get', () => port.getVm('vm-1002'));
    await step('set', () => port.setContextStatus('vm-1002', i % 2 ? 'ready_for_failover' : 'failed_over_test'));
  }
  return out;
}

describe('appliance: the simulated port and the HTTP path are one world', () => {
  for (const seed of [41, 42, 43]) {
    it(`appliance: equivalence: same seed, same outcomes and byte-identical trace (seed=${seed}, profile=swarm)`, async () => {
      const mk = () => new SimKernel({ seed, plan: { profile: 'swarm', parties: ['appliance', 'cloudstack'] }, keepTraceLines: true });
      const k1 = mk();
      const w1 = applianceWorld(k1);
      const simOut = await scenario(k1, simAppliance(w1.cloud));
      const h = await httpHarness(mk());
      try {
        const httpOut = await scenario(h.kernel, h.port);
        expect(httpOut).toEqual(simOut);
        expect(h.kernel.trace.text()).toBe(k1.trace.text());
        expect(h.world.cloud.listSourceVms()).toEqual(w1.cloud.listSourceVms());
      } finally {
        await h.dispose();
      }
    });
  }
});
