// Why: `failoverctl vm test-failover` then `vm cleanup` against a deployment, end to end through the REAL clients
// (signed CloudStack, Volume Daemon and appliance over HTTP, the DynamoDB job log on dynalite) against the
// simulated cloud served over HTTP. Two separate runs, as two CLI invocations are: the cleanup finds the test by
// looking (job log, names), and the world afterwards is as a cleanup must leave it. Virtual time runs while real
// requests are in flight (held fetch; DynamoDB calls hold the world while they are on the wire).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simClock } from '../../drivers/clock/clock.sim.ts';
import { ensureTable } from '../../drivers/globalstate/dynamodb.table.ts';
import { SimInjection } from '../../drivers/injection/injection.sim.ts';
import { DynamoJobLog } from '../../drivers/joblog/joblog.dynamodb.ts';
import type { JobLogPort } from '../../drivers/joblog/joblog.port.ts';
import { standardCloud } from '../../simulator/cloudstack/cloud.fixture.ts';
import { cloudInvariants } from '../../simulator/cloudstack/cloud.invariants.ts';
import { SimKernel } from '../../simulator/kernel.ts';
import type { Scheduler } from '../../simulator/scheduler.ts';
import { serveApplianceApi } from '../../simulator/serve/appliance-api.ts';
import { serveCloudStackApi } from '../../simulator/serve/cloudstack-api.ts';
import { heldFetch } from '../../simulator/serve/request-holds.ts';
import { serveVolumeDaemonApi } from '../../simulator/serve/volumedaemon-api.ts';
import { SimVolumeDaemon } from '../../simulator/volumedaemon/daemon.ts';
import { buildDeploymentDeps, resolveDeployment } from '../../src/cli/vm-deployment.ts';
import { formatDeploymentSummary } from '../../src/cli/vm-deployment-command.ts';
import { createRootLogger, memoryDestination } from '../../src/log.ts';
import { runVmOperation } from '../../src/runtime/vm-operation.ts';
import type { JobLogChange } from '../../src/wire/vm-failover.ts';
import { startDynalite, type DynaliteHandle } from '../support/dynalite.ts';

/** The job log with the simulated world held while each DynamoDB call is on the wire (it is real I/O). */
function heldJobLog(sched: Scheduler, inner: JobLogPort): JobLogPort {
  const held =
    <A extends unknown[], R>(f: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      const release = sched.hold();
      try {
        return await f(...a);
      } finally {
        release();
      }
    };
  return {
    createJob: held((r, o) => inner.createJob(r, o)),
    getJob: held((id, o) => inner.getJob(id, o)),
    listJobs: held((f, o) => inner.listJobs(f, o)),
    setStatus: held((id, s, o) => inner.setStatus(id, s, o)),
    startStep: held((id, n, o) => inner.startStep(id, n, o)),
    completeStep: held((id, n, o) => inner.completeStep(id, n, o)),
    failStep: held((id, n, e, o) => inner.failStep(id, n, e, o)),
    skipStep: held((id, n, o) => inner.skipStep(id, n, o)),
  };
}

let dyn: DynaliteHandle;
beforeAll(async () => {
  dyn = await startDynalite();
});
afterAll(async () => {
  await dyn?.stop();
});

describe('vm against a deployment: real clients, served simulated cloud', () => {
  it('vm deployment e2e: test-failover then cleanup (two runs) through the real clients leave the volumes reverted on the appliance, no test VM, no snapshot', async () => {
    const kernel = new SimKernel({ seed: 77, keepTraceLines: true });
    const world = standardCloud(kernel, { sourceVms: 2, dataDisks: 1 });
    for (const inv of cloudInvariants(world.cloud)) kernel.addInvariant(inv);
    const daemon = new SimVolumeDaemon(world.cloud);
    const cs = await serveCloudStackApi(world.cloud);
    const vd = await serveVolumeDaemonApi(daemon);
    const ap = await serveApplianceApi(world.cloud);
    const table = 'vm-e2e-joblog';
    await ensureTable(dyn.client, table);
    const env = { CLOUDSTACK_SECRET_KEY: cs.secretKey, APPLIANCE_TOKEN: ap.token };
    const cfg = resolveDeployment(
      { cloudstackUrl: cs.endpoint, apiKey: cs.apiKey, volumeDaemonUrl: vd.baseUrl, applianceUrl: ap.baseUrl, joblogTable: table, dynamodbEndpoint: dyn.endpoint },
      env,
    )!;
    const logs = memoryDestination();
    const log = createRootLogger({ destination: logs, level: 'debug', now: () => kernel.now() });
    const clock = simClock(kernel.sched);
    // One CLI invocation: fresh drivers, fresh job-log client; only the world and the job log's table persist.
    const invocation = () =>
      buildDeploymentDeps(cfg, log, {
        fetch: heldFetch(kernel.sched),
        clock,
        injection: new SimInjection(world.cloud),
        jobLog: heldJobLog(kernel.sched, new DynamoJobLog(dyn.newClient(), { tableName: table, clock })),
      });
    const vmId = 'vm-1001';
    const volumes = world.cloud.getSourceVm(vmId)!.volumeIds;
    try {
      const first = invocation();
      const changes: JobLogChange[] = [];
      const test = await kernel.resolve(
        runVmOperation({ operation: 'test-failover', vmId, deps: first.deps, xstateClock: kernel.sched.xstateClock, onJobChange: (c) => changes.push(c) }),
      );
      first.close();
      expect(test.result, formatDeploymentSummary(test)).toBe('testRunning');
      // The test runs: the volumes on the booted test VM (boot disk at device 0), a snapshot each, context failed_over_test.
      expect(world.cloud.testVms().map((v) => [v.name, v.state, v.guest])).toEqual([['app01-test', 'Running', 'booted']]);
      expect(volumes.map((id) => world.cloud.whereIs(id))).toMatchObject([
        { kind: 'vm', role: 'test', deviceId: 0 },
        { kind: 'vm', role: 'test' },
      ]);
      expect(world.cloud.snapshotsOf().map((s) => s.volumeId).sort()).toEqual([...volumes].sort());
      expect(test.world).toMatchObject({ contextStatus: 'failed_over_test', testVms: [{ name: 'app01-test', state: 'Running' }], liveVms: [] });
      expect(test.world.volumes.map((v) => v.kind)).toEqual(['test', 'test']);
      expect(test.jobs.map((j) => [j.type, j.status, j.progressPercent])).toEqual([['test-failover', 'completed', 100]]);
      expect(changes.some((c) => c.kind === 'step' && c.step === 'test-vm-creation' && c.state === 'started')).toBe(true);

      const second = invocation();
      const cleanup = await kernel.resolve( runVmOperation({ operation: 'cleanup', vmId, deps: second.deps, xstateClock: kernel.sched.xstateClock }));
      second.close();
      expect(cleanup.result, formatDeploymentSummary(cleanup)).toBe('cleanedUp');
      // The world after the cleanup, as the simulator knows it …
      for (const [i, id] of volumes.entries()) {
        expect(world.cloud.whereIs(id)).toEqual({ kind: 'appliance', vmId: world.appliance.id, deviceId: expect.any(Number) });
        expect(world.cloud.volume(id)!.data, `volume ${i}`).toEqual({ generation: 1, virtio: false, dirty: false });
      }
      expect(world.cloud.testVms()).toEqual([]);
      expect(world.cloud.snapshotsOf()).toEqual([]);
      expect(world.cloud.getSourceVm(vmId)!.contextStatus).toBe('ready_for_failover');
      // … and as the real clients observed it.
      expect(cleanup.world).toEqual({ volumes: volumes.map((id) => ({ volumeId: id, kind: 'appliance', deviceId: expect.any(Number) })), testVms: [], liveVms: [], snapshots: [], contextStatus: 'ready_for_failover' });
      // The cleanup found the test's job in the job log: its own job carries the test's correlation id.
      expect(cleanup.correlationId).toBe(test.correlationId);
      expect(cleanup.jobs.map((j) => [j.id, j.type, j.status])).toEqual([
        [test.jobId, 'test-failover', 'completed'],
        [`${test.jobId}-cleanup`, 'cleanup', 'completed'],
      ]);
      expect(kernel.invariantResults().filter((r) => !r.held)).toEqual([]);
      // The requests really went over the wire, signed and authenticated, and no secret reached a log line.
      expect(kernel.trace.lines.some((l) => l.includes('cloudstack.api.unauthorized') || l.includes('appliance.api.unauthorized'))).toBe(false);
      const text = logs.lines.join('\n');
      expect(text).toContain('"driver":"appliance"');
      for (const secret of [cs.secretKey, ap.token]) expect(text).not.toContain(secret);
    } finally {
      await Promise.all([cs.close(), vd.close(), ap.close()]);
    }
  });
});
