import type { Coordinator } from '../coordinator';
import { NodeError } from '../inference/nodeError';
import { nodeRequest } from '../inference/nodeRequest';
import { nodeCan } from '../nodes/capabilities';
import { CAPABILITIES, type Capability, type NodeInfo } from '../nodes/nodeInfo';
import type { Tier } from '../routing/classification';
import type { CancelSignal } from '../util/canceller';
import { fallbackOrder } from '../routing/fallbackOrder';
import { HttpError } from './gatewayHttp';
import type { ModelRoute } from './modelRoute';

/** An `/api/show` answer is a few kilobytes; a license text can make it larger. */
const MAX_SHOW_BYTES = 4 * 1024 * 1024;

/**
 * `POST /api/show` for one of the gateway's own names (`harombe`, `harombe:auto`, `harombe:tierN`):
 * what clients read from it (Continue: `model_info["*.context_length"]`, `parameters` `num_ctx`,
 * `capabilities`, `template` for `.Suffix`; Open WebUI: `details`, `model_info`, `capabilities`),
 * said of the route rather than of one model. The window is the largest among the route's nodes
 * (a prompt that fits it has a node that can take it); the capabilities are those every node of
 * the route has, since any of them may answer; the template only says that each node applies its
 * own model's template, and the parameters name no stop words, which differ by model.
 */
export function showRoute(route: Exclude<ModelRoute, { kind: 'model' }>, nodes: readonly NodeInfo[], strategy: 'graceful' | 'strict', now = new Date()): Record<string, unknown> {
  const routed = routeNodes(route, nodes, strategy);
  const contextLength = Math.max(0, ...routed.map((n) => n.contextWindow.tokens));
  // Only what every node of the route is known to do: a client that relies on it is never let down.
  const shared: Capability[] = routed.length === 0 ? [] : CAPABILITIES.filter((c) => c !== 'embedding' && routed.every((n) => nodeCan(n, c) === true));
  const template = `{{/* harombe routes each request to a node, which applies its own model's template */}}${shared.includes('insert') ? '{{ .Prompt }}{{ .Suffix }}' : '{{ .Prompt }}'}`;
  const modelfile = [
    '# harombe: a route over the cluster, not one model. Nodes of this route:',
    ...routed.map((n) => `#   ${n.name} (tier ${n.tier}): ${n.model}, ${n.contextWindow.tokens} tokens`),
    `TEMPLATE """${template}"""`,
    ...(contextLength > 0 ? [`PARAMETER num_ctx ${contextLength}`] : []),
  ].join('\n');
  return {
    modelfile: `${modelfile}\n`,
    parameters: contextLength > 0 ? `num_ctx                        ${contextLength}` : '',
    template,
    details: { parent_model: '', format: 'harombe', family: 'harombe', families: ['harombe'], parameter_size: '', quantization_level: '' },
    model_info: {
      'general.architecture': 'harombe',
      'general.basename': 'harombe',
      ...(contextLength > 0 && { 'harombe.context_length': contextLength }),
      'harombe.nodes': routed.map((n) => n.name),
    },
    capabilities: shared,
    modified_at: now.toISOString(),
  };
}

/**
 * The nodes a route's requests go to: for `auto` every trusted chat node (the classifier may pick
 * any tier); for a tier, that tier's chat nodes, or when it has none the first tier of the
 * fallback order that has some.
 */
function routeNodes(route: Exclude<ModelRoute, { kind: 'model' }>, nodes: readonly NodeInfo[], strategy: 'graceful' | 'strict'): NodeInfo[] {
  const chat = nodes.filter((n) => n.state !== 'untrusted' && nodeCan(n, 'completion') !== false);
  if (route.kind === 'auto') return chat;
  for (const tier of fallbackOrder(route.tier as Tier, strategy)) {
    const inTier = chat.filter((n) => n.tier === tier);
    if (inTier.length > 0) return inTier;
  }
  return [];
}

/**
 * `POST /api/show` for a model some node has, asked of the nodes that have it and speak Ollama's
 * API, healthiest and fastest first; a node that fails is passed over for the next one. Only
 * metadata: no breaker is charged for it. A model only OpenAI-compatible servers have is answered
 * from what Harombe knows of it.
 */
export async function showModel(coordinator: Coordinator, model: string, body: Readonly<Record<string, unknown>>, signal: CancelSignal): Promise<{ node: string; body: Buffer }> {
  const nodes = coordinator.nodes().filter((n) => n.model === model || n.models.includes(model));
  const ollama = nodes
    .filter((n) => n.kind !== 'openai' && (n.kind !== 'harombe' || n.api === 'ollama') && coordinator.registry.isEligible(n.name))
    .sort((a, b) => (a.latencyMs ?? Number.MAX_SAFE_INTEGER) - (b.latencyMs ?? Number.MAX_SAFE_INTEGER));
  const failures: string[] = [];
  for (const node of ollama) {
    try {
      const res = await nodeRequest(coordinator.registry.dispatcher(node.name), coordinator.registry.endpoint(node.name), {
        path: '/api/show',
        body: { ...body, model },
        accept: 'application/json',
        signal,
      });
      try {
        return { node: node.name, body: await res.readAll(MAX_SHOW_BYTES) };
      } finally {
        res.close();
      }
    } catch (err) {
      if (signal.aborted) throw err;
      failures.push(`${node.name}: ${err instanceof NodeError ? err.message : String(err)}`);
    }
  }
  if (failures.length > 0) throw new HttpError(503, `No node could describe "${model}" (${failures.join('; ')}).`, 'all_failed');
  const facts = nodes.find((n) => n.model === model) ?? nodes[0];
  if (!facts) throw new HttpError(404, `model "${model}" not found: no node serves it.`, 'model_not_found');
  return { node: facts.name, body: Buffer.from(JSON.stringify(describeFromFacts(model, facts, nodes))) };
}

/** What Harombe knows of a model on servers that have no `/api/show`: its window and, when it is the node's own model, its capabilities. */
function describeFromFacts(model: string, node: NodeInfo, all: readonly NodeInfo[]): Record<string, unknown> {
  const own = all.filter((n) => n.model === model);
  const contextLength = own.length > 0 ? Math.max(...own.map((n) => n.contextWindow.tokens)) : undefined;
  const capabilities = node.model === model ? CAPABILITIES.filter((c) => nodeCan(node, c) === true) : [];
  return {
    modelfile: `# ${model} on ${node.name}, an OpenAI-compatible server: it has no /api/show; this is what Harombe knows of it.\n`,
    parameters: contextLength ? `num_ctx                        ${contextLength}` : '',
    template: '{{ .Prompt }}',
    details: { parent_model: '', format: '', family: '', families: null, parameter_size: '', quantization_level: '' },
    model_info: contextLength ? { 'general.architecture': 'unknown', 'unknown.context_length': contextLength } : {},
    capabilities,
    modified_at: new Date().toISOString(),
  };
}
