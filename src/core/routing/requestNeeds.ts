import type { ChatMessage, NodeWork, ToolDefinition, WireRequest } from '../inference/types';
import { nodeCan } from '../nodes/capabilities';
import type { Capability, NodeInfo } from '../nodes/nodeInfo';
import type { Requirement } from './nodeSelector';

/** The capabilities a request needs of a node's model. */
export function capabilitiesNeeded(request: { messages: readonly ChatMessage[]; tools?: readonly ToolDefinition[]; wire?: WireRequest; work?: NodeWork }): Capability[] {
  if (request.work?.kind === 'embedding') return ['embedding'];
  if (request.work?.kind === 'completion') return request.work.suffix ? ['completion', 'insert'] : ['completion'];
  const needs: Capability[] = ['completion'];
  const wireBody = request.wire?.body;
  if ((request.tools?.length ?? 0) > 0 || hasItems(wireBody?.tools)) needs.push('tools');
  if (hasImages(wireBody?.messages) || (request.wire?.path === '/api/generate' && hasItems(wireBody?.images))) needs.push('vision');
  return needs;
}

/**
 * A node qualifies unless the model it would be asked for is known to lack `capability`. A node's
 * facts are about its configured model; a request for another model the node has (`model`) is
 * judged by a node whose configured model that is, and passes when none says.
 */
export function capabilityRequirement(capability: Capability, model?: string, all: readonly NodeInfo[] = []): Requirement {
  const factsFor = (n: NodeInfo): NodeInfo | undefined => {
    if (model === undefined || n.model === model) return n;
    return all.find((m) => m.model === model && m.capabilities.source !== 'unknown');
  };
  return {
    met: (n: NodeInfo) => {
      const facts = factsFor(n);
      return facts === undefined || nodeCan(facts, capability) !== false;
    },
    unmet: (n: NodeInfo) => `${model ?? n.model} on ${n.name} ${LACKS[capability]}`,
  };
}

/** Raw completions and embeddings need a node's native API: a Harombe 0.3.1 worker has only `/api/complete`. */
export const NATIVE_API: Requirement = {
  met: (n: NodeInfo) => n.kind !== 'harombe' || n.api === 'ollama',
  unmet: (n: NodeInfo) => `${n.name} is a Harombe 0.3.1 worker (only /api/complete)`,
};

const LACKS: Record<Capability, string> = {
  completion: 'does not chat (an embedding model)',
  tools: 'takes no tools',
  insert: 'does not fill in the middle',
  vision: 'takes no images',
  thinking: 'does not reason',
  embedding: 'does not embed',
};

function hasItems(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0;
}

/** Ollama's `messages[].images`, or OpenAI's `content` parts of type `image_url`. */
function hasImages(messages: unknown): boolean {
  if (!Array.isArray(messages)) return false;
  return messages.some((m) => {
    if (typeof m !== 'object' || m === null) return false;
    const r = m as { images?: unknown; content?: unknown };
    if (hasItems(r.images)) return true;
    return Array.isArray(r.content) && r.content.some((p) => typeof p === 'object' && p !== null && (p as { type?: unknown }).type === 'image_url');
  });
}
