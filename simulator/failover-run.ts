// Why: one simulated failover from a seed, end to end, as users run it: the world, one daemon per cluster started
// through startDaemon (src/daemon/sim-harness.ts; no other actor), the Failover created through the simulated
// Kubernetes API (or by the target's daemon itself, for an automatic failover), the nemesis (API faults, partitions,
// daemon crashes and stalls from the seed's plan, API server restarts, crashes at chosen transitions), a safety phase with
// every `always` invariant checked after each event, then a liveness phase with faults healed in which the
// failover must end within a bound. The result says what happened and how to replay it byte for byte.
import type { Logger } from 'pino';
import { isoTime } from '../drivers/clock/clock.port.ts';
import type { ClusterPort, KubeObject } from '../drivers/cluster/cluster.port.ts';
import { isDriverError } from '../drivers/errors.ts';
import type { GlobalStatePort } from '../drivers/globalstate/globalstate.port.ts';
import { groupIdOf } from '../machines/failover/group.types.ts';
import { deriveFailoverStatus, type FailoverSnapshotLike, type FailoverStatus } from '../machines/failover/failover.status.ts';
import type { FailoverMode, FailoverPolicy, FailoverRequest, FailoverRole, FailoverType } from '../machines/failover/failover.types.ts';
import { Annotations, AUTO_FAILOVER_COMPONENT, FailoverKind, Labels } from '../src/daemon/api.ts';
import { failoverRequestOf } from '../src/daemon/failover-request.ts';
import { failoverObject, requestedAtMsOf } from '../src/daemon/failover-spec.ts';
import { createDaemonSim } from '../src/daemon/sim-harness.ts';
import type { HostSnapshotEvent } from '../src/runtime/operator-host.ts';
import { silentLogger } from '../src/log.ts';
import type { FaultPlan, FaultProfile } from './faults.ts';
import { DaemonObjectInvariants, PENDING_FIX, STAND_DOWN_BOUND_MS } from './invariants/daemon-objects.ts';
import { FailoverInvariants, overallOutcome, type OverallOutcome, type SideView } from './invariants/failover.ts';
import { InvariantViolation, type InvariantResult } from './kernel.ts';
import { Prng, type RandomStream } from './prng.ts';
import { generateGroup, parseScenario, scenarioToJson, type Scenario } from './scenario.ts';
import { scenarioByName } from './scenarios/index.ts';
import { SimWorld } from './world.ts';

/** The party a user's requests (kubectl, failoverctl) come from. */
export const USER_PARTY = 'user';
/** How soon a user tries again to create the Failover when the API server refused or did not answer. */
export const CREATE_RETRY_MS = 1_000;
/** How long after the faults heal every failover must have ended (a bound on the liveness phase). */
export const LIVENESS_BOUND_MS = 30 * 60_000;
/** How long (virtual seconds) the end of a run waits for a newer failover of the group to end before the checks. */
export const NEWER_FAILOVER_BOUND_S = 15 * 60;
/** How long the source site stays unreachable in an unplanned failover when the plan heals sooner. */
export const UNPLANNED_OUTAGE_MS = 60_000;
/** Generated scenarios are named `generated-<workloads>`: the group is drawn from the run's seed. */
export const GENERATED_SCENARIO = /^generated-(\d{1,3})$/;

export interface FailoverSpec {
  mode: FailoverMode;
  type: FailoverType;
  force?: boolean;
  /** Default: the scenario's primary. */
  source?: string;
  /** Default: the first other cluster. */
  target?: string;
  /** `namespace/name` of the group to move; default the scenario's first group. */
  group?: string;
  policy?: Partial<FailoverPolicy>;
  /**
   * Who asks for the failover: `user` (default) creates the Failover through the Kubernetes API; `auto` creates
   * none: the source site is dead from the start and the target's daemon must start the failover by itself
   * (src/daemon/auto-failover.ts), exactly once. `auto` needs type unplanned and mode CONSISTENCY (what it creates).
   */
  trigger?: 'user' | 'auto';
}

/** Crash an operator right after it has seen its Nth snapshot (counted from 1 over the whole run). */
export interface CrashPoint {
  cluster: string;
  atTransition: number;
  downMs: number;
}

/** An API server down at `atMs` (from the start) for `downMs`, back with its watch history compacted. */
export interface ApiServerRestart {
  cluster: string;
  atMs: number;
  downMs: number;
}

/** The swarm's API server restarts, from their own stream of the seed (the fault plan's draws stay as they are). */
export function drawApiServerRestarts(rnd: RandomStream, clusters: readonly string[], horizonMs: number): ApiServerRestart[] {
  // The first outputs of streams seeded from neighbouring seeds are alike (all high): skip them.
  for (let i = 0; i < 3; i++) rnd.float();
  if (!rnd.chance(0.3)) return [];
  const n = rnd.int(1, 2);
  const out: ApiServerRestart[] = [];
  for (let i = 0; i < n; i++) out.push({ cluster: rnd.pick(clusters), atMs: rnd.int(0, horizonMs), downMs: rnd.int(1_000, 20_000) });
  return out.sort((a, b) => a.atMs - b.atMs);
}

/** Freeze an operator at `atMs` (from the start) for `durationMs`. */
export interface StallPoint {
  cluster: string;
  atMs: number;
  durationMs: number;
}

export interface SimulationOptions {
  seed: number;
  /** A built-in scenario's name, `generated-<workloads>`, or a scenario object. */
  scenario: string | Scenario;
  /** The fault profile the plan is derived from (default 'swarm'). */
  profile?: FaultProfile;
  failover: FailoverSpec;
  /** The CRDs the simulated API servers serve (src/crds.ts loadCrds()). */
  crds: KubeObject[];
  /** How long faults stay on (the plan's heal time); default the plan's own (60 s). */
  horizonMs?: number;
  /** A plan given outright (tests of one fault). */
  plan?: FaultPlan;
  /** Crashes at chosen transitions, on top of the plan's time-based ones. */
  crashPoints?: CrashPoint[];
  /** Operator stalls on top of the plan's (a stall longer than the lease's ttl makes the lease expire). */
  stallPoints?: StallPoint[];
  /**
   * API server restarts: the server is down for `downMs` and comes back with its watch history compacted, so every
   * watch must relist after 410 Gone. Default: drawn from the seed for the swarm profile (none otherwise).
   */
  apiServerRestarts?: ApiServerRestart[];
  /** Bound on the liveness phase (default LIVENESS_BOUND_MS). */
  livenessBoundMs?: number;
  /** Hard bound on the whole run's virtual time. */
  maxVirtualMs?: number;
  keepTraceLines?: boolean;
  traceSink?: (line: string) => void;
  /** Whether the world may be cloned from a template of its scenario (default true; the same world either way). */
  fromTemplate?: boolean;
  log?: Logger;
  /**
   * Where the operators' ports come from, given the world once it is built (before time starts). Default: the
   * world's simulated drivers. The real-driver end-to-end runs (src/e2e/real-world.ts) pass the Kubernetes driver
   * over HTTP to this world's API servers and the DynamoDB driver on dynalite.
   */
  ports?: (world: SimWorld) => RunPorts | Promise<RunPorts>;
}

/** The ports one operator (the party `caller`) uses: its own cluster's and its peer's, and global state. */
export interface RunPorts {
  clusterPort(cluster: string, caller: string): ClusterPort;
  globalStatePort(caller: string): GlobalStatePort;
}

export type RunOutcome = OverallOutcome;

export interface StageSpan {
  stage: string;
  cluster: string;
  role: FailoverRole;
  /** Milliseconds from the start of the run. */
  startMs: number;
  endMs: number;
  /** The tasks the side entered in this stage, in order, with when it first entered each. */
  tasks: Array<{ task: string; startMs: number }>;
}

export interface RunFailure {
  kind: 'crash' | 'safety' | 'liveness';
  invariant?: string;
  atMs: number;
  message: string;
}

export interface SimulationResult {
  seed: number;
  scenario: string;
  failover: Required<Pick<FailoverSpec, 'mode' | 'type' | 'force'>> & { source: string; target: string; groupId: string; failoverId: string };
  outcome: RunOutcome;
  /** Each side's derived status at the end. */
  status: Partial<Record<FailoverRole, FailoverStatus>>;
  timeline: StageSpan[];
  invariants: InvariantResult[];
  failure?: RunFailure;
  replayHint: string;
  traceHash: string;
  eventCount: number;
  virtualDurationMs: number;
  /** When faults stopped (plan heal, last crash restart, last stall, end of the unplanned outage). */
  healedAtMs: number;
  /** Snapshots observed per side (transitions, counted over the run). */
  transitions: Partial<Record<FailoverRole, number>>;
  crashes: number;
  faultPlan: FaultPlan;
  /** The API server restarts the run made (given, or drawn from the seed). */
  apiServerRestarts: ApiServerRestart[];
  trace?: string[];
}

/** Raised for options that cannot make a run; the message names the field and the fix. */
export class SimulationOptionsError extends Error {
  override readonly name = 'SimulationOptionsError';
}

/** A scenario by name: built-in, or `generated-<n>` (a group of n workloads drawn from the seed). */
export function resolveRunScenario(name: string, seed: number): Scenario {
  const m = GENERATED_SCENARIO.exec(name);
  if (!m) return scenarioByName(name);
  const workloads = Number(m[1]);
  if (workloads < 1 || workloads > 200) throw new SimulationOptionsError(`scenario ${name}: the workload count must be from 1 to 200`);
  const group = generateGroup({ name: 'generated', namespace: 'gen', workloads, volumesPerWorkload: 2, network: 2, flux: 2, rnd: new Prng(seed).stream('scenario') });
  const s: Scenario = { name, description: `${workloads} workloads drawn from seed ${seed}`, clusters: ['east', 'west'], primary: 'east', groups: [group] };
  return parseScenario(scenarioToJson(s), `scenario ${name}`);
}

/** The command that replays a run. */
export function replayHint(o: { seed: number; scenario: string; profile: FaultProfile; failover: FailoverSpec; crashPoints?: CrashPoint[]; stallPoints?: StallPoint[]; apiServerRestarts?: ApiServerRestart[] }): string {
  const parts = [`npx failoverctl simulate --seed ${o.seed} --scenario ${o.scenario} --mode ${o.failover.mode} --type ${o.failover.type}`];
  if (o.failover.force) parts.push('--force');
  if (o.failover.trigger === 'auto') parts.push('--trigger auto');
  if (o.profile !== 'swarm') parts.push(`--profile ${o.profile}`);
  if (o.failover.source) parts.push(`--source ${o.failover.source}`);
  if (o.failover.target) parts.push(`--target ${o.failover.target}`);
  for (const c of o.crashPoints ?? []) parts.push(`--crash-at ${c.cluster}:${c.atTransition}:${c.downMs}`);
  for (const s of o.stallPoints ?? []) parts.push(`--stall ${s.cluster}:${s.atMs}:${s.durationMs}`);
  // Given outright (not drawn from the seed): the command names them, and then they replace the drawn ones.
  for (const r of o.apiServerRestarts ?? []) parts.push(`--apiserver-restart ${r.cluster}:${r.atMs}:${r.downMs}`);
  return parts.join(' ');
}

interface Side {
  role: FailoverRole;
  cluster: string;
  party: string;
  transitions: number;
  /** Stage spans, by stage: first start, last end, tasks entered. */
  spans: Map<string, { startMs: number; endMs: number; tasks: Array<{ task: string; startMs: number }> }>;
  stage?: string;
}

export async function runSimulation(opts: SimulationOptions): Promise<SimulationResult> {
  const profile = opts.profile ?? 'swarm';
  const scenario = typeof opts.scenario === 'string' ? resolveRunScenario(opts.scenario, opts.seed) : opts.scenario;
  const spec = opts.failover;
  if (spec.mode !== 'CONSISTENCY' && spec.mode !== 'UPTIME') throw new SimulationOptionsError(`failover.mode must be CONSISTENCY or UPTIME, got ${JSON.stringify(spec.mode)}`);
  if (spec.type !== 'planned' && spec.type !== 'unplanned') throw new SimulationOptionsError(`failover.type must be planned or unplanned, got ${JSON.stringify(spec.type)}`);
  const auto = spec.trigger === 'auto';
  if (spec.trigger !== undefined && spec.trigger !== 'user' && spec.trigger !== 'auto') throw new SimulationOptionsError(`failover.trigger must be user or auto, got ${JSON.stringify(spec.trigger)}`);
  if (auto && spec.type !== 'unplanned') throw new SimulationOptionsError('failover.trigger auto: the daemon starts an automatic failover of a dead primary as unplanned; use type unplanned');
  if (spec.type === 'unplanned' && spec.mode === 'UPTIME') {
    // What the daemon says of such a Failover (src/daemon/failover-spec.ts): it would never run.
    throw new SimulationOptionsError('failover.mode: UPTIME needs a cooperating source to hand traffic over, which an unplanned failover does not have: use CONSISTENCY');
  }
  const source = spec.source ?? scenario.primary;
  const target = spec.target ?? scenario.clusters.find((c) => c !== source);
  for (const [field, c] of [['source', source], ['target', target]] as const) {
    if (!c || !scenario.clusters.includes(c)) throw new SimulationOptionsError(`failover.${field} ${JSON.stringify(c)} is not a cluster of scenario ${scenario.name}; use one of ${scenario.clusters.join(', ')}`);
  }
  if (source === target) throw new SimulationOptionsError(`failover.source and failover.target are both ${source}; pick two different clusters`);
  const group = spec.group === undefined ? scenario.groups[0] : scenario.groups.find((g) => groupIdOf(g.spec) === spec.group);
  if (!group) throw new SimulationOptionsError(`failover.group ${JSON.stringify(spec.group)} is not in scenario ${scenario.name}; its groups are ${scenario.groups.map((g) => groupIdOf(g.spec)).join(', ')}`);
  for (const cp of opts.crashPoints ?? []) {
    if (cp.cluster !== source && cp.cluster !== target) throw new SimulationOptionsError(`crashPoints: cluster ${cp.cluster} runs no side of this failover; use ${source} or ${target}`);
    if (!Number.isInteger(cp.atTransition) || cp.atTransition < 1) throw new SimulationOptionsError(`crashPoints: atTransition must be a whole number from 1, got ${cp.atTransition}`);
    if (!Number.isFinite(cp.downMs) || cp.downMs < 0) throw new SimulationOptionsError(`crashPoints: downMs must be a non-negative number of milliseconds, got ${cp.downMs}`);
  }
  for (const sp of opts.stallPoints ?? []) {
    if (sp.cluster !== source && sp.cluster !== target) throw new SimulationOptionsError(`stallPoints: cluster ${sp.cluster} runs no side of this failover; use ${source} or ${target}`);
    if (!Number.isFinite(sp.atMs) || sp.atMs < 0 || !Number.isFinite(sp.durationMs) || sp.durationMs <= 0) {
      throw new SimulationOptionsError(`stallPoints: atMs must be >= 0 and durationMs > 0 (milliseconds), got ${sp.atMs} and ${sp.durationMs}`);
    }
  }

  const world = SimWorld.build({
    seed: opts.seed,
    scenario,
    crds: opts.crds,
    profile,
    horizonMs: opts.horizonMs,
    plan: opts.plan,
    keepTraceLines: opts.keepTraceLines ?? false,
    traceSink: opts.traceSink,
    fromTemplate: opts.fromTemplate,
  });
  const { kernel } = world;
  const runPorts: RunPorts = opts.ports ? await opts.ports(world) : { clusterPort: (c, caller) => world.clusterPort(c, caller), globalStatePort: (caller) => world.globalStatePort(caller) };
  // With the world's own simulated ports nothing outside the world takes part (no real I/O): the scheduler may
  // drain each event's promise reactions without an event-loop round trip. Real-driver runs keep the round trip.
  if (!opts.ports) kernel.sched.closedWorld = true;
  const plan = kernel.plan;
  const log = opts.log ?? silentLogger;
  const groupId = groupIdOf(group.spec);
  const force = spec.force ?? false;
  // The Failover a user creates: its name is its identity (the failover id derives from it), and it carries the
  // pinned source cluster and request time, so both daemons build the same request as this one.
  const failoverRef = { namespace: group.spec.namespace, name: `failover-${opts.seed}` };
  const requestedAt = isoTime(kernel.now());
  /** The failover's request, as both daemons build it; for an automatic failover, known once its Failover exists. */
  let request: FailoverRequest | undefined;
  let invariants: FailoverInvariants | undefined;
  let objects: DaemonObjectInvariants | undefined;

  // ----- the daemons: one per cluster, started through startDaemon, the only actors -----
  let crashFailure: RunFailure | undefined;
  const crashWith = (message: string) => {
    crashFailure ??= { kind: 'crash', atMs: kernel.elapsed(), message };
  };
  const sides: Side[] = (
    [
      ['source', source],
      ['target', target!],
    ] as const
  ).map(([role, cluster]) => ({ role, cluster, party: `operator/${cluster}`, transitions: 0, spans: new Map() }));
  const sideOf = (cluster: string) => sides.find((s) => s.cluster === cluster);
  const onSnapshot = (cluster: string, e: HostSnapshotEvent) => {
    const side = sideOf(cluster);
    if (!side || !request || e.failoverId !== request.failoverId) return;
    side.transitions++;
    const snap = e.snapshot as unknown as FailoverSnapshotLike;
    invariants?.observe(cluster, snap);
    const stage = snap.context?.progress?.stage;
    const task = snap.context?.progress?.task;
    const now = kernel.elapsed();
    if (stage !== undefined) {
      let span = side.spans.get(stage);
      if (!span) side.spans.set(stage, (span = { startMs: now, endMs: now, tasks: [] }));
      if (side.stage !== undefined && side.stage !== stage) side.spans.get(side.stage)!.endMs = now;
      side.stage = stage;
      span.endMs = now;
      if (task !== undefined && !span.tasks.some((t) => t.task === task)) span.tasks.push({ task, startMs: now });
    }
    for (const cp of opts.crashPoints ?? []) {
      if (cp.cluster === cluster && cp.atTransition === side.transitions) kernel.sched.after(0, `crash-point ${side.party}`, () => crash(side, cp.downMs, `transition ${cp.atTransition}`));
    }
  };
  const sim = createDaemonSim(world, {
    groups: [group.spec],
    autoFailover: auto,
    log,
    ...(spec.policy ? { policy: spec.policy } : {}),
    ...(opts.ports ? { clusterPort: (c: string, party: string) => runPorts.clusterPort(c, party), globalState: (party: string) => runPorts.globalStatePort(party) } : {}),
    onSnapshot,
    onActorError: (cluster, id, err) => crashWith(`the daemon of ${cluster}: failover ${id} failed: ${err instanceof Error ? err.message : String(err)}`),
    onRestoreRefused: (cluster, id, err) => crashWith(`operator/${cluster} refused to restore ${id}: ${err.message}`),
  });
  /** Daemons being started (first start, or restart after a crash): the run does not end while one is. */
  const starting = new Set<string>();
  const launch = (cluster: string, how: 'launch' | 'restart') => {
    starting.add(cluster);
    (how === 'launch' ? sim.launch(cluster) : sim.restart(cluster)).then(
      () => starting.delete(cluster),
      (e: unknown) => crashWith(`operator/${cluster} could not start: ${e instanceof Error ? e.message : String(e)}`),
    );
  };

  let crashes = 0;
  /** Virtual time (from the start) by which every fault has ended; pushed out by crash points. */
  let healedAtMs = plan.healAtMs;
  const crash = (side: Side, downMs: number, why: string) => {
    if (!sim.running(side.cluster)) return;
    crashes++;
    kernel.emit('nemesis.crash', { party: side.party, downMs, why });
    sim.crash(side.cluster).catch((e: unknown) => crashWith(`operator/${side.cluster} did not stop: ${e instanceof Error ? e.message : String(e)}`));
    starting.add(side.cluster);
    healedAtMs = Math.max(healedAtMs, kernel.elapsed() + downMs);
    kernel.sched.after(downMs, `restart ${side.party}`, () => launch(side.cluster, 'restart'));
  };

  // ----- the nemesis -----
  const start = kernel.startMs;
  for (const c of plan.crashes) {
    const side = sides.find((s) => s.party === c.party);
    if (side) kernel.sched.at(start + c.atMs, `crash ${c.party}`, () => crash(side, c.downMs, 'plan'));
    healedAtMs = Math.max(healedAtMs, c.atMs + c.downMs);
  }
  for (const sp of opts.stallPoints ?? []) {
    const side = sideOf(sp.cluster)!;
    kernel.emit('nemesis.stall-point', { party: side.party, atMs: sp.atMs, durationMs: sp.durationMs });
    kernel.sched.at(start + sp.atMs, `stall ${side.party}`, () => sim.stall(side.cluster, sp.durationMs));
    healedAtMs = Math.max(healedAtMs, sp.atMs + sp.durationMs);
  }
  for (const st of plan.stalls) {
    const side = sides.find((s) => s.party === st.party);
    if (side) kernel.sched.at(start + st.atMs, `stall ${st.party}`, () => sim.stall(side.cluster, st.durationMs));
    healedAtMs = Math.max(healedAtMs, st.atMs + st.durationMs);
  }
  const apiServerRestarts = opts.apiServerRestarts ?? (profile === 'swarm' ? drawApiServerRestarts(kernel.prng.stream('nemesis/apiserver-restart'), scenario.clusters, plan.healAtMs) : []);
  for (const r of apiServerRestarts) {
    if (!scenario.clusters.includes(r.cluster)) throw new SimulationOptionsError(`apiServerRestarts: ${r.cluster} is not a cluster of scenario ${scenario.name}; use one of ${scenario.clusters.join(', ')}`);
    // The unplanned source's site is down anyway until it recovers; its server does not come back early.
    if (spec.type === 'unplanned' && r.cluster === source) continue;
    const server = `apiserver/${r.cluster}`;
    kernel.sched.at(start + r.atMs, `restart ${server}`, () => {
      kernel.emit('nemesis.apiserver-restart', { party: server, downMs: r.downMs });
      kernel.setDown(server, true);
      world.cluster(r.cluster).store.compactHistory();
    });
    kernel.sched.at(start + r.atMs + r.downMs, `restarted ${server}`, () => kernel.setDown(server, false));
    healedAtMs = Math.max(healedAtMs, r.atMs + r.downMs);
  }
  const sourceSide = sides[0];
  const targetSide = sides[1];
  let recoverSite: ((atMs: number) => void) | undefined;
  const startNow = sim.clusters.filter((c) => spec.type !== 'unplanned' || c !== source);
  kernel.sched.at(start, 'daemons.start', () => {
    for (const c of startNow) launch(c, 'launch');
  });
  if (spec.type === 'unplanned') {
    // The source site is down (its API server and its daemon) from the start; the target goes alone. The site
    // comes back once faults heal; its daemon then starts, finds the copy of the Failover the target's daemon made
    // and learns the outcome (the unplanned source branch).
    const outageMs = Math.max(plan.healAtMs, UNPLANNED_OUTAGE_MS);
    healedAtMs = Math.max(healedAtMs, outageMs);
    kernel.setDown(`apiserver/${source}`, true);
    kernel.setDown(sourceSide.party, true);
    starting.add(source);
    recoverSite = (atMs: number) => {
      healedAtMs = Math.max(healedAtMs, atMs);
      kernel.sched.at(start + atMs, 'site.recovered', () => {
        kernel.setDown(`apiserver/${source}`, false);
        kernel.setDown(sourceSide.party, false);
        launch(source, 'launch');
      });
    };
    // An automatic failover needs the primary dead past its heartbeat timeout: the site comes back only once the
    // target's daemon has started the failover (then for the same outage again), or never.
    if (!auto) recoverSite(outageMs);
  }
  // The user creates the Failover through the Kubernetes API: in the source cluster for a planned failover (its
  // daemon copies it to the target), in the target for an unplanned one (the source cannot be reached).
  const createdIn = spec.type === 'unplanned' ? target! : source;
  const userPort = runPorts.clusterPort(createdIn, USER_PARTY);
  const failover = failoverObject({
    ...failoverRef,
    targetCluster: target!,
    mode: spec.mode,
    type: spec.type,
    force,
    reason: 'simulation',
    groups: [{ name: group.spec.name, namespace: group.spec.namespace }],
    annotations: { [Annotations.sourceCluster]: source, [Annotations.requestedAt]: requestedAt },
  });
  let created = false;
  const createFailover = () => {
    if (auto) return;
    userPort.create(failover, { log, fieldManager: USER_PARTY }).then(
      () => {
        created = true;
        kernel.emit('failover.created', { cluster: createdIn, failover: `${failoverRef.namespace}/${failoverRef.name}` });
      },
      (e: unknown) => {
        if (isDriverError(e) && e.kind === 'Conflict' && e.reason === 'AlreadyExists') created = true;
        // As a user (kubectl) would: try again after a second.
        else kernel.sched.after(CREATE_RETRY_MS, 'failover.create retry', createFailover);
      },
    );
  };
  // Asked for at the start, while the daemons start: the seed's faults are on from the start too. The product
  // handles what is not there yet (a group not registered, a target that has not heartbeated: the daemon waits).
  kernel.sched.at(start, 'failover.create', createFailover);

  // ----- invariants -----
  const hostOf = (cluster: string) => (sim.running(cluster) ? sim.daemon(cluster).host : undefined);
  const views = (): SideView[] =>
    sides.map((s) => ({ cluster: s.cluster, role: s.role, snapshot: request ? (hostOf(s.cluster)?.snapshot(request.failoverId) as unknown as FailoverSnapshotLike | undefined) : undefined }));
  let boundMessage: string | undefined;
  /** The failover is known: its request is what both daemons build from the Failover object. */
  const adopt = (failoverName: string, reason: string, requestedAtMs: number, forced: boolean) => {
    request = failoverRequestOf({ failover: { namespace: group.spec.namespace, name: failoverName }, group: group.spec, sourceCluster: source, targetCluster: target!, mode: spec.mode, type: spec.type, force: forced, reason, requestedAtMs });
    kernel.emit('failover.requested', { failover: request.failoverId, group: groupId, source, target, mode: spec.mode, type: spec.type, force, trigger: spec.trigger ?? 'user' });
    invariants = new FailoverInvariants(world, request, group);
    invariants.install(sim.disks);
    invariants.installEventually(views, () => boundMessage);
    objects = new DaemonObjectInvariants(world, request);
    objects.install();
  };
  if (!auto) adopt(failoverRef.name, 'simulation', Date.parse(requestedAt), force);
  else {
    // The target's daemon creates the Failover itself (auto-failover-<group>-<time>), exactly once.
    // Those the target's daemon created itself: a later one the old source's daemon makes (when the new primary
    // dies in turn, a stall past the heartbeat timeout for example) is copied here with mirrored-from.
    const autoFailovers = () =>
      world.cluster(target!).store.list(FailoverKind).items.filter((o) => o.metadata.labels?.[Labels.component] === AUTO_FAILOVER_COMPONENT && o.metadata.annotations?.[Annotations.mirroredFrom] === undefined);
    world.cluster(target!).store.subscribe((c) => {
      if (request || c.type !== 'ADDED' || c.object.kind !== FailoverKind.kind || c.object.metadata.labels?.[Labels.component] !== AUTO_FAILOVER_COMPONENT) return;
      const name = c.object.metadata.name;
      const reason = typeof c.object.spec?.reason === 'string' ? c.object.spec.reason : '';
      const at = requestedAtMsOf(c.object) ?? kernel.now();
      const forced = c.object.spec?.force === true;
      created = true;
      // Outside the store's commit: the invariants subscribe to the stores themselves.
      kernel.sched.after(0, 'failover.adopt', () => {
        adopt(name, reason, at, forced);
        recoverSite?.(kernel.elapsed() + Math.max(plan.healAtMs, UNPLANNED_OUTAGE_MS));
      });
    });
    kernel.addInvariant({
      name: 'auto-failover-once',
      kind: 'eventually',
      check: () => {
        const n = autoFailovers().length;
        return n === 1 ? undefined : `the target's daemon created ${n} automatic Failovers of the dead primary (want exactly 1)`;
      },
    });
  }

  // ----- run: safety, then liveness -----
  /** Whether another failover of the group holds its lock now (one the daemons started after this one). */
  const newerFailoverRuns = () => {
    const lock = world.globalState.getGroup(groupId)?.lock;
    return lock !== undefined && lock.failoverId !== request?.failoverId && lock.expiresAtMs >= kernel.now();
  };
  const ended = () =>
    created &&
    request !== undefined &&
    sides.every((s) => {
      const host = hostOf(s.cluster);
      return host !== undefined && host.alive && host.isDone(request!.failoverId) && host.isPersisted(request!.failoverId);
    });
  const livenessBoundMs = opts.livenessBoundMs ?? LIVENESS_BOUND_MS;
  let violation: InvariantViolation | undefined;
  let thrown: unknown;
  let deadlineMs = 0;
  try {
    // The bound moves with healedAtMs (crash points push it out), so run in legs until it stops moving.
    for (let leg = 0; leg < 100; leg++) {
      deadlineMs = Math.min(opts.maxVirtualMs ?? Number.POSITIVE_INFINITY, healedAtMs + livenessBoundMs);
      const r = await kernel.run({
        untilMs: start + deadlineMs,
        stopWhen: () => crashFailure !== undefined || (ended() && starting.size === 0 && kernel.elapsed() >= healedAtMs),
      });
      if (r.reason !== 'until' || Math.min(opts.maxVirtualMs ?? Number.POSITIVE_INFINITY, healedAtMs + livenessBoundMs) <= deadlineMs) break;
    }
    invariants?.checkGlobalLogs();
    kernel.checkAlways(true);
    if (!crashFailure && ended()) {
      // Let what the failover set in motion converge (pods starting, the last resync, the Failover copies'
      // statuses, the group statuses at the next heartbeat) before the eventual checks. Both are read once per
      // virtual second, not after every event.
      // A newer failover of the group (an automatic one back, say) may still run: let it end first, so the checks
      // judge the world it leaves (found by the daemon-level sweep: replicas-restored read a failback half done).
      for (let i = 0; i < NEWER_FAILOVER_BOUND_S && newerFailoverRuns(); i++) await kernel.run({ untilMs: kernel.now() + 1_000 });
      for (let i = 0; i < 120 && !(world.converged() && objects!.settled()); i++) await kernel.run({ untilMs: kernel.now() + 1_000 });
      await objects!.awaitGroupStatus((ms) => kernel.run({ untilMs: kernel.now() + ms }));
      await objects!.awaitPlugins((ms) => kernel.run({ untilMs: kernel.now() + ms }), STAND_DOWN_BOUND_MS + 60_000);
    }
  } catch (e) {
    if (e instanceof InvariantViolation) violation = e;
    else thrown = e;
  }
  if (!ended() && !violation && !thrown && !crashFailure) {
    boundMessage = `not every side ended within ${livenessBoundMs}ms after the faults healed (T+${healedAtMs}ms)`;
  }
  invariants?.checkGlobalLogs();
  if (auto && !request && !violation && !thrown && !crashFailure) boundMessage = 'the target\'s daemon never started an automatic failover of the dead primary';

  // ----- results -----
  // Eventual invariants are judged only on a run that reached its end; a run stopped by a crash or a safety
  // violation reports its `always` invariants only.
  const stoppedEarly = thrown !== undefined || crashFailure !== undefined || violation !== undefined;
  const invariantResults = kernel.invariantResults().filter((r) => !stoppedEarly || r.kind === 'always');
  const status: Partial<Record<FailoverRole, FailoverStatus>> = {};
  for (const v of views()) if (v.snapshot) status[v.role] = deriveFailoverStatus(v.snapshot);
  const outcome = overallOutcome(views(), spec.type);
  let failure: RunFailure | undefined;
  if (thrown !== undefined) failure = { kind: 'crash', atMs: kernel.elapsed(), message: thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown) };
  else if (crashFailure) failure = crashFailure;
  else if (violation) failure = { kind: 'safety', invariant: violation.invariant, atMs: violation.atMs, message: violation.message };
  else {
    const bad = invariantResults.find((r) => !r.held && !PENDING_FIX.has(r.name));
    if (bad) failure = { kind: bad.kind === 'always' ? 'safety' : 'liveness', invariant: bad.name, atMs: bad.atMs ?? kernel.elapsed(), message: bad.message ?? bad.name };
  }
  const endMs = kernel.elapsed();
  const timeline: StageSpan[] = [];
  for (const s of sides) for (const [stage, span] of s.spans) timeline.push({ stage, cluster: s.cluster, role: s.role, startMs: span.startMs, endMs: span.endMs, tasks: span.tasks });
  timeline.sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs || (a.role < b.role ? -1 : a.role > b.role ? 1 : 0));
  const scenarioName = scenario.name;
  kernel.emit('run.ended', { outcome, failure: failure?.kind, invariant: failure?.invariant, crashes, healedAtMs });
  const result: SimulationResult = {
    seed: opts.seed,
    scenario: scenarioName,
    failover: { mode: spec.mode, type: spec.type, force: request?.force ?? force, source, target: target!, groupId, failoverId: request?.failoverId ?? '' },
    outcome,
    status,
    timeline,
    invariants: invariantResults,
    replayHint: replayHint({ seed: opts.seed, scenario: scenarioName, profile, failover: spec, crashPoints: opts.crashPoints, stallPoints: opts.stallPoints, apiServerRestarts: opts.apiServerRestarts }),
    traceHash: kernel.trace.hash(),
    eventCount: kernel.trace.eventCount,
    virtualDurationMs: endMs,
    healedAtMs,
    transitions: { source: sourceSide.transitions, target: targetSide.transitions },
    crashes,
    faultPlan: plan,
    apiServerRestarts,
  };
  if (failure) result.failure = failure;
  if (opts.keepTraceLines) result.trace = kernel.trace.lines;
  return result;
}
