import { parseCapabilities } from '../core/nodes/capabilities';
import type { Capability, NodeHardware } from '../core/nodes/nodeInfo';
import type { WireNodeKey } from '../core/nodes/nodeKey';
import type { Logger } from '../core/util/logger';

/** Who this worker is, as /health and the mDNS announcement tell it. */
export interface WorkerIdentity {
  /** The model from the config or `--model`; `auto` means "whatever Ollama has first". */
  model: string;
  tier: number;
  version: string;
  nodeId: string;
  maxParallel: number;
}

export interface WorkerHealthOptions extends WorkerIdentity {
  /** Names of the models the worker's Ollama has (`/api/tags`); rejects when Ollama is unreachable. */
  listModels(signal: AbortSignal): Promise<string[]>;
  /** What Ollama's `/api/show` says of `model`; undefined when it has no answer. */
  showModel?(model: string, signal: AbortSignal): Promise<ModelFacts | undefined>;
  /** Requests the worker is serving right now. */
  inFlight(): number;
  /** Inference requests running and waiting for a turn (the admission's count). */
  load?(): { running: number; queued: number };
  logger: Logger;
  /** Tests replace the real detection; the default asks systeminformation. */
  detectHardware?: () => Promise<NodeHardware>;
  /** Longest wait for Ollama's `/api/tags` before calling it unreachable. */
  probeTimeoutMs?: number;
  /** How long one answer from Ollama is reused, so a burst of probes costs Ollama one request. */
  cacheMs?: number;
  /** The worker's host key, shown (and signed over a challenge) on every /health. */
  key?: (challenge: string | undefined) => WireNodeKey;
}

/** What the worker's Ollama says of the model it serves. */
export interface ModelFacts {
  capabilities?: Capability[];
  /** The model's trained window, in tokens. */
  contextMax?: number;
}

/** `capabilities` and `model_info["<arch>.context_length"]` from an `/api/show` answer. */
export function modelFactsOf(body: unknown): ModelFacts | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as { capabilities?: unknown; model_info?: unknown };
  const capabilities = parseCapabilities(b.capabilities);
  let contextMax: number | undefined;
  if (typeof b.model_info === 'object' && b.model_info !== null) {
    for (const [key, value] of Object.entries(b.model_info)) {
      if (key.endsWith('.context_length') && typeof value === 'number' && value > 0) contextMax = value;
    }
  }
  return { ...(capabilities && { capabilities }), ...(contextMax !== undefined && { contextMax }) };
}

/** How long an `/api/show` answer is reused: it changes only when the model is replaced. */
const MODEL_FACTS_TTL_MS = 60_000;

/** The APIs a worker of ours serves; the coordinator streams through `/api/chat` only when `ollama` is listed. */
export const WORKER_APIS = ['ollama', 'openai', 'complete'] as const;

export interface HealthBody {
  status: 'ok' | 'degraded';
  model: string;
  tier: number;
  version: string;
  node_id: string;
  in_flight: number;
  /** Inference requests running on the model now, from every client, and waiting for a turn. */
  running?: number;
  queued?: number;
  max_parallel: number;
  models: string[];
  /** Null until the background detection has finished (it can take seconds on some machines). */
  hardware: WireHardware | null;
  apis: readonly string[];
  /** Why the worker is degraded; deliberately vague because /health needs no token. */
  reason?: string;
  /** What the model can do, as the worker's Ollama says (`/api/show`). */
  capabilities?: Capability[];
  /** The model's trained window in tokens, as the worker's Ollama says. */
  context_max?: number;
  key?: WireNodeKey;
}

/** What /health tells a caller without the token: Harombe 0.3.1's fields, and the key that proves who answers. */
export type PublicHealthBody = Pick<HealthBody, 'status' | 'model' | 'reason' | 'key'> & {
  /** Tells a coordinator without the token why it learns nothing more (a 401 elsewhere says as much). */
  auth: 'required';
};

/** NodeHardware as /health spells it: snake_case, like every other key of the body. */
export interface WireHardware {
  cpu?: string;
  cores?: number;
  ram_gb?: number;
  gpu?: string;
  vram_gb?: number;
}

export interface ReadyBody {
  status: 'ready' | 'not_ready';
  reason?: string;
}

interface Probe {
  at: number;
  models?: string[];
  error?: string;
}

const HARDWARE_TIMEOUT_MS = 20_000;

/** Answers `/health` and `/ready` for a worker, from a short-lived probe of its Ollama. */
export class WorkerHealth {
  private hardwareValue: NodeHardware | null = null;
  private hardwareDetection: Promise<void> | undefined;
  private lastProbe: Probe | undefined;
  private pendingProbe: Promise<Probe> | undefined;
  private modelFacts: { model: string; at: number; facts: ModelFacts | undefined } | undefined;

  constructor(private readonly opts: WorkerHealthOptions) {}

  /** Starts hardware detection in the background (once); /health reports `hardware: null` until it is done. The promise never rejects. */
  start(): Promise<void> {
    this.hardwareDetection ??= this.detect();
    return this.hardwareDetection;
  }

  private detect(): Promise<void> {
    const detect = this.opts.detectHardware ?? detectHardware;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`took longer than ${HARDWARE_TIMEOUT_MS / 1000}s`)), HARDWARE_TIMEOUT_MS);
      timer.unref();
    });
    return Promise.race([detect(), timeout])
      .then((hw) => {
        this.hardwareValue = hw;
        this.opts.logger.debug(`hardware: ${JSON.stringify(hw)}`);
      })
      .catch((err: unknown) => {
        // A worker without hardware facts still serves; the coordinator just knows less about it.
        this.hardwareValue = {};
        this.opts.logger.warn(`could not detect hardware: ${(err as Error).message}`);
      })
      .finally(() => clearTimeout(timer));
  }

  get hardware(): NodeHardware | null {
    return this.hardwareValue;
  }

  /**
   * `full` false (a worker with a token, asked without it): status and model only, as Harombe
   * 0.3.1 answers; hardware, models, load and ids help whoever maps the LAN, so they need the token.
   */
  async health(challenge?: string, full = true): Promise<{ statusCode: 200 | 503; body: HealthBody | PublicHealthBody }> {
    const probe = await this.probe();
    const o = this.opts;
    const key = o.key?.(challenge);
    if (!full) {
      const brief: PublicHealthBody = { status: probe.models ? 'ok' : 'degraded', model: effectiveModel(o.model, probe.models), auth: 'required' };
      if (!probe.models) brief.reason = 'ollama unreachable';
      if (key) brief.key = key;
      return { statusCode: probe.models ? 200 : 503, body: brief };
    }
    const body: HealthBody = {
      status: probe.models ? 'ok' : 'degraded',
      model: effectiveModel(o.model, probe.models),
      tier: o.tier,
      version: o.version,
      node_id: o.nodeId,
      in_flight: o.inFlight(),
      ...(o.load && { running: o.load().running, queued: o.load().queued }),
      max_parallel: o.maxParallel,
      models: probe.models ?? [],
      hardware: this.hardwareValue && toWire(this.hardwareValue),
      apis: WORKER_APIS,
    };
    if (!probe.models) body.reason = 'ollama unreachable';
    const facts = probe.models ? await this.facts(body.model) : undefined;
    if (facts?.capabilities) body.capabilities = facts.capabilities;
    if (facts?.contextMax !== undefined) body.context_max = facts.contextMax;
    if (key) body.key = key;
    return { statusCode: probe.models ? 200 : 503, body };
  }

  /** `/api/show` of the model, asked at most once a minute; a failure only leaves the facts out. */
  private async facts(model: string): Promise<ModelFacts | undefined> {
    const show = this.opts.showModel;
    if (!show || model === 'auto') return undefined;
    const known = this.modelFacts;
    if (known && known.model === model && Date.now() - known.at < MODEL_FACTS_TTL_MS) return known.facts;
    let facts: ModelFacts | undefined;
    try {
      facts = await show(model, AbortSignal.timeout(this.opts.probeTimeoutMs ?? 2000));
    } catch (err) {
      this.opts.logger.debug(`ollama /api/show ${model}: ${(err as Error).message}`);
    }
    this.modelFacts = { model, at: Date.now(), facts };
    return facts;
  }

  /** Ready means: Ollama answers and has the model this worker serves. */
  async ready(): Promise<{ statusCode: 200 | 503; body: ReadyBody }> {
    const probe = await this.probe();
    if (!probe.models) return { statusCode: 503, body: { status: 'not_ready', reason: 'ollama unreachable' } };
    const model = this.opts.model;
    if (model === 'auto' ? probe.models.length === 0 : !hasModel(probe.models, model)) {
      return { statusCode: 503, body: { status: 'not_ready', reason: model === 'auto' ? 'ollama has no models' : `model ${model} is not pulled` } };
    }
    return { statusCode: 200, body: { status: 'ready' } };
  }

  /** The model a request without one should run: the configured one, or Ollama's first for `auto`. */
  async model(): Promise<string> {
    if (this.opts.model !== 'auto') return this.opts.model;
    return effectiveModel('auto', (await this.probe()).models);
  }

  private probe(): Promise<Probe> {
    const cacheMs = this.opts.cacheMs ?? 1000;
    if (this.lastProbe && Date.now() - this.lastProbe.at < cacheMs) return Promise.resolve(this.lastProbe);
    // Probes that arrive while one is under way share it rather than each asking Ollama.
    this.pendingProbe ??= this.runProbe().finally(() => (this.pendingProbe = undefined));
    return this.pendingProbe;
  }

  private async runProbe(): Promise<Probe> {
    let probe: Probe;
    try {
      const models = await this.opts.listModels(AbortSignal.timeout(this.opts.probeTimeoutMs ?? 2000));
      probe = { at: Date.now(), models };
    } catch (err) {
      probe = { at: Date.now(), error: (err as Error).message };
      if (this.lastProbe?.models || !this.lastProbe) this.opts.logger.warn(`ollama is unreachable: ${probe.error}`);
    }
    if (probe.models && this.lastProbe && !this.lastProbe.models) this.opts.logger.info('ollama is reachable again');
    this.lastProbe = probe;
    return probe;
  }
}

function toWire(hw: NodeHardware): WireHardware {
  const wire: WireHardware = {};
  if (hw.cpu !== undefined) wire.cpu = hw.cpu;
  if (hw.cores !== undefined) wire.cores = hw.cores;
  if (hw.ramGb !== undefined) wire.ram_gb = hw.ramGb;
  if (hw.gpu !== undefined) wire.gpu = hw.gpu;
  if (hw.vramGb !== undefined) wire.vram_gb = hw.vramGb;
  return wire;
}

function effectiveModel(configured: string, models: string[] | undefined): string {
  if (configured !== 'auto') return configured;
  return models?.[0] ?? 'auto';
}

/** Ollama lists `llama3` as `llama3:latest`; a config may say either. */
function hasModel(models: string[], model: string): boolean {
  const norm = (m: string) => (m.includes(':') ? m : `${m}:latest`);
  return models.some((m) => norm(m) === norm(model));
}

async function detectHardware(): Promise<NodeHardware> {
  // Loaded on first use: it is the largest module in the CLI, and only `harombe start` needs it.
  const si = await import('systeminformation');
  const [cpu, mem, graphics] = await Promise.all([si.cpu(), si.mem(), si.graphics().catch(() => undefined)]);
  const hw: NodeHardware = {
    cpu: [cpu.manufacturer, cpu.brand].filter(Boolean).join(' ') || undefined,
    cores: cpu.cores || undefined,
    ramGb: mem.total ? round1(mem.total / 2 ** 30) : undefined,
  };
  const gpus = (graphics?.controllers ?? []).filter((c) => c.model);
  if (gpus.length) {
    hw.gpu = gpus.map((c) => c.model).join(', ');
    // Integrated GPUs that borrow system RAM (vramDynamic) have no VRAM of their own worth reporting.
    const vramMb = gpus.filter((c) => !c.vramDynamic).reduce((sum, c) => sum + (c.vram ?? 0), 0);
    if (vramMb > 0) hw.vramGb = round1(vramMb / 1024);
  }
  for (const k of Object.keys(hw) as (keyof NodeHardware)[]) if (hw[k] === undefined) delete hw[k];
  return hw;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
