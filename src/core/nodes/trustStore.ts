/** What the user trusted: one machine (its node id), and its token where the node has one. */
export interface TrustedNode {
  nodeId: string;
  /** sha256 of the node's token, hex; a node that comes back with another token must be trusted anew. */
  tokenFingerprint?: string;
  /**
   * `SHA256:…` of the worker's host key. Pinned at trust time, or at the first probe that proves a
   * key for a node trusted before workers had keys; a node that then answers with another key (or
   * none) is refused, as SSH refuses a changed host key. Absent for Harombe 0.3.1 workers (no key).
   */
  keyFingerprint?: string;
  /** ISO time of the trust, for display. */
  trustedAt?: string;
}

/**
 * Names of discovered nodes the user trusted, pinned to the machine they trusted. The CLI and the
 * extension share one store (a file in the harombe home) so a node trusted in one is trusted in both.
 */
export interface TrustStore {
  get(name: string): TrustedNode | undefined;
  set(name: string, node: TrustedNode): void;
  delete(name: string): boolean;
  all(): Record<string, TrustedNode>;
}
