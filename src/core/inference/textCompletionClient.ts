import type { Dispatcher } from 'undici';
import { DEFAULT_MAX_LINE_BYTES } from './lineFramer';
import { lineStream } from './lineStream';
import { NodeError } from './nodeError';
import { nodeRequest } from './nodeRequest';
import { finalChunk, parseRecord } from './ollamaRecord';
import { describeError, numberOrUndefined, parseChunk } from './openaiChunk';
import { sseStream } from './sseStream';
import type { ChatChunk, ChatRequest, Endpoint, InferenceClient, TextCompletionWork } from './types';

/**
 * A raw text completion (prompt, and `suffix` to fill in the middle) in a node's own API: Ollama's
 * `POST /api/generate` (NDJSON; `suffix` is taken by models with the `insert` capability, others
 * answer 400 `does not support insert`; options mapped as Ollama's own `/v1/completions` maps them,
 * openai/openai.go FromCompleteRequest, and not `raw`, which it does not set either), or an OpenAI-compatible `POST /v1/completions` (SSE of
 * `text_completion` objects). The answer comes as `delta` chunks and one `done`, like a chat, so
 * the failover runner, the gateway's `/v1/completions` and an editor's autocomplete share it.
 */
export class TextCompletionClient implements InferenceClient {
  constructor(
    private readonly protocol: 'ollama' | 'openai',
    private readonly endpoint: Endpoint,
    private readonly dispatcher: Dispatcher,
  ) {}

  chat(request: ChatRequest): AsyncGenerator<ChatChunk> {
    const work = request.work;
    if (work?.kind !== 'completion') throw new Error('TextCompletionClient needs a completion request');
    return this.protocol === 'ollama' ? this.ollama(request, work) : this.openai(request, work);
  }

  private async *ollama(request: ChatRequest, work: TextCompletionWork): AsyncGenerator<ChatChunk> {
    const options: Record<string, unknown> = {};
    if (request.temperature !== undefined) options.temperature = request.temperature;
    if (work.maxTokens !== undefined) options.num_predict = work.maxTokens;
    if (work.stop?.length) options.stop = work.stop;
    if (work.topP !== undefined) options.top_p = work.topP;
    if (work.seed !== undefined) options.seed = work.seed;
    const body: Record<string, unknown> = { model: request.model, prompt: work.prompt, stream: true, options };
    if (work.suffix) body.suffix = work.suffix;
    const res = await nodeRequest(this.dispatcher, this.endpoint, { path: '/api/generate', body, accept: 'application/x-ndjson', signal: request.signal });
    let final: ChatChunk | undefined;
    try {
      for await (const line of lineStream(res.chunks(), this.endpoint.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES)) {
        if (final || line.length === 0) continue;
        const record = parseRecord(line);
        if (typeof record.error === 'string') throw new NodeError('incomplete', `the node gave up mid-answer: ${record.error.slice(0, 200)}`);
        if (typeof record.response === 'string' && record.response.length > 0) yield { type: 'delta', text: record.response };
        if (record.done === true) final = finalChunk(record);
      }
    } catch (err) {
      if (!final || request.signal?.aborted) throw err;
    } finally {
      res.close();
    }
    if (!final) throw new NodeError('incomplete', 'the answer ended without its final record (done: true)');
    yield final;
  }

  private async *openai(request: ChatRequest, work: TextCompletionWork): AsyncGenerator<ChatChunk> {
    const body: Record<string, unknown> = { model: request.model, prompt: work.prompt, stream: true, stream_options: { include_usage: true } };
    // Sent only when asked: servers without fill-in-the-middle refuse the field (vLLM) instead of ignoring it.
    if (work.suffix) body.suffix = work.suffix;
    if (request.temperature !== undefined) body.temperature = request.temperature;
    if (work.maxTokens !== undefined) body.max_tokens = work.maxTokens;
    if (work.stop?.length) body.stop = work.stop;
    if (work.topP !== undefined) body.top_p = work.topP;
    if (work.seed !== undefined) body.seed = work.seed;
    const res = await nodeRequest(this.dispatcher, this.endpoint, { path: '/v1/completions', body, accept: 'text/event-stream', signal: request.signal });
    let sawDone = false;
    let finishReason: string | undefined;
    let promptTokens: number | undefined;
    let completionTokens: number | undefined;
    try {
      for await (const data of sseStream(lineStream(res.chunks(), this.endpoint.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES))) {
        if (sawDone) continue;
        if (data === '[DONE]') {
          sawDone = true;
          continue;
        }
        const chunk = parseChunk(data);
        if (chunk.error !== undefined) throw new NodeError('incomplete', `the node gave up mid-answer: ${describeError(chunk.error)}`);
        const choice = Array.isArray(chunk.choices) ? (chunk.choices[0] as { text?: unknown; finish_reason?: unknown } | undefined) : undefined;
        if (choice) {
          if (typeof choice.text === 'string' && choice.text.length > 0) yield { type: 'delta', text: choice.text };
          if (typeof choice.finish_reason === 'string' && choice.finish_reason !== '') finishReason = choice.finish_reason;
        }
        if (chunk.usage && typeof chunk.usage === 'object') {
          promptTokens = numberOrUndefined(chunk.usage.prompt_tokens) ?? promptTokens;
          completionTokens = numberOrUndefined(chunk.usage.completion_tokens) ?? completionTokens;
        }
      }
    } catch (err) {
      if (!sawDone || request.signal?.aborted) throw err;
    } finally {
      res.close();
    }
    if (!sawDone) throw new NodeError('incomplete', 'the answer ended without data: [DONE]');
    yield { type: 'done', doneReason: finishReason ?? 'stop', promptTokens, completionTokens };
  }
}
