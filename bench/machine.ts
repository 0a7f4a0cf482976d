// Why: a figure is meaningless without the machine it was measured on; every result carries it.
import os from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGb: number;
  node: string;
  platform: string;
  /** 1-minute load average when the run started (other processes share the cores). */
  loadAverageAtStart: number;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverageAtStart: round(os.loadavg()[0], 2),
  };
}

/** Samples the process's resident set size until stopped; the peak is what a figure reports. */
export function rssSampler(everyMs = 50): { stop(): { peakMb: number; lastMb: number } } {
  let peak = process.memoryUsage().rss;
  let last = peak;
  const t = setInterval(() => {
    last = process.memoryUsage().rss;
    if (last > peak) peak = last;
  }, everyMs);
  t.unref();
  return {
    stop() {
      clearInterval(t);
      last = process.memoryUsage().rss;
      peak = Math.max(peak, last);
      return { peakMb: mb(peak), lastMb: mb(last) };
    },
  };
}

/** Collects garbage first when node runs with --expose-gc (npm run bench does), so heap figures are live data. */
export function heapUsedMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return mb(process.memoryUsage().heapUsed);
}

export const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;
export const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
