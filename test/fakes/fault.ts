/**
 * A fault a fake node injects into its answers. Chat routes use the one set with `setFault`,
 * `/health` the one set with `setHealthFault`; listings (`/api/tags`, `/v1/models` …) answer
 * normally unless the fault is `refuse`, which closes the listening socket for every route.
 */
export type Fault =
  /** Answer normally. Leaving `refuse` for it listens again on the same port. */
  | { type: 'none' }
  /** Stop listening and drop every open connection, so new connections are refused. */
  | { type: 'refuse' }
  /** Read the request, then destroy the socket without a status line. */
  | { type: 'die_before_headers' }
  /** Send the headers and `afterChunks` records (or half of a one-piece JSON body), then destroy the socket. */
  | { type: 'die_mid_stream'; afterChunks: number }
  /** Accept and read the request, never answer. The socket is destroyed on `stop()`. */
  | { type: 'hang' }
  /** Send the headers at once, then the body one byte every `intervalMs`. */
  | { type: 'trickle'; intervalMs: number }
  /** Answer `status` with the API's error JSON (or `body`), and `Retry-After` when given. */
  | { type: 'status'; status: number; body?: string | object; retryAfter?: number | string }
  /** Answer 200 with lines that are not JSON. */
  | { type: 'garbage' }
  /** Answer 200 with one well-formed but `bytes`-long record. */
  | { type: 'oversized'; bytes: number }
  /** End the stream cleanly but without its final record (`done: true` / `data: [DONE]`); a JSON body is cut short. */
  | { type: 'no_final' }
  /**
   * Send the headers and `afterChunks` records, then the API's in-band error record and end the
   * stream cleanly, as a server does when generation fails mid-answer (out of memory, a crashed
   * runner): Ollama's `{"error":"…"}` line; an OpenAI-compatible server's
   * `data: {"error":{…}}` event followed by `data: [DONE]`, as vLLM sends it. A one-piece JSON
   * answer gets the API's error JSON with status 500 instead, since its headers are not sent yet.
   */
  | { type: 'error_mid_stream'; afterChunks: number; message?: string };

export const NO_FAULT: Fault = { type: 'none' };
