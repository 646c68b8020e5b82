import type { ToolCall } from '../inference/types';

/** What to do with one event of the answer after the splicer has seen it. */
export type SpliceResult = { kind: 'emit'; text: string } | { kind: 'skip' } | { kind: 'diverged' };

const SKIP: SpliceResult = { kind: 'skip' };
const DIVERGED: SpliceResult = { kind: 'diverged' };

/**
 * Keeps a streamed answer well-formed across a mid-stream failover. The client has already
 * received part of node A's answer when node B starts over from the beginning; bytes cannot be
 * taken back, and holding every answer back until it is complete would throw away the time to
 * first token. So the gateway streams at once and, after a fallback, swallows B's answer while it
 * repeats what the client already has, then streams B from the first character past that. Nodes
 * serving the same model at temperature 0 usually repeat each other, so the client sees one
 * uninterrupted answer. If B says something else (B's text stops matching, or B ends before it
 * has repeated everything, or calls other tools), no splice is honest: the stream ends with the
 * API's in-band error record instead of a mixed answer.
 */
export class StreamSplicer {
  private sent = '';
  private sentCalls: string | undefined;
  /** While replaying: what the client has, and how much of it the new node has repeated. */
  private replay: string | undefined;
  private matched = 0;
  /**
   * Reasoning is spliced the same way, with one difference: a new node whose reasoning departs
   * from what the client has is not an error (the answer is what counts), its reasoning is left
   * out instead. So is reasoning that would come after answer text the client already has.
   */
  private sentThinking = '';
  private thinkingReplay: string | undefined;
  private thinkingMatched = 0;
  private thinkingClosed = false;

  get replaying(): boolean {
    return this.replay !== undefined;
  }

  text(text: string): SpliceResult {
    const replay = this.replay;
    if (replay === undefined) {
      this.sent += text;
      return { kind: 'emit', text };
    }
    const remaining = replay.length - this.matched;
    if (text.length <= remaining) {
      if (!replay.startsWith(text, this.matched)) return DIVERGED;
      this.matched += text.length;
      return SKIP;
    }
    if (remaining > 0 && !text.startsWith(replay.slice(this.matched))) return DIVERGED;
    if (this.sentCalls !== undefined) return DIVERGED;
    this.replay = undefined;
    const rest = text.slice(remaining);
    this.sent += rest;
    return { kind: 'emit', text: rest };
  }

  thinking(text: string): SpliceResult {
    if (this.thinkingClosed) return SKIP;
    const replay = this.thinkingReplay;
    if (replay === undefined) {
      this.sentThinking += text;
      return { kind: 'emit', text };
    }
    const remaining = replay.length - this.thinkingMatched;
    const matches = text.length <= remaining ? replay.startsWith(text, this.thinkingMatched) : text.startsWith(replay.slice(this.thinkingMatched));
    if (!matches) {
      this.thinkingClosed = true;
      return SKIP;
    }
    if (text.length <= remaining) {
      this.thinkingMatched += text.length;
      return SKIP;
    }
    this.thinkingReplay = undefined;
    if (this.sent !== '' || this.sentCalls !== undefined) {
      this.thinkingClosed = true;
      return SKIP;
    }
    const rest = text.slice(remaining);
    this.sentThinking += rest;
    return { kind: 'emit', text: rest };
  }

  toolCalls(calls: readonly ToolCall[]): SpliceResult {
    const key = callsKey(calls);
    if (this.replay !== undefined) {
      if (this.matched !== this.replay.length) return DIVERGED;
      if (this.sentCalls !== undefined) {
        if (this.sentCalls !== key) return DIVERGED;
        this.replay = undefined;
        return SKIP;
      }
      this.replay = undefined;
    }
    this.sentCalls = this.sentCalls === undefined ? key : this.sentCalls + key;
    return { kind: 'emit', text: '' };
  }

  /** A fallback: `discardPartial` means the next node starts the answer over. */
  fallback(discardPartial: boolean): void {
    if (!discardPartial) return;
    if (this.sentThinking !== '' || this.sent !== '' || this.sentCalls !== undefined) {
      this.thinkingReplay = this.sentThinking;
      this.thinkingMatched = 0;
      this.thinkingClosed = false;
    }
    if (this.sent === '' && this.sentCalls === undefined) return;
    this.replay = this.sent;
    this.matched = 0;
  }

  /** At the end of the answer: false when the new node ended before repeating all the client has. */
  complete(): boolean {
    if (this.replay === undefined) return true;
    return this.matched === this.replay.length && this.sentCalls === undefined;
  }
}

function callsKey(calls: readonly ToolCall[]): string {
  // Ids are made up per node (Ollama has none), so they do not decide whether two answers agree.
  return JSON.stringify(calls.map((c) => [c.name, c.arguments]));
}
