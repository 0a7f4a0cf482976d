// Why: `failoverctl simulate`: build the sample world from a seed, run it with faults on, and print the trace
// summary, so any failing seed replays byte for byte from one command.
import type { Command } from 'commander';
import { SimKernel } from '../../simulator/kernel.ts';
import { parseSeed } from './usage-error.ts';

export function registerSimulate(program: Command, out: (s: string) => void): void {
  program
    .command('simulate')
    .description('Run the simulated world from one seed and print its trace.')
    .requiredOption('--seed <n>', 'the root seed (a non-negative integer)')
    .option('--json', 'print one JSON object instead of the trace')
    .action((opts: { seed: string; json?: boolean }) => {
      const seed = parseSeed(opts.seed);
      const kernel = new SimKernel({ seed, plan: { profile: 'swarm', parties: ['operator/east', 'operator/west'] } });
      if (opts.json) out(JSON.stringify({ seed, traceHash: kernel.trace.hash(), faultPlan: kernel.plan }) + '\n');
      else out(kernel.trace.text());
    });
}
