// Why: a forced promotion (unplanned failover, UPTIME's target preparation) asks csi-addons for one promotion that
// skips its safety checks. Left on the VolumeReplication, the force-promote annotation would let any later promotion
// of that volume skip them too: it must be gone once the promotion is done, removed by a fenced write. Found on real
// servers: promoted VolumeReplications kept it.
import { describe, expect, it } from 'vitest';
import { Kinds } from '../../drivers/cluster/cluster.port.ts';
import { EngineAnnotations } from '../../src/wire/annotations.ts';
import { FENCING_TOKEN_ANNOTATION } from '../../src/wire/fenced-write.ts';
import { failoverObject } from '../../src/daemon/failover-spec.ts';
import { daemonWorld } from './daemon-world.ts';

const cases = [
  { what: 'unplanned', type: 'unplanned' as const, mode: 'CONSISTENCY' as const, createIn: 'west', eastDown: true },
  { what: 'planned UPTIME', type: 'planned' as const, mode: 'UPTIME' as const, createIn: 'east', eastDown: false },
];

describe('daemon: forced promotion', () => {
  for (const c of cases) {
    it(`daemon: force-promote: the annotation is removed from the target's VolumeReplications once they are promoted (${c.what})`, async () => {
      const dw = await daemonWorld();
      await dw.world.runFor(40_000);
      if (c.eastDown) dw.world.kernel.setDown('operator/east', true);
      // Every promotion of the target's volumes is seen forced while it runs (the annotation was really used).
      let forcedSeen = 0;
      dw.world.cluster(c.createIn).store.create(failoverObject({ name: 'forced', namespace: 'shop', targetCluster: 'west', mode: c.mode, type: c.type, force: c.type === 'unplanned', groups: [{ name: 'storefront' }] }));
      expect(
        await dw.runUntil(() => {
          forcedSeen = Math.max(forcedSeen, dw.world.cluster('west').store.list(Kinds.VolumeReplication).items.filter((v) => v.metadata.annotations?.[EngineAnnotations.forcePromote] === 'true').length);
          return dw.failover('west', 'forced')?.status?.status === 'SUCCESS';
        }, 300_000, 250),
      ).toBe(true);
      expect(forcedSeen).toBeGreaterThan(0);
      const vrs = dw.world.cluster('west').store.list(Kinds.VolumeReplication).items;
      expect(vrs.length).toBeGreaterThan(0);
      for (const vr of vrs) {
        expect(vr.status?.state, vr.metadata.name).toBe('Primary');
        expect(vr.metadata.annotations?.[EngineAnnotations.forcePromote], vr.metadata.name).toBeUndefined();
        expect(Number(vr.metadata.annotations?.[FENCING_TOKEN_ANNOTATION])).toBeGreaterThan(0);
      }
    });
  }
});
