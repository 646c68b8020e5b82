import {
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  handleWhen,
  isBrokenCircuitError,
  type CircuitBreakerPolicy,
  type IBreaker,
  type IDisposable,
} from 'cockatiel';
import type { HarombeConfig } from '../config/schema';
import { NodeError } from '../inference/nodeError';
import { Canceller, type CancelSignal, type CancelSource } from '../util/canceller';
import { Emitter, type Disposable } from '../util/emitter';
import { silentLogger, type Logger } from '../util/logger';
import { CircuitOpenError } from './circuitOpenError';
import type { BreakerState } from './nodeInfo';

export interface BreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit refuses requests before it lets one trial through, ms. */
  halfOpenAfterMs: number;
  /** Successful trials in a row that close a half-open circuit. */
  successThreshold: number;
  /** A half-open trial running longer than this counts as a failure and re-opens the circuit, ms. */
  halfOpenTimeoutMs: number;
}

/** The `cluster.circuit_breaker` section (seconds, snake_case) as breaker options. */
export function breakerOptionsFromConfig(config: HarombeConfig['cluster']['circuit_breaker']): BreakerOptions {
  return {
    failureThreshold: config.failure_threshold,
    halfOpenAfterMs: config.timeout * 1000,
    successThreshold: config.success_threshold,
    halfOpenTimeoutMs: config.half_open_timeout * 1000,
  };
}

/** Only failures of the node itself count: busy, rate-limited and cancelled requests say nothing about its health. */
function countsAgainstNode(err: unknown): boolean {
  return err instanceof NodeError && err.countsAgainstNode;
}

/** How the latest half-open trial ended, as far as the node's health goes. */
type Verdict = 'success' | 'failure' | 'none';

/**
 * cockatiel closes a half-open circuit after a single good trial, and it also closes it when the
 * trial threw an error the policy does not handle (a cancelled request). Harombe wants
 * `successThreshold` real successes, so after cockatiel closes, this counter keeps the node on
 * probation: cockatiel is closed, but the next failure opens it at once, and the breaker reports
 * `half-open` until enough successes have come back.
 */
class ProbationBreaker implements IBreaker {
  private readonly consecutive: ConsecutiveBreaker;
  /** Successes still needed before the circuit counts as closed. */
  probation = 0;

  constructor(
    failureThreshold: number,
    private readonly successThreshold: number,
    private readonly takeTrialVerdict: () => Verdict,
  ) {
    this.consecutive = new ConsecutiveBreaker(failureThreshold);
  }

  get state(): unknown {
    return { consecutive: this.consecutive.state, probation: this.probation };
  }

  set state(value: unknown) {
    const v = value as { consecutive?: number; probation?: number } | undefined;
    this.consecutive.state = v?.consecutive ?? 0;
    this.probation = v?.probation ?? 0;
  }

  success(state: CircuitState): void {
    this.consecutive.success();
    if (state === CircuitState.HalfOpen) {
      // cockatiel is closing the circuit after one trial; a trial without a verdict proved nothing.
      this.probation = this.successThreshold - (this.takeTrialVerdict() === 'success' ? 1 : 0);
    } else if (this.probation > 0) {
      this.probation--;
    }
  }

  failure(_state: CircuitState): boolean {
    const opens = this.consecutive.failure();
    if (this.probation > 0) {
      this.probation = 0;
      return true;
    }
    return opens;
  }

  clear(): void {
    this.consecutive.success();
    this.probation = 0;
  }
}

/**
 * One node's circuit breaker, on cockatiel's. Closed: requests pass; `failureThreshold` failures in
 * a row open it. Open: requests are refused with `CircuitOpenError` until `halfOpenAfterMs` have
 * passed. Half-open: one trial request at a time; a failure, or a trial slower than
 * `halfOpenTimeoutMs`, opens it again; `successThreshold` successes close it. Only `NodeError`s
 * that count against the node are failures.
 *
 * Times are wall-clock (`Date.now()`), not an injected clock, because cockatiel measures the
 * cooldown with `Date.now()` and `retryAt` must agree with it.
 */
export class NodeBreaker implements Disposable {
  private readonly _onDidChangeState = new Emitter<BreakerState>();
  /** Fires with the new state, including when an open circuit's cooldown ends (open → half-open). */
  readonly onDidChangeState = this._onDidChangeState.event;

  private readonly policy: CircuitBreakerPolicy;
  private readonly counter: ProbationBreaker;
  private readonly subscription: IDisposable;
  private readonly running = new Set<CancelSource>();
  private openedAt: number | undefined;
  private cooldownTimer: NodeJS.Timeout | undefined;
  /** The half-open trial in flight, if any; an identity token so a late finisher cannot clear a newer one. */
  private trial: object | undefined;
  private trialVerdict: Verdict = 'none';
  private lastState: BreakerState = 'closed';
  private resetting = false;
  private disposed = false;

  constructor(
    readonly node: string,
    readonly options: BreakerOptions,
    private readonly logger: Logger = silentLogger,
  ) {
    this.counter = new ProbationBreaker(options.failureThreshold, options.successThreshold, () => {
      const verdict = this.trialVerdict;
      this.trialVerdict = 'none';
      return verdict;
    });
    this.policy = circuitBreaker(handleWhen(countsAgainstNode), {
      halfOpenAfter: options.halfOpenAfterMs,
      breaker: this.counter,
    });
    this.subscription = this.policy.onStateChange((s) => this.onPolicyState(s));
  }

  get state(): BreakerState {
    switch (this.policy.state) {
      case CircuitState.Closed:
        return this.counter.probation > 0 ? 'half-open' : 'closed';
      case CircuitState.HalfOpen:
        return 'half-open';
      case CircuitState.Open:
        return Date.now() >= this.cooldownEnd() ? 'half-open' : 'open';
      default:
        return 'open';
    }
  }

  /** When an open circuit lets its next trial through, ms since epoch; undefined unless `state` is `open`. */
  get retryAt(): number | undefined {
    return this.state === 'open' ? this.cooldownEnd() : undefined;
  }

  /** Whether a request would be let through now: closed, or half-open with no trial in flight. */
  canAttempt(): boolean {
    if (this.disposed) return false;
    const state = this.state;
    return state === 'closed' || (state === 'half-open' && this.trial === undefined);
  }

  /**
   * Runs `fn` through the breaker. Throws `CircuitOpenError` without calling `fn` when the circuit
   * refuses; otherwise returns or throws what `fn` does. `signal` aborts when a half-open trial runs
   * too long or the breaker is disposed. A caller that already has a controller for the attempt
   * passes it, so the breaker aborts that one instead of a second controller linked to it.
   */
  async execute<T>(fn: (signal: CancelSignal) => Promise<T>, controller: CancelSource = new Canceller()): Promise<T> {
    if (this.disposed) throw new NodeError('aborted', `node ${this.node} was removed`);
    const state = this.state;
    if (state === 'open') throw new CircuitOpenError(this.node, this.retryAt);
    const isTrial = state === 'half-open';
    if (isTrial && this.trial !== undefined) throw new CircuitOpenError(this.node, undefined);
    const token = {};
    if (isTrial) this.trial = token;
    this.running.add(controller);
    try {
      return await this.policy.execute(async () => {
        try {
          const value = await (isTrial ? this.withTrialTimeout(fn, controller) : fn(controller.signal));
          if (this.trial === token) this.trialVerdict = 'success';
          return value;
        } catch (err) {
          if (this.trial === token) this.trialVerdict = countsAgainstNode(err) ? 'failure' : 'none';
          throw err;
        }
      });
    } catch (err) {
      if (isBrokenCircuitError(err)) throw new CircuitOpenError(this.node, this.retryAt, { cause: err });
      throw err;
    } finally {
      this.running.delete(controller);
      if (this.trial === token) this.trial = undefined;
      this.refresh();
    }
  }

  /** Closes the circuit and forgets past failures (the user's "reset breaker"). */
  reset(): void {
    if (this.disposed) return;
    // cockatiel has no reset; releasing a manual hold is its way back to closed.
    this.resetting = true;
    try {
      this.policy.isolate().dispose();
    } finally {
      this.resetting = false;
    }
    this.counter.clear();
    this.trial = undefined;
    this.trialVerdict = 'none';
    this.openedAt = undefined;
    this.clearCooldownTimer();
    this.logger.info(`circuit of node ${this.node} reset`);
    this.refresh();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.clearCooldownTimer();
    this.subscription.dispose();
    for (const c of this.running) c.abort(new NodeError('aborted', `node ${this.node} was removed`));
    this.running.clear();
    this._onDidChangeState.dispose();
  }

  private cooldownEnd(): number {
    return (this.openedAt ?? 0) + this.options.halfOpenAfterMs;
  }

  private withTrialTimeout<T>(fn: (signal: CancelSignal) => Promise<T>, controller: CancelSource): Promise<T> {
    const ms = this.options.halfOpenTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        // A kind that counts against the node, so cockatiel re-opens the circuit; the caller is not left waiting for fn.
        const err = new NodeError('stall', `half-open trial on node ${this.node} took longer than ${formatMs(ms)}`);
        controller.abort(err);
        reject(err);
      }, ms);
      timer.unref();
      fn(controller.signal).then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  private onPolicyState(state: CircuitState): void {
    if (state === CircuitState.Open) {
      // Read after cockatiel stamped its own openedAt, so ours is never earlier and our retryAt never precedes its decision.
      this.openedAt = Date.now();
      this.scheduleCooldownEnd(this.options.halfOpenAfterMs);
      const reason = this.policy.lastFailure && 'error' in this.policy.lastFailure ? describe(this.policy.lastFailure.error) : 'failures';
      this.logger.warn(`circuit of node ${this.node} opened (${reason}); next trial in ${formatMs(this.options.halfOpenAfterMs)}`);
    } else {
      this.clearCooldownTimer();
    }
    this.refresh();
  }

  private scheduleCooldownEnd(ms: number): void {
    this.clearCooldownTimer();
    this.cooldownTimer = setTimeout(() => {
      this.cooldownTimer = undefined;
      const left = this.cooldownEnd() - Date.now();
      // Timers and Date.now() can disagree by a millisecond; wait out the rest rather than report half-open early.
      if (this.policy.state === CircuitState.Open && left > 0) this.scheduleCooldownEnd(left);
      else this.refresh();
    }, ms);
    this.cooldownTimer.unref();
  }

  private clearCooldownTimer(): void {
    if (this.cooldownTimer !== undefined) clearTimeout(this.cooldownTimer);
    this.cooldownTimer = undefined;
  }

  private refresh(): void {
    if (this.resetting || this.disposed) return;
    const state = this.state;
    if (state === this.lastState) return;
    if (state === 'closed') this.logger.info(`circuit of node ${this.node} closed`);
    else if (state === 'half-open') this.logger.info(`circuit of node ${this.node} half-open: next request is a trial`);
    this.lastState = state;
    this._onDidChangeState.fire(state);
  }
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
