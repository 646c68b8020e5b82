/**
 * What a fake Ollama says each model can do and how large its window is, as real Ollama reports
 * them in `POST /api/show` (`capabilities`, `model_info["<arch>.context_length"]`). The defaults by
 * family follow what the Ollama library's models report: gemma, phi, codellama, deepseek-coder and
 * starcoder take no tools; qwen2.5 and llama3.1 do; the coder and code models fill in the middle;
 * llava and other vision models take images; embedding models only embed.
 */
export interface FakeModelInfo {
  capabilities: string[];
  /** The model's trained maximum window, in tokens. */
  contextLength: number;
  /** `general.architecture`; the window's key in `model_info` is `<arch>.context_length`. */
  architecture: string;
}

export function defaultModelInfo(name: string): FakeModelInfo {
  const n = name.toLowerCase();
  if (/embed|minilm|bge-/.test(n)) return { capabilities: ['embedding'], contextLength: 8192, architecture: 'nomic-bert' };
  if (/llava|vision|moondream/.test(n)) return { capabilities: ['completion', 'vision'], contextLength: 4096, architecture: 'llama' };
  if (/codellama|starcoder|deepseek-coder(?!-v2)/.test(n)) return { capabilities: ['completion', 'insert'], contextLength: 16384, architecture: 'llama' };
  if (/gemma|phi/.test(n)) return { capabilities: ['completion'], contextLength: 8192, architecture: 'gemma2' };
  if (/qwen3|deepseek-r1|gpt-oss/.test(n)) return { capabilities: ['completion', 'tools', 'thinking'], contextLength: 40960, architecture: 'qwen3' };
  if (/coder/.test(n)) return { capabilities: ['completion', 'tools', 'insert'], contextLength: 32768, architecture: 'qwen2' };
  return { capabilities: ['completion', 'tools'], contextLength: 32768, architecture: 'qwen2' };
}

/**
 * The name Ollama uses in its refusals: `registry.ollama.ai/library/<model>:<tag>`, with `:latest`
 * for an untagged name (as in `registry.ollama.ai/library/gemma2:2b does not support tools`).
 */
export function qualifiedModelName(name: string): string {
  const tagged = name.includes(':') ? name : `${name}:latest`;
  return tagged.includes('/') ? `registry.ollama.ai/${tagged}` : `registry.ollama.ai/library/${tagged}`;
}

/**
 * Ollama's 400 for a request its model cannot serve, checked before any prompt work
 * (server/routes.go checks the model's capabilities first): tools offered to a model without
 * `tools`, a chat with an embedding-only model, images to a model without `vision`, a `suffix`
 * to a model without `insert`, `think: true` to a model without `thinking`. Undefined when the model can serve it.
 */
export function capabilityRefusal(info: FakeModelInfo, model: string, route: 'chat' | 'generate', body: Record<string, unknown>): string | undefined {
  const caps = info.capabilities;
  const name = qualifiedModelName(model);
  if (!caps.includes('completion')) return `"${model}" does not support ${route}`;
  if (Array.isArray(body.tools) && body.tools.length > 0 && !caps.includes('tools')) return `${name} does not support tools`;
  if (route === 'generate' && typeof body.suffix === 'string' && body.suffix !== '' && !caps.includes('insert')) return `${name} does not support insert`;
  const images = route === 'generate' ? body.images : Array.isArray(body.messages) ? body.messages.flatMap((m) => (m as { images?: unknown[] }).images ?? []) : [];
  if (Array.isArray(images) && images.length > 0 && !caps.includes('vision')) return `${name} does not support vision`;
  if (body.think === true && !caps.includes('thinking')) return `"${model}" does not support thinking`;
  return undefined;
}
