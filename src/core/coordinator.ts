import type { ChatEvent, ErrorEvent } from './chatEvent';
import type { HarombeConfig } from './config/schema';
import type { Conversation } from './conversation';
import { createInferenceClient } from './inference/createInferenceClient';
import { NodeError } from './inference/nodeError';
import { createWireClient } from './inference/createWireClient';
import type { ChatChunk, ChatMessage, ChatRequest as NodeChatRequest, ChunkSink, InferenceClient, ToolDefinition, WireRequest } from './inference/types';
import { ClusterMetrics, type MetricsState } from './metrics/clusterMetrics';
import { ClusterDiscovery } from './nodes/clusterDiscovery';
import { HealthProber } from './nodes/healthProber';
import type { NodeInfo } from './nodes/nodeInfo';
import { NodeRegistry } from './nodes/nodeRegistry';
import type { TrustStore } from './nodes/trustStore';
import type { Classification, ClassifyInput, Intent, Tier } from './routing/classification';
import { classify } from './routing/classifier';
import { NodeSelector, type Candidate } from './routing/nodeSelector';
import { Canceller, type CancelSignal } from './util/canceller';
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
  /** Where trust in discovered nodes is kept; with `cluster.discovery.method: mdns`, workers on the LAN are browsed for. */
  discovery?: { trustStore: TrustStore; mdns?: { interface?: string; bind?: string } };
}

export interface CompleteRequest {
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  /** `auto` lets the classifier decide; a number is the user's explicit choice. */
  tier?: Tier | 'auto';
  intent?: Intent;
  /** The text the classifier reads (the user's prompt); defaults to the last user message. */
  prompt?: string;
  /** Characters of attached context, for the classifier; defaults to the size of the history. */
  contextChars?: number;
  /** Keep the conversation on this node while it is healthy. */
  stickyNode?: string;
  temperature?: number;
  /**
   * Only nodes that serve this model (their configured `model` or one of their `models`), and the
   * node is asked for it by this name; failover stays among those nodes.
   */
  model?: string;
  /**
   * The gateway's client request, relayed as it came to nodes that speak the client's API (the
   * answer then arrives as `wire` events); other nodes get `messages`, as without it.
   */
  wire?: WireRequest;
  signal?: CancelSignal;
}

/** Takes a request's events as they happen; a promise returned holds the node's answer back until it settles. */
export type EventSink = (event: ChatEvent) => void | Promise<void>;

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

export interface NodeTestResult {
  node: string;
  ok: boolean;
  latencyMs: number;
  /** The first words of the answer, or why it failed. */
  detail: string;
}

/**
 * The facade the UIs use: config in, routed and failover-safe streaming answers out. It owns the
 * node registry, the health prober and the metrics; everything it runs is cancelled by `dispose()`.
 */
export class Coordinator implements Disposable {
  readonly registry: NodeRegistry;
  readonly prober: HealthProber;
  /** Set when the config browses mDNS and the host gave a trust store; the UIs subscribe to its events. */
  readonly discovery: ClusterDiscovery | undefined;
  readonly metrics: ClusterMetrics;
  private readonly selector: NodeSelector;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private config: HarombeConfig;
  private readonly _onDidChangeConfig = new Emitter<HarombeConfig>();
  readonly onDidChangeConfig = this._onDidChangeConfig.event;
  private readonly inFlight = new Set<Canceller>();

  constructor(opts: CoordinatorOptions) {
    this.config = opts.config;
    this.logger = opts.logger ?? silentLogger;
    this.clock = opts.clock ?? systemClock;
    this.metrics = new ClusterMetrics(opts.metrics, this.clock.now());
    this.registry = new NodeRegistry({ breaker: opts.config.cluster.circuit_breaker, clock: this.clock, logger: this.logger });
    this.selector = new NodeSelector(policyOf(opts.config));
    this.applyNodes(opts.config);
    this.prober = new HealthProber(this.registry, {
      intervalMs: opts.config.cluster.health.interval * 1000,
      timeoutMs: opts.config.cluster.health.timeout * 1000,
      logger: this.logger,
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
    if (opts.probeOnInterval) this.prober.start();
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
  async completeTo(request: CompleteRequest, sink: EventSink): Promise<void> {
    const started = this.clock.now();
    const forced = typeof request.tier === 'number';
    const classification: Classification = forced
      ? { tier: request.tier as Tier, reasons: [`tier ${request.tier} chosen by user`] }
      : classify({
          prompt: request.prompt ?? lastUserText(request.messages),
          intent: request.intent,
          contextChars: request.contextChars ?? historyChars(request.messages),
        });
    const tried = new Set<string>();
    const attempts: { node: string; reason: string }[] = [];
    const wanted = request.model;
    const serves = (n: NodeInfo) => wanted === undefined || n.model === wanted || n.models.includes(wanted);
    if (wanted !== undefined && !forced) {
      // The classifier's tier may have no node with this model; start from a tier that has one.
      const withModel = this.registry.list().filter(serves);
      if (withModel.length > 0 && !withModel.some((n) => n.tier === classification.tier)) classification.tier = (withModel[0] as NodeInfo).tier;
    }
    const pick = () =>
      this.selector.select(this.registry.list(), {
        tier: classification.tier,
        eligible: (n) => serves(n) && this.registry.isEligible(n.name),
        exclude: tried,
        sticky: request.stickyNode,
      });

    let candidate = pick();
    if (!candidate) {
      this.metrics.recordRequestFailed();
      await sink(this.noNodeError(classification.tier));
      return;
    }
    // Counted as in flight from the moment it is chosen, not from when its request starts: a
    // burst of requests routed in the same tick must see each other, or they all pick one node.
    let release = this.registry.acquire(candidate.node.name);
    try {
      this.metrics.recordRouted(classification.tier);
      await sink({
        type: 'route',
        requestedTier: classification.tier,
        tier: candidate.tier,
        node: candidate.node.name,
        model: request.model ?? candidate.node.model,
        forced,
        reasons: classification.reasons,
        nodeReason: candidate.why,
      });

      let fallbacks = 0;
      // Once part of an answer has been shown, the caller splices the next node's answer onto it,
      // which needs text, not another node's records.
      let shownPartial = false;
      for (;;) {
        const node = candidate.node;
        tried.add(node.name);
        const attemptStart = this.clock.now();
        let firstTokenAt: number | undefined;
        let streamed = false;
        let final: (ChatChunk & { type: 'done' }) | undefined;
        const nodeTier = candidate.tier;
        const endpoint = this.registry.endpoint(node.name);
        const dispatcher = this.registry.dispatcher(node.name);
        const protocol = this.registry.protocol(node.name);
        const wireClient = !shownPartial && request.wire ? createWireClient(request.wire, protocol, endpoint, dispatcher) : undefined;
        const client = wireClient ?? createInferenceClient(protocol, endpoint, dispatcher);
        try {
          await this.attempt(candidate, request, client, wireClient && request.wire, (chunk) => {
            switch (chunk.type) {
              case 'wire':
                if (chunk.text.length > 0 || chunk.calls) {
                  firstTokenAt ??= this.clock.now();
                  streamed = true;
                }
                return sink(chunk);
              case 'delta':
                if (chunk.text.length === 0) return;
                firstTokenAt ??= this.clock.now();
                streamed = true;
                return sink({ type: 'delta', text: chunk.text });
              case 'tool_calls':
                firstTokenAt ??= this.clock.now();
                streamed = true;
                return sink({ type: 'tool_calls', calls: chunk.calls });
              case 'done': {
                // Told as soon as the final record is in, not after the breaker's bookkeeping
                // unwinds: the answer is whole, and the client's last byte goes out sooner. The
                // node is no longer busy with it either: a next turn sent at once must see that.
                final = chunk;
                release();
                const end = this.clock.now();
                const ttftMs = (firstTokenAt ?? end) - attemptStart;
                const totalMs = end - attemptStart;
                this.metrics.recordNodeSuccess(node.name, { ttftMs, totalMs, completionTokens: chunk.completionTokens, generationMs: chunk.evalMs, at: end });
                const genMs = chunk.evalMs ?? Math.max(1, totalMs - ttftMs);
                return sink({
                  type: 'done',
                  node: node.name,
                  tier: nodeTier,
                  model: request.model ?? node.model,
                  doneReason: chunk.doneReason,
                  timing: { ttftMs: (firstTokenAt ?? end) - started, totalMs: end - started, fallbacks },
                  tokens: {
                    prompt: chunk.promptTokens,
                    completion: chunk.completionTokens,
                    perSecond: chunk.completionTokens ? (chunk.completionTokens * 1000) / genMs : undefined,
                  },
                  ...(chunk.wire && { wire: chunk.wire }),
                });
              }
            }
          });
          if (!final) throw new NodeError('incomplete', 'the answer ended without its final record');
          return;
        } catch (err) {
          // The client already has the whole answer; a failure after it (the node's connection
          // while draining, a breaker trial's timer) is the breaker's business only.
          if (final) return;
          if (request.signal?.aborted) {
            await sink({ type: 'error', code: 'cancelled', message: 'Cancelled.', attempts });
            return;
          }
          const reason = describeFailure(err);
          attempts.push({ node: node.name, reason });
          if (err instanceof NodeError && !err.worthRetrying) {
            // The request is at fault, not the node: every other node would refuse it the same way.
            this.metrics.recordRequestFailed();
            await sink({ type: 'error', code: 'invalid_request', message: `The request cannot be sent: ${reason}.`, attempts });
            return;
          }
          this.metrics.recordNodeError(node.name, this.clock.now());
          this.logger.info(`node ${node.name} failed: ${reason}`);
          if (err instanceof NodeError && err.countsAgainstNode) {
            // Let the registry's view catch up now instead of at the next sweep.
            void this.prober.probe(node.name).catch(() => undefined);
          }
          const next = pick();
          if (!next) {
            this.metrics.recordRequestFailed();
            await sink(allFailed(classification.tier, attempts));
            return;
          }
          fallbacks++;
          shownPartial ||= streamed;
          this.metrics.recordFallback();
          release();
          release = this.registry.acquire(next.node.name);
          await sink({ type: 'fallback', from: node.name, to: next.node.name, tier: next.tier, reason, discardPartial: streamed });
          candidate = next;
        }
      }
    } finally {
      release();
    }
  }

  /** One attempt on one node with `client`, through the node's breaker, its chunks pushed to `onChunk`; cancelled with the request or by `dispose()`. */
  private async attempt(candidate: Candidate, request: CompleteRequest, client: InferenceClient, wire: WireRequest | undefined, onChunk: ChunkSink): Promise<void> {
    const name = candidate.node.name;
    // Shared with the breaker, which aborts it when a trial runs too long or the node is removed.
    const controller = new Canceller();
    const signal = request.signal;
    const onAbort = () => controller.abort(signal?.reason);
    if (signal?.aborted) controller.abort(signal.reason);
    else signal?.addEventListener('abort', onAbort, { once: true });
    this.inFlight.add(controller);
    const chatRequest: NodeChatRequest = {
      model: request.model ?? candidate.node.model,
      messages: request.messages,
      tools: request.tools,
      temperature: request.temperature ?? this.config.model.temperature,
      signal: controller,
      wire,
    };
    try {
      await this.registry.breaker(name).execute(async () => {
        if (client.stream) return client.stream(chatRequest, onChunk);
        for await (const chunk of client.chat(chatRequest)) {
          await onChunk(chunk);
          if (chunk.type === 'done') return;
        }
      }, controller);
      this.registry.recordSuccess(name);
    } catch (err) {
      if (err instanceof NodeError && err.countsAgainstNode) this.registry.recordFailure(name, err);
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.inFlight.delete(controller);
    }
  }

  /**
   * Sends a short real prompt to every node in parallel (the inference path, not just a model
   * list). A dead node costs at most `timeoutMs` and never delays the others.
   */
  async testNodes(opts: { timeoutMs?: number; names?: string[] } = {}): Promise<NodeTestResult[]> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const nodes = this.registry.list().filter((n) => !opts.names || opts.names.includes(n.name));
    return Promise.all(
      nodes.map(async (node): Promise<NodeTestResult> => {
        if (node.state === 'untrusted') {
          return { node: node.name, ok: false, latencyMs: 0, detail: 'untrusted: trust it before sending it prompts (harombe node trust NAME)' };
        }
        const start = performance.now();
        const client = createInferenceClient(
          this.registry.protocol(node.name),
          { ...this.registry.endpoint(node.name), stallTimeoutMs: Math.min(timeoutMs, this.registry.endpoint(node.name).stallTimeoutMs) },
          this.registry.dispatcher(node.name),
        );
        const signal = AbortSignal.timeout(timeoutMs);
        let text = '';
        try {
          for await (const chunk of client.chat({
            model: node.model,
            messages: [{ role: 'user', content: 'Reply with the single word: ok' }],
            temperature: 0,
            signal,
          })) {
            if (chunk.type === 'delta') text += chunk.text;
            if (chunk.type === 'done') {
              const latencyMs = performance.now() - start;
              this.registry.recordSuccess(node.name);
              return { node: node.name, ok: true, latencyMs, detail: text.trim().slice(0, 60) || `(empty answer, ${chunk.doneReason})` };
            }
          }
          throw new NodeError('incomplete', 'the answer ended without its final record');
        } catch (err) {
          const latencyMs = performance.now() - start;
          const detail = signal.aborted ? `no answer within ${Math.round(timeoutMs / 1000)} s` : describeFailure(err);
          return { node: node.name, ok: false, latencyMs, detail };
        }
      }),
    );
  }

  private noNodeError(tier: Tier): ErrorEvent {
    const strict = this.config.cluster.routing.fallback_strategy === 'strict';
    const all = this.registry.list();
    const inTier = all.filter((n) => n.tier === tier);
    const describeNode = (n: NodeInfo) => `${n.name} (${nodeUnavailableReason(n)})`;
    let message: string;
    if (all.length === 0) {
      message = 'No nodes are configured. Add nodes under cluster.nodes in harombe.yaml (see `harombe config check`).';
    } else if (strict) {
      message =
        inTier.length === 0
          ? `No node has tier ${tier}, and fallback_strategy is strict. Add a tier ${tier} node or set cluster.routing.fallback_strategy: graceful.`
          : `No tier ${tier} node is available and fallback_strategy is strict: ${inTier.map(describeNode).join(', ')}.`;
    } else {
      message = `No node is available in any tier: ${all.map(describeNode).join(', ')}.`;
    }
    return { type: 'error', code: 'no_node', message, attempts: [] };
  }

  dispose(): void {
    this.discovery?.dispose();
    for (const c of this.inFlight) c.abort();
    this.prober.dispose();
    this.registry.dispose();
    this._onDidChangeConfig.dispose();
  }
}

function policyOf(config: HarombeConfig) {
  const r = config.cluster.routing;
  return { strategy: r.fallback_strategy, preferLocal: r.prefer_local, loadBalance: r.load_balance };
}

function lastUserText(messages: readonly ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as ChatMessage;
    if (m.role === 'user') return m.content;
  }
  return '';
}

function historyChars(messages: readonly ChatMessage[]): number {
  let n = 0;
  let lastUser = -1;
  messages.forEach((m, i) => {
    if (m.role === 'user') lastUser = i;
  });
  messages.forEach((m, i) => {
    if (i !== lastUser && m.role !== 'system') n += m.content.length;
  });
  return n;
}

export function describeFailure(err: unknown): string {
  if (err instanceof NodeError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

function nodeUnavailableReason(n: NodeInfo): string {
  if (n.breaker.state === 'open') {
    const secs = n.breaker.retryAt ? Math.max(0, Math.ceil((n.breaker.retryAt - Date.now()) / 1000)) : undefined;
    return secs === undefined ? 'circuit open' : `circuit open, retry in ${secs} s`;
  }
  if (n.state === 'available' || n.state === 'degraded') return n.inFlight >= n.maxParallel ? 'busy' : n.state;
  return n.stateReason ? `${n.state}: ${n.stateReason}` : n.state;
}

function allFailed(tier: Tier, attempts: { node: string; reason: string }[]): ErrorEvent {
  const list = attempts.map((a) => `${a.node}: ${a.reason}`).join('; ');
  return { type: 'error', code: 'all_failed', message: `Every node that could take this tier ${tier} request failed (${list}).`, attempts };
}
