// Why: the failover property suite also runs end to end through the REAL drivers: the Kubernetes driver over HTTP to
// the simulated API servers and the DynamoDB driver on dynalite, with the same runner, nemesis and invariants as
// the simulated suite (simulator/failover-run.ts). Fewer runs than the simulated suite (each one crosses real
// HTTP): REAL_RUNS sets the number (default 5); REAL_SEED and REAL_PATH replay a fast-check counterexample.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSimulation, type SimulationOptions } from '../../simulator/failover-run.ts';
import { loadCrds } from '../../src/crds.ts';
import { startRealDrivers, type RealDrivers } from '../../src/e2e/real-world.ts';
import { startDynalite, type DynaliteHandle } from '../support/dynalite.ts';
import { caseOptions, swarmCaseArb } from '../simulation/swarm-case.ts';

const CRDS = loadCrds();
const RUNS = Number(process.env.REAL_RUNS ?? 5);

let dyn: DynaliteHandle;
beforeAll(async () => {
  dyn = await startDynalite();
});
afterAll(async () => {
  await dyn?.stop();
});

/** runSimulation with the real drivers in place of the simulated ones; returns the result and what the drivers saw. */
async function runThroughRealDrivers(opts: Omit<SimulationOptions, 'ports'>) {
  let drivers: RealDrivers | undefined;
  try {
    const result = await runSimulation({
      ...opts,
      ports: async (world) => {
        drivers = await startRealDrivers(world, { dynamoEndpoint: dyn.endpoint });
        return drivers.ports;
      },
    });
    if (!drivers) throw new Error('runSimulation never asked for the ports');
    return { result, kube: drivers.kubeStats(), dynamo: drivers.dynamoStats(), divergences: [...drivers.divergences] };
  } finally {
    await drivers?.close();
  }
}

const caseArb = swarmCaseArb(8);

describe('e2e: failover through the real drivers (Kubernetes over HTTP, DynamoDB on dynalite)', () => {
  it('failover: real drivers: a CONSISTENCY failover of sample completes (profile=none)', async () => {
    const { result: r, kube, dynamo, divergences } = await runThroughRealDrivers({ seed: 1, scenario: 'sample', profile: 'none', failover: { mode: 'CONSISTENCY', type: 'planned' }, crds: CRDS });
    expect(r.failure, r.failure?.message).toBeUndefined();
    expect(r.outcome).toBe('completed');
    expect(r.invariants.filter((i) => !i.held)).toEqual([]);
    expect(r.status.target?.phase).toBe('Succeeded');
    expect(r.status.source?.phase).toBe('Succeeded');
    // The failover really went through both drivers, and dynalite agreed with the model on every write.
    expect(kube.byVerb.patch ?? 0).toBeGreaterThan(0);
    expect(kube.byVerb.watch ?? 0).toBeGreaterThan(0);
    expect(dynamo.byCommand.UpdateItemCommand ?? 0).toBeGreaterThan(0);
    expect(divergences).toEqual([]);
  });

  it(`failover: real drivers: swarm: safety then liveness (runs=${RUNS}, workloads=1..8, faults from the seed, crashes at transitions, stalls past the lease)`, async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const { result: r, divergences } = await runThroughRealDrivers({ ...caseOptions(c), crds: CRDS });
        const replay = `replay (simulated drivers): ${r.replayHint}`;
        const why = r.failure ? `${r.failure.kind} failure${r.failure.invariant ? ` of ${r.failure.invariant}` : ''} at T+${r.failure.atMs}ms: ${r.failure.message}\n${replay}` : '';
        expect(r.failure, why).toBeUndefined();
        expect(['completed', 'rolledBack', 'failed', 'manualIntervention'], `outcome ${r.outcome}\n${replay}`).toContain(r.outcome);
        expect(divergences, `dynalite and the simulated store disagreed\n${replay}`).toEqual([]);
      }),
      {
        numRuns: RUNS,
        seed: process.env.REAL_SEED === undefined ? undefined : Number(process.env.REAL_SEED),
        path: process.env.REAL_PATH,
        endOnFailure: true,
      },
    );
  }, 600_000);
});
