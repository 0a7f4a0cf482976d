// Why: lint rules that keep the simulator deterministic and the charts free of I/O.
import tseslint from 'typescript-eslint';

const ioModules = ['fs', 'net', 'http', 'https', 'http2', 'child_process', 'dgram', 'dns', 'tls', 'worker_threads', 'cluster', 'readline'];
const ioRegex = `^(node:)?(${ioModules.join('|')})(/.*)?$`;

const determinism = {
  'no-restricted-properties': [
    'error',
    { object: 'Date', property: 'now', message: 'Take time from the injected clock (deterministic code).' },
    { object: 'Math', property: 'random', message: 'Take randomness from the seeded PRNG (deterministic code).' },
    { object: 'globalThis', property: 'setTimeout', message: 'Schedule on the virtual clock (deterministic code).' },
    { object: 'globalThis', property: 'setInterval', message: 'Schedule on the virtual clock (deterministic code).' },
  ],
  'no-restricted-globals': [
    'error',
    { name: 'setTimeout', message: 'Schedule on the virtual clock (deterministic code).' },
    { name: 'setInterval', message: 'Schedule on the virtual clock (deterministic code).' },
    { name: 'fetch', message: 'No real I/O in deterministic code.' },
  ],
  'no-restricted-syntax': [
    'error',
    { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'new Date() reads the real clock: pass the virtual time.' },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'bench/results.json', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Deterministic code: the charts, the simulated world and every simulated driver.
    files: ['machines/**/*.ts', 'simulator/**/*.ts', 'drivers/**/*.sim.ts'],
    ignores: ['simulator/serve/**'],
    rules: {
      ...determinism,
      'no-restricted-imports': ['error', { patterns: [{ regex: ioRegex, message: 'No real I/O in deterministic code.' }] }],
    },
  },
  {
    // The charts import xstate and each other, nothing else.
    files: ['machines/**/*.ts'],
    rules: {
      ...determinism,
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^(?!xstate(/.*)?$|\\.{1,2}/).*', message: 'machines/ imports only xstate and machines/ itself.' },
            { regex: '(^|/)(drivers|simulator|src|test|bench|node_modules)(/|$)', message: 'machines/ imports only xstate and machines/ itself.' },
          ],
        },
      ],
    },
  },
);
