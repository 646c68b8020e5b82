import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { ChatMessage, ChatRole, ToolCall, ToolDefinition } from '../inference/types';
import { relayCompletion } from './completionRelay';
import { relayEmbedding } from './embeddingRelay';
import { conversationKey } from './conversationKey';
import type { GatewayContext } from './gatewayContext';
import { checkOllamaNumbers } from './checkNumbers';
import { headerSafe, HttpError, readJsonObject, sendJson } from './gatewayHttp';
import { showModel, showRoute } from './modelShow';
import { listModelNames, parseModelRoute, routingFor } from './modelRoute';
import { OllamaEncoder } from './ollamaWire';
import { positiveInteger, textInputs } from './bodyFields';
import { cancelWhenClientGone } from './clientGone';

/** The Ollama version `/api/version` reports; clients gate features (tools, structured output) on it. */
export const OLLAMA_COMPAT_VERSION = '0.12.0';

/** Ollama's native API over the cluster: chat, generate, and the listings clients call first. */
export const ollamaRoutes = {
  async chat(ctx: GatewayContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonObject(req, ctx.maxBodyBytes);
    const model = requireModel(body);
    checkOllamaNumbers(body);
    if (!Array.isArray(body.messages) || body.messages.length === 0) throw new HttpError(400, '"messages" must be a non-empty array of {role, content}.');
    const messages = body.messages.map(parseMessage);
    const routing = routingFor(() => ctx.coordinator.nodes(), model);
    await relayCompletion(ctx.coordinator, res, {
      stream: body.stream !== false,
      encoder: new OllamaEncoder('chat', model),
      request: {
        messages,
        tools: parseTools(body.tools),
        temperature: temperatureOf(body),
        ...routing,
        affinityKey: conversationKey(req.headers, messages),
        wire: { protocol: 'ollama', path: '/api/chat', body },
      },
    });
  },

  async generate(ctx: GatewayContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonObject(req, ctx.maxBodyBytes);
    const model = requireModel(body);
    checkOllamaNumbers(body);
    if (typeof body.prompt !== 'string') throw new HttpError(400, '"prompt" must be a string.');
    if (body.system !== undefined && typeof body.system !== 'string') throw new HttpError(400, '"system" must be a string.');
    const messages: ChatMessage[] = [];
    if (typeof body.system === 'string' && body.system !== '') messages.push({ role: 'system', content: body.system });
    messages.push({ role: 'user', content: body.prompt });
    const routing = routingFor(() => ctx.coordinator.nodes(), model);
    await relayCompletion(ctx.coordinator, res, {
      stream: body.stream !== false,
      encoder: new OllamaEncoder('generate', model),
      request: { messages, temperature: temperatureOf(body), ...routing, affinityKey: conversationKey(req.headers, messages), wire: { protocol: 'ollama', path: '/api/generate', body } },
    });
  },

  /**
   * For harombe's own names, what the route can do (see `showRoute`); for a model, the answer of
   * a node that has it, relayed as it came.
   */
  async show(ctx: GatewayContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonObject(req, ctx.maxBodyBytes);
    // Older clients send `name`; Ollama still takes it.
    const name = typeof body.model === 'string' && body.model !== '' ? body.model : typeof body.name === 'string' ? body.name : '';
    if (name === '') throw new HttpError(400, '"model" is required: harombe, harombe:tier0|1|2 or a model a node serves.');
    const route = parseModelRoute(name);
    if (route.kind !== 'model') {
      sendJson(res, 200, JSON.stringify(showRoute(route, ctx.coordinator.nodes(), ctx.coordinator.currentConfig.cluster.routing.fallback_strategy)));
      return;
    }
    const { model } = routingFor(() => ctx.coordinator.nodes(), name);
    const { controller, release } = cancelWhenClientGone(res);
    try {
      const shown = await showModel(ctx.coordinator, model as string, body, controller);
      sendJson(res, 200, shown.body.toString('utf8'), { 'X-Harombe-Node': headerSafe(shown.node) });
    } finally {
      release();
    }
  },

  /** `/api/embed`: `input` a string or a list of strings; one normalised vector each, in order. */
  async embed(ctx: GatewayContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonObject(req, ctx.maxBodyBytes);
    const model = requireModel(body);
    const input = textInputs(body.input, 'input');
    checkOllamaNumbers(body);
    if (body.truncate !== undefined && typeof body.truncate !== 'boolean') throw new HttpError(400, '"truncate" must be true or false.');
    const dimensions = positiveInteger(body.dimensions, 'dimensions');
    if (input.length === 0) {
      // Ollama answers an empty input with no vectors (it only loads the model).
      routingFor(() => ctx.coordinator.nodes(), model);
      sendJson(res, 200, JSON.stringify({ model, embeddings: [] }));
      return;
    }
    const started = process.hrtime.bigint();
    await relayEmbedding(ctx.coordinator, res, {
      model,
      work: { kind: 'embedding', input, ...(dimensions !== undefined && { dimensions }), ...(typeof body.truncate === 'boolean' && { truncate: body.truncate }) },
      shape: 'ollama',
      encode: (done) => JSON.stringify({ model, embeddings: done.embeddings ?? [], total_duration: Number(process.hrtime.bigint() - started), load_duration: 0, prompt_eval_count: done.tokens.prompt ?? 0 }),
    });
  },

  /** `/api/embeddings`, the older route: one `prompt`, one vector (not normalised by Ollama nodes). */
  async embeddings(ctx: GatewayContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonObject(req, ctx.maxBodyBytes);
    const model = requireModel(body);
    if (body.prompt !== undefined && typeof body.prompt !== 'string') throw new HttpError(400, '"prompt" must be a string.');
    checkOllamaNumbers(body);
    const prompt = (body.prompt as string | undefined) ?? '';
    if (prompt === '') {
      routingFor(() => ctx.coordinator.nodes(), model);
      sendJson(res, 200, JSON.stringify({ embedding: [] }));
      return;
    }
    await relayEmbedding(ctx.coordinator, res, {
      model,
      work: { kind: 'embedding', input: [prompt], legacy: true },
      shape: 'ollama',
      encode: (done) => JSON.stringify({ embedding: done.embeddings?.[0] ?? [] }),
    });
  },

  tags(ctx: GatewayContext, _req: IncomingMessage, res: ServerResponse): void {
    const modifiedAt = new Date().toISOString();
    sendJson(res, 200, JSON.stringify({ models: listModelNames(ctx.coordinator.nodes()).map((name) => modelEntry(name, modifiedAt)) }));
  },

  ps(ctx: GatewayContext, _req: IncomingMessage, res: ServerResponse): void {
    const expiresAt = new Date(Date.now() + 5 * 60_000).toISOString();
    const loaded = [...new Set(ctx.coordinator.nodes().flatMap((n) => n.loadedModels))];
    sendJson(res, 200, JSON.stringify({ models: loaded.map((name) => ({ ...modelEntry(name, expiresAt), expires_at: expiresAt, size_vram: 0 })) }));
  },

  version(_ctx: GatewayContext, _req: IncomingMessage, res: ServerResponse): void {
    sendJson(res, 200, JSON.stringify({ version: OLLAMA_COMPAT_VERSION }));
  },
};

function modelEntry(name: string, modifiedAt: string) {
  const own = name.startsWith('harombe');
  return {
    name,
    model: name,
    modified_at: modifiedAt,
    size: 0,
    digest: '',
    details: { parent_model: '', format: own ? 'harombe' : 'gguf', family: own ? 'harombe' : '', families: null, parameter_size: '', quantization_level: '' },
  };
}

function requireModel(body: Record<string, unknown>): string {
  if (typeof body.model !== 'string' || body.model === '') throw new HttpError(400, '"model" is required: harombe, harombe:tier0|1|2 or a model a node serves.');
  return body.model;
}

function temperatureOf(body: Record<string, unknown>): number | undefined {
  const options = body.options;
  if (options === undefined || options === null) return undefined;
  if (typeof options !== 'object') throw new HttpError(400, '"options" must be an object.');
  const t = (options as Record<string, unknown>).temperature;
  if (t === undefined) return undefined;
  if (typeof t !== 'number') throw new HttpError(400, '"options.temperature" must be a number.');
  return t;
}

const ROLES: readonly ChatRole[] = ['system', 'user', 'assistant', 'tool'];

function parseMessage(raw: unknown, i: number): ChatMessage {
  if (typeof raw !== 'object' || raw === null) throw new HttpError(400, `messages[${i}] must be an object.`);
  const m = raw as Record<string, unknown>;
  if (!ROLES.includes(m.role as ChatRole)) throw new HttpError(400, `messages[${i}].role must be one of ${ROLES.join(', ')}.`);
  if (m.content !== undefined && typeof m.content !== 'string') throw new HttpError(400, `messages[${i}].content must be a string.`);
  const message: ChatMessage = { role: m.role as ChatRole, content: (m.content as string | undefined) ?? '' };
  if (m.tool_calls !== undefined) {
    if (!Array.isArray(m.tool_calls)) throw new HttpError(400, `messages[${i}].tool_calls must be an array.`);
    message.tool_calls = m.tool_calls.map((c, j): ToolCall => {
      const fn = (c as { function?: { name?: unknown; arguments?: unknown } } | null)?.function;
      if (typeof fn?.name !== 'string') throw new HttpError(400, `messages[${i}].tool_calls[${j}].function.name must be a string.`);
      const args = fn.arguments ?? {};
      if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new HttpError(400, `messages[${i}].tool_calls[${j}].function.arguments must be an object.`);
      const id = (c as { id?: unknown }).id;
      return { id: typeof id === 'string' ? id : `call_${randomUUID()}`, name: fn.name, arguments: args as Record<string, unknown> };
    });
  }
  if (typeof m.tool_name === 'string') message.name = m.tool_name;
  return message;
}

function parseTools(raw: unknown): ToolDefinition[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) throw new HttpError(400, '"tools" must be an array of {type: "function", function: {name, description, parameters}}.');
  return raw.map((t, i) => {
    const fn = (t as { function?: { name?: unknown; description?: unknown; parameters?: unknown } } | null)?.function;
    if (typeof fn?.name !== 'string') throw new HttpError(400, `tools[${i}].function.name must be a string.`);
    return {
      name: fn.name,
      description: typeof fn.description === 'string' ? fn.description : '',
      parameters: typeof fn.parameters === 'object' && fn.parameters !== null ? (fn.parameters as Record<string, unknown>) : { type: 'object', properties: {} },
    };
  });
}
