// Why: serves the simulated appliance's records API over real HTTP (docs/appliance.md), so the real client runs
// against the simulator: it checks the bearer token, applies the fault plan through kernel.call with the same
// classes, parties and operation names as the in-process port (so both paths trace alike), and answers with the
// routing the in-process port uses.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { injectedApplianceFault } from '../../drivers/appliance/appliance.errors.ts';
import { APPLIANCE_DRIVER } from '../../drivers/appliance/appliance.port.ts';
import { APPLIANCE_PARTY, applianceRouteOf, handleApplianceRequest } from '../appliance/appliance.api.ts';
import type { SimCloud } from '../cloudstack/cloud.ts';
import { answerSimulated, closeServer, jsonBodyOr400, listenJsonApi, readBody, sendJson, type ServedApi } from './http-util.ts';
import { requestHolds, SIM_REQUEST_HEADER } from './request-holds.ts';

export interface ServedAppliance extends ServedApi {
  /** The bearer token the server accepts. */
  token: string;
}

export interface ApplianceServeOptions {
  /** The token to accept (default: one drawn from the seed's `appliance.token` stream). */
  token?: string;
  /** The calling party the server attributes requests to, for partitions (default `appliance`, the engine's host). */
  from?: string;
}

/** The token a simulated appliance accepts by default: 40 characters from the seed. */
export function simApplianceToken(cloud: SimCloud): string {
  const s = cloud.kernel.prng.stream('appliance.token');
  return Array.from({ length: 40 }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[s.int(0, 35)]).join('');
}

function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer\s+(.+)$/i.exec(h.trim()) : null;
  return m ? m[1] : undefined;
}

/** Starts the server on 127.0.0.1, port 0. Drive the world while requests are in flight (kernel.resolve). */
export async function serveApplianceApi(cloud: SimCloud, options: ApplianceServeOptions = {}): Promise<ServedAppliance> {
  const kernel = cloud.kernel;
  const holds = requestHolds(kernel.sched);
  const from = options.from ?? 'appliance';
  const token = options.token ?? simApplianceToken(cloud);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const holdId = req.headers[SIM_REQUEST_HEADER] as string | undefined;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const route = applianceRouteOf(method, url.pathname);
    if (route?.op === 'health' && method === 'GET') return sendJson(res, 200, { status: 'ok' });
    if (bearer(req) !== token) {
      kernel.emit('appliance.api.unauthorized', { path: url.pathname });
      return sendJson(res, 401, { error: bearer(req) ? 'the bearer token is not valid' : 'missing bearer token (Authorization: Bearer <token>)', code: 'unauthorized' });
    }
    const raw = method === 'PUT' || method === 'POST' ? await readBody(req) : '';
    const parsed = jsonBodyOr400(res, raw);
    if (!parsed) return;
    const body = parsed.body;
    if (!route || route.op === 'health') {
      const out = handleApplianceRequest(cloud, method, url.pathname, body);
      return sendJson(res, out.status, out.body);
    }
    const work = kernel.call(
      route.write ? 'cloudstack.write' : 'cloudstack.read',
      { from, to: APPLIANCE_PARTY, op: `appliance.${route.op}`, detail: route.detail },
      () => handleApplianceRequest(cloud, method, url.pathname, body),
      APPLIANCE_DRIVER,
    );
    return answerSimulated(res, holds, holdId, work, injectedApplianceFault);
  };

  const { server, port, baseUrl } = await listenJsonApi(handle);
  return { baseUrl, port, token, close: () => closeServer(server) };
}
