// Why: a malformed failover request must stop at once with a message that names the field and the fix, before
// any step touches a cluster. The chart's routing reads these problems; the wiring can also throw them up front.
import type { FailoverInput } from './failover.types.ts';

/** Every problem of the input, each naming the field and how to fix it; empty when the input is usable. */
export function failoverInputProblems(input: FailoverInput | undefined): string[] {
  const out: string[] = [];
  if (!input || typeof input !== 'object') return ['input: must be { request, role, cluster }: pass the failover request and this operator\'s role and cluster'];
  const r = input.request;
  if (!r || typeof r !== 'object') return ['input.request: is missing: pass the FailoverRequest'];
  const str = (field: string, v: unknown, fix: string) => {
    if (typeof v !== 'string' || v.length === 0) out.push(`input.request.${field}: must be a non-empty string (got ${JSON.stringify(v)}): ${fix}`);
  };
  str('failoverId', r.failoverId, "use the Failover object's uid");
  str('failoverName', r.failoverName, "use the Failover object's name");
  str('groupId', r.groupId, 'use `<namespace>/<name>` of the FailoverGroup');
  str('sourceCluster', r.sourceCluster, 'name the cluster that owns the group now');
  str('targetCluster', r.targetCluster, 'name the cluster to fail over to');
  if (typeof r.reason !== 'string') out.push(`input.request.reason: must be a string (got ${JSON.stringify(r.reason)}): say why (audit only; may be empty)`);
  if (r.sourceCluster === r.targetCluster && typeof r.sourceCluster === 'string') {
    out.push(`input.request.targetCluster: equals sourceCluster (${r.sourceCluster}): fail over to the other cluster`);
  }
  if (r.mode !== 'CONSISTENCY' && r.mode !== 'UPTIME') out.push(`input.request.mode: must be CONSISTENCY or UPTIME (got ${JSON.stringify(r.mode)})`);
  if (r.type !== 'planned' && r.type !== 'unplanned') out.push(`input.request.type: must be planned or unplanned (got ${JSON.stringify(r.type)})`);
  if (typeof r.force !== 'boolean') out.push(`input.request.force: must be a boolean (got ${JSON.stringify(r.force)})`);
  if (typeof r.requestedAtMs !== 'number' || !Number.isFinite(r.requestedAtMs)) {
    out.push(`input.request.requestedAtMs: must be epoch milliseconds (got ${JSON.stringify(r.requestedAtMs)}): take it from the clock port`);
  }
  const g = r.group;
  if (!g || typeof g !== 'object') out.push('input.request.group: is missing: pass the FailoverGroupSpec');
  else {
    if (`${g.namespace}/${g.name}` !== r.groupId) out.push(`input.request.groupId: ${JSON.stringify(r.groupId)} does not match group ${g.namespace}/${g.name}: use groupIdOf(group)`);
    const ms = g.timeouts?.transitoryStateMs;
    if (typeof ms !== 'number' || !(ms > 0)) out.push(`input.request.group.timeouts.transitoryStateMs: must be a positive number of milliseconds (got ${JSON.stringify(ms)})`);
    if (!Array.isArray(g.workloads)) out.push('input.request.group.workloads: must be an array (may be empty)');
    if (!Array.isArray(g.networkResources)) out.push('input.request.group.networkResources: must be an array (may be empty)');
    if (!Array.isArray(g.fluxResources)) out.push('input.request.group.fluxResources: must be an array (may be empty)');
  }
  if (input.role !== 'source' && input.role !== 'target') out.push(`input.role: must be source or target (got ${JSON.stringify(input.role)})`);
  else if (typeof r.sourceCluster === 'string' && typeof r.targetCluster === 'string') {
    const expected = input.role === 'source' ? r.sourceCluster : r.targetCluster;
    if (input.cluster !== expected) out.push(`input.cluster: is ${JSON.stringify(input.cluster)} but the ${input.role} of this failover is ${expected}: start the ${input.role} role on ${expected}`);
  }
  const p = input.policy ?? {};
  for (const [k, v] of Object.entries(p)) {
    if (v !== undefined && (typeof v !== 'number' || !(v > 0))) out.push(`input.policy.${k}: must be a positive number (got ${JSON.stringify(v)})`);
  }
  return out;
}
