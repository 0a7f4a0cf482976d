// Why: what the real driver adds on top of the contract: the one error mapping (HTTP status and Status reason to
// DriverError kinds), bounded conflict retry only where the caller asked for it, a timeout on every request,
// the caller's own abort passed through untouched, and raw JSON (no typed serializer losing fields).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { KubernetesCluster } from '../../drivers/cluster/cluster.kubernetes.ts';
import { Kinds, type KubeObject } from '../../drivers/cluster/cluster.port.ts';
import { fromKubeStatus, toKubeDriverError } from '../../drivers/cluster/kubernetes.errors.ts';
import { DriverError } from '../../drivers/errors.ts';
import { simKubeConfigYaml } from '../../simulator/serve/sim-kubeconfig.ts';
import { configMap, kubeHttpHarness, type KubeHttpHarness } from './kube-harness.ts';

const status = (code: number, reason: string, message = 'm', causes?: object[]) => ({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message, details: causes ? { causes } : {} });

describe('kubernetes driver: error mapping', () => {
  it('errors: HTTP status gives the kind, the Status object the reason, message and causes', () => {
    const table: [number, string, string][] = [
      [404, 'NotFound', 'NotFound'],
      [409, 'AlreadyExists', 'Conflict'],
      [409, 'Conflict', 'Conflict'],
      [410, 'Expired', 'Conflict'],
      [422, 'Invalid', 'Invalid'],
      [400, 'BadRequest', 'Invalid'],
      [429, 'TooManyRequests', 'Throttled'],
      [401, 'Unauthorized', 'Unauthorized'],
      [403, 'Forbidden', 'Unauthorized'],
      [500, 'InternalError', 'Transient'],
      [503, 'ServiceUnavailable', 'Transient'],
      [504, 'Timeout', 'Transient'],
    ];
    for (const [code, reason, kind] of table) {
      const e = toKubeDriverError('kube.get', new ApiException(code, 'x', JSON.stringify(status(code, reason, `said ${reason}`)), {})) as DriverError;
      expect(e, `${code} ${reason}`).toMatchObject({ kind, reason, code, message: `said ${reason}`, driver: 'kubernetes', op: 'kube.get' });
    }
    const invalid = fromKubeStatus('kube.create', 422, status(422, 'Invalid', 'bad', [{ field: 'spec.x', message: 'Required value', reason: 'FieldValueRequired' }]));
    expect(invalid.details?.causes).toEqual([{ field: 'spec.x', message: 'Required value', reason: 'FieldValueRequired' }]);
  });

  it('errors: a bare status without a Status body still gets a kind and reason; network failures are Transient; bugs pass through', () => {
    expect(toKubeDriverError('kube.get', new ApiException(503, 'x', 'upstream connect error', {}))).toMatchObject({ kind: 'Transient', reason: 'ServiceUnavailable', code: 503 });
    expect(toKubeDriverError('kube.get', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toMatchObject({ kind: 'Transient', reason: 'Unavailable' });
    expect(toKubeDriverError('kube.get', Object.assign(new Error('self-signed'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }))).toMatchObject({ kind: 'Fatal', reason: 'TLS' });
    expect(toKubeDriverError('kube.get', Object.assign(new Error('The operation was aborted'), { name: 'AbortError' }))).toMatchObject({ kind: 'Transient', reason: 'Timeout' });
    const bug = new TypeError('x is not a function');
    expect(toKubeDriverError('kube.get', bug)).toBe(bug);
  });
});

describe('kubernetes driver: behaviour', () => {
  let h: KubeHttpHarness;
  let raw: Server | undefined;
  afterEach(async () => {
    await h?.dispose();
    if (raw) await new Promise<void>((r) => raw!.close(() => r()));
    raw = undefined;
  });

  const ref = (name: string) => ({ ...Kinds.ConfigMap, namespace: 'app', name });

  it('driver: updateWith re-reads and re-applies the mutation after a Conflict, within its bound', async () => {
    h = await kubeHttpHarness();
    h.store.create(configMap('counter', 'app', { n: '0' }));
    let calls = 0;
    const out = await h.settle(
      h.driver.updateWith(ref('counter'), (cur) => {
        calls++;
        // Another writer gets in between the first read and write.
        if (calls === 1) h.store.mergePatch(ref('counter'), { data: { other: 'x' } });
        return { ...cur, data: { ...(cur.data as Record<string, string>), n: String(Number((cur.data as Record<string, string>).n) + 1) } };
      }),
    );
    expect(calls).toBe(2);
    expect(out.data).toEqual({ n: '1', other: 'x' });
    // With no retries allowed, the conflict is the caller's to handle.
    let tries = 0;
    const e = await h
      .settle(
        h.driver.updateWith(
          ref('counter'),
          (cur) => {
            tries++;
            h.store.mergePatch(ref('counter'), { data: { other: String(tries) } });
            return { ...cur, data: { n: 'lost' } };
          },
          { retryOnConflict: 0 },
        ),
      )
      .catch((x: unknown) => x);
    expect(e).toMatchObject({ kind: 'Conflict', reason: 'Conflict', code: 409 });
    expect(tries).toBe(1);
  });

  it('driver: an update naming a stale resourceVersion is never retried', async () => {
    h = await kubeHttpHarness();
    const v1 = h.store.create(configMap('u', 'app', { a: '1' }));
    h.store.mergePatch(ref('u'), { data: { a: '2' } });
    h.server.resetStats();
    await expect(h.settle(h.driver.update({ ...v1, data: { a: '3' } }))).rejects.toMatchObject({ kind: 'Conflict', code: 409 });
    expect(h.server.stats().byVerb.update).toBe(1);
  });

  it('driver: unknown fields and timestamps survive the round trip as JSON (no typed serializer)', async () => {
    h = await kubeHttpHarness();
    const created = await h.settle(h.driver.create({ ...configMap('raw', 'app', { a: '1' }), immutable: true } as KubeObject));
    expect(created.immutable).toBe(true);
    expect(typeof created.metadata.creationTimestamp).toBe('string');
    const list = await h.settle(h.driver.list(Kinds.ConfigMap, { namespace: 'app' }));
    // List items get their apiVersion and kind even where a server leaves them out.
    expect(list.items[0]).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap' });
  });

  it('driver: an unknown kind is NotFound (the server does not serve it)', async () => {
    h = await kubeHttpHarness();
    await expect(h.settle(h.driver.get({ ...Kinds.VolumeReplication, namespace: 'app', name: 'x' }))).rejects.toMatchObject({
      kind: 'NotFound',
      message: 'the server could not find the requested resource',
    });
  });

  it("driver: every request times out (Transient/Timeout); the caller's own abort is rethrown as is", async () => {
    h = await kubeHttpHarness();
    // A server that accepts connections and never answers.
    raw = createServer(() => {});
    await new Promise<void>((r) => raw!.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(simKubeConfigYaml([{ name: 'silent', url }]));
    const d = new KubernetesCluster({ kubeConfig, requestTimeoutMs: 150, qps: 0 });
    await expect(d.get(ref('x'))).rejects.toMatchObject({ kind: 'Transient', reason: 'Timeout' });
    const ac = new AbortController();
    const reason = new Error('the failover moved on');
    const p = d.get(ref('x'), { signal: ac.signal });
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
    raw.closeAllConnections();
  });

  it('driver: an unknown context lists the known ones', async () => {
    h = await kubeHttpHarness();
    expect(() => new KubernetesCluster({ kubeConfig: h.kubeConfig, context: 'nope' })).toThrow('kubernetes: context "nope" not found; known contexts: c1');
  });
});
