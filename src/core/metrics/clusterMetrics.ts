import type { Tier } from '../routing/classification';

const SAMPLE_CAP = 512;

export interface NodeMetricsSnapshot {
  requests: number;
  errors: number;
  /** Attempts the node turned away as full (503 / 429), not counted as errors. */
  busy: number;
  /** Time to first token, ms. */
  ttftP50Ms?: number;
  ttftP95Ms?: number;
  /** Whole answer, ms. */
  latencyP50Ms?: number;
  latencyP95Ms?: number;
  tokensPerSecond?: number;
  completionTokens: number;
  lastRequest?: number;
  /** Answers in which the model reasoned first, and how long it reasoned (apart from ttft, which counts the answer). */
  reasonedRequests: number;
  thinkingP50Ms?: number;
  thinkingP95Ms?: number;
}

/** Ghost-text completions: what the editor asked for and what became of it. */
export interface CompletionMetricsSnapshot {
  requested: number;
  shown: number;
  accepted: number;
  cancelled: number;
  hedged: number;
  /** Last keystroke to ghost text, ms, per node that served it (`cache` when no node was asked). */
  nodes: Record<string, { shown: number; keystrokeToGhostP50Ms?: number; keystrokeToGhostP90Ms?: number }>;
}

export interface MetricsSnapshot {
  since: number;
  nodes: Record<string, NodeMetricsSnapshot>;
  routedByTier: Record<'0' | '1' | '2', number>;
  fallbacks: number;
  requests: number;
  failedRequests: number;
  /** Busy refusals (503 / 429) from nodes, each moved on without blaming the node. */
  busyRefusals: number;
  /** Requests that went to their conversation's preferred node, and ones that passed it over for load. */
  affinityHits: number;
  affinityPassed: number;
  completions: CompletionMetricsSnapshot;
}

interface CompletionCounters {
  requested: number;
  shown: number;
  accepted: number;
  cancelled: number;
  hedged: number;
  /** Keystroke-to-ghost samples per node, and how many each has had (where the next one goes once full). */
  latency: Record<string, { samples: number[]; count: number }>;
}

interface NodeCounters {
  requests: number;
  errors: number;
  ttft: number[];
  latency: number[];
  completionTokens: number;
  generationMs: number;
  lastRequest?: number;
  /** Attempts the node turned away as full; absent in figures saved before they were counted. */
  busy?: number;
  /** Reasoning time of the answers that reasoned; absent in figures saved before reasoning was told apart. */
  thinking?: number[];
  reasoned?: number;
}

/** The serialisable state, so the CLI can keep figures across runs (`~/.harombe/metrics.json`). */
export interface MetricsState {
  version: 1;
  since: number;
  nodes: Record<string, NodeCounters>;
  routedByTier: [number, number, number];
  fallbacks: number;
  requests: number;
  failedRequests: number;
  /** Added after version 1 shipped: absent in older saved files. */
  busyRefusals?: number;
  affinityHits?: number;
  affinityPassed?: number;
  /** Absent in figures saved before ghost-text completions were counted. */
  completions?: CompletionCounters;
}

/**
 * Per-node request counts, errors, latency percentiles and tokens/s; routing counts per tier; fallbacks.
 * Samples are kept in bounded reservoirs (the most recent 512) so a long-running extension host does not grow.
 */
export class ClusterMetrics {
  private state: MetricsState;

  constructor(initial?: MetricsState, now: number = Date.now()) {
    this.state = initial ?? { version: 1, since: now, nodes: {}, routedByTier: [0, 0, 0], fallbacks: 0, requests: 0, failedRequests: 0 };
  }

  recordRouted(tier: Tier): void {
    this.state.requests++;
    this.state.routedByTier[tier]++;
  }

  /** A node turned an attempt away as full (503 / 429): counted for the node too, apart from its errors. */
  recordBusy(node: string, at: number): void {
    this.state.busyRefusals = (this.state.busyRefusals ?? 0) + 1;
    const c = this.node(node);
    c.requests++;
    c.busy = (c.busy ?? 0) + 1;
    c.lastRequest = at;
  }

  recordAffinity(outcome: 'hit' | 'passed'): void {
    if (outcome === 'hit') this.state.affinityHits = (this.state.affinityHits ?? 0) + 1;
    else this.state.affinityPassed = (this.state.affinityPassed ?? 0) + 1;
  }

  recordFallback(): void {
    this.state.fallbacks++;
  }

  recordRequestFailed(): void {
    this.state.failedRequests++;
  }

  recordNodeSuccess(node: string, m: { ttftMs: number; totalMs: number; thinkingMs?: number; completionTokens?: number; generationMs?: number; at: number }): void {
    const c = this.node(node);
    // How many successes came before this one: where its samples go once the reservoirs are full.
    const seen = c.requests - c.errors;
    c.requests++;
    c.lastRequest = m.at;
    keep(c.ttft, m.ttftMs, seen);
    keep(c.latency, m.totalMs, seen);
    if (m.thinkingMs !== undefined) {
      keep((c.thinking ??= []), m.thinkingMs, c.reasoned ?? 0);
      c.reasoned = (c.reasoned ?? 0) + 1;
    }
    if (m.completionTokens !== undefined && m.completionTokens > 0) {
      c.completionTokens += m.completionTokens;
      // Prefer the node's own generation time (Ollama's eval_duration); else the streaming time after the first token.
      c.generationMs += m.generationMs ?? Math.max(1, m.totalMs - m.ttftMs);
    }
  }

  recordNodeError(node: string, at: number): void {
    const c = this.node(node);
    c.requests++;
    c.errors++;
    c.lastRequest = at;
  }

  recordCompletionRequested(): void {
    this.completionCounters().requested++;
  }

  /** A suggestion reached the editor, `keystrokeToGhostMs` after the keystroke that asked for it. */
  recordCompletionShown(node: string, keystrokeToGhostMs: number): void {
    const c = this.completionCounters();
    c.shown++;
    const l = (c.latency[node] ??= { samples: [], count: 0 });
    keep(l.samples, keystrokeToGhostMs, l.count);
    l.count++;
  }

  recordCompletionAccepted(): void {
    this.completionCounters().accepted++;
  }

  recordCompletionCancelled(): void {
    this.completionCounters().cancelled++;
  }

  recordCompletionHedged(): void {
    this.completionCounters().hedged++;
  }

  private completionCounters(): CompletionCounters {
    return (this.state.completions ??= { requested: 0, shown: 0, accepted: 0, cancelled: 0, hedged: 0, latency: {} });
  }

  private node(name: string): NodeCounters {
    let c = this.state.nodes[name];
    if (!c) {
      c = { requests: 0, errors: 0, ttft: [], latency: [], completionTokens: 0, generationMs: 0 };
      this.state.nodes[name] = c;
    }
    return c;
  }

  toState(): MetricsState {
    return structuredClone(this.state);
  }

  snapshot(): MetricsSnapshot {
    const nodes: Record<string, NodeMetricsSnapshot> = {};
    for (const [name, c] of Object.entries(this.state.nodes)) {
      nodes[name] = {
        requests: c.requests,
        errors: c.errors,
        busy: c.busy ?? 0,
        ttftP50Ms: percentile(c.ttft, 0.5),
        ttftP95Ms: percentile(c.ttft, 0.95),
        latencyP50Ms: percentile(c.latency, 0.5),
        latencyP95Ms: percentile(c.latency, 0.95),
        tokensPerSecond: c.generationMs > 0 ? (c.completionTokens * 1000) / c.generationMs : undefined,
        completionTokens: c.completionTokens,
        lastRequest: c.lastRequest,
        reasonedRequests: c.reasoned ?? 0,
        thinkingP50Ms: percentile(c.thinking ?? [], 0.5),
        thinkingP95Ms: percentile(c.thinking ?? [], 0.95),
      };
    }
    const [t0, t1, t2] = this.state.routedByTier;
    const c = this.state.completions;
    const completions: CompletionMetricsSnapshot = {
      requested: c?.requested ?? 0,
      shown: c?.shown ?? 0,
      accepted: c?.accepted ?? 0,
      cancelled: c?.cancelled ?? 0,
      hedged: c?.hedged ?? 0,
      nodes: Object.fromEntries(
        Object.entries(c?.latency ?? {}).map(([name, l]) => [
          name,
          { shown: l.count, keystrokeToGhostP50Ms: percentile(l.samples, 0.5), keystrokeToGhostP90Ms: percentile(l.samples, 0.9) },
        ]),
      ),
    };
    return {
      since: this.state.since,
      nodes,
      routedByTier: { '0': t0, '1': t1, '2': t2 },
      fallbacks: this.state.fallbacks,
      requests: this.state.requests,
      failedRequests: this.state.failedRequests,
      busyRefusals: this.state.busyRefusals ?? 0,
      affinityHits: this.state.affinityHits ?? 0,
      affinityPassed: this.state.affinityPassed ?? 0,
      completions,
    };
  }

  /** Prometheus text exposition format 0.0.4. */
  toPrometheus(): string {
    const s = this.snapshot();
    const out: string[] = [];
    const metric = (name: string, type: string, help: string, rows: [string, number | undefined][]) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, v] of rows) if (v !== undefined) out.push(`${name}${labels} ${round(v)}`);
    };
    const perNode = (f: (n: NodeMetricsSnapshot) => number | undefined): [string, number | undefined][] =>
      Object.entries(s.nodes).map(([name, n]) => [`{node="${escapeLabel(name)}"}`, f(n)]);
    metric('harombe_requests_total', 'counter', 'Chat requests routed by the coordinator.', [['', s.requests]]);
    metric('harombe_requests_failed_total', 'counter', 'Chat requests that no node could answer.', [['', s.failedRequests]]);
    metric('harombe_fallbacks_total', 'counter', 'Requests moved to another node after a failure.', [['', s.fallbacks]]);
    metric('harombe_busy_refusals_total', 'counter', 'Busy refusals (503 / 429) from nodes; the request moved on without blaming the node.', [['', s.busyRefusals]]);
    metric('harombe_affinity_total', 'counter', "Requests with a conversation key, by whether they went to the conversation's node.", [
      ['{outcome="hit"}', s.affinityHits],
      ['{outcome="passed"}', s.affinityPassed],
    ]);
    metric('harombe_routed_total', 'counter', 'Requests routed per requested tier.', (['0', '1', '2'] as const).map((t) => [`{tier="${t}"}`, s.routedByTier[t]]));
    metric('harombe_node_requests_total', 'counter', 'Attempts sent to each node.', perNode((n) => n.requests));
    metric('harombe_node_errors_total', 'counter', 'Attempts that failed on each node.', perNode((n) => n.errors));
    metric('harombe_node_busy_total', 'counter', 'Attempts each node turned away as full (503 / 429), not counted as errors.', perNode((n) => n.busy));
    metric('harombe_node_ttft_p50_ms', 'gauge', 'Median time to first token per node, ms.', perNode((n) => n.ttftP50Ms));
    metric('harombe_node_ttft_p95_ms', 'gauge', '95th percentile time to first token per node, ms.', perNode((n) => n.ttftP95Ms));
    metric('harombe_node_latency_p50_ms', 'gauge', 'Median answer time per node, ms.', perNode((n) => n.latencyP50Ms));
    metric('harombe_node_latency_p95_ms', 'gauge', '95th percentile answer time per node, ms.', perNode((n) => n.latencyP95Ms));
    metric('harombe_node_reasoned_requests_total', 'counter', 'Answers a model reasoned before giving, per node.', perNode((n) => n.reasonedRequests));
    metric('harombe_node_thinking_p50_ms', 'gauge', 'Median reasoning time per node (before the answer\'s first token), ms.', perNode((n) => n.thinkingP50Ms));
    metric('harombe_node_thinking_p95_ms', 'gauge', '95th percentile reasoning time per node, ms.', perNode((n) => n.thinkingP95Ms));
    metric('harombe_node_tokens_per_second', 'gauge', 'Generation speed per node.', perNode((n) => n.tokensPerSecond));
    const c = s.completions;
    metric('harombe_completions_total', 'counter', 'Ghost-text completions by outcome (requested, shown, accepted, cancelled, hedged).', (
      ['requested', 'shown', 'accepted', 'cancelled', 'hedged'] as const
    ).map((k) => [`{outcome="${k}"}`, c[k]]));
    const perCompletionNode = (f: (n: CompletionMetricsSnapshot['nodes'][string]) => number | undefined): [string, number | undefined][] =>
      Object.entries(c.nodes).map(([name, n]) => [`{node="${escapeLabel(name)}"}`, f(n)]);
    metric('harombe_completion_keystroke_to_ghost_p50_ms', 'gauge', 'Median time from the last keystroke to ghost text per node, ms.', perCompletionNode((n) => n.keystrokeToGhostP50Ms));
    metric('harombe_completion_keystroke_to_ghost_p90_ms', 'gauge', '90th percentile time from the last keystroke to ghost text per node, ms.', perCompletionNode((n) => n.keystrokeToGhostP90Ms));
    return out.join('\n') + '\n';
  }
}

/**
 * Adds the `index`th sample of a reservoir. Once it holds SAMPLE_CAP, the sample overwrites the one
 * SAMPLE_CAP samples older, in place: no shifting of 512 numbers and no new backing store (which
 * the GC would promote) on every request.
 */
function keep(a: number[], v: number, index: number): void {
  if (a.length < SAMPLE_CAP) a.push(v);
  else a[index % SAMPLE_CAP] = v;
}

/** Nearest-rank percentile. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[rank - 1];
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(3);
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
