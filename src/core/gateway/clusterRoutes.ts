import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DoneEvent } from '../chatEvent';
import type { ChatMessage } from '../inference/types';
import type { NodeInfo } from '../nodes/nodeInfo';
import type { Tier } from '../routing/classification';
import type { GatewayContext } from './gatewayContext';
import { checkNumber, EXECUTE_TIMEOUT } from './checkNumbers';
import { HttpError, readJsonObject, sendJson } from './gatewayHttp';
import { windowJson } from '../nodes/describeWindow';

/** Harombe's own API (the cluster guide's `/cluster/execute` and `/cluster/status`) and the probes. */
export const clusterRoutes = {
  /** `{query, context?, prefer_tier?, timeout?}` → one whole answer with where and why it ran. */
  async execute(ctx: GatewayContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonObject(req, ctx.maxBodyBytes);
    if (typeof body.query !== 'string' || body.query.trim() === '') throw new HttpError(400, '"query" must be a non-empty string.');
    if (body.context !== undefined && body.context !== null && typeof body.context !== 'string') throw new HttpError(400, '"context" must be a string.');
    const tier = parseTier(body.prefer_tier);
    checkNumber('timeout', body.timeout, EXECUTE_TIMEOUT);
    const timeoutS = (body.timeout as number | null | undefined) ?? 300;
    const context = typeof body.context === 'string' && body.context !== '' ? body.context : undefined;
    const messages: ChatMessage[] = [{ role: 'user', content: context ? `${body.query}\n\nContext:\n${context}` : body.query }];

    const started = performance.now();
    const client = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) client.abort();
    };
    res.once('close', onClose);
    const timeout = AbortSignal.timeout(timeoutS * 1000);
    let text = '';
    let reasons: string[] = [];
    let done: DoneEvent | undefined;
    try {
      for await (const e of ctx.coordinator.complete({
        messages,
        tier,
        prompt: body.query,
        contextChars: context?.length ?? 0,
        signal: AbortSignal.any([client.signal, timeout]),
      })) {
        if (e.type === 'route') reasons = [...e.reasons, e.nodeReason];
        else if (e.type === 'delta') text += e.text;
        else if (e.type === 'fallback' && e.discardPartial) text = '';
        else if (e.type === 'done') done = e;
        else if (e.type === 'error') {
          if (timeout.aborted) throw new HttpError(504, `No answer within ${timeoutS} s.`);
          if (e.code === 'cancelled') return;
          throw new HttpError(e.code === 'too_large' ? 400 : 503, e.message);
        }
      }
    } catch (err) {
      // A deadline that passes before the first event ends the stream with a throw rather than an error event.
      if (timeout.aborted && !(err instanceof HttpError)) throw new HttpError(504, `No answer within ${timeoutS} s.`);
      throw err;
    } finally {
      res.off('close', onClose);
    }
    if (!done) throw new HttpError(502, 'The answer ended without a result.');
    sendJson(
      res,
      200,
      JSON.stringify({
        response: text,
        node: done.node,
        tier: done.tier,
        model: done.model,
        reasons,
        fallbacks: done.timing.fallbacks,
        duration_ms: Math.round(performance.now() - started),
        ttft_ms: Math.round(done.timing.ttftMs),
        tokens: { prompt: done.tokens.prompt ?? null, completion: done.tokens.completion ?? null, per_second: done.tokens.perSecond ?? null },
      }),
      { 'X-Harombe-Node': done.node, 'X-Harombe-Tier': String(done.tier) },
    );
  },

  status(ctx: GatewayContext, _req: IncomingMessage, res: ServerResponse): void {
    const nodes = ctx.coordinator.nodes().map((n) => nodeStatus(ctx, n));
    sendJson(res, 200, JSON.stringify({ nodes, available: nodes.filter((n) => n.available).length, total: nodes.length }));
  },

  health(ctx: GatewayContext, _req: IncomingMessage, res: ServerResponse): void {
    const nodes = ctx.coordinator.nodes();
    sendJson(res, 200, JSON.stringify({ status: 'ok', nodes_available: nodes.filter((n) => ctx.coordinator.registry.isEligible(n.name)).length, nodes_total: nodes.length }));
  },

  /** 200 when some node can take a request now, 503 otherwise (for load balancers and scripts). */
  ready(ctx: GatewayContext, _req: IncomingMessage, res: ServerResponse): void {
    const ready = ctx.coordinator.nodes().some((n) => ctx.coordinator.registry.isEligible(n.name));
    sendJson(res, ready ? 200 : 503, JSON.stringify({ ready }));
  },

  metrics(ctx: GatewayContext, _req: IncomingMessage, res: ServerResponse): void {
    const body = ctx.coordinator.metrics.toPrometheus();
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  },
};

function parseTier(raw: unknown): Tier | 'auto' | undefined {
  if (raw === undefined || raw === null || raw === 'auto') return undefined;
  const n = typeof raw === 'string' && /^[012]$/.test(raw) ? Number(raw) : raw;
  if (n === 0 || n === 1 || n === 2) return n;
  throw new HttpError(400, '"prefer_tier" must be 0, 1, 2 or "auto".');
}

function nodeStatus(ctx: GatewayContext, n: NodeInfo) {
  return {
    name: n.name,
    host: n.host,
    port: n.port,
    kind: n.kind,
    tier: n.tier,
    model: n.model,
    available: ctx.coordinator.registry.isEligible(n.name),
    state: n.state,
    state_reason: n.stateReason ?? null,
    load: n.inFlight,
    max_parallel: n.maxParallel,
    reported_load: n.reportedLoad ?? null,
    running: n.load.running,
    queued: n.load.queued,
    load_source: n.load.source,
    latency_ms: n.latencyMs ?? null,
    breaker: n.breaker.state,
    models: n.models,
    loaded_models: n.loadedModels,
    last_seen: n.lastSeen ?? null,
    capabilities: { has: n.capabilities.has, lacks: n.capabilities.lacks, source: n.capabilities.source },
    context_window: windowJson(n.contextWindow),
  };
}
