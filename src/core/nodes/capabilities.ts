import { CAPABILITIES, type Capability, type NodeCapabilities, type NodeInfo } from './nodeInfo';

/** What the probes and refusals have found, kept per node. */
export interface CapabilityFacts {
  /** The server's own list (Ollama `/api/show`, a worker's `/health`), for the node's model. */
  reported?: Capability[];
  /** The user's list (`cluster.nodes[].capabilities`): for servers that cannot say. */
  configured?: Capability[];
  /** What the node refused with a 400 naming the capability, since it last reported. */
  refused: Capability[];
}

/** The node's capabilities: the user's list first, then the server's, then only what refusals taught. */
export function resolveCapabilities(facts: CapabilityFacts): NodeCapabilities {
  const listed = facts.configured ?? facts.reported;
  if (listed) {
    const has = CAPABILITIES.filter((c) => listed.includes(c) && !facts.refused.includes(c));
    return { has, lacks: CAPABILITIES.filter((c) => !has.includes(c)), source: facts.configured ? 'configured' : 'reported' };
  }
  return { has: [], lacks: [...facts.refused], source: 'unknown' };
}

/**
 * Whether the node can do `capability`: `true`/`false` when known, `undefined` when nothing says.
 * Chat on an unknown server is assumed to work (a refusal then teaches otherwise).
 */
export function nodeCan(node: Pick<NodeInfo, 'capabilities'>, capability: Capability): boolean | undefined {
  const caps = node.capabilities;
  if (caps.has.includes(capability)) return true;
  if (caps.lacks.includes(capability)) return false;
  return capability === 'completion' ? true : undefined;
}

/** Capability names from a server's list (Ollama's, a worker's, the config's); unknown names are dropped. */
export function parseCapabilities(value: unknown): Capability[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return CAPABILITIES.filter((c) => value.some((v) => typeof v === 'string' && v.toLowerCase() === c));
}

/**
 * The capability a node's 400 says its model lacks, or undefined. Ollama words it
 * `registry.ollama.ai/library/gemma2:2b does not support tools` (also `insert`, `vision`,
 * `thinking`, `completion`, `embedding`); vLLM and llama.cpp started without tool parsing say
 * `"auto" tool choice requires --enable-auto-tool-choice` / `tools param requires --jinja flag`;
 * servers without vision say `image input is not supported`. A model that cannot embed answers
 * `this model does not support embeddings` (Ollama 0.12, a 500 from runner/ollamarunner/runner.go),
 * or through llama-server `This server does not support embeddings. Start it with --embeddings` (501).
 */
export function refusedCapability(message: string): Capability | undefined {
  const m = /does not support (tools|insert|vision|thinking|completion|embedding|chat|generate|images?)(?:s\b|\b)/i.exec(message);
  if (m) {
    const word = (m[1] as string).toLowerCase();
    if (word === 'chat' || word === 'generate') return 'completion';
    if (word.startsWith('image')) return 'vision';
    return word as Capability;
  }
  if (/enable-auto-tool-choice|tools param requires --jinja|tool(s| calls?) (are|is) not supported/i.test(message)) return 'tools';
  if (/image input is not supported|multimodal.*not supported|does not support (image|multimodal)/i.test(message)) return 'vision';
  return undefined;
}

/**
 * What the node's model can do beyond chat, for a table cell or a tree item: `tools, insert`,
 * `no tools` (chat only), `embedding only`, or `unknown` (the server cannot say); a refusal it
 * taught shows as `no tools (refused)`.
 */
export function capabilitiesLabel(node: Pick<NodeInfo, 'capabilities'>): string {
  const caps = node.capabilities;
  if (caps.source === 'unknown') {
    const refused = caps.lacks.map((c) => `no ${c}`).join(', ');
    return refused ? `${refused} (refused)` : 'unknown';
  }
  if (!caps.has.includes('completion')) return caps.has.includes('embedding') ? 'embedding only' : caps.has.join(', ') || 'none';
  const extra = caps.has.filter((c) => c !== 'completion');
  if (!extra.includes('tools')) return ['no tools', ...extra].join(', ');
  return extra.join(', ');
}
