import type { ChatEvent, DoneEvent, ErrorEvent } from '../chatEvent';
import type { HarombeConfig } from '../config/schema';
import type { ChatChunk, ChatMessage, ChatRequest as NodeChatRequest, ChunkSink, InferenceClient, NodeWork, ToolDefinition, WireRequest } from '../inference/types';
import { NodeError } from '../inference/nodeError';
import type { ClusterMetrics } from '../metrics/clusterMetrics';
import type { NodeInfo } from '../nodes/nodeInfo';
import type { NodeRegistry } from '../nodes/nodeRegistry';
import { Canceller, type CancelSignal } from '../util/canceller';
import type { Clock } from '../util/clock';
import type { Logger } from '../util/logger';
import type { Classification, Intent, Tier } from './classification';
import { BusyBackoff } from './busyBackoff';
import { classify } from './classifier';
import { saturated, type Candidate, type NodeSelector } from './nodeSelector';
import { fitRequirement } from './fitRequirement';
import { capabilitiesNeeded, capabilityRequirement, NATIVE_API } from './requestNeeds';
import { allFailed, describeFailure, noNodeError, tooLargeError } from './routeErrors';
import { answerReserve, estimatePromptTokens, formatTokens } from './tokenEstimate';
import { trimHistory, type Omitted } from './trimHistory';
import { thinkFor } from './thinkSetting';

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
  /**
   * The conversation's key: its preferred node is the same in every coordinator (rendezvous
   * hashing over the tier's eligible nodes), unless that node is clearly busier than another.
   */
  affinityKey?: string;
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
  /**
   * Work other than a chat turn (a raw text completion, embeddings): routed, retried and counted
   * like a chat, on nodes whose model can do it; `messages` is then empty.
   */
  work?: NodeWork;
  signal?: CancelSignal;
}

/** Takes a request's events as they happen; a promise returned holds the node's answer back until it settles. */
export type EventSink = (event: ChatEvent) => void | Promise<void>;

/**
 * The client for one attempt on `node`: for `work`, the client for that work in the node's API;
 * else the wire client when the gateway's request can be relayed as it came, else the node's own.
 */
export type ClientFactory = (node: NodeInfo, wire: WireRequest | undefined, work?: NodeWork) => { client: InferenceClient; relayed: boolean };

export interface FailoverPorts {
  registry: NodeRegistry;
  selector: NodeSelector;
  /** Asked to re-probe a node that just failed, so the registry's view catches up before the next sweep. */
  probe: (name: string) => Promise<unknown>;
  clientFor: ClientFactory;
  metrics: ClusterMetrics;
  clock: Clock;
  logger: Logger;
  config: () => HarombeConfig;
  /** Waits `ms` (the busy backoff), ending early when `signal` aborts; tests pass one that needs no real time. */
  sleep?: (ms: number, signal: CancelSignal | undefined) => Promise<void>;
  random?: () => number;
  /** Longest a request waits for a node to have room when every node turns it away as busy, ms (default 30 s). */
  busyBudgetMs?: number;
}

const DEFAULT_BUSY_BUDGET_MS = 30_000;

/**
 * Runs one request to its end across nodes: classifies it, picks a node, streams its answer, and
 * when the node fails before or during the answer moves the request to the next candidate (same
 * tier first, then the fallback order), telling the caller. Everything it runs is cancelled by
 * `dispose()`.
 */
export class FailoverRunner {
  private readonly inFlight = new Set<Canceller>();

  constructor(private readonly ports: FailoverPorts) {}

  /** Resolves after the last event (`done` or `error`); the sink must not throw. */
  async run(original: CompleteRequest, sink: EventSink): Promise<void> {
    let request = original;
    const { registry, selector, metrics, clock } = this.ports;
    const started = clock.now();
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
      const withModel = registry.list().filter(serves);
      if (withModel.length > 0 && !withModel.some((n) => n.tier === classification.tier)) classification.tier = (withModel[0] as NodeInfo).tier;
    }
    let needs = capabilitiesNeeded(request);
    // The prompt's size in tokens (conservative), corrected by a node's own count when one refuses it.
    let promptTokens = estimatePromptTokens(request.messages, request.tools);
    const needTokens = () => promptTokens + answerReserve(promptTokens);
    let checkFit = true;
    let passedOverForFit = false;
    const fit = fitRequirement(needTokens);
    const fitTold = { ...fit, unmet: (n: NodeInfo) => ((passedOverForFit = true), fit.unmet(n)) };
    const pick = () => {
      passedOverForFit = false;
      const nodes = registry.list();
      const requirements = needs.map((c) => capabilityRequirement(c, wanted, nodes));
      if (request.work) requirements.push(NATIVE_API);
      // An embedding's inputs are not a chat prompt: the embedding model's own limits apply.
      if (checkFit && request.work?.kind !== 'embedding') requirements.push(fitTold);
      const found = selector.select(nodes, {
        tier: classification.tier,
        eligible: (n) => serves(n) && registry.isEligible(n.name),
        requirements,
        exclude: tried,
        sticky: request.stickyNode,
        // A tier is a size of chat model; for embeddings only the named model matters.
        anyTier: request.work?.kind === 'embedding',
        affinityKey: request.affinityKey,
      });
      if (!found || !passedOverForFit) return found;
      // `needs ~31k tokens; server (tier 2) holds 8k → workstation (tier 1, 64k)`
      return { ...found, why: `needs ~${formatTokens(needTokens())} tokens; ${found.why} (tier ${found.tier}, ${formatTokens(found.node.contextWindow.tokens)})` };
    };

    const pickOrDropTools = (): Candidate | undefined => {
      const found = pick();
      if (found || !needs.includes('tools')) return found;
      // No node that could take the request takes tools: an answer without them beats none.
      needs = needs.filter((c) => c !== 'tools');
      const without = pick();
      if (!without) return undefined;
      request = { ...request, tools: undefined, wire: undefined };
      return { ...without, why: `no node takes tools, so this answer comes without them; ${without.why}` };
    };

    let candidate = pickOrDropTools();
    let omitted: Omitted | undefined;
    if (!candidate) {
      checkFit = false;
      const ignoringFit = pickOrDropTools();
      checkFit = true;
      if (ignoringFit && request.wire === undefined) {
        // No node holds the whole conversation: keep what must be kept and leave out the oldest
        // (the gateway's clients send their own history and are told instead: no trimming there).
        const whole = promptTokens;
        promptTokens = trimHistory(request.messages, request.tools, 0).promptTokens;
        const roomy = promptTokens < whole ? pickOrDropTools() : undefined;
        if (roomy) {
          const trimmed = trimHistory(request.messages, request.tools, promptBudget(roomy.node.contextWindow.tokens));
          request = { ...request, messages: trimmed.messages };
          promptTokens = trimmed.promptTokens;
          omitted = trimmed.omitted;
          candidate = roomy;
        } else promptTokens = whole;
      }
      if (!candidate) {
        metrics.recordRequestFailed();
        const strategy = this.ports.config().cluster.routing.fallback_strategy;
        await sink(
          ignoringFit
            ? tooLargeError({ promptTokens, needTokens: needTokens(), tier: classification.tier, strategy, forced, nodes: registry.list().filter(serves) })
            : noNodeError(classification.tier, strategy, registry.list(), Date.now()),
        );
        return;
      }
    }
    let needsTools = needs.includes('tools');
    // Counted as in flight from the moment it is chosen, not from when its request starts: a
    // burst of requests routed in the same tick must see each other, or they all pick one node.
    let release = registry.acquire(candidate.node.name);
    if (candidate.affinity) metrics.recordAffinity(candidate.affinity);
    // Nodes that turned the request away as busy in this round, and the soonest they said to come back.
    let busy: { nodes: string[]; retryAfterMs: number | undefined; onlyBusy: boolean } = { nodes: [], retryAfterMs: undefined, onlyBusy: true };
    let backoff: BusyBackoff | undefined;
    try {
      metrics.recordRouted(classification.tier);
      await sink({
        type: 'route',
        requestedTier: classification.tier,
        tier: candidate.tier,
        node: candidate.node.name,
        model: request.model ?? candidate.node.model,
        forced,
        reasons: classification.reasons,
        nodeReason: candidate.why,
        context: { promptTokens, needTokens: needTokens(), window: candidate.node.contextWindow.tokens, ...(omitted && { omitted }) },
      });

      let fallbacks = 0;
      // Once part of an answer has been shown, the caller splices the next node's answer onto it,
      // which needs text, not another node's records.
      let shownPartial = false;
      for (;;) {
        const node = candidate.node;
        tried.add(node.name);
        const { client, relayed } = this.ports.clientFor(node, shownPartial ? undefined : request.wire, request.work);
        const recorder = new AttemptRecorder(clock, node, candidate.tier, request.model, started, fallbacks, () => release(), promptTokens);
        try {
          await this.attempt(candidate, request, client, relayed ? request.wire : undefined, (chunk) => {
            const event = recorder.take(chunk);
            if (event === undefined) return;
            if (event.type === 'done' && recorder.nodeTimings) metrics.recordNodeSuccess(node.name, recorder.nodeTimings);
            return sink(event);
          });
          if (!recorder.final) throw new NodeError('incomplete', 'the answer ended without its final record');
          return;
        } catch (err) {
          // The client already has the whole answer; a failure after it (the node's connection
          // while draining, a breaker trial's timer) is the breaker's business only.
          if (recorder.final) return;
          if (request.signal?.aborted) {
            await sink({ type: 'error', code: 'cancelled', message: 'Cancelled.', attempts });
            return;
          }
          const reason = describeFailure(err);
          attempts.push({ node: node.name, reason });
          if (err instanceof NodeError && !err.worthRetrying) {
            // The request is at fault, not the node: every other node would refuse it the same way.
            metrics.recordRequestFailed();
            await sink({ type: 'error', code: 'invalid_request', message: `The request cannot be sent: ${reason}.`, attempts });
            return;
          }
          if (err instanceof NodeError && err.kind === 'unsupported' && err.details.capability && (wanted === undefined || wanted === node.model)) {
            // The model cannot do it: this node is passed over for such requests from now on.
            // (A refusal for another model the node has says nothing of its own model.)
            registry.learnRefusal(node.name, err.details.capability);
          }
          let exceeded = false;
          if (err instanceof NodeError && err.kind === 'context_exceeded') {
            exceeded = true;
            if (err.details.contextTokens) registry.learnWindow(node.name, err.details.contextTokens);
            // The node counted the prompt itself: its count beats the estimate from here on.
            if (err.details.promptTokens && err.details.promptTokens > promptTokens) promptTokens = err.details.promptTokens;
          }
          const refusedAsBusy = err instanceof NodeError && (err.kind === 'busy' || err.kind === 'rate_limited') && !recorder.streamed;
          if (refusedAsBusy) {
            // Full, not broken: the next node at once, and this one again after a wait if all are full.
            metrics.recordBusy(node.name, clock.now());
            busy.nodes.push(node.name);
            const after = err.details.retryAfterMs;
            if (after !== undefined) busy.retryAfterMs = Math.min(busy.retryAfterMs ?? after, after);
            this.ports.logger.debug(`node ${node.name} is busy: ${reason}`);
          } else {
            busy.onlyBusy = false;
            metrics.recordNodeError(node.name, clock.now());
            this.ports.logger.info(`node ${node.name} failed: ${reason}`);
          }
          if (err instanceof NodeError && err.countsAgainstNode) {
            // Let the registry's view catch up now instead of at the next sweep.
            void this.ports.probe(node.name).catch(() => undefined);
          }
          let next = pickOrDropTools();
          let waited = 0;
          while (!next && busy.onlyBusy && busy.nodes.length > 0) {
            backoff ??= new BusyBackoff({ budgetMs: this.ports.busyBudgetMs ?? DEFAULT_BUSY_BUDGET_MS, now: () => clock.now(), random: this.ports.random ?? Math.random });
            const wait = backoff.next(busy.retryAfterMs);
            if (wait === undefined) break;
            release();
            await this.waitForRoom(wait, request.signal, (n) => serves(n) && registry.isEligible(n.name));
            if (request.signal?.aborted) {
              await sink({ type: 'error', code: 'cancelled', message: 'Cancelled.', attempts });
              return;
            }
            waited += wait;
            for (const n of busy.nodes) tried.delete(n);
            busy = { nodes: [], retryAfterMs: undefined, onlyBusy: true };
            next = pickOrDropTools();
          }
          if (!next) {
            metrics.recordRequestFailed();
            if (backoff && busy.onlyBusy) {
              await sink(clusterBusy(attempts, backoff.elapsedMs));
              return;
            }
            const strategy = this.ports.config().cluster.routing.fallback_strategy;
            await sink(
              exceeded && attempts.length === 1
                ? tooLargeError({ promptTokens, needTokens: needTokens(), tier: classification.tier, strategy, forced, nodes: registry.list().filter(serves), attempts })
                : allFailed(classification.tier, attempts),
            );
            return;
          }
          if (waited > 0) this.ports.logger.info(`every node was busy; waited ${Math.round(waited)} ms, trying ${next.node.name}`);
          fallbacks++;
          shownPartial ||= recorder.streamed;
          metrics.recordFallback();
          release();
          release = registry.acquire(next.node.name);
          const toolsDropped = needsTools && !needs.includes('tools');
          needsTools = needs.includes('tools');
          const why = waited > 0 ? `${reason}; every node was busy, waited ${(waited / 1000).toFixed(1)} s` : reason;
          await sink({
            type: 'fallback',
            from: node.name,
            to: next.node.name,
            tier: next.tier,
            reason: toolsDropped ? `${why}; no node takes tools, so this answer comes without them` : why,
            discardPartial: recorder.streamed,
          });
          candidate = next;
        }
      }
    } finally {
      release();
    }
  }

  /**
   * Waits up to `ms` for a node to have room. The nodes' Retry-After is an estimate; a load report
   * newer than the refusal showing a free slot is fresher news, so the wait ends there (in slices
   * of at most 100 ms, so coordinators refused together do not all wake at once).
   */
  private async waitForRoom(ms: number, signal: CancelSignal | undefined, eligible: (n: NodeInfo) => boolean): Promise<void> {
    const { clock, registry } = this.ports;
    const sleepFor = this.ports.sleep ?? sleep;
    const random = this.ports.random ?? Math.random;
    const since = clock.now();
    const until = since + ms;
    for (;;) {
      const left = until - clock.now();
      if (left <= 0 || signal?.aborted) return;
      await sleepFor(Math.min(left, 50 + random() * 50), signal);
      const room = registry.list().some((n) => eligible(n) && n.load.source === 'reported' && n.load.at > since && !saturated(n));
      if (room) return;
    }
  }

  /** Aborts every attempt still running. */
  dispose(): void {
    for (const c of this.inFlight) c.abort();
  }

  /** One attempt on one node with `client`, through the node's breaker, its chunks pushed to `onChunk`; cancelled with the request or by `dispose()`. */
  private async attempt(candidate: Candidate, request: CompleteRequest, client: InferenceClient, wire: WireRequest | undefined, onChunk: ChunkSink): Promise<void> {
    const { registry } = this.ports;
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
      temperature: request.temperature ?? this.ports.config().model.temperature,
      think: thinkFor(this.ports.config(), candidate.node),
      // Ollama runs the model with the window Harombe chose for the node, one value so it is not reloaded.
      numCtx: candidate.node.contextWindow.tokens,
      signal: controller,
      wire,
      work: request.work,
    };
    try {
      await registry.breaker(name).execute(async () => {
        if (client.stream) return client.stream(chatRequest, onChunk);
        for await (const chunk of client.chat(chatRequest)) {
          await onChunk(chunk);
          if (chunk.type === 'done') return;
        }
      }, controller);
      registry.recordSuccess(name);
    } catch (err) {
      if (err instanceof NodeError && err.countsAgainstNode) registry.recordFailure(name, err);
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.inFlight.delete(controller);
    }
  }
}

/**
 * What one attempt has produced so far (first token, whether anything was shown, the final
 * record), and the node's chunks turned into the caller's events.
 */
class AttemptRecorder {
  private readonly attemptStart: number;
  firstTokenAt: number | undefined;
  firstThinkingAt: number | undefined;
  streamed = false;
  final: (ChatChunk & { type: 'done' }) | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly node: NodeInfo,
    private readonly tier: Tier,
    private readonly model: string | undefined,
    /** When the request (not this attempt) started: the caller's timings count from there. */
    private readonly requestStart: number,
    private readonly fallbacks: number,
    /** Tells the registry the node is no longer busy with this request. */
    private readonly release: () => void,
    /** The prompt's estimate in tokens, to tell a prompt the node cut from a whole one. */
    private readonly promptEstimate: number,
  ) {
    this.attemptStart = clock.now();
  }

  /** The event for one chunk of the node's answer, or undefined when there is nothing to tell. */
  take(chunk: ChatChunk): ChatEvent | undefined {
    switch (chunk.type) {
      case 'wire':
        if (chunk.thinking) this.reasoning();
        if (chunk.text.length > 0 || chunk.calls) this.token();
        return chunk;
      case 'thinking':
        if (chunk.text.length === 0) return undefined;
        this.reasoning();
        return { type: 'thinking', text: chunk.text };
      case 'delta':
        if (chunk.text.length === 0) return undefined;
        this.token();
        return { type: 'delta', text: chunk.text };
      case 'tool_calls':
        this.token();
        return { type: 'tool_calls', calls: chunk.calls };
      case 'done':
        return this.done(chunk);
    }
  }

  /** The node's own timings for the metrics, once the final record is in. */
  nodeTimings: Parameters<ClusterMetrics['recordNodeSuccess']>[1] | undefined;

  private token(): void {
    this.firstTokenAt ??= this.clock.now();
    this.streamed = true;
  }

  /**
   * Reasoning is part of the attempt: once shown, a failover must tell the caller to drop it, or
   * the next node's reasoning would read as the continuation of this one's. It is not the answer's
   * first token, so time to first token keeps counting.
   */
  private reasoning(): void {
    this.firstThinkingAt ??= this.clock.now();
    this.streamed = true;
  }

  private done(chunk: ChatChunk & { type: 'done' }): DoneEvent {
    // Told as soon as the final record is in, not after the breaker's bookkeeping unwinds: the
    // answer is whole, and the client's last byte goes out sooner. The node is no longer busy
    // with it either: a next turn sent at once must see that.
    this.final = chunk;
    this.release();
    const end = this.clock.now();
    const ttftMs = (this.firstTokenAt ?? end) - this.attemptStart;
    const totalMs = end - this.attemptStart;
    // From the first reasoning token to the answer's first (or to the end, for an answer that is all reasoning).
    const thinkingMs = this.firstThinkingAt === undefined ? undefined : (this.firstTokenAt ?? end) - this.firstThinkingAt;
    // Servers count reasoning tokens as completion tokens, so without the node's own generation
    // time, tokens/s counts from the first reasoning token, not from the answer's.
    const genMs = chunk.evalMs ?? Math.max(1, end - (this.firstThinkingAt ?? this.firstTokenAt ?? end));
    const generationMs = chunk.evalMs ?? (this.firstThinkingAt === undefined ? undefined : genMs);
    this.nodeTimings = { ttftMs, totalMs, thinkingMs, completionTokens: chunk.completionTokens, generationMs, at: end };
    return {
      type: 'done',
      node: this.node.name,
      tier: this.tier,
      model: this.model ?? this.node.model,
      doneReason: chunk.doneReason,
      timing: {
        ttftMs: (this.firstTokenAt ?? end) - this.requestStart,
        totalMs: end - this.requestStart,
        fallbacks: this.fallbacks,
        ...(thinkingMs !== undefined && { thinkingMs }),
      },
      tokens: {
        prompt: chunk.promptTokens,
        completion: chunk.completionTokens,
        perSecond: chunk.completionTokens ? (chunk.completionTokens * 1000) / genMs : undefined,
      },
      ...(chunk.wire && { wire: chunk.wire }),
      ...(chunk.embeddings && { embeddings: chunk.embeddings }),
      ...(truncated(chunk.promptTokens, this.promptEstimate) && { truncated: { promptTokens: chunk.promptTokens as number, estimatedTokens: this.promptEstimate } }),
    };
  }
}

/** Every node turned the request away as busy for as long as the request may wait. */
function clusterBusy(attempts: { node: string; reason: string }[], triedMs: number): ErrorEvent {
  const nodes = [...new Set(attempts.map((a) => a.node))].join(', ');
  const message = `The cluster is busy: every node that could take this request (${nodes}) turned it away as full for ${(triedMs / 1000).toFixed(1)} s. Try again shortly, or raise max_parallel / add a node.`;
  return { type: 'error', code: 'cluster_busy', message, attempts };
}

function sleep(ms: number, signal: CancelSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Whether the node read far less of the prompt than was sent: an Ollama older than 0.12.6 ignores
 * `truncate: false` and cuts an overflowing prompt silently, down to about half its window
 * (ollama#3839, #17427), and its `prompt_eval_count` is the only trace. The estimate overcounts by
 * up to about 1.5× (code) and at most 2× (CJK), so a count below 40% of it is a cut, not a
 * rounding; short prompts are never cut.
 */
function truncated(reported: number | undefined, estimate: number): boolean {
  return reported !== undefined && reported > 0 && estimate >= 1024 && reported < estimate * 0.4;
}

/** The largest prompt whose answer reserve still fits in `window` (the inverse of prompt + answerReserve(prompt)). */
function promptBudget(window: number): number {
  let budget = Math.floor(window / 1.5);
  if (budget > 32_768) budget = window - 16_384;
  if (budget < 2048) budget = window - 1024;
  return Math.max(0, budget);
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
