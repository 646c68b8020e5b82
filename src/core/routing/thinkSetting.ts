import type { HarombeConfig } from '../config/schema';
import type { NodeInfo } from '../nodes/nodeInfo';

/**
 * Ollama's `think` for a request to `node`: the node's own `think` setting, else its tier's
 * (`cluster.think`); undefined for `default`, which leaves the field out and the model to
 * its default. A node found by mDNS has no entry in the config and follows its tier.
 */
export function thinkFor(config: HarombeConfig, node: Pick<NodeInfo, 'name' | 'tier'>): boolean | undefined {
  const own = config.cluster.nodes.find((n) => n.name === node.name)?.think;
  const byTier = config.cluster.think;
  const choice = own ?? (node.tier === 0 ? byTier.tier_0 : node.tier === 1 ? byTier.tier_1 : byTier.tier_2);
  return choice === 'on' ? true : choice === 'off' ? false : undefined;
}
