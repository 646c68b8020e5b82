import { getEncoding, type Tiktoken } from 'js-tiktoken';
import type { FakeMessage } from './fakeReply';

// Built at import: building it takes a few hundred ms of CPU, which inside a request would look
// like a stalled node to a test with a short stall timeout.
const encoding: Tiktoken = getEncoding('cl100k_base');

/** Exact tokens of `text` in OpenAI's cl100k_base (js-tiktoken): the fakes' stand-in for a model's tokenizer. */
export function exactTokens(text: string): number {
  return encoding.encode(text, 'all').length;
}

/**
 * The exact size of the prompt a chat request renders to, the way a ChatML template (Qwen's,
 * which the fakes' default models use) renders it: `<|im_start|>{role}\n{content}<|im_end|>\n`
 * per message, the tool schemas as JSON in a `<tools>` block, and the `<|im_start|>assistant\n`
 * the answer follows. `<|im_start|>` and `<|im_end|>` are one token each, as in the real
 * vocabulary.
 */
export function renderedPromptTokens(messages: readonly FakeMessage[], tools?: unknown): number {
  let n = 0;
  if (Array.isArray(tools) && tools.length > 0) {
    n += 2 + exactTokens(`system\n# Tools\n<tools>\n${tools.map((t) => JSON.stringify(t)).join('\n')}\n</tools>`) + exactTokens('\n');
  }
  for (const m of messages) {
    const content = typeof m.content === 'string' ? m.content : Array.isArray(m.content) ? JSON.stringify(m.content) : '';
    const calls = (m as { tool_calls?: unknown }).tool_calls;
    const extra = Array.isArray(calls) && calls.length > 0 ? `\n<tool_call>\n${JSON.stringify(calls)}\n</tool_call>` : '';
    n += 2 + exactTokens(`${m.role}\n${content}${extra}`) + exactTokens('\n');
  }
  return n + 1 + exactTokens('assistant\n');
}
