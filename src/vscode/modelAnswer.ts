import type { Coordinator } from '../core/coordinator';
import type { ChatMessage } from '../core/inference/types';
import type { Intent, Tier } from '../core/routing/classification';
import { contextNotices } from '../core/routing/contextNotices';

export interface ModelAnswer {
  text: string;
  node: string;
  tier: Tier;
  /** Set when the node was chosen because a nearer one's window could not hold the request: the route's reason. */
  movedForFit?: string;
}

/**
 * Runs one request through the coordinator and collects the answer, dropping a partial answer
 * when a node fails over. Rejects with the coordinator's own explanation when no node answers.
 */
export async function modelAnswer(
  coordinator: Coordinator,
  request: { messages: ChatMessage[]; tier: Tier | 'auto'; intent: Intent; prompt: string; contextChars: number; signal: AbortSignal },
  onProgress: (text: string, note: string) => void,
): Promise<ModelAnswer> {
  let text = '';
  let movedForFit: string | undefined;
  for await (const event of coordinator.complete({ ...request, temperature: 0.2 })) {
    switch (event.type) {
      case 'route':
        if (event.nodeReason.startsWith('needs ~')) movedForFit = event.nodeReason;
        onProgress(text, `tier ${event.tier} · ${event.node} (${event.model})${movedForFit ? ` · ${movedForFit}` : ''}`);
        break;
      case 'delta':
        text += event.text;
        onProgress(text, '');
        break;
      case 'fallback':
        if (event.discardPartial) text = '';
        onProgress(text, `${event.from} failed (${event.reason}); ${event.to} takes over`);
        break;
      case 'done': {
        // An answer to a prompt the node cut is no basis for an edit: nothing is proposed.
        const truncated = contextNotices.truncated(event);
        if (truncated) throw new Error(truncated);
        return movedForFit ? { text, node: event.node, tier: event.tier, movedForFit } : { text, node: event.node, tier: event.tier };
      }
      case 'error':
        throw new Error(event.message);
      default:
        break;
    }
  }
  throw new Error('the answer ended early');
}
