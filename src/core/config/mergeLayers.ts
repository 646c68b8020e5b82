import type { PathStep, SourcedValue } from './sourcedValue';

/** Lists merged entry by entry, matched on this key; every other list is replaced whole. */
const keyedLists: readonly { path: readonly string[]; key: string }[] = [{ path: ['cluster', 'nodes'], key: 'name' }];

/**
 * Merges config layers, lowest priority first. Mappings merge key by key; lists are replaced,
 * except `cluster.nodes`, whose entries match by `name`: a higher layer's node with a known name
 * is merged over that node (so a workspace file can change just the tier or token of a node the
 * user file defines), and nodes with new names are appended.
 */
export function mergeLayers(layers: readonly (SourcedValue | undefined)[]): SourcedValue | undefined {
  let merged: SourcedValue | undefined;
  for (const layer of layers) {
    if (!layer) continue;
    merged = merged ? mergeTwo(merged, layer, []) : layer;
  }
  return merged;
}

function mergeTwo(lower: SourcedValue, higher: SourcedValue, path: PathStep[]): SourcedValue {
  if (lower.kind === 'map' && higher.kind === 'map') {
    const entries = new Map(lower.entries);
    for (const [key, value] of higher.entries) {
      const existing = entries.get(key);
      entries.set(key, existing ? mergeTwo(existing, value, [...path, key]) : value);
    }
    // The merged mapping "is" the higher one: a key missing from both is reported where the higher layer wrote the mapping.
    return { kind: 'map', origin: higher.origin, entries };
  }
  const keyed = keyedLists.find((k) => k.path.length === path.length && k.path.every((step, i) => step === path[i]));
  if (keyed && lower.kind === 'seq' && higher.kind === 'seq') {
    const items = [...lower.items];
    for (const item of higher.items) {
      const name = keyOf(item, keyed.key);
      const index = name === undefined ? -1 : items.findIndex((existing) => keyOf(existing, keyed.key) === name);
      const existing = index >= 0 ? items[index] : undefined;
      if (existing) items[index] = mergeTwo(existing, item, [...path, index]);
      else items.push(item);
    }
    return { kind: 'seq', origin: higher.origin, items };
  }
  return higher;
}

function keyOf(item: SourcedValue, key: string): string | undefined {
  if (item.kind !== 'map') return undefined;
  const value = item.entries.get(key);
  return value?.kind === 'scalar' && typeof value.value === 'string' ? value.value : undefined;
}
