// Why: `failoverctl world serve` builds the simulated world from a seed and serves it to real clients: each
// cluster's Kubernetes API on its own loopback port (with a kubeconfig, one context per cluster, so kubectl
// works), dynalite for the global state, and the simulated cloud for VM failover (CloudStack, the Volume Daemon,
// the appliance; world-serve-cloud.ts), and one daemon per cluster running the scenario's groups
// (served-daemons.ts; --no-daemons leaves them out), until Ctrl-C. Virtual time starts at the wall time and
// follows the wall clock at --speed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { createDynamoDBClient } from '../../drivers/globalstate/globalstate.dynamodb.ts';
import { ensureTable } from '../../drivers/globalstate/dynamodb.table.ts';
import type { FaultProfile } from '../../simulator/faults.ts';
import { ScenarioError } from '../../simulator/scenario.ts';
import { DEFAULT_SCENARIO, scenarioByName } from '../../simulator/scenarios/index.ts';
import { serveKubeApi, type KubeApiServer } from '../../simulator/serve/kube-api.ts';
import { simKubeConfigYaml } from '../../simulator/serve/sim-kubeconfig.ts';
import { SimWorld } from '../../simulator/world.ts';
import { loadCrds } from '../crds.ts';
import { startDynalite } from '../dynalite.ts';
import { runRealtime, type RealtimeDriver } from '../sim-realtime.ts';
import { parseSeed, UsageError } from './usage-error.ts';
import { VM_CLOUD_SERVICES } from './world-serve-cloud.ts';
import { startServedDaemons, type ServedDaemons } from './served-daemons.ts';

export interface WorldServeOptions {
  seed: number;
  scenario: string;
  /** Where the kubeconfig is written. Default ./.sim/kubeconfig. */
  kubeconfigOut: string;
  /** Virtual time per real time. Default 1. */
  speed: number;
  profile: FaultProfile;
  /** The first Kubernetes API port (one per cluster, consecutive); 0 picks free ports. */
  kubePortBase: number;
  /** The global-state table created in dynalite. */
  table: string;
  /**
   * Virtual time at the start (Unix ms). Default: the wall time, and the clock then catches up with the time the
   * services took to start, so the served objects' timestamps agree with the wall clock's (at speed 1).
   */
  epochMs?: number;
}

export const DEFAULT_KUBECONFIG_OUT = '.sim/kubeconfig';
export const DEFAULT_TABLE = 'failover-engine';

/** What one served service contributes: the lines printed at start, and how to stop it. */
export interface ServedService {
  name: string;
  lines: string[];
  /** Where clients reach it: the kubeconfig path (kubernetes), the URL (dynamodb). */
  endpoint?: string;
  close(): Promise<void>;
}

export interface WorldServeContext {
  world: SimWorld;
  options: WorldServeOptions;
}

/**
 * Starts one kind of service over the world. The list below is the extension point: CloudStack and the Volume
 * Daemon add their starters to WORLD_SERVICES, and their endpoint lines are printed with the others.
 */
export type WorldServiceStarter = (ctx: WorldServeContext) => Promise<ServedService[]>;

/** Each cluster's Kubernetes API, and the kubeconfig naming them. */
export const kubernetesService: WorldServiceStarter = async ({ world, options }) => {
  const servers: KubeApiServer[] = [];
  try {
    let i = 0;
    for (const [name, cluster] of world.clusters) {
      const port = options.kubePortBase > 0 ? options.kubePortBase + i : 0;
      servers.push(await serveKubeApi({ kernel: world.kernel, store: cluster.store, port, caller: `client/${name}` }));
      i++;
    }
  } catch (e) {
    await Promise.all(servers.map((s) => s.close()));
    throw e;
  }
  const path = resolve(options.kubeconfigOut);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, simKubeConfigYaml(servers.map((s) => ({ name: s.cluster, url: s.url }))), { mode: 0o600 });
  const lines = servers.map((s) => `kubernetes ${s.cluster}: ${s.url} (kubectl --kubeconfig ${path} --context ${s.cluster})`);
  lines.push(`kubeconfig: ${path} (export KUBECONFIG=${path})`);
  return [{ name: 'kubernetes', lines, endpoint: path, close: async () => void (await Promise.all(servers.map((s) => s.close()))) }];
};

/** dynalite, with the global-state table created. */
export const dynamoDbService: WorldServiceStarter = async ({ options }) => {
  const db = await startDynalite();
  const client = createDynamoDBClient({ endpoint: db.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'dynalite', secretAccessKey: 'dynalite' } });
  try {
    await ensureTable(client, options.table, { waitMs: 10_000, pollMs: 50 });
  } catch (e) {
    await db.stop();
    throw e;
  } finally {
    client.destroy();
  }
  return [
    {
      name: 'dynamodb',
      endpoint: db.endpoint,
      lines: [`dynamodb: ${db.endpoint} (dynalite; table ${options.table}, region us-east-1, any credentials)`],
      close: () => db.stop(),
    },
  ];
};

/** The services `world serve` starts, in order: Kubernetes, DynamoDB, then CloudStack, the Volume Daemon and the appliance. */
export const WORLD_SERVICES: WorldServiceStarter[] = [kubernetesService, dynamoDbService, ...VM_CLOUD_SERVICES];

export interface ServedWorld {
  world: SimWorld;
  services: ServedService[];
  clock: RealtimeDriver;
  /** Everything `world serve` prints at start. */
  lines: string[];
  /** Resolves if virtual time stops on an error (an invariant violated). */
  failed: Promise<unknown>;
  stop(): Promise<void>;
}

/** Builds the world, starts every service and the real-time clock. */
export async function startWorldServe(options: WorldServeOptions, starters: WorldServiceStarter[] = WORLD_SERVICES): Promise<ServedWorld> {
  let scenario;
  try {
    scenario = scenarioByName(options.scenario);
  } catch (e) {
    if (e instanceof ScenarioError) throw new UsageError(e.message);
    throw e;
  }
  const wallStart = options.epochMs === undefined;
  const world = SimWorld.build({ seed: options.seed, scenario, crds: loadCrds(), profile: options.profile, epochMs: options.epochMs ?? Date.now() });
  const services: ServedService[] = [];
  const closeAll = async () => {
    for (const s of [...services].reverse()) await s.close().catch(() => undefined);
  };
  try {
    for (const start of starters) services.push(...(await start({ world, options })));
  } catch (e) {
    await closeAll();
    throw e;
  }
  let fail!: (e: unknown) => void;
  const failed = new Promise<unknown>((r) => (fail = r));
  const clock = runRealtime(world.kernel, { speed: options.speed, onError: (e) => fail(e), ...(wallStart ? { startAtMs: Date.now() } : {}) });
  const lines = [
    `world: seed=${options.seed} scenario=${scenario.name} profile=${options.profile} speed=${options.speed}x clusters=${[...world.clusters.keys()].join(',')}`,
    ...services.flatMap((s) => s.lines),
  ];
  let stopping: Promise<void> | undefined;
  return {
    world,
    services,
    clock,
    lines,
    failed,
    stop() {
      stopping ??= (async () => {
        await clock.stop();
        await closeAll();
      })();
      return stopping;
    },
  };
}

function parseSpeed(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v.trim()) || !(n > 0) || n > 1_000_000) throw new UsageError(`--speed must be a positive number (virtual seconds per real second, at most 1000000), got "${v}"`);
  return n;
}

function parseProfile(v: string): FaultProfile {
  if (v === 'none' || v === 'calm' || v === 'swarm') return v;
  throw new UsageError(`--profile must be none, calm or swarm, got "${v}"`);
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65_535) throw new UsageError(`--kube-port must be a TCP port (0 for free ports), got "${v}"`);
  return n;
}

/** Resolves with why to stop: SIGINT, SIGTERM, or an error of the world or a daemon. */
export function stopSignal(...failures: Array<Promise<unknown>>): Promise<string> {
  return new Promise<string>((resolveSignal) => {
    const finish = (why: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolveSignal(why);
    };
    const onInt = () => finish('SIGINT');
    const onTerm = () => finish('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    const error = (e: unknown) => finish(`error: ${e instanceof Error ? e.message : String(e)}`);
    for (const f of failures) void f.then(error, error);
  });
}

export function registerWorldServe(program: Command, out: (s: string) => void): void {
  const world = program.commands.find((c) => c.name() === 'world') ?? program.command('world').description('The simulated world.');
  world
    .command('serve')
    .description('Serve the simulated world to real clients: a Kubernetes API per cluster (with a kubeconfig for kubectl), DynamoDB (dynalite), CloudStack (with its API and secret keys), the Volume Daemon and the replication appliance API, and one failoverctl daemon per cluster running the scenario\'s FailoverGroups, until stopped.')
    .option('--seed <n>', 'the root seed (a non-negative integer)', '1')
    .option('--scenario <name>', 'the built-in scenario', DEFAULT_SCENARIO)
    .option('--kubeconfig-out <path>', 'where to write the kubeconfig', DEFAULT_KUBECONFIG_OUT)
    .option('--speed <x>', 'virtual time per real time (2 runs the world twice as fast)', '1')
    .option('--profile <profile>', 'fault profile: none, calm or swarm', 'none')
    .option('--kube-port <n>', 'the first Kubernetes API port, one per cluster (0: free ports)', '0')
    .option('--table <name>', 'the global-state table to create in dynalite', DEFAULT_TABLE)
    .option('--no-daemons', 'serve the world without the daemons and without FailoverGroups (run your own failoverctl daemon against it)')
    .action(async (o: { seed: string; scenario: string; kubeconfigOut: string; speed: string; profile: string; kubePort: string; table: string; daemons: boolean }) => {
      const options: WorldServeOptions = {
        seed: parseSeed(o.seed),
        scenario: o.scenario,
        kubeconfigOut: o.kubeconfigOut,
        speed: parseSpeed(o.speed),
        profile: parseProfile(o.profile),
        kubePortBase: parsePort(o.kubePort),
        table: o.table,
      };
      const served = await startWorldServe(options);
      let daemons: ServedDaemons | undefined;
      try {
        if (o.daemons !== false) daemons = startServedDaemons(served);
      } catch (e) {
        await served.stop();
        throw e;
      }
      for (const line of [...served.lines, ...(daemons?.lines ?? [])]) out(`${line}\n`);
      out('serving; stop with Ctrl-C\n');
      const signal = await stopSignal(served.failed, ...(daemons ? [daemons.failed] : []));
      await daemons?.stop();
      await served.stop();
      out(`stopped (${signal}) at virtual T+${served.world.kernel.elapsed()}ms\n`);
      if (signal.startsWith('error:')) process.exitCode = 1;
    });
}
