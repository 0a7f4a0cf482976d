// Why: the kubeconfig that points kubectl and the real driver at the simulated API servers: one cluster, user and
// context per simulated cluster, named after it. The servers listen on loopback without authentication.
import { stringify } from 'yaml';

export interface SimServerEndpoint {
  /** The simulated cluster's name: also the context's. */
  name: string;
  /** `http://127.0.0.1:<port>` */
  url: string;
}

/** The kubeconfig YAML for the given servers; the current context is the first one unless named. */
export function simKubeConfigYaml(servers: SimServerEndpoint[], currentContext = servers[0]?.name): string {
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    // client-node refuses plain HTTP unless TLS verification is explicitly off; kubectl ignores the flag for http.
    clusters: servers.map((s) => ({ name: s.name, cluster: { server: s.url, 'insecure-skip-tls-verify': true } })),
    users: servers.map((s) => ({ name: `${s.name}-user`, user: { token: 'simulated' } })),
    contexts: servers.map((s) => ({ name: s.name, context: { cluster: s.name, user: `${s.name}-user`, namespace: 'default' } })),
    'current-context': currentContext ?? '',
  };
  return stringify(doc);
}
