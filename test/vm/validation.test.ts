// Why: the readiness score is the reference's rule (passed/total × 100, any critical failure gives 0, 80 or
// more is ready); these tests pin each check and the rule, and that the derived status and the job log agree
// on the progress table.
import { describe, expect, it } from 'vitest';
import { JOB_PROGRESS_PERCENT } from '../../drivers/joblog/joblog.port.ts';
import { planFailover, READY_SCORE_MIN, scoreChecks, validateFailback, validateFailover } from '../../machines/vm/validation.ts';
import { VM_JOB_PROGRESS_PERCENT } from '../../machines/vm/vm.status.ts';
import { sanitizeVmName, snapshotName, targetVmName } from '../../machines/vm/vm.names.ts';
import { StubCloud, readyFacts } from './stub-ops.ts';

const none = { vmIds: [], snapshotNames: [] };

describe('vm validation', () => {
  it('validation: every check passes on a healthy VM (score 100, ready)', () => {
    const r = validateFailover(readyFacts(new StubCloud()).facts, 'test', none);
    expect(r).toMatchObject({ score: 100, ready: true, criticalFailures: [] });
    expect(r.checks.map((c) => c.name)).toEqual([
      'vm-known',
      'vm-specs',
      'vm-context-ready',
      'no-active-jobs',
      'last-replication-succeeded',
      'network-mappings',
      'nic-present',
      'volumes-ready',
      'appliance-running',
      'service-offering',
      'offering-exact',
      'replication-fresh',
      'no-leftovers',
    ]);
  });

  it('validation: one non-critical failure keeps the VM ready (12/13 = 92)', () => {
    const f = readyFacts(new StubCloud()).facts;
    f.offering = { id: 'off-large', cpuNumber: 8, memoryMb: 32768 };
    const r = validateFailover(f, 'test', none);
    expect(r).toMatchObject({ passed: 12, total: 13, score: 92, ready: true });
    expect(r.checks.find((c) => c.name === 'offering-exact')?.message).toMatch(/larger than the VM/);
  });

  it('validation: three non-critical failures fall below 80 (10/13 = 76, not ready)', () => {
    const f = readyFacts(new StubCloud()).facts;
    f.offering = { id: 'off-large', cpuNumber: 8, memoryMb: 32768 };
    f.nowMs = 3 * 24 * 3_600_000;
    f.vm!.nics = [];
    const r = validateFailover(f, 'test', none);
    expect(r).toMatchObject({ passed: 10, total: 13, score: 76, ready: false, criticalFailures: [] });
    expect(READY_SCORE_MIN).toBe(80);
  });

  it('validation: any critical failure gives 0 (cpu_count 0, active job, unmapped NIC, volume not Ready, leftovers)', () => {
    const cases: Array<[string, (f: ReturnType<typeof readyFacts>) => void, RegExp]> = [
      ['vm-specs', (g) => (g.facts.vm!.cpuCount = 0), /cpu_count 0/],
      ['no-active-jobs', (g) => (g.facts.activeJobIds = ['job-9']), /job\(s\) job-9 still active/],
      ['no-active-jobs', (g) => (g.facts.vm!.lastReplication.status = 'replicating'), /replication is replicating/],
      ['network-mappings', (g) => (g.facts.vm!.networkMappings = {}), /no network mapping for source network\(s\) VM Network/],
      ['network-mappings', (g) => (g.facts.networks = []), /do not exist in zone/],
      ['volumes-ready', (g) => (g.facts.volumes[0].state = 'Allocated'), /vol-1 \(Allocated\) not Ready/],
      ['volumes-ready', (g) => delete g.facts.volumes[0].attachedToVmId, /vol-1 \(Ready, detached\)/],
      ['vm-context-ready', (g) => (g.facts.vm!.contextStatus = 'failed_over_test'), /clean up the running test first/],
      ['no-leftovers', (g) => (g.leftovers = { vmIds: ['vm-7'], snapshotNames: [] }), /VM vm-7 \(app01-test\)/],
      ['last-replication-succeeded', (g) => delete g.facts.vm!.lastReplication.changeId, /no successful sync/],
    ];
    for (const [name, mutate, message] of cases) {
      const g = readyFacts(new StubCloud());
      mutate(g);
      const r = validateFailover(g.facts, 'test', g.leftovers);
      expect(r.score, name).toBe(0);
      expect(r.ready).toBe(false);
      expect(r.criticalFailures).toContain(name);
      expect(r.checks.find((c) => c.name === name)?.message).toMatch(message);
    }
  });

  it('validation: an unknown VM fails vm-known and makes no plan', () => {
    const f = readyFacts(new StubCloud()).facts;
    delete f.vm;
    expect(validateFailover(f, 'test', none).criticalFailures).toContain('vm-known');
    expect(planFailover(f, 'test')).toBeUndefined();
  });

  it('validation: the plan deploys <name>-test with the mapped networks, boot volume first', () => {
    const p = planFailover(readyFacts(new StubCloud(['vol-a', 'vol-b'])).facts, 'test');
    expect(p).toMatchObject({ vmName: 'app01', applianceVmId: 'appliance-1', volumeIds: ['vol-a', 'vol-b'], devicePaths: { 'vol-a': '/dev/vdb', 'vol-b': '/dev/vdc' } });
    expect(p?.deploy).toMatchObject({ name: 'app01-test', networkIds: ['net-test'], serviceOfferingId: 'off-small', templateId: 'tpl-1' });
  });

  it('validation: scoreChecks with no checks is 0, not ready', () => {
    expect(scoreChecks([])).toMatchObject({ score: 0, ready: false });
  });

  it('validation: failback needs failed_over_live, the live VM and the volumes on it', () => {
    const r = validateFailback({ vmId: 'vm-1', vm: { name: 'app01', contextStatus: 'ready_for_failover', volumeIds: ['v'] }, volumes: [], activeJobIds: [], appliance: { vmId: 'a', state: 'Running' } });
    expect(r.score).toBe(0);
    expect(r.criticalFailures).toEqual(['vm-context-failed-over', 'live-vm-present', 'volumes-on-live-vm']);
  });

  it('names: deterministic and valid CloudStack host names', () => {
    expect(targetVmName('test', 'App_01 (prod)')).toBe('app-01-prod-test');
    expect(targetVmName('live', '9lives')).toBe('vm-9lives-live');
    expect(targetVmName('test', 'x'.repeat(80)).length).toBeLessThanOrEqual(63);
    expect(sanitizeVmName('--a--b--')).toBe('a-b');
    expect(snapshotName('test', 'vm-1', 'vol-1')).toBe('test-failover-vm-1-vol-1');
  });

  it('status: the charts restate the job log progress table exactly', () => {
    expect(VM_JOB_PROGRESS_PERCENT).toEqual(JOB_PROGRESS_PERCENT);
  });
});
