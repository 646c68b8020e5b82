import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChatMessage, ChatRole, ToolCall, ToolDefinition, WireRequest } from '../inference/types';
import { relayCompletion } from './completionRelay';
import { conversationKey } from './conversationKey';
import type { GatewayContext } from './gatewayContext';
import { checkOpenAiNumbers } from './checkNumbers';
import { HttpError, readJsonObject, sendJson } from './gatewayHttp';
import { listModelNames, routingFor } from './modelRoute';
import { OpenAIEncoder } from './openaiWire';
import { OpenAICompletionEncoder } from './openaiCompletionWire';
import { relayEmbedding } from './embeddingRelay';
import { positiveInteger, textInputs } from './bodyFields';

/** The OpenAI-compatible API over the cluster: chat completions (SSE or whole) and the model list. */
export const openaiRoutes = {
  async chatCompletions(ctx: GatewayContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonObject(req, ctx.maxBodyBytes);
    if (typeof body.model !== 'string' || body.model === '') throw new HttpError(400, '"model" is required: harombe, harombe:tier0|1|2 or a model a node serves.');
    if (!Array.isArray(body.messages) || body.messages.length === 0) throw new HttpError(400, '"messages" must be a non-empty array.');
    const messages = parseMessages(body.messages);
    checkOpenAiNumbers(body);
    const routing = routingFor(() => ctx.coordinator.nodes(), body.model);
    const streamOptions = body.stream_options as { include_usage?: unknown } | undefined;
    const stream = body.stream === true;
    const encoder = new OpenAIEncoder(body.model, streamOptions?.include_usage === true);
    // A node that serves this API gets the body as it came (max_tokens, stop, seed, response_format…);
    // `messages` and `tools` are for nodes that do not, and for the rest of an answer after a failover.
    const wire: WireRequest = { protocol: 'openai', path: '/v1/chat/completions', body };
    if (stream) wire.onRelayStart = (record) => encoder.continueStream(record);
    await relayCompletion(ctx.coordinator, res, {
      stream,
      encoder,
      request: {
        messages,
        tools: parseTools(body.tools),
        temperature: (body.temperature as number | null | undefined) ?? undefined,
        ...routing,
        affinityKey: conversationKey(req.headers, messages),
        wire,
      },
    });
  },

  /**
   * The legacy `/v1/completions` (what OpenAI-style autocomplete plugins call): the prompt as it
   * is and, where the node fills in the middle, `suffix`; routed like a chat, streamed or whole.
   */
  async completions(ctx: GatewayContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonObject(req, ctx.maxBodyBytes);
    if (typeof body.model !== 'string' || body.model === '') throw new HttpError(400, '"model" is required: harombe, harombe:tier0|1|2 or a model a node serves.');
    let prompt = body.prompt;
    // One prompt per request: a list of one is that prompt.
    if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string') prompt = prompt[0];
    if (typeof prompt !== 'string') throw new HttpError(400, '"prompt" must be a string (one prompt per request; token arrays are not taken).');
    if (body.suffix !== undefined && body.suffix !== null && typeof body.suffix !== 'string') throw new HttpError(400, '"suffix" must be a string.');
    if (body.n !== undefined && body.n !== null && body.n !== 1) throw new HttpError(400, '"n" must be 1: the gateway answers one completion per request.');
    if (body.echo === true) throw new HttpError(400, '"echo" is not supported.');
    const temperature = optionalNumber(body.temperature, 'temperature');
    const topP = optionalNumber(body.top_p, 'top_p');
    const seed = optionalNumber(body.seed, 'seed');
    const maxTokens = positiveInteger(body.max_tokens, 'max_tokens');
    // Types first (the messages above), then OpenAI's ranges and finiteness.
    checkOpenAiNumbers(body);
    const stop = stopList(body.stop);
    const routing = routingFor(() => ctx.coordinator.nodes(), body.model);
    const streamOptions = body.stream_options as { include_usage?: unknown } | undefined;
    const suffix = typeof body.suffix === 'string' && body.suffix !== '' ? body.suffix : undefined;
    await relayCompletion(ctx.coordinator, res, {
      stream: body.stream === true,
      encoder: new OpenAICompletionEncoder(body.model, streamOptions?.include_usage === true),
      request: {
        messages: [],
        prompt,
        temperature,
        ...routing,
        work: { kind: 'completion', prompt, ...(suffix !== undefined && { suffix }), ...(maxTokens !== undefined && { maxTokens }), ...(stop && { stop }), ...(topP !== undefined && { topP }), ...(seed !== undefined && { seed }) },
      },
    });
  },

  /** `/v1/embeddings`: one vector per input, in order; `encoding_format: base64` as OpenAI sends it (little-endian float32). */
  async embeddings(ctx: GatewayContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonObject(req, ctx.maxBodyBytes);
    if (typeof body.model !== 'string' || body.model === '') throw new HttpError(400, '"model" is required: the embedding model a node serves.');
    const model = body.model;
    const input = textInputs(body.input, 'input');
    if (input.length === 0) throw new HttpError(400, '"input" must not be empty.');
    const format = body.encoding_format ?? 'float';
    if (format !== 'float' && format !== 'base64') throw new HttpError(400, '"encoding_format" must be "float" or "base64".');
    const dimensions = positiveInteger(body.dimensions, 'dimensions');
    await relayEmbedding(ctx.coordinator, res, {
      model,
      work: { kind: 'embedding', input, ...(dimensions !== undefined && { dimensions }) },
      shape: 'openai',
      encode: (done) => {
        const data = (done.embeddings ?? []).map((v, index) => ({ object: 'embedding', index, embedding: format === 'base64' ? Buffer.from(Float32Array.from(v).buffer).toString('base64') : v }));
        const tokens = done.tokens.prompt ?? 0;
        return JSON.stringify({ object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
      },
    });
  },

  models(ctx: GatewayContext, _req: IncomingMessage, res: ServerResponse): void {
    const created = Math.floor(Date.now() / 1000);
    const data = listModelNames(ctx.coordinator.nodes()).map((id) => ({ id, object: 'model', created, owned_by: id.startsWith('harombe') ? 'harombe' : 'cluster' }));
    sendJson(res, 200, JSON.stringify({ object: 'list', data }));
  },
};

function optionalNumber(raw: unknown, field: string): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'number' || !Number.isFinite(raw)) throw new HttpError(400, `"${field}" must be a number.`);
  return raw;
}

function stopList(raw: unknown): string[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string') return [raw];
  if (Array.isArray(raw) && raw.every((s) => typeof s === 'string')) return raw as string[];
  throw new HttpError(400, '"stop" must be a string or a list of strings.');
}

const ROLES: readonly string[] = ['system', 'developer', 'user', 'assistant', 'tool'];

function parseMessages(raw: unknown[]): ChatMessage[] {
  // Tool results carry only the call id; Ollama nodes want the tool's name, found on the call.
  const callNames = new Map<string, string>();
  return raw.map((r, i): ChatMessage => {
    if (typeof r !== 'object' || r === null) throw new HttpError(400, `messages[${i}] must be an object.`);
    const m = r as Record<string, unknown>;
    if (typeof m.role !== 'string' || !ROLES.includes(m.role)) throw new HttpError(400, `messages[${i}].role must be one of ${ROLES.join(', ')}.`);
    const role: ChatRole = m.role === 'developer' ? 'system' : (m.role as ChatRole);
    const message: ChatMessage = { role, content: contentText(m.content, i) };
    if (m.tool_calls !== undefined && m.tool_calls !== null) {
      if (!Array.isArray(m.tool_calls)) throw new HttpError(400, `messages[${i}].tool_calls must be an array.`);
      message.tool_calls = m.tool_calls.map((c, j) => parseToolCall(c, i, j));
      for (const c of message.tool_calls) callNames.set(c.id, c.name);
    }
    if (role === 'tool') {
      if (typeof m.tool_call_id !== 'string') throw new HttpError(400, `messages[${i}].tool_call_id is required on tool messages.`);
      message.tool_call_id = m.tool_call_id;
      const name = typeof m.name === 'string' ? m.name : callNames.get(m.tool_call_id);
      if (name !== undefined) message.name = name;
    }
    return message;
  });
}

function contentText(content: unknown, i: number): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    let text = '';
    for (const part of content) {
      const p = part as { type?: unknown; text?: unknown } | null;
      if (p?.type === 'text' && typeof p.text === 'string') text += p.text;
      else throw new HttpError(400, `messages[${i}].content: only text parts are supported.`);
    }
    return text;
  }
  throw new HttpError(400, `messages[${i}].content must be a string or an array of text parts.`);
}

function parseToolCall(raw: unknown, i: number, j: number): ToolCall {
  const c = raw as { id?: unknown; function?: { name?: unknown; arguments?: unknown } } | null;
  const where = `messages[${i}].tool_calls[${j}]`;
  if (typeof c?.id !== 'string') throw new HttpError(400, `${where}.id must be a string.`);
  if (typeof c.function?.name !== 'string') throw new HttpError(400, `${where}.function.name must be a string.`);
  const rawArgs = c.function.arguments;
  let args: unknown = {};
  if (typeof rawArgs === 'string' && rawArgs.trim() !== '') {
    try {
      args = JSON.parse(rawArgs);
    } catch {
      throw new HttpError(400, `${where}.function.arguments is not valid JSON.`);
    }
  }
  if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new HttpError(400, `${where}.function.arguments must be a JSON object.`);
  return { id: c.id, name: c.function.name, arguments: args as Record<string, unknown> };
}

function parseTools(raw: unknown): ToolDefinition[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) throw new HttpError(400, '"tools" must be an array of {type: "function", function: {name, description, parameters}}.');
  return raw.map((t, i) => {
    const tool = t as { type?: unknown; function?: { name?: unknown; description?: unknown; parameters?: unknown } } | null;
    if (tool?.type !== 'function' || typeof tool.function?.name !== 'string') throw new HttpError(400, `tools[${i}] must be {type: "function", function: {name, …}}.`);
    const fn = tool.function;
    return {
      name: fn.name as string,
      description: typeof fn.description === 'string' ? fn.description : '',
      parameters: typeof fn.parameters === 'object' && fn.parameters !== null ? (fn.parameters as Record<string, unknown>) : { type: 'object', properties: {} },
    };
  });
}
