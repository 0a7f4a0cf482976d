// Why: counts the Kubernetes requests a simulated API server receives, per verb and per object, so benchmarks can
// check the engine's budget (at most two writes per resource per failover, no polling reads).

export const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'update/status', 'patch/status']);

export interface KubeRequestStats {
  total: number;
  /** Audit verbs: get, list, watch, create, update, patch, delete (and `<verb>/status`), discovery. */
  byVerb: Record<string, number>;
  /** Per object (`Kind/namespace/name` or `Kind/name`), per verb. */
  byObject: Record<string, Record<string, number>>;
  /** Per collection (`plural.group`, with ` -n namespace` when scoped), per verb: list and watch. */
  byCollection: Record<string, Record<string, number>>;
}

export class KubeRequestCounter {
  private s: KubeRequestStats = { total: 0, byVerb: {}, byObject: {}, byCollection: {} };

  count(verb: string, target: { object?: string; collection?: string }): void {
    this.s.total++;
    this.s.byVerb[verb] = (this.s.byVerb[verb] ?? 0) + 1;
    if (target.object) {
      const o = (this.s.byObject[target.object] ??= {});
      o[verb] = (o[verb] ?? 0) + 1;
    } else if (target.collection) {
      const c = (this.s.byCollection[target.collection] ??= {});
      c[verb] = (c[verb] ?? 0) + 1;
    }
  }

  snapshot(): KubeRequestStats {
    return JSON.parse(JSON.stringify(this.s)) as KubeRequestStats;
  }

  reset(): void {
    this.s = { total: 0, byVerb: {}, byObject: {}, byCollection: {} };
  }
}

/** Writes per object: how many create/update/patch/delete requests (status included) each object received. */
export function writesPerObject(stats: KubeRequestStats): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [obj, verbs] of Object.entries(stats.byObject)) {
    const n = Object.entries(verbs).reduce((sum, [v, c]) => sum + (WRITE_VERBS.has(v) ? c : 0), 0);
    if (n > 0) out[obj] = n;
  }
  return out;
}
