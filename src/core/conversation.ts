import { randomUUID } from 'node:crypto';
import type { ChatMessage } from './inference/types';

/**
 * One conversation's state. It lives in the coordinator because nodes are stateless: every turn
 * sends the whole history, to whichever node serves it.
 */
export class Conversation {
  readonly id: string;
  readonly messages: ChatMessage[] = [];
  /** The node that answered the last turn; the router keeps the conversation there while it is healthy (its KV cache is warm). */
  lastNode: string | undefined;

  constructor(opts: { id?: string; systemPrompt?: string; messages?: ChatMessage[] } = {}) {
    this.id = opts.id ?? randomUUID();
    if (opts.systemPrompt) this.messages.push({ role: 'system', content: opts.systemPrompt });
    if (opts.messages) this.messages.push(...opts.messages);
  }

  /** Characters of history, which the rubric counts as attached context. */
  get historyChars(): number {
    let n = 0;
    for (const m of this.messages) if (m.role !== 'system') n += m.content.length;
    return n;
  }
}
