import { DEFAULT_MAX_LINE_BYTES, LineFramer } from './lineFramer';
import { NodeError } from './nodeError';
import { nodeRequest } from './nodeRequest';
import { WireClient } from './wireClient';
import { finalChunk, fromOllamaToolCall, parseRecord, plainDeltaText } from './ollamaRecord';
import { ThinkSplitter } from './thinkSplitter';
import type { ChatChunk, ChatRequest, ChunkSink, ToolCall, WireChunk } from './types';

/**
 * Relays a gateway client's Ollama request (`/api/chat` or `/api/generate`) to an Ollama node:
 * the client's body goes as it came, so options Harombe does not model (`format`, `options.num_ctx`,
 * `keep_alive`, `think`…) reach the node; the answer comes back as the node's own bytes, one
 * `wire` chunk per network read, cut at record boundaries so a failover never splits a record.
 * Every record is still parsed: a malformed line, an in-band error or a missing final record is
 * a `NodeError` before any of its bytes are handed on, exactly as with `OllamaClient`.
 */
export class OllamaWireClient extends WireClient {
  async stream(request: ChatRequest, sink: ChunkSink): Promise<void> {
    const wire = request.wire;
    if (wire?.protocol !== 'ollama') throw new Error('OllamaWireClient needs an Ollama wire request');
    const res = await nodeRequest(this.dispatcher, this.endpoint, {
      path: wire.path,
      body: withWindow(wire.body, request),
      accept: 'application/x-ndjson',
      signal: request.signal,
    });
    const framer = new LineFramer(this.endpoint.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    let final: ChatChunk | undefined;
    let finalBytes: Buffer | undefined;
    let finalAt = -1;
    let text = '';
    let thinking = '';
    let calls: ToolCall[] | undefined;
    // A `<think>` block in the content is relayed as it came but told to the coordinator as reasoning.
    const splitter = new ThinkSplitter();
    const addContent = (content: string) => {
      const split = splitter.push(content);
      text += split.answer;
      thinking += split.thinking;
    };
    const visit = (buf: Buffer, start: number, end: number) => {
      if (final || start === end) return;
      const line = buf.toString('utf8', start, end);
      const plain = plainDeltaText(line, true);
      if (plain !== undefined) {
        addContent(plain);
        return;
      }
      const record = parseRecord(line);
      if (typeof record.error === 'string') throw new NodeError('incomplete', `the node gave up mid-answer: ${record.error.slice(0, 200)}`);
      const message = record.message;
      const content = message ? message.content : record.response;
      const reasoning = message ? message.thinking : record.thinking;
      if (typeof reasoning === 'string') thinking += reasoning;
      if (typeof content === 'string') addContent(content);
      if (message && Array.isArray(message.tool_calls) && message.tool_calls.length > 0) {
        (calls ??= []).push(...message.tool_calls.map(fromOllamaToolCall));
      }
      if (record.done === true) {
        const rest = splitter.flush();
        text += rest.answer;
        thinking += rest.thinking;
        final = finalChunk(record);
        finalAt = start;
      }
    };
    const take = (region: Buffer): ChatChunk | undefined => {
      if (final && !finalBytes) finalBytes = region.subarray(finalAt);
      const records = finalBytes ? region.subarray(0, finalAt) : region;
      if (records.length === 0) return undefined;
      const chunk: WireChunk = { type: 'wire', bytes: records, text };
      if (thinking) chunk.thinking = thinking;
      if (calls) chunk.calls = calls;
      text = '';
      thinking = '';
      calls = undefined;
      return chunk;
    };
    let held: void | Promise<void> = undefined;
    // The closing record handed on from inside the read, in the same tick as the records before
    // it, so the gateway writes both at once; a failure of the sink there is not the node's.
    let closing: { delivered: void | Promise<void> } | { error: unknown } | undefined;
    try {
      await res.read((chunk) => {
        const region = framer.push(chunk, visit);
        const records = region && take(region);
        held = records ? sink(records) : undefined;
        if (!final) return held;
        if (!held) {
          try {
            closing = { delivered: sink(withWire(final, finalBytes)) };
          } catch (error) {
            closing = { error };
          }
        }
        // The rest of the body is read in the background so the connection goes back to the pool.
        return false;
      });
      if (final) res.finish();
      const rest = framer.rest();
      if (!final && rest !== undefined) {
        // A server that does not end its last record with a newline; the client gets one anyway.
        const region = Buffer.from(`${rest}\n`);
        visit(region, 0, region.length - 1);
        const records = take(region);
        if (records) await sink(records);
      }
    } catch (err) {
      // After the final record the answer is whole; a failure while draining only costs the connection.
      if (!final || request.signal?.aborted) throw err;
    } finally {
      res.close();
    }
    if (!final) throw new NodeError('incomplete', 'the answer ended without its final record (done: true)');
    if (closing) {
      if ('error' in closing) throw closing.error;
      return closing.delivered;
    }
    // The records before the closing one may still be on their way to a slow reader.
    await held;
    await sink(withWire(final, finalBytes));
  }
}

/**
 * The client's body with Harombe's window for the node: `options.num_ctx` unless the client sent
 * its own (a client that sizes its window knows what it wants), and `truncate: false` unless the
 * client asked for truncation, so an overflow is a 400 the coordinator can move elsewhere.
 */
function withWindow(body: Readonly<Record<string, unknown>>, request: ChatRequest): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body, model: request.model, stream: true };
  if (request.numCtx === undefined) return out;
  const options = body.options;
  const own = typeof options === 'object' && options !== null && !Array.isArray(options) ? (options as Record<string, unknown>) : undefined;
  if (own?.num_ctx === undefined) out.options = { ...own, num_ctx: request.numCtx };
  if (body.truncate === undefined) out.truncate = false;
  return out;
}

function withWire(final: ChatChunk, bytes: Buffer | undefined): ChatChunk {
  if (final.type === 'done') final.wire = bytes;
  return final;
}
