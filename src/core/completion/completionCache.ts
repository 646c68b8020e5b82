/**
 * Suggestions by where they were asked (file, text before and after the cursor), least recently
 * used evicted first. A lookup also serves the user typing into a shown suggestion: if an entry was
 * made for a prefix that the current one extends, and its suggestion starts with what was typed
 * since, the rest of the suggestion is the answer.
 */
export class CompletionCache {
  private readonly entries = new Map<string, { file: string; prefix: string; suffixHead: string; text: string }>();

  constructor(
    private readonly capacity = 500,
    /** How far back a typed-into suggestion is looked for, in characters. */
    private readonly maxTyped = 64,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  set(file: string, prefix: string, suffix: string, text: string): void {
    if (text.length === 0) return;
    const key = keyOf(file, prefix, suffix);
    this.entries.delete(key);
    this.entries.set(key, { file, prefix, suffixHead: suffixHeadOf(suffix), text });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  get(file: string, prefix: string, suffix: string): string | undefined {
    const head = suffixHeadOf(suffix);
    for (let typed = 0; typed <= Math.min(this.maxTyped, prefix.length); typed++) {
      const at = prefix.length - typed;
      const key = keyOf(file, prefix.slice(0, at), suffix);
      const hit = this.entries.get(key);
      if (!hit || hit.suffixHead !== head) continue;
      const typedText = prefix.slice(at);
      if (!hit.text.startsWith(typedText)) continue;
      const rest = hit.text.slice(typedText.length);
      if (rest.length === 0) continue;
      // Touched: it moves to the back of the eviction order.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return rest;
    }
    return undefined;
  }
}

/** What follows the cursor on its line: enough to tell places apart, without hashing the whole file. */
function suffixHeadOf(suffix: string): string {
  const nl = suffix.indexOf('\n');
  return nl < 0 ? suffix.slice(0, 200) : suffix.slice(0, Math.min(nl, 200));
}

function keyOf(file: string, prefix: string, suffix: string): string {
  // The last 400 characters of the prefix and the rest of the line pin the place; longer keys cost more than they tell.
  return `${file}\u0000${prefix.length}\u0000${prefix.slice(-400)}\u0000${suffixHeadOf(suffix)}`;
}
