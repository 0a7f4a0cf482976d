// Why: the real appliance client: JSON over HTTP to the appliance's records API (docs/appliance.md) with a bearer
// token and a real-time bound per request. The token is sent only in the Authorization header and never logged.
import type { CallOpts } from '../cluster/cluster.port.ts';
import { checkHttpUrl, checkRequestTimeout, fetchText } from '../http.ts';
import type { Json, JsonObject } from '../json.ts';
import { ApplianceClient, type ApplianceOp, type ApplianceResponse, type ApplianceTransport } from './appliance.client.ts';
import { fromApplianceNetwork } from './appliance.errors.ts';
import { APPLIANCE_DRIVER, type SourceVmDirectory } from './appliance.port.ts';

export interface ApplianceHttpConfig {
  /** The API's base URL, e.g. `https://appliance.example.com:8443` (the paths start /api/v1). */
  baseUrl: string;
  /** The bearer token the appliance issued to the engine. Never logged. */
  token: string;
  /** Real-time bound on one request (default 30 s). */
  requestTimeoutMs?: number;
  /** The fetch to use (default globalThis.fetch; tests wrap it to hold the simulator while in flight). */
  fetch?: typeof fetch;
}

/** Checks the configuration; a bad field throws an Error that names it and says how to fix it. */
export function validateApplianceHttpConfig(c: ApplianceHttpConfig): void {
  if (!c || typeof c !== 'object') throw new Error('appliance: configuration missing: give { baseUrl, token }');
  checkHttpUrl('appliance.baseUrl', c.baseUrl, "give the appliance API's address, e.g. https://appliance.example.com:8443");
  if (typeof c.token !== 'string' || c.token.trim() === '') throw new Error('appliance.token: missing; give the bearer token the appliance issued to the engine');
  if (/[\r\n]/.test(c.token)) throw new Error('appliance.token: contains a line break; give the token alone');
  checkRequestTimeout('appliance.requestTimeoutMs', c.requestTimeoutMs);
}

export class ApplianceHttpTransport implements ApplianceTransport {
  private readonly fetchImpl: typeof fetch;
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly token: string;

  constructor(config: ApplianceHttpConfig) {
    validateApplianceHttpConfig(config);
    this.fetchImpl = config.fetch ?? globalThis.fetch;
    this.base = config.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = config.requestTimeoutMs ?? 30_000;
    this.token = config.token;
  }

  async request(method: 'GET' | 'PUT', path: string, body: JsonObject | undefined, call: { op: ApplianceOp; detail?: string }, opts?: CallOpts): Promise<ApplianceResponse> {
    const started = Date.now();
    const init: Omit<RequestInit, 'signal'> = {
      method,
      headers: {
        accept: 'application/json',
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    };
    const { res, text } = await fetchText(this.fetchImpl, `${this.base}${path}`, init, this.timeoutMs, opts?.signal, (e, timedOut) => {
      const err = fromApplianceNetwork(call.op, e, timedOut);
      opts?.log?.warn({ driver: APPLIANCE_DRIVER, op: call.op, vmId: call.detail, durationMs: Date.now() - started, kind: err.kind, reason: err.reason }, 'Appliance request failed');
      return err;
    });
    let parsed: Json;
    try {
      parsed = text ? (JSON.parse(text) as Json) : {};
    } catch {
      parsed = res.ok ? text : { error: text.slice(0, 200), code: '' };
    }
    opts?.log?.debug({ driver: APPLIANCE_DRIVER, op: call.op, vmId: call.detail, status: res.status, durationMs: Date.now() - started }, 'Appliance request done');
    return { status: res.status, body: parsed };
  }
}

/** The real appliance port. */
export function httpAppliance(config: ApplianceHttpConfig): SourceVmDirectory {
  return new ApplianceClient(new ApplianceHttpTransport(config));
}
