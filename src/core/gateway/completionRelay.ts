import type { ServerResponse } from 'node:http';
import type { Coordinator } from '../coordinator';
import type { CompleteRequest } from '../routing/failoverRunner';
import type { ChatEvent } from '../chatEvent';
import type { ToolCall } from '../inference/types';
import { cancelWhenClientGone } from './clientGone';
import { errorBody, headerSafe, sendJson } from './gatewayHttp';
import { StreamSplicer } from './streamSplicer';
import type { WireEncoder } from './wireEncoder';

export interface RelayOptions {
  stream: boolean;
  encoder: WireEncoder;
  request: Omit<CompleteRequest, 'signal'>;
}

/**
 * Runs one completion on the coordinator and writes it to `res` in the encoder's wire format.
 * Streamed: the status and the X-Harombe-* headers go out with the first record, as Ollama does,
 * so a failover before the first token is already reflected in them; every record is written as
 * it arrives (no per-chunk logging, backpressure honoured); records a node sent in the client's own
 * format (`wire` events) are forwarded byte for byte. Whole: one JSON body at the end.
 * A client that disconnects cancels the request on the node.
 */
export async function relayCompletion(coordinator: Coordinator, res: ServerResponse, opts: RelayOptions): Promise<void> {
  const { encoder, stream } = opts;
  const { controller, release } = cancelWhenClientGone(res);
  let node = '';
  let tier = 0;
  let reason = '';
  const splicer = stream ? new StreamSplicer() : undefined;
  let text = '';
  let thinking = '';
  let calls: ToolCall[] | undefined;
  let calledTools = false;

  const harombeHeaders = (): Record<string, string> => ({ 'X-Harombe-Node': headerSafe(node), 'X-Harombe-Tier': String(tier), 'X-Harombe-Reason': headerSafe(reason) });
  const ensureHeaders = () => {
    if (!res.headersSent) res.writeHead(200, { ...harombeHeaders(), ...encoder.streamHeaders });
  };
  // Records parsed from one read of the node's socket are written in one synchronous run, and the
  // closing record (when it came in the same read) follows through a chain of promises. Corking
  // until the tick after those microtasks sends all of it in one syscall instead of one per token,
  // without delaying any. A tick queued directly would run before the microtasks.
  // The node's own bytes (one piece per read of its socket, often one per token) wait in `held`
  // meanwhile and leave as one chunk of the HTTP answer: a copy of a few kilobytes costs less than
  // a chunk's framing and its entries in the socket's queue for every piece.
  let corked = false;
  const held: Buffer[] = [];
  // Held bytes the socket took beyond its high-water mark hold back the node's next piece.
  let pressure: Promise<void> | undefined;
  const takeHeld = (): Buffer | undefined => {
    if (held.length === 0) return undefined;
    const chunk = held.length === 1 ? (held[0] as Buffer) : Buffer.concat(held);
    held.length = 0;
    return chunk;
  };
  const flushHeld = () => {
    const chunk = takeHeld();
    if (chunk && !res.write(chunk)) pressure ??= drained(res).then(() => (pressure = undefined));
  };
  const uncork = () => {
    corked = false;
    flushHeld();
    res.uncork();
  };
  const uncorkAfterMicrotasks = () => process.nextTick(uncork);
  const write = (chunk: string | Buffer): void | Promise<void> => {
    ensureHeaders();
    if (!corked) {
      corked = true;
      res.cork();
      queueMicrotask(uncorkAfterMicrotasks);
    }
    if (typeof chunk !== 'string') {
      held.push(chunk);
      return pressure;
    }
    flushHeld();
    if (!res.write(chunk)) return drained(res);
    return pressure;
  };
  /** Ends the answer with `chunk`, after anything still held. */
  const end = (chunk: string | Buffer): void => {
    if (typeof chunk !== 'string' && held.length > 0) {
      held.push(chunk);
      res.end(takeHeld());
      return;
    }
    flushHeld();
    res.end(chunk);
  };
  // Set once the client has its answer or has been told it is cut: later events change nothing.
  let settled = false;
  const diverged = () => {
    const message = `node ${node} took over after a failure but its answer differs from what was already streamed; retry the request`;
    end(encoder.streamError(message));
    settled = true;
    // The node is still answering something else: that request ends here.
    controller.abort(RELAY_DONE);
  };

  // The sink's result holds the node back while the client is slow. A whole answer needs no
  // abort: the node has finished it, and an abort would cascade through every listener for nothing.
  const sink = (e: ChatEvent): void | Promise<void> => {
    if (settled || controller.aborted) return;
    switch (e.type) {
      case 'route':
        node = e.node;
        tier = e.tier;
        reason = [...e.reasons, e.nodeReason].join('; ');
        return;
      case 'fallback':
        node = e.to;
        tier = e.tier;
        reason = `fallback from ${e.from}: ${e.reason}`;
        if (splicer) splicer.fallback(e.discardPartial);
        else if (e.discardPartial) {
          text = '';
          thinking = '';
          calls = undefined;
        }
        return;
      case 'delta': {
        if (!splicer) {
          text += e.text;
          return;
        }
        const r = splicer.text(e.text);
        if (r.kind === 'diverged') return diverged();
        if (r.kind === 'emit') return write(encoder.delta(r.text));
        return;
      }
      case 'thinking': {
        if (!splicer) {
          thinking += e.text;
          return;
        }
        const r = splicer.thinking(e.text);
        if (r.kind === 'emit') return write(encoder.thinking(r.text));
        return;
      }
      case 'wire':
        // The coordinator relays records only while nothing is being spliced, so the splicer
        // can only take them as they are; anything else would be a mixed answer.
        if (e.calls) calledTools = true;
        if (!splicer) {
          text += e.text;
          if (e.thinking) thinking += e.thinking;
          if (e.calls) calls = [...(calls ?? []), ...e.calls];
          return;
        }
        if (e.thinking && splicer.thinking(e.thinking).kind !== 'emit') return diverged();
        if (e.text.length > 0 && splicer.text(e.text).kind !== 'emit') return diverged();
        if (e.calls && splicer.toolCalls(e.calls).kind !== 'emit') return diverged();
        return write(e.bytes);
      case 'tool_calls': {
        calledTools = true;
        if (!splicer) {
          calls = [...(calls ?? []), ...e.calls];
          return;
        }
        const r = splicer.toolCalls(e.calls);
        if (r.kind === 'diverged') return diverged();
        if (r.kind === 'emit') return write(encoder.toolCalls(e.calls));
        return;
      }
      case 'done':
        node = e.node;
        tier = e.tier;
        if (!splicer) {
          settled = true;
          sendJson(res, 200, encoder.whole(text, calls, e, thinking), harombeHeaders());
          return;
        }
        if (!splicer.complete()) return diverged();
        settled = true;
        ensureHeaders();
        end(e.wire ?? encoder.done(e, calledTools));
        return;
      case 'error':
        if (e.code === 'cancelled') return;
        settled = true;
        if (res.headersSent) end(encoder.streamError(e.message));
        else {
          const status = e.code === 'invalid_request' || e.code === 'too_large' ? 400 : 503;
          sendJson(res, status, errorBody(encoder.errorShape, status, e.message, e.code), harombeHeaders());
        }
        return;
    }
  };

  try {
    await coordinator.completeTo({ ...opts.request, signal: controller }, sink);
  } finally {
    release();
    if (!res.writableEnded && !res.destroyed) res.destroy();
  }
}

/** Made once: the relay's own reason to stop a request it has finished with. */
const RELAY_DONE = new Error('the gateway has answered the client');

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
