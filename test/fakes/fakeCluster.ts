import { harombeConfigSchema, type HarombeConfig } from '../../src/core/config/schema';
import { FakeOllama, type FakeOllamaOptions } from './fakeOllama';
import { FakeOpenAI, type FakeOpenAIOptions } from './fakeOpenAI';
import { FakePythonWorker } from './fakePythonWorker';
import type { FakeServer } from './fakeServer';

/**
 * How a fake node of a cluster presents itself: `ollama` a plain Ollama server, `harombe` a worker
 * of this project (Ollama proxy + /health), `python` a Harombe 0.3.1 worker (/api/complete only),
 * `openai` an OpenAI-compatible server.
 */
export type FakeNodeFlavour = 'ollama' | 'harombe' | 'python' | 'openai';

export interface FakeNodeSpec {
  name: string;
  tier: 0 | 1 | 2;
  flavour?: FakeNodeFlavour;
  model?: string;
  options?: FakeOllamaOptions;
  /** For `openai` nodes: the server's own options (llama.cpp or vLLM, its window…). */
  openai?: Partial<FakeOpenAIOptions>;
  maxParallel?: number;
  /** `openai` nodes: refuse requests that offer tools, as vLLM started without tool parsing does. */
  noTools?: boolean;
  /** Written into the node's config entry (`capabilities:`, `context_length:` …). */
  config?: Record<string, unknown>;
  /** `context_length` in the node's config. */
  contextLength?: number;
}

export interface FakeCluster {
  config: HarombeConfig;
  /** The YAML a user would write for this cluster. */
  yaml: string;
  node(name: string): FakeServer;
  ollama(name: string): FakeOllama;
  stop(): Promise<void>;
}

const DEFAULT_MODEL: Record<0 | 1 | 2, string> = { 0: 'qwen2.5:3b', 1: 'qwen2.5:14b', 2: 'qwen2.5:72b' };

/** Starts fake nodes on 127.0.0.1 and returns the parsed config that points at them. */
export async function startFakeCluster(
  specs: FakeNodeSpec[],
  cluster: { routing?: Record<string, unknown>; circuit_breaker?: Record<string, unknown>; health?: Record<string, unknown>; timeouts?: Record<string, unknown> } = {},
): Promise<FakeCluster> {
  const servers = new Map<string, FakeServer>();
  const nodes: Record<string, unknown>[] = [];
  try {
    for (const spec of specs) {
      const model = spec.model ?? DEFAULT_MODEL[spec.tier];
      const flavour = spec.flavour ?? 'ollama';
      let server: FakeServer;
      if (flavour === 'python') server = await FakePythonWorker.start({ model, reply: spec.options?.reply, reasoning: spec.options?.reasoning });
      else if (flavour === 'openai')
        server = await FakeOpenAI.start({
          models: [model],
          reply: spec.options?.reply,
          chunkDelayMs: spec.options?.chunkDelayMs,
          noTools: spec.noTools,
          reasoning: spec.options?.reasoning,
          fim: spec.options?.fim,
          firstTokenDelayMs: spec.options?.firstTokenDelayMs,
          ...spec.openai,
        });
      else
        server = await FakeOllama.start({
          models: [model],
          ...spec.options,
          worker: flavour === 'harombe' ? { model, tier: spec.tier, maxParallel: spec.maxParallel } : undefined,
        });
      servers.set(spec.name, server);
      nodes.push({
        name: spec.name,
        host: '127.0.0.1',
        port: server.port,
        model,
        tier: spec.tier,
        kind: flavour === 'python' ? 'harombe' : flavour,
        ...(spec.maxParallel ? { max_parallel: spec.maxParallel } : {}),
        ...spec.config,
        ...(spec.contextLength ? { context_length: spec.contextLength } : {}),
      });
    }
  } catch (err) {
    await Promise.all([...servers.values()].map((s) => s.stop()));
    throw err;
  }
  const raw = { cluster: { ...cluster, nodes } };
  const config = harombeConfigSchema.parse(raw);
  return {
    config,
    yaml: toYaml(raw),
    node: (name) => must(servers.get(name), name),
    ollama: (name) => {
      const s = must(servers.get(name), name);
      if (!(s instanceof FakeOllama)) throw new Error(`${name} is not a FakeOllama`);
      return s;
    },
    stop: async () => {
      await Promise.all([...servers.values()].map((s) => s.stop()));
    },
  };
}

function must<T>(v: T | undefined, name: string): T {
  if (v === undefined) throw new Error(`no fake node named ${name}`);
  return v;
}

function toYaml(raw: { cluster: Record<string, unknown> }): string {
  // JSON is valid YAML; the loader reads it like any harombe.yaml.
  return JSON.stringify(raw, null, 2) + '\n';
}
