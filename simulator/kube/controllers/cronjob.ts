// Why: the simulated CronJob controller. The engine pauses CronJobs with spec.suspend during a failover; this
// controller makes that observable: a suspended CronJob schedules nothing, an active one runs on its schedule
// and records status.lastScheduleTime and status.lastSuccessfulTime.
import { Kinds, type GVK, type KubeObject } from '../../../drivers/cluster/cluster.port.ts';
import type { JsonObject } from '../../../drivers/json.ts';
import type { StoreChange } from '../store.types.ts';
import { asString, BaseController, isoTime, keyOf, refFor, splitKey, type ControllerContext, type ControllerFork } from './common.ts';

/** When a schedule fires: a fixed interval from when it was armed, or the minutes of the day that match. */
export type CronSchedule =
  | { kind: 'interval'; everyMs: number; text: string }
  | { kind: 'daily'; minutes: ReadonlySet<number>; hours: ReadonlySet<number>; text: string }
  | { kind: 'fallback'; everyMs: number; text: string; why: string };

/** The interval the simulator uses for a schedule it does not understand. */
export const FALLBACK_INTERVAL_MS = 60_000;

const DURATION_UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration such as `30s`, `5m` or `1h30m`; undefined when it is not one. */
export function parseGoDuration(text: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(re)) total += Number(m[1]) * DURATION_UNIT_MS[m[2]];
  return total;
}

/** One cron field (`*`, `*\/N`, `N`, `A-B`, `A-B/N`, lists of those) over [min, max]; undefined when invalid. */
function parseField(field: string, min: number, max: number): Set<number> | undefined {
  const out = new Set<number>();
  for (const part of field.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) return undefined;
    const step = m[4] === undefined ? 1 : Number(m[4]);
    let lo = min;
    let hi = max;
    if (m[1] !== '*') {
      lo = Number(m[2]);
      hi = m[3] === undefined ? (m[4] === undefined ? lo : max) : Number(m[3]);
    }
    if (step < 1 || lo < min || hi > max || lo > hi) return undefined;
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

const MACROS: Record<string, string> = { '@hourly': '0 * * * *', '@daily': '0 0 * * *', '@midnight': '0 0 * * *' };

/**
 * The subset of cron the simulator runs: `@every <duration>`, `@hourly`, `@daily`, and five-field schedules
 * whose day-of-month, month and day-of-week are `*` (minute and hour may be any list, range or step). Anything
 * else runs every FALLBACK_INTERVAL_MS, and says so.
 */
export function parseCronSchedule(text: string): CronSchedule {
  const trimmed = text.trim();
  if (trimmed.startsWith('@every ')) {
    const ms = parseGoDuration(trimmed.slice(7).trim());
    if (ms !== undefined && ms >= 1_000) return { kind: 'interval', everyMs: ms, text };
    return { kind: 'fallback', everyMs: FALLBACK_INTERVAL_MS, text, why: 'the @every duration is not a Go duration of at least 1s' };
  }
  const expanded = MACROS[trimmed] ?? trimmed;
  const fields = expanded.split(/\s+/);
  if (fields.length !== 5) return { kind: 'fallback', everyMs: FALLBACK_INTERVAL_MS, text, why: 'not a five-field schedule' };
  const [min, hour, dom, month, dow] = fields;
  if (dom !== '*' || month !== '*' || dow !== '*') {
    return { kind: 'fallback', everyMs: FALLBACK_INTERVAL_MS, text, why: 'day-of-month, month and day-of-week other than * are not simulated' };
  }
  const minutes = parseField(min, 0, 59);
  const hours = parseField(hour, 0, 23);
  if (!minutes || !hours) return { kind: 'fallback', everyMs: FALLBACK_INTERVAL_MS, text, why: 'the minute or hour field is not valid' };
  return { kind: 'daily', minutes, hours, text };
}

/** The next firing time strictly after `afterMs` (UTC, minute resolution for cron fields). */
export function nextFireMs(schedule: CronSchedule, afterMs: number): number {
  if (schedule.kind !== 'daily') return afterMs + schedule.everyMs;
  let t = Math.floor(afterMs / 60_000) * 60_000 + 60_000;
  for (let i = 0; i < 24 * 60; i++, t += 60_000) {
    const d = new Date(t);
    if (schedule.minutes.has(d.getUTCMinutes()) && schedule.hours.has(d.getUTCHours())) return t;
  }
  throw new Error(`cron schedule "${schedule.text}" never fires`);
}

interface Armed {
  schedule: string;
  atMs: number;
}

export class CronJobController extends BaseController {
  readonly name = 'cronjob';
  protected readonly kinds: readonly GVK[] = [Kinds.CronJob];
  private readonly armed = new Map<string, Armed>();
  /** Jobs started so far, per CronJob (for the trace and tests). */
  private readonly runs = new Map<string, number>();

  constructor(ctx: ControllerContext) {
    super(ctx, 'cronjob');
  }

  protected override onChange(c: StoreChange): void {
    if (c.type === 'MODIFIED' && c.old && c.old.metadata.generation === c.object.metadata.generation) return;
    super.onChange(c);
  }

  protected override adoptState(src: this, fork: ControllerFork): void {
    super.adoptState(src, fork);
    for (const [key, a] of src.armed) this.armed.set(key, { ...a });
    for (const [key, n] of src.runs) this.runs.set(key, n);
  }

  /** How many jobs this CronJob has started on this cluster. */
  jobsStarted(namespace: string, name: string): number {
    return this.runs.get(keyOf(namespace, name)) ?? 0;
  }

  protected reconcile(key: string): void {
    const obj = this.ctx.store.peek(refFor(Kinds.CronJob, key));
    const armed = this.armed.get(key);
    if (!obj || obj.spec?.suspend === true) {
      if (armed) {
        this.timers.cancel(key);
        this.armed.delete(key);
        this.emit(obj ? 'suspended' : 'deleted', { ns: splitKey(key).namespace, name: splitKey(key).name });
      }
      return;
    }
    const scheduleText = asString(obj.spec?.schedule) ?? '';
    if (armed && armed.schedule === scheduleText) return;
    this.arm(key, scheduleText, armed === undefined ? 'scheduled' : 'rescheduled');
  }

  /** Sets the next firing; `event` names the trace line (none when re-arming after a run). */
  private arm(key: string, scheduleText: string, event: 'scheduled' | 'rescheduled' | undefined): void {
    const schedule = parseCronSchedule(scheduleText);
    const atMs = nextFireMs(schedule, this.now);
    this.armed.set(key, { schedule: scheduleText, atMs });
    const { namespace, name } = splitKey(key);
    if (event) this.emit(event, {
      ns: namespace,
      name,
      schedule: scheduleText,
      nextAt: isoTime(atMs),
      fallback: schedule.kind === 'fallback' ? schedule.why : undefined,
    });
    this.timers.set(key, atMs - this.now, () => this.fire(key));
  }

  private fire(key: string): void {
    this.armed.delete(key);
    const obj = this.ctx.store.peek(refFor(Kinds.CronJob, key));
    if (!obj || obj.spec?.suspend === true) return;
    const { namespace, name } = splitKey(key);
    const n = (this.runs.get(key) ?? 0) + 1;
    this.runs.set(key, n);
    const job = `${name}-${Math.floor((this.now - this.ctx.kernel.startMs) / 60_000)}-${n}`;
    const status: JsonObject = { ...(obj.status ?? {}), lastScheduleTime: isoTime(this.now), active: [{ apiVersion: 'batch/v1', kind: 'Job', namespace: namespace ?? '', name: job }] };
    this.writeStatus(obj, status);
    this.emit('job.created', { ns: namespace, name, job });
    const runMs = this.ctx.kernel.draw(this.ctx.kernel.plan.physics.podStartMs);
    this.ctx.kernel.sched.after(runMs, 'controller.cronjob.job', () => this.finish(key, job));
    this.arm(key, asString(obj.spec?.schedule) ?? '', undefined);
  }

  private finish(key: string, job: string): void {
    const obj = this.ctx.store.peek(refFor(Kinds.CronJob, key));
    if (!obj) return;
    const status: JsonObject = { ...(obj.status ?? {}), lastSuccessfulTime: isoTime(this.now) };
    const active = Array.isArray(status.active) ? status.active : [];
    if (active.some((a) => (a as JsonObject | null)?.name === job)) delete status.active;
    this.writeStatus(obj, status);
    const { namespace, name } = splitKey(key);
    this.emit('job.succeeded', { ns: namespace, name, job });
  }
}

export function isSuspended(obj: KubeObject): boolean {
  return obj.spec?.suspend === true;
}
