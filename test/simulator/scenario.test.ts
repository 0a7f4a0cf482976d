// Why: scenario files are user input; a mistake must be reported with the file, the field and the fix, and the
// generated groups used by property tests and benchmarks must have the sizes they promise.
import { describe, expect, it } from 'vitest';
import { RandomStream } from '../../simulator/prng.ts';
import { generateGroup, parseScenario, parseScenarioText, ScenarioError, scenarioToJson } from '../../simulator/scenario.ts';
import { scenarioByName, SCENARIO_NAMES } from '../../simulator/scenarios/index.ts';

function sample(): any {
  return scenarioToJson(scenarioByName('sample'));
}

function errorOf(value: unknown): string {
  try {
    parseScenario(value, 'scenario.json');
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return (e as Error).message;
  }
  throw new Error('expected a ScenarioError');
}

describe('scenarios', () => {
  it('scenario: every built-in scenario reads back unchanged through parseScenario', () => {
    expect(SCENARIO_NAMES).toEqual(['sample', 'reference', 'three-clusters']);
    for (const name of SCENARIO_NAMES) {
      const s = scenarioByName(name);
      expect(parseScenario(scenarioToJson(s), name)).toEqual(s);
    }
  });

  it('scenario: an unknown built-in name lists the known ones', () => {
    expect(() => scenarioByName('nope')).toThrow(/unknown scenario "nope"; the built-in scenarios are sample, reference, three-clusters/);
  });

  it('scenario: errors name the source, the field and the fix', () => {
    const bad = sample();
    bad.groups[0].spec.workloads[2].kind = 'Pod';
    expect(errorOf(bad)).toBe('scenario.json: groups[0].spec.workloads[2].kind: must be one of Deployment, StatefulSet, CronJob (got "Pod")');

    const cases: Array<[(s: any) => void, RegExp]> = [
      [(s) => (s.primary = 'south'), /^scenario\.json: primary: must be one of the clusters \(east, west\) \(got "south"\)$/],
      [(s) => (s.clusters = ['east']), /clusters: must have at least 2 entries/],
      [(s) => (s.clusters = ['east', 'east']), /clusters\[1\]: duplicates clusters\[0\]/],
      [(s) => (s.clusters[1] = 'West_1'), /clusters\[1\]: must be a DNS label/],
      [(s) => (s.groups[0].replicas.web = -1), /groups\[0\]\.replicas\.web: must be from 0 to 100 \(got -1\)/],
      [(s) => (s.groups[0].replicas.web = 1.5), /groups\[0\]\.replicas\.web: must be a whole number/],
      [(s) => (s.groups[0].replicas['nightly-report'] = 1), /replicas\.nightly-report: is a CronJob; CronJobs have no replicas/],
      [(s) => (s.groups[0].replicas.ghost = 1), /groups\[0\]\.replicas\.ghost: unknown field; the known fields are web, db, worker, nightly-report/],
      [(s) => (s.groups[0].spec.workloads[1].volumeReplications = ['web-data']), /volumeReplications\[0\]: is already used by workloads\[0\] \(web\)/],
      [(s) => (s.groups[0].spec.workloads[2].name = 'web'), /workloads\[2\]\.name: duplicates workloads\[0\]\.name/],
      [(s) => (s.groups[0].spec.timeouts.heartbeatMs = 'soon'), /timeouts\.heartbeatMs: must be milliseconds or a duration such as "30s"/],
      [(s) => (s.groups[0].spec.heartbeatIntervalMs = '2m'), /timeouts\.heartbeatMs: must be longer than heartbeatIntervalMs \(120000\)/],
      [(s) => (s.groups[0].spec.networkResources[0].kind = 'Service'), /networkResources\[0\]\.kind: must be one of VirtualService, Ingress \(got "Service"\)/],
      [(s) => (s.groups[0].spec.fluxResources[0].triggerReconcile = 'yes'), /fluxResources\[0\]\.triggerReconcile: must be true or false/],
      [(s) => (s.groups[0].schedules['nightly-report'] = 'every night'), /schedules\.nightly-report: must be a cron schedule with five fields/],
      [(s) => (s.groups[0].schedules.web = '* * * * *'), /schedules\.web: names a workload that is not a CronJob/],
      [(s) => (s.groups.push(JSON.parse(JSON.stringify(s.groups[0])))), /groups\[1\]\.spec: duplicates the group shop\/storefront of groups\[0\]/],
      [(s) => (s.colour = 'blue'), /^scenario\.json: colour: unknown field; the known fields are name, description, clusters, primary, groups$/],
    ];
    for (const [mutate, expected] of cases) {
      const s = sample();
      mutate(s);
      expect(errorOf(s)).toMatch(expected);
    }
    expect(errorOf(42)).toBe('scenario.json: (top level): must be an object (got 42)');
  });

  it('scenario: defaults fill what a minimal file leaves out, and durations may be strings', () => {
    const s = parseScenarioText(
      ['name: tiny', 'clusters: [a, b]', 'groups:', '  - spec:', '      name: app', '      namespace: apps', '      timeouts: { heartbeatMs: 2m }', '      workloads:', '        - { kind: Deployment, name: api }'].join('\n'),
      'tiny.yaml',
    );
    expect(s.primary).toBe('a');
    expect(s.groups[0].replicas).toEqual({ api: 1 });
    expect(s.groups[0].spec).toMatchObject({ operatorID: 'failover-engine', suspended: false, networkResources: [], fluxResources: [] });
    expect(s.groups[0].spec.timeouts.heartbeatMs).toBe(120_000);
    expect(() => parseScenarioText('{ name: [', 'broken.yaml')).toThrow(/^broken\.yaml: not valid JSON or YAML: /);
    expect(() => parseScenarioText('', 'empty.yaml')).toThrow(/^empty\.yaml: the file is empty/);
  });

  it('scenario: generateGroup builds the sizes it is asked for (workloads=1..50)', () => {
    const reference = generateGroup({ name: 'ref', namespace: 'bench', workloads: 20, volumes: 20, network: 4, flux: 2 });
    expect(reference.spec.workloads).toHaveLength(20);
    expect(reference.spec.workloads.flatMap((w) => w.volumeReplications)).toHaveLength(20);
    expect(reference.spec.workloads.filter((w) => w.kind === 'CronJob').every((w) => w.volumeReplications.length === 0 && reference.replicas[w.name] === undefined)).toBe(true);
    const rnd = new RandomStream('gen', 99);
    for (const n of [1, 7, 23, 50]) {
      const g = generateGroup({ name: `g${n}`, namespace: 'prop', workloads: n, volumesPerWorkload: 2, network: 3, flux: 2, rnd });
      expect(g.spec.workloads).toHaveLength(n);
      expect(g.spec.networkResources).toHaveLength(3);
      // Whatever was generated passes the same validation as a user's file.
      const parsed = parseScenario({ name: 'gen', clusters: ['a', 'b'], primary: 'a', groups: [g] }, 'generated');
      expect(parsed.groups[0]).toEqual(g);
    }
    expect(() => generateGroup({ name: 'x', namespace: 'y', workloads: 0 })).toThrow(/workloads must be a whole number from 1 to 200/);
  });
});
