/**
 * The worker's door: at most `maxParallel` requests run at once, at most `maxQueue` wait for a
 * turn (each for at most `maxWaitMs`), and anything more is turned away at once, before any prompt
 * work, so every coordinator that sends here learns the node is full and tries another.
 *
 * Ollama does not do this itself: `OLLAMA_MAX_QUEUE` does not bound requests for a model that is
 * already loaded (ollama/ollama#7758), and it reports no queue (ollama/ollama#2004); llama.cpp's
 * deferred queue is unbounded (ggml-org/llama.cpp#5018).
 */
export interface AdmissionOptions {
  maxParallel: number;
  /** Requests that may wait for a turn; 0 turns away everything past `maxParallel`. */
  maxQueue: number;
  /** Longest a request waits for a turn before it is turned away, ms. */
  maxWaitMs: number;
  now?: () => number;
}

/** What the worker is doing right now, as `/load` and `/health` report it. */
export interface AdmissionLoad {
  running: number;
  queued: number;
  maxParallel: number;
  maxQueue: number;
}

/** A turn to run; `release()` (any number of times) gives it back. `waitedMs` is how long it queued. */
export interface Ticket {
  release(): void;
  waitedMs: number;
}

/** Why a request was turned away, and when it is worth trying again, in ms. */
export interface Refusal {
  refused: 'full' | 'timeout';
  retryAfterMs: number;
}

interface Waiter {
  resolve(t: Ticket | Refusal): void;
  timer: NodeJS.Timeout;
  enqueuedAt: number;
  onAbort: () => void;
  signal: AbortSignal | undefined;
}

/** Weight of the newest run in the average service time. */
const SERVICE_ALPHA = 0.2;
const MIN_RETRY_AFTER_MS = 100;
const MAX_RETRY_AFTER_MS = 30_000;

export class Admission {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  private serviceMs: number | undefined;
  private readonly now: () => number;
  /** Counters since start, for logs and the bench. */
  readonly counts = { admitted: 0, queued: 0, refused: 0, timedOut: 0 };

  constructor(private readonly opts: AdmissionOptions) {
    this.now = opts.now ?? Date.now;
  }

  load(): AdmissionLoad {
    return { running: this.running, queued: this.waiting.length, maxParallel: this.opts.maxParallel, maxQueue: this.opts.maxQueue };
  }

  /**
   * A turn now, a turn after a wait in the queue, or a refusal. A request whose client leaves
   * while it waits (`signal` aborts) leaves the queue; it resolves as a refusal nobody reads.
   */
  enter(signal?: AbortSignal): Promise<Ticket | Refusal> {
    if (this.running < this.opts.maxParallel && this.waiting.length === 0) {
      this.counts.admitted++;
      return Promise.resolve(this.ticket(0));
    }
    if (this.waiting.length >= this.opts.maxQueue || signal?.aborted) {
      this.counts.refused++;
      return Promise.resolve({ refused: 'full', retryAfterMs: this.retryAfterMs() });
    }
    this.counts.queued++;
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve,
        enqueuedAt: this.now(),
        signal,
        timer: setTimeout(() => {
          this.drop(waiter);
          this.counts.timedOut++;
          resolve({ refused: 'timeout', retryAfterMs: this.retryAfterMs() });
        }, this.opts.maxWaitMs),
        onAbort: () => {
          this.drop(waiter);
          resolve({ refused: 'full', retryAfterMs: 0 });
        },
      };
      waiter.timer.unref?.();
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  /** When a turn is likely free, ms: the queue ahead, served `maxParallel` at a time at the average service time. */
  retryAfterMs(): number {
    const per = this.serviceMs ?? 1000;
    const ahead = this.waiting.length + 1;
    return Math.round(Math.min(MAX_RETRY_AFTER_MS, Math.max(MIN_RETRY_AFTER_MS, (per * ahead) / this.opts.maxParallel)));
  }

  private drop(w: Waiter): void {
    clearTimeout(w.timer);
    w.signal?.removeEventListener('abort', w.onAbort);
    const i = this.waiting.indexOf(w);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  private ticket(waitedMs: number): Ticket {
    this.running++;
    const started = this.now();
    let released = false;
    return {
      waitedMs,
      release: () => {
        if (released) return;
        released = true;
        this.running--;
        const took = this.now() - started;
        this.serviceMs = this.serviceMs === undefined ? took : SERVICE_ALPHA * took + (1 - SERVICE_ALPHA) * this.serviceMs;
        this.next();
      },
    };
  }

  private next(): void {
    while (this.running < this.opts.maxParallel && this.waiting.length > 0) {
      const w = this.waiting[0] as Waiter;
      this.drop(w);
      this.counts.admitted++;
      w.resolve(this.ticket(this.now() - w.enqueuedAt));
    }
  }
}

export function isRefusal(t: Ticket | Refusal): t is Refusal {
  return 'refused' in t;
}
