// Why: `npm start` (`failoverctl start`) shows the product as it ships: the simulated clusters served over the
// Kubernetes API, dynalite, and one `failoverctl daemon` per cluster (served-daemons.ts). It creates a Failover
// through the Kubernetes API, prints its progress stage by stage as the daemons write it into the Failover objects'
// status, then the outcome and a command that replays the same failover in the deterministic simulator.
// `--keep` leaves everything up for kubectl.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { stringify } from 'yaml';
import { KubernetesCluster } from '../../drivers/cluster/cluster.kubernetes.ts';
import type { ClusterPort, KubeObject } from '../../drivers/cluster/cluster.port.ts';
import { loadKubeConfigFile } from '../../drivers/cluster/kubeconfig.ts';
import { FailoverGroupKind, FailoverKind } from '../daemon/api.ts';
import { silentLogger } from '../log.ts';
import { sampleFailover, servedEndpoints, startServedDaemons, type ServedDaemons } from './served-daemons.ts';
import { UsageError } from './usage-error.ts';
import { DEFAULT_KUBECONFIG_OUT, DEFAULT_TABLE, startWorldServe, stopSignal, type ServedWorld } from './world-serve.ts';

export interface StartOptions {
  /** Stay up after the failover (for kubectl) until Ctrl-C. */
  keep: boolean;
  /** Virtual time per real time of the served world (the daemons run on the world's clock). */
  speed: number;
  kubeconfigOut: string;
  /** The daemons' logger; default: a log file per cluster next to the kubeconfig. */
  log?: Logger;
  /** Real milliseconds between reads of the Failover objects. */
  pollMs?: number;
  /** Real milliseconds after which a failover that has not ended counts as failed. */
  timeoutMs?: number;
  /** Runs on the served world before the daemons start (tests set up a world in which the failover must fail). */
  prepare?: (world: ServedWorld['world']) => void;
}

export const START_SEED = 1;
export const START_SCENARIO = 'sample';
/**
 * The served world runs this much faster than real time, so the failover takes seconds, not a minute. With --keep it
 * runs at 1 (unless --speed says otherwise), so the world's clock stays the wall clock for kubectl (ages, watches).
 */
export const START_SPEED = 10;
const DEFAULT_TIMEOUT_MS = 10 * 60_000;
/** Real milliseconds between re-reads of the Failover objects, besides the watch. */
const REREAD_MS = 2_000;

type Status = { status?: string; phase?: string; role?: string; message?: string; progression?: { stage?: string; task?: string }; metrics?: { totalDowntimeSeconds?: number; totalFailoverTimeSeconds?: number } };

const statusOf = (o: KubeObject | undefined): Status => (o?.status ?? {}) as Status;
const ended = (s: Status) => s.status === 'SUCCESS' || s.status === 'FAILED';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function utcStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15).toLowerCase();
}

/** Polls `f` every `pollMs` until it returns a value, or throws after `timeoutMs`. */
async function until<T>(what: string, f: () => Promise<T | undefined>, pollMs: number, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() >= end) throw new WaitTimeout(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}`);
    await sleep(pollMs);
  }
}

class WaitTimeout extends Error {}

/** until(), resolving undefined instead of throwing when the time runs out. */
async function untilOrTimeout<T>(what: string, f: () => Promise<T | undefined>, pollMs: number, timeoutMs: number): Promise<T | undefined> {
  try {
    return await until(what, f, pollMs, timeoutMs);
  } catch (e) {
    if (e instanceof WaitTimeout) return undefined;
    throw e;
  }
}

/** Runs `start`; returns the exit code (0: the failover succeeded on both clusters). */
export async function runStart(out: (s: string) => void, o: StartOptions): Promise<number> {
  const pollMs = o.pollMs ?? 100;
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const served: ServedWorld = await startWorldServe({ seed: START_SEED, scenario: START_SCENARIO, kubeconfigOut: o.kubeconfigOut, speed: o.speed, profile: 'none', kubePortBase: 0, table: DEFAULT_TABLE });
  let daemons: ServedDaemons | undefined;
  try {
    o.prepare?.(served.world);
    daemons = startServedDaemons(served, o.log ? { log: o.log } : {});
    const { kubeconfig } = servedEndpoints(served);
    const clock = served.clock.clock;
    const world = served.world;
    out(`world: simulated clusters ${world.scenario.clusters.join(' and ')} served over the Kubernetes API (seed ${START_SEED}, scenario ${START_SCENARIO}, ${o.speed}x real time); DynamoDB on dynalite\n`);
    out(`${daemons.lines[0]}\n`);
    const watchLine = `watch: kubectl --kubeconfig ${kubeconfig} --context ${world.scenario.clusters.find((c) => c !== world.scenario.primary)} get failovers -A -w`;
    if (o.keep) out(`kubeconfig: ${kubeconfig}\n${watchLine}   (the failover below can be watched live)\n`);
    const loaded = loadKubeConfigFile(kubeconfig);
    const api = (c: string): ClusterPort => {
      return new KubernetesCluster({ kubeConfig: loaded.kubeConfig, context: c, name: c, log: silentLogger, qps: 0 });
    };
    const clusters = Object.fromEntries(world.scenario.clusters.map((c) => [c, api(c)]));
    const sample = sampleFailover(served, `sample-failover-${utcStamp(clock.now())}`);
    const group = world.scenario.groups[0].spec;
    const ref = { ...FailoverKind, namespace: sample.object.metadata.namespace!, name: sample.object.metadata.name };
    const guard = <T>(p: Promise<T>) => Promise.race([p, daemons!.failed, served.failed.then((e) => Promise.reject(e instanceof Error ? e : new Error(String(e))))]);

    // The group must be registered (by the cluster that runs it) before a Failover of it can be validated.
    await guard(
      until(
        `FailoverGroup ${group.namespace}/${group.name} to be registered by ${sample.source}`,
        async () => {
          const g = await clusters[sample.source].get({ ...FailoverGroupKind, namespace: group.namespace, name: group.name });
          const registered = (g?.status?.conditions as Array<{ type?: string; status?: string }> | undefined)?.some((c) => c.type === 'Registered' && c.status === 'True');
          return registered ? true : undefined;
        },
        pollMs,
        timeoutMs,
      ),
    );
    out(`group: FailoverGroup ${group.namespace}/${group.name} registered in global state by ${sample.source}; both daemons heartbeating\n`);

    // Every status the daemons write reaches us through a watch of each side's Failovers (a slow re-read covers a
    // dropped watch); a line is printed whenever a side enters a stage, and once when it ends.
    const last = new Map<string, string>();
    const sides = [sample.source, sample.target];
    const statuses: Record<string, Status> = {};
    let t0 = 0;
    const report = (c: string, obj: KubeObject | undefined) => {
      if (!obj || obj.metadata.name !== ref.name) return;
      const s = statusOf(obj);
      statuses[c] = s;
      const stage = s.progression?.stage;
      // A line when a side enters a stage and when it ends; a Failover not accepted (yet) shows its phase and message.
      const key = stage ? `${stage}|${ended(s) ? s.status : ''}` : s.phase ? `${s.phase}|${s.message ?? ''}` : undefined;
      if (key === undefined || last.get(c) === key) return;
      last.set(c, key);
      const what = ended(s) ? `${s.status} (${s.phase})${stage ? '' : `: ${s.message ?? ''}`}` : stage ? (s.progression?.task ?? '') : `${s.phase}: ${s.message ?? ''}`;
      out(`  ${pad(`T+${secs(clock.now() - t0)}`, 9)}  ${pad(`${c} ${s.role ?? ''}`.trim(), 12)}  ${pad(stage ?? '-', 26)}  ${what}\n`);
    };
    const watches = await Promise.all(sides.map((c) => clusters[c].watch(FailoverKind, { namespace: ref.namespace }, (e) => report(c, e.object))));
    let final: Record<string, Status> | undefined;
    try {
      await clusters[sample.source].create(sample.object);
      t0 = clock.now();
      out(`failover: created Failover ${ref.namespace}/${ref.name} in ${sample.source} through the Kubernetes API: ${group.namespace}/${group.name} ${sample.source} -> ${sample.target} (CONSISTENCY, planned)\n`);
      out(`  ${pad('Time', 9)}  ${pad('Cluster', 12)}  ${pad('Stage', 26)}  Task (world time since the Failover was created)\n`);
      let reread = Date.now();
      final = await guard(
        untilOrTimeout(
          `Failover ${ref.namespace}/${ref.name} to end on ${sides.join(' and ')}`,
          async () => {
            if (Date.now() - reread >= REREAD_MS) {
              reread = Date.now();
              for (const c of sides) report(c, await clusters[c].get(ref));
            }
            // A Failover the source refused outright (phase Invalid) is never copied to the target.
            const refused = statuses[sample.source]?.phase === 'Invalid';
            return sides.every((c) => statuses[c] && ended(statuses[c])) || refused ? { ...statuses } : undefined;
          },
          pollMs,
          timeoutMs,
        ),
      );
    } finally {
      for (const w of watches) w.stop();
    }
    if (!final) {
      out(`Outcome: FAILED: the Failover did not end within ${Math.round(timeoutMs / 1000)}s (logs: ${daemons.lines[0].replace(/^.*logs in /, '').replace(/\)$/, '')})\n`);
      return 1;
    }
    // The source says why a failover failed (it validates and decides); the target reports a success.
    const ok = sides.every((c) => final![c]?.status === 'SUCCESS');
    const lead = (ok ? final[sample.target] : final[sample.source]) ?? final[sample.target] ?? {};
    const m = lead.metrics ?? {};
    out(
      `Outcome: ${ok ? 'SUCCESS' : 'FAILED'} (${sides.map((c) => `${c} ${final[c]?.status ?? 'no Failover'}`).join(', ')}): ${lead.message ?? ''}; downtime ${(m.totalDowntimeSeconds ?? 0).toFixed(1)}s, duration ${(m.totalFailoverTimeSeconds ?? 0).toFixed(1)}s\n`,
    );
    out(`Replay: npx failoverctl simulate --seed ${START_SEED} --scenario ${START_SCENARIO} --mode CONSISTENCY --type planned --profile none   (the same scenario and failover on the deterministic simulator, which replays byte for byte; this run on the wall clock does not)\n`);
    if (o.keep) {
      // The group now runs on the target: the next failover goes back.
      const back = sampleFailover(served, `sample-failback-${utcStamp(clock.now())}`, { from: sample.target, to: sample.source });
      const manifest = join(dirname(kubeconfig), 'failback.yaml');
      writeFileSync(manifest, stringify(back.object));
      out(`kubeconfig: ${kubeconfig}\n`);
      out(`${watchLine}\n`);
      out(`fail back: kubectl --kubeconfig ${kubeconfig} --context ${sample.target} apply -f ${manifest}   (a new failover needs a new metadata.name)\n`);
      out('serving; stop with Ctrl-C\n');
      const signal = await stopSignal(served.failed, daemons.failed);
      out(`stopped (${signal})\n`);
    }
    return ok ? 0 : 1;
  } finally {
    await daemons?.stop();
    await served.stop();
  }
}

function parseSpeed(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v.trim()) || !(n > 0) || n > 100) throw new UsageError(`--speed must be a positive number of at most 100 (virtual seconds per real second), got "${v}"`);
  return n;
}

export function registerStart(program: Command, out: (s: string) => void): void {
  program
    .command('start')
    .description('The product on the embedded default: simulated clusters served over the Kubernetes API, DynamoDB (dynalite), one failoverctl daemon per cluster; creates a Failover through the API and prints its progress, outcome and replay command.')
    .option('--keep', 'stay up after the failover (kubeconfig and a kubectl watch line are printed) until Ctrl-C')
    .option('--speed <x>', `virtual time per real time of the served world (default ${START_SPEED}, or 1 with --keep)`)
    .option('--kubeconfig-out <path>', 'where to write the kubeconfig (the daemons\' logs go next to it)', DEFAULT_KUBECONFIG_OUT)
    .action(async (o: { keep?: boolean; speed?: string; kubeconfigOut: string }) => {
      const keep = o.keep === true;
      const speed = o.speed !== undefined ? parseSpeed(o.speed) : keep ? 1 : START_SPEED;
      const code = await runStart(out, { keep, speed, kubeconfigOut: o.kubeconfigOut });
      if (code !== 0) process.exitCode = code;
    });
}
