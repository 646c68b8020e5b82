import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { CancelSignal } from '../util/canceller';
import { refusedCapability } from '../nodes/capabilities';
import { NodeError } from './nodeError';
import { splitBaseUrl } from './splitBaseUrl';
import type { Endpoint } from './types';

export interface NodeRequestOptions {
  method?: 'GET' | 'POST';
  /** Path under the endpoint's base URL, starting with `/`. */
  path: string;
  /** Sent as JSON. */
  body?: unknown;
  /** The `Accept` header: what the caller is able to read back. */
  accept: string;
  signal?: CancelSignal;
}

/** What a consumer of `read()` says about each chunk: go on, stop reading, or wait for this promise. */
export type ChunkVerdict = void | false | Promise<void>;

/** A 2xx answer whose body has not been read yet. Every failure while reading is a `NodeError`. */
export interface NodeResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body's bytes as they arrive. Iterate once. */
  chunks(): AsyncGenerator<Buffer>;
  /**
   * The body's bytes pushed to `onChunk` as they arrive, without an async iterator (the gateway's
   * hot path); use it or `chunks()`, once. A promise returned holds the body back until it
   * settles; `false` stops reading (then call `finish()` or `close()`). Resolves at the end of the
   * body or on that stop; rejects with what `onChunk` threw, or with a `NodeError`.
   */
  read(onChunk: (chunk: Buffer) => ChunkVerdict): Promise<void>;
  /** The whole body; more than `limit` bytes is `oversized`. */
  readAll(limit: number): Promise<Buffer>;
  /** Tears the request down if it is still running (a no-op once the body ended). Idempotent. */
  close(): void;
  /**
   * The caller has the whole answer and stops reading: the rest of the body (normally nothing but
   * the end of the chunked encoding) is read and dropped in the background, bounded in bytes and
   * by the stall timeout, so the connection goes back to the pool instead of being torn down.
   */
  finish(): void;
}

/** How much of an error answer is read to find its message: enough for any JSON error, bounded for HTML pages. */
const ERROR_BODY_LIMIT = 4096;
const ERROR_TEXT_CHARS = 200;
/** What `finish()` reads past the end of an answer before it gives up on the connection. */
const DRAIN_LIMIT_BYTES = 64 * 1024;
/** Unread body bytes held for a consumer before the node's socket is paused. */
const QUEUE_HIGH_WATER = 64 * 1024;

/**
 * Sends one request to a node through its shared keep-alive `dispatcher` and classifies every way
 * it can fail (see `NodeErrorKind`). Non-2xx answers are thrown here, so callers only see bodies
 * worth parsing. Silence from the node is bounded by `endpoint.stallTimeoutMs` from the moment the
 * request has a socket until the headers, and between body chunks; opening the connection by
 * `endpoint.connectTimeoutMs`, whatever the dispatcher's own connect timeout is.
 */
export function nodeRequest(dispatcher: Dispatcher, endpoint: Endpoint, opts: NodeRequestOptions): Promise<NodeResponse> {
  if (opts.signal?.aborted) return Promise.reject(abortedError());
  return new NodeExchange(endpoint, opts.signal).start(dispatcher, opts);
}

type Phase = 'connect' | 'body';

/** undici is told to tear a connection down with this when Harombe no longer wants the answer. */
const CLOSED = new Error('closed by Harombe');

/**
 * One request to a node, as undici's dispatch handler and, once a 2xx answer has started, as its
 * `NodeResponse`. One object per request instead of undici's `request()` with its body stream,
 * its signal listener and our interceptor around it: this is the gateway's hot path.
 *
 * Every way to give up (the caller's cancel, the connect and stall timers, `close()`) is a reason
 * kept here and handed to undici's controller, so the error that surfaces tells which it was.
 */
class NodeExchange implements Dispatcher.DispatchHandler, NodeResponse {
  status = 0;
  headers: IncomingHttpHeaders = {};

  private controller: Dispatcher.DispatchController | undefined;
  /** Why Harombe gave up on the exchange, first reason first; undici gets it once it has a controller. */
  private reason: NodeError | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  private headersSeen = false;
  private released = false;
  /** Settles `start()`; cleared once it has. */
  private started: { resolve: (res: NodeResponse) => void; reject: (err: unknown) => void } | undefined;
  /** The body of a non-2xx answer, read for its error message before `start()` rejects. */
  private errorBody: { parts: Buffer[]; size: number } | undefined;

  // The body, between undici and the one consumer (`read` or `chunks`).
  /** Chunks undici delivered that the consumer has not taken yet. */
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  /** undici delivered the whole body. */
  private ended = false;
  /** The body can no longer be read to its end: why. */
  private failure: NodeError | undefined;
  /** Ended or closed: the connection is no longer this exchange's business (`close()` is a no-op). */
  private done = false;
  private keepConnection = false;
  private draining = false;
  private drainedBytes = 0;
  private consumer: ((chunk: Buffer) => ChunkVerdict) | undefined;
  /** The consumer returned a promise that has not settled: the body waits for it. */
  private consumerHeld = false;
  /** A `pump()` is queued for the end of the current read. */
  private pumpQueued = false;
  private readSettled: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  /** The `chunks()` iterator waits for the next chunk, the end or a failure. */
  private wake: (() => void) | undefined;

  constructor(
    private readonly endpoint: Endpoint,
    private readonly callerSignal: CancelSignal | undefined,
  ) {}

  start(dispatcher: Dispatcher, opts: NodeRequestOptions): Promise<NodeResponse> {
    const endpoint = this.endpoint;
    // Serialised before any timer or listener exists: a body that cannot be (too deep for the
    // stack, a cycle, a BigInt) must leave nothing armed that could later reject unobserved.
    let payload: Buffer | undefined;
    try {
      payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    } catch (err) {
      return Promise.reject(new NodeError('invalid_request', `the request cannot be serialised as JSON: ${(err as Error).message}`, { cause: err }));
    }
    const started = new Promise<NodeResponse>((resolve, reject) => {
      this.started = { resolve, reject };
    });
    this.callerSignal?.addEventListener('abort', this.onCallerAbort, { once: true });
    this.connectTimer = setTimeout(this.onConnectTimeout, endpoint.connectTimeoutMs);
    const headers: Record<string, string> = { accept: opts.accept };
    // undici sends a Buffer body with its content-length, corked with the headers: one write.
    if (payload) headers['content-type'] = 'application/json';
    if (endpoint.token) headers.authorization = `Bearer ${endpoint.token}`;
    try {
      const target = splitBaseUrl(endpoint.baseUrl);
      dispatcher.dispatch(
        {
          origin: target.origin,
          path: target.pathPrefix + opts.path,
          method: opts.method ?? (payload ? 'POST' : 'GET'),
          headers,
          body: payload,
          // Our own timers bound the connect, the headers and every gap between chunks. undici's
          // would only fire later (about 1 s resolution), and each of its timers outlives the
          // request until its next tick, long enough for the GC to promote it: 0 turns them off.
          headersTimeout: 0,
          bodyTimeout: 0,
        },
        this,
      );
    } catch (err) {
      this.failWith(err);
    }
    return started;
  }

  // undici's side.

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // Given up on while it waited for a connection: undici only lets go of it now.
    if (this.reason) return controller.abort(this.reason);
    clearTimeout(this.connectTimer);
    if (this.stallTimer) this.stallTimer.refresh();
    else this.stallTimer = setTimeout(this.onStall, this.endpoint.stallTimeoutMs).unref();
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.headersSeen = true;
    this.stallTimer?.refresh();
    this.status = statusCode;
    this.headers = headers;
    if (statusCode < 200 || statusCode >= 300) {
      this.errorBody = { parts: [], size: 0 };
      return;
    }
    const started = this.started;
    this.started = undefined;
    started?.resolve(this);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    // refresh() re-arms the same timer: nothing is allocated per chunk.
    this.stallTimer?.refresh();
    if (this.errorBody) {
      this.errorBody.parts.push(chunk);
      this.errorBody.size += chunk.length;
      if (this.errorBody.size >= ERROR_BODY_LIMIT) {
        this.rejectWithStatus();
        controller.abort(CLOSED);
      }
      return;
    }
    if (this.draining) {
      this.drainedBytes += chunk.length;
      if (this.drainedBytes > DRAIN_LIMIT_BYTES) controller.abort(CLOSED);
      return;
    }
    if (this.failure) return;
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.queuedBytes >= QUEUE_HIGH_WATER) controller.pause();
    if (this.wake) return this.notify();
    // undici hands over each HTTP chunk of a read separately, and a node that flushes every token
    // sends one chunk per token: `read()` gets them all at once, after the read.
    if (this.consumer && !this.pumpQueued) {
      this.pumpQueued = true;
      queueMicrotask(this.pumpAfterRead);
    }
  }

  onResponseEnd(): void {
    this.clearTimers();
    if (this.errorBody) return this.rejectWithStatus();
    this.ended = true;
    this.done = true;
    this.release();
    this.notify();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    this.failWith(err);
  }

  // The consumer's side.

  read(onChunk: (chunk: Buffer) => ChunkVerdict): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.consumer = onChunk;
      this.readSettled = { resolve, reject };
      this.pump();
    });
  }

  async *chunks(): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        const chunk = this.queue.shift();
        if (chunk) {
          this.queuedBytes -= chunk.length;
          if (this.queue.length === 0 && this.controller?.paused && !this.failure) this.controller.resume();
          yield chunk;
        } else if (this.failure) {
          throw this.failure;
        } else if (this.ended) {
          return;
        } else {
          await new Promise<void>((resolve) => {
            this.wake = resolve;
          });
        }
      }
    } finally {
      this.close();
    }
  }

  async readAll(limit: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of this.chunks()) {
      size += chunk.length;
      if (size > limit) throw new NodeError('oversized', `the node sent an answer larger than ${limit} bytes`);
      parts.push(chunk);
    }
    return Buffer.concat(parts, size);
  }

  close(): void {
    this.release();
    if (this.done) return;
    this.done = true;
    // Whoever still reads learns that the answer will not be whole (an Error is not cheap: only then).
    if (this.readSettled || this.wake) this.failure ??= this.toNodeError(new Error('the body was closed'), 'body');
    this.queue.length = 0;
    this.queuedBytes = 0;
    if (this.keepConnection && this.controller && !this.controller.aborted) {
      this.draining = true;
      this.drainTimer = setTimeout(() => this.controller?.abort(CLOSED), this.endpoint.stallTimeoutMs).unref();
      this.controller.resume();
    } else {
      this.controller?.abort(CLOSED);
    }
    this.notify();
  }

  finish(): void {
    this.keepConnection = true;
    this.close();
  }

  // Inside.

  /** Hands the consumer what it can take now: queued chunks while it does not hold the body back, then the end. */
  private pump(): void {
    while (this.consumer && !this.consumerHeld && this.queue.length > 0) {
      const chunk = this.queue.length === 1 ? (this.queue[0] as Buffer) : Buffer.concat(this.queue, this.queuedBytes);
      this.queue.length = 0;
      this.queuedBytes = 0;
      this.deliver(chunk);
    }
    if (!this.consumer || this.consumerHeld || this.queue.length > 0) return;
    if (this.failure) this.settleRead(this.failure);
    else if (this.ended) this.settleRead();
    else if (this.controller?.paused && !this.draining) this.controller.resume();
  }

  private deliver(chunk: Buffer): void {
    let verdict: ChunkVerdict;
    try {
      verdict = (this.consumer as (chunk: Buffer) => ChunkVerdict)(chunk);
    } catch (err) {
      return this.settleRead(err);
    }
    if (verdict === false) {
      this.controller?.pause();
      this.settleRead();
    } else if (verdict) {
      this.controller?.pause();
      this.consumerHeld = true;
      verdict.then(this.onConsumerReady, this.onConsumerFailed);
    }
  }

  private readonly pumpAfterRead = (): void => {
    this.pumpQueued = false;
    this.pump();
  };

  private readonly onConsumerReady = (): void => {
    this.consumerHeld = false;
    this.pump();
  };

  private readonly onConsumerFailed = (err: unknown): void => {
    this.consumerHeld = false;
    this.settleRead(err);
  };

  /** Ends `read()`: resolved when `err` is undefined; otherwise the exchange is closed and it rejects. */
  private settleRead(err?: unknown): void {
    const settled = this.readSettled;
    if (!settled) return;
    this.readSettled = undefined;
    this.consumer = undefined;
    if (err === undefined) return settled.resolve();
    this.close();
    settled.reject(err);
  }

  /** Something changed for the consumer: a chunk, the end or a failure. */
  private notify(): void {
    if (this.consumer) this.pump();
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Every failure ends here, from undici or from us; only the first one counts. */
  private failWith(err: unknown): void {
    this.clearTimers();
    if (this.errorBody) return this.rejectWithStatus();
    const started = this.started;
    if (started) {
      this.started = undefined;
      const error = this.toNodeError(err, 'connect');
      this.release();
      this.done = true;
      // Lets undici drop a request that is still waiting for its connection.
      this.letGo(error);
      started.reject(error);
      return;
    }
    this.failure ??= this.toNodeError(err, 'body');
    this.done = true;
    this.release();
    this.notify();
  }

  /** Harombe gives up on the exchange: undici lets go of it, and whoever waits learns why. */
  private giveUp(reason: NodeError): void {
    this.letGo(reason);
    this.failWith(reason);
  }

  /** Tells undici to let go of the exchange, now or as soon as it has a controller. */
  private letGo(reason: NodeError): void {
    this.reason ??= reason;
    if (this.controller && !this.controller.aborted) this.controller.abort(reason);
  }

  private readonly onCallerAbort = (): void => this.giveUp(abortedError());

  private readonly onConnectTimeout = (): void => {
    this.giveUp(new NodeError('connect_timeout', `could not connect to ${hostOf(this.endpoint)} within ${this.endpoint.connectTimeoutMs} ms`));
  };

  private readonly onStall = (): void => {
    // Unread bytes mean the consumer is behind, not the node; the socket is paused meanwhile.
    if (this.queue.length > 0 || this.consumerHeld) {
      this.stallTimer?.refresh();
      return;
    }
    const what = this.headersSeen ? `went silent for more than ${this.endpoint.stallTimeoutMs} ms mid-answer` : `sent no answer within ${this.endpoint.stallTimeoutMs} ms`;
    this.giveUp(new NodeError('stall', `${hostOf(this.endpoint)} ${what}`));
  };

  /** A non-2xx answer: its message read (or as much of it as came), `start()` rejects with its status. */
  private rejectWithStatus(): void {
    const body = this.errorBody;
    const started = this.started;
    if (!body || !started) return;
    this.errorBody = undefined;
    this.started = undefined;
    this.done = true;
    this.clearTimers();
    this.release();
    const text = errorText(Buffer.concat(body.parts, body.size), this.endpoint.token);
    started.reject(this.callerSignal?.aborted ? abortedError() : statusError(this.status, this.headers, text, this.endpoint));
  }

  private toNodeError(err: unknown, phase: Phase): NodeError {
    return toNodeError(err, phase, this.endpoint, this.callerSignal, this.reason);
  }

  private clearTimers(): void {
    clearTimeout(this.connectTimer);
    clearTimeout(this.stallTimer);
    clearTimeout(this.drainTimer);
  }

  /** The exchange no longer needs the caller's signal or its timers (a drain keeps its own bound). */
  private release(): void {
    if (this.released) return;
    this.released = true;
    clearTimeout(this.connectTimer);
    clearTimeout(this.stallTimer);
    this.callerSignal?.removeEventListener('abort', this.onCallerAbort);
  }
}

const REFUSED_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
const RESET_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);

function toNodeError(err: unknown, phase: Phase, endpoint: Endpoint, callerSignal: CancelSignal | undefined, ownReason: NodeError | undefined): NodeError {
  if (callerSignal?.aborted) return abortedError(err);
  if (err instanceof NodeError) return err;
  if (ownReason) return ownReason;
  const host = hostOf(endpoint);
  const code = errorCode(err);
  const details = { cause: err };
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') {
    return new NodeError('connect_timeout', `could not connect to ${host} in time`, details);
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT') {
    return new NodeError('stall', `${host} sent no answer within ${endpoint.stallTimeoutMs} ms`, details);
  }
  if (code === 'UND_ERR_BODY_TIMEOUT') {
    return new NodeError('stall', `${host} went silent for more than ${endpoint.stallTimeoutMs} ms mid-answer`, details);
  }
  if (code?.startsWith('HPE_')) {
    return new NodeError('protocol', `${host} did not answer with valid HTTP (${code})`, details);
  }
  if (phase === 'body') {
    return new NodeError('incomplete', `the connection to ${host} broke mid-answer (${code ?? 'closed'})`, details);
  }
  if (code !== undefined && REFUSED_CODES.has(code)) {
    return new NodeError('refused', `cannot reach ${host} (${code})`, details);
  }
  if (code !== undefined && RESET_CODES.has(code)) {
    return new NodeError('refused', `${host} closed the connection before answering`, details);
  }
  return new NodeError('refused', `cannot talk to ${host}: ${err instanceof Error ? err.message : String(err)}`, details);
}

/** Node's happy-eyeballs connect throws an AggregateError whose own code may be missing. */
function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  if (err instanceof AggregateError) {
    for (const inner of err.errors) {
      const innerCode = errorCode(inner);
      if (innerCode) return innerCode;
    }
  }
  const cause = (err as { cause?: unknown }).cause;
  return cause === undefined || cause === err ? undefined : errorCode(cause);
}

function statusError(status: number, headers: IncomingHttpHeaders, text: string, endpoint: Endpoint): NodeError {
  const host = hostOf(endpoint);
  const suffix = text ? `: ${text}` : '';
  if (status === 401 || status === 403) {
    const hint = endpoint.token ? 'the token was refused' : 'it needs a token';
    return new NodeError('auth', `${host} answered ${status}, ${hint}${suffix}`, { status });
  }
  if (status === 503) {
    // Ollama's full queue sends none; a harombe worker's admission says when a turn is likely free.
    const retryAfterMs = parseRetryAfterMs(headers['retry-after-ms']) ?? parseRetryAfter(headers['retry-after']);
    return new NodeError('busy', `${host} is busy (503)${suffix}`, { status, ...(retryAfterMs !== undefined && { retryAfterMs }) });
  }
  if (status === 429) {
    const retryAfterMs = parseRetryAfterMs(headers['retry-after-ms']) ?? parseRetryAfter(headers['retry-after']);
    const when = retryAfterMs === undefined ? '' : `, retry after ${Math.ceil(retryAfterMs / 1000)} s`;
    return new NodeError('rate_limited', `${host} is rate limiting (429)${when}${suffix}`, { status, retryAfterMs });
  }
  if (status === 400 || status === 404 || status === 500) {
    const exceeded = contextExceeded(text);
    if (exceeded) return new NodeError('context_exceeded', `${host} refused the prompt as longer than its context window${suffix}`, { status, ...exceeded });
  }
  // A 400 in most servers' words; a model that cannot embed is a 500 (Ollama 0.12) or 501 (llama-server).
  if (status === 400 || status === 500 || status === 501) {
    const capability = refusedCapability(text);
    if (capability) return new NodeError('unsupported', `${host}: ${text}`, { status, capability });
  }
  return new NodeError('http', `${host} answered ${status}${suffix}`, { status });
}

/**
 * A refusal of a prompt longer than the window, in each server's words, with the sizes it gave:
 * llama.cpp `request (N tokens) exceeds the available context size (M tokens)`
 * (`exceed_context_size_error`, also relayed by Ollama 0.30+ for `truncate:false`), Ollama's own
 * `the prompt is longer than the context length` (and `the input length exceeds the context length`
 * before 0.30), vLLM's `maximum context length is M tokens …
 * (P in the messages …)` / `… prompt contains at least P input tokens`, and llama.cpp's 500
 * `Context size has been exceeded` during generation.
 */
function contextExceeded(text: string): { promptTokens?: number; contextTokens?: number } | undefined {
  const llama = /\((\d+) tokens\) exceeds the available context size \((\d+) tokens\)/i.exec(text);
  if (llama) return { promptTokens: Number(llama[1]), contextTokens: Number(llama[2]) };
  const vllm = /maximum context length is (\d+) tokens/i.exec(text);
  if (vllm) {
    const prompt = /(\d+) in the messages|prompt contains at least (\d+) input tokens|(\d+) tokens in the messages/i.exec(text);
    const promptTokens = prompt ? Number(prompt[1] ?? prompt[2] ?? prompt[3]) : undefined;
    return { contextTokens: Number(vllm[1]), ...(promptTokens !== undefined && { promptTokens }) };
  }
  if (/exceed_context_size_error|prompt is longer than the context length|input length exceeds the context length|context size has been exceeded|exceeds the available context size/i.test(text)) return {};
  return undefined;
}

/** `retry-after-ms`, which OpenAI's clients read before `retry-after` (openai/openai-python#1086). */
function parseRetryAfterMs(value: string | string[] | undefined): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  return raw && /^\s*\d+(\.\d+)?\s*$/.test(raw) ? Math.round(Number(raw)) : undefined;
}

function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(raw)) return Math.round(Number(raw) * 1000);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** The error message of an error answer (Ollama `{error}`, OpenAI `{error:{message}}`, FastAPI `{detail}`, or text). */
function errorText(body: Buffer, token: string | undefined): string {
  const raw = body.toString('utf8', 0, Math.min(body.length, ERROR_BODY_LIMIT)).trim();
  let text = raw;
  try {
    text = errorMessageOf(JSON.parse(raw)) ?? raw;
  } catch {
    // not JSON: keep the text
  }
  text = text.replace(/\s+/g, ' ');
  // A misbehaving node could echo the request back; the token must never reach a message or a log.
  if (token) text = text.split(token).join('***');
  return text.length > ERROR_TEXT_CHARS ? `${text.slice(0, ERROR_TEXT_CHARS)}…` : text;
}

function errorMessageOf(json: unknown): string | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const { error, detail, message } = json as { error?: unknown; detail?: unknown; message?: unknown };
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') {
    return (error as { message: string }).message;
  }
  if (typeof detail === 'string') return detail;
  if (detail !== undefined) return JSON.stringify(detail);
  if (typeof message === 'string') return message;
  return undefined;
}

function abortedError(cause?: unknown): NodeError {
  return new NodeError('aborted', 'cancelled', cause === undefined ? {} : { cause });
}

function hostOf(endpoint: Endpoint): string {
  try {
    return splitBaseUrl(endpoint.baseUrl).host;
  } catch {
    return 'the node';
  }
}
