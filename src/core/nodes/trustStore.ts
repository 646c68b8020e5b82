/** What the user trusted: one machine (its node id), and its token where the node has one. */
export interface TrustedNode {
  nodeId: string;
  /** sha256 of the node's token, hex; a node that comes back with another token must be trusted anew. */
  tokenFingerprint?: string;
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
