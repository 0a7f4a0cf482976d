// Why: the real ClusterPort: a Kubernetes API server through @kubernetes/client-node 1.4. Generic objects go
// through KubernetesObjectApi (its discovery-based paths, auth, TLS and request pipeline), bodies are sent and
// read as raw JSON (its typed serializer drops unknown fields and turns timestamps into Date objects), watches
// use client-node's Watch, every request passes a client-side rate limit and carries a timeout, and every failure
// becomes a DriverError in kubernetes.errors.ts.
import {
  ApiException,
  HttpMethod,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  ServerConfiguration,
  Watch,
  createConfiguration,
  type Configuration,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ClockPort } from '../clock/clock.port.ts';
import { realClock } from '../clock/clock.real.ts';
import { DriverError } from '../errors.ts';
import type { JsonObject } from '../json.ts';
import {
  apiVersionOf,
  gvkOf,
  refOf,
  refString,
  type ApplyOpts,
  type CallOpts,
  type ClusterPort,
  type DeleteOpts,
  type GVK,
  type KubeObject,
  type ListOpts,
  type ObjectList,
  type ObjectRef,
  type WatchEvent,
  type WatchHandle,
  type WatchOpts,
  type WriteOpts,
} from './cluster.port.ts';
import { KUBERNETES_DRIVER_NAME, fromKubeStatus, parseStatus, toKubeDriverError } from './kubernetes.errors.ts';
import { DEFAULT_BURST, DEFAULT_QPS, TokenBucket } from './rate-limiter.ts';
import { watchHandlerError } from './watch-handler-error.ts';

export interface KubernetesClusterOptions {
  kubeConfig: KubeConfig;
  /** The context to use; default: the KubeConfig's current context. */
  context?: string;
  /** The cluster's name in logs, errors and status; default: the context's name. */
  name?: string;
  /** Client-side rate limit (client-go's defaults: 5 requests per second, bursts of 10). 0 turns it off. */
  qps?: number;
  burst?: number;
  /** Every request (but a watch stream) is aborted after this long. Default 30 s. */
  requestTimeoutMs?: number;
  /** The clock of the rate limiter and of call durations. Default: the wall clock. */
  clock?: ClockPort;
  /** The field manager of writes that do not name one. Default `failover-engine`. */
  fieldManager?: string;
  log?: Logger;
  /** Told of every HTTP exchange (tests use it to hold simulated time while bytes are on the wire). */
  observer?: ExchangeObserver;
}

/** One HTTP exchange as an observer tracks it. */
export interface ObservedExchange {
  /** Extra request headers (plain requests) or query parameters (watch streams, whose headers are fixed). */
  headers?: Record<string, string>;
  query?: Record<string, string>;
  /** One answer was consumed: the response headers of a watch, or one watch event. */
  received(): void;
  /** The exchange is over: answered and read, failed, or the stream ended. */
  end(): void;
}

export interface ExchangeObserver {
  begin(): ObservedExchange;
}

export interface UpdateWithOpts extends WriteOpts {
  /** How many times to re-read and re-apply the mutation after a Conflict. Default 5; 0 means no retry. */
  retryOnConflict?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_FIELD_MANAGER = 'failover-engine';

interface RawRequest {
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

/** KubernetesObjectApi with raw JSON in and out, a hook before every request, and discovery exposed. */
class ObjectClient extends KubernetesObjectApi {
  constructor(
    configuration: Configuration,
    private readonly before: (ctx: RequestContext) => Promise<void>,
    private readonly observer: ExchangeObserver | undefined,
  ) {
    super(configuration);
  }

  protected override async requestPromise<T>(ctx: RequestContext, type?: string, options?: Configuration): Promise<T> {
    await this.before(ctx);
    const exchange = this.observer?.begin();
    for (const [k, v] of Object.entries(exchange?.headers ?? {})) ctx.setHeaderParam(k, v);
    try {
      return (await super.requestPromise(ctx, type, options)) as T;
    } finally {
      exchange?.end();
    }
  }

  protected override async processResponse<T>(response: ResponseContext): Promise<T> {
    const text = await response.body.text();
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) return (text ? JSON.parse(text) : undefined) as T;
    throw new ApiException(response.httpStatusCode, 'Unsuccessful HTTP Request', text, response.headers);
  }

  private readonly discovering = new Map<string, Promise<{ name: string; namespaced: boolean } | undefined>>();

  /**
   * The served resource of a kind (plural and scope), from discovery (cached per group/version by
   * KubernetesObjectApi). Concurrent first calls share one discovery request.
   */
  resourceOf(gvk: GVK): Promise<{ name: string; namespaced: boolean } | undefined> {
    const key = `${apiVersionOf(gvk)}/${gvk.kind}`;
    let p = this.discovering.get(key);
    if (!p) {
      p = this.resource(apiVersionOf(gvk), gvk.kind).then(
        (r) => (r ? { name: r.name, namespaced: r.namespaced } : undefined),
        (e: unknown) => {
          if (e instanceof ApiException && e.code === 404) return undefined;
          throw e;
        },
      );
      this.discovering.set(key, p);
      void p.then(
        () => this.discovering.delete(key),
        () => this.discovering.delete(key),
      );
    }
    return p;
  }

  get namespaceDefault(): string {
    return this.defaultNamespace;
  }

  setNamespaceDefault(ns: string): void {
    this.defaultNamespace = ns;
  }

  async send(method: HttpMethod, path: string, r: RawRequest, signals: WeakMap<RequestContext, AbortSignal>): Promise<unknown> {
    const ctx = this.configuration.baseServer.makeRequestContext(path, method);
    ctx.setHeaderParam('Accept', 'application/json');
    for (const [k, v] of Object.entries(r.query ?? {})) if (v !== undefined) ctx.setQueryParam(k, v);
    if (r.body !== undefined) {
      ctx.setHeaderParam('Content-Type', r.contentType ?? 'application/json');
      ctx.setBody(JSON.stringify(r.body));
    }
    if (r.signal) signals.set(ctx, r.signal);
    return this.requestPromise(ctx);
  }
}

/** A Kubernetes cluster through its API server. */
export class KubernetesCluster implements ClusterPort {
  readonly cluster: string;
  private readonly kc: KubeConfig;
  private readonly client: ObjectClient;
  private readonly limiter: TokenBucket;
  private readonly clock: ClockPort;
  private readonly timeoutMs: number;
  private readonly fieldManager: string;
  private readonly log: Logger | undefined;
  private readonly observer: ExchangeObserver | undefined;
  private readonly signals = new WeakMap<RequestContext, AbortSignal>();

  constructor(opts: KubernetesClusterOptions) {
    const context = opts.context ?? opts.kubeConfig.getCurrentContext();
    const ctxObj = opts.kubeConfig.getContextObject(context);
    if (!ctxObj) {
      const known = opts.kubeConfig.getContexts().map((c) => c.name);
      throw new Error(`kubernetes: context "${context}" not found; known contexts: ${known.join(', ') || '(none)'}`);
    }
    // A private copy whose current context is ours: Watch and auth read the current context.
    this.kc = new KubeConfig();
    this.kc.loadFromOptions({ clusters: opts.kubeConfig.clusters, users: opts.kubeConfig.users, contexts: opts.kubeConfig.contexts, currentContext: context });
    const server = this.kc.getCurrentCluster()?.server;
    if (!server) throw new Error(`kubernetes: context "${context}" names no cluster with a server URL`);
    this.cluster = opts.name ?? context;
    this.clock = opts.clock ?? realClock;
    this.limiter = new TokenBucket({ qps: opts.qps ?? DEFAULT_QPS, burst: opts.burst ?? DEFAULT_BURST, clock: this.clock });
    this.timeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.fieldManager = opts.fieldManager ?? DEFAULT_FIELD_MANAGER;
    this.log = opts.log?.child({ driver: KUBERNETES_DRIVER_NAME, cluster: this.cluster });
    const configuration = createConfiguration({ baseServer: new ServerConfiguration(server, {}), authMethods: { default: this.kc } });
    this.observer = opts.observer;
    this.client = new ObjectClient(configuration, (ctx) => this.beforeRequest(ctx), this.observer);
    if (ctxObj.namespace) this.client.setNamespaceDefault(ctxObj.namespace);
  }

  /** Rate limit, then the per-request timeout (combined with the caller's signal). */
  private async beforeRequest(ctx: RequestContext): Promise<void> {
    const user = this.signals.get(ctx);
    await this.limiter.take(user);
    const timeout = AbortSignal.timeout(this.timeoutMs);
    ctx.setSignal(user ? AbortSignal.any([user, timeout]) : timeout);
  }

  /** Runs one call: logs it, rethrows the caller's own abort as is, and maps every other failure. */
  private async run<T>(op: string, ref: string, opts: CallOpts | undefined, fn: () => Promise<T>): Promise<T> {
    const started = this.clock.now();
    const log = (opts?.log ?? this.log)?.child({ driver: KUBERNETES_DRIVER_NAME, cluster: this.cluster, op });
    try {
      const v = await fn();
      log?.debug({ ref, durationMs: this.clock.now() - started, outcome: 'ok' }, 'Called Kubernetes API');
      return v;
    } catch (e) {
      if (opts?.signal?.aborted) throw opts.signal.reason;
      const mapped = toKubeDriverError(`kube.${op}`, e, { cluster: this.cluster, ref });
      log?.debug({ ref, durationMs: this.clock.now() - started, outcome: 'error', kind: mapped instanceof DriverError ? mapped.kind : 'Internal' }, 'Kubernetes API call failed');
      throw mapped;
    }
  }

  private send(method: HttpMethod, path: string, r: RawRequest): Promise<unknown> {
    return this.client.send(method, path, r, this.signals);
  }

  /** The path of a collection (no name) or an object, from discovery. Unknown kinds are NotFound. */
  private async pathOf(gvk: GVK, namespace: string | undefined, name?: string, subresource?: string): Promise<string> {
    const res = await this.client.resourceOf(gvk);
    if (!res) {
      throw new DriverError('NotFound', KUBERNETES_DRIVER_NAME, 'kube.discovery', 'the server could not find the requested resource', {
        reason: 'NotFound',
        code: 404,
        details: { resource: `${gvk.group ? `${gvk.group}/` : ''}${gvk.version}, Kind=${gvk.kind}`, cluster: this.cluster },
      });
    }
    const base = gvk.group === '' ? `/api/${gvk.version}` : `/apis/${gvk.group}/${gvk.version}`;
    let ns = namespace;
    if (res.namespaced && !ns && name !== undefined) ns = this.client.namespaceDefault;
    const parts = [base];
    if (res.namespaced && ns) parts.push('namespaces', encodeURIComponent(ns));
    parts.push(res.name);
    if (name !== undefined) parts.push(encodeURIComponent(name));
    if (subresource) parts.push(subresource);
    return parts.join('/');
  }

  private withKind(gvk: GVK, obj: KubeObject): KubeObject {
    if (!obj.apiVersion) obj.apiVersion = apiVersionOf(gvk);
    if (!obj.kind) obj.kind = gvk.kind;
    return obj;
  }

  async served(gvk: GVK, opts?: CallOpts): Promise<boolean> {
    return this.run('discovery', `${apiVersionOf(gvk)}, Kind=${gvk.kind}`, opts, async () => (await this.client.resourceOf(gvk)) !== undefined);
  }

  async get(ref: ObjectRef, opts?: CallOpts): Promise<KubeObject | undefined> {
    return this.run('get', refString(ref), opts, async () => {
      const path = await this.pathOf(ref, ref.namespace, ref.name);
      try {
        return this.withKind(ref, (await this.send(HttpMethod.GET, path, { signal: opts?.signal })) as KubeObject);
      } catch (e) {
        if (e instanceof ApiException && e.code === 404) return undefined;
        throw e;
      }
    });
  }

  async list(gvk: GVK, opts: ListOpts = {}): Promise<ObjectList> {
    return this.run('list', gvk.kind, opts, async () => {
      const path = await this.pathOf(gvk, opts.namespace);
      const items: KubeObject[] = [];
      let cont: string | undefined;
      let resourceVersion = '';
      // Follows continue tokens (a real server pages when asked to; the whole list is one snapshot).
      for (let page = 0; page < 10_000; page++) {
        const body = (await this.send(HttpMethod.GET, path, { query: { labelSelector: opts.labelSelector, continue: cont }, signal: opts.signal })) as {
          metadata?: { resourceVersion?: string; continue?: string };
          items?: KubeObject[];
        };
        for (const it of body.items ?? []) items.push(this.withKind(gvk, it));
        if (page === 0) resourceVersion = body.metadata?.resourceVersion ?? '';
        cont = body.metadata?.continue || undefined;
        if (!cont) break;
      }
      return { items, resourceVersion };
    });
  }

  async create(obj: KubeObject, opts: WriteOpts = {}): Promise<KubeObject> {
    return this.run('create', refString(refOf(obj)), opts, async () => {
      const path = await this.pathOf(gvkOf(obj), obj.metadata?.namespace);
      const created = await this.send(HttpMethod.POST, path, { body: obj, query: { fieldManager: opts.fieldManager ?? this.fieldManager }, signal: opts.signal });
      return created as KubeObject;
    });
  }

  async update(obj: KubeObject, opts: WriteOpts = {}): Promise<KubeObject> {
    const ref = refOf(obj);
    return this.run('update', refString(ref), opts, async () => {
      const path = await this.pathOf(ref, ref.namespace, ref.name);
      return (await this.send(HttpMethod.PUT, path, { body: obj, query: { fieldManager: opts.fieldManager ?? this.fieldManager }, signal: opts.signal })) as KubeObject;
    });
  }

  async mergePatch(ref: ObjectRef, patch: JsonObject, opts: WriteOpts = {}): Promise<KubeObject> {
    return this.run('patch', refString(ref), opts, async () => {
      const path = await this.pathOf(ref, ref.namespace, ref.name);
      return (await this.send(HttpMethod.PATCH, path, {
        body: patch,
        contentType: PatchStrategy.MergePatch,
        query: { fieldManager: opts.fieldManager ?? this.fieldManager },
        signal: opts.signal,
      })) as KubeObject;
    });
  }

  /** RFC 6902 JSON patch of the main resource (not part of ClusterPort; for `test` operations as preconditions). */
  async jsonPatch(ref: ObjectRef, ops: JsonObject[], opts: WriteOpts = {}): Promise<KubeObject> {
    return this.run('patch', refString(ref), opts, async () => {
      const path = await this.pathOf(ref, ref.namespace, ref.name);
      return (await this.send(HttpMethod.PATCH, path, {
        body: ops,
        contentType: PatchStrategy.JsonPatch,
        query: { fieldManager: opts.fieldManager ?? this.fieldManager },
        signal: opts.signal,
      })) as KubeObject;
    });
  }

  async apply(obj: KubeObject, opts: ApplyOpts): Promise<KubeObject> {
    const ref = refOf(obj);
    return this.run('apply', refString(ref), opts, async () => {
      const path = await this.pathOf(ref, ref.namespace, ref.name);
      return (await this.send(HttpMethod.PATCH, path, {
        body: obj,
        contentType: PatchStrategy.ServerSideApply,
        query: { fieldManager: opts.fieldManager, force: opts.force ? 'true' : undefined },
        signal: opts.signal,
      })) as KubeObject;
    });
  }

  async patchStatus(ref: ObjectRef, patch: JsonObject, opts: WriteOpts = {}): Promise<KubeObject> {
    return this.run('patchStatus', refString(ref), opts, async () => {
      const path = await this.pathOf(ref, ref.namespace, ref.name, 'status');
      return (await this.send(HttpMethod.PATCH, path, {
        body: patch,
        contentType: PatchStrategy.MergePatch,
        query: { fieldManager: opts.fieldManager ?? this.fieldManager },
        signal: opts.signal,
      })) as KubeObject;
    });
  }

  async delete(ref: ObjectRef, opts: DeleteOpts = {}): Promise<boolean> {
    return this.run('delete', refString(ref), opts, async () => {
      const path = await this.pathOf(ref, ref.namespace, ref.name);
      const body: JsonObject = { apiVersion: 'v1', kind: 'DeleteOptions' };
      if (opts.resourceVersion !== undefined) body.preconditions = { resourceVersion: opts.resourceVersion };
      try {
        await this.send(HttpMethod.DELETE, path, { body, signal: opts.signal });
        return true;
      } catch (e) {
        if (e instanceof ApiException && e.code === 404) return false;
        throw e;
      }
    });
  }

  /**
   * Re-reads the object and re-applies `mutate` when the write meets a Conflict, up to `retryOnConflict` times:
   * the only retrying write, and only because the caller's mutation is re-evaluated on fresh data. `mutate`
   * returns the object to write (its resourceVersion is the one read), or undefined to write nothing.
   */
  async updateWith(ref: ObjectRef, mutate: (current: KubeObject) => KubeObject | undefined, opts: UpdateWithOpts = {}): Promise<KubeObject> {
    const attempts = 1 + Math.max(0, opts.retryOnConflict ?? 5);
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(ref, opts);
      if (!current) {
        throw new DriverError('NotFound', KUBERNETES_DRIVER_NAME, 'kube.update', `${refString(ref)} not found`, { reason: 'NotFound', code: 404, details: { cluster: this.cluster } });
      }
      const rv = current.metadata.resourceVersion;
      const next = mutate(structuredClone(current));
      if (!next) return current;
      next.metadata = { ...next.metadata, resourceVersion: rv };
      try {
        return await this.update(next, opts);
      } catch (e) {
        const retry = e instanceof DriverError && e.kind === 'Conflict' && e.reason === 'Conflict' && attempt < attempts;
        if (!retry) throw e;
        (opts.log ?? this.log)?.debug({ ref: refString(ref), attempt }, 'Retried update after Conflict');
      }
    }
  }

  async watch(gvk: GVK, opts: WatchOpts, onEvent: (e: WatchEvent) => void): Promise<WatchHandle> {
    return this.run('watch', gvk.kind, opts, async () => {
      const path = await this.pathOf(gvk, opts.namespace);
      // "From now" on a real server means: from the collection's current resourceVersion (a watch without one
      // would first replay every existing object as ADDED).
      let rv = opts.resourceVersion;
      if (!rv) {
        const head = (await this.send(HttpMethod.GET, path, { query: { labelSelector: opts.labelSelector, limit: '1' }, signal: opts.signal })) as {
          metadata?: { resourceVersion?: string };
        };
        rv = head.metadata?.resourceVersion;
      }
      await this.limiter.take(opts.signal);
      const query: Record<string, string> = { allowWatchBookmarks: opts.allowBookmarks ? 'true' : 'false' };
      if (rv) query.resourceVersion = rv;
      if (opts.labelSelector) query.labelSelector = opts.labelSelector;

      const exchange = this.observer?.begin();
      Object.assign(query, exchange?.query ?? {});
      let finished = false;
      let stopped = false;
      let settle!: (e: DriverError | undefined) => void;
      const done = new Promise<DriverError | undefined>((r) => (settle = r));
      const ctl: { controller?: AbortController } = {};
      const finish = (err: DriverError | undefined) => {
        if (finished) return;
        finished = true;
        ctl.controller?.abort();
        opts.signal?.removeEventListener('abort', stop);
        exchange?.end();
        settle(err);
      };
      const stop = () => {
        stopped = true;
        finish(undefined);
      };
      const context: JsonObject = { cluster: this.cluster, ref: gvk.kind };
      const mapErr = (e: unknown): DriverError => {
        const m = toKubeDriverError('kube.watch', e, context);
        return m instanceof DriverError ? m : new DriverError('Transient', KUBERNETES_DRIVER_NAME, 'kube.watch', `watch stream failed: ${String((e as Error)?.message ?? e)}`, { cause: e, details: context });
      };
      const started = new Watch(this.kc).watch(
        path,
        query,
        (type: string, object: unknown) => {
          if (finished) return;
          try {
            if (type === 'ERROR') {
              const status = parseStatus(object);
              finish(fromKubeStatus('kube.watch', status?.code ?? 500, status, context));
              return;
            }
            if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED' && type !== 'BOOKMARK') return;
            const obj = object as KubeObject;
            const event: WatchEvent = { type, object: type === 'BOOKMARK' ? obj : this.withKind(gvk, obj) };
            try {
              onEvent(event);
            } catch (e) {
              // client-node drops whatever its callback throws and keeps streaming: the event would be lost
              // without a word. The stream ends instead, with the handler's error (as the simulated driver does).
              finish(watchHandlerError(e, context));
            }
          } finally {
            exchange?.received();
          }
        },
        (err: unknown) => {
          if (stopped || !err) finish(undefined);
          else finish(mapErr(err));
        },
      );
      try {
        ctl.controller = await started;
      } catch (e) {
        exchange?.end();
        throw e;
      }
      exchange?.received();
      if (finished && !stopped) {
        // The stream never opened (refused, 4xx/5xx): the watch call itself fails.
        const err = await done;
        if (err) throw err;
      }
      opts.signal?.addEventListener('abort', stop, { once: true });
      return { stop, done };
    });
  }
}

