// Why: the real VirtIO injection: runs a configured command (virt-v2v-in-place by default) on the volume's block
// device on the appliance, with a timeout, capturing the tail of its output for the job log. No shell: the
// device path is passed as an argument, never interpolated into a command line.
import { spawn } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { DriverError } from '../errors.ts';
import { INJECTION_DRIVER, type CallOpts, type InjectionPort, type InjectionRequest, type InjectionResult, type InjectionStatus, type InjectionTarget } from './injection.port.ts';

export interface InjectionCommandConfig {
  /** The program to run (found on PATH, or an absolute path). Default `virt-v2v-in-place`. */
  command?: string;
  /** Its arguments; `{device}` is replaced by the device path (appended when absent). Default `-i disk {device}`. */
  args?: string[];
  /** Real-time bound on one run (default 30 min); the process is killed when it is exceeded. */
  timeoutMs?: number;
  /** How much of the end of stdout+stderr to keep (default 8 KiB). */
  outputTailBytes?: number;
  /** Extra environment variables (e.g. LIBGUESTFS_BACKEND=direct). */
  env?: Record<string, string>;
  /** Check the device exists before running (default true). */
  checkDevice?: boolean;
}

export interface ResolvedInjectionConfig {
  command: string;
  args: string[];
  timeoutMs: number;
  outputTailBytes: number;
  env: Record<string, string>;
  checkDevice: boolean;
}

export const DEFAULT_INJECTION_COMMAND = 'virt-v2v-in-place';
export const DEFAULT_INJECTION_ARGS = ['-i', 'disk', '{device}'];

/** Checks and completes the configuration; a bad field throws an Error naming it and the fix. */
export function resolveInjectionConfig(c: InjectionCommandConfig = {}): ResolvedInjectionConfig {
  if (typeof c !== 'object' || c === null) throw new Error('injection: configuration must be an object { command, args, timeoutMs }');
  const command = c.command ?? DEFAULT_INJECTION_COMMAND;
  if (typeof command !== 'string' || command.trim() === '' || /[\n\0]/.test(command)) {
    throw new Error(`injection.command: must be a program name or path (e.g. ${DEFAULT_INJECTION_COMMAND}), got ${JSON.stringify(c.command)}`);
  }
  const args = c.args ?? DEFAULT_INJECTION_ARGS;
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) throw new Error('injection.args: must be a list of strings; use "{device}" where the device path goes');
  const timeoutMs = c.timeoutMs ?? 30 * 60_000;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new Error(`injection.timeoutMs: must be a positive number of milliseconds, got ${String(c.timeoutMs)}`);
  const outputTailBytes = c.outputTailBytes ?? 8192;
  if (!(Number.isInteger(outputTailBytes) && outputTailBytes > 0)) throw new Error(`injection.outputTailBytes: must be a positive integer, got ${String(c.outputTailBytes)}`);
  const env = c.env ?? {};
  if (typeof env !== 'object' || !Object.values(env).every((v) => typeof v === 'string')) throw new Error('injection.env: must map names to string values');
  return { command, args: [...args], timeoutMs, outputTailBytes, env: { ...env }, checkDevice: c.checkDevice ?? true };
}

/** Keeps the last `max` bytes written to it. */
class Tail {
  private buf = Buffer.alloc(0);
  constructor(private readonly max: number) {}
  push(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    if (this.buf.length > this.max) this.buf = this.buf.subarray(this.buf.length - this.max);
  }
  text(): string {
    return this.buf.toString('utf8');
  }
}

function validateRequest(req: InjectionRequest): void {
  for (const f of ['devicePath', 'volumeId', 'vmId'] as const) {
    if (typeof req?.[f] !== 'string' || req[f] === '') throw new DriverError('Invalid', INJECTION_DRIVER, 'inject', `inject: ${f}: required`, { details: { field: f } });
  }
  if (!req.devicePath.startsWith('/dev/')) throw new DriverError('Invalid', INJECTION_DRIVER, 'inject', `inject: devicePath: ${req.devicePath} is not a device under /dev/`, { details: { field: 'devicePath' } });
}

/** Does this argument name the device (the path itself, or inside an option like `--disk=/dev/vdb`)? */
function namesDevice(arg: string, devicePath: string): boolean {
  const at = arg.indexOf(devicePath);
  if (at < 0) return false;
  const after = arg.charAt(at + devicePath.length);
  return after === '' || !/[A-Za-z0-9]/.test(after);
}

/**
 * Looks for the injection program working on `devicePath` in the process table (Linux /proc): how a new engine
 * process sees a run an earlier one started. `unknown` where there is no /proc to read.
 */
export async function findInjectionProcess(command: string, devicePath: string, procRoot = '/proc'): Promise<InjectionStatus> {
  let entries: string[];
  try {
    entries = await readdir(procRoot);
  } catch {
    return 'unknown';
  }
  const program = basename(command);
  for (const pid of entries) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    let argv: string[];
    try {
      argv = (await readFile(`${procRoot}/${pid}/cmdline`, 'utf8')).split('\0').filter((a) => a !== '');
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    if (argv.length === 0) continue;
    const runsProgram = argv.slice(0, 2).some((a) => a === command || basename(a) === program);
    if (runsProgram && argv.slice(1).some((a) => namesDevice(a, devicePath))) return 'running';
  }
  return 'idle';
}

export class CommandInjection implements InjectionPort {
  private readonly config: ResolvedInjectionConfig;
  /** The runs this process started that have not exited: device path → volume id. */
  private readonly running = new Map<string, string>();

  constructor(config: InjectionCommandConfig = {}) {
    this.config = resolveInjectionConfig(config);
  }

  /** Running if this process runs the tool on the device, or the process table shows one (an earlier engine's). */
  async status(target: InjectionTarget, _opts?: CallOpts): Promise<InjectionStatus> {
    if (target.devicePath !== undefined && this.running.has(target.devicePath)) return 'running';
    if (target.volumeId !== undefined && [...this.running.values()].includes(target.volumeId)) return 'running';
    if (target.devicePath === undefined) return 'unknown';
    return findInjectionProcess(this.config.command, target.devicePath);
  }

  async inject(req: InjectionRequest, opts?: CallOpts): Promise<InjectionResult> {
    validateRequest(req);
    const c = this.config;
    if (c.checkDevice) {
      try {
        await stat(req.devicePath);
      } catch {
        throw new DriverError('Invalid', INJECTION_DRIVER, 'inject', `inject: device ${req.devicePath} (volume ${req.volumeId}) is not present on this host`, {
          reason: 'DeviceMissing',
          details: { devicePath: req.devicePath, volumeId: req.volumeId },
        });
      }
    }
    const args = c.args.some((a) => a.includes('{device}')) ? c.args.map((a) => a.replaceAll('{device}', req.devicePath)) : [...c.args, req.devicePath];
    const started = Date.now();
    const log = opts?.log?.child({ driver: INJECTION_DRIVER, op: 'inject', volumeId: req.volumeId, vmId: req.vmId, devicePath: req.devicePath });
    log?.info({ command: c.command, args }, 'Started VirtIO injection');
    const tail = new Tail(c.outputTailBytes);

    return new Promise<InjectionResult>((resolve, reject) => {
      let settled = false;
      let timedOut = false;
      let killTimer: NodeJS.Timeout | undefined;
      const child = spawn(c.command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...c.env } });
      this.running.set(req.devicePath, req.volumeId);
      const kill = () => {
        child.kill('SIGTERM');
        killTimer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        killTimer.unref();
      };
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, c.timeoutMs);
      const onAbort = () => kill();
      opts?.signal?.addEventListener('abort', onAbort, { once: true });
      const finish = (f: () => void) => {
        if (settled) return;
        settled = true;
        this.running.delete(req.devicePath);
        clearTimeout(timer);
        if (killTimer) clearTimeout(killTimer);
        opts?.signal?.removeEventListener('abort', onAbort);
        f();
      };
      child.stdout.on('data', (d: Buffer) => tail.push(d));
      child.stderr.on('data', (d: Buffer) => tail.push(d));
      child.on('error', (e: NodeJS.ErrnoException) =>
        finish(() => {
          const missing = e.code === 'ENOENT';
          reject(
            new DriverError('Invalid', INJECTION_DRIVER, 'inject', missing ? `injection.command: ${c.command} was not found; install virt-v2v (virt-v2v-in-place) or set injection.command to its path` : `inject: could not run ${c.command}: ${e.message}`, {
              cause: e,
              reason: missing ? 'CommandNotFound' : 'SpawnFailed',
              details: { field: 'injection.command' },
            }),
          );
        }),
      );
      child.on('close', (code, signal) =>
        finish(() => {
          const durationMs = Date.now() - started;
          const outputTail = tail.text();
          if (opts?.signal?.aborted) return reject(opts.signal.reason);
          if (timedOut) {
            log?.warn({ durationMs }, 'VirtIO injection timed out');
            return reject(new DriverError('Transient', INJECTION_DRIVER, 'inject', `inject: ${c.command} on ${req.devicePath} did not finish within ${c.timeoutMs} ms (killed)`, { reason: 'Timeout', details: { outputTail } }));
          }
          if (code !== 0) {
            log?.warn({ durationMs, exitCode: code, signal }, 'VirtIO injection failed');
            return reject(
              new DriverError('Fatal', INJECTION_DRIVER, 'inject', `inject: ${c.command} on ${req.devicePath} exited ${code ?? `by signal ${signal}`}: ${outputTail.trim().split('\n').slice(-3).join(' | ')}`, {
                reason: 'ExitCode',
                ...(code !== null ? { code } : {}),
                details: { outputTail },
              }),
            );
          }
          log?.info({ durationMs }, 'Finished VirtIO injection');
          resolve({ devicePath: req.devicePath, exitCode: 0, durationMs, outputTail });
        }),
      );
    });
  }
}
