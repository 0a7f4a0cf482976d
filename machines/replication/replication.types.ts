// Why: what the volume-replication chart knows about one csi-addons VolumeReplication (JSON-safe), and the rules
// that say when a requested state has been reached, including the Degraded cases the reference tolerates.
import type { StepError } from '../shared/step-error.ts';

/** spec.replicationState values the chart asks for (`resync` only on the way to secondary after split brain). */
export type DesiredReplication = 'primary' | 'secondary';
/** safe: wait for a healthy, synced volume; fast: the state flip is enough (PARITY.md §2.1 `safe|unsafe`, README `safe|fast`). */
export type ReplicationMode = 'safe' | 'fast';

export interface VrConditionView {
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/** One observation of a VolumeReplication. */
export interface VolumeView {
  exists: boolean;
  /** spec.replicationState. */
  spec?: string;
  /** status.state: Primary, Secondary, Resyncing, Unknown. */
  state?: string;
  generation?: number;
  observedGeneration?: number;
  message?: string;
  completed?: VrConditionView;
  degraded?: VrConditionView;
  resyncing?: VrConditionView;
  forced?: boolean;
  atMs: number;
}

export interface ReplicationInput {
  namespace: string;
  name: string;
  desired: DesiredReplication;
  mode: ReplicationMode;
  /** Force the promotion over a peer that is still primary (UPTIME, unplanned). */
  force: boolean;
  /** The whole transition must be done by then (epoch ms). */
  deadlineMs: number;
  attemptMax: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface ReplicationContext extends ReplicationInput {
  view?: VolumeView;
  attempt: number;
  retryAtMs?: number;
  lastError?: StepError;
  /** True once a resync was requested to clear split brain. */
  resynced: boolean;
}

export interface ReplicationOutput {
  outcome: 'done' | 'failed';
  view?: VolumeView;
  error?: StepError;
}

const SPLIT_BRAIN = 'SplitBrain';

export function inSplitBrain(v: VolumeView | undefined): boolean {
  return v?.degraded?.status === 'True' && v.degraded.reason === SPLIT_BRAIN;
}

/**
 * A Degraded=True the reference operator tolerates (volumereplication/manager.go): reason Error with "last sync
 * time not found" (a new volume that never synced), and resync errors.
 */
export function degradedTolerated(v: VolumeView): boolean {
  const d = v.degraded;
  if (!d || d.status !== 'True') return true;
  if (d.reason === 'Error' && /last sync time not found/i.test(d.message)) return true;
  if (/resync/i.test(d.reason) || /resync/i.test(d.message)) return true;
  return false;
}

/** Whether the observed volume is in the desired state, as strict as the mode asks. */
export function reached(v: VolumeView | undefined, desired: DesiredReplication, mode: ReplicationMode): boolean {
  if (!v || !v.exists) return false;
  const current = v.observedGeneration === undefined || v.generation === undefined || v.observedGeneration >= v.generation;
  if (desired === 'primary') {
    if (v.state !== 'Primary' || v.spec !== 'primary') return false;
    if (mode === 'fast') return true;
    return current && v.completed?.status !== 'False' && degradedTolerated(v);
  }
  if (v.state !== 'Secondary' || v.spec !== 'secondary' || inSplitBrain(v)) return false;
  if (mode === 'fast') return true;
  // Safe: a just-demoted volume reports Degraded until its first resync check; wait for it to settle.
  return current && v.resyncing?.status !== 'True' && (v.degraded?.status !== 'True' || degradedTolerated(v));
}

/** Promotion is allowed only from secondary or primary (PARITY.md §2.1); a resyncing volume must finish first. */
export function promotable(v: VolumeView): boolean {
  return v.state === 'Secondary' || v.state === 'Primary' || v.state === 'Unknown' || v.state === undefined;
}
