// Why: a world with two standbys, so a failover must pick its target and every volume has two peers (the
// single-primary rule is checked across three copies).
import { groupSpec, type Scenario } from '../scenario.ts';

export const threeClustersScenario: Scenario = {
  name: 'three-clusters',
  description: 'The shop/storefront group on east (primary), west and north (standbys).',
  clusters: ['east', 'west', 'north'],
  primary: 'east',
  groups: [
    {
      spec: groupSpec('storefront', 'shop', {
        workloads: [
          { kind: 'Deployment', name: 'web', volumeReplications: ['web-data'] },
          { kind: 'StatefulSet', name: 'db', volumeReplications: ['db-data-0'] },
          { kind: 'CronJob', name: 'cleanup', volumeReplications: [] },
        ],
        networkResources: [{ kind: 'VirtualService', name: 'storefront' }],
        fluxResources: [{ kind: 'Kustomization', name: 'storefront', triggerReconcile: true }],
      }),
      replicas: { web: 2, db: 1 },
      schedules: { cleanup: '*/1 * * * *' },
    },
  ],
};
