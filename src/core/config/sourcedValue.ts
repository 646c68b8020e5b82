import type { z } from 'zod';
import { childSchema, unwrapSchema } from './zodIntrospection';

export type PathStep = string | number;

/**
 * Where a value came from. Kept on every value through merging, so a problem found in the merged
 * config still names the file, the line and the path as written in that file (a workspace node
 * can be `cluster.nodes[0]` in its file and the fourth node once merged).
 */
export interface Origin {
  file: string;
  /** The path inside `file`. */
  path: PathStep[];
  /** 1-based position of the value; 0 when the value has no place in a file (settings). */
  line: number;
  column: number;
  /** 1-based position of the key that holds the value, for map entries; same as line/column otherwise. */
  keyLine: number;
  keyColumn: number;
}

/** A config value as read from one layer (a YAML file or the settings), each part tagged with its origin. */
export type SourcedValue =
  | { kind: 'map'; origin: Origin; entries: Map<string, SourcedValue> }
  | { kind: 'seq'; origin: Origin; items: SourcedValue[] }
  /**
   * `loose`: the string may stand for a number or boolean: it was wholly an `${env:NAME}` reference,
   * or a bare `yes`/`no`/`on`/`off`, which Harombe's Python release (PyYAML, YAML 1.1) reads as a boolean.
   * `unresolved`: an `${env:NAME}` in it could not be replaced; that is already reported.
   */
  | { kind: 'scalar'; origin: Origin; value: unknown; loose?: boolean; unresolved?: boolean };

/** `cluster.nodes[1].tier`, the spelling messages and the reference table use. */
export function formatPath(path: readonly PathStep[]): string {
  let out = '';
  for (const step of path) {
    if (typeof step === 'number') out += `[${step}]`;
    else out += out ? `.${step}` : step;
  }
  return out;
}

/** Tags a plain value (the settings layer) with one origin for all of it. */
export function sourcedFromPlain(value: unknown, file: string, path: PathStep[] = []): SourcedValue | undefined {
  if (value === undefined) return undefined;
  const origin: Origin = { file, path, line: 0, column: 0, keyLine: 0, keyColumn: 0 };
  if (Array.isArray(value)) {
    const items: SourcedValue[] = [];
    value.forEach((v, i) => {
      const s = sourcedFromPlain(v, file, [...path, i]);
      if (s) items.push(s);
    });
    return { kind: 'seq', origin, items };
  }
  if (value !== null && typeof value === 'object') {
    const entries = new Map<string, SourcedValue>();
    for (const [k, v] of Object.entries(value)) {
      const s = sourcedFromPlain(v, file, [...path, k]);
      if (s) entries.set(k, s);
    }
    return { kind: 'map', origin, entries };
  }
  return { kind: 'scalar', origin, value };
}

/** The deepest value along `path` that exists, and the steps that could not be followed from it. */
export function locate(root: SourcedValue, path: readonly PropertyKey[]): { value: SourcedValue; rest: PropertyKey[] } {
  let current = root;
  for (let i = 0; i < path.length; i++) {
    const step = path[i];
    let next: SourcedValue | undefined;
    if (current.kind === 'map' && typeof step === 'string') next = current.entries.get(step);
    else if (current.kind === 'seq' && typeof step === 'number') next = current.items[step];
    if (!next) return { value: current, rest: path.slice(i) };
    current = next;
  }
  return { value: current, rest: [] };
}

/**
 * The plain value zod validates. Two YAML habits are smoothed over here, guided by the schema:
 * an emptied section (`tools:` with every line commented out) is null in YAML and means "use the
 * defaults", and a whole-value `${env:PORT}` or a bare `yes` is a string that stands for the number
 * or boolean it spells where the schema wants one.
 */
export function toPlain(value: SourcedValue, schema: z.ZodType | undefined): unknown {
  switch (value.kind) {
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of value.entries) {
        const child = schema ? childSchema(schema, k) : undefined;
        if (child && isEmptySection(v, child)) continue;
        out[k] = toPlain(v, child);
      }
      return out;
    }
    case 'seq':
      return value.items.map((item, i) => toPlain(item, schema ? childSchema(schema, i) : undefined));
    case 'scalar':
      return value.loose && schema ? coerceLooseString(value.value, schema) : value.value;
  }
}

function isEmptySection(value: SourcedValue, schema: z.ZodType): boolean {
  if (value.kind !== 'scalar' || value.value !== null) return false;
  const { kind, hasDefault, optional } = unwrapSchema(schema);
  return (kind === 'object' || kind === 'array') && (hasDefault || optional);
}

const yamlBooleans: Readonly<Record<string, boolean>> = { true: true, false: false, yes: true, no: false, on: true, off: false };

function coerceLooseString(value: unknown, schema: z.ZodType): unknown {
  if (typeof value !== 'string') return value;
  const { kind } = unwrapSchema(schema);
  if (kind === 'number' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  const bool = yamlBooleans[value.toLowerCase()];
  if (kind === 'boolean' && bool !== undefined) return bool;
  return value;
}
