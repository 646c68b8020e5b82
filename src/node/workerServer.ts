import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool as UndiciPool } from 'undici';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONNECTIONS, HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS } from '../core/gateway/gatewayServer';
import { RequestGuard } from '../core/gateway/requestGuard';
import { Pool } from '../core/inference/undiciCore';
import { isChallenge } from '../core/nodes/nodeKey';
import type { NodeHardware } from '../core/nodes/nodeInfo';
import { jsonTooDeep, MAX_JSON_DEPTH } from '../core/util/jsonDepth';
import type { Logger } from '../core/util/logger';
import { Admission, isRefusal, type Ticket } from './admission';
import { handleComplete } from './completeRoute';
import type { OllamaPost } from './completeRoute';
import { BearerAuth } from '../core/util/bearerAuth';
import { modelFactsOf, WorkerHealth, type ModelFacts } from './workerHealth';
import type { WorkerIdentity } from './workerHealth';
import type { WorkerKey } from './workerKey';

export interface WorkerServerOptions extends WorkerIdentity {
  /** Address to listen on; `0.0.0.0` must be asked for explicitly (the config's default is 127.0.0.1). */
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Base URL of this machine's Ollama, e.g. `http://localhost:11434`. */
  ollamaUrl: string;
  /** When set, every route but /health needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Temperature for `/api/complete` requests that name none. */
  temperature: number;
  /** Longest silence from Ollama (before its headers, and between two chunks), ms. A large model can take a while to load. */
  upstreamTimeoutMs: number;
  logger: Logger;
  detectHardware?: () => Promise<NodeHardware>;
  /** How long one look at Ollama serves /health and /ready; default 1 s. */
  healthCacheMs?: number;
  /** The host key /health proves; without one the worker answers as Harombe 0.3.1 does (no key). */
  key?: WorkerKey;
  /** Lets Ollama's management routes through (pull, delete, create, push, copy, blobs); off by default. */
  allowManagement?: boolean;
  /** Web origins allowed besides loopback pages and VS Code webviews. */
  allowedOrigins?: string[];
  /** Largest request body, proxied or read; default the gateway's. */
  maxBodyBytes?: number;
  /** Most sockets open at once; default the gateway's. */
  maxConnections?: number;
  /** Defaults as the gateway's; tests shorten them. */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Inference requests that may wait for a turn beyond `maxParallel`; default twice `maxParallel`. */
  maxQueue?: number;
  /** Longest an inference request waits for a turn before a 503, ms; default 30 s. */
  maxQueueWaitMs?: number;
}

type Access = 'inference' | 'management';

/**
 * What reaches Ollama: the routes a coordinator and an Ollama or OpenAI client use to run and list
 * models. Management routes change what is on the disk (CVE-2024-37032 was a path traversal
 * through /api/pull), so a token holder gets them only when the worker was started to allow it.
 */
const ROUTES: Record<string, Partial<Record<string, Access>>> = {
  '/api/chat': { POST: 'inference' },
  '/api/generate': { POST: 'inference' },
  '/api/embed': { POST: 'inference' },
  '/api/embeddings': { POST: 'inference' },
  '/api/show': { POST: 'inference' },
  '/api/tags': { GET: 'inference', HEAD: 'inference' },
  '/api/ps': { GET: 'inference', HEAD: 'inference' },
  '/api/version': { GET: 'inference', HEAD: 'inference' },
  '/v1/chat/completions': { POST: 'inference' },
  '/v1/completions': { POST: 'inference' },
  '/v1/embeddings': { POST: 'inference' },
  '/v1/models': { GET: 'inference', HEAD: 'inference' },
  '/api/pull': { POST: 'management' },
  '/api/push': { POST: 'management' },
  '/api/create': { POST: 'management' },
  '/api/copy': { POST: 'management' },
  '/api/delete': { DELETE: 'management' },
};

function accessOf(path: string, method: string): Access | 'wrong-method' | undefined {
  // /v1/models/{model} and /api/blobs/{digest} carry a name; the path check has refused anything that could climb out.
  const route = path.startsWith('/v1/models/') ? { GET: 'inference' as const } : path.startsWith('/api/blobs/') ? { HEAD: 'management' as const, POST: 'management' as const } : ROUTES[path];
  if (!route) return undefined;
  return route[method] ?? 'wrong-method';
}

/** `..` segments, encoded dots, slashes and backslashes, NUL and other control characters: nothing Ollama's routes need. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
const BAD_PATH = /(^|\/)\.\.?(\/|$)|%2e|%2f|%5c|%00|\\|[\x00-\x1f\x7f]/i;

/** The requests that take a turn at the model; listing models or versions never waits behind them. */
const INFERENCE_PATHS = new Set(['/api/chat', '/api/generate', '/api/embed', '/api/embeddings', '/api/complete', '/v1/chat/completions', '/v1/completions', '/v1/embeddings']);
const DEFAULT_QUEUE_WAIT_MS = 30_000;

/** Request headers that describe this hop, not the request; the worker's own token must not reach Ollama either. */
const HOP_REQUEST_HEADERS = new Set([
  'host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'authorization', 'proxy-authorization', 'expect',
]);
const HOP_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

/**
 * The HTTP side of `harombe start`: /health and /ready, the Ollama API (`/api/*`) and Ollama's
 * OpenAI-compatible API (`/v1/*`) proxied to this machine's Ollama as streams, and Harombe 0.3.1's
 * `POST /api/complete`.
 */
export class WorkerServer {
  readonly health: WorkerHealth;
  readonly admission: Admission;
  private readonly auth: BearerAuth;
  private readonly guard: RequestGuard;
  private readonly maxBodyBytes: number;
  private readonly pool: UndiciPool;
  private readonly basePath: string;
  private inFlightCount = 0;
  private readonly drained = new Set<() => void>();
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly opts: WorkerServerOptions,
    private readonly server: Server,
  ) {
    const upstream = new URL(opts.ollamaUrl);
    this.basePath = upstream.pathname.replace(/\/+$/, '');
    this.pool = new Pool(upstream.origin, {
      connections: 32,
      keepAliveTimeout: 30_000,
      connectTimeout: 5_000,
      headersTimeout: opts.upstreamTimeoutMs,
      bodyTimeout: opts.upstreamTimeoutMs,
    });
    this.auth = new BearerAuth(opts.token);
    // Host and Origin as the gateway checks them: without that, a page whose name rebinds to this
    // machine drives Ollama through the worker, which rewrites Host and so defeats Ollama's own check.
    this.guard = new RequestGuard({ bindHost: opts.host, allowedOrigins: opts.allowedOrigins, serverName: 'the worker' });
    this.maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.admission = new Admission({ maxParallel: opts.maxParallel, maxQueue: opts.maxQueue ?? 2 * opts.maxParallel, maxWaitMs: opts.maxQueueWaitMs ?? DEFAULT_QUEUE_WAIT_MS });
    this.health = new WorkerHealth({
      model: opts.model,
      tier: opts.tier,
      version: opts.version,
      nodeId: opts.nodeId,
      maxParallel: opts.maxParallel,
      listModels: (signal) => this.listModels(signal),
      showModel: (model, signal) => this.showModel(model, signal),
      inFlight: () => this.inFlightCount,
      load: () => this.admission.load(),
      logger: opts.logger,
      detectHardware: opts.detectHardware,
      cacheMs: opts.healthCacheMs,
      key: opts.key && ((challenge) => opts.key!.wire(challenge)),
    });
  }

  /** Listens, and starts hardware detection in the background. Rejects (having started nothing) when it cannot listen. */
  static async start(opts: WorkerServerOptions): Promise<WorkerServer> {
    // Checked every second: a client that stalls its headers or trickles its body loses the socket soon after the limit.
    const server = createServer({ connectionsCheckingInterval: 1_000 });
    server.headersTimeout = opts.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
    // Counts only until the request is read; answers stream as long as Ollama takes.
    server.requestTimeout = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    server.maxConnections = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    const worker = new WorkerServer(opts, server);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      worker.handle(req, res).catch((err: unknown) => {
        opts.logger.error(`unexpected error on ${req.method} ${pathOf(req.url)}: ${(err as Error).message}`);
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
        else res.destroy();
      });
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port, opts.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await worker.pool.destroy();
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'EADDRINUSE' ? 'the port is in use' : code === 'EADDRNOTAVAIL' ? 'no interface has that address' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
      throw new Error(`cannot listen on ${hostPort(opts.host, opts.port)}: ${why}`, { cause: err });
    }
    void worker.health.start();
    return worker;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Where a client on this machine reaches the worker (wildcard addresses become loopback). */
  get url(): string {
    const host = this.opts.host === '0.0.0.0' || this.opts.host === '' ? '127.0.0.1' : this.opts.host === '::' ? '::1' : this.opts.host;
    return `http://${hostPort(host, this.port)}`;
  }

  get inFlight(): number {
    return this.inFlightCount;
  }

  /**
   * Stops accepting, lets requests under way finish for up to `graceMs`, then cuts what is left
   * (which cancels those requests on Ollama too).
   */
  stop(graceMs = 2000): Promise<void> {
    this.stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeIdleConnections();
      if (this.inFlightCount > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, graceMs);
          function done() {
            clearTimeout(timer);
            resolve();
          }
          this.drained.add(done);
        });
      }
      this.server.closeAllConnections();
      await closed;
      await this.pool.destroy();
    })();
    return this.stopping;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const method = req.method ?? 'GET';
    const path = pathOf(req.url);
    res.once('close', () => {
      this.opts.logger.debug(`${method} ${path} ${res.writableFinished ? res.statusCode : 'closed by client'} ${Date.now() - started}ms`);
    });

    const verdict = this.guard.check(req, path);
    if (!verdict.ok) {
      this.opts.logger.warn(`refused ${method} ${headerEcho(path)} from ${req.socket.remoteAddress ?? '?'}: ${verdict.message}`);
      return refuse(res, 403, { error: verdict.message });
    }
    if (path === '/health' && (method === 'GET' || method === 'HEAD')) {
      // No token is needed here, but a wrong one is refused, so a coordinator with a stale token sees that instead of a healthy node.
      const presented = req.headers.authorization !== undefined;
      if (presented && this.auth.enabled && !this.auth.check(req.headers.authorization)) return this.unauthorized(req, res, method, path);
      const challenge = new URL(req.url ?? '/', 'http://worker').searchParams.get('challenge') ?? undefined;
      const h = await this.health.health(challenge !== undefined && isChallenge(challenge) ? challenge : undefined, !this.auth.enabled || presented);
      return sendJson(res, h.statusCode, h.body);
    }
    // Checked before routing, so that without the token every path looks the same.
    if (!this.auth.check(req.headers.authorization)) return this.unauthorized(req, res, method, path);
    if (BAD_PATH.test(path)) return refuse(res, 400, { error: 'bad path' });
    if (path === '/load' && (method === 'GET' || method === 'HEAD')) {
      // Cheap enough for every coordinator to ask several times a second: no look at Ollama.
      const l = this.admission.load();
      const c = this.admission.counts;
      return sendJson(res, 200, { running: l.running, queued: l.queued, max_parallel: l.maxParallel, max_queue: l.maxQueue, admitted_total: c.admitted, refused_total: c.refused + c.timedOut });
    }
    if (path === '/ready' && (method === 'GET' || method === 'HEAD')) {
      const r = await this.health.ready();
      return sendJson(res, r.statusCode, r.body);
    }
    if (path === '/api/complete') {
      if (method !== 'POST') {
        res.setHeader('Allow', 'POST');
        return refuse(res, 405, { detail: 'Method Not Allowed' });
      }
      return this.track(() => this.admitted(req, res, path, (leaving) => this.complete(req, res, leaving)));
    }
    const access = accessOf(path, method);
    if (access === 'inference' || (access === 'management' && this.opts.allowManagement)) {
      const declared = Number(req.headers['content-length']);
      if (declared > this.maxBodyBytes) return refuse(res, 413, { error: `request body is larger than ${this.maxBodyBytes} bytes` });
      // A turn at the model is admitted (at most max_parallel at once, a bounded queue); listings never wait.
      if (method === 'POST' && INFERENCE_PATHS.has(path)) return this.track(() => this.admitted(req, res, path, (leaving) => this.proxy(req, res, method, leaving)));
      return this.track(() => this.proxy(req, res, method));
    }
    if (access === 'management') {
      this.opts.logger.warn(`refused ${method} ${path}: management routes are off (start the worker with --allow-management to allow them)`);
      return refuse(res, 403, { error: `${path} changes the models on this machine; this worker was started without --allow-management` });
    }
    if (access === 'wrong-method') return refuse(res, 405, { error: 'method not allowed' });
    return refuse(res, 404, { error: 'not found' });
  }

  /** 401, and the socket closes after it: a client without the token may not keep a connection or trickle a body into it. */
  private unauthorized(req: IncomingMessage, res: ServerResponse, method: string, path: string): void {
    this.opts.logger.warn(`rejected ${method} ${headerEcho(path)} from ${req.socket.remoteAddress ?? '?'}: missing or wrong bearer token`);
    res.setHeader('WWW-Authenticate', 'Bearer');
    return refuse(res, 401, { error: 'unauthorized' });
  }

  private async track(work: () => Promise<void>): Promise<void> {
    this.inFlightCount++;
    try {
      await work();
    } finally {
      this.inFlightCount--;
      if (this.inFlightCount === 0) for (const d of [...this.drained]) d();
    }
  }

  /**
   * Runs `work` once the admission gives it a turn; a request it turns away gets 503 with
   * Retry-After in the shape of the API called, its body unread and Ollama never asked.
   */
  private async admitted(req: IncomingMessage, res: ServerResponse, path: string, work: (leaving: AbortController) => Promise<void>): Promise<void> {
    let release = () => {};
    // One listener for both: a client leaving cancels the wait or the answer, and frees the turn.
    const leaving = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) leaving.abort();
      release();
    });
    const turn = await this.admission.enter(leaving.signal);
    if (isRefusal(turn)) {
      if (leaving.signal.aborted) return;
      req.resume();
      const l = this.admission.load();
      const why = turn.refused === 'timeout' ? `waited ${Math.round(this.admissionWaitS())} s for a turn` : `${l.running} running, ${l.queued} queued`;
      const message = `server busy, please try again. ${why} (max_parallel ${l.maxParallel}, queue ${l.maxQueue})`;
      // Retry-After has whole seconds only; Retry-After-Ms (as OpenAI's clients read it) says it finer.
      res.setHeader('Retry-After', String(Math.max(1, Math.ceil(turn.retryAfterMs / 1000))));
      res.setHeader('Retry-After-Ms', String(turn.retryAfterMs));
      return sendJson(res, 503, busyBody(path, message));
    }
    const ticket: Ticket = turn;
    release = () => ticket.release();
    if (res.destroyed) return ticket.release();
    // Told to the caller, so a coordinator can say the request waited behind others.
    if (ticket.waitedMs > 0) res.setHeader('X-Harombe-Queue-Wait-Ms', String(ticket.waitedMs));
    try {
      await work(leaving);
    } finally {
      ticket.release();
    }
  }

  private admissionWaitS(): number {
    return (this.opts.maxQueueWaitMs ?? DEFAULT_QUEUE_WAIT_MS) / 1000;
  }

  /** Streams one request to Ollama and its answer back, chunk by chunk; the client leaving cancels it upstream. */
  private async proxy(req: IncomingMessage, res: ServerResponse, method: string, leaving?: AbortController): Promise<void> {
    const upstreamAbort = leaving ?? abortWhenClientLeaves(res);
    const hasBody = method !== 'GET' && method !== 'HEAD';
    const counted = { tooLarge: false };
    let upstream;
    try {
      upstream = await this.pool.request({
        path: this.basePath + (req.url ?? '/'),
        method: method as 'GET',
        headers: forwardHeaders(req.headers, HOP_REQUEST_HEADERS),
        body: hasBody ? Readable.from(limitBody(req, this.maxBodyBytes, counted)) : null,
        signal: upstreamAbort.signal,
      });
    } catch (err) {
      if (upstreamAbort.signal.aborted) return;
      if (counted.tooLarge) return refuse(res, 413, { error: `request body is larger than ${this.maxBodyBytes} bytes` });
      const timedOut = (err as { code?: string }).code === 'UND_ERR_HEADERS_TIMEOUT';
      this.opts.logger.warn(`ollama ${timedOut ? 'timed out' : 'unreachable'} for ${method} ${pathOf(req.url)}: ${(err as Error).message}`);
      return sendJson(res, timedOut ? 504 : 502, { error: timedOut ? 'ollama did not answer in time' : 'ollama unreachable' });
    }
    res.writeHead(upstream.statusCode, forwardHeaders(upstream.headers, HOP_RESPONSE_HEADERS));
    // Send the status line now: a model that is still loading can keep the body back for a long time.
    res.flushHeaders();
    try {
      await pipeline(upstream.body, res);
    } catch (err) {
      if (upstreamAbort.signal.aborted || res.destroyed) return;
      // Headers are out; all that is left to tell the client is a cut-off stream, not a clean end.
      this.opts.logger.warn(`ollama stream broke on ${method} ${pathOf(req.url)}: ${(err as Error).message}`);
      res.destroy();
    }
  }

  private async complete(req: IncomingMessage, res: ServerResponse, leaving?: AbortController): Promise<void> {
    const upstreamAbort = leaving ?? abortWhenClientLeaves(res);
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req, this.maxBodyBytes));
    } catch (err) {
      const tooLarge = (err as Error).message === 'too large';
      // The rest of an oversized body is never read, so this connection cannot carry another request.
      if (tooLarge) res.setHeader('connection', 'close');
      return sendJson(res, tooLarge ? 413 : 400, { detail: tooLarge ? 'request body too large' : 'request body is not JSON' });
    }
    if (jsonTooDeep(body)) return sendJson(res, 400, { detail: `request body nests deeper than ${MAX_JSON_DEPTH} levels` });
    const post: OllamaPost = async (path, json, signal) => {
      const r = await this.pool.request({
        path: this.basePath + path,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(json),
        signal,
      });
      const text = await r.body.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = { error: text.slice(0, 200) };
      }
      return { statusCode: r.statusCode, json: parsed };
    };
    const result = await handleComplete(body, {
      model: await this.health.model(),
      defaultTemperature: this.opts.temperature,
      post,
      signal: upstreamAbort.signal,
    });
    if (upstreamAbort.signal.aborted) return;
    if (result.statusCode >= 500) this.opts.logger.warn(`/api/complete failed: ${'detail' in result.body ? result.body.detail : result.statusCode}`);
    sendJson(res, result.statusCode, result.body);
  }

  /** Ollama's `/api/show` for `model`: what it can do and its trained window, passed on in /health. */
  private async showModel(model: string, signal: AbortSignal): Promise<ModelFacts | undefined> {
    const r = await this.pool.request({
      path: this.basePath + '/api/show',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model }),
      signal,
    });
    if (r.statusCode !== 200) {
      await r.body.dump();
      return undefined;
    }
    return modelFactsOf(await r.body.json());
  }

  private async listModels(signal: AbortSignal): Promise<string[]> {
    const r = await this.pool.request({ path: this.basePath + '/api/tags', method: 'GET', signal });
    if (r.statusCode !== 200) {
      await r.body.dump();
      throw new Error(`/api/tags answered HTTP ${r.statusCode}`);
    }
    const json = (await r.body.json()) as { models?: { name?: string; model?: string }[] };
    return (json.models ?? []).map((m) => m.name ?? m.model ?? '').filter(Boolean);
  }
}

/** A refusal in the words of the API that was called: Ollama `{error}`, OpenAI `{error:{…}}`, Harombe 0.3.1's FastAPI `{detail}`. */
function busyBody(path: string, message: string): unknown {
  if (path === '/api/complete') return { detail: message };
  if (path.startsWith('/v1/')) return { error: { message, type: 'server_error', param: null, code: 'server_busy' } };
  return { error: message };
}

function abortWhenClientLeaves(res: ServerResponse): AbortController {
  const ac = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) ac.abort();
  });
  return ac;
}

function forwardHeaders(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>, drop: Set<string>): Record<string, string | string[]> {
  const connectionTokens = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || drop.has(lower) || connectionTokens.has(lower)) continue;
    out[lower] = value;
  }
  return out;
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.pause();
        reject(new Error('too large'));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** An answer that ends the connection: the request's body (if any) is never read. */
function refuse(res: ServerResponse, status: number, body: unknown): void {
  res.setHeader('Connection', 'close');
  sendJson(res, status, body);
}

/** A chunked body has no length to check up front: count it as it streams to Ollama, and cut it at the limit. */
async function* limitBody(req: IncomingMessage, limit: number, counted: { tooLarge: boolean }): AsyncGenerator<Buffer> {
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      counted.tooLarge = true;
      throw new Error(`request body is larger than ${limit} bytes`);
    }
    yield chunk as Buffer;
  }
}

function headerEcho(value: string): string {
  const clean = value.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 120 ? `${clean.slice(0, 120)}…` : clean;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

function pathOf(url: string | undefined): string {
  return (url ?? '/').split('?')[0] ?? '/';
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
