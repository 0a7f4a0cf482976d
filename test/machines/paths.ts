// Why: path generation with xstate/graph over a chart, and the check that the generated paths reach every state
// the chart declares: a state no path reaches is dead code or a broken transition.
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { getShortestPaths } from 'xstate/graph';

/** Every state node of the chart except history pseudo-states, by id. */
export function allStateIds(machine: AnyStateMachine, skip: (n: AnyStateNode) => boolean = () => false): string[] {
  const out: string[] = [];
  const walk = (n: AnyStateNode) => {
    if (n.type !== 'history' && !skip(n)) out.push(n.id);
    for (const c of Object.values(n.states) as AnyStateNode[]) walk(c);
  };
  walk(machine.root);
  return out.sort();
}

export interface Coverage {
  reached: Set<string>;
  paths: Array<{ steps: Array<{ state: any; event: any }>; state: any }>;
}

/** Generates the shortest path to every (serialized) state from each input and collects the state nodes reached. */
export function cover(machine: AnyStateMachine, inputs: unknown[], events: (snapshot: any) => any[], serializeState: (s: any) => string): Coverage {
  const reached = new Set<string>();
  const paths: Coverage['paths'] = [];
  for (const input of inputs) {
    const generated = getShortestPaths(machine, { input: input as any, events, serializeState });
    for (const p of generated) {
      paths.push(p as any);
      for (const step of p.steps) for (const n of (step.state as any)._nodes as AnyStateNode[]) reached.add(n.id);
      for (const n of (p.state as any)._nodes as AnyStateNode[]) reached.add(n.id);
    }
  }
  return { reached, paths };
}

/** The invocations active in a snapshot: [id, src] pairs. */
export function activeInvokes(snapshot: any): Array<{ id: string; src: string; node: string }> {
  const out: Array<{ id: string; src: string; node: string }> = [];
  for (const n of snapshot._nodes as AnyStateNode[]) for (const inv of n.invoke) out.push({ id: inv.id, src: String(inv.src), node: n.id });
  return out;
}
export const done = (id: string, output: unknown) => ({ type: `xstate.done.actor.${id}`, output });
export const error = (id: string, err: unknown) => ({ type: `xstate.error.actor.${id}`, error: err });
