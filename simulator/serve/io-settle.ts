// Why: a test that drives a real client (the Kubernetes driver over HTTP) against the simulated world must run
// virtual time while the client's requests wait on simulated latency, and wait in real time while bytes are on
// the wire. `settleWithIo` alternates the two: it runs the world until idle, then sleeps until the promise
// settles or one of the world's HTTP servers registers new work, and repeats.
import type { SimKernel } from '../kernel.ts';
import type { RunLimits } from '../scheduler.ts';

const waiters = new WeakMap<SimKernel, Set<() => void>>();

/** Called by the simulated HTTP servers whenever a request has been handed to the world (its timers are set). */
export function signalIoActivity(kernel: SimKernel): void {
  const set = waiters.get(kernel);
  if (!set) return;
  waiters.delete(kernel);
  for (const wake of set) wake();
}

function nextIoActivity(kernel: SimKernel): Promise<void> {
  return new Promise((resolve) => {
    let set = waiters.get(kernel);
    if (!set) {
      set = new Set();
      waiters.set(kernel, set);
    }
    set.add(resolve);
  });
}

/**
 * Runs the world until `promise` settles, letting real I/O (HTTP to the simulated servers) proceed in between.
 * Virtual time only moves while the world has events; while it is idle and the promise is pending, the loop
 * waits for the client's next request to arrive (no busy loop, no real timer). A promise that waits on neither
 * the world nor I/O never settles: bound it with the test's own timeout.
 */
export async function settleWithIo<T>(kernel: SimKernel, promise: Promise<T>, limits: Pick<RunLimits, 'maxEvents'> = {}): Promise<T> {
  let done = false;
  const watched = promise.then(
    (v) => {
      done = true;
      return v;
    },
    (e: unknown) => {
      done = true;
      throw e;
    },
  );
  const quiet = watched.then(
    () => undefined,
    () => undefined,
  );
  let events = 0;
  const maxEvents = limits.maxEvents ?? 10_000_000;
  while (!done) {
    const r = await kernel.run({ stopWhen: () => done, maxEvents: maxEvents - events });
    events += r.events;
    if (done) break;
    if (r.reason === 'maxEvents') throw new Error(`settleWithIo: the world ran ${maxEvents} events without the promise settling`);
    if (kernel.sched.pending > 0) continue;
    await Promise.race([quiet, nextIoActivity(kernel)]);
  }
  return watched;
}
