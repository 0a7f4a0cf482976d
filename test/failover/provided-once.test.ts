// Why: every wiring shares one provided chart (src/wire/provided-once.ts); these check that each actor still runs
// the implementation of the wiring it was created or restored from, even when several run at once, and that an
// actor of the bare shared chart fails loudly instead of running someone else's implementation.
import { describe, expect, it } from 'vitest';
import { assign, createActor, setup, type SnapshotFrom } from 'xstate';
import { unprovided } from '../../machines/shared/unprovided.ts';
import { providedOnce } from '../../src/wire/provided-once.ts';

const chart = setup({
  types: {} as { context: { seen: string[] } },
  actors: { work: unprovided<{ n: number }, string>('work') },
  actions: { note: (_args, _params: { what: string }) => {} },
}).createMachine({
  id: 'tiny',
  context: { seen: [] },
  initial: 'first',
  states: {
    first: {
      entry: { type: 'note', params: { what: 'first' } },
      invoke: { src: 'work', input: () => ({ n: 1 }), onDone: { target: 'second', actions: assign({ seen: ({ context, event }) => [...context.seen, event.output] }) } },
    },
    second: {
      on: { GO: 'third' },
    },
    third: {
      entry: { type: 'note', params: { what: 'third' } },
      invoke: { src: 'work', input: () => ({ n: 2 }), onDone: { target: 'done', actions: assign({ seen: ({ context, event }) => [...context.seen, event.output] }) } },
    },
    done: { type: 'final' },
  },
});

const wire = providedOnce(chart, ['note']);

function wiring(name: string, notes: string[]) {
  return wire({
    actors: { work: async ({ input }: { input: { n: number } }) => `${name}:${input.n}` },
    actions: { note: (_args: unknown, params: { what: string }) => notes.push(`${name}:${params.what}`) },
  });
}

const settled = (actor: { getSnapshot(): { status: string } }) =>
  new Promise<void>((resolve) => {
    const check = () => (actor.getSnapshot().status !== 'active' ? resolve() : setTimeout(check, 1));
    check();
  });

describe('wiring: one provided chart, one implementation per wiring', () => {
  it('provided once: two wirings running at once each use their own actors and actions', async () => {
    const notes: string[] = [];
    const a = createActor(wiring('a', notes)).start();
    const b = createActor(wiring('b', notes)).start();
    await new Promise((r) => setTimeout(r, 5));
    a.send({ type: 'GO' });
    b.send({ type: 'GO' });
    await Promise.all([settled(a), settled(b)]);
    expect(a.getSnapshot().context.seen).toEqual(['a:1', 'a:2']);
    expect(b.getSnapshot().context.seen).toEqual(['b:1', 'b:2']);
    expect(notes.sort()).toEqual(['a:first', 'a:third', 'b:first', 'b:third']);
  });

  it('provided once: a snapshot restored through another wiring runs that wiring', async () => {
    const a = createActor(wiring('a', [])).start();
    await new Promise((r) => setTimeout(r, 5));
    const persisted = a.getPersistedSnapshot() as SnapshotFrom<typeof chart>;
    a.stop();
    const c = createActor(wiring('c', []), { snapshot: persisted }).start();
    c.send({ type: 'GO' });
    await settled(c);
    expect(c.getSnapshot().context.seen).toEqual(['a:1', 'c:2']);
  });

  it('provided once: a wiring that leaves an actor or action out is refused, naming it', () => {
    expect(() => wire({ actors: {} })).toThrow(/tiny: the wiring gives no implementation for work, note/);
  });
});
