/**
 * How long to wait after a keystroke before asking for a completion. Typing fast means the next
 * key is coming: wait about one gap between keys. A slow node shortens the wait (its answer takes
 * long anyway, so the wait is spent better on the node), a fast one lengthens it a little, so
 * requests are not spent on prefixes the user is about to change (Tabby's debouncer does the
 * same: delay = expected latency - the server's time, clamped).
 */
export class AdaptiveDebounce {
  private lastKeyAt: number | undefined;
  private gapMs: number;

  constructor(
    private readonly minMs = 40,
    private readonly maxMs = 300,
    initialGapMs = 180,
  ) {
    this.gapMs = initialGapMs;
  }

  /** A keystroke at `now`; gaps longer than a pause in typing are not typing speed. */
  keystroke(now: number): void {
    if (this.lastKeyAt !== undefined) {
      const gap = now - this.lastKeyAt;
      if (gap > 0 && gap < 1000) this.gapMs = 0.8 * this.gapMs + 0.2 * gap;
    }
    this.lastKeyAt = now;
  }

  /** The wait before asking, given the chosen node's typical time to first token. */
  delay(nodeP50Ms: number | undefined): number {
    const expected = 1.4 * this.gapMs;
    const wait = nodeP50Ms === undefined ? expected : expected - nodeP50Ms / 4;
    return Math.round(Math.min(this.maxMs, Math.max(this.minMs, wait)));
  }
}
