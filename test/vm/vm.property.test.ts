// Why: the VM failover's safety and liveness under many worlds, swarm style: each seed draws its own fault mix
// (API errors, throttling, timeouts, partitions between the engine, CloudStack, the Volume Daemon and the job
// log, engine crashes and stalls), and the run must end with every invariant holding: each source volume on
// exactly one of the appliance, the test VM or the live VM; no test VM after a cleanup; no snapshot leaked;
// every job terminal with its steps recorded. A crash at any transition must resume to the outcome the same seed
// has without it. Runs: SIM_RUNS (default modest); a failure prints the seed and the replay command.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runVmSimulation, VM_OPERATIONS, type VmSimulationResult } from '../../simulator/vm-run.ts';

const RUNS = Number(process.env.SIM_RUNS ?? 0) || undefined;
const runs = (dflt: number) => RUNS ?? dflt;
/** Long hunts (SIM_RUNS in the hundreds) get a second a run on a busy machine instead of the default two minutes. */
const TIMEOUT_MS = Math.max(120_000, (RUNS ?? 0) * 1_000);
const fcSeed = process.env.SIM_SEED !== undefined ? { seed: Number(process.env.SIM_SEED) } : {};
const fcPath = process.env.SIM_PATH !== undefined ? { path: process.env.SIM_PATH } : {};

function explain(r: VmSimulationResult): string {
  return `seed=${r.seed} operation=${r.operation} result=${r.result} state=${r.state}\nreplay: ${r.replay}\nfailure: ${JSON.stringify(r.failure)}\nvolumes: ${JSON.stringify(r.world.volumes)}\nconditions: ${r.conditions
    .filter((c) => c.type !== 'InProgress')
    .map((c) => `${c.type}=${c.status} ${c.message}`)
    .join(' | ')}`;
}

/** What the outcome is, in terms of the world and the job log (ids and step attempts left out). */
function fingerprint(r: VmSimulationResult) {
  return {
    result: r.result,
    volumes: r.world.volumes.map((v) => ({ kind: v.kind, deviceId: v.deviceId, data: v.data })),
    testVms: r.world.testVms,
    liveVms: r.world.liveVms,
    snapshots: r.world.snapshots.map((s) => s.name),
    context: r.world.contextStatus,
    jobs: r.jobs.map((j) => [j.type, j.status, j.progressPercent]),
  };
}

const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const opArb = fc.constantFrom(...VM_OPERATIONS);

describe('vm failover properties', () => {
  it('vm property: swarm faults on every operation: every invariant holds and the job ends (safety, liveness)', async () => {
    await fc.assert(
      fc.asyncProperty(seedArb, opArb, async (seed, operation) => {
        const r = await runVmSimulation({ seed, operation, profile: 'swarm' });
        expect(r.failure, explain(r)).toBeUndefined();
        expect(r.result, explain(r)).not.toBe('unfinished');
        // Exactly one home per source volume: the appliance, the test VM or the live VM.
        for (const v of r.world.volumes) expect(['appliance', 'test', 'live'], explain(r)).toContain(v.kind);
        if (r.result === 'cleanedUp') expect(r.world.testVms, explain(r)).toEqual([]);
        for (const j of r.jobs) {
          expect(['completed', 'failed'], explain(r)).toContain(j.status);
          expect(j.steps.length, explain(r)).toBeGreaterThan(0);
        }
      }),
      { numRuns: runs(24), ...fcSeed, ...fcPath },
    );
  }, TIMEOUT_MS);

  it('vm property: swarm faults with a tight retry budget (attemptMax=2): failures roll back and still end safe', async () => {
    await fc.assert(
      fc.asyncProperty(seedArb, opArb, async (seed, operation) => {
        const r = await runVmSimulation({ seed, operation, profile: 'swarm', policy: { retry: { attemptMax: 2, backoffBaseMs: 500, backoffMaxMs: 2_000 } } });
        expect(r.failure, explain(r)).toBeUndefined();
        for (const v of r.world.volumes) expect(['appliance', 'test', 'live'], explain(r)).toContain(v.kind);
        if (r.result === 'failed' && r.world.contextStatus === 'ready_for_failover') {
          // Rolled back: nothing of the failover is left unless a condition names it.
          const named = (s: string) => r.conditions.some((c) => c.status === 'True' && c.message.includes(s));
          for (const vm of [...r.world.testVms, ...r.world.liveVms]) expect(named(vm.name), explain(r)).toBe(true);
          for (const s of r.world.snapshots) expect(named(s.volumeId), explain(r)).toBe(true);
        }
      }),
      { numRuns: runs(24), ...fcSeed, ...fcPath },
    );
  }, TIMEOUT_MS);

  it('vm property: a crash at any transition resumes to the same outcome as the same seed without it (profile=none)', async () => {
    await fc.assert(
      fc.asyncProperty(seedArb, opArb, fc.integer({ min: 1, max: 1_000 }), async (seed, operation, pick) => {
        const base = await runVmSimulation({ seed, operation, profile: 'none' });
        expect(base.failure, explain(base)).toBeUndefined();
        const k = 1 + (pick % Math.max(1, base.transitions));
        const crashed = await runVmSimulation({ seed, operation, profile: 'none', crashAtTransition: k });
        const why = `crash at transition ${k} of ${base.transitions}\n${explain(crashed)}`;
        expect(crashed.failure, why).toBeUndefined();
        expect(crashed.crashes, why).toBe(1);
        expect(fingerprint(crashed), why).toEqual(fingerprint(base));
      }),
      { numRuns: runs(16), ...fcSeed, ...fcPath },
    );
  }, TIMEOUT_MS);

  it('vm property: scripted injection failures under calm faults and engine crashes still end safe', async () => {
    await fc.assert(
      fc.asyncProperty(seedArb, opArb, fc.integer({ min: 1, max: 4 }), fc.option(fc.integer({ min: 1, max: 120_000 }), { nil: undefined }), async (seed, operation, failures, crashMs) => {
        const r = await runVmSimulation({
          seed,
          operation,
          profile: 'calm',
          ...(crashMs !== undefined ? { crashAtMs: [crashMs] } : {}),
          setup: (w) => w.cloud.failNextInjections(w.sources[0].volumeIds[0], failures),
        });
        expect(r.failure, explain(r)).toBeUndefined();
        expect(['failed', 'testRunning', 'cleanedUp', 'failedOver', 'failedBack'], explain(r)).toContain(r.result);
        // A failed failover (the injection exited non-zero) is rolled back: reverted, on the appliance, nothing left.
        if (r.result === 'failed') {
          for (const v of r.world.volumes) expect(v, explain(r)).toMatchObject({ kind: 'appliance', data: { dirty: false, virtio: false } });
          expect(r.world.snapshots, explain(r)).toEqual([]);
          expect([...r.world.testVms, ...r.world.liveVms], explain(r)).toEqual([]);
        }
      }),
      { numRuns: runs(12), ...fcSeed, ...fcPath },
    );
  }, TIMEOUT_MS);
});
