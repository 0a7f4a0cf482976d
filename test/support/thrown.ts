// Why: store tests check which DriverError a synchronous call throws; one helper runs the call and returns it.
import { expect } from 'vitest';
import { DriverError } from '../../drivers/errors.ts';

/** The DriverError `f` throws; fails the test when it throws something else or nothing. */
export function thrown(f: () => unknown): DriverError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DriverError);
    return e as DriverError;
  }
  throw new Error('expected a DriverError, nothing was thrown');
}
