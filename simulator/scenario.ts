// Why: a scenario is the shape of a simulated world (which clusters, which one is primary, which failover groups
// with which workloads, volumes, traffic and Flux objects). Scenarios come from files users write, so every
// field is checked and every error names the field and the fix; property tests and benchmarks generate groups.
import { parse as parseYaml } from 'yaml';
import {
  DEFAULT_GROUP_TIMEOUTS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  groupIdOf,
  type FailoverGroupSpec,
  type FluxResourceKind,
  type FluxResourceSpec,
  type GroupTimeoutsSpec,
  type NetworkResourceKind,
  type NetworkResourceSpec,
  type WorkloadKind,
  type WorkloadSpec,
} from '../machines/failover/group.types.ts';
import type { RandomStream } from './prng.ts';

export interface ScenarioGroup {
  spec: FailoverGroupSpec;
  /** Replicas of each Deployment and StatefulSet on the primary, by workload name (default 1). */
  replicas: Record<string, number>;
  /** CronJob schedules by workload name (default DEFAULT_CRON_SCHEDULE). */
  schedules?: Record<string, string>;
}

export interface Scenario {
  name: string;
  description: string;
  /** Every cluster of the world; the failover groups exist on each. */
  clusters: string[];
  /** The cluster that runs the groups when the world starts; the others are standbys. */
  primary: string;
  groups: ScenarioGroup[];
}

/** Raised for a scenario that is not valid; the message names the source, the field and the fix. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  constructor(
    message: string,
    readonly source: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export const WORKLOAD_KINDS: readonly WorkloadKind[] = ['Deployment', 'StatefulSet', 'CronJob'];
export const NETWORK_KINDS: readonly NetworkResourceKind[] = ['VirtualService', 'Ingress'];
export const FLUX_KINDS: readonly FluxResourceKind[] = ['Kustomization', 'HelmRelease'];
export const DEFAULT_CRON_SCHEDULE = '*/5 * * * *';
export const DEFAULT_OPERATOR_ID = 'failover-engine';
/** Bounds that keep a simulated world small enough to run thousands of times. */
export const LIMITS = { clusters: 8, groups: 50, workloads: 200, volumesPerWorkload: 16, resources: 50, replicas: 100 } as const;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DURATION = /^(\d+(\.\d+)?(ms|s|m|h))+$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Reads one untrusted value, failing with `<source>: <path>: <what is wrong and how to fix it> (got …)`. */
class Reader {
  constructor(readonly source: string) {}

  fail(path: string, problem: string, got?: unknown, withGot = true): never {
    throw new ScenarioError(`${this.source}: ${path}: ${problem}${withGot ? ` (got ${show(got)})` : ''}`, this.source, path);
  }

  object(v: unknown, path: string, known: readonly string[]): Record<string, unknown> {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(path || '(top level)', 'must be an object', v);
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!known.includes(k)) this.fail(path ? `${path}.${k}` : k, `unknown field; the known fields are ${known.join(', ')}`, undefined, false);
    }
    return o;
  }

  array(v: unknown, path: string, min: number, max: number): unknown[] {
    if (!Array.isArray(v)) this.fail(path, 'must be a list', v);
    if (v.length < min) this.fail(path, `must have at least ${min} ${min === 1 ? 'entry' : 'entries'}`, v);
    if (v.length > max) this.fail(path, `must have at most ${max} entries (got ${v.length})`, undefined, false);
    return v;
  }

  string(v: unknown, path: string): string {
    if (typeof v !== 'string') this.fail(path, 'must be a string', v);
    return v;
  }

  dnsLabel(v: unknown, path: string): string {
    const s = this.string(v, path);
    if (s.length > 63 || !DNS_LABEL.test(s)) this.fail(path, 'must be a DNS label: lower-case letters, digits and "-", starting and ending with a letter or digit, at most 63 characters', s);
    return s;
  }

  oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): T {
    if (typeof v !== 'string' || !allowed.includes(v as T)) this.fail(path, `must be one of ${allowed.join(', ')}`, v);
    return v as T;
  }

  boolean(v: unknown, path: string, dflt: boolean): boolean {
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') this.fail(path, 'must be true or false', v);
    return v;
  }

  int(v: unknown, path: string, min: number, max: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(path, `must be a whole number from ${min} to ${max}`, v);
    if (v < min || v > max) this.fail(path, `must be from ${min} to ${max}`, v);
    return v;
  }

  /** Milliseconds: a positive whole number, or a duration string such as "30s", "5m", "1h30m". */
  durationMs(v: unknown, path: string, dflt: number): number {
    if (v === undefined) return dflt;
    if (typeof v === 'string') {
      if (!DURATION.test(v)) this.fail(path, 'must be milliseconds or a duration such as "30s", "5m" or "1h30m"', v);
      let ms = 0;
      for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(m[1]) * UNIT_MS[m[2]];
      if (ms < 1) this.fail(path, 'must be at least 1ms', v);
      return Math.round(ms);
    }
    return this.int(v, path, 1, 7 * 24 * 3_600_000);
  }
}

function parseTimeouts(r: Reader, v: unknown, path: string): GroupTimeoutsSpec {
  if (v === undefined) return { ...DEFAULT_GROUP_TIMEOUTS };
  const o = r.object(v, path, ['transitoryStateMs', 'unhealthyPrimaryMs', 'heartbeatMs']);
  return {
    transitoryStateMs: r.durationMs(o.transitoryStateMs, `${path}.transitoryStateMs`, DEFAULT_GROUP_TIMEOUTS.transitoryStateMs),
    unhealthyPrimaryMs: r.durationMs(o.unhealthyPrimaryMs, `${path}.unhealthyPrimaryMs`, DEFAULT_GROUP_TIMEOUTS.unhealthyPrimaryMs),
    heartbeatMs: r.durationMs(o.heartbeatMs, `${path}.heartbeatMs`, DEFAULT_GROUP_TIMEOUTS.heartbeatMs),
  };
}

function parseWorkload(r: Reader, v: unknown, path: string): WorkloadSpec {
  const o = r.object(v, path, ['kind', 'name', 'volumeReplications']);
  const kind = r.oneOf(o.kind, `${path}.kind`, WORKLOAD_KINDS);
  const name = r.dnsLabel(o.name, `${path}.name`);
  const vrs = o.volumeReplications === undefined ? [] : r.array(o.volumeReplications, `${path}.volumeReplications`, 0, LIMITS.volumesPerWorkload);
  const volumeReplications = vrs.map((x, i) => r.dnsLabel(x, `${path}.volumeReplications[${i}]`));
  return { kind, name, volumeReplications };
}

function parseNetwork(r: Reader, v: unknown, path: string): NetworkResourceSpec {
  const o = r.object(v, path, ['kind', 'name']);
  return { kind: r.oneOf(o.kind, `${path}.kind`, NETWORK_KINDS), name: r.dnsLabel(o.name, `${path}.name`) };
}

function parseFlux(r: Reader, v: unknown, path: string): FluxResourceSpec {
  const o = r.object(v, path, ['kind', 'name', 'triggerReconcile']);
  return {
    kind: r.oneOf(o.kind, `${path}.kind`, FLUX_KINDS),
    name: r.dnsLabel(o.name, `${path}.name`),
    triggerReconcile: r.boolean(o.triggerReconcile, `${path}.triggerReconcile`, true),
  };
}

const SPEC_FIELDS = [
  'name',
  'namespace',
  'operatorID',
  'suspended',
  'suspensionReason',
  'timeouts',
  'heartbeatIntervalMs',
  'workloads',
  'networkResources',
  'fluxResources',
] as const;

function parseSpec(r: Reader, v: unknown, path: string): FailoverGroupSpec {
  const o = r.object(v, path, SPEC_FIELDS);
  const spec: FailoverGroupSpec = {
    name: r.dnsLabel(o.name, `${path}.name`),
    namespace: r.dnsLabel(o.namespace, `${path}.namespace`),
    operatorID: o.operatorID === undefined ? DEFAULT_OPERATOR_ID : r.dnsLabel(o.operatorID, `${path}.operatorID`),
    suspended: r.boolean(o.suspended, `${path}.suspended`, false),
    timeouts: parseTimeouts(r, o.timeouts, `${path}.timeouts`),
    heartbeatIntervalMs: r.durationMs(o.heartbeatIntervalMs, `${path}.heartbeatIntervalMs`, DEFAULT_HEARTBEAT_INTERVAL_MS),
    workloads: r.array(o.workloads, `${path}.workloads`, 1, LIMITS.workloads).map((w, i) => parseWorkload(r, w, `${path}.workloads[${i}]`)),
    networkResources: (o.networkResources === undefined ? [] : r.array(o.networkResources, `${path}.networkResources`, 0, LIMITS.resources)).map((n, i) =>
      parseNetwork(r, n, `${path}.networkResources[${i}]`),
    ),
    fluxResources: (o.fluxResources === undefined ? [] : r.array(o.fluxResources, `${path}.fluxResources`, 0, LIMITS.resources)).map((f, i) =>
      parseFlux(r, f, `${path}.fluxResources[${i}]`),
    ),
  };
  if (o.suspensionReason !== undefined) spec.suspensionReason = r.string(o.suspensionReason, `${path}.suspensionReason`);
  if (spec.timeouts.heartbeatMs <= spec.heartbeatIntervalMs) {
    r.fail(`${path}.timeouts.heartbeatMs`, `must be longer than heartbeatIntervalMs (${spec.heartbeatIntervalMs}), or every heartbeat gap counts as a dead cluster`, spec.timeouts.heartbeatMs);
  }
  // Names: unique workloads (replicas are keyed by name) and volumes; unique objects per kind.
  const seen = new Map<string, number>();
  spec.workloads.forEach((w, i) => {
    const first = seen.get(w.name);
    if (first !== undefined) r.fail(`${path}.workloads[${i}].name`, `duplicates workloads[${first}].name; workload names must be unique within a group`, w.name);
    seen.set(w.name, i);
  });
  const volumes = new Map<string, string>();
  spec.workloads.forEach((w, i) =>
    w.volumeReplications.forEach((vr, j) => {
      const where = `${path}.workloads[${i}].volumeReplications[${j}]`;
      const first = volumes.get(vr);
      if (first !== undefined) r.fail(where, `is already used by ${first}; each VolumeReplication carries one workload's volume`, vr);
      volumes.set(vr, `workloads[${i}] (${w.name})`);
    }),
  );
  for (const [list, label] of [
    [spec.networkResources, 'networkResources'],
    [spec.fluxResources, 'fluxResources'],
  ] as const) {
    const names = new Set<string>();
    list.forEach((x, i) => {
      const k = `${x.kind}/${x.name}`;
      if (names.has(k)) r.fail(`${path}.${label}[${i}]`, `duplicates another ${x.kind} named "${x.name}"`, x);
      names.add(k);
    });
  }
  return spec;
}

function parseGroup(r: Reader, v: unknown, path: string): ScenarioGroup {
  const o = r.object(v, path, ['spec', 'replicas', 'schedules']);
  const spec = parseSpec(r, o.spec, `${path}.spec`);
  const byName = new Map(spec.workloads.map((w) => [w.name, w]));
  const replicas: Record<string, number> = {};
  if (o.replicas !== undefined) {
    const rep = r.object(o.replicas, `${path}.replicas`, spec.workloads.map((w) => w.name));
    for (const [name, n] of Object.entries(rep)) {
      if (byName.get(name)?.kind === 'CronJob') r.fail(`${path}.replicas.${name}`, 'is a CronJob; CronJobs have no replicas (remove this entry)', n);
      replicas[name] = r.int(n, `${path}.replicas.${name}`, 0, LIMITS.replicas);
    }
  }
  for (const w of spec.workloads) if (w.kind !== 'CronJob' && replicas[w.name] === undefined) replicas[w.name] = 1;
  const group: ScenarioGroup = { spec, replicas };
  if (o.schedules !== undefined) {
    const sch = r.object(o.schedules, `${path}.schedules`, spec.workloads.map((w) => w.name));
    const schedules: Record<string, string> = {};
    for (const [name, s] of Object.entries(sch)) {
      if (byName.get(name)?.kind !== 'CronJob') r.fail(`${path}.schedules.${name}`, 'names a workload that is not a CronJob; only CronJobs have schedules', s);
      const text = r.string(s, `${path}.schedules.${name}`);
      if (!/^@(every \S+|hourly|daily|midnight|weekly|monthly|yearly|annually)$/.test(text.trim()) && text.trim().split(/\s+/).length !== 5) {
        r.fail(`${path}.schedules.${name}`, 'must be a cron schedule with five fields (such as "*/5 * * * *") or a macro such as "@hourly" or "@every 30s"', text);
      }
      schedules[name] = text;
    }
    group.schedules = schedules;
  }
  return group;
}

/** Validates a scenario read from `source` (a file name, or a built-in scenario's name). */
export function parseScenario(value: unknown, source: string): Scenario {
  const r = new Reader(source);
  const o = r.object(value, '', ['name', 'description', 'clusters', 'primary', 'groups']);
  const name = r.dnsLabel(o.name, 'name');
  const description = o.description === undefined ? '' : r.string(o.description, 'description');
  const clusters = r.array(o.clusters, 'clusters', 2, LIMITS.clusters).map((c, i) => r.dnsLabel(c, `clusters[${i}]`));
  clusters.forEach((c, i) => {
    if (clusters.indexOf(c) !== i) r.fail(`clusters[${i}]`, `duplicates clusters[${clusters.indexOf(c)}]; cluster names must be unique`, c);
  });
  const primary = o.primary === undefined ? clusters[0] : r.string(o.primary, 'primary');
  if (!clusters.includes(primary)) r.fail('primary', `must be one of the clusters (${clusters.join(', ')})`, primary);
  const groups = r.array(o.groups, 'groups', 1, LIMITS.groups).map((g, i) => parseGroup(r, g, `groups[${i}]`));
  const ids = new Map<string, number>();
  const objects = new Map<string, string>();
  groups.forEach((g, i) => {
    const id = groupIdOf(g.spec);
    const first = ids.get(id);
    if (first !== undefined) r.fail(`groups[${i}].spec`, `duplicates the group ${id} of groups[${first}]; group namespace/name pairs must be unique`, id);
    ids.set(id, i);
    const claim = (kind: string, objName: string, where: string) => {
      const k = `${kind}/${g.spec.namespace}/${objName}`;
      const owner = objects.get(k);
      if (owner !== undefined) r.fail(where, `the ${kind} ${g.spec.namespace}/${objName} is already part of ${owner}; an object belongs to one group`, objName);
      objects.set(k, `groups[${i}] (${id})`);
    };
    g.spec.workloads.forEach((w, j) => {
      claim(w.kind, w.name, `groups[${i}].spec.workloads[${j}].name`);
      w.volumeReplications.forEach((vr, k) => claim('VolumeReplication', vr, `groups[${i}].spec.workloads[${j}].volumeReplications[${k}]`));
    });
    g.spec.networkResources.forEach((n, j) => claim(n.kind, n.name, `groups[${i}].spec.networkResources[${j}].name`));
    g.spec.fluxResources.forEach((f, j) => claim(f.kind, f.name, `groups[${i}].spec.fluxResources[${j}].name`));
  });
  return { name, description, clusters, primary, groups };
}

/** Parses a scenario file's text (JSON or YAML; JSON is YAML) and validates it. */
export function parseScenarioText(text: string, source: string): Scenario {
  let value: unknown;
  try {
    value = parseYaml(text, { prettyErrors: true });
  } catch (e) {
    const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    throw new ScenarioError(`${source}: not valid JSON or YAML: ${msg}`, source);
  }
  if (value === null || value === undefined) throw new ScenarioError(`${source}: the file is empty; a scenario needs name, clusters, primary and groups`, source);
  return parseScenario(value, source);
}

export interface GenerateGroupOptions {
  name: string;
  namespace: string;
  /** 1..LIMITS.workloads workloads: Deployments, StatefulSets and CronJobs. */
  workloads: number;
  /** VolumeReplications per Deployment or StatefulSet (default 1; with `rnd`, the upper bound). */
  volumesPerWorkload?: number;
  /** The exact total of VolumeReplications, spread over the Deployments and StatefulSets (overrides the above). */
  volumes?: number;
  /** VirtualServices and Ingresses, alternating (default 1). */
  network?: number;
  /** Kustomizations and HelmReleases, alternating (default 1). */
  flux?: number;
  /** Draws kinds, replicas and volume counts; without it the group is a fixed pattern. */
  rnd?: RandomStream;
}

const PATTERN: readonly WorkloadKind[] = ['Deployment', 'StatefulSet', 'Deployment', 'StatefulSet', 'CronJob'];
const PREFIX: Record<WorkloadKind, string> = { Deployment: 'deploy', StatefulSet: 'sts', CronJob: 'cron' };

function checkCount(v: number | undefined, what: string, min: number, max: number): void {
  if (v !== undefined && (!Number.isInteger(v) || v < min || v > max)) throw new RangeError(`generateGroup: ${what} must be a whole number from ${min} to ${max} (got ${v})`);
}

/** A failover group of the requested size, for property tests and the benchmark's reference group. */
export function generateGroup(opts: GenerateGroupOptions): ScenarioGroup {
  checkCount(opts.workloads, 'workloads', 1, LIMITS.workloads);
  checkCount(opts.volumesPerWorkload, 'volumesPerWorkload', 0, LIMITS.volumesPerWorkload);
  checkCount(opts.network, 'network', 0, LIMITS.resources);
  checkCount(opts.flux, 'flux', 0, LIMITS.resources);
  const rnd = opts.rnd;
  const pad = (i: number) => String(i + 1).padStart(2, '0');
  const workloads: WorkloadSpec[] = [];
  const replicas: Record<string, number> = {};
  const schedules: Record<string, string> = {};
  for (let i = 0; i < opts.workloads; i++) {
    let kind: WorkloadKind;
    if (rnd) {
      const x = rnd.float();
      kind = x < 0.45 ? 'Deployment' : x < 0.8 ? 'StatefulSet' : 'CronJob';
    } else kind = PATTERN[i % PATTERN.length];
    const name = `${PREFIX[kind]}-${pad(i)}`;
    workloads.push({ kind, name, volumeReplications: [] });
    if (kind === 'CronJob') schedules[name] = rnd ? `*/${rnd.int(1, 10)} * * * *` : DEFAULT_CRON_SCHEDULE;
    else replicas[name] = rnd ? rnd.int(1, kind === 'Deployment' ? 4 : 3) : kind === 'Deployment' ? 1 + (i % 3) : 1 + (i % 2);
  }
  const holders = workloads.filter((w) => w.kind !== 'CronJob');
  if (opts.volumes !== undefined) {
    checkCount(opts.volumes, 'volumes', 0, holders.length * LIMITS.volumesPerWorkload);
    if (opts.volumes > 0 && holders.length === 0) throw new RangeError('generateGroup: volumes needs at least one Deployment or StatefulSet');
    for (let v = 0; v < opts.volumes; v++) {
      const w = holders[v % holders.length];
      w.volumeReplications.push(`${w.name}-data-${w.volumeReplications.length}`);
    }
  } else {
    const per = opts.volumesPerWorkload ?? 1;
    for (const w of holders) {
      const n = rnd ? rnd.int(w.kind === 'StatefulSet' && per > 0 ? 1 : 0, per) : per;
      for (let k = 0; k < n; k++) w.volumeReplications.push(`${w.name}-data-${k}`);
    }
  }
  const networkResources: NetworkResourceSpec[] = [];
  for (let i = 0; i < (opts.network ?? 1); i++) {
    networkResources.push(i % 2 === 0 ? { kind: 'VirtualService', name: `${opts.name}-vs-${pad(i)}` } : { kind: 'Ingress', name: `${opts.name}-ingress-${pad(i)}` });
  }
  const fluxResources: FluxResourceSpec[] = [];
  for (let i = 0; i < (opts.flux ?? 1); i++) {
    fluxResources.push(
      i % 2 === 0 ? { kind: 'Kustomization', name: `${opts.name}-ks-${pad(i)}`, triggerReconcile: true } : { kind: 'HelmRelease', name: `${opts.name}-hr-${pad(i)}`, triggerReconcile: true },
    );
  }
  const group: ScenarioGroup = { spec: groupSpec(opts.name, opts.namespace, { workloads, networkResources, fluxResources }), replicas };
  if (Object.keys(schedules).length) group.schedules = schedules;
  return group;
}

/** A group's spec with the engine's defaults (this operator, not suspended, default timeouts and heartbeat). */
export function groupSpec(name: string, namespace: string, objects: Pick<FailoverGroupSpec, 'workloads' | 'networkResources' | 'fluxResources'>): FailoverGroupSpec {
  return {
    name,
    namespace,
    operatorID: DEFAULT_OPERATOR_ID,
    suspended: false,
    timeouts: { ...DEFAULT_GROUP_TIMEOUTS },
    heartbeatIntervalMs: DEFAULT_HEARTBEAT_INTERVAL_MS,
    workloads: objects.workloads,
    networkResources: objects.networkResources,
    fluxResources: objects.fluxResources,
  };
}

/** A scenario as plain JSON (what `parseScenario` reads back). */
export function scenarioToJson(s: Scenario): unknown {
  return JSON.parse(JSON.stringify(s));
}
