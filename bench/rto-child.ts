// Why: the 1,000-workload RTO runs take minutes of CPU; bench/run.ts starts them in this child process on the
// machine's other core while it measures everything else, and reads one JSON line back (every seed's sample; the
// parent averages them with rtoFigures).
// Usage: node --import tsx bench/rto-child.ts <workloads> <default|jitterFree>[,<variant>...] [<seeds of the default model>]
import { EventEmitter } from 'node:events';
import { measureRtoSeeds, rtoSeeds, type LatencyVariant, type RtoSample } from './rto.ts';

EventEmitter.defaultMaxListeners = 1_000;

const workloads = Number(process.argv[2]);
const variants = (process.argv[3] ?? 'jitterFree').split(',') as LatencyVariant[];
const seedCount = process.argv[4] === undefined ? undefined : Number(process.argv[4]);
if (!Number.isInteger(workloads) || workloads < 1) {
  process.stderr.write(`rto-child: the first argument must be a workload count (got ${JSON.stringify(process.argv[2])})\n`);
  process.exit(2);
}
if (seedCount !== undefined && (!Number.isInteger(seedCount) || seedCount < 1)) {
  process.stderr.write(`rto-child: the third argument must be how many seeds the default model runs, 1 or more (got ${JSON.stringify(process.argv[4])})\n`);
  process.exit(2);
}
const out: RtoSample[] = [];
for (const v of variants) {
  if (v !== 'default' && v !== 'jitterFree') {
    process.stderr.write(`rto-child: variant must be default or jitterFree (got ${JSON.stringify(v)})\n`);
    process.exit(2);
  }
  const seeds = v === 'default' && seedCount !== undefined ? Array.from({ length: seedCount }, (_, i) => i + 1) : rtoSeeds(workloads, v);
  out.push(...(await measureRtoSeeds(workloads, v, seeds)));
}
process.stdout.write(`${JSON.stringify(out)}\n`);
