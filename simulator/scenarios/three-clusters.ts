// Why: a world with two standbys, so a failover must pick its target and every volume has two peers (the
// single-primary rule is checked across three copies).
import { DEFAULT_GROUP_TIMEOUTS, DEFAULT_HEARTBEAT_INTERVAL_MS } from '../../machines/failover/group.types.ts';
import { DEFAULT_OPERATOR_ID, type Scenario } from '../scenario.ts';

export const threeClustersScenario: Scenario = {
  name: 'three-clusters',
  description: 'The shop/storefront group on east (primary), west and north (standbys).',
  clusters: ['east', 'west', 'north'],
  primary: 'east',
  groups: [
    {
      spec: {
        name: 'storefront',
        namespace: 'shop',
        operatorID: DEFAULT_OPERATOR_ID,
        suspended: false,
        timeouts: { ...DEFAULT_GROUP_TIMEOUTS },
        heartbeatIntervalMs: DEFAULT_HEARTBEAT_INTERVAL_MS,
        workloads: [
          { kind: 'Deployment', name: 'web', volumeReplications: ['web-data'] },
          { kind: 'StatefulSet', name: 'db', volumeReplications: ['db-data-0'] },
          { kind: 'CronJob', name: 'cleanup', volumeReplications: [] },
        ],
        networkResources: [{ kind: 'VirtualService', name: 'storefront' }],
        fluxResources: [{ kind: 'Kustomization', name: 'storefront', triggerReconcile: true }],
      },
      replicas: { web: 2, db: 1 },
      schedules: { cleanup: '*/1 * * * *' },
    },
  ],
};
