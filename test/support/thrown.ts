// Why: tests check which error (a DriverError, unless told) a synchronous call throws; one helper runs the call and returns it.
import { expect } from 'vitest';
import { DriverError } from '../../drivers/errors.ts';

/** The error of class `type` (DriverError by default) `f` throws; fails the test when it throws something else or nothing. */
export function thrown<E extends Error = DriverError>(f: () => unknown, type: new (...args: never[]) => E = DriverError as unknown as new (...args: never[]) => E): E {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(type);
    return e as E;
  }
  throw new Error(`expected a ${type.name}, nothing was thrown`);
}
