import type { z } from 'zod';

/**
 * Reading the config schema as data, so error messages, unknown-key warnings and the README's
 * reference table all come from the one schema instead of hand-written copies that drift.
 * Only the zod kinds the config schema uses are understood; anything else is described generically.
 */

type Schema = z.ZodType;

interface CheckDef {
  check: string;
  value?: number;
  inclusive?: boolean;
  format?: string;
  minimum?: number;
}

interface Def {
  type: string;
  innerType?: Schema;
  defaultValue?: unknown;
  shape?: Record<string, Schema>;
  element?: Schema;
  entries?: Record<string, string | number>;
  values?: unknown[];
  checks?: { _zod: { def: CheckDef } }[];
  in?: Schema;
  options?: Schema[];
}

function defOf(schema: Schema): Def {
  return (schema as unknown as { def: Def }).def;
}

/** What a schema is once its wrappers (default, optional …) are peeled off, and what those wrappers said. */
export interface UnwrappedSchema {
  /** The schema that checks the value itself (object, number, enum …). */
  inner: Schema;
  kind: string;
  hasDefault: boolean;
  defaultValue?: unknown;
  optional: boolean;
  description?: string;
}

export function unwrapSchema(schema: Schema): UnwrappedSchema {
  let current = schema;
  let hasDefault = false;
  let defaultValue: unknown;
  let optional = false;
  let description: string | undefined;
  for (;;) {
    description ??= current.description;
    const def = defOf(current);
    if ((def.type === 'default' || def.type === 'prefault') && def.innerType) {
      if (!hasDefault) {
        hasDefault = true;
        defaultValue = def.defaultValue;
      }
      current = def.innerType;
    } else if ((def.type === 'optional' || def.type === 'nullable' || def.type === 'readonly' || def.type === 'catch') && def.innerType) {
      if (def.type === 'optional') optional = true;
      current = def.innerType;
    } else if (def.type === 'pipe' && def.in) {
      current = def.in;
    } else {
      return { inner: current, kind: def.type, hasDefault, defaultValue, optional, description };
    }
  }
}

/** The known keys of an object schema, or undefined when the schema is not an object. */
export function objectShape(schema: Schema): Record<string, Schema> | undefined {
  const { inner, kind } = unwrapSchema(schema);
  return kind === 'object' ? defOf(inner).shape : undefined;
}

/** The schema of one step down: a key of an object, or (for a number step) the element of a list. */
export function childSchema(schema: Schema, step: string | number): Schema | undefined {
  const { inner, kind } = unwrapSchema(schema);
  const def = defOf(inner);
  if (kind === 'object' && typeof step === 'string') return def.shape?.[step];
  if (kind === 'array' && typeof step === 'number') return def.element;
  return undefined;
}

export function schemaAt(root: Schema, path: readonly (string | number)[]): Schema | undefined {
  let current: Schema | undefined = root;
  for (const step of path) {
    if (!current) return undefined;
    current = childSchema(current, step);
  }
  return current;
}

interface NumberRange {
  integer: boolean;
  min?: { value: number; inclusive: boolean };
  max?: { value: number; inclusive: boolean };
}

function numberRange(schema: Schema): NumberRange {
  const range: NumberRange = { integer: false };
  for (const check of defOf(schema).checks ?? []) {
    const c = check._zod.def;
    if (c.check === 'number_format' && (c.format === 'safeint' || c.format === 'int32' || c.format === 'uint32')) range.integer = true;
    else if (c.check === 'greater_than' && c.value !== undefined) range.min = { value: c.value, inclusive: c.inclusive ?? false };
    else if (c.check === 'less_than' && c.value !== undefined) range.max = { value: c.value, inclusive: c.inclusive ?? false };
  }
  return range;
}

function orList(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function describeRange(r: NumberRange): string {
  const { min, max } = r;
  // A handful of allowed integers reads better spelled out ("0, 1 or 2") than as a range.
  if (r.integer && min?.inclusive && max?.inclusive && max.value - min.value <= 3) {
    const all: string[] = [];
    for (let v = min.value; v <= max.value; v++) all.push(String(v));
    return orList(all);
  }
  if (min?.inclusive && max?.inclusive) return `${min.value}–${max.value}`;
  const parts: string[] = [];
  if (min) parts.push(`${min.inclusive ? '≥' : '>'} ${min.value}`);
  if (max) parts.push(`${max.inclusive ? '≤' : '<'} ${max.value}`);
  return parts.join(', ');
}

function hasMinLength(schema: Schema): boolean {
  return (defOf(schema).checks ?? []).some((c) => c._zod.def.check === 'min_length' && (c._zod.def.minimum ?? 0) > 0);
}

function enumValues(schema: Schema): string[] {
  const def = defOf(schema);
  if (def.entries) return Object.values(def.entries).map(String);
  return (def.values ?? []).map((v) => String(v));
}

function unionOptions(schema: Schema): Schema[] {
  return defOf(schema).options ?? [];
}

/** The type as the reference table shows it: `integer 1–65535`, `graceful | strict`, `list of strings`. */
export function describeType(schema: Schema): string {
  const { inner, kind } = unwrapSchema(schema);
  switch (kind) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'number': {
      const r = numberRange(inner);
      const range = describeRange(r);
      return `${r.integer ? 'integer' : 'number'}${range ? ` ${range}` : ''}`;
    }
    case 'enum':
    case 'literal':
      return enumValues(inner).join(' | ');
    case 'array': {
      const element = defOf(inner).element;
      const elementKind = element ? unwrapSchema(element).kind : 'unknown';
      return elementKind === 'object' ? 'list' : `list of ${element ? describeType(element) : 'values'}s`;
    }
    case 'object':
      return 'section';
    case 'union':
      return unionOptions(inner).map(describeType).join(' | ');
    default:
      return kind;
  }
}

/** The type as an error message asks for it: `an integer 0, 1 or 2`, `"graceful" or "strict"`. */
export function expectedPhrase(schema: Schema): string {
  const { inner, kind } = unwrapSchema(schema);
  switch (kind) {
    case 'string':
      return hasMinLength(inner) ? 'a non-empty string' : 'a string';
    case 'boolean':
      return 'true or false';
    case 'number': {
      const r = numberRange(inner);
      const range = describeRange(r);
      return `${r.integer ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}`;
    }
    case 'enum':
    case 'literal':
      return orList(enumValues(inner).map((v) => JSON.stringify(v)));
    case 'array':
      return 'a list (lines starting with "- ")';
    case 'object':
      return 'a mapping (indented "key: value" lines)';
    case 'union':
      return unionOptions(inner).map(expectedPhrase).join(', or ');
    default:
      return `a ${kind}`;
  }
}

/** A short lower-case hint from a description, for "missing required key" messages. */
export function descriptionHint(schema: Schema): string | undefined {
  const text = unwrapSchema(schema).description;
  if (!text) return undefined;
  const plain = text.replace(/`/g, '').replace(/\.$/, '');
  return plain.charAt(0).toLowerCase() + plain.slice(1);
}
