// Why: when a real client in the same process (the Kubernetes driver in a test) talks HTTP to a simulated server,
// virtual time must not run ahead while bytes are on the wire: a request on its way would otherwise arrive
// after a far-future timer (a waitFor timeout, a lease expiry) had already fired. The gate holds the scheduler
// from the moment the client sends until the server has handed the request to the world, and from the moment
// the server answers (or sends a watch event) until the client has consumed it. Virtual time still runs while
// the request waits on its simulated latency, because the server releases the hold as soon as it is queued.
import type { SimKernel } from '../kernel.ts';

/** The header (or, for watch streams, the query parameter) that names an exchange. */
export const EXCHANGE_HEADER = 'x-sim-exchange';
export const EXCHANGE_QUERY = 'simExchange';

/** What the real driver calls around each HTTP exchange (drivers/cluster/cluster.kubernetes.ts ExchangeObserver). */
export interface Exchange {
  /** Sent with the request so the server can tell the gate it has arrived. */
  id: string;
  headers: Record<string, string>;
  query: Record<string, string>;
  /** The client consumed one answer (a response, or one watch event). */
  received(): void;
  /** The exchange is over (answered, failed, aborted or the stream ended): every hold it has is released. */
  end(): void;
}

interface Open {
  request?: () => void;
  answers: (() => void)[];
}

export class TransitGate {
  private next = 1;
  private readonly open = new Map<string, Open>();

  constructor(private readonly kernel: SimKernel) {}

  /** Client side: an exchange is starting now. */
  begin(): Exchange {
    const id = `${this.next++}`;
    this.open.set(id, { request: this.kernel.sched.hold(), answers: [] });
    return {
      id,
      headers: { [EXCHANGE_HEADER]: id },
      query: { [EXCHANGE_QUERY]: id },
      received: () => this.open.get(id)?.answers.shift()?.(),
      end: () => {
        const o = this.open.get(id);
        if (!o) return;
        this.open.delete(id);
        o.request?.();
        for (const r of o.answers) r();
      },
    };
  }

  /** Server side: the request is queued in the world (its latency timers are set). */
  arrived(id: string | undefined): void {
    const o = id === undefined ? undefined : this.open.get(id);
    if (!o?.request) return;
    const release = o.request;
    o.request = undefined;
    release();
  }

  /** Server side: an answer (a response or a watch event) is being written; it is in transit until received. */
  answering(id: string | undefined): void {
    const o = id === undefined ? undefined : this.open.get(id);
    if (o) o.answers.push(this.kernel.sched.hold());
  }

  /** Exchanges not yet over. */
  get pending(): number {
    return this.open.size;
  }
}

const gates = new WeakMap<SimKernel, TransitGate>();

/** The one gate of a kernel (shared by every simulated server of its world and every observed client). */
export function transitGate(kernel: SimKernel): TransitGate {
  let g = gates.get(kernel);
  if (!g) gates.set(kernel, (g = new TransitGate(kernel)));
  return g;
}
