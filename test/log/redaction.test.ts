// Why: secrets must never reach a log line, at whatever depth a driver logs them.
import { describe, expect, it } from 'vitest';
import { createRootLogger, failoverLog, memoryDestination } from '../../src/log.ts';

describe('logging', () => {
  it('redacts secret keys, API keys, passwords, tokens and authorization headers', () => {
    const dest = memoryDestination();
    const log = createRootLogger({ destination: dest, now: () => 0 });
    log.info({ secretKey: 's1', apiKey: 'k1', cloudstack: { secretKey: 's2', apiKey: 'k2' }, req: { headers: { authorization: 'Bearer t' } }, password: 'p' }, 'Sent request');
    const text = dest.lines.join('\n');
    for (const secret of ['s1', 'k1', 's2', 'k2', 'Bearer t', '"p"']) expect(text).not.toContain(secret);
    expect(text).toContain('[REDACTED]');
  });

  it('a failover child logger carries its IDs on every line', () => {
    const dest = memoryDestination();
    const log = failoverLog(createRootLogger({ destination: dest, now: () => 0 }), { failoverId: 'f-1', groupId: 'shop/app', source: 'east', target: 'west' });
    log.info('Entered state');
    expect(JSON.parse(dest.lines[0])).toMatchObject({ failoverId: 'f-1', groupId: 'shop/app', source: 'east', target: 'west', time: '1970-01-01T00:00:00.000Z' });
  });
});
