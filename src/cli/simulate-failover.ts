// Why: `failoverctl simulate` runs a failover (unless --no-failover) in the simulated world (the operators, the
// nemesis, the invariants) and prints its per-stage timeline, outcome and replay command. Every run replays byte for
// byte from its printed command.
import type { Command } from 'commander';
import type { FaultProfile } from '../../simulator/faults.ts';
import { GENERATED_SCENARIO, resolveRunScenario, runSimulation, SimulationOptionsError, type ApiServerRestart, type CrashPoint, type SimulationResult, type StallPoint } from '../../simulator/failover-run.ts';
import type { Scenario } from '../../simulator/scenario.ts';
import type { FailoverMode, FailoverType } from '../../machines/failover/failover.types.ts';
import { loadCrds } from '../crds.ts';
import { failoverJson, formatOutcome, formatTimeline } from './failover-report.ts';
import { parseSeed, UsageError } from './usage-error.ts';

export interface FailoverCliOptions {
  seed: string;
  scenario?: string;
  scenarioFile?: string;
  profile?: string;
  json?: boolean;
  /** `--failover` sets it true (the default anyway), `--no-failover` false (the world alone). */
  failover?: boolean;
  mode?: string;
  type?: string;
  force?: boolean;
  source?: string;
  target?: string;
  crashAt?: string[];
  stall?: string[];
  apiserverRestart?: string[];
  trigger?: string;
  /** `--no-trace` sets it false. */
  trace?: boolean;
}

const MODES: readonly FailoverMode[] = ['CONSISTENCY', 'UPTIME'];
const TYPES: readonly FailoverType[] = ['planned', 'unplanned'];

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Adds the failover options to the `simulate` command. */
export function addFailoverOptions(cmd: Command): Command {
  return cmd
    .option('--failover', 'run a failover of the scenario\'s first group (the default)')
    .option('--no-failover', 'run the simulated world alone, without a failover (world trace and summary only)')
    .option('--mode <mode>', `the failover mode: ${MODES.join(' or ')} (default CONSISTENCY)`)
    .option('--type <type>', `the failover type: ${TYPES.join(' or ')} (default planned)`)
    .option('--force', 'skip the advisory safety checks (suspended group, target health)')
    .option('--trigger <who>', 'who starts the failover: user (a Failover created through the API) or auto (the source site is dead; the target\'s daemon must start it)')
    .option('--source <cluster>', 'the cluster to move away from (default: the scenario\'s primary)')
    .option('--target <cluster>', 'the cluster to move to (default: the first other cluster)')
    .option('--crash-at <cluster:transition:downMs>', 'crash that operator right after its Nth transition, restart it downMs later (repeatable)', collect)
    .option('--stall <cluster:atMs:durationMs>', 'freeze that operator at atMs for durationMs (repeatable)', collect)
    .option('--apiserver-restart <cluster:atMs:downMs>', 'restart that API server at atMs, down for downMs, back with its watch history compacted (repeatable; replaces the ones the swarm draws)', collect)
    .option('--no-trace', 'with a failover: print only the timeline and outcome, not the trace');
}

/**
 * Whether `simulate` runs a failover: yes unless `--no-failover` is given (then the world runs alone). A failover
 * option next to `--no-failover` is a contradiction, reported as a usage error naming both.
 */
export function failoverRequested(o: FailoverCliOptions): boolean {
  if (o.failover !== false) return true;
  const named: Array<[string, unknown]> = [['--mode', o.mode], ['--type', o.type], ['--force', o.force], ['--source', o.source], ['--target', o.target], ['--crash-at', o.crashAt?.length], ['--stall', o.stall?.length], ['--trigger', o.trigger], ['--apiserver-restart', o.apiserverRestart?.length]];
  const given = named.filter(([, v]) => Boolean(v)).map(([n]) => n);
  if (given.length > 0) throw new UsageError(`--no-failover runs the world alone, so ${given.join(', ')} cannot apply; drop --no-failover to run a failover, or drop ${given.join(', ')}`);
  if (o.trace === false) throw new UsageError('--no-trace applies to a failover run only; drop --no-failover or --no-trace');
  return false;
}

function triple(flag: string, value: string, names: [string, string, string]): [string, number, number] {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?):(\d+):(\d+)$/.exec(value);
  if (!m) throw new UsageError(`${flag} must be ${names.join(':')} (a cluster name and two whole numbers), got "${value}"`);
  return [m[1], Number(m[3]), Number(m[4])];
}

export function parseCrashAt(value: string): CrashPoint {
  const [cluster, atTransition, downMs] = triple('--crash-at', value, ['cluster', 'transition', 'downMs']);
  if (atTransition < 1) throw new UsageError(`--crash-at: the transition counts from 1, got ${atTransition} in "${value}"`);
  return { cluster, atTransition, downMs };
}

export function parseStall(value: string): StallPoint {
  const [cluster, atMs, durationMs] = triple('--stall', value, ['cluster', 'atMs', 'durationMs']);
  if (durationMs < 1) throw new UsageError(`--stall: durationMs must be at least 1, got ${durationMs} in "${value}"`);
  return { cluster, atMs, durationMs };
}

export function parseApiServerRestart(value: string): ApiServerRestart {
  const [cluster, atMs, downMs] = triple('--apiserver-restart', value, ['cluster', 'atMs', 'downMs']);
  if (downMs < 1) throw new UsageError(`--apiserver-restart: downMs must be at least 1, got ${downMs} in "${value}"`);
  return { cluster, atMs, downMs };
}

export interface FailoverCliDeps {
  /** Resolves --scenario/--scenario-file (the world CLI's resolver: built-in names and files). */
  resolveScenario(o: { scenario?: string; scenarioFile?: string }): Scenario;
  parseProfile(value: string): FaultProfile;
}

/** Runs the failover a command line asks for and prints it; sets exit code 1 when the run found a failure. */
export async function runFailoverCli(o: FailoverCliOptions, out: (s: string) => void, deps: FailoverCliDeps): Promise<SimulationResult> {
  const seed = parseSeed(o.seed);
  const profile = deps.parseProfile(o.profile ?? 'swarm');
  const mode = (o.mode ?? 'CONSISTENCY').toUpperCase() as FailoverMode;
  if (!MODES.includes(mode)) throw new UsageError(`--mode must be ${MODES.join(' or ')}, got "${o.mode}"`);
  const type = (o.type ?? 'planned').toLowerCase() as FailoverType;
  if (!TYPES.includes(type)) throw new UsageError(`--type must be ${TYPES.join(' or ')}, got "${o.type}"`);
  let scenario: Scenario | string;
  try {
    scenario = o.scenario !== undefined && o.scenarioFile === undefined && GENERATED_SCENARIO.test(o.scenario) ? resolveRunScenario(o.scenario, seed) : deps.resolveScenario(o);
  } catch (e) {
    if (e instanceof SimulationOptionsError) throw new UsageError(e.message);
    throw e;
  }
  const crashPoints = (o.crashAt ?? []).map(parseCrashAt);
  const stallPoints = (o.stall ?? []).map(parseStall);
  const apiServerRestarts = o.apiserverRestart?.map(parseApiServerRestart);
  if (o.trigger !== undefined && o.trigger !== 'user' && o.trigger !== 'auto') throw new UsageError(`--trigger must be user or auto, got "${o.trigger}"`);
  const printTrace = !o.json && o.trace !== false;
  let r: SimulationResult;
  try {
    r = await runSimulation({
      seed,
      scenario,
      profile,
      failover: { mode, type, force: Boolean(o.force), ...(o.trigger === 'auto' ? { trigger: 'auto' as const } : {}), ...(o.source ? { source: o.source } : {}), ...(o.target ? { target: o.target } : {}) },
      crds: loadCrds(),
      crashPoints,
      stallPoints,
      ...(apiServerRestarts ? { apiServerRestarts } : {}),
      keepTraceLines: false,
      ...(printTrace ? { traceSink: (line: string) => out(line + '\n') } : {}),
    });
  } catch (e) {
    if (e instanceof SimulationOptionsError) throw new UsageError(e.message);
    throw e;
  }
  if (o.json) out(JSON.stringify(failoverJson(r)) + '\n');
  else {
    for (const line of [...formatTimeline(r), ...formatOutcome(r)]) out(line + '\n');
    out(`summary seed=${r.seed} scenario=${r.scenario} virtualDurationMs=${r.virtualDurationMs} events=${r.eventCount} traceHash=${r.traceHash}\n`);
  }
  if (r.failure) process.exitCode = 1;
  return r;
}
