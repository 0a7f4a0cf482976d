// Why: a FailoverGroup object (durations as strings, fields as users wrote them) and the engine's
// FailoverGroupSpec (milliseconds, checked) are two forms of one thing. The daemon converts every object it reads
// here, reporting each problem with the field path and the fix, and the simulator harness and CLI build objects
// from specs with the inverse.
import { apiVersionOf, type KubeObject } from '../../drivers/cluster/cluster.port.ts';
import type { JsonObject } from '../../drivers/json.ts';
import {
  DEFAULT_GROUP_TIMEOUTS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  type FailoverGroupSpec,
  type FluxResourceKind,
  type NetworkResourceKind,
  type WorkloadKind,
} from '../../machines/failover/group.types.ts';
import { DEFAULT_OPERATOR_ID, FailoverGroupKind } from './api.ts';
import { DurationError, formatDurationMs, parseDurationMs } from './duration.ts';

const WORKLOAD_KINDS: readonly WorkloadKind[] = ['Deployment', 'StatefulSet', 'CronJob'];
const NETWORK_KINDS: readonly NetworkResourceKind[] = ['VirtualService', 'Ingress'];
const FLUX_KINDS: readonly FluxResourceKind[] = ['HelmRelease', 'Kustomization'];

export type GroupSpecResult = { ok: true; spec: FailoverGroupSpec } | { ok: false; problems: string[] };

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
function show(v: unknown): string {
  return v === undefined ? 'nothing' : (JSON.stringify(v) ?? String(v));
}

/** Reads a FailoverGroup object into the engine's spec; every problem names its field (`spec.timeouts.heartbeat`). */
export function groupSpecFromObject(obj: KubeObject): GroupSpecResult {
  const problems: string[] = [];
  const name = obj.metadata?.name;
  const namespace = obj.metadata?.namespace;
  if (typeof name !== 'string' || !name) problems.push('metadata.name: is missing');
  if (typeof namespace !== 'string' || !namespace) problems.push('metadata.namespace: is missing: FailoverGroup is a namespaced kind');
  const s = obj.spec;
  if (!isObj(s)) return { ok: false, problems: [...problems, 'spec: is missing: give the group its workloads'] };

  const duration = (v: unknown, field: string, dflt: number): number => {
    if (v === undefined) return dflt;
    try {
      return parseDurationMs(v, field);
    } catch (e) {
      problems.push(e instanceof DurationError ? e.message : `${field}: ${(e as Error).message}`);
      return dflt;
    }
  };
  const str = (v: unknown, field: string): string => {
    if (typeof v !== 'string' || v.length === 0) {
      problems.push(`${field}: must be a non-empty string (got ${show(v)})`);
      return '';
    }
    return v;
  };
  const oneOf = <T extends string>(v: unknown, field: string, allowed: readonly T[]): T => {
    if (typeof v !== 'string' || !allowed.includes(v as T)) problems.push(`${field}: must be one of ${allowed.join(', ')} (got ${show(v)})`);
    return v as T;
  };
  const list = (v: unknown, field: string, required: boolean): unknown[] => {
    if (v === undefined && !required) return [];
    if (!Array.isArray(v)) {
      problems.push(`${field}: must be a list (got ${show(v)})`);
      return [];
    }
    return v;
  };
  const uniqueKinds = (items: Array<{ kind: string; name: string }>, field: string) => {
    const seen = new Set<string>();
    items.forEach((it, i) => {
      const k = `${it.kind}/${it.name}`;
      if (seen.has(k)) problems.push(`${field}[${i}]: ${k} is listed twice: list each object once`);
      seen.add(k);
    });
  };

  const timeouts = isObj(s.timeouts) ? s.timeouts : s.timeouts === undefined ? {} : (problems.push(`spec.timeouts: must be an object (got ${show(s.timeouts)})`), {});
  const t = timeouts as Record<string, unknown>;
  const spec: FailoverGroupSpec = {
    name: name ?? '',
    namespace: namespace ?? '',
    operatorID: s.operatorID === undefined ? DEFAULT_OPERATOR_ID : str(s.operatorID, 'spec.operatorID'),
    suspended: false,
    timeouts: {
      transitoryStateMs: duration(t.transitoryState, 'spec.timeouts.transitoryState', DEFAULT_GROUP_TIMEOUTS.transitoryStateMs),
      unhealthyPrimaryMs: duration(t.unhealthyPrimary, 'spec.timeouts.unhealthyPrimary', DEFAULT_GROUP_TIMEOUTS.unhealthyPrimaryMs),
      heartbeatMs: duration(t.heartbeat, 'spec.timeouts.heartbeat', DEFAULT_GROUP_TIMEOUTS.heartbeatMs),
    },
    heartbeatIntervalMs: duration(s.heartbeatInterval, 'spec.heartbeatInterval', DEFAULT_HEARTBEAT_INTERVAL_MS),
    workloads: [],
    networkResources: [],
    fluxResources: [],
  };
  if (s.suspended !== undefined) {
    if (typeof s.suspended !== 'boolean') problems.push(`spec.suspended: must be true or false (got ${show(s.suspended)})`);
    else spec.suspended = s.suspended;
  }
  if (s.suspensionReason !== undefined) {
    if (typeof s.suspensionReason !== 'string') problems.push(`spec.suspensionReason: must be a string (got ${show(s.suspensionReason)})`);
    else spec.suspensionReason = s.suspensionReason;
  }
  const workloads = list(s.workloads, 'spec.workloads', true);
  if (Array.isArray(s.workloads) && workloads.length === 0) problems.push('spec.workloads: must list at least one workload');
  workloads.forEach((w, i) => {
    const f = `spec.workloads[${i}]`;
    if (!isObj(w)) return void problems.push(`${f}: must be an object with kind and name (got ${show(w)})`);
    const vrs = list(w.volumeReplications, `${f}.volumeReplications`, false).map((v, j) => str(v, `${f}.volumeReplications[${j}]`));
    spec.workloads.push({ kind: oneOf(w.kind, `${f}.kind`, WORKLOAD_KINDS), name: str(w.name, `${f}.name`), volumeReplications: vrs });
  });
  list(s.networkResources, 'spec.networkResources', false).forEach((n, i) => {
    const f = `spec.networkResources[${i}]`;
    if (!isObj(n)) return void problems.push(`${f}: must be an object with kind and name (got ${show(n)})`);
    spec.networkResources.push({ kind: oneOf(n.kind, `${f}.kind`, NETWORK_KINDS), name: str(n.name, `${f}.name`) });
  });
  list(s.fluxResources, 'spec.fluxResources', false).forEach((x, i) => {
    const f = `spec.fluxResources[${i}]`;
    if (!isObj(x)) return void problems.push(`${f}: must be an object with kind and name (got ${show(x)})`);
    let trigger = true;
    if (x.triggerReconcile !== undefined) {
      if (typeof x.triggerReconcile !== 'boolean') problems.push(`${f}.triggerReconcile: must be true or false (got ${show(x.triggerReconcile)})`);
      else trigger = x.triggerReconcile;
    }
    spec.fluxResources.push({ kind: oneOf(x.kind, `${f}.kind`, FLUX_KINDS), name: str(x.name, `${f}.name`), triggerReconcile: trigger });
  });
  uniqueKinds(spec.workloads, 'spec.workloads');
  uniqueKinds(spec.networkResources, 'spec.networkResources');
  uniqueKinds(spec.fluxResources, 'spec.fluxResources');
  if (spec.timeouts.heartbeatMs <= spec.heartbeatIntervalMs) {
    problems.push(
      `spec.timeouts.heartbeat: ${formatDurationMs(spec.timeouts.heartbeatMs)} must be longer than spec.heartbeatInterval (${formatDurationMs(spec.heartbeatIntervalMs)}), or every gap between heartbeats counts as a dead cluster`,
    );
  }
  return problems.length ? { ok: false, problems } : { ok: true, spec };
}

/** The FailoverGroup object for a spec (durations written back as strings). */
export function failoverGroupObject(spec: FailoverGroupSpec, extra: { labels?: Record<string, string> } = {}): KubeObject {
  const body: JsonObject = {
    operatorID: spec.operatorID,
    suspended: spec.suspended,
    timeouts: {
      transitoryState: formatDurationMs(spec.timeouts.transitoryStateMs),
      unhealthyPrimary: formatDurationMs(spec.timeouts.unhealthyPrimaryMs),
      heartbeat: formatDurationMs(spec.timeouts.heartbeatMs),
    },
    heartbeatInterval: formatDurationMs(spec.heartbeatIntervalMs),
    workloads: spec.workloads.map((w) => ({ kind: w.kind, name: w.name, volumeReplications: [...w.volumeReplications] })),
    networkResources: spec.networkResources.map((n) => ({ kind: n.kind, name: n.name })),
    fluxResources: spec.fluxResources.map((f) => ({ kind: f.kind, name: f.name, triggerReconcile: f.triggerReconcile })),
  };
  if (spec.suspensionReason !== undefined) body.suspensionReason = spec.suspensionReason;
  const metadata: KubeObject['metadata'] = { name: spec.name, namespace: spec.namespace };
  if (extra.labels) metadata.labels = { ...extra.labels };
  return { apiVersion: apiVersionOf(FailoverGroupKind), kind: FailoverGroupKind.kind, metadata, spec: body };
}
