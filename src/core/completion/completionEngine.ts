import { nodeCan } from '../nodes/capabilities';
import type { NodeInfo } from '../nodes/nodeInfo';
import { loadScore } from '../routing/nodeSelector';
import { Canceller, type CancelSignal } from '../util/canceller';
import type { Clock } from '../util/clock';
import type { Logger } from '../util/logger';
import type { CompletionPrompt } from './completionPrompt';
import { CompletionCache } from './completionCache';
import { fimTemplateFor } from './fimTemplates';
import { LatencyTracker } from './latencyTracker';
import { shapeSuggestion } from './shapeSuggestion';

/** One fill-in-the-middle request to one node. */
export interface FimRequest {
  prompt: CompletionPrompt;
  /** The server-side cap on the answer (`num_predict`, `n_predict`, `max_tokens`). */
  maxTokens: number;
}

/** Sends FIM requests to nodes; `onFirstToken` is told when the node's first token arrives. */
export interface FimBackend {
  complete(node: NodeInfo, request: FimRequest, signal: CancelSignal, onFirstToken: () => void): Promise<string>;
}

/** Which nodes serve completions: `completion:` in harombe.yaml. */
export interface CompletionRouting {
  /** Only these nodes (by name), when set. */
  nodes?: string[];
  /** The tier whose nodes serve completions (default 0); other tiers only when it has none. */
  tier: number;
  /** Ask for this model instead of the node's own (a dedicated FIM model on the node). */
  model?: string;
}

export interface CompletionEnginePorts {
  nodes: () => NodeInfo[];
  isEligible: (name: string) => boolean;
  /** Counts the request on the node while it runs (so chat routing sees it too). */
  acquire: (name: string) => () => void;
  backend: FimBackend;
  routing: () => CompletionRouting;
  clock: Clock;
  logger: Logger;
  /** The share of requests that may send a backup to a second node; 0 turns hedging off. Default 0.1. */
  hedgeBudget?: number;
}

export interface CompletionAsk {
  file: string;
  prompt: CompletionPrompt;
  signal: CancelSignal;
}

export interface CompletionResult {
  text: string;
  node?: string;
  fromCache: boolean;
  hedged: boolean;
}

/** What the engine counts, for the metrics and the status bar. */
export interface CompletionCounts {
  requested: number;
  cacheHits: number;
  cancelled: number;
  hedged: number;
  failed: number;
}

/** A hedge waits at least this long for the first node's first token. */
const MIN_HEDGE_MS = 120;
/**
 * ...and at most this many times the node's median: when a node's slow spells are 5 % of its
 * requests or more, its p95 sits inside them and a hedge at p95 comes too late to help (the
 * completion bench, one node slow on 10 % of requests: p99 cut 0 % at p95, see README).
 */
const HEDGE_P50_MULTIPLE = 3;
/** The wait before a hedge while a node has too few samples for its own p95. */
const DEFAULT_HEDGE_MS = 400;
/** At most this share of requests may send a backup to a second node. */
const HEDGE_BUDGET = 0.1;
const SAMPLES_FOR_P95 = 8;

/**
 * Ghost-text completions across the cluster: picks the fastest free completion node (not busy with
 * chat, the file's own node while it is healthy, then the lowest recent time to first token),
 * cancels on every new keystroke (the caller's signal) unless the node is still loading its model,
 * and hedges: when the node has not sent a first token by its own recent p95 (or three times its
 * median, whichever comes first), the same request
 * goes to the next-best node and the first answer wins, within a budget of extra requests.
 */
export class CompletionEngine {
  readonly latency = new LatencyTracker();
  readonly counts: CompletionCounts = { requested: 0, cacheHits: 0, cancelled: 0, hedged: 0, failed: 0 };
  private readonly cache = new CompletionCache();
  /** The node that last served each file: its prompt cache holds the file's prefix. */
  private readonly fileNode = new Map<string, string>();

  constructor(private readonly ports: CompletionEnginePorts) {}

  /** The completion nodes in the order they would be tried now. */
  rankNodes(file?: string): NodeInfo[] {
    const routing = this.ports.routing();
    const hasModel = (n: NodeInfo) => routing.model === undefined || n.model === routing.model || n.models.includes(routing.model);
    const usable = this.ports.nodes().filter((n) => this.ports.isEligible(n.name) && hasModel(n) && canFillInTheMiddle(n, routing.model));
    let pool = routing.nodes ? usable.filter((n) => routing.nodes?.includes(n.name)) : usable.filter((n) => n.tier === routing.tier);
    if (pool.length === 0 && !routing.nodes) pool = usable.sort((a, b) => a.tier - b.tier).filter((n, _, all) => n.tier === all[0]?.tier);
    const sticky = file === undefined ? undefined : this.fileNode.get(file);
    const p50 = (n: NodeInfo) => this.latency.quantile(n.name, 0.5) ?? n.latencyMs ?? Number.MAX_SAFE_INTEGER;
    return [...pool].sort((a, b) => busyness(a) - busyness(b) || Number(b.name === sticky) - Number(a.name === sticky) || p50(a) - p50(b));
  }

  /** A completion for the cursor, or undefined when there is none to show. */
  async complete(ask: CompletionAsk): Promise<CompletionResult | undefined> {
    const { prefix, suffix } = ask.prompt;
    const cached = this.cache.get(ask.file, prefix, suffix);
    if (cached !== undefined) {
      this.counts.cacheHits++;
      const text = shapeSuggestion(cached, ask.prompt.cursor);
      if (text) return { text, fromCache: true, hedged: false };
    }
    const ranked = this.rankNodes(ask.file);
    const first = ranked[0];
    if (!first) return undefined;
    this.counts.requested++;
    const request: FimRequest = { prompt: ask.prompt, maxTokens: ask.prompt.cursor.multiline ? 128 : 48 };
    const remember = (text: string, node: string) => {
      this.cache.set(ask.file, prefix, suffix, text);
      this.fileNode.set(ask.file, node);
    };
    const outcome = await this.race(first, ranked[1], request, ask.signal, remember);
    if (!outcome || ask.signal.aborted) return undefined;
    const text = shapeSuggestion(outcome.text, ask.prompt.cursor);
    return text ? { text, node: outcome.node, fromCache: false, hedged: outcome.hedged } : undefined;
  }

  /** The first node's answer, or the backup's when the first is slow to start and the budget allows. */
  private race(
    first: NodeInfo,
    backup: NodeInfo | undefined,
    request: FimRequest,
    signal: CancelSignal,
    /** Every answer that arrives, the loser's and a late one's included, is kept for the next keystroke. */
    remember: (text: string, node: string) => void,
  ): Promise<{ text: string; node: string; hedged: boolean } | undefined> {
    return new Promise((resolve) => {
      const attempts: { node: NodeInfo; controller: Canceller; done: boolean }[] = [];
      let settled = false;
      let hedgeTimer: NodeJS.Timeout | undefined;
      const finish = (value: { text: string; node: string; hedged: boolean } | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(hedgeTimer);
        signal.removeEventListener('abort', onAbort);
        for (const a of attempts) if (!a.done && !isLoading(a.node)) a.controller.abort();
        resolve(value);
      };
      const onAbort = () => {
        this.counts.cancelled++;
        // A node still loading its model keeps going: cancelling would throw the load away
        // (Tabby#3367), and its answer lands in the cache for the next keystroke.
        finish(undefined);
      };
      const start = (node: NodeInfo, hedged: boolean) => {
        const controller = new Canceller();
        const attempt = { node, controller, done: false };
        attempts.push(attempt);
        const startedAt = this.ports.clock.now();
        const release = this.ports.acquire(node.name);
        this.ports.backend
          .complete(node, request, controller, () => {
            this.latency.record(node.name, this.ports.clock.now() - startedAt);
            if (!hedged) clearTimeout(hedgeTimer);
          })
          .then(
            (text) => {
              remember(text, node.name);
              finish({ text, node: node.name, hedged });
            },
            (err: unknown) => {
              if (controller.aborted || settled) return;
              this.ports.logger.debug(`completion on ${node.name} failed: ${(err as Error).message}`);
              // A node that fails before answering: the backup takes over at once, hedge or not.
              if (backup && !attempts.some((a) => a.node === backup)) {
                clearTimeout(hedgeTimer);
                start(backup, false);
                return;
              }
              if (attempts.every((a) => a.done || a === attempt)) {
                this.counts.failed++;
                finish(undefined);
              }
            },
          )
          .finally(() => {
            attempt.done = true;
            release();
          });
      };
      if (signal.aborted) return resolve(undefined);
      signal.addEventListener('abort', onAbort, { once: true });
      start(first, false);
      if (backup && this.hedgeAllowed()) {
        hedgeTimer = setTimeout(() => {
          if (settled) return;
          this.counts.hedged++;
          start(backup, true);
        }, this.hedgeDelay(first.name));
        hedgeTimer.unref();
      }
    });
  }

  /** The first node's own recent p95 time to first token. */
  hedgeDelay(node: string): number {
    if (this.latency.count(node) < SAMPLES_FOR_P95) return DEFAULT_HEDGE_MS;
    const p95 = this.latency.quantile(node, 0.95) ?? DEFAULT_HEDGE_MS;
    const p50 = this.latency.quantile(node, 0.5) ?? DEFAULT_HEDGE_MS;
    return Math.max(MIN_HEDGE_MS, Math.min(p95, HEDGE_P50_MULTIPLE * p50));
  }

  private hedgeAllowed(): boolean {
    // One in ten from the start: the budget is checked before the hedge is counted.
    const budget = this.ports.hedgeBudget ?? HEDGE_BUDGET;
    return budget > 0 && this.counts.hedged + 1 <= Math.max(1, this.counts.requested * budget);
  }
}

/** Requests a node has now for its capacity: chat and agent work on it makes completions wait. */
function busyness(n: NodeInfo): number {
  // The load the router ranks chat by (reported by the node where it can, else counted here).
  return loadScore(n) / Math.max(1, n.load.maxParallel);
}

/** An Ollama model that is not loaded yet: its first request loads it, which a cancel would throw away. */
function isLoading(n: NodeInfo): boolean {
  // Only Ollama says what it has loaded (/api/ps); elsewhere the model is taken as warm.
  if (n.kind !== 'ollama') return false;
  const norm = (m: string) => (m.includes(':') ? m : `${m}:latest`);
  return !n.loadedModels.some((m) => norm(m) === norm(n.model));
}

/**
 * Whether the node can fill in the middle: its model says `insert`, or Harombe knows its family's
 * FIM tokens, or the server can say nothing (an OpenAI-compatible server; llama.cpp's `/infill`).
 */
export function canFillInTheMiddle(n: NodeInfo, model?: string): boolean {
  if (nodeCan(n, 'completion') === false) return false;
  if (nodeCan(n, 'insert') === true) return true;
  if (fimTemplateFor(model ?? n.model)) return true;
  return n.kind === 'openai' && n.capabilities.source === 'unknown';
}
