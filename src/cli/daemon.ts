// Why: `failoverctl daemon` runs the production daemon for one cluster: it builds the real ports (Kubernetes
// through client-node for this cluster and its peers, DynamoDB for global state, the wall clock, OS randomness, a
// pino logger) from command-line flags and calls startDaemon, until SIGTERM or SIGINT. Bad flags end with one
// line naming the flag and the fix (exit 2), before anything connects.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { realClock } from '../../drivers/clock/clock.real.ts';
import type { ClockPort } from '../../drivers/clock/clock.port.ts';
import { KubernetesCluster } from '../../drivers/cluster/cluster.kubernetes.ts';
import type { ClusterPort } from '../../drivers/cluster/cluster.port.ts';
import { KubeConfigError, loadKubeConfig, loadKubeConfigFile, type LoadedKubeConfig } from '../../drivers/cluster/kubeconfig.ts';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTable } from '../../drivers/globalstate/dynamodb.table.ts';
import { createDynamoDBClient, DynamoGlobalState } from '../../drivers/globalstate/globalstate.dynamodb.ts';
import { realRandom } from '../../drivers/random/random.real.ts';
import { startDaemon, DEFAULT_DAEMON_NAMESPACE, type Daemon, type DaemonOptions } from '../daemon/daemon.ts';
import { DEFAULT_OPERATOR_ID } from '../daemon/api.ts';
import { MissingApiError } from '../daemon/served-kinds.ts';
import { createRootLogger } from '../log.ts';
import { DEFAULT_FENCE_DRIVER } from '../wire/failover/deps.ts';
import { UsageError } from './usage-error.ts';

export const DEFAULT_TABLE = 'failover-engine';

/** The flags as commander hands them over (strings; repeatable flags as lists). */
export interface DaemonCliFlags {
  kubeconfig?: string;
  context?: string;
  inCluster?: boolean;
  clusterName?: string;
  peerContext?: string[];
  peerKubeconfig?: string;
  dynamodbTable?: string;
  dynamodbEndpoint?: string;
  region?: string;
  createTable?: boolean;
  namespace?: string;
  daemonNamespace?: string;
  operatorId?: string;
  fenceCidr?: string[];
  fenceDriver?: string;
  autoFailover?: boolean;
  logLevel?: string;
  qps?: string;
}

/** Everything the daemon needs, checked. */
export interface DaemonCliConfig {
  kube: LoadedKubeConfig;
  clusterName: string;
  /** Peer cluster name → context in `peerKube`. */
  peers: Record<string, string>;
  /** Where the peer contexts are: --peer-kubeconfig, else this cluster's kubeconfig. */
  peerKube: LoadedKubeConfig;
  table: string;
  endpoint?: string;
  region: string;
  createTable: boolean;
  namespace?: string;
  daemonNamespace: string;
  operatorID: string;
  fenceCidrs: Record<string, string[]>;
  fenceDriver: string;
  autoFailover: boolean;
  logLevel: string;
  qps?: number;
}

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

function pairs(flag: string, values: string[] | undefined, example: string): Array<[string, string]> {
  return (values ?? []).map((v) => {
    const i = v.indexOf('=');
    if (i <= 0 || i === v.length - 1) throw new UsageError(`${flag} must be NAME=VALUE (for example ${flag} ${example}), got "${v}"`);
    return [v.slice(0, i), v.slice(i + 1)];
  });
}

/** Checks the flags; throws UsageError (one line: the flag and the fix). Reads the kubeconfig, connects to nothing. */
export function parseDaemonFlags(f: DaemonCliFlags, env: NodeJS.ProcessEnv = process.env): DaemonCliConfig {
  if (!f.clusterName) throw new UsageError('--cluster-name is required: pass this cluster\'s name as the other daemons and Failover.spec.targetCluster call it (for example --cluster-name east)');
  if (!NAME.test(f.clusterName)) throw new UsageError(`--cluster-name must be lower-case letters, digits, "-" and ".", got "${f.clusterName}"`);
  if (f.inCluster && (f.kubeconfig || f.context)) throw new UsageError('--in-cluster cannot be combined with --kubeconfig or --context: use the pod\'s service account, or a kubeconfig file');
  if (f.kubeconfig && !existsSync(f.kubeconfig)) throw new UsageError(`--kubeconfig ${f.kubeconfig}: no such file: pass the path of a kubeconfig file (or --in-cluster in a pod)`);
  let kube: LoadedKubeConfig;
  try {
    kube = loadKubeConfig({ ...(f.kubeconfig ? { path: f.kubeconfig } : {}), ...(f.context ? { context: f.context } : {}), ...(f.inCluster ? { inCluster: true } : {}), env });
  } catch (e) {
    if (e instanceof KubeConfigError) {
      const flag = /context/i.test(e.message) ? '--context' : '--kubeconfig';
      throw new UsageError(`${flag}: ${e.message}`);
    }
    throw e;
  }
  let peerKube = kube;
  if (f.peerKubeconfig !== undefined) {
    if (!existsSync(f.peerKubeconfig)) throw new UsageError(`--peer-kubeconfig ${f.peerKubeconfig}: no such file: pass the path of a kubeconfig file with a context per peer cluster`);
    try {
      peerKube = loadKubeConfigFile(f.peerKubeconfig);
    } catch (e) {
      if (e instanceof KubeConfigError) throw new UsageError(`--peer-kubeconfig: ${e.message}`);
      throw e;
    }
  } else if (f.inCluster && f.peerContext?.length) {
    throw new UsageError('--peer-context with --in-cluster needs --peer-kubeconfig: the service account reaches only this cluster');
  }
  const contexts = new Set(peerKube.kubeConfig.getContexts().map((c) => c.name));
  const peers: Record<string, string> = {};
  for (const [name, ctx] of pairs('--peer-context', f.peerContext, 'west=west-admin')) {
    if (!NAME.test(name)) throw new UsageError(`--peer-context ${name}=${ctx}: the cluster name must be lower-case letters, digits, "-" and "."`);
    if (name === f.clusterName) throw new UsageError(`--peer-context ${name}=${ctx}: ${name} is this cluster (--cluster-name): list only the other clusters`);
    if (peers[name]) throw new UsageError(`--peer-context ${name} is given twice: give each peer cluster once`);
    if (!contexts.has(ctx)) throw new UsageError(`--peer-context ${name}=${ctx}: context "${ctx}" is not in ${peerKube.source} (contexts: ${[...contexts].sort().join(', ') || 'none'})`);
    peers[name] = ctx;
  }
  const table = f.dynamodbTable ?? DEFAULT_TABLE;
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(table)) throw new UsageError(`--dynamodb-table must be 3 to 255 characters of letters, digits, "_", "-" and ".", got "${table}"`);
  if (f.dynamodbEndpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(f.dynamodbEndpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new UsageError(`--dynamodb-endpoint must be an http(s) URL such as http://127.0.0.1:8000, got "${f.dynamodbEndpoint}"`);
  }
  const region = f.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? (f.dynamodbEndpoint ? 'us-east-1' : undefined);
  if (!region) throw new UsageError('--region is required (or set AWS_REGION): name the AWS region of the DynamoDB table, for example --region eu-west-1');
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region) && !f.dynamodbEndpoint) throw new UsageError(`--region must be an AWS region such as eu-west-1, got "${region}"`);
  for (const [flag, v] of [
    ['--namespace', f.namespace],
    ['--daemon-namespace', f.daemonNamespace],
    ['--operator-id', f.operatorId],
  ] as const) {
    if (v !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v)) throw new UsageError(`${flag} must be a DNS label (lower-case letters, digits and "-"), got "${v}"`);
  }
  const fenceCidrs: Record<string, string[]> = {};
  for (const [name, list] of pairs('--fence-cidr', f.fenceCidr, 'east=10.1.0.0/16')) {
    for (const c of list.split(',')) {
      const m = CIDR.exec(c.trim());
      if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) throw new UsageError(`--fence-cidr ${name}=${list}: "${c}" is not an IPv4 CIDR such as 10.1.0.0/16`);
      (fenceCidrs[name] ??= []).push(c.trim());
    }
  }
  const logLevel = f.logLevel ?? env.LOG_LEVEL ?? 'info';
  if (!LEVELS.includes(logLevel)) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}, got "${logLevel}"`);
  let qps: number | undefined;
  if (f.qps !== undefined) {
    qps = Number(f.qps);
    if (!/^\d+(\.\d+)?$/.test(f.qps) || !(qps >= 0) || qps > 10_000) throw new UsageError(`--qps must be a number of requests per second from 0 (no limit) to 10000, got "${f.qps}"`);
  }
  const config: DaemonCliConfig = {
    kube,
    clusterName: f.clusterName,
    peers,
    peerKube,
    table,
    region,
    createTable: f.createTable === true,
    daemonNamespace: f.daemonNamespace ?? DEFAULT_DAEMON_NAMESPACE,
    operatorID: f.operatorId ?? DEFAULT_OPERATOR_ID,
    fenceCidrs,
    fenceDriver: f.fenceDriver ?? DEFAULT_FENCE_DRIVER,
    autoFailover: f.autoFailover !== false,
    logLevel,
  };
  if (f.dynamodbEndpoint !== undefined) config.endpoint = f.dynamodbEndpoint;
  if (f.namespace !== undefined) config.namespace = f.namespace;
  if (qps !== undefined) config.qps = qps;
  return config;
}

/** The real ports for a checked configuration (nothing connects until the daemon makes its first call). */
export function buildDaemonOptions(
  c: DaemonCliConfig,
  deps: { clock?: ClockPort; log?: Logger; credentials?: { accessKeyId: string; secretAccessKey: string } } = {},
): { options: DaemonOptions; dynamo: DynamoDBClient; close(): void } {
  const clock = deps.clock ?? realClock;
  const log = deps.log ?? createRootLogger({ level: c.logLevel });
  const cluster = (kube: LoadedKubeConfig, context: string, name: string): ClusterPort =>
    new KubernetesCluster({ kubeConfig: kube.kubeConfig, context, name, clock, log, ...(c.qps !== undefined ? { qps: c.qps, burst: Math.max(1, Math.ceil(c.qps * 2)) } : {}) });
  const dynamo = createDynamoDBClient({ region: c.region, ...(c.endpoint ? { endpoint: c.endpoint } : {}), ...(deps.credentials ? { credentials: deps.credentials } : {}) });
  const peers: Record<string, ClusterPort> = {};
  for (const [name, ctx] of Object.entries(c.peers)) peers[name] = cluster(c.peerKube, ctx, name);
  const options: DaemonOptions = {
    clusterName: c.clusterName,
    clusterPort: cluster(c.kube, c.kube.context, c.clusterName),
    peers,
    globalState: new DynamoGlobalState({ client: dynamo, tableName: c.table, clock, log }),
    clock,
    random: realRandom,
    log,
    operatorID: c.operatorID,
    daemonNamespace: c.daemonNamespace,
    autoFailover: c.autoFailover,
  };
  if (c.namespace) options.namespace = c.namespace;
  if (Object.keys(c.fenceCidrs).length) options.fencing = { cidrsOf: (name: string) => c.fenceCidrs[name] ?? [], driver: c.fenceDriver };
  return { options, dynamo, close: () => dynamo.destroy() };
}

/** Runs the daemon until `stopWhen` resolves (a signal, in the CLI); resolves with why it stopped. */
export async function runDaemon(c: DaemonCliConfig, stopWhen: Promise<string>, deps: Parameters<typeof buildDaemonOptions>[1] = {}): Promise<{ daemon: Daemon; reason: string }> {
  const built = buildDaemonOptions(c, deps);
  try {
    if (c.createTable) await ensureTable(built.dynamo, c.table, { clock: deps.clock ?? realClock });
    let daemon: Daemon;
    try {
      daemon = await startDaemon(built.options);
    } catch (e) {
      // A missing CRD is a fix on the cluster the operator must make: one line naming it, exit 2.
      if (e instanceof MissingApiError) throw new UsageError(e.message);
      throw e;
    }
    const reason = await stopWhen;
    await daemon.stop();
    return { daemon, reason };
  } finally {
    built.close();
  }
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function registerDaemon(program: Command, out: (s: string) => void): void {
  program
    .command('daemon')
    .description('Run the Failover Engine daemon (the Kubernetes operator) for one cluster, until SIGTERM or SIGINT.')
    .option('--kubeconfig <path>', 'the kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the pod\'s service account)')
    .option('--context <name>', 'the kubeconfig context of this cluster (default: the current context)')
    .option('--in-cluster', 'use the pod\'s service account')
    .option('--cluster-name <name>', 'this cluster\'s name, as Failover.spec.targetCluster and the other daemons call it (required)')
    .option('--peer-context <name=context>', 'a peer cluster and its kubeconfig context; Failovers are copied there (repeatable)', collect)
    .option('--peer-kubeconfig <path>', 'the kubeconfig holding the peer contexts (default: --kubeconfig)')
    .option('--dynamodb-table <name>', 'the global-state table', DEFAULT_TABLE)
    .option('--dynamodb-endpoint <url>', 'a DynamoDB endpoint (DynamoDB Local, dynalite); default: AWS')
    .option('--region <region>', 'the AWS region (default: $AWS_REGION)')
    .option('--create-table', 'create the table (and its index) if it does not exist')
    .option('--namespace <ns>', 'watch FailoverGroups and Failovers in this namespace only (default: all)')
    .option('--daemon-namespace <ns>', 'the daemon\'s own namespace, where failover snapshots are kept', DEFAULT_DAEMON_NAMESPACE)
    .option('--operator-id <id>', 'manage only FailoverGroups with this spec.operatorID', DEFAULT_OPERATOR_ID)
    .option('--fence-cidr <name=cidr[,cidr]>', 'the node networks of a cluster, fenced when it is failed over unplanned (repeatable)', collect)
    .option('--fence-driver <name>', 'the CSI driver that enforces NetworkFences', DEFAULT_FENCE_DRIVER)
    .option('--no-auto-failover', 'never start automatic failovers from this cluster')
    .option('--log-level <level>', 'fatal, error, warn, info, debug or trace (default: $LOG_LEVEL or info)')
    .option('--qps <n>', 'Kubernetes API requests per second (0: no limit; default 5, as client-go)')
    .action(async (flags: DaemonCliFlags) => {
      const config = parseDaemonFlags(flags);
      const stopWhen = new Promise<string>((resolve) => {
        const finish = (why: string) => {
          process.off('SIGINT', onInt);
          process.off('SIGTERM', onTerm);
          resolve(why);
        };
        const onInt = () => finish('SIGINT');
        const onTerm = () => finish('SIGTERM');
        process.once('SIGINT', onInt);
        process.once('SIGTERM', onTerm);
      });
      const { reason } = await runDaemon(config, stopWhen);
      out(`daemon for ${config.clusterName} stopped (${reason})\n`);
    });
}
