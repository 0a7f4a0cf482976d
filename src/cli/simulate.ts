// Why: `failoverctl simulate`: build a simulated world from a seed and a scenario, run a failover in it with faults
// on (or, with --no-failover, the world alone), and print its trace and a report (or one JSON object), so any run
// replays byte for byte from one command.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { FaultProfile } from '../../simulator/faults.ts';
import { runWorldSimulation, summaryLine, type WorldSimulationOptions } from '../../simulator/run.ts';
import { parseScenarioText, ScenarioError, type Scenario } from '../../simulator/scenario.ts';
import { DEFAULT_SCENARIO, scenarioByName } from '../../simulator/scenarios/index.ts';
import { loadCrds } from '../crds.ts';
import { addFailoverOptions, failoverRequested, runFailoverCli, type FailoverCliOptions } from './simulate-failover.ts';
import { parseSeed, UsageError } from './usage-error.ts';

export const PROFILES: readonly FaultProfile[] = ['none', 'calm', 'swarm'];

export interface SimulateCliOptions {
  seed: string;
  scenario?: string;
  scenarioFile?: string;
  profile?: string;
  json?: boolean;
}

export function parseProfile(value: string): FaultProfile {
  if (!PROFILES.includes(value as FaultProfile)) throw new UsageError(`--profile must be one of ${PROFILES.join(', ')}, got "${value}"`);
  return value as FaultProfile;
}

/** The scenario the options name: a built-in one, or a JSON/YAML file; bad input is a UsageError. */
export function resolveScenario(opts: Pick<SimulateCliOptions, 'scenario' | 'scenarioFile'>, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): Scenario {
  if (opts.scenario !== undefined && opts.scenarioFile !== undefined) throw new UsageError('use either --scenario NAME or --scenario-file PATH, not both');
  try {
    if (opts.scenarioFile !== undefined) {
      let text: string;
      try {
        text = readFile(opts.scenarioFile);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new UsageError(`cannot read --scenario-file ${opts.scenarioFile}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : ((e as Error).message ?? String(e))}`);
      }
      return parseScenarioText(text, opts.scenarioFile);
    }
    return scenarioByName(opts.scenario ?? DEFAULT_SCENARIO);
  } catch (e) {
    if (e instanceof ScenarioError) throw new UsageError(e.message);
    throw e;
  }
}

/** The run a `simulate` command line asks for (validated), ready for runWorldSimulation. */
export async function simulateOptions(opts: SimulateCliOptions): Promise<WorldSimulationOptions> {
  const seed = parseSeed(opts.seed);
  const profile = parseProfile(opts.profile ?? 'swarm');
  const scenario = resolveScenario(opts);
  return { seed, scenario, profile, crds: await loadCrds() };
}

export function registerSimulate(program: Command, out: (s: string) => void): void {
  addFailoverOptions(program.command('simulate'))
    .description('Run a failover (default: CONSISTENCY, planned, sample scenario, swarm faults) in the simulated world from one seed and print its trace, per-stage timeline, outcome and invariants; --no-failover runs the world alone.')
    .requiredOption('--seed <n>', 'the root seed (a non-negative integer); the same seed replays the same run')
    .option('--scenario <name>', `a built-in scenario (default "${DEFAULT_SCENARIO}")`)
    .option('--scenario-file <path>', 'a scenario file (JSON or YAML) instead of a built-in one')
    .option('--profile <profile>', `the fault profile: ${PROFILES.join(', ')}`, 'swarm')
    .option('--json', 'print one JSON object instead of the trace (a failover: outcome, timeline, invariants, failure, replayHint, traceHash, faultPlan; --no-failover: seed, scenario, virtualDurationMs, eventCount, traceHash, faultPlan)')
    .action(async (opts: SimulateCliOptions & FailoverCliOptions) => {
      if (failoverRequested(opts)) return void (await runFailoverCli(opts, out, { resolveScenario: (o) => resolveScenario(o), parseProfile }));
      const run = await simulateOptions(opts);
      if (opts.json) {
        const r = await runWorldSimulation({ ...run, keepTraceLines: false });
        out(JSON.stringify({ seed: r.seed, scenario: r.scenario, virtualDurationMs: r.virtualDurationMs, eventCount: r.eventCount, traceHash: r.traceHash, faultPlan: r.faultPlan }) + '\n');
        return;
      }
      const r = await runWorldSimulation({ ...run, keepTraceLines: false, traceSink: (line) => out(line + '\n') });
      out(summaryLine(r) + '\n');
    });
}
