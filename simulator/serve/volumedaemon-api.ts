// Why: serves the simulated Volume Daemon over real HTTP so the real client runs against it; faults of class
// `volumedaemon` apply through kernel.call, as for the in-process port.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { injectedDaemonFault } from '../../drivers/volumedaemon/volumedaemon.errors.ts';
import { VOLUMEDAEMON_PARTY, type SimVolumeDaemon } from '../volumedaemon/daemon.ts';
import { handleDaemonRequest } from '../volumedaemon/daemon.api.ts';
import { answerSimulated, closeServer, jsonBodyOr400, listenJsonApi, readBody, sendJson, type ServedApi } from './http-util.ts';
import { requestHolds, SIM_REQUEST_HEADER } from './request-holds.ts';

export async function serveVolumeDaemonApi(daemon: SimVolumeDaemon, options: { from?: string } = {}): Promise<ServedApi> {
  const kernel = daemon.kernel;
  const holds = requestHolds(kernel.sched);
  const from = options.from ?? 'appliance';

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const holdId = req.headers[SIM_REQUEST_HEADER] as string | undefined;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const raw = method === 'POST' ? await readBody(req) : '';
    const parsed = jsonBodyOr400(res, raw);
    if (!parsed) return;
    const body = parsed.body;
    if (method !== 'GET' && method !== 'POST') return sendJson(res, 405, { error: `${method} not allowed`, code: 'method_not_allowed' });
    const work = kernel.call('volumedaemon', { from, to: VOLUMEDAEMON_PARTY, op: `volumedaemon.${method} ${url.pathname}` }, () => handleDaemonRequest(daemon, method, url.pathname, body));
    return answerSimulated(res, holds, holdId, work, injectedDaemonFault);
  };

  const { server, port, baseUrl } = await listenJsonApi(handle);
  return { baseUrl, port, close: () => closeServer(server) };
}
