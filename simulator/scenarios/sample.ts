// Why: the default world: one shop application on two clusters, small enough to read its whole trace, with one
// of everything a failover moves (a Deployment and a StatefulSet with volumes, a worker, a CronJob, traffic
// through Istio and an Ingress, and Flux).
import { groupSpec, type Scenario } from '../scenario.ts';

export const sampleScenario: Scenario = {
  name: 'sample',
  description: 'The shop/storefront group on clusters east (primary) and west: web, db, worker, a nightly report, traffic and Flux.',
  clusters: ['east', 'west'],
  primary: 'east',
  groups: [
    {
      spec: groupSpec('storefront', 'shop', {
        workloads: [
          { kind: 'Deployment', name: 'web', volumeReplications: ['web-data'] },
          { kind: 'StatefulSet', name: 'db', volumeReplications: ['db-data-0', 'db-data-1'] },
          { kind: 'Deployment', name: 'worker', volumeReplications: [] },
          { kind: 'CronJob', name: 'nightly-report', volumeReplications: [] },
        ],
        networkResources: [
          { kind: 'VirtualService', name: 'storefront' },
          { kind: 'Ingress', name: 'storefront' },
        ],
        fluxResources: [
          { kind: 'Kustomization', name: 'storefront', triggerReconcile: true },
          { kind: 'HelmRelease', name: 'storefront-cache', triggerReconcile: true },
        ],
      }),
      replicas: { web: 3, db: 2, worker: 2 },
      schedules: { 'nightly-report': '0 2 * * *' },
    },
  ],
};
