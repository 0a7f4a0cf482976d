// Why: the upstream CRDs (VolumeReplication, NetworkFence, Flux, Istio) are vendored as YAML under
// crds/upstream/; the simulated API servers serve them, but the simulator does no file I/O, so they are read
// and parsed here and handed over as objects.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../drivers/cluster/cluster.port.ts';

/** crds/upstream/ of this repository. */
export const UPSTREAM_CRD_DIR = fileURLToPath(new URL('../crds/upstream/', import.meta.url));
/** crds/engine/ of this repository: the engine's own CRDs (FailoverGroup, Failover; group failover-engine.io). */
export const ENGINE_CRD_DIR = fileURLToPath(new URL('../crds/engine/', import.meta.url));

/** Parses every YAML document of a text and keeps the CustomResourceDefinitions; `source` names it in errors. */
export function parseCrds(text: string, source: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${source}: invalid YAML: ${doc.errors[0].message}`);
    const value: unknown = doc.toJS({ maxAliasCount: -1 });
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${source}: a YAML document is not an object`);
    const o = value as KubeObject;
    if (o.kind === 'CustomResourceDefinition' && o.apiVersion === 'apiextensions.k8s.io/v1') out.push(o);
  }
  return out;
}

/** Every CustomResourceDefinition in the `.yaml`/`.yml` files of `dirs` (default: upstream and engine; files in name order). */
export function loadCrds(dirs: string | readonly string[] = [UPSTREAM_CRD_DIR, ENGINE_CRD_DIR]): KubeObject[] {
  return (typeof dirs === 'string' ? [dirs] : dirs).flatMap((dir) => {
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
      .sort();
    return files.flatMap((f) => parseCrds(readFileSync(join(dir, f), 'utf8'), join(dir, f)));
  });
}
