// Why: the CloudStack contract against the real signed client, over real HTTP, served by the simulated cloud; and
// what only the wire shows: signatures, CloudStack's status codes and JSON shapes.
import { describe, expect, it } from 'vitest';
import { simClock } from '../../drivers/clock/clock.sim.ts';
import { httpCloudStack } from '../../drivers/cloudstack/cloudstack.http.ts';
import { canonicalCommandString, signedQueryString } from '../../drivers/cloudstack/cloudstack.signing.ts';
import { standardCloud } from '../../simulator/cloudstack/cloud.fixture.ts';
import { serveCloudStackApi } from '../../simulator/serve/cloudstack-api.ts';
import { heldFetch } from '../../simulator/serve/request-holds.ts';
import { contractKernel, describeCloudStackContract } from './cloudstack.contract.ts';
import { SimKernel } from '../../simulator/kernel.ts';
import { simCloudStack } from '../../drivers/cloudstack/cloudstack.sim.ts';
import type { CloudStackPort } from '../../drivers/cloudstack/cloudstack.port.ts';
import type { StandardCloud } from '../../simulator/cloudstack/cloud.fixture.ts';

async function httpHarness(kernel: SimKernel, secretOverride?: string) {
  const world = standardCloud(kernel);
  const served = await serveCloudStackApi(world.cloud);
  const port = httpCloudStack({
    endpoint: served.endpoint,
    apiKey: served.apiKey,
    secretKey: secretOverride ?? served.secretKey,
    clock: simClock(kernel.sched),
    fetch: heldFetch(kernel.sched),
  });
  return { kernel, world, port, served, dispose: () => served.close() };
}

describeCloudStackContract('http', (kernel) => httpHarness(kernel));

describe('CloudStack over HTTP: the wire', () => {
  it('cloudstack: signing: the canonical string of the API guide example', () => {
    const params = {
      command: 'deployVirtualMachine',
      serviceOfferingId: '1',
      diskOfferingId: '1',
      templateId: '2',
      zoneId: '4',
      apiKey: 'miVr6X7u6bN_sdahOBpjNejPgEsT35eXq-jB8CG20YI3yaxXcgpyuaIRmFI_EJTVwZ0nUkkJbPmY3y2bciKwFQ',
    };
    expect(canonicalCommandString(params)).toBe(
      'apikey=mivr6x7u6bn_sdahobpjnejpgest35exq-jb8cg20yi3yaxxcgpyuairmfi_ejtvwz0nukkjbpmy3y2bcikwfq&command=deployvirtualmachine&diskofferingid=1&serviceofferingid=1&templateid=2&zoneid=4',
    );
  });

  it('cloudstack: signing: values are encoded as CloudStack does (spaces %20, Java reserved characters)', () => {
    expect(canonicalCommandString({ name: "a b+c!'()~*", command: 'x' })).toBe('command=x&name=a%20b%2bc%21%27%28%29%7e*');
    const q = signedQueryString({ command: 'listZones' }, 'KEY', 'SECRET');
    expect(q).toMatch(/^command=listZones&apikey=KEY&response=json&signature=[A-Za-z0-9%]+$/);
    expect(q).not.toContain('SECRET');
  });

  it('cloudstack: signature: a wrong secret is refused with Unauthorized (401)', async () => {
    const h = await httpHarness(contractKernel(), 'not-the-secret');
    try {
      await expect(h.kernel.resolve(h.port.listVms())).rejects.toMatchObject({ kind: 'Unauthorized', code: 401, driver: 'cloudstack' });
      expect(h.kernel.trace.lines.some((l) => l.includes('cloudstack.api.unauthorized'))).toBe(true);
    } finally {
      await h.dispose();
    }
  });

  it("cloudstack: signature: a missing or tampered signature gets CloudStack's 401 body", async () => {
    const h = await httpHarness(contractKernel());
    try {
      const bare = await fetch(`${h.served.endpoint}?command=listZones&response=json&apikey=${h.served.apiKey}`);
      expect(bare.status).toBe(401);
      expect(await bare.json()).toEqual({ listzonesresponse: { uuidList: [], errorcode: 401, errortext: 'unable to verify user credentials and/or request signature' } });
      const signed = signedQueryString({ command: 'listZones' }, h.served.apiKey, h.served.secretKey);
      const tampered = await fetch(`${h.served.endpoint}?${signed.replace('command=listZones', 'command=listVolumes')}`);
      expect(tampered.status).toBe(401);
    } finally {
      await h.dispose();
    }
  });

  it("cloudstack: wire: list responses are CloudStack's shapes; unknown commands answer 432", async () => {
    const h = await httpHarness(contractKernel());
    try {
      const get = (params: Record<string, string>) => h.kernel.resolve(heldFetch(h.kernel.sched)(`${h.served.endpoint}?${signedQueryString(params, h.served.apiKey, h.served.secretKey)}`));
      const res = await get({ command: 'listVirtualMachines', listall: 'true' });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { listvirtualmachinesresponse: { count: number; virtualmachine: { name: string; nic: unknown[] }[] } };
      expect(body.listvirtualmachinesresponse.count).toBe(1);
      expect(body.listvirtualmachinesresponse.virtualmachine[0].name).toBe('replication-appliance');
      const empty = await get({ command: 'listSnapshots' });
      expect(await empty.json()).toEqual({ listsnapshotsresponse: {} });
      const unknown = await get({ command: 'rebootTheWorld' });
      expect(unknown.status).toBe(432);
      expect(await unknown.json()).toMatchObject({ reboottheworldresponse: { errorcode: 432 } });
      const missing = await get({ command: 'startVirtualMachine' });
      expect(missing.status).toBe(431);
      expect(await missing.json()).toMatchObject({ startvirtualmachineresponse: { errorcode: 431, cserrorcode: 4350, errortext: expect.stringContaining('missing parameter id') } });
    } finally {
      await h.dispose();
    }
  });

  it('cloudstack: wire: a bad endpoint configuration names the field', () => {
    expect(() => httpCloudStack({ endpoint: 'not a url', apiKey: 'k', secretKey: 's' })).toThrow(/cloudstack\.endpoint/);
    expect(() => httpCloudStack({ endpoint: 'http://x/client/api', apiKey: '', secretKey: 's' })).toThrow(/cloudstack\.apiKey/);
    expect(() => httpCloudStack({ endpoint: 'http://x/client/api', apiKey: 'k', secretKey: '' })).toThrow(/cloudstack\.secretKey/);
  });

  it('cloudstack: wire: an unreachable endpoint is Transient/Unavailable', async () => {
    const h = await httpHarness(contractKernel());
    const endpoint = h.served.endpoint;
    await h.dispose();
    const port = httpCloudStack({ endpoint, apiKey: 'k', secretKey: 's', clock: simClock(h.kernel.sched), fetch: heldFetch(h.kernel.sched) });
    await expect(h.kernel.resolve(port.listZones())).rejects.toMatchObject({ kind: 'Transient', reason: 'Unavailable' });
  });
});

/** A test-failover-like sequence; each step's outcome (or error kind) is recorded, so faults do not stop it. */
async function scenario(kernel: SimKernel, world: StandardCloud, port: CloudStackPort): Promise<string[]> {
  const out: string[] = [];
  const step = async <T>(name: string, p: () => Promise<T>): Promise<T | undefined> => {
    try {
      const v = await kernel.resolve(p());
      out.push(`${name} ok`);
      return v;
    } catch (e) {
      out.push(`${name} ${(e as { kind?: string }).kind ?? 'error'} ${(e as Error).message}`);
      return undefined;
    }
  };
  const src = world.sources[0].volumeIds[0];
  const snap = await step('snapshot', () => port.createSnapshot(src, 'pre-test'));
  const vm = await step('deploy', () =>
    port.deployVm({ name: 'app01-test', zoneId: world.zone.id, serviceOfferingId: world.offerings.small.id, templateId: world.template.id, networkIds: [world.networks.test.id] }),
  );
  if (!vm) return out;
  const [root] = (await step('roots', () => port.listVolumes({ vmId: vm.id, type: 'ROOT' }))) ?? [];
  if (root) {
    await step('detach-root', () => port.detachVolume(root.id));
    await step('delete-root', () => port.deleteVolume(root.id));
  }
  await step('detach-source', () => port.detachVolume(src));
  await step('attach-root', () => port.attachVolume(src, vm.id, { deviceId: 0 }));
  await step('start', () => port.startVm(vm.id));
  await step('stop', () => port.stopVm(vm.id));
  if (snap) await step('revert', () => port.revertSnapshot(snap.id));
  await step('detach-back', () => port.detachVolume(src));
  await step('reattach', () => port.attachVolume(src, world.appliance.id));
  await step('destroy', () => port.destroyVm(vm.id));
  if (snap) await step('delete-snapshot', () => port.deleteSnapshot(snap.id));
  return out;
}

describe('CloudStack: the simulated port and the HTTP path are one world', () => {
  for (const seed of [11, 12, 13, 14, 15]) {
    it(`cloudstack: equivalence: same seed, same outcomes and byte-identical trace (seed=${seed}, profile=calm)`, async () => {
      const mk = () => new SimKernel({ seed, plan: { profile: 'calm', parties: ['appliance', 'cloudstack'] } });
      const k1 = mk();
      const w1 = standardCloud(k1);
      const simOut = await scenario(k1, w1, simCloudStack(w1.cloud));
      const h = await httpHarness(mk());
      try {
        const httpOut = await scenario(h.kernel, h.world, h.port);
        expect(httpOut).toEqual(simOut);
        expect(h.kernel.trace.text()).toBe(k1.trace.text());
        expect(h.world.cloud.inspect()).toEqual(w1.cloud.inspect());
      } finally {
        await h.dispose();
      }
    });
  }
});
