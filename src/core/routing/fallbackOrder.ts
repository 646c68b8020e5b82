import type { Tier } from './classification';

export type FallbackStrategy = 'graceful' | 'strict';

const GRACEFUL: Record<Tier, readonly Tier[]> = {
  // Down from the most capable first: a slower big model beats no answer, a smaller one is next best.
  2: [2, 1, 0],
  // A medium task is better served by the bigger model than the smaller one.
  1: [1, 2, 0],
  0: [0, 1, 2],
};

/** Tiers to try, in order, for a request that wants `tier`. */
export function fallbackOrder(tier: Tier, strategy: FallbackStrategy): readonly Tier[] {
  return strategy === 'strict' ? [tier] : GRACEFUL[tier];
}
