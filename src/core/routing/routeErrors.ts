import type { ErrorEvent } from '../chatEvent';
import { NodeError } from '../inference/nodeError';
import type { NodeInfo } from '../nodes/nodeInfo';
import type { Tier } from './classification';
import type { FallbackStrategy } from './fallbackOrder';
import { formatTokens } from './tokenEstimate';

/** One line for a failure on a node, as the user reads it in a fallback notice or an error. */
export function describeFailure(err: unknown): string {
  if (err instanceof NodeError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Nothing eligible for the request: why, node by node, and what to do. */
export function noNodeError(tier: Tier, strategy: FallbackStrategy, all: readonly NodeInfo[], now: number): ErrorEvent {
  const inTier = all.filter((n) => n.tier === tier);
  const describeNode = (n: NodeInfo) => `${n.name} (${nodeUnavailableReason(n, now)})`;
  let message: string;
  if (all.length === 0) {
    message = 'No nodes are configured. Add nodes under cluster.nodes in harombe.yaml (see `harombe config check`).';
  } else if (strategy === 'strict') {
    message =
      inTier.length === 0
        ? `No node has tier ${tier}, and fallback_strategy is strict. Add a tier ${tier} node or set cluster.routing.fallback_strategy: graceful.`
        : `No tier ${tier} node is available and fallback_strategy is strict: ${inTier.map(describeNode).join(', ')}.`;
  } else {
    message = `No node is available in any tier: ${all.map(describeNode).join(', ')}.`;
  }
  return { type: 'error', code: 'no_node', message, attempts: [] };
}

/** Every candidate was tried and failed. */
export function allFailed(tier: Tier, attempts: { node: string; reason: string }[]): ErrorEvent {
  const list = attempts.map((a) => `${a.node}: ${a.reason}`).join('; ');
  return { type: 'error', code: 'all_failed', message: `Every node that could take this tier ${tier} request failed (${list}).`, attempts };
}

function nodeUnavailableReason(n: NodeInfo, now: number): string {
  if (n.breaker.state === 'open') {
    const secs = n.breaker.retryAt ? Math.max(0, Math.ceil((n.breaker.retryAt - now) / 1000)) : undefined;
    return secs === undefined ? 'circuit open' : `circuit open, retry in ${secs} s`;
  }
  if (n.state === 'available' || n.state === 'degraded') return n.inFlight >= n.maxParallel ? 'busy' : n.state;
  return n.stateReason ? `${n.state}: ${n.stateReason}` : n.state;
}

/**
 * No node's window holds the request: nothing was sent (or the one node tried refused it). Says
 * how large the request is, the largest window in the cluster, and what to do.
 */
export function tooLargeError(opts: {
  promptTokens: number;
  needTokens: number;
  tier: Tier;
  strategy: FallbackStrategy;
  forced: boolean;
  nodes: readonly NodeInfo[];
  attempts?: { node: string; reason: string }[];
}): ErrorEvent {
  const { promptTokens, needTokens, nodes } = opts;
  const size = `This request needs ~${formatTokens(needTokens)} tokens (a prompt of ~${formatTokens(promptTokens)} and ${formatTokens(needTokens - promptTokens)} kept for the answer)`;
  const largest = widest(nodes);
  const inTier = widest(nodes.filter((n) => n.tier === opts.tier));
  let where: string;
  if (opts.strategy === 'strict' && inTier && (!largest || largest.contextWindow.tokens > inTier.contextWindow.tokens)) {
    where = `, more than any tier ${opts.tier} node holds (the largest is ${describe(inTier)}) and fallback_strategy is strict${largest ? `; ${describe(largest)} would hold more` : ''}`;
  } else {
    where = largest ? `, more than any node holds: the largest window in the cluster is ${describe(largest)}` : ', and no node serves it';
  }
  // A node whose model can hold more than Harombe runs it with.
  const growable = nodes.filter((n) => n.contextWindow.max !== undefined && n.contextWindow.max >= needTokens && n.contextWindow.max > n.contextWindow.tokens)[0];
  const todo = growable
    ? `Set context_length: ${roundUp(needTokens)} on ${growable.name} in harombe.yaml (its model holds up to ${formatTokens(growable.contextWindow.max as number)} tokens; a larger window needs more memory on the node), or attach less.`
    : 'Attach less (a selection instead of the whole file), start a new conversation, or add a node whose model holds more and set its context_length in harombe.yaml.';
  return { type: 'error', code: 'too_large', message: `${size}${where}. ${opts.attempts?.length ? `${opts.attempts.map((a) => a.node).join(', ')} refused it as too long` : 'Nothing was sent'}. ${todo}`, attempts: opts.attempts ?? [] };
}

function widest(nodes: readonly NodeInfo[]): NodeInfo | undefined {
  let best: NodeInfo | undefined;
  for (const n of nodes) if (!best || n.contextWindow.tokens > best.contextWindow.tokens) best = n;
  return best;
}

function describe(n: NodeInfo): string {
  return `${formatTokens(n.contextWindow.tokens)} tokens on ${n.name} (tier ${n.tier})`;
}

/** A window size a user would write: the next multiple of 4096. */
function roundUp(tokens: number): number {
  return Math.ceil(tokens / 4096) * 4096;
}
