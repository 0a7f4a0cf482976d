// Why: what `failoverctl vm …` does against a real deployment once the flags are checked: build the real drivers,
// print the plan and one line per job-log change as the chart runs, then where every volume, VM and snapshot is
// as CloudStack says. Its logs go to stderr through pino (level LOG_LEVEL, default warn), secrets redacted.
import type { Logger } from 'pino';
import { DriverError } from '../../drivers/errors.ts';
import { createRootLogger } from '../log.ts';
import { observeVmWorld, OPERATION_SUCCESS, planVmOperation, runVmOperation, VmOperationInputError, type VmOperationResult } from '../runtime/vm-operation.ts';
import type { VmOperationName } from '../wire/vm-failover.ts';
import { UsageError } from './usage-error.ts';
import { buildDeploymentDeps, type DeploymentConfig } from './vm-deployment.ts';
import { formatChange, formatPlan, operationSteps } from './vm.ts';

export interface DeploymentIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

export interface DeploymentCommandOptions {
  vmId: string;
  json?: boolean;
  dryRun?: boolean;
  testDurationMs?: number;
}

/** The CLI's logger: JSON lines on stderr, redacted. */
export function deploymentLogger(err: (s: string) => void): Logger {
  return createRootLogger({ level: process.env.LOG_LEVEL ?? 'warn', destination: { write: (s: string) => err(s) } });
}

export function formatDeploymentSummary(r: VmOperationResult): string {
  const lines = [`Result: ${r.result} (chart state ${r.state || 'none'})`];
  for (const j of r.jobs) lines.push(`  job ${j.id} (${j.type}): ${j.status} ${j.progressPercent}%, ${j.steps.length} step(s), correlation ${j.correlationId}`);
  for (const v of r.world.volumes) lines.push(`  volume ${v.volumeId}: ${v.kind}${v.vmName ? ` ${v.vmName}` : ''}${v.deviceId !== undefined ? ` device ${v.deviceId}` : ''}`);
  for (const vm of [...r.world.testVms, ...r.world.liveVms]) lines.push(`  VM ${vm.name} (${vm.id}): ${vm.state}`);
  lines.push(`  snapshots left: ${r.world.snapshots.length}; VM context: ${r.world.contextStatus}`);
  for (const c of r.conditions.filter((x) => x.type !== 'InProgress')) lines.push(`  condition ${c.type}=${c.status} (${c.reason}): ${c.message}`);
  if (r.result === 'testRunning') lines.push(`  the test VM runs; end the test with: failoverctl vm cleanup --vm ${r.vmId} (same deployment flags)`);
  return lines.join('\n') + '\n';
}

/** One line for a failure to reach the deployment (no stack: the operator needs what and where). */
function reportDriverError(e: DriverError, io: DeploymentIo): void {
  io.err(`failoverctl: ${e.driver}: ${e.message} (${e.kind}${e.reason ? `/${e.reason}` : ''})\n`);
  process.exitCode = 1;
}

export async function runDeploymentCommand(operation: VmOperationName, cfg: DeploymentConfig, o: DeploymentCommandOptions, io: DeploymentIo): Promise<void> {
  const log = deploymentLogger(io.err);
  const { deps, close } = buildDeploymentDeps(cfg, log);
  try {
    if (o.dryRun) {
      const p = await planVmOperation(deps, operation, o.vmId);
      if (o.json) io.out(JSON.stringify({ dryRun: true, vmId: o.vmId, operation, ...p, steps: operationSteps(operation) }) + '\n');
      else io.out(formatPlan(operation, o.vmId, p.report, p.plan));
      return;
    }
    const r = await runVmOperation({
      operation,
      vmId: o.vmId,
      deps,
      ...(o.testDurationMs !== undefined ? { testDurationMs: o.testDurationMs } : {}),
      ...(o.json ? {} : { onPlan: (p) => io.out(formatPlan(operation, o.vmId, p.report, p.plan)), onJobChange: (c) => io.out(formatChange(c)) }),
    });
    if (o.json) io.out(JSON.stringify(r) + '\n');
    else io.out(formatDeploymentSummary(r));
    const wanted = operation === 'test-failover' && o.testDurationMs !== undefined ? 'cleanedUp' : OPERATION_SUCCESS[operation];
    if (r.result !== wanted) process.exitCode = 1;
  } catch (e) {
    if (e instanceof VmOperationInputError) throw new UsageError(e.message);
    if (e instanceof DriverError) return reportDriverError(e, io);
    throw e;
  } finally {
    close();
  }
}

/** `vm list` against a deployment: the appliance's VMs, their context and readiness for a test failover. */
export async function listDeploymentVms(cfg: DeploymentConfig, json: boolean, io: DeploymentIo): Promise<void> {
  const log = deploymentLogger(io.err);
  const { deps, close } = buildDeploymentDeps(cfg, log);
  try {
    const rows = [];
    for (const v of await deps.directory.listVms({ log })) {
      const p = await planVmOperation(deps, 'test-failover', v.vmId);
      const world = await observeVmWorld(deps, v.vmId);
      rows.push({ vmId: v.vmId, name: v.name, contextStatus: v.contextStatus, readinessScore: p.report.score, ready: p.report.ready, volumes: v.volumeIds.length, testVms: world.testVms.length, liveVms: world.liveVms.length });
    }
    if (json) io.out(JSON.stringify({ vms: rows }) + '\n');
    else for (const r of rows) io.out(`${r.vmId}  ${r.name.padEnd(10)} ${r.contextStatus.padEnd(20)} readiness ${String(r.readinessScore).padStart(3)}${r.ready ? ' ready' : ''}  volumes ${r.volumes}\n`);
  } catch (e) {
    if (e instanceof DriverError) return reportDriverError(e, io);
    throw e;
  } finally {
    close();
  }
}
