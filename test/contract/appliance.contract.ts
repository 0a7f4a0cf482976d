// Why: the one appliance contract, run against the simulated port (in process) and the real HTTP client against
// the simulated appliance API: both must read the appliance's records alike (specs, NICs, network mappings,
// volumes, last replication, active jobs, context status), write the context status by the same rules, and give
// the same error kinds for the same faults.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SourceVmDirectory, SourceVmView } from '../../drivers/appliance/appliance.port.ts';
import { standardCloud, type StandardCloud } from '../../simulator/cloudstack/cloud.fixture.ts';
import type { SourceVmRecord } from '../../simulator/cloudstack/cloud.types.ts';
import { quietPlan, type FaultPlan } from '../../simulator/faults.ts';
import { SimKernel } from '../../simulator/kernel.ts';

export interface ApplianceHarness {
  kernel: SimKernel;
  world: StandardCloud;
  port: SourceVmDirectory;
  dispose(): Promise<void>;
}

export type ApplianceHarnessFactory = (kernel: SimKernel) => Promise<ApplianceHarness>;

export function applianceKernel(seed = 31, plan?: FaultPlan): SimKernel {
  return new SimKernel({ seed, plan: plan ?? quietPlan(seed), keepTraceLines: true });
}

/** The world every harness builds: two replicated VMs with a data disk each. */
export function applianceWorld(kernel: SimKernel): StandardCloud {
  return standardCloud(kernel, { sourceVms: 2, dataDisks: 1 });
}

/** The view the port must give of a fixture record (what the appliance knows, nothing invented). */
function expectedView(r: SourceVmRecord): SourceVmView {
  return { ...structuredClone(r), activeJobs: r.activeJobs ?? [] };
}

/** A plan whose every appliance read is throttled (faults on for the whole run). */
function throttledReads(seed: number): FaultPlan {
  const p = quietPlan(seed);
  p.profile = 'calm';
  p.healAtMs = 10 * 60_000;
  p.errorRates['cloudstack.read'] = { Conflict: 0, Throttled: 1, Transient: 0, Timeout: 0 };
  return p;
}

export function describeApplianceContract(name: string, factory: ApplianceHarnessFactory): void {
  describe(`AppliancePort contract (${name})`, () => {
    let h: ApplianceHarness;
    const run = <T>(p: Promise<T>) => h.kernel.resolve(p);
    beforeEach(async () => {
      h = await factory(applianceKernel());
    });
    afterEach(() => h.dispose());

    it("appliance: applianceVmId is the appliance's own CloudStack VM id", async () => {
      expect(await run(h.port.applianceVmId())).toBe(h.world.appliance.id);
    });

    it('appliance: listVms: every replicated VM with specs, NICs, network mappings, volumes, last replication and context, sorted by id', async () => {
      const vms = await run(h.port.listVms());
      expect(vms.map((v) => v.vmId)).toEqual(['vm-1001', 'vm-1002']);
      expect(vms).toEqual(h.world.cloud.listSourceVms().map(expectedView));
      const first = vms[0];
      expect(first.cpuCount).toBeGreaterThan(0);
      expect(first.volumeIds).toHaveLength(2);
      expect(first.networkMappings[first.nics[0].sourceNetwork]).toBe(h.world.networks.test.id);
      expect(first.lastReplication).toEqual({ status: 'succeeded', changeId: h.world.sources[0].lastReplication.changeId, completedAtMs: h.kernel.startMs });
      expect(first.activeJobs).toEqual([]);
      expect(first.contextStatus).toBe('ready_for_failover');
    });

    it('appliance: getVm: a known VM is its record, an unknown one is undefined, an empty id is Invalid naming vmId', async () => {
      expect(await run(h.port.getVm('vm-1002'))).toEqual(expectedView(h.world.cloud.getSourceVm('vm-1002')!));
      expect(await run(h.port.getVm('vm-404'))).toBeUndefined();
      await expect(run(h.port.getVm(''))).rejects.toMatchObject({ kind: 'Invalid', driver: 'appliance', message: expect.stringContaining('vmId') });
    });

    it('appliance: a new replication sync and an active job are what the next read shows', async () => {
      h.kernel.sched.after(5_000, 'test.sync', () => h.world.cloud.completeReplicationSync('vm-1001', '52 d0 2f 9a-1/2'));
      await run(h.kernel.sched.sleep(6_000));
      h.world.cloud.updateSourceVm('vm-1001', { lastReplication: { ...h.world.cloud.getSourceVm('vm-1001')!.lastReplication, status: 'running' }, activeJobs: [{ id: 'repl-77', type: 'replication', status: 'running' }] });
      const v = await run(h.port.getVm('vm-1001'));
      expect(v?.lastReplication).toEqual({ status: 'running', changeId: '52 d0 2f 9a-1/2', completedAtMs: h.kernel.startMs + 5_000 });
      expect(v?.activeJobs).toEqual([{ id: 'repl-77', type: 'replication', status: 'running' }]);
    });

    it('appliance: setContextStatus: changes the record once; a repeat is a no-op; unknown VM NotFound; bad status Invalid naming status', async () => {
      await run(h.port.setContextStatus('vm-1001', 'failed_over_test'));
      expect(h.world.cloud.getSourceVm('vm-1001')?.contextStatus).toBe('failed_over_test');
      expect((await run(h.port.getVm('vm-1001')))?.contextStatus).toBe('failed_over_test');
      await run(h.port.setContextStatus('vm-1001', 'failed_over_test'));
      expect(h.kernel.trace.lines.filter((l) => l.includes('appliance.context')).length).toBe(1);
      expect(h.world.cloud.getSourceVm('vm-1002')?.contextStatus).toBe('ready_for_failover');
      await expect(run(h.port.setContextStatus('vm-404', 'ready_for_failover'))).rejects.toMatchObject({ kind: 'NotFound', driver: 'appliance', code: 404 });
      await expect(run(h.port.setContextStatus('vm-1001', 'failed_over'))).rejects.toMatchObject({ kind: 'Invalid', message: expect.stringMatching(/status: "failed_over" is not one of ready_for_failover, failed_over_test, failed_over_live/) });
      expect(h.world.cloud.getSourceVm('vm-1001')?.contextStatus).toBe('failed_over_test');
    });

    it('appliance: the appliance down is Transient/Unavailable, and nothing is written', async () => {
      h.kernel.setDown('appliance', true);
      await expect(run(h.port.listVms())).rejects.toMatchObject({ kind: 'Transient', reason: 'Unavailable', driver: 'appliance' });
      await expect(run(h.port.setContextStatus('vm-1001', 'failed_over_live'))).rejects.toMatchObject({ kind: 'Transient', reason: 'Unavailable' });
      h.kernel.setDown('appliance', false);
      expect(h.world.cloud.getSourceVm('vm-1001')?.contextStatus).toBe('ready_for_failover');
    });

    it('appliance: an injected throttle on reads is Throttled (retryable), writes still go through', async () => {
      await h.dispose();
      h = await factory(applianceKernel(32, throttledReads(32)));
      await expect(run(h.port.getVm('vm-1001'))).rejects.toMatchObject({ kind: 'Throttled', reason: 'TooManyRequests', driver: 'appliance', code: 429 });
      await run(h.port.setContextStatus('vm-1001', 'failed_over_live'));
      expect(h.world.cloud.getSourceVm('vm-1001')?.contextStatus).toBe('failed_over_live');
    });
  });
}
