import type { ServerResponse } from 'node:http';
import type { DoneEvent, ErrorEvent } from '../chatEvent';
import type { Coordinator } from '../coordinator';
import type { EmbeddingWork } from '../inference/types';
import { nodeCan } from '../nodes/capabilities';
import { cancelWhenClientGone } from './clientGone';
import { errorBody, headerSafe, HttpError, sendJson, type ErrorShape } from './gatewayHttp';
import { parseModelRoute, routingFor } from './modelRoute';

export interface EmbeddingRelayOptions {
  /** The client's `model`: a model some node has (harombe's own names are refused). */
  model: string;
  work: EmbeddingWork;
  shape: ErrorShape;
  /** The answer in the client's API, from the vectors (one per input, in order). */
  encode(done: DoneEvent): string;
}

/**
 * Runs one embedding request on the coordinator (the same routing, health, breakers and
 * failover as a chat, on nodes that have the model and whose model can embed) and answers the
 * client in its API, with the X-Harombe-* headers. A client that disconnects cancels it.
 */
export async function relayEmbedding(coordinator: Coordinator, res: ServerResponse, opts: EmbeddingRelayOptions): Promise<void> {
  const nodes = coordinator.nodes();
  if (parseModelRoute(opts.model).kind !== 'model') {
    // Vectors of different models cannot be compared: an index must be built and queried with one model.
    throw new HttpError(400, `"${opts.model}" routes chat; embeddings need the embedding model by name, so every vector comes from the same model. ${embeddingModelsHint(nodes)}`);
  }
  const { model } = routingFor(() => nodes, opts.model);
  const known = nodes.find((n) => n.model === model && n.capabilities.source !== 'unknown');
  if (known && nodeCan(known, 'embedding') === false) {
    throw new HttpError(400, `model "${model}" does not embed (${known.capabilities.source === 'configured' ? 'configured' : 'reported'} capabilities: ${known.capabilities.has.join(', ') || 'none'}). ${embeddingModelsHint(nodes)}`);
  }
  const { controller, release } = cancelWhenClientGone(res);
  let node = '';
  let tier = 0;
  let reason = '';
  let done: DoneEvent | undefined;
  let failed: ErrorEvent | undefined;
  try {
    await coordinator.completeTo({ messages: [], model, work: opts.work, signal: controller }, (e) => {
      if (e.type === 'route') {
        node = e.node;
        tier = e.tier;
        reason = e.nodeReason;
      } else if (e.type === 'fallback') {
        node = e.to;
        tier = e.tier;
        reason = `fallback from ${e.from}: ${e.reason}`;
      } else if (e.type === 'done') done = e;
      else if (e.type === 'error') failed = e;
    });
  } finally {
    release();
  }
  if (controller.aborted) return;
  const headers = { 'X-Harombe-Node': headerSafe(node), 'X-Harombe-Tier': String(tier), 'X-Harombe-Reason': headerSafe(reason) };
  if (done) return sendJson(res, 200, opts.encode(done), headers);
  const error = failed ?? { code: 'all_failed', message: 'the request ended without an answer' };
  const status = error.code === 'invalid_request' ? 400 : 503;
  sendJson(res, status, errorBody(opts.shape, status, error.message, error.code), headers);
}

/** The models the cluster knows to embed, for an error message. */
function embeddingModelsHint(nodes: readonly { model: string; capabilities: { has: readonly string[] } }[]): string {
  const models = [...new Set(nodes.filter((n) => n.capabilities.has.includes('embedding')).map((n) => n.model))];
  return models.length > 0 ? `Embedding models in the cluster: ${models.join(', ')}.` : 'No node reports an embedding model; name one a node has (see /api/tags).';
}
