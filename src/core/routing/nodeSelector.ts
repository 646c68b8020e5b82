import type { NodeInfo } from '../nodes/nodeInfo';
import type { Tier } from './classification';
import { fallbackOrder, type FallbackStrategy } from './fallbackOrder';

export interface SelectionPolicy {
  strategy: FallbackStrategy;
  /** Among equally loaded nodes, lowest latency first. */
  preferLocal: boolean;
  /** Rotate among nodes that tie, so one node does not take every request. */
  loadBalance: boolean;
}

/** Something a request needs of a node beyond being up: a capability of its model, room in its window. */
export interface Requirement {
  met(node: NodeInfo): boolean;
  /** Why `node` does not meet it, for the route's reasons: `gemma2:2b takes no tools`. */
  unmet(node: NodeInfo): string;
}

export interface SelectionRequest {
  tier: Tier;
  /** Only nodes that meet all of these; passing over a node for one is told in `why`. */
  requirements?: readonly Requirement[];
  /** Nodes that may serve (state and breaker allow it). */
  eligible: (node: NodeInfo) => boolean;
  /** Nodes already tried for this request. */
  exclude?: ReadonlySet<string>;
  /** The node that served the conversation's previous turn: its KV cache makes the next answer start sooner. */
  sticky?: string;
  /** Tiers do not apply (embeddings: any node with the model will do): every tier, whatever the strategy. */
  anyTier?: boolean;
}

export interface Candidate {
  node: NodeInfo;
  tier: Tier;
  /** Why this node, for the route event, e.g. `same node as previous turn`, `least loaded`. */
  why: string;
  /** Nodes passed over for a requirement, each with why (set only when some were). */
  passedOver?: string[];
}

/**
 * Picks the node for a request: the wanted tier first, then the fallback order; within a tier the
 * conversation's previous node while it is healthy and not saturated, then a node whose model is
 * already loaded, then the fewest in-flight requests, then the lowest latency, round-robin on ties.
 */
export class NodeSelector {
  private readonly rr = new Map<Tier, number>();

  constructor(private policy: SelectionPolicy) {}

  setPolicy(policy: SelectionPolicy): void {
    this.policy = policy;
  }

  /** The best candidate, or undefined when no eligible node is left in any allowed tier. */
  select(nodes: readonly NodeInfo[], request: SelectionRequest): Candidate | undefined {
    const passedOver: string[] = [];
    const requirements = request.requirements ?? [];
    for (const tier of fallbackOrder(request.tier, request.anyTier ? 'graceful' : this.policy.strategy)) {
      const up = nodes.filter((n) => n.tier === tier && !request.exclude?.has(n.name) && request.eligible(n));
      const pool = up.filter((n) => requirements.every((r) => r.met(n)));
      for (const n of up) {
        const unmet = requirements.find((r) => !r.met(n));
        if (unmet) passedOver.push(unmet.unmet(n));
      }
      if (pool.length === 0) continue;
      const candidate = this.pickInTier(pool, tier, request.sticky);
      if (passedOver.length === 0) return candidate;
      return { ...candidate, why: `${[...new Set(passedOver)].join('; ')} → ${candidate.node.name}`, passedOver };
    }
    return undefined;
  }

  private pickInTier(pool: NodeInfo[], tier: Tier, sticky: string | undefined): Candidate {
    const stickyNode = sticky === undefined ? undefined : pool.find((n) => n.name === sticky);
    if (stickyNode && !saturated(stickyNode)) {
      return { node: stickyNode, tier, why: 'same node as the previous turn' };
    }
    const ranked = [...pool].sort((a, b) => this.compare(a, b));
    const first = ranked[0] as NodeInfo;
    const ties = ranked.filter((n) => this.compare(n, first) === 0);
    let chosen = first;
    if (this.policy.loadBalance && ties.length > 1) {
      const turn = this.rr.get(tier) ?? 0;
      this.rr.set(tier, turn + 1);
      chosen = ties[turn % ties.length] as NodeInfo;
    }
    return { node: chosen, tier, why: pool.length === 1 ? 'only node of the tier' : explain(chosen, ranked) };
  }

  private compare(a: NodeInfo, b: NodeInfo): number {
    return (
      Number(saturated(a)) - Number(saturated(b)) ||
      Number(!modelLoaded(a)) - Number(!modelLoaded(b)) ||
      load(a) - load(b) ||
      (this.policy.preferLocal ? latencyBucket(a) - latencyBucket(b) : 0)
    );
  }
}

function saturated(n: NodeInfo): boolean {
  return n.inFlight >= n.maxParallel;
}

/** Only Ollama reports what is loaded (/api/ps); other kinds count as loaded so they are not penalised. */
function modelLoaded(n: NodeInfo): boolean {
  return n.kind !== 'ollama' || n.loadedModels.includes(n.model);
}

function load(n: NodeInfo): number {
  return n.inFlight;
}

/** Latency in 5 ms buckets, so probe jitter does not defeat round-robin between equal nodes. */
function latencyBucket(n: NodeInfo): number {
  return n.latencyMs === undefined ? Number.MAX_SAFE_INTEGER : Math.floor(n.latencyMs / 5);
}

function explain(chosen: NodeInfo, ranked: NodeInfo[]): string {
  const others = ranked.filter((n) => n !== chosen);
  if (others.some((n) => !modelLoaded(n)) && modelLoaded(chosen)) return 'model already loaded';
  if (others.some((n) => load(n) > load(chosen))) return 'least loaded';
  if (others.some((n) => latencyBucket(n) > latencyBucket(chosen))) return 'lowest latency';
  return 'round-robin';
}
