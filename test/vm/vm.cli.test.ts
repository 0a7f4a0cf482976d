// Why: `failoverctl vm …` is how an operator drives VM failover; its plan, progress lines, summary, exit codes
// and one-line errors are part of the product.
import { afterEach, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.ts';
import { formatChange, parseDuration } from '../../src/cli/vm.ts';

afterEach(() => {
  process.exitCode = undefined;
});

describe('failoverctl vm', () => {
  it('cli vm: test-failover prints the plan with the score, one line per status and step change, and the summary', async () => {
    const r = await cli('vm', 'test-failover', '--vm', 'vm-1001', '--seed', '3');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Plan: test-failover of vm-1001 \(app01\)\n {2}readiness score 100 \(ready;/m);
    expect(r.out).toMatch(/^\[ 25%\] creating_vm +test-vm-creation +started$/m);
    expect(r.out).toMatch(/^\[100%\] completed$/m);
    const planAt = r.out.indexOf('Plan:');
    expect(planAt).toBeLessThan(r.out.indexOf('[ 55%] snapshotting'));
    expect(r.out).toMatch(/^Result: testRunning/m);
    expect(r.out).toMatch(/replay: npx failoverctl vm test-failover --vm vm-1001 --seed 3 --profile none/);
  });

  it('cli vm: --dry-run prints the plan and changes nothing; --json gives one object', async () => {
    const dry = await cli('vm', 'failover', '--vm', 'vm-1002', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/^Plan: failover of vm-1002 \(app02\)/);
    expect(dry.out).toMatch(/deploy app02-live:/);
    expect(dry.out).not.toMatch(/\[\s*\d+%\]/);
    const json = await cli('vm', 'cleanup', '--vm', 'vm-1001', '--seed', '4', '--profile', 'calm', '--json');
    expect(json.code).toBe(0);
    const o = JSON.parse(json.out);
    expect(o).toMatchObject({ operation: 'cleanup', result: 'cleanedUp', vmId: 'vm-1001', profile: 'calm' });
    expect(o.jobs.map((j: { type: string; status: string }) => [j.type, j.status])).toEqual([
      ['test-failover', 'completed'],
      ['cleanup', 'completed'],
    ]);
  });

  it('cli vm: an unknown VM, a missing --vm or a bad flag is one line on stderr and exit 2', async () => {
    for (const [args, message] of [
      [['vm', 'test-failover', '--vm', 'vm-404'], /^failoverctl: unknown VM "vm-404": the simulated appliance replicates vm-1001, vm-1002\n$/],
      [['vm', 'failback'], /^failoverctl: --vm ID is required/],
      [['vm', 'failover', '--vm', 'vm-1001', '--profile', 'loud'], /^failoverctl: --profile must be one of none, calm, swarm, got "loud"\n$/],
      [['vm', 'test-failover', '--vm', 'vm-1001', '--duration', 'soon'], /^failoverctl: --duration must be a duration such as 90s, 30m or 2h, got "soon"\n$/],
      [['vm', 'cleanup', '--vm', 'vm-1001', '--crash-at', '0'], /^failoverctl: --crash-at must be an integer from 1 to 100000, got "0"\n$/],
    ] as const) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
  });

  it('cli vm: --crash-at crashes the engine after transition k; the restored run still ends failed over (exit 0)', async () => {
    const crashed = await cli('vm', 'failover', '--vm', 'vm-1001', '--seed', '7', '--crash-at', '5');
    expect(crashed.code).toBe(0);
    expect(crashed.out).toMatch(/1 engine crash\(es\)/);
    expect(crashed.out).toMatch(/^Result: failedOver/m);
  });

  it('cli vm: list shows the replicated VMs with their readiness', async () => {
    const r = await cli('vm', 'list', '--seed', '2');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^vm-1001 {2}app01 +ready_for_failover +readiness 100 ready/m);
    expect(r.out.trim().split('\n')).toHaveLength(2);
  });

  it('cli vm: durations and progress lines are formatted as documented', () => {
    expect(parseDuration('--duration', '90s')).toBe(90_000);
    expect(parseDuration('--duration', '30m')).toBe(1_800_000);
    expect(parseDuration('--duration', '2h')).toBe(7_200_000);
    const job = { id: 'j', type: 'test-failover' as const, vmId: 'vm', correlationId: 'c', status: 'creating_vm' as const, progressPercent: 25, steps: [{ name: 'test-vm-creation', status: 'running' as const, attempt: 1 }], createdAtMs: 0, updatedAtMs: 0, version: 3 };
    expect(formatChange({ kind: 'step', job, step: 'test-vm-creation', state: 'started' })).toBe(`[ 25%] creating_vm      ${'test-vm-creation'.padEnd(38)} started\n`);
  });
});
