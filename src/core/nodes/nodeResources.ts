import type { Agent, Dispatcher } from 'undici';
import { createNodeDispatcher } from '../inference/nodeDispatcher';
import type { Disposable } from '../util/emitter';
import type { Logger } from '../util/logger';
import { NodeBreaker, type BreakerOptions } from './nodeBreaker';
import type { BreakerState } from './nodeInfo';

/** Idle keep-alive sockets are kept a little longer than a health interval so probes and prompts reuse them. */
const KEEP_ALIVE_MS = 30_000;

/**
 * What one node owns that must be torn down with it: its circuit breaker (and the registry's
 * subscription to it) and its keep-alive connection pool. One `dispose()` instead of the same
 * teardown written at every place a node leaves.
 */
export class NodeResources implements Disposable {
  breaker: NodeBreaker;
  private subscription: Disposable;
  private agent: Agent | undefined;

  constructor(
    private readonly name: string,
    options: BreakerOptions,
    private readonly logger: Logger,
    /** Told of every breaker state change; the registry uses it to mark the node changed. */
    private readonly onBreakerState: (state: BreakerState, resources: NodeResources) => void,
  ) {
    this.breaker = new NodeBreaker(name, options, logger);
    this.subscription = this.watch();
  }

  /** A breaker with new settings (cockatiel's are immutable); the old one's running calls are aborted. */
  replaceBreaker(options: BreakerOptions): void {
    this.subscription.dispose();
    this.breaker.dispose();
    this.breaker = new NodeBreaker(this.name, options, this.logger);
    this.subscription = this.watch();
  }

  /** The node's keep-alive connection pool, created on first use. */
  dispatcher(timeouts: { connectTimeoutMs: number }): Dispatcher {
    this.agent ??= createNodeDispatcher(timeouts, { keepAliveTimeoutMs: KEEP_ALIVE_MS });
    return this.agent;
  }

  /** Closes the pool (the next `dispatcher()` builds a new one); requests outside the breaker (a cluster test) may finish. */
  closeDispatcher(): void {
    const agent = this.agent;
    this.agent = undefined;
    void agent?.close().catch(() => undefined);
  }

  /** The node left: aborts requests still running through the breaker (so they move to another node) and closes the pool. */
  dispose(): void {
    this.subscription.dispose();
    this.breaker.dispose();
    this.closeDispatcher();
  }

  /** At shutdown: the pool is destroyed, not drained. */
  destroy(): void {
    this.subscription.dispose();
    this.breaker.dispose();
    void this.agent?.destroy().catch(() => undefined);
    this.agent = undefined;
  }

  private watch(): Disposable {
    return this.breaker.onDidChangeState((state) => this.onBreakerState(state, this));
  }
}
