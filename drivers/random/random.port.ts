// Why: randomness is injected, so the simulator can derive it from one seed and the daemon from the OS.
export interface RandomPort {
  /** A uniform integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** A uniform float in [0, 1). */
  float(): number;
  /** A random (version 4 format) UUID. */
  uuid(): string;
}
