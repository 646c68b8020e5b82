import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Fault } from './fault';
import { NO_FAULT } from './fault';

/** One request as a fake node received it. */
export interface RecordedRequest {
  method: string;
  /** Without the query string. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The body parsed as JSON; the raw text when it is not JSON; undefined when empty. */
  body: unknown;
  rawBody: string;
  /** Set when the client went away before the answer was complete (an abort, a stall timeout …). */
  aborted: boolean;
  /** When the client went away (`performance.now()`), with `aborted`. */
  abortedAt?: number;
  /** Answer records written before the client went away: generation the node did for nothing. */
  recordsWritten?: number;
  /**
   * When the fake stopped working on an answer whose client went away (`performance.now()`): at
   * the next record it would have written, or at once while it was still processing the prompt.
   * `stoppedAt - abortedAt` is how long a cancelled request kept the node busy.
   */
  stoppedAt?: number;
  /** When the whole request had arrived, and when the whole answer was handed to the socket (`performance.now()`): the node's own time. */
  receivedAt?: number;
  finishedAt?: number;
}

/** Which API's error shape a route speaks: Ollama `{error}`, OpenAI `{error:{message}}`, FastAPI `{detail}`. */
export type ErrorFlavour = 'ollama' | 'openai' | 'fastapi';

/** An answer a route wants to give; `FakeServer.answer` sends it, bent by a fault. */
export interface FakeAnswer {
  contentType: string;
  /** Streamed answers are written piece by piece (one NDJSON line or SSE event each). */
  streamed: boolean;
  /** Everything before the final record. For a JSON body: the whole body, in one piece. */
  pieces: string[];
  /** The record(s) that mark the end: Ollama's `done: true` line, `data: [DONE]`. */
  final: string[];
  /** What the `garbage` fault sends instead. */
  garbage: string;
  /** A well-formed record (or body) of about `bytes` bytes, for the `oversized` fault. */
  oversized(bytes: number): string;
  /**
   * The records a streamed answer ends with when generation fails mid-answer, for the
   * `error_mid_stream` fault. Answers without it just die after `afterChunks` records.
   */
  streamError?(message: string): string[];
  flavour: ErrorFlavour;
}

/** A route's refusal, sent as the route's API error JSON. */
export interface RouteError {
  status: number;
  message: string;
}

/** The request being served, as routes see it. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  record: RecordedRequest;
  /** Set when the fake itself destroyed the socket, so that is not mistaken for a client abort. */
  killed: boolean;
  /** Counted in `inFlight` already. */
  counted?: boolean;
}

/**
 * What every fake node shares: a real HTTP server on 127.0.0.1, request recording, fault
 * switches, and teardown that never leaves a hanging socket or timer behind.
 */
export abstract class FakeServer {
  readonly requests: RecordedRequest[] = [];
  protected fault: Fault = NO_FAULT;
  protected healthFault: Fault = NO_FAULT;
  protected chunkDelayMs = 0;
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private abortWaiters: ((r: RecordedRequest) => void)[] = [];
  private inFlightCount = 0;
  private acceptedCount = 0;
  private boundPort = 0;
  private stopped = false;

  protected constructor() {
    this.server = http.createServer((req, res) => void this.serve(req, res));
    this.server.on('connection', (socket) => {
      this.acceptedCount++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `http://127.0.0.1:${this.boundPort}`;
  }

  /** Chat answers being written right now. */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /** TCP connections accepted since the fake started: what tells a reused connection from new ones. */
  get acceptedConnections(): number {
    return this.acceptedCount;
  }

  /** TCP connections open right now (keep-alive ones included). */
  get openConnections(): number {
    return this.sockets.size;
  }

  /**
   * Switches the chat routes' fault. Entering `refuse` closes the listener and drops every
   * connection; leaving it listens again on the same port, which is why this returns a promise:
   * await it before expecting connections to succeed.
   */
  async setFault(fault: Fault): Promise<void> {
    const wasRefusing = this.fault.type === 'refuse';
    this.fault = fault;
    if (fault.type === 'refuse' && !wasRefusing) await this.closeListener();
    else if (fault.type !== 'refuse' && wasRefusing && !this.stopped) await this.listen(this.boundPort);
  }

  /** Switches the fault of `/health` (where the fake has one). `refuse` here means the same as in `setFault`. */
  async setHealthFault(fault: Fault): Promise<void> {
    if (fault.type === 'refuse' || this.fault.type === 'refuse') return this.setFault(fault);
    this.healthFault = fault;
  }

  /** Generations a client abandoned mid-way and the fake then stopped: proof that a cancel stops work on the node. */
  get abortedGenerations(): number {
    return this.requests.filter((r) => r.aborted && r.stoppedAt !== undefined).length;
  }

  /** Resolves with the first request whose client went away mid-answer (at once if one already did). */
  waitForClientAbort(timeoutMs = 2000): Promise<RecordedRequest> {
    const seen = this.requests.find((r) => r.aborted);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.abortWaiters = this.abortWaiters.filter((w) => w !== waiter);
        reject(new Error(`no client abort within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (r: RecordedRequest) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.abortWaiters.push(waiter);
    });
  }

  /** Closes the server, destroys every socket (hanging ones too) and cancels pending writes. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.closeListener();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** Like a node process restarting: every connection drops, then it listens again on the same port. */
  async restart(): Promise<void> {
    await this.stop();
    this.stopped = false;
    if (this.fault.type === 'refuse') this.fault = NO_FAULT;
    await this.listen(this.boundPort);
  }

  protected async listen(port = 0): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.boundPort = (this.server.address() as AddressInfo).port;
  }

  /** Routes one request; `record` is already in `requests` and the body is read. */
  protected abstract handle(ex: Exchange): Promise<void> | void;

  /** True when the request carries `Authorization: Bearer <token>` (or no token is required). */
  protected authorized(ex: Exchange, token: string | undefined): boolean {
    return !token || ex.req.headers.authorization === `Bearer ${token}`;
  }

  /** Marks the exchange as a chat answer for `inFlight` until its response closes. */
  protected countInFlight(ex: Exchange): void {
    if (ex.counted) return;
    ex.counted = true;
    this.inFlightCount++;
    // 'finish' comes before the client can see the end; 'close' alone may come after it.
    let counted = true;
    const done = () => {
      if (counted) this.inFlightCount--;
      counted = false;
    };
    ex.res.once('finish', done);
    ex.res.once('close', done);
  }

  protected sendJson(ex: Exchange, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    ex.res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
    ex.res.end(text);
  }

  protected sendError(ex: Exchange, status: number, flavour: ErrorFlavour, message: string, headers: Record<string, string> = {}): void {
    this.sendJson(ex, status, errorBody(flavour, status, message), headers);
  }

  protected sendText(ex: Exchange, status: number, text: string): void {
    ex.res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    ex.res.end(text);
  }

  /** Sends `answer` as the fault says. */
  protected async answer(ex: Exchange, fault: Fault, answer: FakeAnswer): Promise<void> {
    const { res } = ex;
    switch (fault.type) {
      case 'refuse': // the listener is closed; a request already read still gets its answer
      case 'none':
        return answer.streamed ? this.writeStream(ex, answer, [...answer.pieces, ...answer.final]) : this.writeBody(ex, answer, answer.pieces.join(''));
      case 'die_before_headers':
        this.kill(ex);
        return;
      case 'hang':
        return;
      case 'status': {
        const headers: Record<string, string> = {};
        if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
        if (fault.body === undefined) return this.sendError(ex, fault.status, answer.flavour, defaultStatusMessage(fault.status), headers);
        if (typeof fault.body !== 'string') return this.sendJson(ex, fault.status, fault.body, headers);
        res.writeHead(fault.status, { 'content-type': isJson(fault.body) ? 'application/json' : 'text/plain', ...headers });
        res.end(fault.body);
        return;
      }
      case 'garbage':
        return answer.streamed ? this.writeStream(ex, answer, [answer.garbage]) : this.writeBody(ex, answer, answer.garbage);
      case 'oversized':
        return answer.streamed
          ? this.writeStream(ex, answer, [...answer.pieces, answer.oversized(fault.bytes), ...answer.final])
          : this.writeBody(ex, answer, answer.oversized(fault.bytes));
      case 'no_final':
        if (answer.streamed) return this.writeStream(ex, answer, answer.pieces);
        return this.writeCut(ex, answer, answer.pieces.join(''), 'end');
      case 'die_mid_stream':
        if (answer.streamed) return this.writeStream(ex, answer, [...answer.pieces, ...answer.final], fault.afterChunks);
        return this.writeCut(ex, answer, answer.pieces.join(''), 'destroy');
      case 'trickle':
        return this.trickle(ex, answer, fault.intervalMs);
      case 'error_mid_stream': {
        const message = fault.message ?? 'an error was encountered while running the model: unexpected EOF';
        if (!answer.streamed) return this.sendError(ex, 500, answer.flavour, message);
        if (!answer.streamError) return this.writeStream(ex, answer, [...answer.pieces, ...answer.final], fault.afterChunks);
        return this.writeStream(ex, answer, [...answer.pieces.slice(0, fault.afterChunks), ...answer.streamError(message)]);
      }
    }
  }

  /** Writes the pieces with the configured delay before each; stops after `dieAfter` pieces by destroying the socket. */
  private async writeStream(ex: Exchange, answer: FakeAnswer, pieces: string[], dieAfter?: number): Promise<void> {
    const { res } = ex;
    res.writeHead(200, { 'content-type': answer.contentType });
    let written = 0;
    for (const piece of pieces) {
      if (dieAfter !== undefined && written >= dieAfter) break;
      await this.sleep(this.chunkDelayMs);
      if (res.destroyed) return this.stopped_(ex);
      await this.write(res, piece);
      written++;
      ex.record.recordsWritten = written;
    }
    if (res.destroyed) return;
    if (dieAfter !== undefined) {
      if (written === 0) {
        res.flushHeaders();
        // An empty socket write completes after the headers did, so they reach the client before the socket dies.
        await new Promise<void>((resolve) => ex.req.socket.write('', () => resolve()));
      }
      this.kill(ex);
      return;
    }
    res.end();
  }

  private writeBody(ex: Exchange, answer: FakeAnswer, body: string): void {
    ex.res.writeHead(200, { 'content-type': answer.contentType, 'content-length': Buffer.byteLength(body) });
    ex.res.end(body);
  }

  /** Promises the whole body (content-length), sends half, then ends or destroys the socket. */
  private async writeCut(ex: Exchange, answer: FakeAnswer, body: string, how: 'end' | 'destroy'): Promise<void> {
    const bytes = Buffer.from(body);
    ex.res.writeHead(200, { 'content-type': answer.contentType, 'content-length': bytes.length });
    await this.write(ex.res, bytes.subarray(0, Math.floor(bytes.length / 2)));
    ex.killed = true;
    if (how === 'end') ex.req.socket.end();
    else ex.req.socket.destroy();
  }

  private async trickle(ex: Exchange, answer: FakeAnswer, intervalMs: number): Promise<void> {
    const { res } = ex;
    const bytes = Buffer.from(answer.streamed ? [...answer.pieces, ...answer.final].join('') : answer.pieces.join(''));
    res.writeHead(200, answer.streamed ? { 'content-type': answer.contentType } : { 'content-type': answer.contentType, 'content-length': bytes.length });
    res.flushHeaders();
    for (let i = 0; i < bytes.length; i++) {
      await this.sleep(intervalMs);
      if (res.destroyed) return;
      res.write(bytes.subarray(i, i + 1));
    }
    res.end();
  }

  protected kill(ex: Exchange): void {
    ex.killed = true;
    ex.req.socket.destroy();
  }

  /**
   * Prompt processing before the first record: `ms`, cut short when the client goes away, as
   * Ollama's runner checks the request's context between batches (ollama#2876) and llama.cpp
   * drops a task whose connection closed. True when the client is still there.
   */
  protected async prefill(ex: Exchange, ms: number): Promise<boolean> {
    if (ms > 0 && !ex.res.destroyed) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.timers.delete(timer);
          ex.res.off('close', done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        this.timers.add(timer);
        ex.res.once('close', done);
      });
    }
    if (!ex.res.destroyed) return true;
    this.stopped_(ex);
    return false;
  }

  private stopped_(ex: Exchange): void {
    ex.record.stoppedAt ??= performance.now();
  }

    protected sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    // Tracked so stop() can cancel it; the awaiting writer is then simply never resumed.
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  /** Resolves once the data is handed to the kernel, so a socket destroyed next does not lose it. */
  private write(res: ServerResponse, data: string | Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (res.destroyed) return resolve();
      res.write(data, () => resolve());
    });
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parts: Buffer[] = [];
    try {
      for await (const chunk of req) parts.push(chunk as Buffer);
    } catch {
      return; // the client went away while sending
    }
    const rawBody = Buffer.concat(parts).toString('utf8');
    let body: unknown = rawBody === '' ? undefined : rawBody;
    try {
      if (rawBody !== '') body = JSON.parse(rawBody);
    } catch {
      // keep the raw text: routes answer it like the real server would
    }
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?')[0] ?? '/',
      headers: req.headers,
      body,
      rawBody,
      aborted: false,
      receivedAt: performance.now(),
    };
    this.requests.push(record);
    res.once('finish', () => {
      record.finishedAt = performance.now();
    });
    const ex: Exchange = { req, res, record, killed: false };
    res.once('close', () => {
      if (res.writableFinished || ex.killed || this.stopped) return;
      record.aborted = true;
      record.abortedAt = performance.now();
      const waiters = this.abortWaiters;
      this.abortWaiters = [];
      for (const w of waiters) w(record);
    });
    try {
      await this.handle(ex);
    } catch (err) {
      if (!res.headersSent && !res.destroyed) this.sendText(ex, 500, `fake server error: ${String(err)}`);
    }
  }

  private closeListener(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) {
        this.destroySockets();
        return resolve();
      }
      this.server.close(() => resolve());
      this.destroySockets();
    });
  }

  private destroySockets(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }
}

/** The error JSON each API family sends. */
export function errorBody(flavour: ErrorFlavour, status: number, message: string): unknown {
  switch (flavour) {
    case 'ollama':
      return { error: message };
    case 'openai':
      return { error: { message, type: status === 401 ? 'authentication_error' : status >= 500 ? 'server_error' : 'invalid_request_error', param: null, code: null } };
    case 'fastapi':
      return { detail: message };
  }
}

function defaultStatusMessage(status: number): string {
  switch (status) {
    case 503:
      // Ollama's text when its request queue is full (OLLAMA_MAX_QUEUE).
      return 'server busy, please try again.  maximum pending requests exceeded';
    case 429:
      return 'rate limit exceeded';
    case 401:
      return 'unauthorized';
    case 500:
      return 'an internal error occurred';
    default:
      return `HTTP ${status}`;
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
