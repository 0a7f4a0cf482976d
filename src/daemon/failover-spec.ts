// Why: a Failover object is user input: the daemon reads its spec here, reporting every problem with the field
// path and the fix (a condition on the object, never a crash), and derives the failover's identity, which must
// be the same on both clusters so the two operators' charts present the same lease and history keys.
import { apiVersionOf, type KubeObject } from '../../drivers/cluster/cluster.port.ts';
import type { JsonObject } from '../../drivers/json.ts';
import type { FailoverMode, FailoverType } from '../../machines/failover/failover.types.ts';
import { Annotations, FailoverKind } from './api.ts';

export interface FailoverGroupRef {
  name: string;
  namespace: string;
}

export interface FailoverSpec {
  targetCluster: string;
  mode: FailoverMode;
  type: FailoverType;
  force: boolean;
  reason: string;
  groups: FailoverGroupRef[];
}

export type FailoverSpecResult = { ok: true; spec: FailoverSpec } | { ok: false; problems: string[] };

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
function show(v: unknown): string {
  return v === undefined ? 'nothing' : (JSON.stringify(v) ?? String(v));
}

/** Reads a Failover object's spec; each problem names its field (`spec.failoverMode`) and the fix. */
export function failoverSpecFromObject(obj: KubeObject): FailoverSpecResult {
  const problems: string[] = [];
  const s = obj.spec;
  if (!isObj(s)) return { ok: false, problems: ['spec: is missing: give targetCluster, failoverMode and failoverGroups'] };
  const target = s.targetCluster;
  if (typeof target !== 'string' || target.length === 0) problems.push(`spec.targetCluster: must name the cluster to fail over to (got ${show(target)})`);
  const mode = s.failoverMode;
  if (mode !== 'CONSISTENCY' && mode !== 'UPTIME') problems.push(`spec.failoverMode: must be CONSISTENCY or UPTIME (got ${show(mode)})`);
  const type = s.type === undefined ? 'planned' : s.type;
  if (type !== 'planned' && type !== 'unplanned') problems.push(`spec.type: must be planned or unplanned (got ${show(s.type)})`);
  if (type === 'unplanned' && mode === 'UPTIME') {
    problems.push('spec.failoverMode: UPTIME needs a cooperating source to hand traffic over, which an unplanned failover does not have: use CONSISTENCY');
  }
  const force = s.force === undefined ? false : s.force;
  if (typeof force !== 'boolean') problems.push(`spec.force: must be true or false (got ${show(s.force)})`);
  const reason = s.reason === undefined ? '' : s.reason;
  if (typeof reason !== 'string') problems.push(`spec.reason: must be a string (got ${show(s.reason)})`);
  const groups: FailoverGroupRef[] = [];
  if (!Array.isArray(s.failoverGroups) || s.failoverGroups.length === 0) {
    problems.push(`spec.failoverGroups: must list at least one FailoverGroup as {name, namespace} (got ${show(s.failoverGroups)})`);
  } else {
    const seen = new Set<string>();
    s.failoverGroups.forEach((g: unknown, i: number) => {
      const f = `spec.failoverGroups[${i}]`;
      if (!isObj(g)) return void problems.push(`${f}: must be an object with name (and namespace) (got ${show(g)})`);
      if (typeof g.name !== 'string' || !g.name) return void problems.push(`${f}.name: must name a FailoverGroup (got ${show(g.name)})`);
      if (g.namespace !== undefined && (typeof g.namespace !== 'string' || !g.namespace)) return void problems.push(`${f}.namespace: must be a namespace name (got ${show(g.namespace)})`);
      const ref = { name: g.name, namespace: typeof g.namespace === 'string' ? g.namespace : (obj.metadata.namespace ?? '') };
      const key = `${ref.namespace}/${ref.name}`;
      if (seen.has(key)) return void problems.push(`${f}: ${key} is listed twice: list each group once`);
      seen.add(key);
      groups.push(ref);
    });
  }
  if (problems.length) return { ok: false, problems };
  return { ok: true, spec: { targetCluster: target as string, mode: mode as FailoverMode, type: type as FailoverType, force: force as boolean, reason: reason as string, groups } };
}

/**
 * The failover's id for one of its groups: `<failover name>-<hash>`, where the hash (FNV-1a, 8 hex digits) covers
 * `<failover namespace>/<failover name>/<group namespace>/<group name>`. It depends only on names, so both
 * clusters' copies of the Failover give the same id (object uids differ per cluster), and it is a valid label
 * value (at most 63 characters), as the wiring labels the objects it creates with it. A Failover's name is
 * therefore its identity: a new failover needs a new name.
 */
export function failoverIdOf(failover: { namespace: string; name: string }, group: FailoverGroupRef): string {
  const full = `${failover.namespace}/${failover.name}/${group.namespace}/${group.name}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < full.length; i++) h = Math.imul(h ^ full.charCodeAt(i), 0x01000193) >>> 0;
  const prefix = failover.name
    .slice(0, 54)
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return `${prefix ? `${prefix}-` : ''}${h.toString(16).padStart(8, '0')}`;
}

/** When the failover was requested: the pinned annotation, else the object's creation time; undefined if neither parses. */
export function requestedAtMsOf(obj: KubeObject): number | undefined {
  const pinned = obj.metadata.annotations?.[Annotations.requestedAt];
  for (const text of [pinned, obj.metadata.creationTimestamp]) {
    if (typeof text !== 'string') continue;
    const ms = Date.parse(text);
    if (Number.isFinite(ms)) return ms;
  }
  return undefined;
}

export interface FailoverObjectInput {
  name: string;
  namespace: string;
  targetCluster: string;
  mode: FailoverMode;
  type?: FailoverType;
  force?: boolean;
  reason?: string;
  groups: Array<{ name: string; namespace?: string }>;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A Failover object (what the CLI, the auto-failover checker and tests create). */
export function failoverObject(input: FailoverObjectInput): KubeObject {
  const spec: JsonObject = {
    targetCluster: input.targetCluster,
    failoverMode: input.mode,
    type: input.type ?? 'planned',
    force: input.force ?? false,
    failoverGroups: input.groups.map((g) => (g.namespace ? { name: g.name, namespace: g.namespace } : { name: g.name })),
  };
  if (input.reason !== undefined) spec.reason = input.reason;
  const metadata: KubeObject['metadata'] = { name: input.name, namespace: input.namespace };
  if (input.labels) metadata.labels = { ...input.labels };
  if (input.annotations) metadata.annotations = { ...input.annotations };
  return { apiVersion: apiVersionOf(FailoverKind), kind: FailoverKind.kind, metadata, spec };
}
