import { renderedPromptTokens } from './fakeTokenizer';
/** A chat message as a fake node received it (any API's shape). */
export interface FakeMessage {
  role: string;
  content?: unknown;
}

/** What a fake answers: fixed text, or text computed from the conversation. */
export type FakeReply = string | ((messages: FakeMessage[], model: string) => string);

/** A tool call a fake answers with when the request offers tools. */
export interface FakeToolCall {
  name: string;
  arguments: Record<string, unknown>;
  /** Sent on the OpenAI routes (generated when absent); Ollama's native API sends none. */
  id?: string;
}

/**
 * The text a fake answers. The default is deterministic, names the model (so a test can tell
 * which node answered), quotes the start of the last user message, and has non-ASCII characters
 * so that byte-level splitting of UTF-8 gets exercised.
 */
export function fakeReply(reply: FakeReply | undefined, messages: FakeMessage[], model: string): string {
  if (typeof reply === 'string') return reply;
  if (reply) return reply(messages, model);
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const said = typeof lastUser?.content === 'string' ? lastUser.content.slice(0, 40) : '';
  return `Hello from ${model}! You said: "${said}". Grüße 👋 — this is a fake answer.`;
}

/** Splits text into token-like pieces (each whitespace run starts a new piece); joining them gives the text back. */
export function splitTokens(text: string): string[] {
  return text.length === 0 ? [] : text.split(/(?=\s)/);
}

/** The prompt's exact size in tokens, as the node's tokenizer and chat template make it (see `fakeTokenizer`). */
export function countPromptTokens(messages: FakeMessage[], tools?: unknown): number {
  return renderedPromptTokens(messages, tools);
}

/**
 * Whether to answer with tool calls: the request offers tools and no tool result is in the
 * conversation yet. Stateless, so an agent loop ends after one round and a retried request on
 * another node behaves the same.
 */
export function wantsToolCalls(toolCalls: FakeToolCall[] | undefined, body: { tools?: unknown; messages?: unknown }): boolean {
  if (!toolCalls?.length || !Array.isArray(body.tools) || body.tools.length === 0) return false;
  const messages = Array.isArray(body.messages) ? (body.messages as FakeMessage[]) : [];
  return !messages.some((m) => m?.role === 'tool');
}

/**
 * A reasoning model's draft, sent before the answer the way servers do:
 * - `content`: between `<think>` and `</think>` at the start of the content, as Ollama before
 *   0.12.5, llama.cpp without `--reasoning-format` and vLLM without `--reasoning-parser` send it
 *   (the tags are cut across records, as a tokenizer cuts them: `<th` + `ink>`), whatever `think` says;
 * - `field`: apart from the content, as Ollama 0.12.5+ (`message.thinking` on `/api/chat`,
 *   `thinking` on `/api/generate`, `reasoning` on `/v1`) and vLLM / llama.cpp with a reasoning
 *   parser (`reasoning_content`) send it. Ollama leaves it out for `think: false`.
 */
export interface FakeReasoning {
  text: string;
  in: 'content' | 'field';
}

/** The answer's pieces with a `content` reasoning in front, each tag cut in two across pieces. */
export function reasoningInContent(reasoning: string, answer: string): string[] {
  const pieces: string[] = [];
  for (const piece of splitTokens(`<think>\n${reasoning}\n</think>\n\n${answer}`)) {
    const tag = /<\/?think>/.exec(piece);
    if (!tag) {
      pieces.push(piece);
      continue;
    }
    const cut = tag.index + Math.ceil(tag[0].length / 2);
    pieces.push(piece.slice(0, cut), piece.slice(cut));
  }
  return pieces.filter((p) => p.length > 0);
}

/** What a fake route needs to know to answer a chat. */
export interface ReplyOptions {
  models: string[];
  /** false: an unknown model is a 404 (Ollama); true: any model name is answered (llama.cpp). */
  acceptAnyModel: boolean;
  reply?: FakeReply;
  toolCalls?: FakeToolCall[];
  reasoning?: FakeReasoning;
}
