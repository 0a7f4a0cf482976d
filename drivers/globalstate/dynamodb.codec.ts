// Why: the table's item layout in one place (keys, attribute names, JSON to AttributeValue), so the driver's
// conditional writes and docs/dynamodb.md name the same attributes. One partition per group:
//   PK GROUP#<groupId>  SK CONFIG                 the group record (owner, version, lock, fencing token, volume hand-off, metadata)
//   PK GROUP#<groupId>  SK CLUSTER#<cluster>      a cluster's heartbeat   (GSI1: CLUSTER#<cluster> / GROUP#<groupId>)
//   PK GROUP#<groupId>  SK HISTORY#<failoverId>   one failover's outcome  (GSI1: GROUPHISTORY#<groupId> / <endMs:15>#<failoverId>)
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Json, JsonObject } from '../json.ts';
import type { ClusterStatusRecord, GroupLock, GroupRecord, HistoryRecord, VolumeHandoff } from './globalstate.port.ts';
import { historySortKey } from './globalstate.rules.ts';

export type Item = Record<string, AttributeValue>;

export const CONFIG_SK = 'CONFIG';
export const CLUSTER_SK_PREFIX = 'CLUSTER#';
export const HISTORY_SK_PREFIX = 'HISTORY#';

export const groupPk = (groupId: string): string => `GROUP#${groupId}`;
export const clusterSk = (cluster: string): string => `${CLUSTER_SK_PREFIX}${cluster}`;
export const historySk = (failoverId: string): string => `${HISTORY_SK_PREFIX}${failoverId}`;
export const historyGsi1Pk = (groupId: string): string => `GROUPHISTORY#${groupId}`;
export const clusterGsi1Pk = (cluster: string): string => `CLUSTER#${cluster}`;

export function configKey(groupId: string): Item {
  return { PK: { S: groupPk(groupId) }, SK: { S: CONFIG_SK } };
}

/** The lock's attributes on the CONFIG item: top-level, so conditions can compare them directly. */
export const LOCK_ATTRIBUTES = ['lockHolder', 'lockToken', 'lockReason', 'lockAcquiredAt', 'lockExpiresAt', 'lockFailoverId'] as const;

export function toAttr(v: Json): AttributeValue {
  if (v === null) return { NULL: true };
  if (typeof v === 'string') return { S: v };
  if (typeof v === 'number') return { N: String(v) };
  if (typeof v === 'boolean') return { BOOL: v };
  if (Array.isArray(v)) return { L: v.map((x) => toAttr(x === undefined ? null : x)) };
  return { M: toAttrMap(v) };
}

export function toAttrMap(o: JsonObject): Item {
  const out: Item = {};
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (v !== undefined) out[k] = toAttr(v);
  }
  return out;
}

export function fromAttr(a: AttributeValue): Json {
  if (a.S !== undefined) return a.S;
  if (a.N !== undefined) return Number(a.N);
  if (a.BOOL !== undefined) return a.BOOL;
  if (a.NULL !== undefined) return null;
  if (a.L !== undefined) return a.L.map(fromAttr);
  if (a.M !== undefined) return fromItem(a.M);
  if (a.SS !== undefined) return [...a.SS];
  if (a.NS !== undefined) return a.NS.map(Number);
  if (a.B !== undefined) return Buffer.from(a.B).toString('base64');
  if (a.BS !== undefined) return a.BS.map((b) => Buffer.from(b).toString('base64'));
  throw new Error(`unsupported DynamoDB attribute value: ${JSON.stringify(Object.keys(a))}`);
}

export function fromItem(item: Item): JsonObject {
  const out: JsonObject = {};
  for (const k of Object.keys(item)) out[k] = fromAttr(item[k]);
  return out;
}

export function recordToItem(r: GroupRecord): Item {
  const item: Item = {
    ...configKey(r.groupId),
    itemType: { S: 'GroupConfig' },
    groupId: { S: r.groupId },
    ownerCluster: { S: r.ownerCluster },
    version: { N: String(r.version) },
    fencingToken: { N: String(r.fencingToken) },
    suspended: { BOOL: r.suspended },
    timeouts: toAttr({ ...r.timeouts }),
    heartbeatIntervalMs: { N: String(r.heartbeatIntervalMs) },
    metadata: { M: toAttrMap(r.metadata) },
    updatedAtMs: { N: String(r.updatedAtMs) },
  };
  if (r.previousOwner !== undefined) item.previousOwner = { S: r.previousOwner };
  if (r.suspensionReason !== undefined) item.suspensionReason = { S: r.suspensionReason };
  if (r.lastFailover !== undefined) item.lastFailover = toAttr({ ...r.lastFailover });
  if (r.volumeState !== undefined) item.volumeState = toAttr({ ...r.volumeState });
  if (r.lock !== undefined) Object.assign(item, lockToAttrs(r.lock));
  return item;
}

export function lockToAttrs(l: GroupLock): Item {
  return {
    lockHolder: { S: l.holder },
    lockToken: { S: l.leaseToken },
    lockReason: { S: l.reason },
    lockAcquiredAt: { N: String(l.acquiredAtMs) },
    lockExpiresAt: { N: String(l.expiresAtMs) },
    lockFailoverId: { S: l.failoverId },
  };
}

export function itemToRecord(item: Item): GroupRecord {
  const o = fromItem(item);
  const r: GroupRecord = {
    groupId: o.groupId as string,
    ownerCluster: o.ownerCluster as string,
    version: o.version as number,
    fencingToken: o.fencingToken as number,
    suspended: o.suspended === true,
    timeouts: o.timeouts as unknown as GroupRecord['timeouts'],
    heartbeatIntervalMs: o.heartbeatIntervalMs as number,
    metadata: (o.metadata ?? {}) as JsonObject,
    updatedAtMs: o.updatedAtMs as number,
  };
  if (typeof o.previousOwner === 'string') r.previousOwner = o.previousOwner;
  if (typeof o.suspensionReason === 'string') r.suspensionReason = o.suspensionReason;
  if (o.lastFailover) r.lastFailover = o.lastFailover as unknown as NonNullable<GroupRecord['lastFailover']>;
  if (o.volumeState) r.volumeState = o.volumeState as unknown as VolumeHandoff;
  if (typeof o.lockToken === 'string') {
    r.lock = {
      holder: o.lockHolder as string,
      leaseToken: o.lockToken,
      reason: o.lockReason as string,
      acquiredAtMs: o.lockAcquiredAt as number,
      expiresAtMs: o.lockExpiresAt as number,
      failoverId: o.lockFailoverId as string,
    };
  }
  return r;
}

export function clusterToItem(s: ClusterStatusRecord): Item {
  const item: Item = {
    PK: { S: groupPk(s.groupId) },
    SK: { S: clusterSk(s.cluster) },
    GSI1PK: { S: clusterGsi1Pk(s.cluster) },
    GSI1SK: { S: groupPk(s.groupId) },
    itemType: { S: 'ClusterStatus' },
    groupId: { S: s.groupId },
    cluster: { S: s.cluster },
    health: { S: s.health },
    role: { S: s.role },
    lastHeartbeatMs: { N: String(s.lastHeartbeatMs) },
  };
  if (s.components !== undefined) item.components = { M: toAttrMap(s.components) };
  return item;
}

export function itemToCluster(item: Item): ClusterStatusRecord {
  const o = fromItem(item);
  const s: ClusterStatusRecord = {
    groupId: o.groupId as string,
    cluster: o.cluster as string,
    health: o.health as ClusterStatusRecord['health'],
    role: o.role as ClusterStatusRecord['role'],
    lastHeartbeatMs: o.lastHeartbeatMs as number,
  };
  if (o.components) s.components = o.components as JsonObject;
  return s;
}

const HISTORY_FIELDS = ['groupId', 'failoverId', 'failoverName', 'sourceCluster', 'targetCluster', 'mode', 'type', 'startMs', 'endMs', 'status', 'reason', 'downtimeSeconds', 'durationSeconds'] as const;

export function historyToItem(h: HistoryRecord): Item {
  const item: Item = {
    PK: { S: groupPk(h.groupId) },
    SK: { S: historySk(h.failoverId) },
    GSI1PK: { S: historyGsi1Pk(h.groupId) },
    GSI1SK: { S: historySortKey(h.endMs, h.failoverId) },
    // Every item names its kind in `itemType` (`type` is the history entry's own field: planned/unplanned).
    itemType: { S: 'History' },
  };
  for (const f of HISTORY_FIELDS) item[f] = toAttr(h[f]);
  return item;
}

export function itemToHistory(item: Item): HistoryRecord {
  const o = fromItem(item);
  const h = {} as Record<(typeof HISTORY_FIELDS)[number], Json>;
  for (const f of HISTORY_FIELDS) h[f] = o[f] as Json;
  return h as unknown as HistoryRecord;
}
