// Why: the pre-failover checks as pure functions of gathered facts, so the chart, the CLI's plan and the tests
// all score a VM the same way. The rule is the reference's: readiness = passed / total × 100, any failed
// critical check makes it 0, and 80 or more means ready.
import { targetVmName } from './vm.names.ts';
import type { FailoverKind, FailoverPlan, ReadinessReport, ValidationCheck, ValidationFacts } from './vm.types.ts';

export const READY_SCORE_MIN = 80;
/** A last successful sync older than this is stale (a non-critical check). */
export const REPLICATION_FRESH_MS = 24 * 60 * 60 * 1000;

const ACTIVE_REPLICATION = ['pending', 'running', 'replicating'];

/** Facts about leftovers of an earlier run, gathered by the wiring for the target VM's and snapshots' names. */
export interface LeftoverFacts {
  /** VMs that already carry the target VM's name. */
  vmIds: string[];
  /** Snapshots that already carry one of this failover's snapshot names. */
  snapshotNames: string[];
}

function check(name: string, critical: boolean, passed: boolean, ok: string, failed: string): ValidationCheck {
  return { name, critical, passed, message: passed ? ok : failed };
}

/** Scores checks: passed/total × 100 (rounded down), 0 if any critical check failed; ready at READY_SCORE_MIN. */
export function scoreChecks(checks: ValidationCheck[]): ReadinessReport {
  const passed = checks.filter((c) => c.passed).length;
  const total = checks.length;
  const criticalFailures = checks.filter((c) => c.critical && !c.passed).map((c) => c.name);
  const score = total === 0 || criticalFailures.length > 0 ? 0 : Math.floor((passed / total) * 100);
  return { checks, passed, total, score, ready: score >= READY_SCORE_MIN, criticalFailures };
}

/** The pre-failover validation of a test or live failover. */
export function validateFailover(facts: ValidationFacts, kind: FailoverKind, leftovers: LeftoverFacts): ReadinessReport {
  const vm = facts.vm;
  const checks: ValidationCheck[] = [];
  checks.push(check('vm-known', true, vm !== undefined, `VM ${facts.vmId} is known to the appliance`, `VM ${facts.vmId} is not known to the appliance: check the id (failoverctl vm list)`));
  checks.push(
    check(
      'vm-specs',
      true,
      vm !== undefined && vm.cpuCount > 0 && vm.memoryMb > 0,
      `VM has ${vm?.cpuCount} vCPU and ${vm?.memoryMb} MiB`,
      `VM specs are incomplete (cpu_count ${vm?.cpuCount ?? '?'}, memory ${vm?.memoryMb ?? '?'} MiB): replicate it again so its specs are recorded`,
    ),
  );
  checks.push(
    check(
      'vm-context-ready',
      true,
      vm?.contextStatus === 'ready_for_failover',
      'VM context is ready_for_failover',
      `VM context is ${vm?.contextStatus ?? 'unknown'}, not ready_for_failover: ${vm?.contextStatus === 'failed_over_test' ? 'clean up the running test first (failoverctl vm cleanup)' : vm?.contextStatus === 'failed_over_live' ? 'fail back first (failoverctl vm failback)' : 'wait for the replication to settle'}`,
    ),
  );
  const replicationActive = vm !== undefined && ACTIVE_REPLICATION.includes(vm.lastReplication.status);
  checks.push(
    check(
      'no-active-jobs',
      true,
      facts.activeJobIds.length === 0 && !replicationActive,
      'no job is active on the VM',
      facts.activeJobIds.length > 0
        ? `job(s) ${facts.activeJobIds.join(', ')} still active on the VM: wait for them to end`
        : `a replication is ${vm?.lastReplication.status}: wait for it to end`,
    ),
  );
  checks.push(
    check(
      'last-replication-succeeded',
      true,
      vm !== undefined && vm.lastReplication.status !== 'failed' && typeof vm.lastReplication.changeId === 'string' && vm.lastReplication.changeId.length > 0,
      `last sync succeeded (ChangeID ${vm?.lastReplication.changeId})`,
      vm?.lastReplication.status === 'failed' ? 'the last replication failed: fix and re-run it first' : 'no successful sync (no CBT ChangeID) yet: replicate the VM first',
    ),
  );
  const unmapped = vm ? vm.nics.filter((n) => vm.networkMappings[n.sourceNetwork] === undefined).map((n) => n.sourceNetwork) : [];
  const netIds = new Set(facts.networks.filter((n) => facts.zoneId === undefined || n.zoneId === facts.zoneId).map((n) => n.id));
  const dangling = vm ? vm.nics.map((n) => vm.networkMappings[n.sourceNetwork]).filter((id): id is string => id !== undefined && !netIds.has(id)) : [];
  checks.push(
    check(
      'network-mappings',
      true,
      vm !== undefined && unmapped.length === 0 && dangling.length === 0,
      `all ${vm?.nics.length ?? 0} NIC(s) map to CloudStack networks`,
      unmapped.length > 0
        ? `no network mapping for source network(s) ${[...new Set(unmapped)].join(', ')}: add one per NIC`
        : `mapped network(s) ${dangling.join(', ')} do not exist in zone ${facts.zoneId ?? '?'}: fix the mapping`,
    ),
  );
  checks.push(check('nic-present', false, vm !== undefined && vm.nics.length > 0, 'the VM has a NIC', 'the VM has no NIC: the failed-over VM will have no network'));
  const notReady = facts.volumes.filter((v) => v.state !== 'Ready' || v.attachedToVmId !== facts.appliance?.vmId);
  checks.push(
    check(
      'volumes-ready',
      true,
      vm !== undefined && vm.volumeIds.length > 0 && facts.volumes.length === vm.volumeIds.length && notReady.length === 0,
      `${facts.volumes.length} volume(s) Ready on the appliance`,
      vm !== undefined && vm.volumeIds.length === 0
        ? 'the VM has no replicated volume'
        : `volume(s) ${notReady.map((v) => `${v.volumeId} (${v.state ?? 'unknown'}${v.attachedToVmId && v.attachedToVmId !== facts.appliance?.vmId ? `, on ${v.attachedToVmId}` : v.attachedToVmId ? '' : ', detached'})`).join(', ')} not Ready on the appliance`,
    ),
  );
  checks.push(
    check(
      'appliance-running',
      true,
      facts.appliance !== undefined && facts.appliance.state === 'Running',
      `appliance ${facts.appliance?.vmId} is Running`,
      `the appliance ${facts.appliance?.vmId ?? '(not found)'} is ${facts.appliance?.state ?? 'missing'}: start it first`,
    ),
  );
  const off = facts.offering;
  checks.push(
    check(
      'service-offering',
      true,
      off !== undefined && facts.templateId !== undefined && facts.zoneId !== undefined,
      `offering ${off?.id} (${off?.cpuNumber} vCPU, ${off?.memoryMb} MiB), template ${facts.templateId}`,
      off === undefined ? `no service offering has ${vm?.cpuCount ?? '?'} vCPU and ${vm?.memoryMb ?? '?'} MiB or more: add one` : 'no template or zone to deploy into',
    ),
  );
  checks.push(
    check(
      'offering-exact',
      false,
      off !== undefined && vm !== undefined && off.cpuNumber === vm.cpuCount && off.memoryMb === vm.memoryMb,
      'the offering matches the VM exactly',
      `the nearest offering (${off?.cpuNumber ?? '?'} vCPU, ${off?.memoryMb ?? '?'} MiB) is larger than the VM (${vm?.cpuCount ?? '?'} vCPU, ${vm?.memoryMb ?? '?'} MiB)`,
    ),
  );
  const syncedAt = vm?.lastReplication.completedAtMs;
  checks.push(
    check(
      'replication-fresh',
      false,
      syncedAt !== undefined && facts.nowMs - syncedAt <= REPLICATION_FRESH_MS,
      'the last sync is less than 24 h old',
      syncedAt === undefined ? 'the last sync time is unknown' : `the last sync is ${Math.floor((facts.nowMs - syncedAt) / 3_600_000)} h old: the failed-over VM will miss what changed since`,
    ),
  );
  checks.push(
    check(
      'no-leftovers',
      true,
      leftovers.vmIds.length === 0 && leftovers.snapshotNames.length === 0,
      `no leftover ${kind} VM or snapshot`,
      `leftovers of an earlier ${kind} failover: ${[...leftovers.vmIds.map((id) => `VM ${id} (${vm ? targetVmName(kind, vm.name) : '?'})`), ...leftovers.snapshotNames.map((n) => `snapshot ${n}`)].join(', ')}: run failoverctl vm cleanup (test) or failback (live) first`,
    ),
  );
  return scoreChecks(checks);
}

/** What the failover will do, when the facts allow one (the validation's critical checks passed). */
export function planFailover(facts: ValidationFacts, kind: FailoverKind): FailoverPlan | undefined {
  const vm = facts.vm;
  if (!vm || !facts.appliance || !facts.offering || !facts.templateId || !facts.zoneId) return undefined;
  const networkIds: string[] = [];
  for (const nic of vm.nics) {
    const id = vm.networkMappings[nic.sourceNetwork];
    if (id === undefined) return undefined;
    networkIds.push(id);
  }
  const name = targetVmName(kind, vm.name);
  return {
    vmName: vm.name,
    applianceVmId: facts.appliance.vmId,
    volumeIds: [...vm.volumeIds],
    devicePaths: Object.fromEntries(facts.volumes.filter((v) => v.devicePath !== undefined).map((v) => [v.volumeId, v.devicePath as string])),
    deploy: {
      name,
      displayName: `${vm.name} (${kind} failover)`,
      zoneId: facts.zoneId,
      serviceOfferingId: facts.offering.id,
      templateId: facts.templateId,
      networkIds,
    },
  };
}

/** Facts for failback: the live VM and where the volumes are. */
export interface FailbackFacts {
  vmId: string;
  vm?: { name: string; contextStatus: string; volumeIds: string[] };
  liveVm?: { vmId: string; name: string; state: string };
  volumes: { volumeId: string; state?: string; attachedToVmId?: string }[];
  appliance?: { vmId: string; state: string };
  activeJobIds: string[];
}

export function validateFailback(facts: FailbackFacts): ReadinessReport {
  const vm = facts.vm;
  const live = facts.liveVm;
  const checks: ValidationCheck[] = [
    check('vm-known', true, vm !== undefined, `VM ${facts.vmId} is known to the appliance`, `VM ${facts.vmId} is not known to the appliance`),
    check(
      'vm-context-failed-over',
      true,
      vm?.contextStatus === 'failed_over_live',
      'VM context is failed_over_live',
      `VM context is ${vm?.contextStatus ?? 'unknown'}, not failed_over_live: there is nothing to fail back`,
    ),
    check('no-active-jobs', true, facts.activeJobIds.length === 0, 'no job is active on the VM', `job(s) ${facts.activeJobIds.join(', ')} still active on the VM: wait for them to end`),
    check(
      'live-vm-present',
      true,
      live !== undefined,
      `live VM ${live?.name} (${live?.vmId}) is ${live?.state}`,
      `no live VM named ${vm ? targetVmName('live', vm.name) : '?'}: the volumes' place must be checked by hand`,
    ),
    check(
      'volumes-on-live-vm',
      true,
      live !== undefined && facts.volumes.length > 0 && facts.volumes.every((v) => v.attachedToVmId === live.vmId || v.attachedToVmId === facts.appliance?.vmId),
      'every volume is on the live VM (or already back on the appliance)',
      `volume(s) ${facts.volumes
        .filter((v) => v.attachedToVmId !== live?.vmId && v.attachedToVmId !== facts.appliance?.vmId)
        .map((v) => `${v.volumeId} (${v.attachedToVmId ? `on ${v.attachedToVmId}` : 'detached'})`)
        .join(', ')} are neither on the live VM nor on the appliance`,
    ),
    check('appliance-running', true, facts.appliance?.state === 'Running', 'the appliance is Running', `the appliance is ${facts.appliance?.state ?? 'missing'}: start it first`),
  ];
  return scoreChecks(checks);
}
