// Why: the server checks every object's metadata the same way whatever its kind (names, labels, annotations,
// finalizers, owner references); kept apart from the per-kind rules so the messages match the server's.
import type { KubeObject } from '../../drivers/cluster/cluster.port.ts';
import { cause, type FieldCause } from './api-errors.ts';
import { labelKeyError, labelValueError } from './label-selector.ts';
import { isObject } from './object-util.ts';
import type { ResourceType } from './store.types.ts';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

export function dns1123LabelError(v: string): string | undefined {
  if (v.length > 63) return 'must be no more than 63 characters';
  return DNS1123_LABEL.test(v) ? undefined : LABEL_MSG;
}

export function dns1123SubdomainError(v: string): string | undefined {
  if (v.length > 253) return 'must be no more than 253 characters';
  return DNS1123_SUBDOMAIN.test(v) ? undefined : SUBDOMAIN_MSG;
}

function dns1035LabelError(v: string): string | undefined {
  if (v.length > 63) return 'must be no more than 63 characters';
  return DNS1035_LABEL.test(v) ? undefined : DNS1035_MSG;
}

/** How names of a kind are checked: namespaces are DNS labels, services DNS-1035 labels, the rest subdomains. */
function nameError(kind: string, name: string): string | undefined {
  if (kind === 'Namespace') return dns1123LabelError(name);
  if (kind === 'Service') return dns1035LabelError(name);
  return dns1123SubdomainError(name);
}

const ANNOTATIONS_MAX_BYTES = 256 * 1024;

/** Field errors in an object's metadata. */
export function metadataCauses(t: ResourceType, obj: KubeObject): FieldCause[] {
  const out: FieldCause[] = [];
  const m = obj.metadata;
  if (typeof m.name !== 'string' || m.name === '') out.push(cause.required('metadata.name', 'name or generateName is required'));
  else {
    const why = nameError(t.kind, m.name);
    if (why) out.push(cause.invalid('metadata.name', m.name, why));
  }
  if (t.namespaced && m.namespace !== undefined) {
    const why = dns1123LabelError(m.namespace);
    if (why) out.push(cause.invalid('metadata.namespace', m.namespace, why));
  }
  if (m.labels !== undefined) {
    if (!isObject(m.labels)) out.push(cause.invalid('metadata.labels', m.labels, 'must be a map of string keys to string values'));
    else
      for (const [k, v] of Object.entries(m.labels)) {
        const kw = labelKeyError(k);
        if (kw) out.push(cause.invalid('metadata.labels', k, kw));
        if (typeof v !== 'string') out.push(cause.invalid(`metadata.labels[${k}]`, v, 'must be a string'));
        else {
          const vw = labelValueError(v);
          if (vw) out.push(cause.invalid('metadata.labels', v, vw));
        }
      }
  }
  if (m.annotations !== undefined) {
    if (!isObject(m.annotations)) out.push(cause.invalid('metadata.annotations', m.annotations, 'must be a map of string keys to string values'));
    else {
      let bytes = 0;
      for (const [k, v] of Object.entries(m.annotations)) {
        const kw = labelKeyError(k.toLowerCase());
        if (kw) out.push(cause.invalid('metadata.annotations', k, kw));
        if (typeof v !== 'string') out.push(cause.invalid(`metadata.annotations[${k}]`, v, 'must be a string'));
        else bytes += k.length + v.length;
      }
      if (bytes > ANNOTATIONS_MAX_BYTES) out.push(cause.tooLong('metadata.annotations', ANNOTATIONS_MAX_BYTES));
    }
  }
  if (m.finalizers !== undefined) {
    if (!Array.isArray(m.finalizers)) out.push(cause.invalid('metadata.finalizers', m.finalizers, 'must be a list of strings'));
    else
      m.finalizers.forEach((f, i) => {
        const why = typeof f === 'string' ? labelKeyError(f) : 'must be a string';
        if (why) out.push(cause.invalid(`metadata.finalizers[${i}]`, f, why));
      });
  }
  if (m.ownerReferences !== undefined) {
    if (!Array.isArray(m.ownerReferences)) out.push(cause.invalid('metadata.ownerReferences', m.ownerReferences, 'must be a list'));
    else
      m.ownerReferences.forEach((r, i) => {
        for (const f of ['apiVersion', 'kind', 'name', 'uid'] as const) {
          if (!isObject(r) || typeof r[f] !== 'string' || r[f] === '') out.push(cause.required(`metadata.ownerReferences[${i}].${f}`));
        }
      });
  }
  return out;
}
