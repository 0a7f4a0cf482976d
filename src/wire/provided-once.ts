// Why: machine.provide() rebuilds a chart's whole state tree (the failover chart's hundreds of states take ~13 ms;
// the replication chart ~1 ms), and the wiring needs one implementation per operator, per step or per resource.
// So each chart is provided ONCE, with actors and actions that run the implementation bound to the running actor's
// system (one system per root actor); a wiring is a view of that one logic that binds its implementation to the
// system of every actor created or restored from it. Invoked children share their parent's system.
import { fromPromise, type ActorSystem, type AnyStateMachine } from 'xstate';

type AnySystem = ActorSystem<any>;

/** The body of one promise actor: what fromPromise would run. */
export type TaskRunner<TOutput = unknown, TInput = unknown> = (args: { input: TInput; signal: AbortSignal }) => Promise<TOutput>;

/** A chart's implementation for one wiring: a runner per named actor, and the named actions it uses. */
export interface ChartImplementation {
  actors: Record<string, TaskRunner<unknown, never>>;
  actions?: Record<string, (args: never, params: never) => void>;
}

/**
 * Returns `wire(impl)`: the chart with `impl` behind every named actor (all of them must be given) and every action
 * named in `actionNames`. The chart is provided on the first call and shared by every later one.
 */
export function providedOnce<M extends AnyStateMachine>(machine: M, actionNames: readonly string[] = []): (impl: ChartImplementation) => M {
  const chart = machine.id;
  const actorNames = Object.keys(machine.implementations.actors);
  const bound = new WeakMap<AnySystem, ChartImplementation>();
  const implementationOf = (system: AnySystem): ChartImplementation => {
    const impl = bound.get(system);
    if (!impl) throw new Error(`chart ${chart}: this actor was not created from its wiring, so none of its tasks has an implementation`);
    return impl;
  };
  let shared: M | undefined;
  const provide = () =>
    machine.provide({
      actors: Object.fromEntries(
        actorNames.map((name) => [name, fromPromise<unknown, unknown>(({ input, signal, system }) => implementationOf(system).actors[name]({ input: input as never, signal }))]),
      ),
      actions: Object.fromEntries(
        actionNames.map((name) => [name, (args: { context: unknown; event: unknown; system: AnySystem }, params: unknown) => implementationOf(args.system).actions![name](args as never, params as never)]),
      ),
    } as never) as M;

  return (impl) => {
    const missing = [...actorNames.filter((n) => !impl.actors[n]), ...actionNames.filter((n) => !impl.actions?.[n])];
    if (missing.length > 0) throw new Error(`chart ${chart}: the wiring gives no implementation for ${missing.join(', ')}`);
    const logic = (shared ??= provide());
    const view = Object.create(logic) as M;
    view.getInitialSnapshot = (scope, input) => {
      bound.set(scope.system, impl);
      return logic.getInitialSnapshot.call(view, scope, input);
    };
    view.restoreSnapshot = (snapshot, scope) => {
      bound.set(scope.system, impl);
      return logic.restoreSnapshot.call(view, snapshot, scope);
    };
    return view;
  };
}
