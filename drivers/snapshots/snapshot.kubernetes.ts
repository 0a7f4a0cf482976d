// Why: the real snapshot store: one ConfigMap per failover in the operator's own namespace, written through the
// ClusterPort, with the ConfigMap's resourceVersion as the revision. Using the cluster the operator already
// talks to means persistence needs no second backend, and the API server's optimistic concurrency gives the
// conditional write for free.
import { Kinds, type CallOpts, type ClusterPort, type KubeObject, type ObjectRef } from '../cluster/cluster.port.ts';
import { DriverError, isDriverError } from '../errors.ts';
import { checkSnapshotKey, serializeSnapshot, type SnapshotStorePort, type SnapshotValue, type StoredSnapshot } from './snapshot.port.ts';

const DRIVER = 'snapshots';
/** Set on every snapshot ConfigMap, so a restarted operator lists exactly its own. */
export const SNAPSHOT_LABEL = 'failover-engine.io/snapshot';
/** The snapshot's key, verbatim (ConfigMap names are a sanitized form of it). */
export const SNAPSHOT_KEY_ANNOTATION = 'failover-engine.io/snapshot-key';

export interface ConfigMapSnapshotOptions {
  /** The operator's own namespace. */
  namespace: string;
  /** Tells apart several engines sharing a namespace (label value). Default `failover-engine`. */
  owner?: string;
}

/** FNV-1a, hex: a short stable suffix so two keys never map to one ConfigMap name. */
function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** A DNS-1123 name for a key: `fsnap-<slug>-<hash>`, at most 63 characters. */
export function configMapNameFor(key: string): string {
  const slug = key
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 44);
  return `fsnap-${slug ? `${slug}-` : ''}${shortHash(key)}`;
}

function parseRevision(op: string, rv: string | undefined): number {
  const n = Number(rv);
  if (rv === undefined || !/^\d+$/.test(rv) || !Number.isSafeInteger(n)) {
    throw new DriverError('Fatal', DRIVER, op, `ConfigMap resourceVersion ${JSON.stringify(rv)} is not a decimal integer; this store needs an etcd-backed API server`, {
      reason: 'UnexpectedResourceVersion',
    });
  }
  return n;
}

export class ConfigMapSnapshotStore implements SnapshotStorePort {
  private readonly owner: string;

  constructor(
    private readonly cluster: ClusterPort,
    private readonly options: ConfigMapSnapshotOptions,
  ) {
    if (!options.namespace) throw new TypeError('ConfigMapSnapshotStore: options.namespace is required (the operator\'s own namespace)');
    this.owner = options.owner ?? 'failover-engine';
  }

  private ref(key: string): ObjectRef {
    return { ...Kinds.ConfigMap, namespace: this.options.namespace, name: configMapNameFor(key) };
  }

  async load(key: string, opts?: CallOpts): Promise<StoredSnapshot | undefined> {
    checkSnapshotKey(DRIVER, 'load', key);
    const cm = await this.cluster.get(this.ref(key), opts);
    if (!cm) return undefined;
    return this.decode(key, cm);
  }

  async save(key: string, value: SnapshotValue, expectedRevision: number | undefined, opts?: CallOpts): Promise<{ revision: number }> {
    checkSnapshotKey(DRIVER, 'save', key);
    const json = serializeSnapshot(DRIVER, key, value);
    const ref = this.ref(key);
    const body: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: ref.name,
        namespace: this.options.namespace,
        labels: { [SNAPSHOT_LABEL]: this.owner, 'app.kubernetes.io/managed-by': 'failover-engine' },
        annotations: { [SNAPSHOT_KEY_ANNOTATION]: key },
      },
      data: { value: json },
    };
    if (expectedRevision === undefined) {
      const created = await this.cluster.create(body, opts);
      return { revision: parseRevision('save', created.metadata.resourceVersion) };
    }
    body.metadata.resourceVersion = String(expectedRevision);
    try {
      const updated = await this.cluster.update(body, opts);
      return { revision: parseRevision('save', updated.metadata.resourceVersion) };
    } catch (e) {
      // An update of a ConfigMap that is gone is a stale revision, as the port says.
      if (isDriverError(e) && e.kind === 'NotFound') {
        throw new DriverError('Conflict', DRIVER, 'save', `snapshot ${key} is gone (expected revision ${expectedRevision})`, { reason: 'NotFound', code: 409, cause: e });
      }
      throw e;
    }
  }

  async delete(key: string, opts?: CallOpts): Promise<boolean> {
    checkSnapshotKey(DRIVER, 'delete', key);
    return this.cluster.delete(this.ref(key), opts);
  }

  async list(opts?: CallOpts): Promise<string[]> {
    const l = await this.cluster.list(Kinds.ConfigMap, { ...opts, namespace: this.options.namespace, labelSelector: `${SNAPSHOT_LABEL}=${this.owner}` });
    const keys: string[] = [];
    for (const cm of l.items) {
      const key = cm.metadata.annotations?.[SNAPSHOT_KEY_ANNOTATION];
      if (key !== undefined) keys.push(key);
    }
    return keys.sort();
  }

  private decode(key: string, cm: KubeObject): StoredSnapshot {
    const data = (cm as { data?: Record<string, string> }).data;
    const stored = cm.metadata.annotations?.[SNAPSHOT_KEY_ANNOTATION];
    if (stored !== undefined && stored !== key) {
      throw new DriverError('Fatal', DRIVER, 'load', `ConfigMap ${cm.metadata.name} holds snapshot ${stored}, not ${key} (name collision)`, { reason: 'KeyMismatch' });
    }
    let v: StoredSnapshot;
    try {
      v = JSON.parse(data?.value ?? '') as StoredSnapshot;
    } catch (e) {
      throw new DriverError('Fatal', DRIVER, 'load', `ConfigMap ${cm.metadata.name} (snapshot ${key}) has no readable data.value: ${(e as Error).message}`, {
        reason: 'Corrupt',
        cause: e,
      });
    }
    v.key = key;
    v.revision = parseRevision('load', cm.metadata.resourceVersion);
    return v;
  }
}
