// Why: the built-in kinds have no CRD schema here, so what the real server does for them on create and update
// is written by hand, kept small: its defaults (replicas, stringData), its resets (status on create), and the
// checks that most often catch real mistakes (replicas, selectors that match, containers, immutable fields).
import type { KubeObject } from '../../drivers/cluster/cluster.port.ts';
import type { Json, JsonObject } from '../../drivers/json.ts';
import { cause, type FieldCause } from './api-errors.ts';
import { selectorFromObject, type LabelSelectorObject } from './label-selector.ts';
import { dns1123LabelError } from './metadata.ts';
import { deepEqual, isObject, isoSeconds } from './object-util.ts';
import { crdCauses } from './registry.ts';
import type { ResourceType } from './store.types.ts';

const obj = (v: unknown): JsonObject | undefined => (isObject(v) ? v : undefined);

/** The server's changes to a new object before it is stored: status reset or initialised, system labels. */
export function prepareForCreate(t: ResourceType, o: KubeObject, nowMs: number): void {
  if (t.statusSubresource) delete o.status;
  if (t.group === '' && t.kind === 'Pod') o.status = { phase: 'Pending' };
  if (t.group === '' && t.kind === 'Namespace') {
    o.status = { phase: 'Active' };
    o.metadata.labels = { ...(o.metadata.labels ?? {}), 'kubernetes.io/metadata.name': o.metadata.name };
  }
  if (t.group === 'apiextensions.k8s.io' && t.kind === 'CustomResourceDefinition') {
    const spec = obj(o.spec) ?? {};
    const at = isoSeconds(nowMs);
    const storage = Array.isArray(spec.versions) ? spec.versions.filter(isObject).find((v) => v.storage === true) : undefined;
    o.status = {
      acceptedNames: obj(spec.names) ?? {},
      conditions: [
        { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: at },
        { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: at },
      ],
      storedVersions: storage && typeof storage.name === 'string' ? [storage.name] : [],
    };
  }
}

/** Defaults the server fills in for built-in kinds (on create and update). */
export function applyBuiltinDefaults(t: ResourceType, o: KubeObject): void {
  const spec = obj(o.spec);
  switch (`${t.group}/${t.kind}`) {
    case 'apps/Deployment':
    case 'apps/StatefulSet':
      if (spec && spec.replicas === undefined) spec.replicas = 1;
      break;
    case 'batch/CronJob':
      if (spec) {
        if (spec.suspend === undefined) spec.suspend = false;
        if (spec.concurrencyPolicy === undefined) spec.concurrencyPolicy = 'Allow';
      }
      break;
    case '/Service':
      if (spec) {
        if (spec.type === undefined) spec.type = 'ClusterIP';
        if (Array.isArray(spec.ports)) for (const p of spec.ports) if (isObject(p) && p.protocol === undefined) p.protocol = 'TCP';
      }
      break;
    case '/Secret': {
      // stringData is write-only: merged into data (base64) and dropped, as the server does.
      const sd = obj(o.stringData);
      if (sd) {
        const data: JsonObject = { ...(obj(o.data) ?? {}) };
        for (const [k, v] of Object.entries(sd)) if (typeof v === 'string') data[k] = Buffer.from(v, 'utf8').toString('base64');
        o.data = data;
      }
      delete o.stringData;
      if (o.type === undefined) o.type = 'Opaque';
      break;
    }
  }
}

function containersCauses(podSpec: JsonObject | undefined, base: string, out: FieldCause[]): void {
  const containers = podSpec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    out.push(cause.required(`${base}.containers`));
    return;
  }
  const names = new Set<string>();
  containers.forEach((c, i) => {
    const f = `${base}.containers[${i}]`;
    if (!isObject(c)) return out.push(cause.invalid(f, c, 'must be an object'));
    if (typeof c.name !== 'string' || c.name === '') out.push(cause.required(`${f}.name`));
    else {
      const why = dns1123LabelError(c.name);
      if (why) out.push(cause.invalid(`${f}.name`, c.name, why));
      if (names.has(c.name)) out.push(cause.duplicate(`${f}.name`, c.name));
      names.add(c.name);
    }
    if (typeof c.image !== 'string' || c.image.trim() === '') out.push(cause.required(`${f}.image`));
  });
}

function replicasCauses(spec: JsonObject, out: FieldCause[]): void {
  const r = spec.replicas;
  if (r === undefined) return;
  if (typeof r !== 'number' || !Number.isInteger(r)) out.push(cause.typeInvalid('spec.replicas', r, 'must be an integer'));
  else if (r < 0) out.push(cause.invalid('spec.replicas', r, 'must be greater than or equal to 0'));
}

function workloadCauses(kind: string, spec: JsonObject, out: FieldCause[]): void {
  replicasCauses(spec, out);
  const sel = obj(spec.selector);
  const template = obj(spec.template);
  if (!sel) out.push(cause.required('spec.selector'));
  else if (Object.keys(obj(sel.matchLabels) ?? {}).length === 0 && !(Array.isArray(sel.matchExpressions) && sel.matchExpressions.length > 0)) {
    out.push(cause.invalid('spec.selector', sel, `empty selector is invalid for ${kind.toLowerCase()}`));
  } else {
    let selector;
    try {
      selector = selectorFromObject(sel as LabelSelectorObject);
    } catch (e) {
      out.push(cause.invalid('spec.selector', sel, (e as Error).message));
    }
    const labels = obj(obj(template?.metadata)?.labels) as Record<string, string> | undefined;
    if (selector && !selector.matches(labels)) out.push(cause.invalid('spec.template.metadata.labels', labels ?? {}, '`selector` does not match template `labels`'));
  }
  if (!template) out.push(cause.required('spec.template'));
  else containersCauses(obj(template.spec), 'spec.template.spec', out);
}

const CRON_MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function dataCauses(o: KubeObject, field: 'data' | 'binaryData', base64: boolean, out: FieldCause[]): void {
  const data = o[field];
  if (data === undefined) return;
  if (!isObject(data)) return void out.push(cause.invalid(field, data, 'must be a map of string keys to string values'));
  for (const [k, v] of Object.entries(data)) {
    if (k.length > 253 || !CONFIG_KEY.test(k)) {
      out.push(
        cause.invalid(
          `${field}[${k}]`,
          k,
          "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
        ),
      );
    }
    if (typeof v !== 'string') out.push(cause.invalid(`${field}[${k}]`, v, 'must be a string'));
    else if (base64 && !BASE64.test(v)) out.push(cause.invalid(`${field}[${k}]`, '<secret contents redacted>', 'illegal base64 data'));
  }
}

/** Field errors of a built-in kind's object (`old` is the stored object on update). */
export function builtinCauses(t: ResourceType, o: KubeObject, old?: KubeObject): FieldCause[] {
  const out: FieldCause[] = [];
  const spec = obj(o.spec);
  const oldSpec = obj(old?.spec);
  switch (`${t.group}/${t.kind}`) {
    case 'apps/Deployment':
      if (!spec) out.push(cause.required('spec'));
      else {
        workloadCauses('Deployment', spec, out);
        if (old && !deepEqual(spec.selector, oldSpec?.selector)) out.push(cause.immutable('spec.selector', spec.selector ?? null));
      }
      break;
    case 'apps/StatefulSet':
      if (!spec) out.push(cause.required('spec'));
      else {
        workloadCauses('StatefulSet', spec, out);
        if (old && oldSpec) {
          const mutable = new Set(['replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds']);
          const keys = new Set([...Object.keys(spec), ...Object.keys(oldSpec)]);
          if ([...keys].some((k) => !mutable.has(k) && !deepEqual(spec[k], oldSpec[k]))) {
            out.push(
              cause.forbidden(
                'spec',
                "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
              ),
            );
          }
        }
      }
      break;
    case 'batch/CronJob': {
      if (!spec) {
        out.push(cause.required('spec'));
        break;
      }
      const s = spec.schedule;
      if (typeof s !== 'string' || s === '') out.push(cause.required('spec.schedule'));
      else {
        const fields = s.replace(/^(CRON_)?TZ=\S+\s+/, '').trim().split(/\s+/);
        if (!(fields.length === 5 || (fields.length === 1 && CRON_MACROS.has(fields[0])))) out.push(cause.invalid('spec.schedule', s, 'unparseable schedule: expected exactly 5 fields'));
      }
      if (spec.suspend !== undefined && typeof spec.suspend !== 'boolean') out.push(cause.typeInvalid('spec.suspend', spec.suspend, 'must be a boolean'));
      if (!['Allow', 'Forbid', 'Replace'].includes(spec.concurrencyPolicy as string)) out.push(cause.notSupported('spec.concurrencyPolicy', spec.concurrencyPolicy ?? '', ['Allow', 'Forbid', 'Replace']));
      const jt = obj(spec.jobTemplate);
      if (!jt) out.push(cause.required('spec.jobTemplate'));
      else containersCauses(obj(obj(obj(jt.spec)?.template)?.spec), 'spec.jobTemplate.spec.template.spec', out);
      break;
    }
    case 'batch/Job':
      if (!spec) out.push(cause.required('spec'));
      else containersCauses(obj(obj(spec.template)?.spec), 'spec.template.spec', out);
      break;
    case '/Pod':
      containersCauses(spec, 'spec', out);
      if (old && spec && oldSpec) {
        const strip = (s: JsonObject): JsonObject => {
          const c: JsonObject = { ...s };
          delete c.activeDeadlineSeconds;
          delete c.tolerations;
          for (const f of ['containers', 'initContainers'] as const) {
            if (Array.isArray(c[f])) c[f] = (c[f] as Json[]).map((x) => (isObject(x) ? { ...x, image: '' } : x));
          }
          return c;
        };
        if (!deepEqual(strip(spec), strip(oldSpec))) {
          out.push(
            cause.forbidden(
              'spec',
              'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
            ),
          );
        }
      }
      break;
    case '/ConfigMap':
      dataCauses(o, 'data', false, out);
      dataCauses(o, 'binaryData', true, out);
      if (old?.immutable === true) {
        if (!deepEqual(o.data, old.data) || !deepEqual(o.binaryData, old.binaryData)) out.push(cause.forbidden('data', 'field is immutable when `immutable` is set'));
        if (o.immutable !== true) out.push(cause.forbidden('immutable', 'field is immutable when `immutable` is set'));
      }
      break;
    case '/Secret':
      dataCauses(o, 'data', true, out);
      if (old && old.type !== o.type) out.push(cause.immutable('type', o.type ?? ''));
      if (old?.immutable === true && (!deepEqual(o.data, old.data) || o.immutable !== true)) out.push(cause.forbidden('data', 'field is immutable when `immutable` is set'));
      break;
    case '/Service': {
      const type = spec?.type ?? 'ClusterIP';
      if (!['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'].includes(type as string)) out.push(cause.notSupported('spec.type', type, ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort']));
      const ports = spec?.ports;
      const headless = spec?.clusterIP === 'None';
      if (type !== 'ExternalName' && !headless && (!Array.isArray(ports) || ports.length === 0)) out.push(cause.required('spec.ports'));
      if (Array.isArray(ports)) {
        ports.forEach((p, i) => {
          const port = isObject(p) ? p.port : undefined;
          if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
            out.push(port === undefined ? cause.required(`spec.ports[${i}].port`) : cause.invalid(`spec.ports[${i}].port`, port, 'must be between 1 and 65535, inclusive'));
          }
          const proto = isObject(p) ? p.protocol : undefined;
          if (proto !== undefined && !['TCP', 'UDP', 'SCTP'].includes(proto as string)) out.push(cause.notSupported(`spec.ports[${i}].protocol`, proto, ['SCTP', 'TCP', 'UDP']));
        });
      }
      break;
    }
    case '/PersistentVolumeClaim': {
      const modes = spec?.accessModes;
      const allowed = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];
      if (!Array.isArray(modes) || modes.length === 0) out.push(cause.required('spec.accessModes', 'at least 1 access mode is required'));
      else modes.forEach((m, i) => !allowed.includes(m as string) && out.push(cause.notSupported(`spec.accessModes[${i}]`, m, allowed)));
      const storage = obj(obj(spec?.resources)?.requests)?.storage;
      if (storage === undefined) out.push(cause.required('spec.resources[storage]'));
      if (old && spec && oldSpec) {
        const strip = (s: JsonObject, was: JsonObject | undefined): JsonObject => {
          const c: JsonObject = { ...s };
          delete c.resources;
          delete c.volumeAttributesClassName;
          if (was && (was.volumeName === undefined || was.volumeName === '')) delete c.volumeName;
          return c;
        };
        if (!deepEqual(strip(spec, oldSpec), strip(oldSpec, oldSpec))) out.push(cause.forbidden('spec', 'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims'));
      }
      break;
    }
    case 'networking.k8s.io/Ingress': {
      const rules = spec?.rules;
      if (Array.isArray(rules)) {
        rules.forEach((r, i) => {
          const paths = obj(obj(r)?.http)?.paths;
          if (!Array.isArray(paths)) return;
          paths.forEach((p, j) => {
            const f = `spec.rules[${i}].http.paths[${j}]`;
            const pt = obj(p)?.pathType;
            if (pt === undefined) out.push(cause.required(`${f}.pathType`, 'pathType must be specified'));
            else if (!['Exact', 'ImplementationSpecific', 'Prefix'].includes(pt as string)) out.push(cause.notSupported(`${f}.pathType`, pt, ['Exact', 'ImplementationSpecific', 'Prefix']));
            const b = obj(obj(p)?.backend);
            if (!b || (!obj(b.service) && !obj(b.resource))) out.push(cause.invalid(`${f}.backend`, '', 'resource or service must be specified'));
          });
        });
      } else if (!obj(spec?.defaultBackend)) out.push(cause.invalid('spec', '', 'either `defaultBackend` or `rules` must be specified'));
      break;
    }
    case 'apiextensions.k8s.io/CustomResourceDefinition':
      out.push(...crdCauses(o));
      if (old && spec && oldSpec) {
        if (spec.group !== oldSpec.group) out.push(cause.immutable('spec.group', spec.group ?? ''));
        if (spec.scope !== oldSpec.scope) out.push(cause.immutable('spec.scope', spec.scope ?? ''));
      }
      break;
  }
  return out;
}
