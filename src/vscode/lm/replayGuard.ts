/**
 * Text already handed to VS Code (a `Progress` or a chat stream) cannot be taken back. When the
 * coordinator falls back mid-answer with `discardPartial`, the new node starts over; this mirrors the
 * gateway's policy: swallow the new node's text while it repeats what was sent, pass on what comes
 * after, and fail loudly if it says something different rather than splice two answers together.
 */
export class ReplayGuard {
  private sent = '';
  private replaying: string | undefined;

  /** Returns the part of `text` that may be shown, or throws when the new node diverges. */
  accept(text: string): string {
    if (this.replaying === undefined) {
      this.sent += text;
      return text;
    }
    const combined = this.replaying + text;
    if (this.sent.startsWith(combined)) {
      this.replaying = combined;
      return '';
    }
    if (combined.startsWith(this.sent)) {
      this.replaying = undefined;
      const fresh = combined.slice(this.sent.length);
      this.sent = combined;
      return fresh;
    }
    throw new Error('Harombe switched nodes mid-answer and the new node answered differently; the partial answer above is incomplete. Ask again.');
  }

  /** A fallback that discards the partial answer: nothing shown yet means nothing to guard. */
  restart(): void {
    if (this.sent !== '') this.replaying = '';
  }
}
