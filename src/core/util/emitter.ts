/** A listener registration that can be undone; shaped like VS Code's Disposable so it fits `context.subscriptions`. */
export interface Disposable {
  dispose(): void;
}

/**
 * A tiny typed event emitter. Core cannot use VS Code's EventEmitter, and Node's is untyped and
 * keeps listeners alive after the owner is gone unless someone remembers `removeListener`.
 */
export class Emitter<T> implements Disposable {
  private listeners = new Set<(value: T) => void>();

  /** Subscribe; returns a Disposable that unsubscribes. */
  readonly event = (listener: (value: T) => void): Disposable => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };

  fire(value: T): void {
    for (const l of [...this.listeners]) {
      try {
        l(value);
      } catch {
        // A faulty listener must not break the emitter or the other listeners.
      }
    }
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  dispose(): void {
    this.listeners.clear();
  }
}
