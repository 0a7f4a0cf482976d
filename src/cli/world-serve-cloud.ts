// Why: `failoverctl world serve` also serves the VM side of the simulated world: CloudStack's signed API, the
// Volume Daemon and the replication appliance's records API, all over one simulated cloud built on the world's
// kernel (so its jobs, boots and snapshots run on the same virtual time). Each starter prints its endpoint, and
// CloudStack's prints the simulated account's API key and secret key, so any CloudStack client (cmk, the engine's
// `failoverctl vm … --cloudstack-url`) can be pointed at it.
import { standardCloud, type StandardCloud } from '../../simulator/cloudstack/cloud.fixture.ts';
import { cloudInvariants } from '../../simulator/cloudstack/cloud.invariants.ts';
import { serveApplianceApi } from '../../simulator/serve/appliance-api.ts';
import { serveCloudStackApi } from '../../simulator/serve/cloudstack-api.ts';
import { serveVolumeDaemonApi } from '../../simulator/serve/volumedaemon-api.ts';
import { SimVolumeDaemon } from '../../simulator/volumedaemon/daemon.ts';
import type { SimWorld } from '../../simulator/world.ts';
import type { WorldServiceStarter } from './world-serve.ts';

/** The served world's replicated VMs: two, each with a boot disk and one data disk. */
export const SERVED_SOURCE_VMS = 2;
export const SERVED_DATA_DISKS = 1;

export interface ServedVmCloud {
  world: StandardCloud;
  daemon: SimVolumeDaemon;
}

const clouds = new WeakMap<SimWorld, ServedVmCloud>();

/** The one simulated cloud of a served world (built on first use, on the world's kernel). */
export function vmCloudOf(world: SimWorld): ServedVmCloud {
  let c = clouds.get(world);
  if (!c) {
    const cloud = standardCloud(world.kernel, { sourceVms: SERVED_SOURCE_VMS, dataDisks: SERVED_DATA_DISKS });
    // Only the `always` ones: a served world has no end at which to check the `eventually` ones.
    for (const inv of cloudInvariants(cloud.cloud)) if (inv.kind === 'always') world.kernel.addInvariant(inv);
    c = { world: cloud, daemon: new SimVolumeDaemon(cloud.cloud) };
    clouds.set(world, c);
  }
  return c;
}

/** CloudStack's API at /client/api, with the simulated account's keys. */
export const cloudStackService: WorldServiceStarter = async ({ world }) => {
  const { world: cloud } = vmCloudOf(world);
  const served = await serveCloudStackApi(cloud.cloud);
  return [
    {
      name: 'cloudstack',
      lines: [
        `cloudstack: ${served.endpoint} (zone ${cloud.zone.name}; replication appliance VM ${cloud.appliance.name} ${cloud.appliance.id})`,
        `cloudstack api key: ${served.apiKey}`,
        `cloudstack secret key: ${served.secretKey} (simulated account; e.g. export CLOUDSTACK_API_KEY=… CLOUDSTACK_SECRET_KEY=…)`,
      ],
      close: () => served.close(),
    },
  ];
};

/** The Volume Daemon's API. */
export const volumeDaemonService: WorldServiceStarter = async ({ world }) => {
  const { daemon } = vmCloudOf(world);
  const served = await serveVolumeDaemonApi(daemon);
  return [{ name: 'volumedaemon', lines: [`volume daemon: ${served.baseUrl} (GET /api/v1/health)`], close: () => served.close() }];
};

/** The replication appliance's records API, with its bearer token. */
export const applianceService: WorldServiceStarter = async ({ world, options }) => {
  const { world: cloud } = vmCloudOf(world);
  const served = await serveApplianceApi(cloud.cloud);
  const vms = cloud.sources.map((s) => s.vmId);
  return [
    {
      name: 'appliance',
      lines: [
        `appliance: ${served.baseUrl} (bearer token ${served.token}; replicates ${vms.join(', ')})`,
        `vm cli: CLOUDSTACK_SECRET_KEY=… failoverctl vm test-failover --vm ${vms[0]} --cloudstack-url <cloudstack> --api-key <key> --volume-daemon-url <volume daemon> --appliance-url ${served.baseUrl} --appliance-token ${served.token} --joblog-table ${options.table} --dynamodb-endpoint <dynamodb>`,
      ],
      close: () => served.close(),
    },
  ];
};

/** The three, in the order world serve starts them. */
export const VM_CLOUD_SERVICES: WorldServiceStarter[] = [cloudStackService, volumeDaemonService, applianceService];
