import { failoverMachine } from './machines/failover/failover.machine.ts';
let t = performance.now();
for (let i = 0; i < 10; i++) failoverMachine.provide({});
console.log('provide ms each', (performance.now() - t) / 10);
t = performance.now();
const s = { value: failoverMachine.getInitialSnapshot as any };
console.log(Object.keys(failoverMachine.idMap ?? {}).length, 'states');
