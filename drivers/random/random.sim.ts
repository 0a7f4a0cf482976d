// Why: the random port on one of the simulator's named, seeded streams.
import type { RandomStream } from '../../simulator/prng.ts';
import type { RandomPort } from './random.port.ts';

export function simRandom(stream: RandomStream): RandomPort {
  return { int: (a, b) => stream.int(a, b), float: () => stream.float(), uuid: () => stream.uuid() };
}
