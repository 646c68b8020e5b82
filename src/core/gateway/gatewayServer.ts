import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Coordinator } from '../coordinator';
import type { Disposable } from '../util/emitter';
import { silentLogger, type Logger } from '../util/logger';
import { clusterRoutes } from './clusterRoutes';
import type { GatewayContext } from './gatewayContext';
import { errorBody, HttpError, sendError, sendJson, type ErrorShape } from './gatewayHttp';
import { ollamaRoutes } from './ollamaRoutes';
import { openaiRoutes } from './openaiRoutes';
import { RequestGuard } from './requestGuard';

export const DEFAULT_GATEWAY_PORT = 11435;

export interface GatewayOptions {
  coordinator: Coordinator;
  /** Default 127.0.0.1. Any other address accepts any Host header, so give it a token. */
  host?: string;
  /** Default 11435 (next to Ollama's 11434); 0 picks a free port. */
  port?: number;
  /** Bearer token required on every route but `/health`. */
  token?: string;
  /** Web origins allowed besides loopback pages and VS Code webviews. */
  allowedOrigins?: string[];
  logger?: Logger;
  /** Largest request body accepted; default DEFAULT_MAX_BODY_BYTES. */
  maxBodyBytes?: number;
  /** Most sockets open at once; more are closed as they arrive. Default DEFAULT_MAX_CONNECTIONS. */
  maxConnections?: number;
  /** Defaults HEADERS_TIMEOUT_MS and REQUEST_TIMEOUT_MS; tests shorten them. */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/**
 * 8 MiB: a 128k-token conversation is about 0.5 MB of text, and a few photos sent as base64 fit
 * beside it. Parsing a body costs several times its size in heap, so the limit is the memory one
 * request can take (a 31 MiB body took the gateway from 67 to 247 MB).
 */
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_CONNECTIONS = 256;
/** A client has this long to send its headers, and REQUEST_TIMEOUT_MS to send the whole request (bodies come from this machine or the LAN). */
export const HEADERS_TIMEOUT_MS = 5_000;
export const REQUEST_TIMEOUT_MS = 15_000;

type Handler = (ctx: GatewayContext, req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

const ROUTES: Record<string, Partial<Record<string, Handler>>> = {
  '/api/chat': { POST: ollamaRoutes.chat },
  '/api/generate': { POST: ollamaRoutes.generate },
  '/api/show': { POST: ollamaRoutes.show },
  '/api/embed': { POST: ollamaRoutes.embed },
  '/api/embeddings': { POST: ollamaRoutes.embeddings },
  '/api/tags': { GET: ollamaRoutes.tags },
  '/api/ps': { GET: ollamaRoutes.ps },
  '/api/version': { GET: ollamaRoutes.version },
  '/v1/chat/completions': { POST: openaiRoutes.chatCompletions },
  '/v1/completions': { POST: openaiRoutes.completions },
  '/v1/embeddings': { POST: openaiRoutes.embeddings },
  '/v1/models': { GET: openaiRoutes.models },
  '/cluster/execute': { POST: clusterRoutes.execute },
  '/cluster/status': { GET: clusterRoutes.status },
  '/health': { GET: clusterRoutes.health },
  '/ready': { GET: clusterRoutes.ready },
  '/metrics': { GET: clusterRoutes.metrics },
};

/**
 * `harombe serve`: the cluster as one local endpoint speaking the Ollama and OpenAI APIs and
 * Harombe's own, over one coordinator (its routing, failover and breakers). Nodes are reached
 * through the registry's keep-alive pools.
 */
export class GatewayServer implements Disposable {
  private readonly server: Server;
  private readonly guard: RequestGuard;
  private readonly ctx: GatewayContext;
  private readonly logger: Logger;
  private address: AddressInfo | undefined;

  constructor(private readonly opts: GatewayOptions) {
    this.logger = opts.logger ?? silentLogger;
    this.ctx = { coordinator: opts.coordinator, maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES };
    this.guard = new RequestGuard({ bindHost: opts.host ?? '127.0.0.1', token: opts.token, allowedOrigins: opts.allowedOrigins });
    // Checked every second, so a client that never finishes its headers or its body (slowloris) loses its socket within a second of the limit.
    this.server = createServer({ noDelay: true, keepAlive: true, connectionsCheckingInterval: 1_000 }, (req, res) => this.handle(req, res));
    this.server.headersTimeout = opts.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
    // Counts until the request is read, not while the answer streams: an answer can take minutes, a request body cannot.
    this.server.requestTimeout = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    this.server.keepAliveTimeout = 65_000;
    this.server.maxConnections = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  }

  /** Starts listening; resolves with the base URL, e.g. `http://127.0.0.1:11435`. */
  listen(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port ?? DEFAULT_GATEWAY_PORT, this.opts.host ?? '127.0.0.1', () => {
        this.server.off('error', reject);
        this.address = this.server.address() as AddressInfo;
        resolve(this.url);
      });
    });
  }

  get url(): string {
    if (!this.address) throw new Error('the gateway is not listening');
    const host = this.address.family === 'IPv6' ? `[${this.address.address}]` : this.address.address;
    return `http://${host}:${this.address.port}`;
  }

  /** Stops accepting, ends idle keep-alive sockets, and cuts answers still streaming. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
      this.server.closeAllConnections();
    });
  }

  dispose(): void {
    void this.close();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const shape: ErrorShape = path.startsWith('/v1/') ? 'openai' : 'ollama';
    const verdict = this.guard.check(req, path);
    if (!verdict.ok) {
      this.logger.warn(`gateway refused ${req.method} ${path}: ${verdict.message}`);
      sendJson(res, verdict.status, errorBody(shape, verdict.status, verdict.message, verdict.status === 401 ? 'invalid_api_key' : 'forbidden'), { Connection: 'close' });
      return;
    }
    if (verdict.corsOrigin !== undefined) {
      res.setHeader('Access-Control-Allow-Origin', verdict.corsOrigin);
      res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Expose-Headers', 'X-Harombe-Node, X-Harombe-Tier, X-Harombe-Reason');
    }
    const methods = ROUTES[path];
    if (req.method === 'OPTIONS' && methods) {
      res.writeHead(204, { 'Access-Control-Allow-Methods': Object.keys(methods).join(', '), 'Access-Control-Allow-Headers': 'Authorization, Content-Type', 'Access-Control-Max-Age': '600' });
      res.end();
      return;
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && path === '/') {
      // Clients probe the root the way they probe Ollama's.
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Ollama is running (Harombe gateway)');
      return;
    }
    const handler = methods?.[req.method ?? ''];
    if (!handler) {
      const err = methods
        ? new HttpError(405, `${req.method} is not allowed on ${path}; use ${Object.keys(methods).join(' or ')}.`)
        : new HttpError(404, `No route ${req.method} ${path}. Routes: ${Object.entries(ROUTES).map(([p, m]) => `${Object.keys(m).join('|')} ${p}`).join(', ')}.`, 'not_found');
      if (methods) res.setHeader('Allow', Object.keys(methods).join(', '));
      sendError(res, shape, err);
      return;
    }
    let result: void | Promise<void>;
    try {
      result = handler(this.ctx, req, res);
    } catch (err) {
      this.fail(res, shape, err);
      return;
    }
    if (result) result.catch((err: unknown) => this.fail(res, shape, err));
  }

  private fail(res: ServerResponse, shape: ErrorShape, err: unknown): void {
    if (err instanceof HttpError) {
      sendError(res, shape, err);
      return;
    }
    this.logger.error(err instanceof Error ? err : String(err));
    sendError(res, shape, new HttpError(500, `Internal error: ${(err as Error)?.message ?? String(err)}`, 'internal_error'));
  }
}
