// Why: the determinism and chart-purity rules are only worth having if they really fire.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });
async function messagesFor(filePath: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath });
  return r.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('lint rules', () => {
  it('deterministic code: Date.now, Math.random, setTimeout, setInterval and node I/O are refused in simulator/', async () => {
    const msgs = await messagesFor(
      'simulator/probe.ts',
      "import { readFileSync } from 'node:fs';\nexport const a = Date.now() + Math.random();\nsetTimeout(() => {}, 1);\nsetInterval(() => {}, 1);\nexport const b = readFileSync;\n",
    );
    expect(msgs.join('\n')).toMatch(/Date\.now/);
    expect(msgs.join('\n')).toMatch(/Math\.random/);
    expect(msgs.filter((m) => m.startsWith('no-restricted-globals'))).toHaveLength(2);
    expect(msgs.join('\n')).toMatch(/No real I\/O/);
  });

  it('deterministic code: simulated drivers (*.sim.ts) are held to the same rules', async () => {
    const msgs = await messagesFor('drivers/cluster/probe.sim.ts', 'export const a = Date.now();\n');
    expect(msgs.join('\n')).toMatch(/injected clock/);
  });

  it('real drivers and src/ may read the wall clock', async () => {
    expect(await messagesFor('drivers/clock/probe.real.ts', 'export const a = Date.now();\n')).toEqual([]);
  });

  it('machines/: imports other than xstate and machines/ are refused', async () => {
    const msgs = await messagesFor('machines/failover/probe.ts', "import p from 'pino';\nimport { x } from '../../drivers/json.ts';\nimport { setup } from 'xstate';\nimport { y } from '../shared/y.ts';\nexport const z = [p, x, setup, y];\n");
    expect(msgs.filter((m) => m.includes('machines/ imports only'))).toHaveLength(2);
  });
});
