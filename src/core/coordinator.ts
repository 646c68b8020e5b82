import type { ChatEvent } from './chatEvent';
import { CompletionEngine, type CompletionRouting } from './completion/completionEngine';
import { FimClient } from './completion/fimClient';
import type { HarombeConfig } from './config/schema';
import type { Conversation } from './conversation';
import { createInferenceClient } from './inference/createInferenceClient';
import { createWireClient } from './inference/createWireClient';
import { EmbeddingClient } from './inference/embeddingClient';
import { NodeError } from './inference/nodeError';
import { TextCompletionClient } from './inference/textCompletionClient';
import type { ChatMessage, InferenceClient, NodeWork, ToolDefinition, WireRequest } from './inference/types';
import { ClusterMetrics, type MetricsState } from './metrics/clusterMetrics';
import { ClusterDiscovery } from './nodes/clusterDiscovery';
import { LoadPoller } from './nodes/loadPoller';
import { HealthProber } from './nodes/healthProber';
import type { NodeInfo } from './nodes/nodeInfo';
import { NodeRegistry } from './nodes/nodeRegistry';
import { testNodes, type NodeTestResult } from './nodes/testNodes';
import type { TrustStore } from './nodes/trustStore';
import type { Classification, ClassifyInput, Intent, Tier } from './routing/classification';
import { classify } from './routing/classifier';
import { FailoverRunner, type CompleteRequest, type EventSink, type FailoverPorts } from './routing/failoverRunner';
import { NodeSelector } from './routing/nodeSelector';
import { systemClock, type Clock } from './util/clock';
import { Emitter, type Disposable } from './util/emitter';
import { sinkIterable } from './util/sinkIterable';
import { silentLogger, type Logger } from './util/logger';

export interface CoordinatorOptions {
  config: HarombeConfig;
  logger?: Logger;
  clock?: Clock;
  /** Metrics carried over from an earlier run (the CLI keeps them in ~/.harombe/metrics.json). */
  metrics?: MetricsState;
  /** Start periodic health sweeps (the extension and `serve` do; one-shot CLI commands sweep once). */
  probeOnInterval?: boolean;
  /**
   * Rank nodes by this coordinator's own count only, as before nodes reported load; for
   * `npm run bench -- team` (`HAROMBE_LOAD_SOURCE=local` in `harombe serve`).
   */
  localLoadOnly?: boolean;
  /** How a request waits when every node turns it away as busy; tests pass a sleep that needs no real time. */
  busy?: Pick<FailoverPorts, 'sleep' | 'random' | 'busyBudgetMs'>;
  /** Where trust in discovered nodes is kept; with `cluster.discovery.method: mdns`, workers on the LAN are browsed for. */
  discovery?: { trustStore: TrustStore; mdns?: { interface?: string; bind?: string } };
}

export interface ChatRequest {
  conversation: Conversation;
  prompt: string;
  tier?: Tier | 'auto';
  intent?: Intent;
  /** Attached context (a selection or a file) sent with the prompt. */
  context?: { label: string; text: string };
  tools?: ToolDefinition[];
  signal?: AbortSignal;
}

/**
 * The facade the UIs use: config in, routed and failover-safe streaming answers out. It owns the
 * node registry, the health prober and the metrics; everything it runs is cancelled by `dispose()`.
 */
export class Coordinator implements Disposable {
  readonly registry: NodeRegistry;
  readonly prober: HealthProber;
  /** Reads the load nodes report, often while this coordinator sends work. */
  readonly loadPoller: LoadPoller;
  /** Set when the config browses mDNS and the host gave a trust store; the UIs subscribe to its events. */
  readonly discovery: ClusterDiscovery | undefined;
  readonly metrics: ClusterMetrics;
  private readonly selector: NodeSelector;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private config: HarombeConfig;
  private readonly _onDidChangeConfig = new Emitter<HarombeConfig>();
  readonly onDidChangeConfig = this._onDidChangeConfig.event;
  private readonly runner: FailoverRunner;

  constructor(opts: CoordinatorOptions) {
    this.config = opts.config;
    this.logger = opts.logger ?? silentLogger;
    this.clock = opts.clock ?? systemClock;
    this.metrics = new ClusterMetrics(opts.metrics, this.clock.now());
    this.registry = new NodeRegistry({ breaker: opts.config.cluster.circuit_breaker, clock: this.clock, logger: this.logger, localLoadOnly: opts.localLoadOnly });
    this.loadPoller = new LoadPoller(this.registry, { clock: this.clock });
    this.selector = new NodeSelector(policyOf(opts.config));
    this.applyNodes(opts.config);
    this.prober = new HealthProber(this.registry, {
      intervalMs: opts.config.cluster.health.interval * 1000,
      timeoutMs: opts.config.cluster.health.timeout * 1000,
      logger: this.logger,
    });
    this.runner = new FailoverRunner({
      registry: this.registry,
      selector: this.selector,
      probe: (name) => this.prober.probe(name),
      clientFor: (node, wire, work) => this.clientFor(node.name, wire, work),
      metrics: this.metrics,
      clock: this.clock,
      logger: this.logger,
      config: () => this.config,
      ...opts.busy,
    });
    const d = opts.config.cluster.discovery;
    this.discovery =
      opts.discovery && d.method === 'mdns'
        ? new ClusterDiscovery({
            registry: this.registry,
            probe: (name) => this.prober.probe(name),
            trustStore: opts.discovery.trustStore,
            mdns: { ...opts.discovery.mdns, service: d.mdns_service ?? d.service, logger: this.logger },
            logger: this.logger,
          })
        : undefined;
    if (opts.probeOnInterval) {
      this.prober.start();
      if (!opts.localLoadOnly) this.loadPoller.start();
    }
  }

  get currentConfig(): HarombeConfig {
    return this.config;
  }

  /** Apply a reloaded config: nodes are reconciled (unchanged nodes keep their state and breaker). */
  applyConfig(config: HarombeConfig): void {
    this.config = config;
    this.selector.setPolicy(policyOf(config));
    this.applyNodes(config);
    this.prober.setTiming({ intervalMs: config.cluster.health.interval * 1000, timeoutMs: config.cluster.health.timeout * 1000 });
    this._onDidChangeConfig.fire(config);
    void this.prober.sweep();
  }

  private applyNodes(config: HarombeConfig): void {
    this.registry.setBreakerOptions(config.cluster.circuit_breaker);
    this.registry.setConfigNodes(config.cluster.nodes, {
      connectTimeoutMs: config.cluster.timeouts.connect * 1000,
      stallTimeoutMs: config.cluster.timeouts.stall * 1000,
    });
  }

  /** The gateway's request relayed as it came where the node speaks its API, else the node's own client. */
  private clientFor(name: string, wire: WireRequest | undefined, work?: NodeWork): { client: InferenceClient; relayed: boolean } {
    const endpoint = this.registry.endpoint(name);
    const dispatcher = this.registry.dispatcher(name);
    const protocol = this.registry.protocol(name);
    if (work) {
      // The runner passes over 0.3.1 workers for such work; one picked before its first probe refuses it here.
      if (protocol === 'complete') return { client: refusing(new NodeError('unsupported', `${name} offers only /api/complete`)), relayed: false };
      const client = work.kind === 'embedding' ? new EmbeddingClient(protocol, endpoint, dispatcher) : new TextCompletionClient(protocol, endpoint, dispatcher);
      return { client, relayed: false };
    }
    const wireClient = wire ? createWireClient(wire, protocol, endpoint, dispatcher) : undefined;
    return wireClient ? { client: wireClient, relayed: true } : { client: createInferenceClient(protocol, endpoint, dispatcher), relayed: false };
  }

  /** Ghost-text completions over this coordinator's nodes, routed as `routing` says. */
  createCompletionEngine(routing: () => CompletionRouting): CompletionEngine {
    const registry = this.registry;
    return new CompletionEngine({
      nodes: () => registry.list(),
      isEligible: (name) => registry.isEligible(name),
      acquire: (name) => registry.acquire(name),
      backend: new FimClient({
        endpoint: (name) => registry.endpoint(name),
        dispatcher: (name) => registry.dispatcher(name),
        protocol: (name) => registry.protocol(name),
        model: () => routing().model,
      }),
      routing,
      clock: this.clock,
      logger: this.logger,
    });
  }

  nodes(): NodeInfo[] {
    return this.registry.list();
  }

  classify(input: ClassifyInput): Classification {
    return classify(input);
  }

  /** One user turn in a conversation: routes, streams, and appends the answer to the history on success. */
  async *chat(request: ChatRequest): AsyncGenerator<ChatEvent> {
    const { conversation } = request;
    const content = request.context
      ? `${request.prompt}\n\n${request.context.label}:\n\`\`\`\n${request.context.text}\n\`\`\``
      : request.prompt;
    const userMessage: ChatMessage = { role: 'user', content };
    const messages = [...conversation.messages, userMessage];
    let answer = '';
    for await (const event of this.complete({
      messages,
      tools: request.tools,
      tier: request.tier,
      intent: request.intent,
      prompt: request.prompt,
      contextChars: conversation.historyChars + (request.context?.text.length ?? 0),
      stickyNode: conversation.lastNode,
      affinityKey: conversation.id,
      signal: request.signal,
    })) {
      if (event.type === 'delta') answer += event.text;
      else if (event.type === 'fallback' && event.discardPartial) answer = '';
      else if (event.type === 'done') {
        conversation.messages.push(userMessage, { role: 'assistant', content: answer });
        conversation.lastNode = event.node;
      }
      yield event;
    }
  }

  /**
   * One model turn over raw messages (the agent loop and the gateway use this). Routes by
   * classifier or forced tier; if the node fails before or during the answer, the request moves to
   * the next candidate (same tier first, then the fallback order) and a `fallback` event tells the
   * caller to drop what it has shown of the partial answer. Leaving the loop early cancels the
   * request on the node.
   */
  complete(request: CompleteRequest): AsyncGenerator<ChatEvent> {
    return sinkIterable<ChatEvent>(request.signal, (sink, signal) => this.completeTo({ ...request, signal }, sink));
  }

  /**
   * `complete()` pushed into `sink` instead of iterated: the gateway's hot path, with no async
   * iterator per chunk and layer. A promise returned by the sink holds the node's answer back until
   * it settles. Resolves after the last event (`done` or `error`); the sink must not throw.
   */
  completeTo(request: CompleteRequest, sink: EventSink): Promise<void> {
    return this.runner.run(request, sink);
  }

  /**
   * Sends a short real prompt to every node in parallel (the inference path, not just a model
   * list). A dead node costs at most `timeoutMs` and never delays the others.
   */
  testNodes(opts: { timeoutMs?: number; names?: string[] } = {}): Promise<NodeTestResult[]> {
    return testNodes(this.registry, opts);
  }

  dispose(): void {
    this.discovery?.dispose();
    this.runner.dispose();
    this.loadPoller.dispose();
    this.prober.dispose();
    this.registry.dispose();
    this._onDidChangeConfig.dispose();
  }
}

function refusing(err: Error): InferenceClient {
  return {
    chat: () => ({
      [Symbol.asyncIterator]() {
        return { next: () => Promise.reject(err) };
      },
    }),
  };
}

function policyOf(config: HarombeConfig) {
  const r = config.cluster.routing;
  return { strategy: r.fallback_strategy, preferLocal: r.prefer_local, loadBalance: r.load_balance };
}
