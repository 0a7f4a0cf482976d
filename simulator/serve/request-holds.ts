// Why: a real HTTP request to a simulated API server crosses real I/O, which virtual time must wait for, but the
// server's simulated work needs virtual time to run. So each request holds the scheduler only while it is on
// the wire: the client side opens a hold when it sends, the server pauses it once its simulated work is
// scheduled, resumes it when the answer is ready, and the client closes it once the answer has arrived.
import type { Scheduler } from '../scheduler.ts';

/** The header that carries the request's hold id from the held fetch to the simulated server. */
export const SIM_REQUEST_HEADER = 'x-sim-request-id';

export class RequestHolds {
  private readonly releases = new Map<string, () => void>();
  private next = 1;

  constructor(private readonly sched: Scheduler) {}

  /** A request leaves the client: hold the world until the server has scheduled its work. */
  open(): string {
    const id = String(this.next++);
    this.releases.set(id, this.sched.hold());
    return id;
  }

  /** The server has scheduled its simulated work: let virtual time run. */
  pause(id: string | undefined): void {
    if (id === undefined) return;
    const release = this.releases.get(id);
    if (!release) return;
    release();
    this.releases.set(id, () => {});
  }

  /** The server's answer is ready: hold the world again until the client has it. */
  resume(id: string | undefined): void {
    if (id === undefined || !this.releases.has(id)) return;
    this.releases.get(id)!();
    this.releases.set(id, this.sched.hold());
  }

  /** The client has the answer (or gave up). */
  close(id: string): void {
    this.releases.get(id)?.();
    this.releases.delete(id);
  }

  get open_(): number {
    return this.releases.size;
  }
}

const registry = new WeakMap<Scheduler, RequestHolds>();

/** The one RequestHolds of a scheduler (shared by held fetches and simulated servers). */
export function requestHolds(sched: Scheduler): RequestHolds {
  let h = registry.get(sched);
  if (!h) {
    h = new RequestHolds(sched);
    registry.set(sched, h);
  }
  return h;
}

/**
 * A fetch that holds the simulated world while its request is on the wire. Give it to a real client that talks
 * to a simulated server, and drive the world with `kernel.resolve(promise)` (or runWhileInFlight).
 */
export function heldFetch(sched: Scheduler, base: typeof fetch = globalThis.fetch): typeof fetch {
  const holds = requestHolds(sched);
  return async (input, init) => {
    const id = holds.open();
    try {
      const headers = new Headers(init?.headers);
      headers.set(SIM_REQUEST_HEADER, id);
      const res = await base(input, { ...init, headers });
      const body = await res.arrayBuffer();
      return new Response(res.status === 204 || res.status === 304 ? null : body, { status: res.status, statusText: res.statusText, headers: res.headers });
    } finally {
      holds.close(id);
    }
  };
}

/** Runs the world until `promise` settles, with real requests in flight (a name for what kernel.resolve does). */
export function runWhileInFlight<T>(kernel: { resolve(p: Promise<T>): Promise<T> }, promise: Promise<T>): Promise<T> {
  return kernel.resolve(promise);
}
