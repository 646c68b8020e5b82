import type { NodeKind } from '../config/schema';

export type NodeState = 'available' | 'degraded' | 'unavailable' | 'untrusted';
export type BreakerState = 'closed' | 'open' | 'half-open';
export type NodeSource = 'config' | 'mdns';

/** What a node's model can do, in Ollama's words (`POST /api/show` → `capabilities`). */
export const CAPABILITIES = ['completion', 'tools', 'insert', 'vision', 'thinking', 'embedding'] as const;
export type Capability = (typeof CAPABILITIES)[number];

/**
 * What the node's model can and cannot do, and how Harombe knows: `reported` by the server
 * (Ollama's `/api/show`, a worker's `/health`), `configured` in `capabilities:`, or `unknown`
 * (an OpenAI-compatible server says nothing). `lacks` also holds what a refusal taught.
 */
export interface NodeCapabilities {
  has: Capability[];
  lacks: Capability[];
  source: 'reported' | 'configured' | 'unknown';
}

/**
 * The context window Harombe uses on the node, in tokens. `tokens` is what a prompt plus its
 * answer must fit in (for Ollama, the `num_ctx` Harombe sends); `max` the model's trained maximum
 * where known. `source`: `configured` (`context_length:`), `reported` (the server said what it
 * runs with: `/api/ps`, llama.cpp `/props`, vLLM `max_model_len`), `chosen` (Harombe's default for
 * servers where it sets the window itself), `assumed` (the server's documented default: nothing
 * could be learned).
 */
export interface ContextWindow {
  tokens: number;
  max?: number;
  source: 'configured' | 'reported' | 'chosen' | 'assumed';
}

/**
 * How busy a node is, as the router counts it: requests `running` on the model and `queued` for a
 * turn, out of `maxParallel` at once. `reported`: the node said so (a harombe worker's `/load`,
 * llama.cpp or vLLM `/metrics`) at `at`, and this coordinator's own dispatches since are added on
 * top; `local`: the node reports nothing usable (plain Ollama: ollama/ollama#2004), so this is only
 * what this coordinator itself has in flight there.
 */
export interface NodeLoad {
  running: number;
  queued: number;
  maxParallel: number;
  /** When the node reported it (ms since epoch); for `local`, when it was counted. */
  at: number;
  source: 'reported' | 'local';
}

/** Hardware a `harombe start` worker reports in its /health, where it could detect it. */
export interface NodeHardware {
  cpu?: string;
  cores?: number;
  ramGb?: number;
  gpu?: string;
  vramGb?: number;
}

/** A read-only snapshot of one node, as the UIs, the CLI and the router see it. */
export interface NodeInfo {
  /** Unique within the registry; the config name, or the announced name for discovered nodes. */
  name: string;
  host: string;
  port: number;
  kind: NodeKind;
  tier: 0 | 1 | 2;
  /** The model configured (or announced) for this node. */
  model: string;
  source: NodeSource;
  state: NodeState;
  /** Why the node is not `available` (last probe or request error), if it is not. */
  stateReason?: string;
  /** EWMA of health-probe round trips, ms; undefined until the first successful probe. */
  latencyMs?: number;
  /** Requests this coordinator has in flight on the node right now. */
  inFlight: number;
  /** Requests the node itself reports in flight (harombe workers, Ollama /api/ps loaded count). */
  reportedLoad?: number;
  maxParallel: number;
  /** The load the router ranks by: what the node reported plus this coordinator's dispatches since, or the local count. */
  load: NodeLoad;
  /** Models the node has (Ollama /api/tags, OpenAI /v1/models, worker /health). */
  models: string[];
  /** Models loaded in memory right now (Ollama /api/ps); a loaded model answers much sooner. */
  loadedModels: string[];
  /** Last successful probe or answer, ms since epoch. */
  lastSeen?: number;
  breaker: { state: BreakerState; /** When an open breaker will let a trial through, ms since epoch. */ retryAt?: number };
  /** For `harombe` nodes: whether the worker streams through an Ollama proxy (`/api/chat`) or only offers Harombe 0.3.1's `/api/complete`. */
  api?: 'ollama' | 'complete';
  version?: string;
  nodeId?: string;
  hardware?: NodeHardware;
  capabilities: NodeCapabilities;
  contextWindow: ContextWindow;
  /** SHA256 fingerprint of the host key the worker proved at its last answer; absent for Harombe 0.3.1 workers and other kinds. */
  keyFingerprint?: string;
  /** The node refused our token (or needs one and none is set): shown as its own state, never routed to. */
  tokenRefused?: boolean;
}
