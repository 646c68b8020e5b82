import type { z } from 'zod';
import { harombeConfigSchema } from './schema';
import { describeType, objectShape, unwrapSchema } from './zodIntrospection';

export interface ConfigKeyRow {
  /** `cluster.nodes[].port`: `[]` stands for every entry of a list. */
  path: string;
  /** `integer 1–65535`, `graceful | strict`, `boolean` … */
  type: string;
  /** The default as YAML would spell it; empty when there is none. */
  default: string;
  /** Must be set whenever its parent is (a node's `name`, `host`, `model`, `tier`). */
  required: boolean;
  description: string;
}

/**
 * Every key of `harombe.yaml` with its type, default and meaning, read from the zod schema so the
 * documentation cannot drift from what the loader accepts. Sections are not rows of their own;
 * lists are, and their entries' keys follow as `list[].key`.
 */
export function describeSchema(schema: z.ZodType = harombeConfigSchema): ConfigKeyRow[] {
  const rows: ConfigKeyRow[] = [];
  walk(schema, '', rows);
  return rows;
}

function walk(schema: z.ZodType, path: string, rows: ConfigKeyRow[]): void {
  const shape = objectShape(schema);
  if (!shape) return;
  for (const [key, child] of Object.entries(shape)) {
    const childPath = path ? `${path}.${key}` : key;
    const info = unwrapSchema(child);
    if (info.kind === 'object') {
      walk(child, childPath, rows);
      continue;
    }
    rows.push({
      path: childPath,
      type: describeType(child),
      default: info.hasDefault ? formatDefault(info.defaultValue) : '',
      required: !info.hasDefault && !info.optional,
      description: info.description ?? '',
    });
    if (info.kind === 'array') {
      const element = (info.inner as unknown as { def: { element?: z.ZodType } }).def.element;
      if (element) walk(element, `${childPath}[]`, rows);
    }
  }
}

function formatDefault(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value) ?? '';
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function code(text: string): string {
  return text ? `\`${text}\`` : '';
}

/** The reference as a markdown table, the block `harombe config reference` prints and README.md embeds. */
export function renderConfigReference(schema: z.ZodType = harombeConfigSchema): string {
  const lines = ['| Key | Type | Default | Description |', '| --- | --- | --- | --- |'];
  for (const row of describeSchema(schema)) {
    const def = row.required ? '*required*' : code(row.default);
    lines.push(`| ${cell(code(row.path))} | ${cell(row.type)} | ${cell(def)} | ${cell(row.description)} |`);
  }
  return lines.join('\n');
}

export const configReferenceStart = '<!-- config-reference:start -->';
export const configReferenceEnd = '<!-- config-reference:end -->';

/** The reference block currently between the markers of a markdown text, or undefined without markers. */
export function extractConfigReference(markdown: string): string | undefined {
  const start = markdown.indexOf(configReferenceStart);
  const end = markdown.indexOf(configReferenceEnd);
  if (start < 0 || end < start) return undefined;
  return markdown.slice(start + configReferenceStart.length, end).trim();
}

/** The markdown with the block between the markers replaced by the current reference (unchanged without markers). */
export function spliceConfigReference(markdown: string, reference: string = renderConfigReference()): string {
  const start = markdown.indexOf(configReferenceStart);
  const end = markdown.indexOf(configReferenceEnd);
  if (start < 0 || end < start) return markdown;
  return `${markdown.slice(0, start + configReferenceStart.length)}\n${reference}\n${markdown.slice(end)}`;
}
