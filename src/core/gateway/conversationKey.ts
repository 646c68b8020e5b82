import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { ChatMessage } from '../inference/types';

/** Headers a client may name its session or conversation with; the first one present wins. */
const SESSION_HEADERS = ['x-harombe-conversation', 'x-session-id', 'x-conversation-id'] as const;

/**
 * The key that keeps a client's conversation on one node, the same in every coordinator: the
 * client's session header when it sends one, else a hash of the conversation's opening (its system
 * prompt and first user message), which every later turn of a chat repeats. Undefined for a
 * request with no user message (nothing to recognise the conversation by).
 */
export function conversationKey(headers: IncomingHttpHeaders, messages: readonly ChatMessage[]): string | undefined {
  for (const h of SESSION_HEADERS) {
    const v = headers[h];
    const value = Array.isArray(v) ? v[0] : v;
    if (value && value.trim() !== '') return `session:${value.trim()}`;
  }
  const system = messages.find((m) => m.role === 'system');
  const firstUser = messages.find((m) => m.role === 'user');
  if (!firstUser) return undefined;
  const hash = createHash('sha256')
    .update(system?.content ?? '')
    .update('\u0000')
    .update(firstUser.content)
    .digest('hex')
    .slice(0, 32);
  return `opening:${hash}`;
}
