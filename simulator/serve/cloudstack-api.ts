// Why: serves the simulated CloudStack over real HTTP at /client/api, so the real signed client runs against
// the simulator: it checks each request's signature with the account's secret key, applies the fault plan
// through kernel.call (as the in-process port does), and answers in CloudStack's JSON shapes and status codes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CloudStackApiError, CS_ERROR, injectedFaultToHttp, type CloudStackErrorBody } from '../../drivers/cloudstack/cloudstack.errors.ts';
import { verifySignature, type CloudStackParams } from '../../drivers/cloudstack/cloudstack.signing.ts';
import { DriverError } from '../../drivers/errors.ts';
import { CLOUDSTACK_PARTY, type SimCloud } from '../cloudstack/cloud.ts';
import { executeCommand, isSimCommand, opClassOf, unknownCommand } from '../cloudstack/cloud.commands.ts';
import { closeServer, listenLocal, readBody, sendJson, sendText, type ServedApi } from './http-util.ts';
import { requestHolds, SIM_REQUEST_HEADER } from './request-holds.ts';

export const CLOUDSTACK_API_PATH = '/client/api';

export interface ServedCloudStack extends ServedApi {
  /** The API endpoint to give the client: `http://127.0.0.1:<port>/client/api`. */
  endpoint: string;
  apiKey: string;
  secretKey: string;
}

export interface CloudStackServeOptions {
  /** The calling party the server attributes requests to, for partitions (default `appliance`). */
  from?: string;
}

function errorResponse(res: ServerResponse, command: string, status: number, body: CloudStackErrorBody): void {
  sendJson(res, status, { [`${(command || 'error').toLowerCase()}response`]: { uuidList: [], ...body } });
}

/** Query and (form-encoded) body parameters, decoded; later keys win, as in CloudStack. */
function paramsOf(url: URL, body: string, contentType: string | undefined): CloudStackParams {
  const out: CloudStackParams = {};
  for (const [k, v] of url.searchParams) out[k] = v;
  if (body && (contentType ?? '').includes('application/x-www-form-urlencoded')) for (const [k, v] of new URLSearchParams(body)) out[k] = v;
  return out;
}

/** Starts the server on 127.0.0.1, port 0. Drive the world while requests are in flight (kernel.resolve). */
export async function serveCloudStackApi(cloud: SimCloud, options: CloudStackServeOptions = {}): Promise<ServedCloudStack> {
  const kernel = cloud.kernel;
  const holds = requestHolds(kernel.sched);
  const from = options.from ?? 'appliance';

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const holdId = req.headers[SIM_REQUEST_HEADER] as string | undefined;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== CLOUDSTACK_API_PATH) return sendText(res, 404, `no such path ${url.pathname}; the API is at ${CLOUDSTACK_API_PATH}`);
    if (req.method !== 'GET' && req.method !== 'POST') return errorResponse(res, '', 405, { errorcode: CS_ERROR.METHOD_NOT_ALLOWED, errortext: `method ${req.method} is not allowed` });
    const params = paramsOf(url, req.method === 'POST' ? await readBody(req) : '', req.headers['content-type']);
    const command = params.command ?? '';

    // Authentication: the signature over every other parameter, with the secret of the account the apikey names.
    const apiKey = params.apikey ?? params.apiKey;
    if (!apiKey || apiKey !== cloud.account.apiKey || !verifySignature(params, cloud.account.secretKey)) {
      kernel.emit('cloudstack.api.unauthorized', { command });
      return errorResponse(res, command, 401, { errorcode: CS_ERROR.UNAUTHORIZED, errortext: 'unable to verify user credentials and/or request signature' });
    }
    if (!isSimCommand(command)) {
      const e = unknownCommand();
      return errorResponse(res, command, e.errorcode, e.body());
    }
    if ((params.response ?? 'xml').toLowerCase() !== 'json') {
      return errorResponse(res, command, CS_ERROR.PARAM_ERROR, { errorcode: CS_ERROR.PARAM_ERROR, errortext: 'this simulator answers only response=json' });
    }

    const p: CloudStackParams = {};
    for (const [k, v] of Object.entries(params)) if (!['command', 'apikey', 'apiKey', 'signature', 'response', 'signatureversion', 'expires'].includes(k)) p[k.toLowerCase()] = v;
    // Scheduling the simulated work registers its first virtual event synchronously; only then let time run.
    const work = kernel.call(opClassOf(command), { from, to: CLOUDSTACK_PARTY, op: `cloudstack.${command}`, detail: p.id ?? p.volumeid ?? p.jobid }, () =>
      executeCommand(cloud, command, p),
    );
    holds.pause(holdId);
    try {
      const inner = await work;
      holds.resume(holdId);
      sendJson(res, 200, { [`${command.toLowerCase()}response`]: inner });
    } catch (e) {
      holds.resume(holdId);
      if (e instanceof CloudStackApiError) return errorResponse(res, command, e.errorcode, e.body());
      if (e instanceof DriverError) {
        const wire = injectedFaultToHttp(e);
        if (wire.body) return errorResponse(res, command, wire.status, wire.body);
        return sendText(res, wire.status, wire.text ?? '');
      }
      throw e;
    }
  };

  const { server, port, baseUrl } = await listenLocal((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) errorResponse(res, '', 530, { errorcode: CS_ERROR.INTERNAL_ERROR, errortext: `simulator error: ${e instanceof Error ? e.message : String(e)}` });
    });
  });
  return {
    baseUrl,
    port,
    endpoint: `${baseUrl}${CLOUDSTACK_API_PATH}`,
    apiKey: cloud.account.apiKey,
    secretKey: cloud.account.secretKey,
    close: () => closeServer(server),
  };
}
