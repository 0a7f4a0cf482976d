// Why: the built-in scenarios by name, for `failoverctl simulate --scenario NAME`, tests and benchmarks. Each is
// validated like a user's scenario file before it is handed out.
import { parseScenario, ScenarioError, type Scenario } from '../scenario.ts';
import { referenceScenario } from './reference.ts';
import { sampleScenario } from './sample.ts';
import { threeClustersScenario } from './three-clusters.ts';

const BUILT_IN: readonly Scenario[] = [sampleScenario, referenceScenario, threeClustersScenario];

/** The names `scenarioByName` knows, the default first. */
export const SCENARIO_NAMES: readonly string[] = BUILT_IN.map((s) => s.name);
export const DEFAULT_SCENARIO = 'sample';

/** A fresh, validated copy of a built-in scenario; an unknown name lists the known ones. */
export function scenarioByName(name: string): Scenario {
  const found = BUILT_IN.find((s) => s.name === name);
  if (!found) throw new ScenarioError(`unknown scenario "${name}"; the built-in scenarios are ${SCENARIO_NAMES.join(', ')} (or pass --scenario-file PATH)`, name, 'scenario');
  return parseScenario(JSON.parse(JSON.stringify(found)), `scenario ${name}`);
}
