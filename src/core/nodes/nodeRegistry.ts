import type { Dispatcher } from 'undici';
import type { HarombeConfig, NodeConfig, NodeKind } from '../config/schema';
import type { Endpoint, InferenceProtocol } from '../inference/types';
import { systemClock, type Clock } from '../util/clock';
import { Emitter, type Disposable } from '../util/emitter';
import { silentLogger, type Logger } from '../util/logger';
import { resolveCapabilities } from './capabilities';
import { ChangeBatcher } from './changeBatcher';
import { resolveContextWindow } from './contextWindow';
import { ewma, foldLoad, foldProbe, initialHealthState, type NodeHealthState } from './foldProbe';
import { breakerOptionsFromConfig, type BreakerOptions, type NodeBreaker } from './nodeBreaker';
import type { Capability, NodeInfo, NodeLoad, NodeSource, NodeState } from './nodeInfo';
import { NodeResources } from './nodeResources';
import type { ProbeResult, ReportedLoad } from './probeResult';

export interface NodeRegistryOptions {
  /** The `cluster.circuit_breaker` section; every node gets its own breaker with these settings. */
  breaker: HarombeConfig['cluster']['circuit_breaker'];
  clock?: Clock;
  logger?: Logger;
  /**
   * Rank by this coordinator's own count only, ignoring what nodes report (the behaviour before
   * nodes reported load); kept for `npm run bench -- team`, set by `HAROMBE_LOAD_SOURCE=local`.
   */
  localLoadOnly?: boolean;
}

/** A report older than this says nothing about now: the node is ranked by the local count until a fresh one. */
export const LOAD_STALE_MS = 10_000;

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

/** A node's identity (who and where it is, as configured or announced), its state and what it owns. */
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
  /** What the user said about the node's model where servers cannot say. */
  configured: { contextLength?: number; capabilities?: Capability[] };
  timeouts: NodeTimeouts;
  /** Config nodes are trusted; discovered ones only after the user says so. */
  trusted: boolean;
  /** Requests this coordinator has in flight on the node. */
  inFlight: number;
  /** When each of those was dispatched, oldest first: the ones after the node's last report are not in it yet. */
  dispatchedAt: number[];
  state: NodeHealthState;
  resources: NodeResources;
}

const DEFAULT_TIMEOUTS: NodeTimeouts = { connectTimeoutMs: 5_000, stallTimeoutMs: 120_000 };

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
  private readonly batcher = new ChangeBatcher((changed, removed) => this.flush(changed, removed));
  private disposed = false;
  private readonly localLoadOnly: boolean;
  private lastDispatch: number | undefined;

  constructor(opts: NodeRegistryOptions) {
    this.localLoadOnly = opts.localLoadOnly ?? false;
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
    for (const e of this.entries.values()) if (e.resources.breaker.state === 'closed') this.replaceBreaker(e);
  }

  private replaceBreaker(e: Entry): void {
    e.resources.replaceBreaker(this.breakerOptions);
    this.markChanged(e.name);
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
        const configured = configuredFacts(n);
        const modelChanged = existing.model !== n.model;
        const updated = modelChanged || existing.tier !== n.tier || existing.maxParallel !== n.max_parallel || JSON.stringify(existing.configured) !== JSON.stringify(configured);
        existing.model = n.model;
        existing.tier = n.tier as 0 | 1 | 2;
        existing.maxParallel = n.max_parallel;
        existing.configured = configured;
        if (modelChanged) forgetModelFacts(existing.state);
        if (updated) this.markChanged(n.name);
        continue;
      }
      if (existing) this.remove(existing.name, existing.source === 'config' ? 'address, kind or token changed' : 'a configured node has this name');
      this.add({ name: n.name, host: n.host, port: n.port, kind, tier: n.tier as 0 | 1 | 2, model: n.model, source: 'config', token, maxParallel: n.max_parallel, configured: configuredFacts(n), trusted: true });
    }
    if (timeoutsChanged) {
      for (const e of this.entries.values()) {
        e.timeouts = { ...timeouts };
        // The pool's connect timeout is fixed at creation; the next dispatcher() call builds one with the new value.
        e.resources.closeDispatcher();
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
      const sameMachine = existing.state.nodeId === undefined || info.nodeId === undefined || existing.state.nodeId === info.nodeId;
      if (existing.host === info.host && existing.port === info.port && sameMachine) {
        existing.model = info.model;
        existing.tier = info.tier;
        existing.state.version = info.version ?? existing.state.version;
        existing.state.nodeId = info.nodeId ?? existing.state.nodeId;
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
    return e.state.api === 'ollama' ? 'ollama' : 'complete';
  }

  breaker(name: string): NodeBreaker {
    return this.entry(name).resources.breaker;
  }

  /** The node's keep-alive connection pool, created on first use and closed when the node leaves. */
  dispatcher(name: string): Dispatcher {
    const e = this.entry(name);
    return e.resources.dispatcher(e.timeouts);
  }

  /** Counts a request as in flight on the node; call the returned function (any number of times) when it ends. */
  acquire(name: string): () => void {
    const e = this.entries.get(name);
    if (!e) return () => undefined;
    e.inFlight++;
    const at = this.clock.now();
    this.lastDispatch = at;
    e.dispatchedAt.push(at);
    this.markChanged(name);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      e.inFlight--;
      const i = e.dispatchedAt.indexOf(at);
      if (i >= 0) e.dispatchedAt.splice(i, 1);
      if (this.entries.get(name) === e) this.markChanged(name);
    };
  }

  /** When this coordinator last sent any node a request (ms since epoch), so the load poll can slow down while it is idle. */
  get lastDispatchAt(): number | undefined {
    return this.lastDispatch;
  }

  /** A reading of the node's own load taken at `at` (the fast load poll); false when the node is gone. */
  applyLoad(name: string, load: ReportedLoad, at: number): boolean {
    const e = this.entries.get(name);
    if (!e) return false;
    const next = foldLoad(e.state.load, load, at);
    if (next === e.state.load) return true;
    e.state.load = next;
    this.markChanged(name);
    return true;
  }

  /** A request on the node succeeded: it is reachable now, whatever the last probe said. */
  recordSuccess(name: string, opts: { latencyMs?: number } = {}): void {
    const e = this.entries.get(name);
    if (!e) return;
    const s = e.state;
    s.lastSeen = this.clock.now();
    if (s.health === 'unavailable') s.health = 'available';
    if (s.health === 'available') s.stateReason = undefined;
    // Only for round trips comparable to a probe; a whole chat answer would swamp the average.
    if (opts.latencyMs !== undefined) s.latencyMs = ewma(s.latencyMs, opts.latencyMs);
    this.markChanged(name);
  }

  /** A request on the node failed; the reason shows until the next probe or success. Health is left to the prober. */
  recordFailure(name: string, err: unknown): void {
    const e = this.entries.get(name);
    if (!e) return;
    e.state.stateReason = err instanceof Error ? err.message : String(err);
    this.markChanged(name);
  }

  /**
   * The node refused a request because its model cannot do `capability` (a 400 that says so): it
   * is not sent such requests again until a probe reports a new capability list.
   */
  learnRefusal(name: string, capability: Capability): void {
    const e = this.entries.get(name);
    if (!e || e.state.refused.includes(capability)) return;
    e.state.refused = [...e.state.refused, capability];
    this.logger.info(`node ${name}: ${e.model} does not support ${capability}; such requests go to other nodes`);
    this.markChanged(name);
  }

  /** The node refused a prompt as longer than its window and said how large the window is. */
  learnWindow(name: string, tokens: number): void {
    const e = this.entries.get(name);
    if (!e || e.state.contextLearned === tokens) return;
    e.state.contextLearned = tokens;
    this.logger.info(`node ${name}: the server says its context window is ${tokens} tokens`);
    this.markChanged(name);
  }

  /** Whether the router may send the node a request now: trusted, up (available or degraded), breaker letting it through. */
  isEligible(name: string): boolean {
    const e = this.entries.get(name);
    if (!e || !e.trusted || e.state.health === 'unavailable') return false;
    return e.resources.breaker.canAttempt();
  }

  /**
   * Folds a health probe into the node's state. Returns false (and changes nothing) when the node
   * is gone or was probed at an address or kind it no longer has.
   */
  applyProbe(name: string, result: ProbeResult): boolean {
    const e = this.entries.get(name);
    if (!e || e.kind !== result.kind || baseUrlOf(e.host, e.port) !== result.baseUrl) return false;
    // Capabilities and windows are about a model: a probe of the model the node no longer runs says nothing of the new one.
    if (result.probedModel !== undefined && result.probedModel !== e.model) result = { ...result, capabilities: undefined, contextMax: undefined, contextLoaded: undefined };
    const folded = foldProbe(name, e.state, e, result);
    for (const note of folded.notes) this.logger[note.level](note.message);
    e.state = folded.state;
    e.trusted = folded.identity.trusted;
    e.model = folded.identity.model;
    e.tier = folded.identity.tier;
    e.maxParallel = folded.identity.maxParallel;
    this.markChanged(name);
    return true;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.batcher.dispose();
    for (const e of this.entries.values()) e.resources.destroy();
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
    const e = this.add({ name: info.name, host: info.host, port: info.port, kind: 'harombe', tier: info.tier, model: info.model, source: 'mdns', token: undefined, maxParallel: 4, configured: {}, trusted });
    e.state.version = info.version;
    e.state.nodeId = info.nodeId;
    return e;
  }

  private add(init: Omit<Entry, 'timeouts' | 'inFlight' | 'dispatchedAt' | 'state' | 'resources'>): Entry {
    const resources = new NodeResources(init.name, this.breakerOptions, this.logger, (state, owner) => {
      const e = this.entries.get(init.name);
      if (!e || e.resources !== owner) return;
      // A breaker that closed under old settings picks up the current ones.
      if (state === 'closed' && owner.breaker.options !== this.breakerOptions) this.replaceBreaker(e);
      this.markChanged(init.name);
    });
    const e: Entry = { ...init, timeouts: { ...this.timeouts }, inFlight: 0, dispatchedAt: [], state: initialHealthState(), resources };
    this.entries.set(e.name, e);
    this.batcher.readded(e.name);
    this.markChanged(e.name);
    return e;
  }

  private remove(name: string, why: string): void {
    const e = this.entries.get(name);
    if (!e) return;
    this.logger.info(`node ${name} removed: ${why}`);
    this.entries.delete(name);
    // Aborts requests still running through the breaker, so the coordinator moves them to another node.
    e.resources.dispose();
    this.batcher.removedNode(name);
  }

  private snapshot(e: Entry): NodeInfo {
    const s = e.state;
    const state: NodeState = e.trusted ? s.health : 'untrusted';
    const stateReason = e.trusted ? s.stateReason : `not trusted yet (found on the network); health: ${s.health}${s.stateReason ? `, ${s.stateReason}` : ''}`;
    const breaker = e.resources.breaker;
    const retryAt = breaker.retryAt;
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
      ...(s.latencyMs !== undefined && { latencyMs: s.latencyMs }),
      inFlight: e.inFlight,
      ...(s.reportedLoad !== undefined && { reportedLoad: s.reportedLoad }),
      maxParallel: e.maxParallel,
      load: this.loadOf(e),
      models: [...s.models],
      loadedModels: [...s.loadedModels],
      ...(s.lastSeen !== undefined && { lastSeen: s.lastSeen }),
      breaker: retryAt === undefined ? { state: breaker.state } : { state: breaker.state, retryAt },
      ...(s.api !== undefined && { api: s.api }),
      ...(s.version !== undefined && { version: s.version }),
      ...(s.nodeId !== undefined && { nodeId: s.nodeId }),
      ...(s.hardware !== undefined && { hardware: { ...s.hardware } }),
      capabilities: resolveCapabilities({ reported: s.capabilities, configured: e.configured.capabilities, refused: s.refused }),
      contextWindow: resolveContextWindow(e.kind, {
        configured: e.configured.contextLength,
        max: s.contextMax,
        loaded: s.contextLoaded,
        learned: s.contextLearned,
        version: s.version,
      }),
      ...(s.keyFingerprint !== undefined && { keyFingerprint: s.keyFingerprint }),
      ...(s.tokenRefused && { tokenRefused: true }),
    };
  }

  /**
   * The node's last report plus this coordinator's dispatches since (they fill free slots first,
   * then the queue), so coordinators polling the same idle node do not all pile onto it between
   * two reports (vllm-project/router#177, fixed the same way in #178); the local count when the
   * node reports nothing fresh.
   */
  private loadOf(e: Entry): NodeLoad {
    const now = this.clock.now();
    const r = e.state.load;
    if (!this.localLoadOnly && r && now - r.at <= LOAD_STALE_MS) {
      const maxParallel = r.maxParallel ?? e.maxParallel;
      const since = e.dispatchedAt.filter((t) => t >= r.at).length;
      const free = Math.max(0, maxParallel - r.running);
      const toRun = Math.min(free, since);
      return { running: r.running + toRun, queued: r.queued + since - toRun, maxParallel, at: r.at, source: 'reported' };
    }
    return { running: Math.min(e.inFlight, e.maxParallel), queued: Math.max(0, e.inFlight - e.maxParallel), maxParallel: e.maxParallel, at: now, source: 'local' };
  }

  private markChanged(name: string): void {
    // In-flight counts change twice per request; with nobody listening (the CLI's gateway) a
    // snapshot and a tick for each would be spent on no one.
    if (this._onDidChange.listenerCount === 0) return;
    this.batcher.changedNode(name);
  }

  private flush(changedNames: string[], removed: string[]): void {
    const changed = changedNames.flatMap((n) => {
      const e = this.entries.get(n);
      return e ? [this.snapshot(e)] : [];
    });
    if (removed.length > 0) this._onDidRemove.fire(removed);
    if (changed.length > 0 || removed.length > 0) this._onDidChange.fire(changed);
  }
}

/** `http://host:port`, with IPv6 literals in brackets as URLs require. */
export function baseUrlOf(host: string, port: number): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

function configuredFacts(n: NodeConfig): Entry['configured'] {
  return { ...(n.context_length !== undefined && { contextLength: n.context_length }), ...(n.capabilities !== undefined && { capabilities: [...n.capabilities] }) };
}

/** What was known about the node's previous model. */
function forgetModelFacts(s: NodeHealthState): void {
  s.capabilities = undefined;
  s.refused = [];
  s.contextMax = undefined;
  s.contextLoaded = undefined;
  s.contextLearned = undefined;
}

function sameTimeouts(a: NodeTimeouts, b: NodeTimeouts): boolean {
  return a.connectTimeoutMs === b.connectTimeoutMs && a.stallTimeoutMs === b.stallTimeoutMs;
}
