// Why: a simulated failover's result as people read it (a per-stage timeline, the outcome, the invariants and the
// command that replays it) and as machines read it (one JSON object), shared by `failoverctl simulate` and
// `failoverctl start`.
import type { SimulationResult } from '../../simulator/failover-run.ts';

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(3)}s`;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** The per-stage timeline: a line per stage and side, then a line per task entered in it. */
export function formatTimeline(r: SimulationResult, opts: { tasks?: boolean } = {}): string[] {
  const lines: string[] = [];
  const f = r.failover;
  lines.push(`Failover ${f.failoverId} of ${f.groupId}: ${f.source} -> ${f.target} (${f.mode}, ${f.type}${f.force ? ', force' : ''}); seed ${r.seed}, scenario ${r.scenario}`);
  if (r.timeline.length === 0) {
    lines.push('  (no stage was entered)');
    return lines;
  }
  const stageWidth = Math.max(5, ...r.timeline.map((s) => s.stage.length));
  lines.push(`  ${pad('Stage', stageWidth)}  ${pad('Side', 14)}  ${pad('Start', 11)}  ${pad('End', 11)}  Duration`);
  for (const s of r.timeline) {
    lines.push(`  ${pad(s.stage, stageWidth)}  ${pad(`${s.role} ${s.cluster}`, 14)}  ${pad(`T+${secs(s.startMs)}`, 11)}  ${pad(`T+${secs(s.endMs)}`, 11)}  ${secs(s.endMs - s.startMs)}`);
    if (opts.tasks !== false) for (const t of s.tasks) lines.push(`  ${' '.repeat(stageWidth)}    - ${t.task} at T+${secs(t.startMs)}`);
  }
  return lines;
}

/** The outcome, each side's status, the invariants and the replay command. */
export function formatOutcome(r: SimulationResult): string[] {
  const lines: string[] = [];
  lines.push(`Outcome: ${r.outcome} after ${secs(r.virtualDurationMs)} of virtual time (faults healed at T+${secs(r.healedAtMs)}, operator crashes: ${r.crashes})`);
  for (const role of ['source', 'target'] as const) {
    const st = r.status[role];
    if (st) lines.push(`  ${role}: ${st.phase} (${st.progression.stage}/${st.progression.task}): ${st.message}; downtime ${st.metrics.totalDowntimeSeconds}s`);
    else lines.push(`  ${role}: never ran the failover`);
  }
  const violated = r.invariants.filter((i) => !i.held);
  lines.push(`Invariants: ${r.invariants.length - violated.length} held, ${violated.length} violated`);
  for (const v of violated) lines.push(`  VIOLATED ${v.name} (${v.kind}) at T+${secs(v.atMs ?? 0)}: ${v.message ?? ''}`);
  if (r.failure) lines.push(`Failure: ${r.failure.kind}${r.failure.invariant ? ` (${r.failure.invariant})` : ''} at T+${secs(r.failure.atMs)}: ${r.failure.message}`);
  lines.push(`Replay: ${r.replayHint}`);
  return lines;
}

/** The JSON a `--json` run prints: outcome, per-stage timeline, each invariant's result, replay data. */
export function failoverJson(r: SimulationResult): Record<string, unknown> {
  return {
    seed: r.seed,
    scenario: r.scenario,
    failover: r.failover,
    outcome: r.outcome,
    status: r.status,
    timeline: r.timeline,
    invariants: r.invariants.map((i) => ({ name: i.name, kind: i.kind, result: i.held ? 'held' : 'violated', ...(i.held ? {} : { atMs: i.atMs, message: i.message }) })),
    failure: r.failure ?? null,
    replayHint: r.replayHint,
    virtualDurationMs: r.virtualDurationMs,
    healedAtMs: r.healedAtMs,
    eventCount: r.eventCount,
    traceHash: r.traceHash,
    crashes: r.crashes,
    faultPlan: r.faultPlan,
    apiServerRestarts: r.apiServerRestarts,
  };
}
