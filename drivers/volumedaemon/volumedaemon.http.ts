// Why: the real Volume Daemon client: JSON over HTTP to the daemon's API (docs/cloudstack.md), with a real-time
// bound per request; the port logic is volumedaemon.client.ts, shared with the simulated port.
import type { CallOpts } from '../cluster/cluster.port.ts';
import type { ClockPort } from '../clock/clock.port.ts';
import { realClock } from '../clock/clock.real.ts';
import { checkHttpUrl, checkRequestTimeout, fetchText } from '../http.ts';
import type { JsonObject } from '../json.ts';
import { VolumeDaemonClient, type DaemonResponse, type OperationPollOptions, type VolumeDaemonTransport } from './volumedaemon.client.ts';
import { fromDaemonNetwork } from './volumedaemon.errors.ts';
import type { VolumeDaemonPort } from './volumedaemon.port.ts';

export interface VolumeDaemonHttpConfig {
  /** The daemon's base URL, e.g. `http://127.0.0.1:8090`. */
  baseUrl: string;
  requestTimeoutMs?: number;
  clock?: ClockPort;
  poll?: Partial<OperationPollOptions>;
  fetch?: typeof fetch;
}

export function validateVolumeDaemonHttpConfig(c: VolumeDaemonHttpConfig): void {
  if (!c || typeof c !== 'object') throw new Error('volumeDaemon: configuration missing: give { baseUrl }');
  checkHttpUrl('volumeDaemon.baseUrl', c.baseUrl, "give the daemon's address, e.g. http://127.0.0.1:8090");
  checkRequestTimeout('volumeDaemon.requestTimeoutMs', c.requestTimeoutMs);
}

export class VolumeDaemonHttpTransport implements VolumeDaemonTransport {
  private readonly fetchImpl: typeof fetch;
  private readonly base: string;
  private readonly timeoutMs: number;

  constructor(config: VolumeDaemonHttpConfig) {
    validateVolumeDaemonHttpConfig(config);
    this.fetchImpl = config.fetch ?? globalThis.fetch;
    this.base = config.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = config.requestTimeoutMs ?? 30_000;
  }

  async request(method: 'GET' | 'POST', path: string, body: JsonObject | undefined, op: string, opts?: CallOpts): Promise<DaemonResponse> {
    const init: Omit<RequestInit, 'signal'> = {
      method,
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    };
    const { res, text } = await fetchText(this.fetchImpl, `${this.base}${path}`, init, this.timeoutMs, opts?.signal, (e, timedOut) => fromDaemonNetwork(op, e, timedOut));
    let parsed: JsonObject = {};
    try {
      const j = text ? (JSON.parse(text) as unknown) : {};
      parsed = j && typeof j === 'object' && !Array.isArray(j) ? (j as JsonObject) : { value: j as never };
    } catch {
      parsed = { error: text.slice(0, 200) };
    }
    return { status: res.status, body: parsed };
  }
}

/** The real Volume Daemon port. */
export function httpVolumeDaemon(config: VolumeDaemonHttpConfig): VolumeDaemonPort {
  return new VolumeDaemonClient(new VolumeDaemonHttpTransport(config), config.clock ?? realClock, config.poll);
}
