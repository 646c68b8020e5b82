/**
 * How long to wait when every node that could take a request turned it away as busy: exponential
 * steps with jitter (so coordinators refused together do not come back together), never sooner
 * than a node's `Retry-After`, and never past the budget, after which the request fails as
 * "cluster busy". Pure: the clock and the randomness are the caller's.
 */
export interface BusyBackoffOptions {
  /** Longest the request may spend waiting for a free node in all, ms. */
  budgetMs: number;
  /** The first step, ms; each next one doubles, up to `maxStepMs`. */
  firstStepMs?: number;
  maxStepMs?: number;
  now: () => number;
  /** In [0, 1). */
  random: () => number;
}

export class BusyBackoff {
  private readonly started: number;
  private steps = 0;

  constructor(private readonly opts: BusyBackoffOptions) {
    this.started = opts.now();
  }

  /** How long the request has been trying, ms. */
  get elapsedMs(): number {
    return this.opts.now() - this.started;
  }

  /**
   * The wait before the next round, or undefined when the budget is spent. `retryAfterMs` is the
   * shortest Retry-After the nodes gave this round (a node that says when it will have room is
   * not asked sooner).
   */
  next(retryAfterMs?: number): number | undefined {
    const left = this.opts.budgetMs - this.elapsedMs;
    if (left <= 0) return undefined;
    const first = this.opts.firstStepMs ?? 250;
    const cap = this.opts.maxStepMs ?? 4000;
    const step = Math.min(cap, first * 2 ** this.steps);
    this.steps++;
    // "Equal jitter": at least half the step, so a round never comes back at once.
    const jittered = step / 2 + this.opts.random() * (step / 2);
    const wait = Math.max(jittered, retryAfterMs ?? 0);
    return Math.min(wait, left);
  }
}
