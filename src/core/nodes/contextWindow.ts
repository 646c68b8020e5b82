import type { NodeKind } from '../config/schema';
import type { ContextWindow } from './nodeInfo';

/**
 * The window Harombe runs Ollama models with when the user sets none (`num_ctx`, sent with every
 * request, one value per node so the model is not reloaded). 16k tokens of KV cache for a 7-8B
 * model is about 1-2 GiB: it loads beside the model on an 8 GiB GPU, where Cline's 32k would not.
 */
export const DEFAULT_OLLAMA_WINDOW = 16_384;

/** What the probes found about a node's window. */
export interface WindowFacts {
  /** `cluster.nodes[].context_length`. */
  configured?: number;
  /** The model's trained maximum: Ollama `/api/show` `model_info["<arch>.context_length"]`, llama.cpp `n_ctx_train`. */
  max?: number;
  /**
   * What the server runs with now: llama.cpp `/props` `n_ctx` (per slot), vLLM `max_model_len`,
   * LM Studio's loaded `context_length`. For Ollama this is `/api/ps`, which reflects whatever the
   * last client asked for: it is shown, not used, since Harombe sends its own `num_ctx`.
   */
  loaded?: number;
  /** A window a refusal proved (llama.cpp's `n_ctx`, vLLM's maximum): it wins over every guess. */
  learned?: number;
  /** Server version, for the documented default when nothing else is known. */
  version?: string;
}

/** The window a prompt must fit on this node. */
export function resolveContextWindow(kind: NodeKind, facts: WindowFacts): ContextWindow {
  const max = facts.max;
  const cap = (n: number) => (max === undefined ? n : Math.min(n, max));
  const withMax = (w: Omit<ContextWindow, 'max'>): ContextWindow => (max === undefined ? w : { ...w, max });
  if (facts.learned !== undefined) return withMax({ tokens: facts.learned, source: 'reported' });
  // Ollama (and a worker in front of it) runs with the num_ctx Harombe sends: Harombe chooses.
  const setsNumCtx = kind === 'ollama' || kind === 'harombe';
  if (facts.configured !== undefined) return withMax({ tokens: setsNumCtx ? cap(facts.configured) : facts.configured, source: 'configured' });
  if (setsNumCtx) return withMax({ tokens: cap(DEFAULT_OLLAMA_WINDOW), source: 'chosen' });
  if (facts.loaded !== undefined) return withMax({ tokens: facts.loaded, source: 'reported' });
  if (max !== undefined) return { tokens: max, max, source: 'reported' };
  // llama.cpp's server runs `-c 4096` unless told otherwise in older builds; the safe guess.
  return { tokens: 4096, source: 'assumed' };
}
