import type { Agent, Dispatcher } from 'undici';
import type { HarombeConfig, NodeConfig, NodeKind } from '../config/schema';
import { createNodeDispatcher } from '../inference/nodeDispatcher';
import type { Endpoint, InferenceProtocol } from '../inference/types';
import { systemClock, type Clock } from '../util/clock';
import { Emitter, type Disposable } from '../util/emitter';
import { silentLogger, type Logger } from '../util/logger';
import { breakerOptionsFromConfig, NodeBreaker, type BreakerOptions } from './nodeBreaker';
import type { NodeHardware, NodeInfo, NodeSource, NodeState } from './nodeInfo';
import type { ProbeResult } from './probeResult';

export interface NodeRegistryOptions {
  /** The `cluster.circuit_breaker` section; every node gets its own breaker with these settings. */
  breaker: HarombeConfig['cluster']['circuit_breaker'];
  clock?: Clock;
  logger?: Logger;
}

export interface NodeTimeouts {
  connectTimeoutMs: number;
  stallTimeoutMs: number;
}

/** A worker found on the network (mDNS), as the discovery announces it. */
export interface DiscoveredNode {
  name: string;
  host: string;
  port: number;
  model: string;
  tier: 0 | 1 | 2;
  nodeId?: string;
  version?: string;
}

type Health = Exclude<NodeState, 'untrusted'>;

interface Entry {
  name: string;
  host: string;
  port: number;
  kind: NodeKind;
  tier: 0 | 1 | 2;
  model: string;
  source: NodeSource;
  token: string | undefined;
  maxParallel: number;
  timeouts: NodeTimeouts;
  /** Config nodes are trusted; discovered ones only after the user says so. */
  trusted: boolean;
  health: Health;
  stateReason: string | undefined;
  latencyMs: number | undefined;
  inFlight: number;
  reportedLoad: number | undefined;
  models: string[];
  loadedModels: string[];
  lastSeen: number | undefined;
  api: 'ollama' | 'complete' | undefined;
  version: string | undefined;
  nodeId: string | undefined;
  hardware: NodeHardware | undefined;
  breaker: NodeBreaker;
  breakerSubscription: Disposable;
  agent: Agent | undefined;
}

/** Weight of the newest probe in the latency average: smooth enough to ignore one slow probe, quick to follow a real change. */
const LATENCY_ALPHA = 0.3;
const DEFAULT_TIMEOUTS: NodeTimeouts = { connectTimeoutMs: 5_000, stallTimeoutMs: 120_000 };
/** Idle keep-alive sockets are kept a little longer than a health interval so probes and prompts reuse them. */
const KEEP_ALIVE_MS = 30_000;

/**
 * Every node the coordinator knows (from the config, later also from mDNS) with its mutable state:
 * health from the prober, requests in flight, circuit breaker, and one keep-alive connection pool.
 * Reads return snapshots (`NodeInfo`); `onDidChange` tells the UIs what changed, coalesced per tick.
 */
export class NodeRegistry implements Disposable {
  private readonly _onDidChange = new Emitter<NodeInfo[]>();
  /**
   * Fires with snapshots of the nodes that changed, at most once per tick. Also fires (maybe with an
   * empty list) when nodes were removed, so "something changed" listeners can simply re-read `list()`.
   */
  readonly onDidChange = this._onDidChange.event;
  private readonly _onDidRemove = new Emitter<string[]>();
  /** Fires with the names of nodes that left the registry, in the same tick as `onDidChange`. */
  readonly onDidRemove = this._onDidRemove.event;

  private readonly entries = new Map<string, Entry>();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private breakerOptions: BreakerOptions;
  private timeouts: NodeTimeouts = DEFAULT_TIMEOUTS;
  private readonly changed = new Set<string>();
  private readonly removed = new Set<string>();
  private flushHandle: NodeJS.Immediate | undefined;
  private disposed = false;

  constructor(opts: NodeRegistryOptions) {
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? silentLogger;
    this.breakerOptions = breakerOptionsFromConfig(opts.breaker);
  }

  /**
   * New circuit-breaker settings from a reloaded config. Breakers are immutable (cockatiel), so each
   * node whose breaker is closed gets a fresh one now; an open or half-open breaker keeps counting
   * down under the old settings and is replaced once it has closed.
   */
  setBreakerOptions(config: NodeRegistryOptions['breaker']): void {
    const next = breakerOptionsFromConfig(config);
    if (JSON.stringify(next) === JSON.stringify(this.breakerOptions)) return;
    this.breakerOptions = next;
    for (const e of this.entries.values()) if (e.breaker.state === 'closed') this.replaceBreaker(e);
  }

  private replaceBreaker(e: Entry): void {
    e.breakerSubscription.dispose();
    e.breaker.dispose();
    e.breaker = new NodeBreaker(e.name, this.breakerOptions, this.logger);
    e.breakerSubscription = this.watchBreaker(e);
    this.markChanged(e.name);
  }

  private watchBreaker(e: Entry): Disposable {
    return e.breaker.onDidChangeState((state) => {
      // A breaker that closed under old settings picks up the current ones.
      if (state === 'closed' && e.breaker.options !== this.breakerOptions) this.replaceBreaker(e);
      this.markChanged(e.name);
    });
  }

  /**
   * Reconciles the configured nodes: adds new ones, updates changed ones, removes the ones gone
   * (or disabled). A node whose host, port, kind and token are unchanged keeps its state, latency,
   * breaker and connections; one whose address or token changed starts over.
   */
  setConfigNodes(nodes: readonly NodeConfig[], timeouts: NodeTimeouts): void {
    const wanted = new Map<string, NodeConfig>();
    for (const n of nodes) {
      if (!n.enabled) continue;
      if (wanted.has(n.name)) {
        this.logger.warn(`node name ${n.name} is configured twice; using the first`);
        continue;
      }
      wanted.set(n.name, n);
    }
    for (const e of [...this.entries.values()]) {
      if (e.source === 'config' && !wanted.has(e.name)) this.remove(e.name, 'removed from config');
    }
    const timeoutsChanged = !sameTimeouts(this.timeouts, timeouts);
    this.timeouts = { ...timeouts };
    for (const n of wanted.values()) {
      const token = n.auth || n.auth_token || undefined;
      const kind = n.kind;
      const existing = this.entries.get(n.name);
      if (existing && existing.source === 'config' && existing.host === n.host && existing.port === n.port && existing.kind === kind && existing.token === token) {
        const updated = existing.model !== n.model || existing.tier !== n.tier || existing.maxParallel !== n.max_parallel;
        existing.model = n.model;
        existing.tier = n.tier as 0 | 1 | 2;
        existing.maxParallel = n.max_parallel;
        if (updated) this.markChanged(n.name);
        continue;
      }
      if (existing) this.remove(existing.name, existing.source === 'config' ? 'address, kind or token changed' : 'a configured node has this name');
      this.add({ name: n.name, host: n.host, port: n.port, kind, tier: n.tier as 0 | 1 | 2, model: n.model, source: 'config', token, maxParallel: n.max_parallel, trusted: true });
    }
    if (timeoutsChanged) {
      for (const e of this.entries.values()) {
        e.timeouts = { ...timeouts };
        // The pool's connect timeout is fixed at creation; the next dispatcher() call builds one with the new value.
        this.closeAgent(e);
      }
    }
  }

  /**
   * Adds or updates a node found on the network; it stays `untrusted` (probed, never sent prompts)
   * until `trust`. Ignored (undefined) when a configured node has the same name or address.
   */
  upsertDiscovered(info: DiscoveredNode): NodeInfo | undefined {
    const existing = this.entries.get(info.name);
    if (existing?.source === 'config') return undefined;
    for (const e of this.entries.values()) {
      if (e.source === 'config' && e.host === info.host && e.port === info.port) return undefined;
    }
    if (existing) {
      const sameMachine = existing.nodeId === undefined || info.nodeId === undefined || existing.nodeId === info.nodeId;
      if (existing.host === info.host && existing.port === info.port && sameMachine) {
        existing.model = info.model;
        existing.tier = info.tier;
        existing.version = info.version ?? existing.version;
        existing.nodeId = info.nodeId ?? existing.nodeId;
        this.markChanged(info.name);
        return this.snapshot(existing);
      }
      this.remove(info.name, 'announced a new address or identity');
      // Trust belongs to a machine: a different node id under the same name must be trusted anew.
      const keepTrust = existing.trusted && sameMachine;
      const e = this.addDiscovered(info, keepTrust);
      return this.snapshot(e);
    }
    return this.snapshot(this.addDiscovered(info, false));
  }

  /** Lets a discovered node receive prompts. Returns false if there is no such node. */
  trust(name: string): boolean {
    const e = this.entries.get(name);
    if (!e) return false;
    if (!e.trusted) {
      e.trusted = true;
      this.logger.info(`node ${name} trusted`);
      this.markChanged(name);
    }
    return true;
  }

  /** Forgets a discovered node (its announcement expired, or the user removed it). Config nodes are left alone. */
  removeDiscovered(name: string): boolean {
    const e = this.entries.get(name);
    if (!e || e.source !== 'mdns') return false;
    this.remove(name, 'no longer announced');
    return true;
  }

  list(): NodeInfo[] {
    return [...this.entries.values()].map((e) => this.snapshot(e));
  }

  get(name: string): NodeInfo | undefined {
    const e = this.entries.get(name);
    return e && this.snapshot(e);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  endpoint(name: string): Endpoint {
    const e = this.entry(name);
    return { baseUrl: baseUrlOf(e.host, e.port), token: e.token, stallTimeoutMs: e.timeouts.stallTimeoutMs, connectTimeoutMs: e.timeouts.connectTimeoutMs };
  }

  protocol(name: string): InferenceProtocol {
    const e = this.entry(name);
    if (e.kind === 'ollama') return 'ollama';
    if (e.kind === 'openai') return 'openai';
    // Until a probe shows the worker proxies Ollama, assume Harombe 0.3.1's Python worker: /api/complete is all it has.
    return e.api === 'ollama' ? 'ollama' : 'complete';
  }

  breaker(name: string): NodeBreaker {
    return this.entry(name).breaker;
  }

  /** The node's keep-alive connection pool, created on first use and closed when the node leaves. */
  dispatcher(name: string): Dispatcher {
    const e = this.entry(name);
    e.agent ??= createNodeDispatcher(e.timeouts, { keepAliveTimeoutMs: KEEP_ALIVE_MS });
    return e.agent;
  }

  /** Counts a request as in flight on the node; call the returned function (any number of times) when it ends. */
  acquire(name: string): () => void {
    const e = this.entries.get(name);
    if (!e) return () => undefined;
    e.inFlight++;
    this.markChanged(name);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      e.inFlight--;
      if (this.entries.get(name) === e) this.markChanged(name);
    };
  }

  /** A request on the node succeeded: it is reachable now, whatever the last probe said. */
  recordSuccess(name: string, opts: { latencyMs?: number } = {}): void {
    const e = this.entries.get(name);
    if (!e) return;
    e.lastSeen = this.clock.now();
    if (e.health === 'unavailable') e.health = 'available';
    if (e.health === 'available') e.stateReason = undefined;
    // Only for round trips comparable to a probe; a whole chat answer would swamp the average.
    if (opts.latencyMs !== undefined) e.latencyMs = ewma(e.latencyMs, opts.latencyMs);
    this.markChanged(name);
  }

  /** A request on the node failed; the reason shows until the next probe or success. Health is left to the prober. */
  recordFailure(name: string, err: unknown): void {
    const e = this.entries.get(name);
    if (!e) return;
    e.stateReason = err instanceof Error ? err.message : String(err);
    this.markChanged(name);
  }

  /** Whether the router may send the node a request now: trusted, up (available or degraded), breaker letting it through. */
  isEligible(name: string): boolean {
    const e = this.entries.get(name);
    if (!e || !e.trusted || e.health === 'unavailable') return false;
    return e.breaker.canAttempt();
  }

  /**
   * Folds a health probe into the node's state. Returns false (and changes nothing) when the node
   * is gone or was probed at an address or kind it no longer has.
   */
  applyProbe(name: string, result: ProbeResult): boolean {
    const e = this.entries.get(name);
    if (!e || e.kind !== result.kind || baseUrlOf(e.host, e.port) !== result.baseUrl) return false;
    if (e.health !== result.state || (result.state !== 'available' && e.stateReason !== result.reason)) {
      this.logger.info(`node ${name}: ${result.state}${result.reason ? ` (${result.reason})` : ''}`);
    }
    e.health = result.state;
    e.stateReason = result.state === 'available' ? undefined : result.reason;
    if (result.latencyMs !== undefined) e.latencyMs = ewma(e.latencyMs, result.latencyMs);
    if (result.state === 'unavailable') {
      // What is loaded and running is a fact about now; a dead node has nothing loaded we could use.
      e.loadedModels = [];
      e.reportedLoad = undefined;
    } else {
      e.lastSeen = result.at;
      if (result.loadedModels) e.loadedModels = [...result.loadedModels];
      if (result.reportedLoad !== undefined) e.reportedLoad = result.reportedLoad;
    }
    if (result.models) e.models = [...result.models];
    if (result.api) e.api = result.api;
    if (result.version !== undefined) e.version = result.version;
    if (result.nodeId !== undefined) {
      // Trust belongs to a machine: a discovered node whose address now answers with another id is another machine.
      if (e.source === 'mdns' && e.trusted && e.nodeId !== undefined && e.nodeId !== result.nodeId) {
        this.logger.warn(`node ${name} now answers as node id ${result.nodeId}, not ${e.nodeId}; untrusted until you trust it again`);
        e.trusted = false;
      }
      e.nodeId = result.nodeId;
    }
    if (result.hardware) e.hardware = { ...result.hardware };
    if (e.source === 'mdns') {
      // A configured node's model, tier and parallelism are the user's; a discovered worker's are its own.
      if (result.maxParallel !== undefined) e.maxParallel = result.maxParallel;
      if (result.model !== undefined) e.model = result.model;
      if (result.tier !== undefined) e.tier = result.tier;
    }
    this.markChanged(name);
    return true;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.flushHandle) clearImmediate(this.flushHandle);
    for (const e of this.entries.values()) {
      e.breakerSubscription.dispose();
      e.breaker.dispose();
      void e.agent?.destroy().catch(() => undefined);
    }
    this.entries.clear();
    this._onDidChange.dispose();
    this._onDidRemove.dispose();
  }

  private entry(name: string): Entry {
    const e = this.entries.get(name);
    if (!e) throw new Error(`Unknown node ${name}`);
    return e;
  }

  private addDiscovered(info: DiscoveredNode, trusted: boolean): Entry {
    this.logger.info(`node ${info.name} discovered at ${baseUrlOf(info.host, info.port)}${trusted ? '' : ' (untrusted until you trust it)'}`);
    const e = this.add({ name: info.name, host: info.host, port: info.port, kind: 'harombe', tier: info.tier, model: info.model, source: 'mdns', token: undefined, maxParallel: 4, trusted });
    e.version = info.version;
    e.nodeId = info.nodeId;
    return e;
  }

  private add(
    init: Pick<Entry, 'name' | 'host' | 'port' | 'kind' | 'tier' | 'model' | 'source' | 'token' | 'maxParallel' | 'trusted'>,
  ): Entry {
    const breaker = new NodeBreaker(init.name, this.breakerOptions, this.logger);
    const e: Entry = {
      ...init,
      timeouts: { ...this.timeouts },
      // Optimistic until the first probe: the coordinator fails over from a dead node anyway, and
      // a pessimistic start would refuse every prompt until the first sweep finished.
      health: 'available',
      stateReason: undefined,
      latencyMs: undefined,
      inFlight: 0,
      reportedLoad: undefined,
      models: [],
      loadedModels: [],
      lastSeen: undefined,
      api: undefined,
      version: undefined,
      nodeId: undefined,
      hardware: undefined,
      breaker,
      breakerSubscription: { dispose: () => undefined },
      agent: undefined,
    };
    e.breakerSubscription = this.watchBreaker(e);
    this.entries.set(e.name, e);
    this.removed.delete(e.name);
    this.markChanged(e.name);
    return e;
  }

  private remove(name: string, why: string): void {
    const e = this.entries.get(name);
    if (!e) return;
    this.logger.info(`node ${name} removed: ${why}`);
    this.entries.delete(name);
    e.breakerSubscription.dispose();
    // Aborts requests still running through the breaker, so the coordinator moves them to another node.
    e.breaker.dispose();
    this.closeAgent(e);
    this.changed.delete(name);
    this.removed.add(name);
    this.scheduleFlush();
  }

  private closeAgent(e: Entry): void {
    const agent = e.agent;
    e.agent = undefined;
    // close() lets requests outside the breaker (a cluster test) finish; their own timeouts bound the wait.
    void agent?.close().catch(() => undefined);
  }

  private snapshot(e: Entry): NodeInfo {
    const state: NodeState = e.trusted ? e.health : 'untrusted';
    const stateReason = e.trusted
      ? e.stateReason
      : `not trusted yet (found on the network); health: ${e.health}${e.stateReason ? `, ${e.stateReason}` : ''}`;
    const retryAt = e.breaker.retryAt;
    return {
      name: e.name,
      host: e.host,
      port: e.port,
      kind: e.kind,
      tier: e.tier,
      model: e.model,
      source: e.source,
      state,
      ...(stateReason !== undefined && { stateReason }),
      ...(e.latencyMs !== undefined && { latencyMs: e.latencyMs }),
      inFlight: e.inFlight,
      ...(e.reportedLoad !== undefined && { reportedLoad: e.reportedLoad }),
      maxParallel: e.maxParallel,
      models: [...e.models],
      loadedModels: [...e.loadedModels],
      ...(e.lastSeen !== undefined && { lastSeen: e.lastSeen }),
      breaker: retryAt === undefined ? { state: e.breaker.state } : { state: e.breaker.state, retryAt },
      ...(e.api !== undefined && { api: e.api }),
      ...(e.version !== undefined && { version: e.version }),
      ...(e.nodeId !== undefined && { nodeId: e.nodeId }),
      ...(e.hardware !== undefined && { hardware: { ...e.hardware } }),
    };
  }

  private markChanged(name: string): void {
    // In-flight counts change twice per request; with nobody listening (the CLI's gateway) a
    // snapshot and a tick for each would be spent on no one.
    if (this._onDidChange.listenerCount === 0) return;
    this.changed.add(name);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.disposed || this.flushHandle) return;
    this.flushHandle = setImmediate(() => this.flush());
    // A pending notification must not keep a finished CLI command alive.
    this.flushHandle.unref();
  }

  private flush(): void {
    this.flushHandle = undefined;
    const changed = [...this.changed].flatMap((n) => {
      const e = this.entries.get(n);
      return e ? [this.snapshot(e)] : [];
    });
    const removed = [...this.removed];
    this.changed.clear();
    this.removed.clear();
    if (removed.length > 0) this._onDidRemove.fire(removed);
    if (changed.length > 0 || removed.length > 0) this._onDidChange.fire(changed);
  }
}

/** `http://host:port`, with IPv6 literals in brackets as URLs require. */
export function baseUrlOf(host: string, port: number): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

function ewma(previous: number | undefined, sample: number): number {
  return previous === undefined ? sample : LATENCY_ALPHA * sample + (1 - LATENCY_ALPHA) * previous;
}

function sameTimeouts(a: NodeTimeouts, b: NodeTimeouts): boolean {
  return a.connectTimeoutMs === b.connectTimeoutMs && a.stallTimeoutMs === b.stallTimeoutMs;
}
