// Why: `failoverctl vm … --cloudstack-url …` runs a VM operation against a real deployment instead of the simulated
// cloud: the signed CloudStack client, the Volume Daemon and appliance HTTP clients, the injection command and the
// DynamoDB job log, chosen and checked here from flags (secrets also from the environment). A missing or invalid
// flag is one line naming the flag and the fix (exit 2). Secrets are passed to the drivers only: never printed,
// never logged (the logger redacts them too).
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { httpAppliance } from '../../drivers/appliance/appliance.http.ts';
import type { ClockPort } from '../../drivers/clock/clock.port.ts';
import { realClock } from '../../drivers/clock/clock.real.ts';
import { httpCloudStack } from '../../drivers/cloudstack/cloudstack.http.ts';
import { createDynamoDBClient } from '../../drivers/globalstate/globalstate.dynamodb.ts';
import { CommandInjection } from '../../drivers/injection/injection.command.ts';
import type { InjectionPort } from '../../drivers/injection/injection.port.ts';
import { DynamoJobLog } from '../../drivers/joblog/joblog.dynamodb.ts';
import type { JobLogPort } from '../../drivers/joblog/joblog.port.ts';
import { httpVolumeDaemon } from '../../drivers/volumedaemon/volumedaemon.http.ts';
import type { VmDeps } from '../wire/vm-failover.ts';
import { UsageError } from './usage-error.ts';

/** The flags (commander's camelCase names) that select and configure the real drivers. */
export interface DeploymentFlags {
  cloudstackUrl?: string;
  apiKey?: string;
  secretKey?: string;
  volumeDaemonUrl?: string;
  applianceUrl?: string;
  applianceToken?: string;
  injectionCommand?: string;
  joblogTable?: string;
  dynamodbEndpoint?: string;
  dynamodbRegion?: string;
}

export interface DeploymentConfig {
  cloudstack: { endpoint: string; apiKey: string; secretKey: string };
  volumeDaemonUrl: string;
  appliance: { baseUrl: string; token: string };
  injectionCommand?: string;
  jobLog: { table: string; endpoint?: string; region: string };
}

/** Flag → what to give, for the one-line errors. */
const FLAG_HELP: Record<string, string> = {
  '--cloudstack-url': "give CloudStack's API endpoint, e.g. --cloudstack-url https://cloud.example.com/client/api",
  '--api-key': 'give the CloudStack API key with --api-key or CLOUDSTACK_API_KEY',
  '--secret-key': 'give the CloudStack secret key in CLOUDSTACK_SECRET_KEY (or --secret-key)',
  '--volume-daemon-url': "give the Volume Daemon's address, e.g. --volume-daemon-url http://127.0.0.1:8090",
  '--appliance-url': "give the appliance API's address, e.g. --appliance-url https://appliance.example.com:8443",
  '--appliance-token': 'give the appliance bearer token in APPLIANCE_TOKEN (or --appliance-token)',
  '--joblog-table': 'give the DynamoDB table of the job log, e.g. --joblog-table failover-engine (and --dynamodb-endpoint for a local DynamoDB)',
};

/** Driver configuration fields → the flags that set them (driver validation errors are reworded with these). */
const FIELD_FLAGS: Array<[RegExp, string]> = [
  [/^cloudstack\.endpoint/, '--cloudstack-url'],
  [/^cloudstack\.apiKey/, '--api-key'],
  [/^cloudstack\.secretKey/, '--secret-key'],
  [/^volumeDaemon\.baseUrl/, '--volume-daemon-url'],
  [/^appliance\.baseUrl/, '--appliance-url'],
  [/^appliance\.token/, '--appliance-token'],
  [/^injection\.command/, '--injection-command'],
  [/^joblog\.tableName/, '--joblog-table'],
];

const DEPLOYMENT_FLAG_KEYS: Array<[keyof DeploymentFlags, string]> = [
  ['cloudstackUrl', '--cloudstack-url'],
  ['apiKey', '--api-key'],
  ['secretKey', '--secret-key'],
  ['volumeDaemonUrl', '--volume-daemon-url'],
  ['applianceUrl', '--appliance-url'],
  ['applianceToken', '--appliance-token'],
  ['injectionCommand', '--injection-command'],
  ['joblogTable', '--joblog-table'],
  ['dynamodbEndpoint', '--dynamodb-endpoint'],
  ['dynamodbRegion', '--dynamodb-region'],
];

/** The flags that only make sense against the simulated cloud. */
const SIMULATION_ONLY: Array<[string, string]> = [
  ['seed', '--seed'],
  ['profile', '--profile'],
  ['crashAt', '--crash-at'],
  ['dataDisks', '--data-disks'],
];

/** Adds the deployment flags to a `vm` subcommand. */
export function addDeploymentOptions(c: Command): Command {
  return c
    .option('--cloudstack-url <url>', "run against a real deployment: CloudStack's API endpoint (…/client/api)")
    .option('--api-key <key>', 'the CloudStack API key (or CLOUDSTACK_API_KEY)')
    .option('--secret-key <key>', 'the CloudStack secret key (prefer CLOUDSTACK_SECRET_KEY: a flag shows in ps)')
    .option('--volume-daemon-url <url>', "the Volume Daemon's base URL")
    .option('--appliance-url <url>', "the replication appliance API's base URL")
    .option('--appliance-token <token>', 'the appliance bearer token (prefer APPLIANCE_TOKEN)')
    .option('--injection-command <path>', 'the VirtIO injection program run on the appliance (default virt-v2v-in-place)')
    .option('--joblog-table <name>', 'the DynamoDB table of the job log')
    .option('--dynamodb-endpoint <url>', 'a DynamoDB endpoint (DynamoDB Local, dynalite); default AWS')
    .option('--dynamodb-region <region>', 'the DynamoDB region (default AWS_REGION, or us-east-1 with --dynamodb-endpoint)');
}

function missing(flag: string, because: string): UsageError {
  return new UsageError(`${flag} is missing (running against a deployment because ${because} was given): ${FLAG_HELP[flag]}`);
}

function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v.trim() !== '' ? v : undefined;
}

function checkUrl(flag: string, v: string): void {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new UsageError(`${flag}: "${v}" is not a URL; ${FLAG_HELP[flag] ?? 'give an http(s) URL'}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${flag}: protocol ${url.protocol} is not http: or https:`);
}

/**
 * The deployment the flags name, or undefined when none of them is given (the simulated cloud). `cmd` tells
 * flags given on the command line from defaults, so a simulation-only flag given with a deployment is refused.
 */
export function resolveDeployment(flags: DeploymentFlags, env: NodeJS.ProcessEnv, cmd?: Pick<Command, 'getOptionValueSource'>): DeploymentConfig | undefined {
  const given = DEPLOYMENT_FLAG_KEYS.filter(([k]) => flags[k] !== undefined).map(([, f]) => f);
  if (given.length === 0) return undefined;
  const because = given[0];
  for (const [key, flag] of SIMULATION_ONLY) {
    if (cmd?.getOptionValueSource(key) === 'cli') throw new UsageError(`${flag} applies to the simulated cloud only; drop it when running against a deployment (${because} was given)`);
  }
  const endpoint = nonEmpty(flags.cloudstackUrl);
  if (!endpoint) throw missing('--cloudstack-url', because);
  checkUrl('--cloudstack-url', endpoint);
  const apiKey = nonEmpty(flags.apiKey) ?? nonEmpty(env.CLOUDSTACK_API_KEY);
  if (!apiKey) throw missing('--api-key', because);
  const secretKey = nonEmpty(flags.secretKey) ?? nonEmpty(env.CLOUDSTACK_SECRET_KEY);
  if (!secretKey) throw missing('--secret-key', because);
  const volumeDaemonUrl = nonEmpty(flags.volumeDaemonUrl);
  if (!volumeDaemonUrl) throw missing('--volume-daemon-url', because);
  checkUrl('--volume-daemon-url', volumeDaemonUrl);
  const applianceUrl = nonEmpty(flags.applianceUrl);
  if (!applianceUrl) throw missing('--appliance-url', because);
  checkUrl('--appliance-url', applianceUrl);
  const token = nonEmpty(flags.applianceToken) ?? nonEmpty(env.APPLIANCE_TOKEN);
  if (!token) throw missing('--appliance-token', because);
  const table = nonEmpty(flags.joblogTable);
  if (!table) throw missing('--joblog-table', because);
  const dynamoEndpoint = nonEmpty(flags.dynamodbEndpoint);
  if (dynamoEndpoint) checkUrl('--dynamodb-endpoint', dynamoEndpoint);
  const region = nonEmpty(flags.dynamodbRegion) ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? (dynamoEndpoint ? 'us-east-1' : undefined);
  if (!region) throw new UsageError('--dynamodb-region is missing: give the job log table\'s AWS region with --dynamodb-region or AWS_REGION');
  const injectionCommand = flags.injectionCommand;
  if (injectionCommand !== undefined && injectionCommand.trim() === '') throw new UsageError('--injection-command is empty: give the injection program, e.g. --injection-command /usr/bin/virt-v2v-in-place');
  return {
    cloudstack: { endpoint, apiKey, secretKey },
    volumeDaemonUrl,
    appliance: { baseUrl: applianceUrl, token },
    ...(injectionCommand !== undefined ? { injectionCommand } : {}),
    jobLog: { table, region, ...(dynamoEndpoint ? { endpoint: dynamoEndpoint } : {}) },
  };
}

/** What tests (and only tests) replace: the fetch and clock under the simulator, the injection of the simulated appliance. */
export interface DeploymentOverrides {
  fetch?: typeof fetch;
  clock?: ClockPort;
  injection?: InjectionPort;
  jobLog?: JobLogPort;
  /** Async-job and daemon-operation polling (tests shorten them; defaults are the drivers'). */
  jobPoll?: { initialMs?: number; factor?: number; maxMs?: number };
}

export interface DeploymentDeps {
  deps: VmDeps;
  close(): void;
}

/** A driver's configuration error, reworded to name the flag that set the field. */
function asUsage(e: unknown): never {
  const message = e instanceof Error ? e.message : String(e);
  for (const [re, flag] of FIELD_FLAGS) if (re.test(message)) throw new UsageError(message.replace(/^[\w.]+/, flag));
  throw e;
}

/** The real drivers for a deployment. */
export function buildDeploymentDeps(cfg: DeploymentConfig, log: Logger, o: DeploymentOverrides = {}): DeploymentDeps {
  const clock = o.clock ?? realClock;
  const f = o.fetch ? { fetch: o.fetch } : {};
  let close = () => {};
  try {
    const cloudstack = httpCloudStack({ ...cfg.cloudstack, clock, ...f, ...(o.jobPoll ? { jobPoll: o.jobPoll } : {}) });
    const volumeDaemon = httpVolumeDaemon({ baseUrl: cfg.volumeDaemonUrl, clock, ...f, ...(o.jobPoll ? { poll: o.jobPoll } : {}) });
    const directory = httpAppliance({ ...cfg.appliance, ...f });
    const injection = o.injection ?? new CommandInjection(cfg.injectionCommand !== undefined ? { command: cfg.injectionCommand } : {});
    let jobLog = o.jobLog;
    if (!jobLog) {
      // A local DynamoDB (dynalite, DynamoDB Local) gets dummy credentials from createDynamoDBClient; AWS the default chain's.
      const client = createDynamoDBClient({ region: cfg.jobLog.region, ...(cfg.jobLog.endpoint ? { endpoint: cfg.jobLog.endpoint } : {}) });
      close = () => client.destroy();
      jobLog = new DynamoJobLog(client, { tableName: cfg.jobLog.table, clock });
    }
    return { deps: { cloudstack, volumeDaemon, injection, jobLog, directory, clock, log }, close };
  } catch (e) {
    close();
    return asUsage(e);
  }
}
