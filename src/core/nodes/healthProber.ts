import type { Dispatcher } from 'undici';
import { splitBaseUrl } from '../inference/splitBaseUrl';
import { untilAborted } from '../inference/untilAborted';
import type { NodeKind } from '../config/schema';
import { systemClock, type Clock } from '../util/clock';
import type { Disposable } from '../util/emitter';
import { silentLogger, type Logger } from '../util/logger';
import { parseCapabilities } from './capabilities';
import { workerLoad } from './loadReadings';
import type { Capability, NodeHardware, NodeInfo } from './nodeInfo';
import { newChallenge, verifyKeyProof } from './nodeKey';
import type { NodeRegistry } from './nodeRegistry';
import type { ProbeResult } from './probeResult';

export interface HealthProberOptions {
  /** Pause between the end of one sweep and the start of the next, ms. */
  intervalMs: number;
  /** Longest one probe of one node may take, ms; a hung node costs this much and no more. */
  timeoutMs: number;
  logger?: Logger;
  clock?: Clock;
}

/** Health answers are a few hundred bytes; a model list a few hundred KB at most. Anything larger is not a health answer. */
const MAX_BODY_BYTES = 2 * 1024 * 1024;
/**
 * How long what a model can do (Ollama `/api/show`) is taken as known. It only changes when the
 * model is replaced under the same name, and the call costs the server a read of the model's
 * metadata: once a minute, not at every two-second probe.
 */
const MODEL_FACTS_TTL_MS = 60_000;

/** What `/api/show` says of a model: its capabilities and trained window. */
interface ModelFacts {
  capabilities?: Capability[];
  contextMax?: number;
}

type Health = Omit<ProbeResult, 'name' | 'kind' | 'baseUrl' | 'at' | 'probedModel' | 'capabilities' | 'contextMax'> & { modelFacts?: ModelFacts };

interface Target {
  node: NodeInfo;
  baseUrl: string;
  token: string | undefined;
  dispatcher: Dispatcher;
  signal: AbortSignal;
  /** The probe's own deadline (part of `signal`), to tell a timeout from other aborts. */
  deadline: AbortSignal;
  /** Model facts already known for this node's model, fresh enough to skip asking again. */
  cachedModelFacts: ModelFacts | undefined;
}

/**
 * Checks every node's health in parallel, on an interval and on demand, and folds the results into
 * the registry. Each kind is asked what it natively answers: a `harombe` worker its /health, Ollama
 * /api/version (+ /api/ps and /api/tags for loaded and present models), an OpenAI-compatible server
 * /v1/models.
 */
export class HealthProber implements Disposable {
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly lifetime = new AbortController();
  private readonly inFlight = new Map<string, Promise<ProbeResult>>();
  /** `/api/show` answers by node address and model, with when they were fetched. */
  private readonly modelFacts = new Map<string, { at: number; facts: ModelFacts }>();
  private timer: NodeJS.Timeout | undefined;
  private started = false;

  constructor(
    private readonly registry: NodeRegistry,
    private options: HealthProberOptions,
  ) {
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? systemClock;
  }

  /** Sweeps now, then again `intervalMs` after each sweep ends (so slow sweeps never pile up). */
  start(): void {
    if (this.started || this.lifetime.signal.aborted) return;
    this.started = true;
    void this.loop();
  }

  /** Probes every node once, all at the same time; resolves when the slowest has answered or timed out. */
  sweep(): Promise<ProbeResult[]> {
    return Promise.all(this.registry.list().map((n) => this.probe(n.name)));
  }

  /** Probes one node now (joining a probe of it already running) and records the result. Never rejects for a node failure. */
  probe(name: string): Promise<ProbeResult> {
    const node = this.registry.get(name);
    if (!node) return Promise.reject(new Error(`Unknown node ${name}`));
    const endpoint = this.registry.endpoint(name);
    // Keyed by address too, so a node that just moved gets a fresh probe instead of the stale one.
    const key = `${name}\n${node.kind}\n${endpoint.baseUrl}`;
    const running = this.inFlight.get(key);
    if (running) return running;
    const deadline = AbortSignal.timeout(this.options.timeoutMs);
    const target: Target = {
      node,
      baseUrl: endpoint.baseUrl,
      token: endpoint.token,
      dispatcher: this.registry.dispatcher(name),
      signal: AbortSignal.any([deadline, this.lifetime.signal]),
      deadline,
      cachedModelFacts: this.freshModelFacts(endpoint.baseUrl, node.model),
    };
    const promise = this.run(target).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, promise);
    return promise;
  }

  /** Stops the interval and aborts every probe in flight; their results are not recorded. */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.lifetime.abort();
  }

  /** New interval and probe timeout from a reloaded config; a pending sweep is rescheduled with the new interval. */
  setTiming(timing: Pick<HealthProberOptions, 'intervalMs' | 'timeoutMs'>): void {
    const intervalChanged = timing.intervalMs !== this.options.intervalMs;
    this.options = { ...this.options, ...timing };
    if (intervalChanged && this.timer) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.loop(), this.options.intervalMs);
      this.timer.unref();
    }
  }

  private async loop(): Promise<void> {
    try {
      await this.sweep();
    } catch (err) {
      this.logger.error(`health sweep failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (this.lifetime.signal.aborted) return;
    this.timer = setTimeout(() => void this.loop(), this.options.intervalMs);
    // Probing alone must not keep the CLI process alive.
    this.timer.unref();
  }

  private freshModelFacts(baseUrl: string, model: string): ModelFacts | undefined {
    const known = this.modelFacts.get(`${baseUrl}\n${model}`);
    return known && this.clock.now() - known.at < MODEL_FACTS_TTL_MS ? known.facts : undefined;
  }

  private async run(target: Target): Promise<ProbeResult> {
    const { node } = target;
    let health: Health;
    try {
      health = await probeKind(node.kind, target);
      health = checkModel(health, node.model);
    } catch (err) {
      health = { state: 'unavailable', reason: this.describeError(err, target.deadline) };
    }
    if (health.modelFacts && health.modelFacts !== target.cachedModelFacts) {
      this.modelFacts.set(`${target.baseUrl}\n${node.model}`, { at: this.clock.now(), facts: health.modelFacts });
    }
    const { modelFacts, ...found } = health;
    const result: ProbeResult = {
      name: node.name,
      kind: node.kind,
      baseUrl: target.baseUrl,
      ...found,
      ...(modelFacts && { probedModel: node.model, ...modelFacts }),
      ...(found.contextLoaded !== undefined && { probedModel: node.model }),
      at: this.clock.now(),
    };
    if (!this.lifetime.signal.aborted) {
      if (this.registry.applyProbe(node.name, result)) {
        this.logger.trace(`probe ${node.name}: ${result.state}${result.reason ? ` (${result.reason})` : ''}${result.latencyMs === undefined ? '' : `, ${Math.round(result.latencyMs)} ms`}`);
      }
    }
    return result;
  }

  private describeError(err: unknown, deadline: AbortSignal): string {
    if (err instanceof ProbeFailure) return err.message;
    if (this.lifetime.signal.aborted) return 'probe cancelled';
    if (deadline.aborted) return `timeout after ${this.options.timeoutMs} ms`;
    const code = errorCode(err);
    switch (code) {
      case 'ECONNREFUSED':
        return 'connection refused';
      case 'ECONNRESET':
      case 'EPIPE':
      case 'UND_ERR_SOCKET':
        return 'connection reset';
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return 'host not found';
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
        return 'host unreachable';
      case 'UND_ERR_CONNECT_TIMEOUT':
        return 'connect timeout';
      case 'UND_ERR_HEADERS_TIMEOUT':
      case 'UND_ERR_BODY_TIMEOUT':
        return `timeout after ${this.options.timeoutMs} ms`;
      default: {
        const message = err instanceof Error ? err.message : String(err);
        return (code ? `${code}: ${message}` : message).slice(0, 120);
      }
    }
  }
}

/** A probe that reached the node but did not like the answer; the message is the whole reason. */
class ProbeFailure extends Error {}

function probeKind(kind: NodeKind, target: Target): Promise<Health> {
  switch (kind) {
    case 'harombe':
      return probeHarombe(target);
    case 'ollama':
      return probeOllama(target);
    case 'openai':
      return probeOpenAi(target);
  }
}

async function probeHarombe(target: Target): Promise<Health> {
  // Workers of ours sign the nonce with their host key; Harombe 0.3.1 ignores the query and answers as always.
  const challenge = newChallenge();
  const res = await getJson(target, `/health?challenge=${challenge}`);
  // Our workers refuse a wrong token even on /health, so a stale token shows here rather than as a healthy node.
  // No latency: the answer proved no key either way, and the registry keeps what it knew of the key.
  if (res.status === 401 || res.status === 403) return { state: 'unavailable', reason: `token refused by the node (HTTP ${res.status})`, tokenRefused: true };
  const body = asRecord(res.body);
  const status = typeof body?.status === 'string' ? body.status.toLowerCase() : undefined;
  const ok = res.status >= 200 && res.status < 300;
  // A worker whose Ollama is down answers 503 {"status":"degraded"}: the worker itself is up.
  if (!(ok || (res.status === 503 && status === 'degraded'))) throw httpFailure(res.status);
  if (res.body === INVALID_JSON) throw new ProbeFailure('invalid JSON from /health');
  if (!body || status === undefined) throw new ProbeFailure('/health answered without a status');
  const fields = parseWorkerHealth(body);
  if (body.key !== undefined) {
    const proof = verifyKeyProof(body.key, challenge);
    // Nobody honest answers with a bad signature: whoever answers is not the key's owner.
    if (!proof.ok) throw new ProbeFailure(`key proof failed: ${proof.reason}`);
    fields.keyFingerprint = proof.fingerprint;
  }
  if (body.auth === 'required' && !target.token) {
    return { ...fields, state: 'unavailable', reason: 'the node requires a token and none is set for it', tokenRefused: true, latencyMs: res.ms };
  }
  if (status === 'ok' || status === 'healthy') return { ...fields, state: 'available', latencyMs: res.ms };
  const detail = detailOf(body);
  if (status === 'degraded') {
    const reason = detail ?? (res.status === 503 ? 'worker is up but its Ollama is not answering' : 'worker reports degraded');
    return { ...fields, state: 'degraded', reason, latencyMs: res.ms };
  }
  return { ...fields, state: 'degraded', reason: `worker status "${status}"${detail ? `: ${detail}` : ''}`, latencyMs: res.ms };
}

async function probeOllama(target: Target): Promise<Health> {
  const version = getJson(target, '/api/version');
  const ps = getJson(target, '/api/ps');
  const tags = getJson(target, '/api/tags');
  const show = target.cachedModelFacts ? Promise.resolve(target.cachedModelFacts) : showModel(target);
  // The side requests may fail while the main one decides; keep their rejections from going unhandled.
  const extras = Promise.allSettled([ps, tags, show]);
  const res = await version;
  if (res.status < 200 || res.status >= 300) throw httpFailure(res.status);
  if (res.body === INVALID_JSON || !asRecord(res.body)) throw new ProbeFailure('invalid JSON from /api/version');
  const v = asRecord(res.body)?.version;
  const [psRes, tagsRes, showRes] = await extras;
  const psModels = psRes.status === 'fulfilled' ? asRecord(psRes.value.body)?.models : undefined;
  const loadedModels = modelNames(psModels);
  const models = tagsRes.status === 'fulfilled' ? modelNames(asRecord(tagsRes.value.body)?.models) : undefined;
  const modelFacts = showRes.status === 'fulfilled' ? showRes.value : undefined;
  const contextLoaded = loadedContext(psModels, target.node.model);
  return {
    state: 'available',
    latencyMs: res.ms,
    ...(typeof v === 'string' && { version: v }),
    ...(models && { models }),
    ...(loadedModels && { loadedModels, reportedLoad: loadedModels.length }),
    ...(modelFacts && { modelFacts }),
    ...(contextLoaded !== undefined && { contextLoaded }),
  };
}

/**
 * Ollama's `POST /api/show` for the node's model: `capabilities` (Ollama 0.6.4+) and the trained
 * window, `model_info["<arch>.context_length"]` (the key depends on the architecture). Undefined
 * when the server has no such model or predates the fields.
 */
async function showModel(target: Target): Promise<ModelFacts | undefined> {
  const res = await getJson(target, '/api/show', { model: target.node.model });
  const body = asRecord(res.body);
  if (res.status !== 200 || !body) return undefined;
  const capabilities = parseCapabilities(body.capabilities);
  const info = asRecord(body.model_info);
  let contextMax: number | undefined;
  for (const [key, value] of Object.entries(info ?? {})) {
    if (key.endsWith('.context_length') && typeof value === 'number' && value > 0) contextMax = value;
  }
  return { ...(capabilities && { capabilities }), ...(contextMax !== undefined && { contextMax }) };
}

/** `/api/ps` → `models[].context_length` of the node's model, when it is loaded (Ollama 0.10+). */
function loadedContext(psModels: unknown, model: string): number | undefined {
  if (!Array.isArray(psModels)) return undefined;
  for (const m of psModels) {
    const r = asRecord(m);
    const name = str(r?.name) ?? str(r?.model);
    if (name !== undefined && hasModel([name], model)) return positive(r?.context_length);
  }
  return undefined;
}

async function probeOpenAi(target: Target): Promise<Health> {
  const res = await getJson(target, '/v1/models');
  if (res.status < 200 || res.status >= 300) throw httpFailure(res.status);
  const body = asRecord(res.body);
  if (res.body === INVALID_JSON || !body) throw new ProbeFailure('invalid JSON from /v1/models');
  const models = Array.isArray(body.data)
    ? body.data.flatMap((m) => {
        const id = asRecord(m)?.id;
        return typeof id === 'string' ? [id] : [];
      })
    : undefined;
  const window = Array.isArray(body.data) ? openAiWindow(body.data, target.node.model) : {};
  return { state: 'available', latencyMs: res.ms, ...(models && { models }), ...window };
}

/**
 * The window an OpenAI-compatible server reports in `/v1/models` for the node's model (or its only
 * model): vLLM's `max_model_len` (what it was started with), llama.cpp's `meta.n_ctx` (per slot,
 * in newer builds) and `meta.n_ctx_train` (the trained maximum).
 */
function openAiWindow(data: unknown[], model: string): Pick<Health, 'contextLoaded' | 'modelFacts'> {
  const entries = data.map(asRecord).filter((m): m is Record<string, unknown> => m !== undefined);
  const entry = entries.find((m) => m.id === model) ?? (entries.length === 1 ? entries[0] : undefined);
  if (!entry) return {};
  const meta = asRecord(entry.meta);
  const loaded = positive(entry.max_model_len) ?? positive(meta?.n_ctx);
  const max = positive(meta?.n_ctx_train);
  return {
    ...(loaded !== undefined && { contextLoaded: loaded }),
    ...(max !== undefined && { modelFacts: { contextMax: max } }),
  };
}

/** An up node that lists its models but not the configured one cannot serve it: degraded, with the reason. */
function checkModel(health: Health, model: string): Health {
  if (health.state === 'unavailable' || !health.models || hasModel(health.models, model)) return health;
  const missing = `model ${model} not found on node (has: ${summarize(health.models)})`;
  return { ...health, state: 'degraded', reason: health.reason ? `${health.reason}; ${missing}` : missing };
}

/** Ollama adds `:latest` to untagged names, so `llama3` and `llama3:latest` are the same model. */
function hasModel(models: readonly string[], wanted: string): boolean {
  const norm = (m: string) => (m.includes(':') ? m : `${m}:latest`);
  return models.some((m) => m === wanted || norm(m) === norm(wanted));
}

function summarize(models: readonly string[]): string {
  if (models.length === 0) return 'none';
  const shown = models.slice(0, 5).join(', ');
  return models.length > 5 ? `${shown}, … ${models.length - 5} more` : shown;
}

/** Harombe 0.3.1 answers only status, model and version; our workers add load, models, APIs and hardware. Take what is there. */
function parseWorkerHealth(body: Record<string, unknown>): Omit<Health, 'state'> {
  const apis = Array.isArray(body.apis) ? body.apis.filter((a): a is string => typeof a === 'string').map((a) => a.toLowerCase()) : [];
  // A worker of ours asked without its token answers only status and model: it is not telling which APIs it has.
  const brief = body.auth === 'required';
  const model = str(body.model);
  const tier = body.tier === 0 || body.tier === 1 || body.tier === 2 ? body.tier : undefined;
  const version = str(body.version);
  const nodeId = str(body.node_id) ?? str(body.nodeId);
  const inFlight = nonNegative(body.in_flight ?? body.inFlight);
  const maxParallel = nonNegative(body.max_parallel ?? body.maxParallel);
  const models = Array.isArray(body.models) ? modelNames(body.models) : undefined;
  const hardware = parseHardware(body.hardware);
  const load = workerLoad(body);
  // What the worker's Ollama says of its model (/api/show, /api/ps), passed on.
  const capabilities = parseCapabilities(body.capabilities);
  const contextMax = positive(body.context_max);
  const contextLoaded = positive(body.context_loaded);
  const modelFacts: ModelFacts | undefined =
    capabilities || contextMax !== undefined ? { ...(capabilities && { capabilities }), ...(contextMax !== undefined && { contextMax }) } : undefined;
  return {
    ...(!brief && { api: apis.includes('ollama') ? ('ollama' as const) : ('complete' as const) }),
    ...(model !== undefined && { model }),
    ...(tier !== undefined && { tier }),
    ...(version !== undefined && { version }),
    ...(nodeId !== undefined && { nodeId }),
    ...(inFlight !== undefined && { reportedLoad: inFlight }),
    ...(load && { load }),
    ...(maxParallel !== undefined && maxParallel >= 1 && { maxParallel: Math.floor(maxParallel) }),
    ...(models && { models }),
    ...(hardware && { hardware }),
    ...(modelFacts && { modelFacts }),
    ...(contextLoaded !== undefined && { contextLoaded }),
  };
}

function parseHardware(value: unknown): NodeHardware | undefined {
  const h = asRecord(value);
  if (!h) return undefined;
  const hw: NodeHardware = {};
  const cpu = str(h.cpu);
  const cores = nonNegative(h.cores ?? h.cpu_count);
  const ramGb = nonNegative(h.ram_gb ?? h.ramGb);
  const gpu = str(h.gpu);
  const vramGb = nonNegative(h.vram_gb ?? h.vramGb);
  if (cpu !== undefined) hw.cpu = cpu;
  if (cores !== undefined) hw.cores = cores;
  if (ramGb !== undefined) hw.ramGb = ramGb;
  if (gpu !== undefined) hw.gpu = gpu;
  if (vramGb !== undefined) hw.vramGb = vramGb;
  return Object.keys(hw).length > 0 ? hw : undefined;
}

/** Names from `["a", "b"]` or Ollama's `[{ "name": "a" }, …]`; undefined if it is not a list. */
function modelNames(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.flatMap((m) => {
    if (typeof m === 'string') return [m];
    const r = asRecord(m);
    const name = str(r?.name) ?? str(r?.model) ?? str(r?.id);
    return name === undefined ? [] : [name];
  });
}

function detailOf(body: Record<string, unknown>): string | undefined {
  for (const key of ['reason', 'detail', 'error', 'message']) {
    const v = body[key];
    if (typeof v === 'string' && v.trim()) return v.trim().slice(0, 200);
  }
  return undefined;
}

function httpFailure(status: number): ProbeFailure {
  return new ProbeFailure(status === 401 || status === 403 ? `HTTP ${status}: token missing or rejected` : `HTTP ${status}`);
}

const INVALID_JSON = Symbol('invalid JSON');

interface JsonResponse {
  status: number;
  body: unknown;
  /** Round trip from sending the request to the end of the answer. */
  ms: number;
}

/** GETs `path`, or POSTs `post` as JSON to it. */
async function getJson(target: Target, path: string, post?: Record<string, unknown>): Promise<JsonResponse> {
  const start = performance.now();
  const url = splitBaseUrl(target.baseUrl);
  // The probe timeout must hold while connecting too, which undici's own abort does not.
  const res = await untilAborted(
    target.dispatcher.request({
      origin: url.origin,
      path: url.pathPrefix + path,
      method: post ? 'POST' : 'GET',
      signal: target.signal,
      headers: {
        accept: 'application/json',
        ...(post && { 'content-type': 'application/json' }),
        ...(target.token && { authorization: `Bearer ${target.token}` }),
      },
      ...(post && { body: JSON.stringify(post) }),
    }),
    target.signal,
  );
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of res.body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) {
      res.body.destroy();
      throw new ProbeFailure(`answer of ${path} larger than ${MAX_BODY_BYTES / 1024 / 1024} MB`);
    }
    chunks.push(buf);
  }
  const ms = performance.now() - start;
  const text = Buffer.concat(chunks).toString('utf8');
  let body: unknown = INVALID_JSON;
  try {
    body = JSON.parse(text);
  } catch {
    // INVALID_JSON stays; whether that matters depends on the status and the kind.
  }
  return { status: res.statusCode, body, ms };
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : undefined;
}

function nonNegative(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** Node and undici put the code on the error, its cause, or (happy eyeballs over several addresses) an AggregateError's members. */
function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string') return e.code;
  if (Array.isArray(e.errors) && e.errors.length > 0) return errorCode(e.errors[0]);
  return e.cause === undefined ? undefined : errorCode(e.cause);
}
