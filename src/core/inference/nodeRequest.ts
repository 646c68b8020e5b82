import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { NodeError } from './nodeError';
import { splitBaseUrl } from './splitBaseUrl';
import { untilAborted } from './untilAborted';
import type { Endpoint } from './types';

export interface NodeRequestOptions {
  method?: 'GET' | 'POST';
  /** Path under the endpoint's base URL, starting with `/`. */
  path: string;
  /** Sent as JSON. */
  body?: unknown;
  /** The `Accept` header: what the caller is able to read back. */
  accept: string;
  signal?: AbortSignal;
}

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
  read(onChunk: (chunk: Buffer) => void | false | Promise<void>): Promise<void>;
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

/**
 * Sends one request to a node through its shared keep-alive `dispatcher` and classifies every way
 * it can fail (see `NodeErrorKind`). Non-2xx answers are thrown here, so callers only see bodies
 * worth parsing. Silence from the node is bounded by `endpoint.stallTimeoutMs` from the moment the
 * request has a socket until the headers, and between body chunks; opening the connection by
 * `endpoint.connectTimeoutMs`, whatever the dispatcher's own connect timeout is.
 */
export async function nodeRequest(dispatcher: Dispatcher, endpoint: Endpoint, opts: NodeRequestOptions): Promise<NodeResponse> {
  const callerSignal = opts.signal;
  if (callerSignal?.aborted) throw abortedError();

  // One controller carries every reason to give up (caller's cancel, connect timeout, stall),
  // so undici has a single signal to watch and the reason tells which one it was.
  const controller = new AbortController();
  const onCallerAbort = () => controller.abort(abortedError());
  callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
  const host = hostOf(endpoint);
  const connectTimer = setTimeout(
    () => controller.abort(new NodeError('connect_timeout', `could not connect to ${host} within ${endpoint.connectTimeoutMs} ms`)),
    endpoint.connectTimeoutMs,
  );
  // Filled in as the exchange progresses; the stall timer reads it.
  const seen: { body?: Dispatcher.ResponseData['body']; headers: boolean } = { headers: false };
  let stallTimer: NodeJS.Timeout | undefined;
  const onStall = () => {
    // Unread bytes mean the consumer is behind, not the node; undici stops reading the socket then.
    if (seen.body && seen.body.readableLength > 0) {
      stallTimer?.refresh();
      return;
    }
    const what = seen.headers ? `went silent for more than ${endpoint.stallTimeoutMs} ms mid-answer` : `sent no answer within ${endpoint.stallTimeoutMs} ms`;
    controller.abort(new NodeError('stall', `${host} ${what}`));
  };
  const watch: ExchangeWatch = {
    connected() {
      clearTimeout(connectTimer);
      if (stallTimer) stallTimer.refresh();
      else stallTimer = setTimeout(onStall, endpoint.stallTimeoutMs).unref();
    },
    headers() {
      seen.headers = true;
      stallTimer?.refresh();
    },
    data() {
      // refresh() re-arms the same timer: nothing is allocated per chunk.
      stallTimer?.refresh();
    },
    finished() {
      clearTimeout(connectTimer);
      clearTimeout(stallTimer);
    },
  };
  const release = () => {
    watch.finished();
    callerSignal?.removeEventListener('abort', onCallerAbort);
  };
  const fail = (err: unknown, phase: Phase) => classify(err, phase, endpoint, callerSignal, controller.signal);

  const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
  const headers: Record<string, string> = { accept: opts.accept };
  // undici sends a Buffer body with its content-length, corked with the headers: one write.
  if (payload) headers['content-type'] = 'application/json';
  if (endpoint.token) headers.authorization = `Bearer ${endpoint.token}`;

  let res: Dispatcher.ResponseData;
  try {
    const target = splitBaseUrl(endpoint.baseUrl);
    const pending = dispatcher.compose(watchExchange(watch)).request({
      origin: target.origin,
      path: target.pathPrefix + opts.path,
      method: opts.method ?? (payload ? 'POST' : 'GET'),
      headers,
      body: payload,
      signal: controller.signal,
      // Our own timer enforces the stall timeout precisely; undici's timers (about 1 s
      // resolution) stay as a backstop that can only fire later.
      headersTimeout: endpoint.stallTimeoutMs,
      bodyTimeout: endpoint.stallTimeoutMs,
    });
    res = await untilAborted(pending, controller.signal);
  } catch (err) {
    const error = fail(err, 'connect');
    release();
    // Lets undici drop a request that is still waiting for its connection.
    controller.abort(error);
    throw error;
  }
  seen.body = res.body;

  if (res.statusCode < 200 || res.statusCode >= 300) {
    const text = await readErrorText(res.body, endpoint.token);
    release();
    if (callerSignal?.aborted) throw abortedError();
    throw statusError(res.statusCode, res.headers, text, endpoint);
  }

  const responseBody = res.body;
  let done = false;
  let keepConnection = false;
  const close = () => {
    release();
    if (done) return;
    done = true;
    if (responseBody.destroyed) return;
    if (!keepConnection) {
      // undici reports the teardown as an error event, which nobody is listening for any more.
      responseBody.on('error', ignore);
      responseBody.destroy();
      return;
    }
    const bound = setTimeout(() => responseBody.destroy(), endpoint.stallTimeoutMs).unref();
    responseBody.dump({ limit: DRAIN_LIMIT_BYTES }).then(
      () => clearTimeout(bound),
      () => clearTimeout(bound),
    );
  };

  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      // Leaving the loop early must not destroy the body: `finish()` may want it drained instead.
      for await (const chunk of responseBody.iterator({ destroyOnReturn: false })) yield chunk as Buffer;
      done = true;
    } catch (err) {
      throw fail(err, 'body');
    } finally {
      close();
    }
  }

  function read(onChunk: (chunk: Buffer) => void | false | Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (err?: unknown) => {
        if (settled) return;
        settled = true;
        responseBody.off('data', onData);
        responseBody.off('end', onEnd);
        responseBody.off('error', onError);
        responseBody.off('close', onClose);
        if (err === undefined) return resolve();
        close();
        reject(err);
      };
      const resume = () => {
        if (!settled) responseBody.resume();
      };
      const onData = (chunk: Buffer) => {
        let verdict: void | false | Promise<void>;
        try {
          verdict = onChunk(chunk);
        } catch (err) {
          return settle(err);
        }
        if (verdict === false) {
          responseBody.pause();
          settle();
        } else if (verdict) {
          responseBody.pause();
          verdict.then(resume, settle);
        }
      };
      const onEnd = () => {
        done = true;
        close();
        settle();
      };
      const onError = (err: unknown) => settle(fail(err, 'body'));
      // A body torn down without an error (our own close) ends nothing: the answer is incomplete.
      const onClose = () => settle(fail(new Error('the body was closed'), 'body'));
      responseBody.on('data', onData);
      responseBody.on('end', onEnd);
      responseBody.on('error', onError);
      responseBody.on('close', onClose);
    });
  }

  return {
    status: res.statusCode,
    headers: res.headers,
    chunks,
    read,
    async readAll(limit: number): Promise<Buffer> {
      const parts: Buffer[] = [];
      let size = 0;
      for await (const chunk of chunks()) {
        size += chunk.length;
        if (size > limit) throw new NodeError('oversized', `the node sent an answer larger than ${limit} bytes`);
        parts.push(chunk);
      }
      return Buffer.concat(parts, size);
    },
    close,
    finish() {
      keepConnection = true;
      close();
    },
  };
}

type Phase = 'connect' | 'body';

const ignore = () => undefined;



/** What the interceptor reports about one exchange, so timers can follow it without touching undici internals. */
interface ExchangeWatch {
  /** The request got a connected socket. */
  connected(): void;
  headers(): void;
  /** A body chunk arrived from the socket (not: was consumed). */
  data(): void;
  finished(): void;
}

function watchExchange(watch: ExchangeWatch): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (options, handler) => dispatch(options, new WatchingHandler(handler, watch));
}

class WatchingHandler implements Dispatcher.DispatchHandler {
  constructor(
    private readonly inner: Dispatcher.DispatchHandler,
    private readonly watch: ExchangeWatch,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.watch.connected();
    this.inner.onRequestStart?.(controller, context);
  }

  onRequestUpgrade(...args: Parameters<NonNullable<Dispatcher.DispatchHandler['onRequestUpgrade']>>): void {
    this.inner.onRequestUpgrade?.(...args);
  }

  onResponseStart(...args: Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseStart']>>): void {
    this.watch.headers();
    this.inner.onResponseStart?.(...args);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.watch.data();
    this.inner.onResponseData?.(controller, chunk);
  }

  onResponseEnd(...args: Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseEnd']>>): void {
    this.watch.finished();
    this.inner.onResponseEnd?.(...args);
  }

  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    this.watch.finished();
    this.inner.onResponseError?.(controller, error);
  }
}

const REFUSED_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
const RESET_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);

function classify(err: unknown, phase: Phase, endpoint: Endpoint, callerSignal: AbortSignal | undefined, signal: AbortSignal): NodeError {
  if (callerSignal?.aborted) return abortedError(err);
  if (err instanceof NodeError) return err;
  if (signal.reason instanceof NodeError) return signal.reason;
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
  if (status === 503) return new NodeError('busy', `${host} is busy (503)${suffix}`, { status });
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(headers['retry-after']);
    const when = retryAfterMs === undefined ? '' : `, retry after ${Math.ceil(retryAfterMs / 1000)} s`;
    return new NodeError('rate_limited', `${host} is rate limiting (429)${when}${suffix}`, { status, retryAfterMs });
  }
  return new NodeError('http', `${host} answered ${status}${suffix}`, { status });
}

function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(raw)) return Math.round(Number(raw) * 1000);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** The error message of an error answer (Ollama `{error}`, OpenAI `{error:{message}}`, FastAPI `{detail}`, or text). */
async function readErrorText(body: Dispatcher.ResponseData['body'], token: string | undefined): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      parts.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= ERROR_BODY_LIMIT) break;
    }
  } catch {
    // The status says enough; a body that fails to arrive adds nothing.
  } finally {
    if (!body.destroyed) body.destroy();
  }
  const raw = Buffer.concat(parts, size).toString('utf8', 0, Math.min(size, ERROR_BODY_LIMIT)).trim();
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
