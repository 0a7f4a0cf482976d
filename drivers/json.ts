// Why: JSON-safe value types shared by every port, so snapshots and contexts survive JSON.stringify.
export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json | undefined;
}

/** A deep copy through JSON: what crosses a port boundary never aliases the other side's memory. */
export function jsonClone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}
