// Why: `kubectl get` asks for server-side printing (Accept: application/json;as=Table;g=meta.k8s.io;v=v1); this
// renders objects as a meta.k8s.io/v1 Table with the columns kubectl shows for the built-in kinds and the
// additionalPrinterColumns of a CRD, so the simulated clusters read like real ones.
import type { KubeObject } from '../../drivers/cluster/cluster.port.ts';
import type { Json, JsonObject } from '../../drivers/json.ts';
import { isObject } from '../kube/object-util.ts';
import type { ResourceType } from '../kube/store.types.ts';

export interface TableColumn {
  name: string;
  type: string;
  format?: string;
  description: string;
  priority: number;
  /** How the cell is computed. */
  cell: (obj: KubeObject, nowMs: number) => unknown;
}

/** Does the Accept header ask for a Table? */
export function wantsTable(accept: string | undefined): boolean {
  return !!accept && accept.split(',').some((part) => /;\s*as=Table/.test(part) && /;\s*g=meta\.k8s\.io/.test(part));
}

/** Which Table version the client asked for first (v1 unless only v1beta1 is acceptable). */
export function tableApiVersion(accept: string | undefined): string {
  const first = (accept ?? '').split(',').find((p) => /;\s*as=Table/.test(p));
  return first && /;\s*v=v1beta1/.test(first) ? 'meta.k8s.io/v1beta1' : 'meta.k8s.io/v1';
}

/** Kubernetes' duration.HumanDuration, as the AGE column shows it. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < -1) return '<invalid>';
  if (s < 0) return '0s';
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  if (h < 24 * 8) return h % 24 === 0 ? `${Math.floor(h / 24)}d` : `${Math.floor(h / 24)}d${h % 24}h`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24)}d`;
  const y = Math.floor(h / 24 / 365);
  if (y < 8) return `${y}y${Math.floor(h / 24) % 365}d`;
  return `${y}y`;
}

function age(obj: KubeObject, nowMs: number): string {
  const t = obj.metadata.creationTimestamp;
  return t ? humanDuration(nowMs - Date.parse(t)) : '<unknown>';
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

const col = (name: string, cell: TableColumn['cell'], type = 'string', priority = 0): TableColumn => ({ name, type, description: name, priority, cell });

/** Columns for the built-in kinds, the same as the server's printers where it matters. */
function builtinColumns(kind: string): TableColumn[] {
  switch (kind) {
    case 'Deployment':
      return [
        col('Ready', (o) => `${num(o.status?.readyReplicas)}/${num(o.spec?.replicas)}`),
        col('Up-to-date', (o) => num(o.status?.updatedReplicas), 'integer'),
        col('Available', (o) => num(o.status?.availableReplicas), 'integer'),
      ];
    case 'StatefulSet':
      return [col('Ready', (o) => `${num(o.status?.readyReplicas)}/${num(o.spec?.replicas)}`)];
    case 'Pod':
      return [
        col('Ready', (o) => {
          const cs = Array.isArray(o.status?.containerStatuses) ? (o.status.containerStatuses as JsonObject[]) : [];
          const total = Array.isArray(o.spec?.containers) ? o.spec.containers.length : cs.length;
          if (cs.length) return `${cs.filter((c) => c.ready === true).length}/${total}`;
          // Without container statuses (the simulated kubelet keeps none), the pod's Ready condition speaks for all.
          const conditions = Array.isArray(o.status?.conditions) ? (o.status.conditions as JsonObject[]) : [];
          const ready = conditions.some((c) => c.type === 'Ready' && c.status === 'True');
          return `${ready ? total : 0}/${total}`;
        }),
        col('Status', (o) => (o.metadata.deletionTimestamp ? 'Terminating' : (o.status?.phase ?? 'Pending'))),
        col('Restarts', (o) => (Array.isArray(o.status?.containerStatuses) ? (o.status.containerStatuses as JsonObject[]).reduce((n, c) => n + num(c.restartCount), 0) : 0), 'integer'),
      ];
    case 'Namespace':
      return [col('Status', (o) => (isObject(o.status) && typeof o.status.phase === 'string' ? o.status.phase : 'Active'))];
    case 'ConfigMap':
    case 'Secret':
      return [col('Data', (o) => (isObject(o.data) ? Object.keys(o.data).length : 0) + (isObject(o.binaryData) ? Object.keys(o.binaryData).length : 0), 'integer')];
    case 'PersistentVolumeClaim':
      return [
        col('Status', (o) => o.status?.phase ?? 'Pending'),
        col('Volume', (o) => o.spec?.volumeName ?? ''),
        col('Capacity', (o) => (isObject(o.status?.capacity) ? (o.status.capacity.storage ?? '') : '')),
      ];
    case 'CronJob':
      return [col('Schedule', (o) => o.spec?.schedule ?? ''), col('Suspend', (o) => (o.spec?.suspend === true ? 'True' : 'False'))];
    default:
      return [];
  }
}

/** Evaluates the simple JSONPath forms CRDs use: `.a.b`, `.a[0].b`, `.a[?(@.type=="Ready")].status`. */
export function evalJsonPath(obj: unknown, path: string): unknown {
  const p = path.trim().replace(/^\{(.*)\}$/, '$1').replace(/^\$/, '');
  const re = /\.([A-Za-z0-9_-]+)|\[(\d+)\]|\[\?\(@\.([A-Za-z0-9_-]+)\s*==\s*["']([^"']*)["']\)\]|\['([^']+)'\]/gy;
  let cur: unknown = obj;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < p.length) {
    re.lastIndex = pos;
    m = re.exec(p);
    if (!m) return undefined;
    pos = re.lastIndex;
    if (m[1] !== undefined || m[5] !== undefined) cur = isObject(cur) ? cur[m[1] ?? m[5]] : undefined;
    else if (m[2] !== undefined) cur = Array.isArray(cur) ? cur[Number(m[2])] : undefined;
    else cur = Array.isArray(cur) ? cur.find((e) => isObject(e) && String(e[m![3]]) === m![4]) : undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** Columns from a CRD version's additionalPrinterColumns. */
function crdColumns(crd: KubeObject | undefined, version: string): TableColumn[] | undefined {
  const versions = Array.isArray(crd?.spec?.versions) ? (crd.spec.versions as JsonObject[]) : [];
  const v = versions.find((x) => x.name === version);
  const cols = v && Array.isArray(v.additionalPrinterColumns) ? (v.additionalPrinterColumns as JsonObject[]) : undefined;
  if (!cols) return undefined;
  return cols.map((c) => {
    const type = typeof c.type === 'string' ? c.type : 'string';
    const jsonPath = String(c.jsonPath ?? '');
    const column: TableColumn = {
      name: String(c.name),
      type,
      description: typeof c.description === 'string' ? c.description : String(c.name),
      priority: typeof c.priority === 'number' ? c.priority : 0,
      cell: (o, nowMs) => {
        const v = evalJsonPath(o, jsonPath);
        if (v === undefined || v === null) return null;
        if (type === 'date' && typeof v === 'string') return humanDuration(nowMs - Date.parse(v));
        return typeof v === 'object' ? JSON.stringify(v) : v;
      },
    };
    if (typeof c.format === 'string') column.format = c.format;
    return column;
  });
}

/** The columns of a type: Name, the kind's own (or the CRD's printer columns), then Age. */
export function tableColumns(t: ResourceType, crd: KubeObject | undefined): TableColumn[] {
  const name: TableColumn = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0, cell: (o) => o.metadata.name };
  const ageCol: TableColumn = { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0, cell: age };
  const own = crdColumns(crd, t.version);
  if (own) {
    // A CRD that lists its own columns gets Name first, then them; Age only if it did not list one.
    const hasAge = own.some((c) => c.name.toLowerCase() === 'age');
    return [name, ...own, ...(hasAge ? [] : [ageCol])];
  }
  return [name, ...builtinColumns(t.kind), ageCol];
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

function rowObject(obj: KubeObject, include: IncludeObject): JsonObject | undefined {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj as unknown as JsonObject;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata as unknown as JsonObject };
}

/** A Table of objects. `resourceVersion` is the list's (for lists) or the object's. */
export function renderTable(objs: KubeObject[], columns: TableColumn[], opts: { apiVersion: string; resourceVersion?: string; nowMs: number; include: IncludeObject; withColumns?: boolean }): JsonObject {
  const rows = objs.map((o) => {
    const row: JsonObject = { cells: columns.map((c) => (c.cell(o, opts.nowMs) ?? null) as Json) };
    const object = rowObject(o, opts.include);
    if (object) row.object = object;
    return row;
  });
  const table: JsonObject = {
    kind: 'Table',
    apiVersion: opts.apiVersion,
    metadata: opts.resourceVersion ? { resourceVersion: opts.resourceVersion } : {},
    columnDefinitions:
      opts.withColumns === false
        ? []
        : columns.map((c) => {
            const d: JsonObject = { name: c.name, type: c.type, format: c.format ?? '', description: c.description, priority: c.priority };
            return d;
          }),
    rows,
  };
  return table;
}
