// Why: `npm run bench`: every figure of issue 6 measured side by side in one run, on this machine, with progress
// lines as it goes and ONE JSON object as the last line (also written to bench/results.json). Benchmarks are not
// tests: nothing here fails on a slow figure. Sample counts are chosen to keep the run near 10 minutes on 2 cores
// and can be changed with the BENCH_* variables below (docs/benchmarks.md).
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineInfo, round } from './machine.ts';
import { measureRequests } from './requests.ts';
import { measureRtoSeeds, rtoFigures, type RtoSample } from './rto.ts';
import { measureConcurrent, measureIdle } from './scale.ts';
import { measureSimAndFloor } from './sim-throughput.ts';

// Up to concurrencyMax child charts share one step's AbortSignal; Node's default of 10 listeners would print a
// warning per step (and spend the run's time writing them).
EventEmitter.defaultMaxListeners = 1_000;

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

function envInt(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`bench: ${name} must be a whole number (got ${JSON.stringify(raw)}); unset it to use ${dflt}\n`);
    process.exit(2);
  }
  return n;
}

const cfg = {
  simRuns: envInt('BENCH_SIM_RUNS', 40),
  simWarmup: envInt('BENCH_SIM_WARMUP', 3),
  floorRuns: envInt('BENCH_FLOOR_RUNS', 500),
  floorWarmup: envInt('BENCH_FLOOR_WARMUP', 30),
  /** The simulator and the floor run in this many alternating batches, so that both see the same machine. */
  simRounds: envInt('BENCH_SIM_ROUNDS', 10),
  rtoSizes: (process.env.BENCH_RTO_SIZES ?? '10,100,1000').split(',').map(Number),
  /** Sizes at or above this run in a child process on the other core. */
  rtoChildFrom: envInt('BENCH_RTO_CHILD_FROM', 500),
  requestSeeds: envInt('BENCH_REQUEST_SEEDS', 3),
  concurrent: envInt('BENCH_CONCURRENT', 100),
  idleGroups: envInt('BENCH_IDLE_GROUPS', 1_000),
  /** One heartbeat interval (30 s): every group beats exactly once in the window. */
  idleWindowMs: envInt('BENCH_IDLE_WINDOW_MS', 30_000),
  idleBaselineWindowMs: envInt('BENCH_IDLE_BASELINE_WINDOW_MS', 10_000),
};
for (const s of cfg.rtoSizes) {
  if (!Number.isInteger(s) || s < 1) {
    process.stderr.write(`bench: BENCH_RTO_SIZES must be comma-separated workload counts such as 10,100,1000 (got ${JSON.stringify(process.env.BENCH_RTO_SIZES)})\n`);
    process.exit(2);
  }
}

const started = performance.now();
const log = (line: string) => process.stdout.write(`[bench +${Math.round((performance.now() - started) / 1000)}s] ${line}\n`);

/** The big RTO runs take minutes of CPU: a child process runs them on the other core meanwhile. */
function rtoInChild(workloads: number): Promise<RtoSample[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'rto-child.ts'), String(workloads), 'default,jitterFree'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`rto child (${workloads} workloads) exited with ${code}: ${err.trim().split('\n').slice(-5).join(' | ')}`));
      try {
        resolve(JSON.parse(last) as RtoSample[]);
      } catch (e) {
        reject(new Error(`rto child (${workloads} workloads) printed no JSON: ${(e as Error).message}`));
      }
    });
  });
}

async function main() {
  const machine = machineInfo();
  log(`machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GB, node ${machine.node}`);

  log(`sim: ${cfg.simRuns} failovers of the reference group, profile calm, and ${cfg.floorRuns} on the floor's no-op drivers, in ${cfg.simRounds} alternating batches (after ${cfg.simWarmup} and ${cfg.floorWarmup} warm-up)`);
  const paired = await measureSimAndFloor({
    simRuns: cfg.simRuns,
    simWarmup: cfg.simWarmup,
    floorRuns: cfg.floorRuns,
    floorWarmup: cfg.floorWarmup,
    rounds: cfg.simRounds,
    profile: 'calm',
    log,
  });
  const { sim, floor } = paired;
  log(`sim: ${sim.failoversPerSec} failovers/s, compression ${sim.compression}x; floor ${floor.failoversPerSec} failovers/s; overhead ratio ${paired.overheadRatio}`);

  // Started only now: the simulator and its floor are timed on one core with the other one quiet.
  const childSizes = cfg.rtoSizes.filter((s) => s >= cfg.rtoChildFrom);
  const childRuns = childSizes.map((s) => {
    log(`rto: ${s} workloads started in a child process (default and jitter-free latency models)`);
    return rtoInChild(s).then(
      (v) => ({ ok: true as const, v }),
      (e: unknown) => ({ ok: false as const, e: e instanceof Error ? e.message : String(e) }),
    );
  });

  const rtoSamples: RtoSample[] = [];
  for (const size of cfg.rtoSizes.filter((s) => s < cfg.rtoChildFrom)) {
    for (const variant of ['default', 'jitterFree'] as const) {
      for (const s of await measureRtoSeeds(size, variant)) {
        rtoSamples.push(s);
        log(`rto: ${size} workloads, ${variant}, seed ${s.seed}: ${s.durationMs} ms against a bound of ${s.boundMs} ms, ratio ${s.ratio} (${s.realMs} ms real)`);
      }
    }
  }

  log(`requests: the reference group through the real drivers (${cfg.requestSeeds} seeds, then 4x and 8x slower physics)`);
  const requests = await measureRequests({ seeds: Array.from({ length: cfg.requestSeeds }, (_, i) => i + 1), log });

  let concurrent;
  if (cfg.concurrent > 0) {
    log(`concurrent: ${cfg.concurrent} failovers at once`);
    concurrent = await measureConcurrent({ failovers: cfg.concurrent, profile: 'calm' });
    log(`concurrent: ${concurrent.failovers} done in ${concurrent.realMs} ms, peak RSS ${concurrent.peakRssMb} MB`);
  }

  let idle;
  if (cfg.idleGroups > 0) {
    log(`idle: daemons holding ${cfg.idleGroups} groups`);
    idle = await measureIdle({ groups: cfg.idleGroups, warmMs: 2_000, windowMs: cfg.idleWindowMs, baselineWindowMs: cfg.idleBaselineWindowMs, log });
    log(`idle: CPU share ${idle.cpuShare} (world alone ${idle.baselineCpuShare}), RSS ${idle.rssMb} MB, daemons' heap ${idle.daemonsHeapUsedMb} MB`);
  }

  const rtoErrors: string[] = [];
  for (const r of await Promise.all(childRuns)) {
    if (r.ok) {
      rtoSamples.push(...r.v);
      for (const s of r.v) log(`rto: ${s.workloads} workloads, ${s.variant}, seed ${s.seed}: ${s.durationMs} ms against a bound of ${s.boundMs} ms, ratio ${s.ratio} (${s.realMs} ms real)`);
    } else {
      rtoErrors.push(r.e);
      log(`rto: ${r.e}`);
    }
  }
  rtoSamples.sort((a, b) => a.workloads - b.workloads || a.variant.localeCompare(b.variant));
  const figures = rtoFigures(rtoSamples);
  const ratioOf = (variant: 'default' | 'jitterFree', key: 'ratio' | 'ratioVsBase' = 'ratio') => Object.fromEntries(figures.filter((f) => f.variant === variant).map((f) => [String(f.workloads), f[key]]));

  const result = {
    command: 'npm run bench',
    timestamp: new Date().toISOString(),
    machine,
    durationMs: Math.round(performance.now() - started),
    loadAverageAtEnd: round(loadavg()[0], 2),
    settings: cfg,
    sim: {
      failoversPerSec: sim.failoversPerSec,
      // runSimulation runs the daemons (one per cluster, through startDaemon, the Failover created through the
      // Kubernetes API) since 2026-12-07, so the simulator's figure is the daemon-level one: the same number.
      daemonFailoversPerSec: sim.failoversPerSec,
      failoversPerCpuSec: sim.failoversPerCpuSec,
      floorFailoversPerSec: floor.failoversPerSec,
      overheadRatio: paired.overheadRatio,
      overheadRatioCpu: paired.overheadRatioCpu,
      rounds: paired.rounds,
      compression: sim.compression,
      profile: sim.profile,
      run: sim,
      floor,
    },
    rto: {
      mode: 'CONSISTENCY planned, fault-free (profile none)',
      /** Mean simulated duration over seeds / expected critical path E[CP], default latency model (jitter on). */
      ratio: ratioOf('default'),
      /** The same mean against the bound with every draw at its baseMs (the figure before E[CP]). */
      ratioVsBaseBound: ratioOf('default', 'ratioVsBase'),
      /** The same with every jitter at 0: the bound is exact, the excess over 1 is time the engine itself spends. */
      ratioJitterFree: ratioOf('jitterFree'),
      figures,
      samples: rtoSamples,
      ...(rtoErrors.length ? { errors: rtoErrors } : {}),
    },
    kube: {
      requestsPerResource: {
        writes: requests.kube.writesPerResource,
        maxWrites: requests.kube.maxWritesPerResource,
        gets: requests.kube.getsPerResource,
        maxGets: requests.kube.maxGetsPerResource,
        pollingReads: requests.kube.pollingReads,
      },
      listsPerFailover: requests.kube.listsPerFailover,
      watchesPerFailover: requests.kube.watchesPerFailover,
      discoveryPerFailover: requests.kube.discoveryPerFailover,
      otherObjectRequestsPerFailover: requests.kube.otherObjectRequestsPerFailover,
      extraWatchesWhenWaitingLonger: requests.kube.extraWatchesWhenWaitingLonger,
      managedResourcesPerCluster: requests.managedResourcesPerCluster,
      scenario: requests.scenario,
    },
    ddb: {
      requestsPerFailover: requests.ddb.requestsPerFailover,
      byCommand: requests.ddb.byCommand,
      pollingRequests: requests.ddb.pollingRequests,
    },
    requestRuns: requests.runs,
    scale: { idle, concurrent },
  };
  const json = JSON.stringify(result);
  writeFileSync(join(here, 'results.json'), `${JSON.stringify(result, null, 2)}\n`);
  log('wrote bench/results.json');
  process.stdout.write(`${json}\n`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench: failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
