import { it } from 'vitest';
import { startWorldFailover } from './world-harness.ts';
it('uptime loss', async () => { const r = startWorldFailover({ mode: 'UPTIME' }); await r.settle(); console.log(JSON.stringify(r.world.dataLoss())); console.log(r.world.kernel.trace.lines.filter(l => /promoted|demoted|resync|split/i.test(l)).join('\n')); });
