// Why: the one job-log contract, run against the in-memory and the DynamoDB (dynalite) implementations: the
// lifecycle, progress per status, idempotent step upserts and the terminal-status rule.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StepError } from '../../drivers/errors.ts';
import { JOB_PROGRESS_PERCENT, type JobLogPort, type CreateJobRequest } from '../../drivers/joblog/joblog.port.ts';
import type { ManualClock } from '../support/manual-clock.ts';

export interface JobLogHarness {
  port: JobLogPort;
  clock: ManualClock;
  dispose(): Promise<void>;
}

const req = (over: Partial<CreateJobRequest> = {}): CreateJobRequest => ({
  id: 'enhanced-test-failover-vm-1001-1767225600',
  type: 'test-failover',
  vmId: 'vm-1001',
  correlationId: 'corr-1',
  ...over,
});
const boom: StepError = { kind: 'Transient', driver: 'cloudstack', op: 'startVm', message: 'injected', code: 530 };

export function describeJobLogContract(name: string, harness: () => Promise<JobLogHarness>): void {
  describe(`JobLogPort contract (${name})`, () => {
    let h: JobLogHarness;
    beforeEach(async () => {
      h = await harness();
    });
    afterEach(() => h.dispose());

    it('joblog: createJob: a pending job at 0 %; the same request again returns it; another one is Conflict', async () => {
      const job = await h.port.createJob(req());
      expect(job).toMatchObject({ id: req().id, type: 'test-failover', vmId: 'vm-1001', correlationId: 'corr-1', status: 'pending', progressPercent: 0, steps: [] });
      expect(job.createdAtMs).toBe(h.clock.now());
      h.clock.advance(1000);
      expect(await h.port.createJob(req())).toEqual(job);
      await expect(h.port.createJob(req({ vmId: 'vm-2' }))).rejects.toMatchObject({ kind: 'Conflict', reason: 'AlreadyExists' });
      expect(await h.port.getJob(job.id)).toEqual(job);
      expect(await h.port.getJob('nope')).toBeUndefined();
    });

    it('joblog: createJob: a bad request names the field', async () => {
      await expect(h.port.createJob(req({ type: 'migrate' as never }))).rejects.toMatchObject({ kind: 'Invalid', message: expect.stringContaining('type') });
      await expect(h.port.createJob(req({ vmId: '' }))).rejects.toMatchObject({ kind: 'Invalid', message: expect.stringContaining('vmId') });
      await expect(h.port.createJob(req({ id: '' }))).rejects.toMatchObject({ kind: 'Invalid', message: expect.stringContaining('jobId') });
    });

    it('joblog: status: each status sets its progress; failed keeps the last; setting it twice is one write', async () => {
      const { id } = await h.port.createJob(req());
      for (const s of ['validating', 'executing', 'snapshotting', 'creating_vm', 'switching_volume', 'powering_on'] as const) {
        const j = await h.port.setStatus(id, s);
        expect([j.status, j.progressPercent]).toEqual([s, JOB_PROGRESS_PERCENT[s]]);
      }
      const before = await h.port.getJob(id);
      h.clock.advance(5);
      const again = await h.port.setStatus(id, 'powering_on');
      expect(again).toEqual(before);
      const failed = await h.port.setStatus(id, 'failed', { error: boom });
      expect(failed).toMatchObject({ status: 'failed', progressPercent: 70, error: boom });
      expect(failed.updatedAtMs).toBe(h.clock.now());
      expect(failed.version).toBe(before!.version + 1);
    });

    it('joblog: terminal: completed and failed are final (a different write → Conflict; the same one is a no-op)', async () => {
      const { id } = await h.port.createJob(req());
      await h.port.startStep(id, 'pre-failover-validation');
      await h.port.completeStep(id, 'pre-failover-validation');
      const done = await h.port.setStatus(id, 'completed');
      expect(done.progressPercent).toBe(100);
      expect(await h.port.setStatus(id, 'completed')).toEqual(done);
      expect(await h.port.completeStep(id, 'pre-failover-validation')).toEqual(done);
      await expect(h.port.setStatus(id, 'failed')).rejects.toMatchObject({ kind: 'Conflict', reason: 'JobTerminal' });
      await expect(h.port.setStatus(id, 'cleanup')).rejects.toMatchObject({ kind: 'Conflict' });
      await expect(h.port.startStep(id, 'late-step')).rejects.toMatchObject({ kind: 'Conflict' });
      expect(await h.port.getJob(id)).toEqual(done);
    });

    it('joblog: steps: upserted by name, in first-start order; a re-run after restore does not duplicate', async () => {
      const { id } = await h.port.createJob(req());
      h.clock.advance(10);
      await h.port.startStep(id, 'pre-failover-validation', { details: { checks: 5 } });
      h.clock.advance(10);
      await h.port.completeStep(id, 'pre-failover-validation', { details: { readinessScore: 100 } });
      await h.port.startStep(id, 'cloudstack-volume-snapshot-creation');
      // Restore: both steps run again.
      await h.port.startStep(id, 'pre-failover-validation');
      await h.port.completeStep(id, 'pre-failover-validation');
      const again = await h.port.startStep(id, 'cloudstack-volume-snapshot-creation');
      expect(again.steps.map((s) => [s.name, s.status, s.attempt])).toEqual([
        ['pre-failover-validation', 'completed', 1],
        ['cloudstack-volume-snapshot-creation', 'running', 1],
      ]);
      expect(again.steps[0]).toMatchObject({ startedAtMs: h.clock.now() - 10, endedAtMs: h.clock.now(), details: { checks: 5, readinessScore: 100 } });
    });

    it('joblog: steps: a failed step started again is attempt 2; completing clears its error', async () => {
      const { id } = await h.port.createJob(req());
      await h.port.startStep(id, 'test-vm-startup');
      const f = await h.port.failStep(id, 'test-vm-startup', boom);
      expect(f.steps[0]).toMatchObject({ status: 'failed', attempt: 1, error: boom });
      expect(await h.port.failStep(id, 'test-vm-startup', boom)).toEqual(f);
      const r = await h.port.startStep(id, 'test-vm-startup');
      expect(r.steps[0]).toMatchObject({ status: 'running', attempt: 2 });
      expect(r.steps[0].error).toBeUndefined();
      const c = await h.port.completeStep(id, 'test-vm-startup');
      expect(c.steps[0]).toMatchObject({ status: 'completed', attempt: 2 });
      const s = await h.port.skipStep(id, 'virtio-driver-injection', { details: { reason: 'linux guest' } });
      expect(s.steps[1]).toMatchObject({ name: 'virtio-driver-injection', status: 'skipped', details: { reason: 'linux guest' } });
      expect(await h.port.skipStep(id, 'test-vm-startup')).toEqual(s); // a completed step stays completed
    });

    it('joblog: writes to an unknown job are NotFound; bad names and statuses are Invalid', async () => {
      await expect(h.port.setStatus('ghost', 'validating')).rejects.toMatchObject({ kind: 'NotFound' });
      await expect(h.port.startStep('ghost', 'x')).rejects.toMatchObject({ kind: 'NotFound' });
      const { id } = await h.port.createJob(req());
      await expect(h.port.setStatus(id, 'exploding' as never)).rejects.toMatchObject({ kind: 'Invalid', message: expect.stringContaining('status') });
      await expect(h.port.startStep(id, '')).rejects.toMatchObject({ kind: 'Invalid', message: expect.stringContaining('name') });
      await expect(h.port.failStep(id, 'x', undefined as never)).rejects.toMatchObject({ kind: 'Invalid', message: expect.stringContaining('error') });
    });

    it('joblog: listJobs: by VM, active only, newest first', async () => {
      await h.port.createJob(req({ id: 'a' }));
      h.clock.advance(1);
      await h.port.createJob(req({ id: 'b', type: 'cleanup' }));
      h.clock.advance(1);
      await h.port.createJob(req({ id: 'c', vmId: 'vm-2' }));
      await h.port.setStatus('a', 'failed', { error: boom });
      expect((await h.port.listJobs()).map((j) => j.id)).toEqual(['c', 'b', 'a']);
      expect((await h.port.listJobs({ vmId: 'vm-1001' })).map((j) => j.id)).toEqual(['b', 'a']);
      expect((await h.port.listJobs({ vmId: 'vm-1001', activeOnly: true })).map((j) => j.id)).toEqual(['b']);
      expect(await h.port.listJobs({ vmId: 'vm-none' })).toEqual([]);
    });

    it('joblog: concurrent step writes on one job both land', async () => {
      const { id } = await h.port.createJob(req());
      await Promise.all([h.port.startStep(id, 's1'), h.port.startStep(id, 's2'), h.port.startStep(id, 's3'), h.port.setStatus(id, 'validating')]);
      const j = await h.port.getJob(id);
      expect(j!.steps.map((s) => s.name).sort()).toEqual(['s1', 's2', 's3']);
      expect(j!.status).toBe('validating');
      expect(j!.version).toBe(5);
    });

    it('joblog: records are JSON-safe', async () => {
      const { id } = await h.port.createJob(req());
      const j = await h.port.failStep(id, 'x', boom, { details: { device: '/dev/vdb' } });
      expect(JSON.parse(JSON.stringify(j))).toEqual(j);
    });
  });
}
