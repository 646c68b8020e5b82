import { createHash } from 'node:crypto';
import type { NodeInfo } from '../nodes/nodeInfo';

/**
 * Rendezvous (highest-random-weight) hashing: every node gets a weight from a hash of the key and
 * the node's identity, and the heaviest wins. Any coordinator with the same key and the same nodes
 * computes the same winner without talking to the others, and a node joining or leaving moves only
 * the keys it wins or held (about 1/n of them), not everyone's.
 */
export function rendezvousPick<T>(key: string, items: readonly T[], idOf: (item: T) => string): T | undefined {
  let best: T | undefined;
  let bestWeight = -1;
  let bestId = '';
  for (const item of items) {
    const id = idOf(item);
    const w = rendezvousWeight(key, id);
    // Equal weights (vanishingly rare) break by id, never by list order, so every coordinator agrees.
    if (w > bestWeight || (w === bestWeight && id > bestId)) {
      best = item;
      bestWeight = w;
      bestId = id;
    }
  }
  return best;
}

/** A 48-bit weight for (key, node): the first six bytes of SHA-256, uniform enough and the same in every process. */
export function rendezvousWeight(key: string, id: string): number {
  return createHash('sha256').update(key).update('\n').update(id).digest().readUIntBE(0, 6);
}

/**
 * What every coordinator calls the node, whatever name its config gives it: a worker's node id
 * once a probe has told it, else its address.
 */
export function affinityId(node: NodeInfo): string {
  return node.nodeId ?? `${node.host}:${node.port}`;
}
