/** Recent times to first token per node, for picking the fastest and deciding when to hedge. */
export class LatencyTracker {
  private readonly samples = new Map<string, number[]>();

  constructor(private readonly window = 50) {}

  record(node: string, ms: number): void {
    const list = this.samples.get(node) ?? [];
    list.push(ms);
    if (list.length > this.window) list.shift();
    this.samples.set(node, list);
  }

  count(node: string): number {
    return this.samples.get(node)?.length ?? 0;
  }

  /** The `q` quantile (0..1) of the node's recent samples, or undefined before any. */
  quantile(node: string, q: number): number | undefined {
    const list = this.samples.get(node);
    if (!list || list.length === 0) return undefined;
    const sorted = [...list].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  }
}
