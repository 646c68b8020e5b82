import type { IncomingMessage, ServerResponse } from 'node:http';
import { jsonTooDeep, MAX_JSON_DEPTH } from '../util/jsonDepth';

/** A request the gateway refuses with a status and a message, in the error shape of the API asked. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** OpenAI's `error.type`/`error.code`, e.g. `invalid_request_error`, `model_not_found`. */
    readonly code = 'invalid_request_error',
  ) {
    super(message);
  }
}

/** Ollama and Harombe's own routes answer `{"error":"…"}`; the OpenAI routes `{"error":{message,type,code}}`. */
export type ErrorShape = 'ollama' | 'openai';

export function errorBody(shape: ErrorShape, status: number, message: string, code = 'invalid_request_error'): string {
  if (shape === 'ollama') return JSON.stringify({ error: message });
  const type = status >= 500 ? 'server_error' : code === 'invalid_request_error' ? code : 'invalid_request_error';
  return JSON.stringify({ error: { message, type, param: null, code } });
}

export function sendJson(res: ServerResponse, status: number, body: string, headers?: Record<string, string>): void {
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendError(res: ServerResponse, shape: ErrorShape, err: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.status, errorBody(shape, err.status, err.message, err.code));
}

/** Reads and parses a JSON object body; a bad body is a 400 that says what is wrong. */
export async function readJsonObject(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length']);
  if (declared > maxBytes) throw new HttpError(413, `Request body is larger than ${maxBytes} bytes.`);
  const text = await readBody(req, maxBytes);
  if (text.trim() === '') throw new HttpError(400, 'Request body is empty; expected a JSON object.');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `Request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'Request body must be a JSON object.');
  // Refused here, before any node is tried: such a body overflows the stack of whatever walks it next.
  if (jsonTooDeep(value)) throw new HttpError(400, `Request body nests deeper than ${MAX_JSON_DEPTH} levels.`);
  return value as Record<string, unknown>;
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  // Plain events rather than the stream's async iterator: this runs once per request on the hot path.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off('data', onData);
        req.resume();
        reject(new HttpError(413, `Request body is larger than ${maxBytes} bytes.`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

/** Header values must be visible ASCII; reasons can hold any text. */
export function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e]+/g, '?').slice(0, 512);
}
