// Why: the engine's CRDs and the daemon's readers of them are the user-facing contract: the CRDs must load and be
// served, carry the immutability rule and printer columns, and every bad value must be reported with its field.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../drivers/cluster/cluster.port.ts';
import { createRegistry } from '../../simulator/kube/registry.ts';
import { ENGINE_CRD_DIR, loadCrds } from '../../src/crds.ts';
import { FailoverGroupKind, FailoverKind } from '../../src/daemon/api.ts';
import { formatDurationMs, parseDurationMs } from '../../src/daemon/duration.ts';
import { failoverIdOf, failoverObject, failoverSpecFromObject } from '../../src/daemon/failover-spec.ts';
import { failoverGroupObject, groupSpecFromObject } from '../../src/daemon/group-spec.ts';
import { scenarioByName } from '../../simulator/scenarios/index.ts';

const engine = loadCrds(ENGINE_CRD_DIR);
const version = (crd: KubeObject) => (crd.spec as any).versions[0];

describe('daemon: engine CRDs', () => {
  it('crds: FailoverGroup and Failover load with the upstream CRDs and are served by the simulated API server', () => {
    expect(engine.map((c) => c.metadata.name)).toEqual(['failovergroups.failover-engine.io', 'failovers.failover-engine.io']);
    expect(loadCrds().map((c) => c.metadata.name)).toEqual(expect.arrayContaining(['failovergroups.failover-engine.io', 'failovers.failover-engine.io', 'volumereplications.replication.storage.openshift.io']));
    const reg = createRegistry(engine);
    expect(reg.lookup(FailoverGroupKind)).toMatchObject({ plural: 'failovergroups', namespaced: true, statusSubresource: true });
    expect(reg.lookup(FailoverKind)).toMatchObject({ plural: 'failovers', namespaced: true, statusSubresource: true });
  });

  it('crds: Failover.spec is immutable by a CEL rule; printer columns Status, State, Mode, Target', () => {
    const fo = engine.find((c) => c.spec?.names && (c.spec.names as any).kind === 'Failover')!;
    const spec = version(fo).schema.openAPIV3Schema.properties.spec;
    expect(spec['x-kubernetes-validations']).toEqual([{ rule: 'self == oldSelf', message: 'Failover spec is immutable; create a new Failover instead' }]);
    expect(spec.required).toEqual(['targetCluster', 'failoverMode', 'failoverGroups']);
    expect(spec.properties.failoverMode.enum).toEqual(['CONSISTENCY', 'UPTIME']);
    expect(version(fo).additionalPrinterColumns.map((c: any) => c.name)).toEqual(['Status', 'State', 'Mode', 'Target', 'Phase', 'Age']);
  });

  it('crds: FailoverGroup durations are strings with defaults; printer columns Health, Suspended, Active', () => {
    const fg = engine.find((c) => (c.spec?.names as any).kind === 'FailoverGroup')!;
    const spec = version(fg).schema.openAPIV3Schema.properties.spec;
    expect(spec.properties.timeouts.properties.heartbeat).toMatchObject({ type: 'string', default: '1m' });
    expect(spec.properties.heartbeatInterval).toMatchObject({ type: 'string', default: '30s' });
    expect(spec['x-kubernetes-validations'][0].rule).toMatch(/duration\(self\.timeouts\.heartbeat\) > duration\(self\.heartbeatInterval\)$/);
    expect(version(fg).additionalPrinterColumns.map((c: any) => c.name)).toEqual(['Health', 'Suspended', 'Active', 'Age']);
  });
});

describe('daemon: reading the objects', () => {
  it('duration: "30s", "5m", "1h30m", "1.5s", "250ms" parse; anything else names the field and the fix', () => {
    expect(parseDurationMs('30s', 'f')).toBe(30_000);
    expect(parseDurationMs('5m', 'f')).toBe(300_000);
    expect(parseDurationMs('1h30m', 'f')).toBe(5_400_000);
    expect(parseDurationMs('1.5s', 'f')).toBe(1_500);
    expect(parseDurationMs('250ms', 'f')).toBe(250);
    expect(() => parseDurationMs('5 minutes', 'spec.timeouts.heartbeat')).toThrow(/^spec\.timeouts\.heartbeat: "5 minutes" is not a duration: write it as .* "30s", "5m" or "1h30m"$/);
    expect(() => parseDurationMs(30, 'spec.heartbeatInterval')).toThrow(/^spec\.heartbeatInterval: 30 must be a duration string/);
    expect(() => parseDurationMs('0s', 'x')).toThrow(/at least 1ms/);
    expect(() => parseDurationMs('200h', 'x')).toThrow(/at most 168h/);
    expect(formatDurationMs(5_400_000)).toBe('1h30m');
    expect(formatDurationMs(90_500)).toBe('1m30s500ms');
  });

  it('group spec: an object round-trips to the engine spec (durations as strings)', () => {
    const spec = scenarioByName('sample').groups[0].spec;
    const r = groupSpecFromObject(failoverGroupObject(spec));
    expect(r).toEqual({ ok: true, spec });
  });

  it('group spec: every problem is reported with its field', () => {
    const obj = failoverGroupObject(scenarioByName('sample').groups[0].spec);
    const s = obj.spec as any;
    s.timeouts.unhealthyPrimary = 'two minutes';
    s.heartbeatInterval = '90s';
    s.workloads[0].kind = 'Job';
    s.workloads.push({ kind: 'StatefulSet', name: 'db' });
    s.networkResources[0] = { kind: 'Gateway', name: 'x' };
    const r = groupSpecFromObject(obj);
    expect(r.ok).toBe(false);
    const problems = (r as { problems: string[] }).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^spec\.timeouts\.unhealthyPrimary: "two minutes" is not a duration/),
        expect.stringMatching(/^spec\.workloads\[0\]\.kind: must be one of Deployment, StatefulSet, CronJob \(got "Job"\)/),
        expect.stringMatching(/^spec\.workloads\[4\]: StatefulSet\/db is listed twice/),
        expect.stringMatching(/^spec\.networkResources\[0\]\.kind: must be one of VirtualService, Ingress/),
        expect.stringMatching(/^spec\.timeouts\.heartbeat: 1m must be longer than spec\.heartbeatInterval \(1m30s\)/),
      ]),
    );
  });

  it('failover spec: defaults (planned, no force) and problems naming the field', () => {
    const ok = failoverSpecFromObject(failoverObject({ name: 'f', namespace: 'shop', targetCluster: 'west', mode: 'UPTIME', groups: [{ name: 'storefront' }] }));
    expect(ok).toEqual({ ok: true, spec: { targetCluster: 'west', mode: 'UPTIME', type: 'planned', force: false, reason: '', groups: [{ name: 'storefront', namespace: 'shop' }] } });
    const bad = failoverSpecFromObject({ apiVersion: 'failover-engine.io/v1alpha1', kind: 'Failover', metadata: { name: 'f', namespace: 'shop' }, spec: { failoverMode: 'FAST', force: 'yes', failoverGroups: [] } });
    expect(bad.ok).toBe(false);
    expect((bad as { problems: string[] }).problems).toEqual([
      'spec.targetCluster: must name the cluster to fail over to (got nothing)',
      'spec.failoverMode: must be CONSISTENCY or UPTIME (got "FAST")',
      'spec.force: must be true or false (got "yes")',
      'spec.failoverGroups: must list at least one FailoverGroup as {name, namespace} (got [])',
    ]);
  });

  it('failover id: the same on both clusters, unique per Failover and group, a valid label value', () => {
    const a = failoverIdOf({ namespace: 'shop', name: 'move-1' }, { namespace: 'shop', name: 'storefront' });
    expect(a).toBe(failoverIdOf({ namespace: 'shop', name: 'move-1' }, { namespace: 'shop', name: 'storefront' }));
    expect(a).not.toBe(failoverIdOf({ namespace: 'shop2', name: 'move-1' }, { namespace: 'shop', name: 'storefront' }));
    expect(a).not.toBe(failoverIdOf({ namespace: 'shop', name: 'move-1' }, { namespace: 'shop', name: 'cart' }));
    const long = failoverIdOf({ namespace: 'shop', name: `auto-failover-${'x'.repeat(200)}-20260101-000000` }, { namespace: 'shop', name: 'x' });
    for (const id of [a, long]) {
      expect(id.length).toBeLessThanOrEqual(63);
      expect(id).toMatch(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/);
    }
  });
});
