import type { Capability } from '../nodes/nodeInfo';

/**
 * What went wrong talking to a node. `kind` drives the coordinator: most kinds are failures of the
 * node (they count on its circuit breaker and the request moves to the next node); `busy` and
 * `rate_limited` move the request without blaming the node; `aborted` is the user's own cancel.
 */
export type NodeErrorKind =
  | 'refused' // connection refused / reset before any answer
  | 'connect_timeout' // could not connect in time
  | 'stall' // no byte for longer than the stall timeout (before or during the answer)
  | 'http' // a non-2xx status other than the ones below
  | 'auth' // 401 / 403: the token is wrong or missing
  | 'busy' // 503 from a full Ollama queue: try elsewhere, not a breaker failure
  | 'rate_limited' // 429, maybe with Retry-After
  | 'protocol' // malformed NDJSON / SSE / JSON
  | 'oversized' // one line larger than the limit
  | 'incomplete' // stream ended without its final record (or the socket died mid-answer)
  | 'unsupported' // a 400 saying the node's model cannot do what the request needs (tools, images…): try a node that can
  | 'context_exceeded' // the prompt is longer than the node's window: try a node with a larger one
  | 'invalid_request' // the request itself cannot be sent (e.g. a body too deep to serialise): no node would take it
  | 'aborted'; // cancelled by the caller

const NOT_A_NODE_FAULT: ReadonlySet<NodeErrorKind> = new Set(['busy', 'rate_limited', 'unsupported', 'context_exceeded', 'invalid_request', 'aborted']);

export interface NodeErrorDetails {
  status?: number;
  retryAfterMs?: number;
  cause?: unknown;
  /** `unsupported`: what the model cannot do. */
  capability?: Capability;
  /** `context_exceeded`: the prompt's size and the window, in tokens, where the node said. */
  promptTokens?: number;
  contextTokens?: number;
}

export class NodeError extends Error {
  override readonly name = 'NodeError';

  constructor(
    readonly kind: NodeErrorKind,
    message: string,
    readonly details: NodeErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }

  /** Whether this failure should count against the node's circuit breaker. */
  get countsAgainstNode(): boolean {
    return !NOT_A_NODE_FAULT.has(this.kind);
  }

  /** Whether another node could answer where this one failed: not when the request itself is at fault. */
  get worthRetrying(): boolean {
    return this.kind !== 'invalid_request' && this.kind !== 'aborted';
  }
}
