// Why: `failoverctl`, the operator's command line. Each capability adds its commands here; the commands
// themselves live in sibling files.
import { Command, CommanderError } from 'commander';
import { registerDaemon } from './daemon.ts';
import { registerSimulate } from './simulate.ts';
import { registerStart } from './start.ts';
import { UsageError } from './usage-error.ts';
import { registerWorldServe } from './world-serve.ts';
import { registerVm } from './vm.ts';

export function buildProgram(out: (s: string) => void, err: (s: string) => void): Command {
  const program = new Command('failoverctl')
    .description('Failover Engine: explicit state charts that move applications between sites.')
    .exitOverride()
    // Commander's own errors (an unknown option, a missing value) stay one line, and name the fix too.
    .configureOutput({ writeOut: out, writeErr: err, outputError: (text, write) => write(`failoverctl: ${text.trim().replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')}; run the command with --help for its options\n`) });
  registerSimulate(program, out);
  registerWorldServe(program, out);
  registerVm(program, out, err);
  registerDaemon(program, out);
  registerStart(program, out);
  return program;
}

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 bad input). */
export async function main(argv: string[], out = (s: string) => void process.stdout.write(s), err = (s: string) => void process.stderr.write(s)): Promise<number> {
  const program = buildProgram(out, err);
  try {
    await program.parseAsync(argv, { from: 'node' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`failoverctl: ${e.message}\n`);
      return 2;
    }
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    err(`failoverctl: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}
