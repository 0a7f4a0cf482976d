// Why: tests of daemons running on the wall clock against the served world wait for a condition, re-checking on
// every change of the world's stores and at least every `recheckMs` (DynamoDB has no watch), with a generous bound
// so a loaded machine is never mistaken for a stuck daemon. `onChange` runs on every store change (a checker).
import type { SimWorld } from '../../simulator/world.ts';

export function untilServed(world: SimWorld, what: string, f: () => boolean | Promise<boolean>, timeoutMs: number, o: { recheckMs?: number; onChange?: () => void } = {}): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let done = false;
    let checking = false;
    let again = false;
    const unsubscribe = world.scenario.clusters.map((c) =>
      world.cluster(c).store.subscribe(() => {
        o.onChange?.();
        void check();
      }),
    );
    const timer = setInterval(() => void check(), o.recheckMs ?? 500);
    const bound = setTimeout(() => finish(new Error(`timed out after ${timeoutMs}ms waiting for ${what}`)), timeoutMs);
    function finish(err?: Error) {
      if (done) return;
      done = true;
      clearInterval(timer);
      clearTimeout(bound);
      for (const u of unsubscribe) u();
      if (err) reject(err);
      else resolve();
    }
    async function check(): Promise<void> {
      if (done) return;
      if (checking) return void (again = true);
      checking = true;
      try {
        do {
          again = false;
          if (await f()) return finish();
        } while (again && !done);
      } catch (e) {
        finish(e instanceof Error ? e : new Error(String(e)));
      } finally {
        checking = false;
      }
    }
    void check();
  });
}
