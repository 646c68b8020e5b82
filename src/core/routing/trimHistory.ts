import type { ChatMessage, ToolDefinition } from '../inference/types';
import { estimatePromptTokens, estimateTokens, messageTokens, TOKENS_PER_MESSAGE } from './tokenEstimate';

/** What was left out of a conversation so its prompt fits a window. */
export interface Omitted {
  /** Earlier turns (a user message and what answered it) left out whole. */
  turns: number;
  /** Tool results whose text was replaced by a one-line note. */
  toolResults: number;
}

export interface Trimmed {
  messages: ChatMessage[];
  /** The prompt estimate of `messages` (tools included). */
  promptTokens: number;
  omitted: Omitted;
}

/**
 * Fits a long conversation or agent run into `budget` prompt tokens. Kept always: system
 * messages, the tool definitions, the current prompt (the last user message, with its
 * attachment) and the calls of the run since it. Dropped first: the oldest tool results (their
 * text becomes a note, so every tool call keeps its answer, which the APIs require), then the
 * oldest whole turns. The current prompt is never cut: when even what is kept does not fit, the
 * result is over `budget` (the caller checks `promptTokens`), and with a budget of 0 it is the
 * least this request can be sent with.
 */
export function trimHistory(messages: readonly ChatMessage[], tools: readonly ToolDefinition[] | undefined, budget: number): Trimmed {
  const work = messages.slice();
  let total = estimatePromptTokens(work, tools);
  const omitted: Omitted = { turns: 0, toolResults: 0 };
  if (total <= budget) return { messages: work, promptTokens: total, omitted };

  let current = -1;
  for (let i = work.length - 1; i >= 0; i--) {
    if ((work[i] as ChatMessage).role === 'user') {
      current = i;
      break;
    }
  }

  // 1. Tool results, oldest first, in the history and in the run since the prompt alike.
  for (let i = 0; i < work.length && total > budget; i++) {
    const m = work[i] as ChatMessage;
    if (m.role !== 'tool') continue;
    const note = `[tool result left out to fit the context window: ${m.content.length} characters]`;
    if (m.content.length <= note.length) continue;
    const shorter: ChatMessage = { ...m, content: note };
    total += messageTokens(shorter) - messageTokens(m);
    work[i] = shorter;
    omitted.toolResults++;
  }

  // 2. Whole turns before the current prompt, oldest first: a turn is a user message and every
  // message after it up to the next user message (so no tool result loses its call).
  while (total > budget) {
    const start = work.findIndex((m, i) => m.role !== 'system' && i < current);
    if (start < 0) break;
    let end = start + 1;
    while (end < current && (work[end] as ChatMessage).role !== 'user') end++;
    for (let i = start; i < end; i++) total -= messageTokens(work[i] as ChatMessage);
    work.splice(start, end - start);
    current -= end - start;
    omitted.turns++;
  }
  if (omitted.turns > 0 && total <= budget) {
    // Tell the model, too, that it is not seeing the whole conversation.
    const note: ChatMessage = { role: 'system', content: `(${omitted.turns} earlier turn${omitted.turns === 1 ? ' was' : 's were'} left out to fit the context window.)` };
    const cost = TOKENS_PER_MESSAGE + estimateTokens(note.content);
    if (total + cost <= budget) {
      work.splice(firstNonSystem(work), 0, note);
      total += cost;
    }
  }
  return { messages: work, promptTokens: total, omitted };
}

function firstNonSystem(messages: readonly ChatMessage[]): number {
  const i = messages.findIndex((m) => m.role !== 'system');
  return i < 0 ? messages.length : i;
}
