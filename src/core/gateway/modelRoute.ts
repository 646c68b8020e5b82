import type { NodeInfo } from '../nodes/nodeInfo';
import { HttpError } from './gatewayHttp';
import type { Tier } from '../routing/classification';

/** What a client's `model` field asks of the router. */
export type ModelRoute = { kind: 'auto' } | { kind: 'tier'; tier: Tier } | { kind: 'model'; model: string };

/** The names the gateway lists for itself, besides the nodes' own models. */
export const HAROMBE_MODELS = ['harombe', 'harombe:auto', 'harombe:tier0', 'harombe:tier1', 'harombe:tier2'] as const;

/**
 * `harombe`, `harombe:auto` (and `harombe:latest`, which Ollama clients append) let the classifier
 * decide; `harombe:tier0|1|2` force a tier; any other name is a model some node must have.
 */
export function parseModelRoute(name: string): ModelRoute {
  if (name === 'harombe' || name === 'harombe:auto' || name === 'harombe:latest') return { kind: 'auto' };
  const m = /^harombe:tier([012])$/.exec(name);
  if (m) return { kind: 'tier', tier: Number(m[1]) as Tier };
  return { kind: 'model', model: name };
}

/**
 * The name under which some node serves `model`, or undefined. Ollama treats `llama3` and
 * `llama3:latest` as one model, so the gateway does too.
 */
function resolveNodeModel(nodes: readonly NodeInfo[], model: string): string | undefined {
  const alt = model.includes(':') ? (model.endsWith(':latest') ? model.slice(0, -':latest'.length) : undefined) : `${model}:latest`;
  for (const n of nodes) {
    if (n.model === model || n.models.includes(model)) return model;
  }
  if (alt === undefined) return undefined;
  for (const n of nodes) {
    if (n.model === alt || n.models.includes(alt)) return alt;
  }
  return undefined;
}

/** The routing part of a completion for a client's model name; an unknown model is a 404 listing what exists. Nodes are listed only for real model names. */
export function routingFor(listNodes: () => readonly NodeInfo[], name: string): { tier?: Tier; model?: string } {
  const route = parseModelRoute(name);
  if (route.kind === 'auto') return {};
  if (route.kind === 'tier') return { tier: route.tier };
  const nodes = listNodes();
  const model = resolveNodeModel(nodes, route.model);
  if (model === undefined) {
    const known = [...HAROMBE_MODELS, ...new Set(nodes.flatMap((n) => [n.model, ...n.models]))];
    throw new HttpError(404, `model "${name}" not found: no node serves it. Use one of: ${known.join(', ')}.`, 'model_not_found');
  }
  return { model };
}

/** The gateway's own names, then every model some node serves. */
export function listModelNames(nodes: readonly NodeInfo[]): string[] {
  const names = new Set<string>(HAROMBE_MODELS);
  for (const n of nodes) {
    names.add(n.model);
    for (const m of n.models) names.add(m);
  }
  return [...names];
}
