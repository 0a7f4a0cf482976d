// Why: loads the Kubernetes connection settings (a kubeconfig file with a chosen context, or the in-cluster service
// account) and refuses a bad one with an error that names the file and the field, before any request is made.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parseDocument } from 'yaml';

/** A bad kubeconfig or in-cluster environment. The message names the source and the field. */
export class KubeConfigError extends Error {
  override readonly name = 'KubeConfigError';
  constructor(
    readonly source: string,
    readonly field: string | undefined,
    detail: string,
  ) {
    super(`${source}: ${field ? `${field}: ` : ''}${detail}`);
  }
}

export interface LoadedKubeConfig {
  /** A KubeConfig whose current context is `context`. */
  kubeConfig: KubeConfig;
  context: string;
  /** Where it came from: `kubeconfig <path>` or `in-cluster config`. */
  source: string;
  /** The context's default namespace, if it names one. */
  namespace?: string;
}

export interface LoadKubeConfigOptions {
  /** The kubeconfig file. Default: $KUBECONFIG (its first entry), else ~/.kube/config, else in-cluster. */
  path?: string;
  /** The context to use. Default: the file's current-context. */
  context?: string;
  /** Use the pod's service account even if a kubeconfig file exists. */
  inCluster?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Where the service account files are (for tests). */
  serviceAccountDir?: string;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export function loadKubeConfig(opts: LoadKubeConfigOptions = {}): LoadedKubeConfig {
  const env = opts.env ?? process.env;
  if (opts.inCluster) return loadInClusterConfig({ env, dir: opts.serviceAccountDir });
  if (opts.path) return loadKubeConfigFile(opts.path, opts.context);
  const fromEnv = env.KUBECONFIG?.split(':').find((p) => p.length > 0);
  if (fromEnv) return loadKubeConfigFile(fromEnv, opts.context);
  const home = resolve(homedir(), '.kube', 'config');
  if (existsSync(home)) return loadKubeConfigFile(home, opts.context);
  if (env.KUBERNETES_SERVICE_HOST) return loadInClusterConfig({ env, dir: opts.serviceAccountDir });
  throw new KubeConfigError('kubeconfig', undefined, `no kubeconfig found: pass --kubeconfig, set KUBECONFIG, create ${home}, or run in a pod`);
}

type Node = Record<string, unknown>;

function isMap(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads and checks a kubeconfig file; `context` (default: current-context) must name one of its contexts. */
export function loadKubeConfigFile(path: string, context?: string): LoadedKubeConfig {
  const file = isAbsolute(path) ? path : resolve(path);
  const source = `kubeconfig ${file}`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new KubeConfigError(source, undefined, code === 'ENOENT' ? 'file not found' : `cannot read: ${(e as Error).message}`);
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    const line = first.linePos?.[0]?.line;
    throw new KubeConfigError(source, undefined, `invalid YAML${line ? ` at line ${line}` : ''}: ${first.message.split('\n')[0]}`);
  }
  const root = doc.toJS() as unknown;
  const { contexts, namespaceOf } = checkStructure(source, file, root);
  const chosen = context ?? ((root as Node)['current-context'] as string | undefined);
  const known = contexts.length ? contexts.join(', ') : '(none)';
  if (!chosen) throw new KubeConfigError(source, 'current-context', `no context selected: pass --context or set current-context; known contexts: ${known}`);
  if (!contexts.includes(chosen)) {
    throw new KubeConfigError(source, context ? undefined : 'current-context', `context "${chosen}" not found; known contexts: ${known}`);
  }
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromString(text);
  } catch (e) {
    throw new KubeConfigError(source, undefined, (e as Error).message);
  }
  kubeConfig.makePathsAbsolute(dirname(file));
  kubeConfig.setCurrentContext(chosen);
  const loaded: LoadedKubeConfig = { kubeConfig, context: chosen, source };
  const ns = namespaceOf.get(chosen);
  if (ns) loaded.namespace = ns;
  return loaded;
}

/** Checks every field the client relies on and returns the context names, in order. */
function checkStructure(source: string, file: string, root: unknown): { contexts: string[]; namespaceOf: Map<string, string> } {
  if (!isMap(root)) throw new KubeConfigError(source, undefined, 'not a YAML mapping (expected apiVersion, clusters, users, contexts)');
  if (root.kind !== undefined && root.kind !== 'Config') throw new KubeConfigError(source, 'kind', `must be "Config", got ${JSON.stringify(root.kind)}`);
  const names = (section: 'clusters' | 'users' | 'contexts', inner: 'cluster' | 'user' | 'context'): { name: string; body: Node; at: string }[] => {
    const list = root[section];
    if (list === undefined || list === null) return [];
    if (!Array.isArray(list)) throw new KubeConfigError(source, section, 'must be a list');
    const seen = new Set<string>();
    return list.map((entry: unknown, i: number) => {
      const at = `${section}[${i}]`;
      if (!isMap(entry)) throw new KubeConfigError(source, at, 'must be a mapping with name and ' + inner);
      if (typeof entry.name !== 'string' || entry.name === '') throw new KubeConfigError(source, `${at}.name`, 'required (a non-empty string)');
      if (seen.has(entry.name)) throw new KubeConfigError(source, `${at}.name`, `duplicate ${inner} "${entry.name}"`);
      seen.add(entry.name);
      const body = entry[inner];
      if (body !== undefined && body !== null && !isMap(body)) throw new KubeConfigError(source, `${at}.${inner}`, 'must be a mapping');
      if ((body === undefined || body === null) && inner !== 'user') throw new KubeConfigError(source, `${at}.${inner}`, 'required');
      return { name: entry.name, body: (body ?? {}) as Node, at };
    });
  };
  const clusters = names('clusters', 'cluster');
  const users = names('users', 'user');
  const contexts = names('contexts', 'context');
  for (const c of clusters) {
    const server = c.body.server;
    if (typeof server !== 'string' || server === '') throw new KubeConfigError(source, `${c.at}.cluster.server`, 'required (the API server URL, e.g. https://10.0.0.1:6443)');
    let url: URL;
    try {
      url = new URL(server);
    } catch {
      throw new KubeConfigError(source, `${c.at}.cluster.server`, `not a URL: "${server}"`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new KubeConfigError(source, `${c.at}.cluster.server`, `must be http or https, got "${url.protocol}"`);
    checkFile(source, file, `${c.at}.cluster.certificate-authority`, c.body['certificate-authority']);
  }
  for (const u of users) {
    checkFile(source, file, `${u.at}.user.client-certificate`, u.body['client-certificate']);
    checkFile(source, file, `${u.at}.user.client-key`, u.body['client-key']);
    checkFile(source, file, `${u.at}.user.tokenFile`, u.body.tokenFile);
  }
  const clusterNames = clusters.map((c) => c.name);
  const userNames = users.map((u) => u.name);
  const namespaceOf = new Map<string, string>();
  for (const x of contexts) {
    const cluster = x.body.cluster;
    if (typeof cluster !== 'string' || cluster === '') throw new KubeConfigError(source, `${x.at}.context.cluster`, 'required (the name of an entry in clusters)');
    if (!clusterNames.includes(cluster)) {
      throw new KubeConfigError(source, `${x.at}.context.cluster`, `cluster "${cluster}" not found; known clusters: ${clusterNames.join(', ') || '(none)'}`);
    }
    const user = x.body.user;
    if (user !== undefined && user !== null && user !== '' && !userNames.includes(String(user))) {
      throw new KubeConfigError(source, `${x.at}.context.user`, `user "${String(user)}" not found; known users: ${userNames.join(', ') || '(none)'}`);
    }
    if (typeof x.body.namespace === 'string' && x.body.namespace) namespaceOf.set(x.name, x.body.namespace);
  }
  return { contexts: contexts.map((c) => c.name), namespaceOf };
}

function checkFile(source: string, file: string, field: string, value: unknown): void {
  if (value === undefined || value === null || value === '') return;
  const p = String(value);
  const abs = isAbsolute(p) ? p : resolve(dirname(file), p);
  if (!existsSync(abs)) throw new KubeConfigError(source, field, `file ${abs} not found`);
}

/** The pod's service account: KUBERNETES_SERVICE_HOST/PORT, and the token and CA files the kubelet mounts. */
export function loadInClusterConfig(opts: { env?: NodeJS.ProcessEnv; dir?: string } = {}): LoadedKubeConfig {
  const env = opts.env ?? process.env;
  const dir = opts.dir ?? SERVICE_ACCOUNT_DIR;
  const source = 'in-cluster config';
  if (!env.KUBERNETES_SERVICE_HOST) throw new KubeConfigError(source, 'KUBERNETES_SERVICE_HOST', 'not set (not running in a pod? pass --kubeconfig)');
  if (!env.KUBERNETES_SERVICE_PORT) throw new KubeConfigError(source, 'KUBERNETES_SERVICE_PORT', 'not set');
  for (const f of ['token', 'ca.crt']) {
    if (!existsSync(`${dir}/${f}`)) throw new KubeConfigError(source, `${dir}/${f}`, 'file not found (is a service account token mounted?)');
  }
  const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
  const kubeConfig = new KubeConfig();
  // client-node reads these two from process.env; pass ours through for the call only.
  process.env.KUBERNETES_SERVICE_HOST = env.KUBERNETES_SERVICE_HOST;
  process.env.KUBERNETES_SERVICE_PORT = env.KUBERNETES_SERVICE_PORT;
  try {
    kubeConfig.loadFromCluster(dir.endsWith(SERVICE_ACCOUNT_DIR) ? dir.slice(0, -SERVICE_ACCOUNT_DIR.length) : '');
  } finally {
    restoreEnv('KUBERNETES_SERVICE_HOST', saved.host);
    restoreEnv('KUBERNETES_SERVICE_PORT', saved.port);
  }
  if (!dir.endsWith(SERVICE_ACCOUNT_DIR)) {
    // A non-standard directory (tests): point the cluster and user at it.
    const c = kubeConfig.clusters[0];
    const u = kubeConfig.users[0];
    kubeConfig.clusters = [{ ...c, caFile: `${dir}/ca.crt` }];
    kubeConfig.users = [{ ...u, authProvider: { name: 'tokenFile', config: { tokenFile: `${dir}/token` } } }];
  }
  const loaded: LoadedKubeConfig = { kubeConfig, context: kubeConfig.currentContext, source };
  if (existsSync(`${dir}/namespace`)) loaded.namespace = readFileSync(`${dir}/namespace`, 'utf8').trim();
  return loaded;
}

function restoreEnv(key: string, value: string | undefined): void {
  if (value === undefined) delete process.env[key];
  else process.env[key] = value;
}
