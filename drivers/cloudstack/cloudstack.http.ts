// Why: the real CloudStack client: every command signed (HMAC-SHA1, cloudstack.signing.ts) and sent to
// `<endpoint>` (…/client/api), answers parsed from CloudStack's JSON, failures mapped in cloudstack.errors.ts.
// The port logic (paging, job polling, idempotency) is cloudstack.client.ts, shared with the simulated port.
import type { CallOpts } from '../cluster/cluster.port.ts';
import type { ClockPort } from '../clock/clock.port.ts';
import { realClock } from '../clock/clock.real.ts';
import { DriverError } from '../errors.ts';
import { checkHttpUrl, checkRequestTimeout, fetchText } from '../http.ts';
import type { JsonObject } from '../json.ts';
import { CloudStackClient, type CloudStackTransport, type JobPollOptions } from './cloudstack.client.ts';
import { CLOUDSTACK_DRIVER_NAME, fromCloudStackHttp, fromCloudStackNetwork } from './cloudstack.errors.ts';
import type { CloudStackPort } from './cloudstack.port.ts';
import { signedQueryString, type CloudStackParams } from './cloudstack.signing.ts';

export interface CloudStackHttpConfig {
  /** The API endpoint, e.g. `https://cloud.example.com/client/api`. */
  endpoint: string;
  apiKey: string;
  /** Used only to sign; never sent, never logged. */
  secretKey: string;
  /** Real-time bound on one HTTP request (default 30 s). */
  requestTimeoutMs?: number;
  /** Where async-job polling sleeps (default the wall clock; tests against the simulator pass simClock). */
  clock?: ClockPort;
  jobPoll?: Partial<JobPollOptions>;
  settleWaitMs?: number;
  pageSize?: number;
  /** The fetch to use (default globalThis.fetch; tests wrap it to hold the simulator while in flight). */
  fetch?: typeof fetch;
}

/** Checks the configuration; a bad field throws an Error that names it and says how to fix it. */
export function validateCloudStackHttpConfig(c: CloudStackHttpConfig): void {
  if (!c || typeof c !== 'object') throw new Error('cloudstack: configuration missing: give { endpoint, apiKey, secretKey }');
  checkHttpUrl('cloudstack.endpoint', c.endpoint, 'give the API URL, e.g. https://cloud.example.com/client/api');
  if (typeof c.apiKey !== 'string' || c.apiKey.trim() === '') throw new Error('cloudstack.apiKey: missing; give the API key of the CloudStack account (Accounts → Users → Keys)');
  if (typeof c.secretKey !== 'string' || c.secretKey.trim() === '') throw new Error('cloudstack.secretKey: missing; give the secret key paired with cloudstack.apiKey');
  checkRequestTimeout('cloudstack.requestTimeoutMs', c.requestTimeoutMs);
}

/** Signed GET requests to CloudStack's API. */
export class CloudStackHttpTransport implements CloudStackTransport {
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;

  constructor(private readonly config: CloudStackHttpConfig) {
    validateCloudStackHttpConfig(config);
    this.fetchImpl = config.fetch ?? globalThis.fetch;
    this.timeoutMs = config.requestTimeoutMs ?? 30_000;
  }

  async send(command: string, params: CloudStackParams, op: string, opts?: CallOpts): Promise<JsonObject> {
    const query = signedQueryString({ command, ...params, response: 'json' }, this.config.apiKey, this.config.secretKey);
    const url = `${this.config.endpoint}?${query}`;
    const started = Date.now();
    const { res, text } = await fetchText(this.fetchImpl, url, { method: 'GET', headers: { accept: 'application/json' } }, this.timeoutMs, opts?.signal, (e, timedOut) => {
      const err = fromCloudStackNetwork(op, e, timedOut);
      opts?.log?.warn({ driver: CLOUDSTACK_DRIVER_NAME, op, command, durationMs: Date.now() - started, kind: err.kind, reason: err.reason }, 'CloudStack request failed');
      return err;
    });
    if (!res.ok) {
      const err = fromCloudStackHttp(op, res.status, text);
      opts?.log?.debug({ driver: CLOUDSTACK_DRIVER_NAME, op, command, status: res.status, kind: err.kind }, 'CloudStack refused request');
      throw err;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new DriverError('Fatal', CLOUDSTACK_DRIVER_NAME, op, `${op}: CloudStack answered ${command} with non-JSON (is the endpoint …/client/api?)`, { code: res.status });
    }
    const key = `${command.toLowerCase()}response`;
    const body = json && typeof json === 'object' ? (json as Record<string, unknown>) : {};
    const inner = body[key] ?? Object.entries(body).find(([k]) => k.endsWith('response'))?.[1];
    if (!inner || typeof inner !== 'object' || Array.isArray(inner)) {
      throw new DriverError('Fatal', CLOUDSTACK_DRIVER_NAME, op, `${op}: CloudStack's answer to ${command} has no "${key}"`, { code: res.status });
    }
    opts?.log?.debug({ driver: CLOUDSTACK_DRIVER_NAME, op, command, durationMs: Date.now() - started, outcome: 'ok' }, 'CloudStack request done');
    return inner as JsonObject;
  }
}

/** The real CloudStack port. */
export function httpCloudStack(config: CloudStackHttpConfig): CloudStackPort {
  return new CloudStackClient(new CloudStackHttpTransport(config), {
    clock: config.clock ?? realClock,
    ...(config.jobPoll ? { jobPoll: config.jobPoll } : {}),
    ...(config.settleWaitMs !== undefined ? { settleWaitMs: config.settleWaitMs } : {}),
    ...(config.pageSize !== undefined ? { pageSize: config.pageSize } : {}),
  });
}
