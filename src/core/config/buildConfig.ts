import type { z } from 'zod';
import { checkLayer } from './checkLayer';
import { ConfigError, type ConfigProblem } from './configError';
import { mergeLayers } from './mergeLayers';
import { readYamlLayer, secretKeys } from './readYamlLayer';
import { harombeConfigSchema, type HarombeConfig } from './schema';
import { formatPath, locate, sourcedFromPlain, toPlain, type PathStep, type SourcedValue } from './sourcedValue';
import { descriptionHint, expectedPhrase, schemaAt } from './zodIntrospection';

type DeepPartial<T> = T extends readonly (infer U)[] ? DeepPartial<U>[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** Values from outside the YAML files (VS Code settings): they fill in only what no file sets. */
export type ConfigOverrides = DeepPartial<NonNullable<z.input<typeof harombeConfigSchema>>>;

/** One YAML file's text. */
export interface ConfigSource {
  file: string;
  text: string;
}

export interface BuildConfigOptions {
  env: Readonly<Record<string, string | undefined>>;
  overrides?: ConfigOverrides;
  /** What problems in `overrides` name as their file; default `settings`. */
  overridesLabel?: string;
}

export interface LoadConfigResult {
  config: HarombeConfig;
  warnings: ConfigProblem[];
  /** The files that were read, lowest priority first. */
  files: string[];
}

/**
 * Turns YAML texts (lowest priority first) into a validated config, or throws a ConfigError with
 * every problem, each at its file, line and column. Pure: the VS Code layer can run it over unsaved
 * editor buffers to show diagnostics while the user types.
 */
export function buildConfig(sources: readonly ConfigSource[], opts: BuildConfigOptions): LoadConfigResult {
  const problems: ConfigProblem[] = [];
  const layers: (SourcedValue | undefined)[] = [];
  let unreadable = false;

  // Settings are the lowest layer: the product rule is that YAML wins wherever both set a key.
  layers.push(sourcedFromPlain(opts.overrides, opts.overridesLabel ?? 'settings'));
  for (const source of sources) {
    const layer = readYamlLayer(source.file, source.text, opts.env);
    problems.push(...layer.problems);
    if (layer.value?.kind === 'map') {
      problems.push(...checkLayer(layer.value, harombeConfigSchema));
      layers.push(layer.value);
    } else if (layer.problems.some((p) => p.severity === 'error')) {
      unreadable = true;
    }
  }
  const files = sources.map((s) => s.file);
  // Without a file's content, validating the rest would report keys "missing" that the broken file may well set.
  if (unreadable) throw new ConfigError(inReadingOrder(problems, files));

  const merged = mergeLayers(layers);
  const parsed = harombeConfigSchema.safeParse(merged ? toPlain(merged, harombeConfigSchema) : {});
  if (!parsed.success) {
    const seen = new Set<string>();
    for (const issue of parsed.error.issues) {
      const problem = issueToProblem(issue, merged);
      if (!problem) continue;
      const key = `${problem.file}:${problem.line}:${problem.column}:${problem.message}`;
      if (!seen.has(key)) {
        seen.add(key);
        problems.push(problem);
      }
    }
    throw new ConfigError(inReadingOrder(problems, files), { cause: parsed.error });
  }
  // Unset variables and duplicate names do not stop validation, so one run reports everything.
  if (problems.some((p) => p.severity === 'error')) throw new ConfigError(inReadingOrder(problems, files));
  return { config: parsed.data, warnings: inReadingOrder(problems, files), files };
}

function issueToProblem(issue: z.core.$ZodIssue, merged: SourcedValue | undefined): ConfigProblem | undefined {
  const path = issue.path.filter((s): s is PathStep => typeof s === 'string' || typeof s === 'number');
  if (!merged) {
    return { file: 'defaults', line: 0, column: 0, path: formatPath(path), message: `${formatPath(path)}: ${issue.message}`, severity: 'error' };
  }
  const { value, rest } = locate(merged, path);
  if (value.kind === 'scalar' && value.unresolved && rest.length === 0) return undefined;
  const origin = value.origin;
  const at = { file: origin.file, line: origin.line, column: origin.column, severity: 'error' as const };
  const here = formatPath(origin.path);
  const prefix = here ? `${here}: ` : '';

  if (rest.length > 0 && issue.code === 'invalid_type' && value.kind === 'map') {
    const key = String(rest[0]);
    const hint = descriptionHint(schemaAt(harombeConfigSchema, path.slice(0, path.length - rest.length + 1)) ?? harombeConfigSchema);
    return { ...at, path: formatPath([...origin.path, key]), message: `${prefix}missing required key "${key}"${hint ? ` (${hint})` : ''}` };
  }
  const schema = rest.length === 0 ? schemaAt(harombeConfigSchema, path) : undefined;
  // Refinements and anything we cannot describe from the schema keep zod's own words.
  if (!schema || issue.code === 'custom' || (value.kind === 'map' && issue.code !== 'invalid_type')) {
    return { ...at, path: here, message: `${prefix}${issue.message}` };
  }
  const secret = secretKeys.has(String(origin.path[origin.path.length - 1]));
  const emptyValue = value.kind === 'scalar' && value.value === null;
  const position = emptyValue ? { line: origin.keyLine, column: origin.keyColumn } : {};
  return { ...at, ...position, path: here, message: `${prefix}expected ${expectedPhrase(schema)}, got ${show(value, secret)}` };
}

/** The offending value as the user wrote it; secrets are described, never echoed. */
function show(value: SourcedValue, secret: boolean): string {
  if (value.kind === 'map') return 'a mapping';
  if (value.kind === 'seq') return 'a list';
  const v = value.value;
  if (v === null || v === undefined) return 'an empty value';
  if (secret) return `a ${typeof v}`;
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  return String(v);
}

/** File by file in load order, then top to bottom, the order a reader fixes them in. */
function inReadingOrder(problems: ConfigProblem[], files: string[]): ConfigProblem[] {
  const rank = (file: string): number => files.indexOf(file);
  return [...problems].sort((a, b) => rank(a.file) - rank(b.file) || a.line - b.line || a.column - b.column);
}
