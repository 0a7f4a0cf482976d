// Why: the benchmark's reference group (20 workloads, 20 VolumeReplications, 4 network resources, 2 Flux
// resources) on two clusters, so speed figures are measured on one fixed, realistic size.
import { generateGroup, type Scenario } from '../scenario.ts';

export const referenceScenario: Scenario = {
  name: 'reference',
  description: 'The benchmark reference group bench/reference: 20 workloads, 20 VolumeReplications, 4 network and 2 Flux resources; east primary, west standby.',
  clusters: ['east', 'west'],
  primary: 'east',
  groups: [generateGroup({ name: 'reference', namespace: 'bench', workloads: 20, volumes: 20, network: 4, flux: 2 })],
};
