/**
 * A seeded random source for tests that pick at random (chaos, random waits), so that a failure
 * can be replayed: the seed comes from HAROMBE_TEST_SEED when set, else from the clock, and the
 * test prints it in its failure messages. mulberry32: small, and good enough to pick faults.
 */
export interface SeededRandom {
  readonly seed: number;
  /** In [0, 1), like Math.random(). */
  next(): number;
}

export function seededRandom(seed = Number(process.env.HAROMBE_TEST_SEED ?? Date.now() % 2 ** 32)): SeededRandom {
  let a = seed >>> 0;
  return {
    seed,
    next() {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}
