/**
 * Collects which nodes changed and which left, and tells `flush` once per tick: in-flight counts
 * change twice per request, and a burst of probes lands in one tick.
 */
export class ChangeBatcher {
  private readonly changed = new Set<string>();
  private readonly removed = new Set<string>();
  private handle: NodeJS.Immediate | undefined;
  private disposed = false;

  constructor(private readonly flush: (changed: string[], removed: string[]) => void) {}

  changedNode(name: string): void {
    this.changed.add(name);
    this.schedule();
  }

  /** A node left: it is told as removed, not as changed, even if it changed earlier in the tick. */
  removedNode(name: string): void {
    this.changed.delete(name);
    this.removed.add(name);
    this.schedule();
  }

  /** A node came back in the same tick it left: it is no longer reported removed. */
  readded(name: string): void {
    this.removed.delete(name);
  }

  dispose(): void {
    this.disposed = true;
    if (this.handle) clearImmediate(this.handle);
    this.handle = undefined;
  }

  private schedule(): void {
    if (this.disposed || this.handle) return;
    this.handle = setImmediate(() => {
      this.handle = undefined;
      const changed = [...this.changed];
      const removed = [...this.removed];
      this.changed.clear();
      this.removed.clear();
      this.flush(changed, removed);
    });
    // A pending notification must not keep a finished CLI command alive.
    this.handle.unref();
  }
}
