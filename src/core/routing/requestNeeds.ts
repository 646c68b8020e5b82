import type { ChatMessage, ToolDefinition, WireRequest } from '../inference/types';
import { nodeCan } from '../nodes/capabilities';
import type { Capability, NodeInfo } from '../nodes/nodeInfo';
import type { Requirement } from './nodeSelector';

/** The capabilities a chat request needs of a node's model. */
export function capabilitiesNeeded(request: { messages: readonly ChatMessage[]; tools?: readonly ToolDefinition[]; wire?: WireRequest }): Capability[] {
  const needs: Capability[] = ['completion'];
  const wireBody = request.wire?.body;
  if ((request.tools?.length ?? 0) > 0 || hasItems(wireBody?.tools)) needs.push('tools');
  if (hasImages(wireBody?.messages) || (request.wire?.path === '/api/generate' && hasItems(wireBody?.images))) needs.push('vision');
  return needs;
}

/** A node qualifies unless it is known to lack `capability`. */
export function capabilityRequirement(capability: Capability): Requirement {
  return {
    met: (n: NodeInfo) => nodeCan(n, capability) !== false,
    unmet: (n: NodeInfo) => `${n.model} on ${n.name} ${LACKS[capability]}`,
  };
}

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
