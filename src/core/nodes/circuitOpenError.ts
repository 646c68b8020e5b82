/**
 * Thrown instead of calling a node whose circuit breaker refuses the request: the circuit is open
 * (the node failed too often lately), or it is half-open and its one trial request is still
 * running. Not a `NodeError`: the node was not contacted, so nothing is recorded against it.
 */
export class CircuitOpenError extends Error {
  override readonly name = 'CircuitOpenError';

  constructor(
    readonly node: string,
    /** When the breaker lets a trial through, ms since epoch; undefined while a half-open trial is running. */
    readonly retryAt: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      retryAt === undefined
        ? `Circuit of node ${node} is half-open and its trial request is still running.`
        : `Circuit of node ${node} is open after repeated failures; next trial in ${Math.max(0, Math.ceil((retryAt - Date.now()) / 1000))} s.`,
      options,
    );
  }
}
