import type { DoneEvent, RouteEvent } from '../chatEvent';
import { formatTokens } from './tokenEstimate';

/**
 * What the UIs tell the user about the prompt's fit, in the same words everywhere: older
 * messages left out to fit the node's window, or an answer built on a prompt the node cut.
 */
export const contextNotices = {
  /** `3 earlier turns and 2 tool results were left out to fit the 8k-token window of server.`, or undefined. */
  omitted(event: RouteEvent): string | undefined {
    const o = event.context?.omitted;
    if (!o || (o.turns === 0 && o.toolResults === 0)) return undefined;
    const parts: string[] = [];
    if (o.turns > 0) parts.push(`${o.turns} earlier turn${o.turns === 1 ? '' : 's'}`);
    if (o.toolResults > 0) parts.push(`${o.toolResults} tool result${o.toolResults === 1 ? '' : 's'}`);
    const window = event.context ? ` ${formatTokens(event.context.window)}-token` : '';
    return `${parts.join(' and ')} ${o.turns + o.toolResults === 1 ? 'was' : 'were'} left out to fit the${window} window of ${event.node}.`;
  },

  /** The warning for an answer whose prompt the node cut, or undefined for a whole one. */
  truncated(event: DoneEvent): string | undefined {
    const t = event.truncated;
    if (!t) return undefined;
    return (
      `${event.node} read only ${t.promptTokens} tokens of a prompt of ~${formatTokens(t.estimatedTokens)}: it cut the prompt, so this answer is not based on all of it. ` +
      'An Ollama older than 0.12.6 does this whatever Harombe asks; upgrade it, or set a larger context_length for the node.'
    );
  },
};
