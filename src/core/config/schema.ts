import * as z from 'zod';
import { CAPABILITIES } from '../nodes/nodeInfo';

/**
 * The one source of truth for `harombe.yaml`. It accepts Harombe's own format (the cluster guide's
 * coordinator and node files) unchanged; keys are snake_case as in the YAML. Sections of Harombe's
 * Python release that this project does not use (memory, voice, security …) are accepted and
 * ignored; keys nobody knows are reported as warnings by the loader, not errors.
 */

const seconds = (def: number) => z.number().positive().default(def);

export const nodeKindSchema = z.enum(['harombe', 'ollama', 'openai']);

/**
 * Whether a reasoning model reasons: `on`, `off`, or `default` (the model's own default). YAML 1.1
 * readers turn a bare on/off into true/false, so booleans are taken as the same choice.
 */
export const thinkSchema = z
  .union([z.enum(['on', 'off', 'default']), z.boolean()])
  .transform((v) => (v === true ? 'on' : v === false ? 'off' : v));

export const nodeConfigSchema = z
  .object({
    name: z.string().min(1).describe('Your name for this node, e.g. `laptop` or `gpu-box`.'),
    host: z.string().min(1).describe('Hostname or IP address of the node.'),
    port: z.number().int().min(1).max(65535).default(8000).describe('Port of the node (`harombe start` listens on 8000, Ollama on 11434).'),
    model: z.string().min(1).describe('Model the node runs, e.g. `qwen2.5:14b`.'),
    tier: z.number().int().min(0).max(2).describe('Tier of the node: 0 fast, 1 balanced, 2 powerful (you decide).'),
    kind: nodeKindSchema.default('harombe').describe('`harombe` (a `harombe start` worker), `ollama` (a plain Ollama server) or `openai` (any OpenAI-compatible server).'),
    auth: z.string().optional().describe('Bearer token; use `${env:NAME}` instead of writing the secret into the file.'),
    auth_token: z.string().optional().describe('Same as `auth` (the name Harombe\'s Python release uses).'),
    max_parallel: z.number().int().min(1).default(4).describe('Requests this node serves at once before the coordinator prefers another node.'),
    context_length: z
      .number()
      .int()
      .min(512)
      .max(10_000_000)
      .optional()
      .describe('Context window in tokens. Ollama nodes (and `harombe start` workers) are run with this `num_ctx` (default 16384, capped at the model\'s maximum); for other servers, the window they were started with when they cannot report it.'),
    capabilities: z
      .array(z.enum(CAPABILITIES))
      .optional()
      .describe('What the node\'s model can do (`completion`, `tools`, `insert`, `vision`, `thinking`, `embedding`), for servers that cannot say; Ollama reports its own.'),
    enabled: z.boolean().default(true).describe('Set to false to keep a node in the file but send it nothing.'),
    think: thinkSchema
      .optional()
      .describe(
        'Reasoning models (qwen3, deepseek-r1, gpt-oss …): `on`, `off` or `default` (the model decides), sent as Ollama\'s `think` field (`harombe` and `ollama` nodes). Overrides `cluster.think` for this node.',
      ),
    backend: z.string().optional().describe('Accepted for compatibility with Harombe\'s Python release; ignored.'),
  })
  .describe('One inference node.');

export const routingSchema = z
  .object({
    prefer_local: z.boolean().default(true).describe('Among equally loaded nodes, prefer the lowest-latency one.'),
    fallback_strategy: z.enum(['graceful', 'strict']).default('graceful').describe('`graceful`: try adjacent tiers when the chosen tier is down; `strict`: fail instead.'),
    load_balance: z.boolean().default(true).describe('Spread requests across the nodes of a tier (round-robin on ties).'),
  })
  .prefault({});

export const discoverySchema = z
  .object({
    method: z.enum(['mdns', 'explicit']).default('explicit').describe('`mdns` also finds `harombe start` workers on the LAN; `explicit` uses only `nodes`.'),
    service: z.string().default('_harombe._tcp.local').describe('mDNS service type to browse.'),
    mdns_service: z.string().optional().describe('Same as `service` (the name Harombe\'s Python release uses).'),
  })
  .prefault({});

export const breakerSchema = z
  .object({
    failure_threshold: z.number().int().min(1).default(5).describe('Consecutive failures that open a node\'s circuit.'),
    timeout: seconds(60).describe('Seconds an open circuit waits before a half-open trial.'),
    success_threshold: z.number().int().min(1).default(2).describe('Successes in half-open that close the circuit.'),
    half_open_timeout: seconds(30).describe('Seconds a half-open trial may take before the circuit re-opens.'),
  })
  .prefault({});

export const healthSchema = z
  .object({
    interval: seconds(2).describe('Seconds between health sweeps (a node that crashes without a goodbye is seen within about this long).'),
    timeout: seconds(1).describe('Seconds one health probe may take (a LAN node answers /health in milliseconds; a hung one costs this much and no more).'),
  })
  .prefault({});

export const timeoutsSchema = z
  .object({
    connect: seconds(5).describe('Seconds to open a connection to a node.'),
    stall: seconds(120).describe('Seconds a node may stay silent before or during an answer (loading a large model can take a while).'),
  })
  .prefault({});

export const thinkByTierSchema = z
  .object({
    tier_0: thinkSchema.default('off').describe('Reasoning on tier 0 nodes: `off` by default, so quick questions stay quick.'),
    tier_1: thinkSchema.default('default').describe('Reasoning on tier 1 nodes (`default`: the model decides).'),
    tier_2: thinkSchema.default('default').describe('Reasoning on tier 2 nodes (`default`: the model decides).'),
  })
  .prefault({})
  .describe('Per tier: whether reasoning models reason (`on`, `off`, `default`); a node\'s own `think` overrides it.');

export const clusterSchema = z
  .object({
    coordinator: z
      .object({ host: z.string().default('localhost').describe('Host of the coordinator; accepted for compatibility with Harombe\'s Python release.') })
      .prefault({}),
    discovery: discoverySchema,
    routing: routingSchema,
    circuit_breaker: breakerSchema,
    health: healthSchema,
    timeouts: timeoutsSchema,
    think: thinkByTierSchema,
    nodes: z.array(nodeConfigSchema).default([]).describe('The inference nodes. A node in the workspace file with the same `name` as one in `~/.harombe/harombe.yaml` is merged over it; other nodes are added.'),
  })
  .prefault({});

export const harombeConfigSchema = z
  .object({
    model: z
      .object({
        name: z.string().default('auto').describe('Model of this machine (`harombe start`) or the local default.'),
        temperature: z.number().min(0).max(2).default(0.7).describe('Sampling temperature of answers.'),
        quantization: z.string().optional().describe('Quantization level of the local model, e.g. `Q4_K_M` (informational).'),
        context_length: z.number().int().min(1).optional().describe('Context window in tokens, when the model\'s own default is not wanted.'),
      })
      .prefault({}),
    server: z
      .object({
        host: z.string().default('127.0.0.1').describe('Address `harombe start` listens on; `0.0.0.0` to serve the LAN.'),
        port: z.number().int().min(1).max(65535).default(8000).describe('Port `harombe start` listens on.'),
        auth_token: z.string().optional().describe('Bearer token `harombe start` requires from callers; use `${env:NAME}`.'),
        cors_origins: z.array(z.string()).optional().describe('Browser origins allowed to call `harombe start`.'),
      })
      .prefault({}),
    ollama: z
      .object({
        host: z.string().default('http://localhost:11434').describe('URL of the Ollama server `harombe start` proxies to.'),
        timeout: z.number().positive().default(120).describe('Seconds a request to Ollama may take.'),
      })
      .prefault({}),
    agent: z
      .object({
        max_steps: z.number().int().min(1).max(50).default(10).describe('Tool-calling rounds the agent may take for one prompt.'),
        system_prompt: z.string().optional().describe('Replaces the agent\'s built-in system prompt.'),
      })
      .prefault({}),
    tools: z
      .object({
        shell: z.boolean().default(true).describe('Let the agent run shell commands (each one asks first when `confirm_dangerous` is on).'),
        filesystem: z.boolean().default(true).describe('Let the agent read and write files in the workspace.'),
        web_search: z.boolean().default(false).describe('Let the agent search the web (off by default: the queries leave your network).'),
        confirm_dangerous: z.boolean().default(true).describe('Ask before any tool call that writes or executes.'),
      })
      .prefault({}),
    cluster: clusterSchema,
    completion: z
      .object({
        enabled: z.boolean().default(true).describe('Ghost-text completions in the editor from the cluster (the editor setting `harombe.completion.enabled` can also turn them off).'),
        tier: z.number().int().min(0).max(2).default(0).describe('Tier whose nodes serve completions (other tiers only when it has none).'),
        nodes: z.array(z.string()).optional().describe('Only these nodes serve completions, by name.'),
        model: z.string().optional().describe('A dedicated fill-in-the-middle model to ask for (e.g. `qwen2.5-coder:1.5b`); only nodes that have it serve completions.'),
      })
      .prefault({}),
  })
  .prefault({});

export type HarombeConfig = z.infer<typeof harombeConfigSchema>;
export type NodeConfig = z.infer<typeof nodeConfigSchema>;
export type NodeKind = z.infer<typeof nodeKindSchema>;
export type ThinkChoice = z.infer<typeof thinkSchema>;
export type RoutingConfig = HarombeConfig['cluster']['routing'];

/**
 * Top-level sections of Harombe's Python release that are valid there but unused here: they load
 * silently instead of producing "unknown key" warnings.
 */
export const ignoredPythonSections: readonly string[] = [
  'inference', 'memory', 'voice', 'security', 'gateway', 'privacy', 'patterns', 'plugins',
  'delegation', 'agents', 'mcp', 'channels', 'vllm', 'sglang', 'llamacpp',
];
