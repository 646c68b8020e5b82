/**
 * How deep the JSON bodies Harombe accepts may nest. Real requests stay far below it (a tool's
 * JSON Schema with nested objects is a dozen levels); past a few thousand levels, `JSON.stringify`
 * and every recursive walk overflow the stack, which is what a hostile body aims at.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether a parsed JSON value nests arrays and objects deeper than `max` levels. Iterative, so it
 * cannot overflow the stack itself; it stops at the first path that is too deep.
 */
export function jsonTooDeep(value: unknown, max = MAX_JSON_DEPTH): boolean {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const v = top.value;
    if (typeof v !== 'object' || v === null) continue;
    const depth = top.depth + 1;
    if (depth > max) return true;
    const children = Array.isArray(v) ? v : Object.values(v);
    for (const child of children) if (typeof child === 'object' && child !== null) stack.push({ value: child, depth });
  }
  return false;
}
