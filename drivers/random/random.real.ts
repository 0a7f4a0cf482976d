// Why: randomness from the OS, for the daemon and the real drivers.
import { randomInt, randomUUID } from 'node:crypto';
import type { RandomPort } from './random.port.ts';

export const realRandom: RandomPort = {
  int: (min, max) => randomInt(min, max + 1),
  float: () => randomInt(0, 2 ** 30) / 2 ** 30,
  uuid: () => randomUUID(),
};
