import type { NodeKind } from '../config/schema';
import type { Capability, NodeHardware } from './nodeInfo';

/** One reading of a node's own load. */
export interface ReportedLoad {
  running: number;
  queued: number;
  /** The node's own limit, where it says. */
  maxParallel?: number;
}

/** What one health probe of one node found; the registry folds it into the node's state. */
export interface ProbeResult {
  name: string;
  /** The kind and address probed: a result for a node that has since moved or changed kind is dropped. */
  kind: NodeKind;
  baseUrl: string;
  /** The node's health. `untrusted` is not a health: the registry keeps discovered nodes untrusted whatever this says. */
  state: 'available' | 'degraded' | 'unavailable';
  /** Why the state is not `available`, short enough for a tree item (`connection refused`, `timeout after 2000 ms`). */
  reason?: string;
  /** Round trip of the main probe request, ms; set whenever the node answered. */
  latencyMs?: number;
  /** Left undefined when the probe could not tell (the registry then keeps what it knew). */
  models?: string[];
  loadedModels?: string[];
  reportedLoad?: number;
  /** Requests running and waiting on the node by every client's count, where the node says (a worker's /health). */
  load?: ReportedLoad;
  maxParallel?: number;
  /** For `harombe` nodes: `ollama` when /health lists the Ollama API among `apis`, else Harombe 0.3.1's `complete`. */
  api?: 'ollama' | 'complete';
  /** The model and tier a `harombe` worker says it serves. */
  model?: string;
  tier?: 0 | 1 | 2;
  version?: string;
  nodeId?: string;
  hardware?: NodeHardware;
  /** The model the capabilities and window below are about (the node's model when the probe started). */
  probedModel?: string;
  /** What the node's model can do, where the server says (Ollama `/api/show`, a worker's `/health`). */
  capabilities?: Capability[];
  /** The model's trained maximum window, in tokens. */
  contextMax?: number;
  /** The window the server runs the model with now, in tokens. */
  contextLoaded?: number;
  /** SHA256 fingerprint of the host key a `harombe` worker proved it holds (signed this probe's nonce). */
  keyFingerprint?: string;
  /** The node refused the token sent (or needs one and none is set): up, but unusable until the token is fixed. */
  tokenRefused?: boolean;
  /** When the probe finished, ms since epoch. */
  at: number;
}
