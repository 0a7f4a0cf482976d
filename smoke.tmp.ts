import { SimKubeStore } from './simulator/kube/store.ts';
import { createRegistry } from './simulator/kube/registry.ts';
import { loadCrds } from './src/crds.ts';
let now = 1_767_225_600_000;
const t0 = performance.now();
const crds = loadCrds();
console.log('crds', crds.map(c => c.metadata.name), (performance.now()-t0).toFixed(0)+'ms');
const s = new SimKubeStore('c1', createRegistry(crds), () => now);
console.log('rv after seed', s.currentResourceVersion());
const vr = (name: string, state: string) => ({apiVersion:'replication.storage.openshift.io/v1alpha1', kind:'VolumeReplication', metadata:{name, namespace:'apps'}, spec:{volumeReplicationClass:'rbd', replicationState: state, dataSource:{kind:'PersistentVolumeClaim', name:'data'}, junk: 1}});
try { s.create(vr('x','bogus') as any); } catch (e: any) { console.log(e.message, JSON.stringify(e.details)); }
const t1 = performance.now();
const o = s.create(vr('y','primary') as any);
console.log(JSON.stringify(o), (performance.now()-t1).toFixed(0)+'ms');
try { s.create({apiVersion:'replication.storage.openshift.io/v1alpha1', kind:'VolumeReplication', metadata:{name:'z', namespace:'apps'}, spec:{replicationState: 3, dataSource: {kind: 'x'}}} as any); } catch (e: any) { console.log(e.message); }
const c = s.apply({apiVersion:'v1', kind:'ConfigMap', metadata:{name:'cm', namespace:'apps', labels:{a:'1'}}, data:{a:'1', b:'2'}}, {fieldManager:'alice'});
console.log(JSON.stringify(c.metadata.managedFields));
try { s.apply({apiVersion:'v1', kind:'ConfigMap', metadata:{name:'cm', namespace:'apps'}, data:{a:'9', b:'2', c:'3'}}, {fieldManager:'bob'}); } catch (e: any) { console.log(e.message, JSON.stringify(e.details)); }
const c2 = s.apply({apiVersion:'v1', kind:'ConfigMap', metadata:{name:'cm', namespace:'apps'}, data:{a:'9', c:'3'}}, {fieldManager:'bob', force: true});
console.log(JSON.stringify(c2));
const c3 = s.apply({apiVersion:'v1', kind:'ConfigMap', metadata:{name:'cm', namespace:'apps'}, data:{}}, {fieldManager:'alice'});
console.log(JSON.stringify(c3));
