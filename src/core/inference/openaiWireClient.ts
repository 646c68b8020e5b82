import { DEFAULT_MAX_LINE_BYTES, LineFramer } from './lineFramer';
import { NodeError } from './nodeError';
import { nodeRequest } from './nodeRequest';
import { WireClient } from './wireClient';
import { describeError, numberOrUndefined, parseChunk, reasoningOf, type OpenAIChoice, type OpenAIChunk } from './openaiChunk';
import { ThinkSplitter } from './thinkSplitter';
import { ToolCallAccumulator } from './toolCallAccumulator';
import type { ChatRequest, ChunkSink, ToolCall, WireChunk } from './types';

const CR = 0x0d;
const EMPTY = Buffer.alloc(0);

/**
 * Relays a gateway client's OpenAI request (`/v1/chat/completions`) to a node that serves that API
 * (an OpenAI-compatible server, Ollama's `/v1`, a `harombe start` worker): the client's body goes
 * as it came, so `max_tokens`, `stop`, `seed`, `response_format`, `tool_choice`… reach the node;
 * the answer comes back as the node's own SSE bytes, cut only at event boundaries so a failover
 * never splits an event. Every `data:` event is parsed before its bytes are handed on: garbage, an
 * in-band error or a stream without `data: [DONE]` is a `NodeError`, as with `OpenAIClient`.
 *
 * What the client has been shown must always be known to the coordinator, which only counts text,
 * reasoning and tool calls: so events that carry neither text nor reasoning (the role-only first delta, keep-alive comments)
 * wait for the next text, and everything from the first tool call fragment or `finish_reason` on
 * (fragments are not a call the splicer can compare yet) is held until `[DONE]` and handed on as
 * the closing bytes. A node that dies before its first text has then shown nothing, and the next
 * node's answer can be relayed in its place.
 *
 * The node is always asked for the usage chunk (`stream_options.include_usage`), because token
 * counts feed the metrics and a `stream: false` answer's `usage`; when the client did not ask for
 * it, that chunk is left out of what it receives, as the node would have done.
 */
export class OpenAIWireClient extends WireClient {
  async stream(request: ChatRequest, sink: ChunkSink): Promise<void> {
    const wire = request.wire;
    if (wire?.protocol !== 'openai') throw new Error('OpenAIWireClient needs an OpenAI wire request');
    const clientOptions = isObject(wire.body.stream_options) ? wire.body.stream_options : undefined;
    const keepUsageChunk = clientOptions?.include_usage === true;
    const res = await nodeRequest(this.dispatcher, this.endpoint, {
      path: wire.path,
      body: { ...wire.body, model: request.model, stream: true, stream_options: { ...clientOptions, include_usage: true } },
      accept: 'text/event-stream',
      signal: request.signal,
    });
    const limit = this.endpoint.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    const framer = new LineFramer(limit);
    const calls = new ToolCallAccumulator();
    let finishReason: string | undefined;
    let promptTokens: number | undefined;
    let completionTokens: number | undefined;
    let evalMs: number | undefined;
    let sawDone = false;
    let firstRecord: OpenAIChunk | undefined;
    let relayStarted = false;

    // Across reads: complete lines of an event whose blank line has not come yet; events ready to
    // be handed on but waiting for text; the closing events held until [DONE].
    let carry: Buffer | undefined;
    const pending: Buffer[] = [];
    let pendingText = '';
    let pendingThinking = '';
    const closing: Buffer[] = [];
    let closingText = '';
    let closingThinking = '';
    // A `<think>` block in the content (a server without a reasoning parser) is relayed as it came
    // but told to the coordinator as reasoning, not answer text.
    const splitter = new ThinkSplitter();
    let inClosing = false;
    // The event being read.
    let data: string | undefined;
    // Within one read, positions in `carry + region`: where the current event starts, the end of
    // the events handed on as they come, the end of the last whole event, where the held events
    // start (-1: not in this read), and the events left out (start, end).
    let base = 0;
    let eventStart = 0;
    let openEnd = 0;
    let lastEnd = 0;
    let closingFrom = -1;
    let dropped: [number, number][] | undefined;

    const endEvent = (end: number) => {
      let text = '';
      let thinking = '';
      let holds = false;
      let drop = false;
      if (data === '[DONE]') {
        sawDone = true;
        holds = true;
      } else if (data !== undefined) {
        const chunk = parseChunk(data);
        if (chunk.error !== undefined) throw new NodeError('incomplete', `the node gave up mid-answer: ${describeError(chunk.error)}`);
        firstRecord ??= chunk;
        const choices = Array.isArray(chunk.choices) ? (chunk.choices as unknown[]) : undefined;
        if (choices) {
          for (const raw of choices) {
            if (typeof raw !== 'object' || raw === null) continue;
            const choice = raw as OpenAIChoice;
            const finished = typeof choice.finish_reason === 'string' && choice.finish_reason !== '';
            const delta = choice.delta;
            const fragments = delta && Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0 ? (delta.tool_calls as unknown[]) : undefined;
            if (finished || fragments) holds = true;
            // The answer is choice 0 (a client asking for `n` > 1 still gets every choice's bytes).
            if ((choice.index ?? 0) !== 0) continue;
            if (delta) {
              thinking += reasoningOf(delta) ?? '';
              if (typeof delta.content === 'string') {
                const split = splitter.push(delta.content);
                thinking += split.thinking;
                text += split.answer;
              }
            }
            if (fragments) for (const fragment of fragments) calls.add(fragment);
            if (finished) finishReason = choice.finish_reason as string;
          }
        }
        const usage = chunk.usage;
        if (usage && typeof usage === 'object') {
          promptTokens = numberOrUndefined(usage.prompt_tokens) ?? promptTokens;
          completionTokens = numberOrUndefined(usage.completion_tokens) ?? completionTokens;
          // The usage chunk proper: no choices, only the counts, after the finish_reason chunk.
          if (choices?.length === 0) {
            holds = true;
            drop = !keepUsageChunk;
          }
        }
        // llama.cpp's server reports its generation time; others leave tokens/s to the wall clock.
        if (chunk.timings && typeof chunk.timings === 'object') evalMs = numberOrUndefined(chunk.timings.predicted_ms) ?? evalMs;
      }
      data = undefined;
      if (holds && !inClosing) {
        inClosing = true;
        closingFrom = eventStart;
      }
      if (inClosing) {
        closingText += text;
        closingThinking += thinking;
        if (drop) (dropped ??= []).push([eventStart, end]);
      } else {
        pendingText += text;
        pendingThinking += thinking;
        openEnd = end;
      }
      lastEnd = end;
      eventStart = end;
    };

    const visit = (buf: Buffer, start: number, end: number) => {
      if (sawDone) return;
      if (start === end) return endEvent(base + (buf[end] === CR ? end + 2 : end + 1));
      // Only `data` matters to a chat completion; comments (`:`), `event`, `id` and `retry` are relayed as they are.
      if (end - start < 4 || buf[start] !== 0x64 || buf[start + 1] !== 0x61 || buf[start + 2] !== 0x74 || buf[start + 3] !== 0x61) return;
      let from = start + 4;
      if (from < end) {
        if (buf[from] !== 0x3a /* : */) return; // a field like `database:`, not `data`
        from++;
        if (buf[from] === 0x20) from++;
      }
      const value = buf.toString('utf8', from, end);
      data = data === undefined ? value : `${data}\n${value}`;
    };

    const relayStart = () => {
      if (relayStarted) return;
      relayStarted = true;
      if (firstRecord) wire.onRelayStart?.(firstRecord as Readonly<Record<string, unknown>>);
    };

    /** Sorts one read's whole events into handed-on and held bytes; returns the bytes to hand on now, if any. */
    const take = (region: Buffer): Buffer | undefined => {
      const all = carry ? Buffer.concat([carry, region]) : region;
      if (openEnd > 0) pending.push(all.subarray(0, openEnd));
      if (closingFrom >= 0 && lastEnd > closingFrom) {
        let from = closingFrom;
        for (const [start, end] of dropped ?? []) {
          if (start > from) closing.push(all.subarray(from, start));
          from = end;
        }
        if (lastEnd > from) closing.push(all.subarray(from, lastEnd));
      }
      carry = lastEnd < all.length && !sawDone ? all.subarray(lastEnd) : undefined;
      if (carry && carry.length > limit) throw new NodeError('oversized', `the node sent an event longer than ${limit} bytes`);
      if (sawDone || (pendingText.length === 0 && pendingThinking.length === 0)) return undefined;
      const bytes = joined(pending);
      pending.length = 0;
      return bytes;
    };

    let held: void | Promise<void> = undefined;
    try {
      await res.read((chunk) => {
        base = carry ? carry.length : 0;
        eventStart = 0;
        openEnd = 0;
        lastEnd = 0;
        closingFrom = inClosing ? 0 : -1;
        dropped = undefined;
        const region = framer.push(chunk, visit);
        if (!region) return undefined;
        const bytes = take(region);
        if (bytes) {
          const text = pendingText;
          const thinking = pendingThinking;
          pendingText = '';
          pendingThinking = '';
          relayStart();
          held = sink(thinking ? { type: 'wire', bytes, text, thinking } : { type: 'wire', bytes, text });
        } else {
          held = undefined;
        }
        // Once [DONE] is in, the rest of the body is read in the background so the connection
        // goes back to the pool; the closing events are handed on in this same tick.
        return sawDone ? false : held;
      });
      if (sawDone) res.finish();
    } catch (err) {
      // After [DONE] the answer is whole; a failure while draining only costs the connection.
      if (!sawDone || request.signal?.aborted) throw err;
    } finally {
      res.close();
    }
    // An event the stream cut off before its blank line is dropped, as the SSE spec says.
    if (!sawDone) throw new NodeError('incomplete', 'the answer ended without data: [DONE]');
    const toolCalls: ToolCall[] | undefined = calls.size > 0 ? calls.take() : undefined;
    // The events before the closing ones may still be on their way to a slow reader.
    await held;
    const rest = splitter.flush();
    const text = pendingText + closingText + rest.answer;
    const thinking = pendingThinking + closingThinking + rest.thinking;
    let closingBytes: Buffer;
    if (text.length > 0 || thinking.length > 0 || toolCalls) {
      // Text, reasoning or calls in the closing events: told with the events before them (bytes possibly empty).
      const bytes = joined(pending);
      if (bytes.length > 0) relayStart();
      const chunk: WireChunk = { type: 'wire', bytes, text };
      if (thinking) chunk.thinking = thinking;
      if (toolCalls) chunk.calls = toolCalls;
      await sink(chunk);
      closingBytes = Buffer.concat(closing);
    } else {
      closingBytes = Buffer.concat([...pending, ...closing]);
    }
    relayStart();
    await sink({ type: 'done', doneReason: finishReason ?? 'stop', promptTokens, completionTokens, evalMs, wire: closingBytes });
  }
}

/** The parts as one buffer, without a copy when there is only one. */
function joined(parts: Buffer[]): Buffer {
  if (parts.length === 0) return EMPTY;
  const [only] = parts;
  return parts.length === 1 && only ? only : Buffer.concat(parts);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
