import { describeLoad } from '../nodes/describeLoad';
import type { NodeInfo } from '../nodes/nodeInfo';
import type { Tier } from './classification';
import { fallbackOrder, type FallbackStrategy } from './fallbackOrder';
import { affinityId, rendezvousPick } from './rendezvous';

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
  /**
   * The conversation's key (its id, or what the gateway derives from the client's session or first
   * messages): its preferred node is the rendezvous-hash winner over the tier's eligible nodes, the
   * same in every coordinator, kept unless it is clearly busier than the least loaded.
   */
  affinityKey?: string;
}

export interface Candidate {
  node: NodeInfo;
  tier: Tier;
  /** Why this node, for the route event, e.g. `same node as previous turn`, `least loaded`. */
  why: string;
  /** Nodes passed over for a requirement, each with why (set only when some were). */
  passedOver?: string[];
  /** With an affinity key: `hit` when the preferred node was chosen, `passed` when it was passed over for load. */
  affinity?: 'hit' | 'passed';
}

/** How much more a waiting request weighs than a running one (vLLM's own balancer scores `waiting*4 + running`, vllm-project/vllm#49174). */
export const QUEUED_WEIGHT = 4;

/**
 * Picks the node for a request: the wanted tier first, then the fallback order; within a tier the
 * conversation's node (rendezvous hash of its key, or the previous turn's node) unless it is
 * clearly busier than the least loaded, else a node not saturated, whose model is already loaded,
 * with the least load (reported plus own dispatches), the lowest latency, rotating on ties.
 */
export class NodeSelector {
  private readonly rr = new Map<Tier, number>();

  /** `random` picks where the rotation starts, so coordinators started together do not all begin with the first node. */
  constructor(
    private policy: SelectionPolicy,
    private readonly random: () => number = Math.random,
  ) {}

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
      const candidate = this.pickInTier(pool, tier, request.sticky, request.affinityKey);
      if (passedOver.length === 0) return candidate;
      return { ...candidate, why: `${[...new Set(passedOver)].join('; ')} → ${candidate.node.name}`, passedOver };
    }
    return undefined;
  }

  private pickInTier(pool: NodeInfo[], tier: Tier, sticky: string | undefined, affinityKey: string | undefined): Candidate {
    const stickyNode = sticky === undefined ? undefined : pool.find((n) => n.name === sticky);
    if (stickyNode && !saturated(stickyNode)) {
      return { node: stickyNode, tier, why: 'same node as the previous turn' };
    }
    const ranked = [...pool].sort((a, b) => this.compare(a, b));
    const first = ranked[0] as NodeInfo;
    let passedPreferred: NodeInfo | undefined;
    if (affinityKey !== undefined) {
      const preferred = rendezvousPick(affinityKey, pool, affinityId) as NodeInfo;
      if (!clearlyBusier(preferred, first)) return { node: preferred, tier, why: pool.length === 1 ? 'only node of the tier' : "the conversation's node", affinity: 'hit' };
      passedPreferred = preferred;
    }
    const ties = ranked.filter((n) => this.compare(n, first) === 0);
    let chosen = first;
    if (this.policy.loadBalance && ties.length > 1) {
      const turn = this.rr.get(tier) ?? Math.floor(this.random() * ties.length);
      this.rr.set(tier, turn + 1);
      chosen = ties[turn % ties.length] as NodeInfo;
    }
    if (passedPreferred) return { node: chosen, tier, why: `${passedPreferred.name} (the conversation's node) is busy: ${describeLoad(passedPreferred)}`, affinity: 'passed' };
    return { node: chosen, tier, why: pool.length === 1 ? 'only node of the tier' : explain(chosen, ranked) };
  }

  private compare(a: NodeInfo, b: NodeInfo): number {
    return (
      Number(saturated(a)) - Number(saturated(b)) ||
      Number(!modelLoaded(a)) - Number(!modelLoaded(b)) ||
      loadScore(a) - loadScore(b) ||
      (this.policy.preferLocal ? latencyBucket(a) - latencyBucket(b) : 0)
    );
  }
}

/** Every slot taken (by every client's count where the node reports it): a new request would wait. */
export function saturated(n: NodeInfo): boolean {
  return n.load.running >= n.load.maxParallel || n.load.queued > 0;
}

/**
 * The conversation's node is passed over only when it would make the request wait or load a model
 * while the least loaded would not: a free slot there costs nothing, and its cache makes the
 * answer start sooner (prime-rl#3255 shows affinity without this bound thrashing a saturated node).
 */
function clearlyBusier(preferred: NodeInfo, least: NodeInfo): boolean {
  if (preferred === least) return false;
  if (saturated(preferred) && !saturated(least)) return true;
  if (saturated(preferred) && loadScore(preferred) >= loadScore(least) + preferred.load.maxParallel) return true;
  return !modelLoaded(preferred) && modelLoaded(least);
}


/** Only Ollama reports what is loaded (/api/ps); other kinds count as loaded so they are not penalised. */
function modelLoaded(n: NodeInfo): boolean {
  return n.kind !== 'ollama' || n.loadedModels.includes(n.model);
}

/** Running plus queued work, queued weighted above running: a queued request is a wait, a running one only shares the GPU. */
export function loadScore(n: NodeInfo): number {
  return n.load.running + QUEUED_WEIGHT * n.load.queued;
}

/** Latency in 5 ms buckets, so probe jitter does not defeat round-robin between equal nodes. */
function latencyBucket(n: NodeInfo): number {
  return n.latencyMs === undefined ? Number.MAX_SAFE_INTEGER : Math.floor(n.latencyMs / 5);
}

function explain(chosen: NodeInfo, ranked: NodeInfo[]): string {
  const others = ranked.filter((n) => n !== chosen);
  if (others.some((n) => !modelLoaded(n)) && modelLoaded(chosen)) return 'model already loaded';
  if (others.some((n) => loadScore(n) > loadScore(chosen))) return 'least loaded';
  if (others.some((n) => latencyBucket(n) > latencyBucket(chosen))) return 'lowest latency';
  return 'round-robin';
}
