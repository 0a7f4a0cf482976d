// Why: the CLI tests run `failoverctl` in-process through main() and read what it printed and its exit code; one
// helper, which also keeps a command's process.exitCode from leaking into the test runner's.
import { main } from '../../src/cli/main.ts';

export async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const saved = process.exitCode;
  process.exitCode = undefined;
  try {
    const code = await main(['node', 'failoverctl', ...args], (s) => void (out += s), (s) => void (err += s));
    return { code, out, err };
  } finally {
    process.exitCode = saved;
  }
}
