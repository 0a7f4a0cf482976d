// Why: one contract for every SnapshotStorePort, run against the simulated store and the ConfigMap store (on the
// simulated API server, and on a real cluster when one is configured), so the fake stays an honest copy.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SnapshotStorePort, SnapshotValue } from '../../drivers/snapshots/snapshot.port.ts';

export interface SnapshotHarness {
  port: SnapshotStorePort;
  /** Runs a port call to completion (the simulated world needs its virtual time advanced). */
  run<T>(p: Promise<T>): Promise<T>;
  dispose(): Promise<void> | void;
}

const value = (n: number, extra: Record<string, unknown> = {}): SnapshotValue => ({
  machineVersion: 3,
  snapshot: { status: 'active', value: { stage: `s${n}` }, context: { n, list: [1, 2, 3], text: 'é∑ "quoted"', ...extra }, children: {} },
  meta: { failoverId: 'f-1', input: { role: 'source' } },
});

export function describeSnapshotContract(name: string, harness: () => Promise<SnapshotHarness>): void {
  describe(`SnapshotStorePort contract (${name})`, () => {
    let h: SnapshotHarness;
    beforeEach(async () => {
      h = await harness();
    });
    afterEach(async () => {
      await h.dispose();
    });

    it('load: an unknown key resolves undefined', async () => {
      expect(await h.run(h.port.load('no-such-failover'))).toBeUndefined();
    });

    it('save then load: round-trips the value through JSON with its revision', async () => {
      const { revision } = await h.run(h.port.save('f-1', value(1), undefined));
      const got = await h.run(h.port.load('f-1'));
      expect(got).toEqual({ key: 'f-1', revision, ...JSON.parse(JSON.stringify(value(1))) });
    });

    it('save: the loaded value is a copy (mutating it does not change the store)', async () => {
      await h.run(h.port.save('f-1', value(1), undefined));
      const a = await h.run(h.port.load('f-1'));
      (a!.snapshot as { context: { n: number } }).context.n = 99;
      const b = await h.run(h.port.load('f-1'));
      expect((b!.snapshot as { context: { n: number } }).context.n).toBe(1);
    });

    it('save: creating an existing key rejects with Conflict AlreadyExists', async () => {
      await h.run(h.port.save('f-1', value(1), undefined));
      await expect(h.run(h.port.save('f-1', value(2), undefined))).rejects.toMatchObject({ kind: 'Conflict', reason: 'AlreadyExists' });
    });

    it('save: a replace at the current revision succeeds and moves the revision on', async () => {
      const r1 = await h.run(h.port.save('f-1', value(1), undefined));
      const r2 = await h.run(h.port.save('f-1', value(2), r1.revision));
      expect(r2.revision).not.toBe(r1.revision);
      const got = await h.run(h.port.load('f-1'));
      expect(got?.revision).toBe(r2.revision);
      expect((got?.snapshot as { context: { n: number } }).context.n).toBe(2);
    });

    it('save: a replace at a stale revision rejects with Conflict and keeps the newer value', async () => {
      const r1 = await h.run(h.port.save('f-1', value(1), undefined));
      await h.run(h.port.save('f-1', value(2), r1.revision));
      await expect(h.run(h.port.save('f-1', value(3), r1.revision))).rejects.toMatchObject({ kind: 'Conflict' });
      expect(((await h.run(h.port.load('f-1')))?.snapshot as { context: { n: number } }).context.n).toBe(2);
    });

    it('save: a replace of a deleted key rejects with Conflict', async () => {
      const r1 = await h.run(h.port.save('f-1', value(1), undefined));
      await h.run(h.port.delete('f-1'));
      await expect(h.run(h.port.save('f-1', value(2), r1.revision))).rejects.toMatchObject({ kind: 'Conflict' });
    });

    it('delete: resolves true once, then false', async () => {
      await h.run(h.port.save('f-1', value(1), undefined));
      expect(await h.run(h.port.delete('f-1'))).toBe(true);
      expect(await h.run(h.port.delete('f-1'))).toBe(false);
      expect(await h.run(h.port.load('f-1'))).toBeUndefined();
    });

    it('list: every stored key, sorted, and none deleted', async () => {
      for (const k of ['ns-b/f-2', 'ns-a/f-9', 'f-1']) await h.run(h.port.save(k, value(1), undefined));
      await h.run(h.port.delete('f-1'));
      expect(await h.run(h.port.list())).toEqual(['ns-a/f-9', 'ns-b/f-2']);
    });

    it('keys: keys that differ only in case or punctuation are distinct entries', async () => {
      await h.run(h.port.save('ns/F-1', value(1), undefined));
      await h.run(h.port.save('ns/f-1', value(2), undefined));
      await h.run(h.port.save('ns.f-1', value(3), undefined));
      expect(((await h.run(h.port.load('ns/F-1')))?.snapshot as { context: { n: number } }).context.n).toBe(1);
      expect(((await h.run(h.port.load('ns.f-1')))?.snapshot as { context: { n: number } }).context.n).toBe(3);
    });

    it('save: an invalid key rejects with Invalid naming the key', async () => {
      await expect(h.run(h.port.save('bad key!', value(1), undefined))).rejects.toMatchObject({ kind: 'Invalid', message: expect.stringContaining('"bad key!"') });
    });

    it('save: a value over the size limit rejects with Invalid TooLarge, naming key and size', async () => {
      const big = value(1, { blob: 'x'.repeat(1_100_000) });
      await expect(h.run(h.port.save('f-big', big, undefined))).rejects.toMatchObject({ kind: 'Invalid', reason: 'TooLarge', message: expect.stringMatching(/f-big.*\d+ bytes/) });
      expect(await h.run(h.port.load('f-big'))).toBeUndefined();
    });
  });
}
