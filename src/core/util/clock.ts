/** Time as core sees it; tests pass a manual clock so cooldowns need no real waiting. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
