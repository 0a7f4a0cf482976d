// Why: `failoverctl vm …`, the operator's commands for replicated VMs on CloudStack: test failover, cleanup,
// live failover and failback. By default they run against the simulated cloud (one seed builds the world and its
// faults, so any run replays exactly); with --cloudstack-url and the other deployment flags they run against a
// real deployment (vm-deployment.ts). They print the plan with the readiness score before anything changes, then
// one line per job status or step change with the progress, and end with where everything is.
import type { Command } from 'commander';
import { StepName, vmStepName } from '../../machines/vm/vm.steps.ts';
import type { FaultProfile } from '../../simulator/faults.ts';
import { planVmSimulation, runVmSimulation, VmSimulationOptionsError, type VmPlanResult, type VmSimulationResult } from '../../simulator/vm-run.ts';
import type { JobLogChange, VmOperationName } from '../wire/vm-failover.ts';
import type { FailoverPlan, ReadinessReport } from '../../machines/vm/vm.types.ts';
import { parseSeed, UsageError } from './usage-error.ts';
import { addDeploymentOptions, resolveDeployment, type DeploymentFlags } from './vm-deployment.ts';
import { listDeploymentVms, runDeploymentCommand } from './vm-deployment-command.ts';

const PROFILES: readonly FaultProfile[] = ['none', 'calm', 'swarm'];

interface VmCliOptions extends DeploymentFlags {
  vm?: string;
  seed?: string;
  profile?: string;
  json?: boolean;
  dryRun?: boolean;
  duration?: string;
  crashAt?: string;
  dataDisks?: string;
}

/** `90s`, `30m`, `2h` or plain milliseconds. */
export function parseDuration(flag: string, value: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new UsageError(`${flag} must be a duration such as 90s, 30m or 2h, got "${value}"`);
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  const ms = unit === 'h' ? n * 3_600_000 : unit === 'm' ? n * 60_000 : unit === 's' ? n * 1_000 : n;
  if (ms <= 0) throw new UsageError(`${flag} must be more than 0, got "${value}"`);
  return ms;
}

function parsePositiveInt(flag: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got "${value}"`);
  return Number(value);
}

/** The job-log steps each operation goes through, in order (the plan's second half). */
export function operationSteps(operation: VmOperationName): string[] {
  const chain = (kind: 'test' | 'live') => [
    StepName.validation,
    StepName.snapshot,
    StepName.injection,
    vmStepName(kind, 'creation'),
    StepName.volumeAttachment,
    vmStepName(kind, 'startup'),
    vmStepName(kind, 'validation'),
    StepName.contextUpdate,
  ];
  const cleanup = ['test-vm-shutdown', 'volume-detach', 'snapshot-revert', 'volume-reattach', 'test-vm-removal', 'snapshot-deletion', StepName.contextUpdate];
  switch (operation) {
    case 'test-failover':
      return chain('test');
    case 'cleanup':
      return [...chain('test'), '(test runs)', ...cleanup];
    case 'failover':
      return [...chain('live'), StepName.snapshotDeletion];
    case 'failback':
      return [...chain('live'), StepName.snapshotDeletion, '(VM runs failed over)', StepName.failbackValidation, vmStepName('live', 'shutdown'), StepName.volumeReattach, vmStepName('live', 'removal'), StepName.contextUpdate];
  }
}

export function formatPlan(operation: VmOperationName, vmId: string, report: ReadinessReport, plan: FailoverPlan | undefined): string {
  const lines = [`Plan: ${operation} of ${vmId}${plan ? ` (${plan.vmName})` : ''}`];
  lines.push(`  readiness score ${report.score} (${report.ready ? 'ready' : 'NOT ready'}; ready at 80, any critical failure gives 0)`);
  const width = Math.max(...report.checks.map((c) => c.name.length));
  for (const c of report.checks) lines.push(`    ${c.passed ? 'ok  ' : 'FAIL'} ${c.name.padEnd(width)}  ${c.critical ? '(critical) ' : ''}${c.message}`);
  if (plan) {
    lines.push(`  deploy ${plan.deploy.name}: offering ${plan.deploy.serviceOfferingId}, template ${plan.deploy.templateId}, network(s) ${plan.deploy.networkIds.join(', ')}, zone ${plan.deploy.zoneId}`);
    plan.volumeIds.forEach((v, i) => lines.push(`  volume ${v} (${plan.devicePaths[v] ?? '?'} on appliance ${plan.applianceVmId}) → ${i === 0 ? 'root disk, device 0' : 'data disk'}`));
  }
  lines.push(`  steps: ${operationSteps(operation).join(' → ')}`);
  return lines.join('\n') + '\n';
}

/** One progress line: `[ 25%] creating_vm       test-vm-creation                      started`. */
export function formatChange(c: JobLogChange): string {
  const pct = `[${String(c.job.progressPercent).padStart(3)}%]`;
  if (c.kind === 'status') return `${pct} ${c.job.status}${c.job.status === 'failed' && c.job.error ? `  ${c.job.error.op}: ${c.job.error.message}` : ''}\n`;
  const step = c.job.steps.find((s) => s.name === c.step);
  const extra = c.state === 'failed' && step?.error ? `  ${step.error.kind}: ${step.error.message}` : step && step.attempt > 1 ? `  (attempt ${step.attempt})` : '';
  return `${pct} ${c.job.status.padEnd(16)} ${c.step.padEnd(38)} ${c.state}${extra}\n`;
}

export function formatSummary(r: VmSimulationResult): string {
  const lines = [`Result: ${r.result} (chart state ${r.state})`];
  for (const j of r.jobs) lines.push(`  job ${j.id} (${j.type}): ${j.status} ${j.progressPercent}%, ${j.steps.length} step(s), correlation ${j.correlationId}`);
  for (const v of r.world.volumes) lines.push(`  volume ${v.volumeId}: ${v.kind}${v.vmName ? ` ${v.vmName}` : ''}${v.deviceId !== undefined ? ` device ${v.deviceId}` : ''}`);
  for (const vm of [...r.world.testVms, ...r.world.liveVms]) lines.push(`  VM ${vm.name}: ${vm.state} (guest ${vm.guest})`);
  lines.push(`  snapshots left: ${r.world.snapshots.length}; VM context: ${r.world.contextStatus}`);
  for (const c of r.conditions.filter((x) => x.type !== 'InProgress')) lines.push(`  condition ${c.type}=${c.status} (${c.reason}): ${c.message}`);
  const broken = r.invariants.filter((i) => !i.held);
  lines.push(`  invariants: ${r.invariants.length - broken.length}/${r.invariants.length} held${broken.length ? `; broken: ${broken.map((b) => `${b.name} (${b.message})`).join('; ')}` : ''}`);
  if (r.failure) lines.push(`  FAILURE (${r.failure.kind}${r.failure.invariant ? ` ${r.failure.invariant}` : ''}): ${r.failure.message}`);
  lines.push(`  seed ${r.seed}, profile ${r.profile}, ${r.transitions} transitions, ${r.crashes} engine crash(es), ${(r.virtualDurationMs / 1000).toFixed(1)} s virtual, trace ${r.traceHash.slice(0, 16)}`);
  lines.push(`  replay: ${r.replay}`);
  return lines.join('\n') + '\n';
}

/** A run ends well when the operation did what it was asked and every invariant held. */
const SUCCESS: Record<VmOperationName, string> = { 'test-failover': 'testRunning', cleanup: 'cleanedUp', failover: 'failedOver', failback: 'failedBack' };

async function runVmCommand(operation: VmOperationName, opts: VmCliOptions, out: (s: string) => void, err: (s: string) => void, cmd?: Command): Promise<void> {
  if (!opts.vm) throw new UsageError('--vm ID is required (the replicated VM, e.g. vm-1001)');
  const deployment = resolveDeployment(opts, process.env, cmd);
  if (deployment) {
    const testDurationMs = opts.duration !== undefined ? parseDuration('--duration', opts.duration) : undefined;
    if (testDurationMs !== undefined && operation !== 'test-failover') throw new UsageError('--duration applies to test-failover only (the test is cleaned up by itself when it passes)');
    return runDeploymentCommand(operation, deployment, { vmId: opts.vm, ...(opts.json ? { json: true } : {}), ...(opts.dryRun ? { dryRun: true } : {}), ...(testDurationMs !== undefined ? { testDurationMs } : {}) }, { out, err });
  }
  const seed = parseSeed(opts.seed ?? '1');
  const profile = (opts.profile ?? 'none') as FaultProfile;
  if (!PROFILES.includes(profile)) throw new UsageError(`--profile must be one of ${PROFILES.join(', ')}, got "${opts.profile}"`);
  const testDurationMs = opts.duration !== undefined ? parseDuration('--duration', opts.duration) : undefined;
  if (testDurationMs !== undefined && operation !== 'test-failover') throw new UsageError('--duration applies to test-failover only (the test is cleaned up by itself when it passes)');
  const crashAtTransition = opts.crashAt !== undefined ? parsePositiveInt('--crash-at', opts.crashAt, 1, 100_000) : undefined;
  const dataDisks = opts.dataDisks !== undefined ? parsePositiveInt('--data-disks', opts.dataDisks, 0, 8) : undefined;
  const world = { seed, operation, vmId: opts.vm, ...(dataDisks !== undefined ? { dataDisks } : {}) };
  try {
    if (opts.dryRun) {
      const p: VmPlanResult = await planVmSimulation(world);
      if (opts.json) out(JSON.stringify({ dryRun: true, ...p, steps: operationSteps(operation) }) + '\n');
      else out(formatPlan(operation, p.vmId, p.report, p.plan));
      return;
    }
    const r = await runVmSimulation({
      ...world,
      profile,
      ...(testDurationMs !== undefined ? { testDurationMs } : {}),
      ...(crashAtTransition !== undefined ? { crashAtTransition } : {}),
      ...(opts.json ? {} : { onPlan: (p) => out(formatPlan(operation, opts.vm!, p.report, p.plan)), onJobChange: (c) => out(formatChange(c)) }),
    });
    if (opts.json) out(JSON.stringify({ ...r, trace: undefined }) + '\n');
    else out(formatSummary(r));
    if (r.failure || r.result !== SUCCESS[operation]) process.exitCode = 1;
  } catch (e) {
    if (e instanceof VmSimulationOptionsError) throw new UsageError(e.message);
    throw e;
  }
}

export function registerVm(program: Command, out: (s: string) => void, err: (s: string) => void = (s) => void process.stderr.write(s)): void {
  const vm = program
    .command('vm')
    .description('Replicated VMs on CloudStack: test failover, cleanup, live failover, failback. Against the simulated cloud by default; against a deployment with --cloudstack-url and the other deployment flags.');
  const ops: Array<[VmOperationName, string]> = [
    ['test-failover', 'Fail a VM over as a test: a test VM runs on the replicated volumes until cleanup.'],
    ['cleanup', 'End a test failover (run first in the simulated world): the test VM goes, the volumes are reverted and return to the appliance.'],
    ['failover', 'Fail a VM over for real: it runs on CloudStack from its replicated volumes.'],
    ['failback', 'Return a failed-over VM (failed over first in the simulated world) to the appliance.'],
  ];
  for (const [name, description] of ops) {
    const c = vm
      .command(name)
      .description(description)
      .option('--vm <id>', 'the replicated VM (e.g. vm-1001)')
      .option('--seed <n>', 'the root seed of the simulated world and its faults', '1')
      .option('--profile <profile>', `faults: ${PROFILES.join(', ')}`, 'none')
      .option('--dry-run', 'print the plan and the readiness score; change nothing')
      .option('--crash-at <k>', 'crash the engine after transition k, then restore it from its snapshot')
      .option('--data-disks <n>', 'data disks per replicated VM in the simulated world (default: from the seed)')
      .option('--json', 'print one JSON object');
    if (name === 'test-failover') c.option('--duration <d>', 'end the test by itself after this long (e.g. 30m): auto-cleanup');
    addDeploymentOptions(c);
    c.action((opts: VmCliOptions, cmd: Command) => runVmCommand(name, opts, out, err, cmd));
  }
  const list = vm
    .command('list')
    .description('List the VMs the appliance replicates (simulated by default), with their readiness for a test failover.')
    .option('--seed <n>', 'the root seed of the simulated world', '1')
    .option('--json', 'print one JSON object');
  addDeploymentOptions(list).action(async (opts: { seed?: string; json?: boolean } & DeploymentFlags, cmd: Command) => {
      const deployment = resolveDeployment(opts, process.env, cmd);
      if (deployment) return listDeploymentVms(deployment, opts.json === true, { out, err });
      const seed = parseSeed(opts.seed ?? '1');
      const first = await planVmSimulation({ seed, operation: 'test-failover' });
      const rows = [];
      for (const k of first.knownVms) {
        const p = await planVmSimulation({ seed, operation: 'test-failover', vmId: k.vmId });
        rows.push({ ...k, readinessScore: p.report.score, ready: p.report.ready, volumes: p.plan?.volumeIds.length ?? 0 });
      }
      if (opts.json) out(JSON.stringify({ seed, vms: rows }) + '\n');
      else for (const r of rows) out(`${r.vmId}  ${r.name.padEnd(10)} ${r.contextStatus.padEnd(20)} readiness ${String(r.readinessScore).padStart(3)}${r.ready ? ' ready' : ''}  volumes ${r.volumes}\n`);
    });
}
