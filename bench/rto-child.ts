// Why: the 1,000-workload RTO runs take minutes of CPU; bench/run.ts starts them in this child process on the
// machine's other core while it measures everything else, and reads one JSON line back.
// Usage: node --import tsx bench/rto-child.ts <workloads> <default|jitterFree>[,<variant>...]
import { EventEmitter } from 'node:events';
import { measureRto, type LatencyVariant, type RtoSample } from './rto.ts';

EventEmitter.defaultMaxListeners = 1_000;

const workloads = Number(process.argv[2]);
const variants = (process.argv[3] ?? 'jitterFree').split(',') as LatencyVariant[];
if (!Number.isInteger(workloads) || workloads < 1) {
  process.stderr.write(`rto-child: the first argument must be a workload count (got ${JSON.stringify(process.argv[2])})\n`);
  process.exit(2);
}
const out: RtoSample[] = [];
for (const v of variants) {
  if (v !== 'default' && v !== 'jitterFree') {
    process.stderr.write(`rto-child: variant must be default or jitterFree (got ${JSON.stringify(v)})\n`);
    process.exit(2);
  }
  out.push(await measureRto(workloads, v));
}
process.stdout.write(`${JSON.stringify(out)}\n`);
