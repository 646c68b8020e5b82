import type { z } from 'zod';
import type { ConfigProblem } from './configError';
import { ignoredPythonSections } from './schema';
import { formatPath, type SourcedValue } from './sourcedValue';
import { childSchema, objectShape } from './zodIntrospection';

/**
 * Checks one file on its own, before merging, so each problem names the file it is in:
 * keys the schema does not know (warnings: a typo should not take the cluster down, but must not
 * pass silently either) and node names used twice in the same file (an error at the second one,
 * because merging by name would silently drop one of them).
 */
export function checkLayer(value: SourcedValue, schema: z.ZodType): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  findUnknownKeys(value, schema, problems, true);
  findDuplicateNodeNames(value, problems);
  return problems;
}

function findUnknownKeys(value: SourcedValue, schema: z.ZodType, problems: ConfigProblem[], topLevel: boolean): void {
  if (value.kind === 'seq') {
    value.items.forEach((item, i) => {
      const child = childSchema(schema, i);
      if (child) findUnknownKeys(item, child, problems, false);
    });
    return;
  }
  if (value.kind !== 'map') return;
  const shape = objectShape(schema);
  if (!shape) return;
  for (const [key, child] of value.entries) {
    const childSchemaForKey = shape[key];
    if (childSchemaForKey) {
      findUnknownKeys(child, childSchemaForKey, problems, false);
      continue;
    }
    if (topLevel && ignoredPythonSections.includes(key)) continue;
    const where = formatPath(child.origin.path);
    const guess = closest(key, Object.keys(shape));
    problems.push({
      file: child.origin.file,
      line: child.origin.keyLine,
      column: child.origin.keyColumn,
      path: where,
      message: `${where}: unknown key "${key}", ignored${guess ? ` (did you mean "${guess}"?)` : ''}`,
      severity: 'warning',
    });
  }
}

function findDuplicateNodeNames(root: SourcedValue, problems: ConfigProblem[]): void {
  const cluster = root.kind === 'map' ? root.entries.get('cluster') : undefined;
  const nodes = cluster?.kind === 'map' ? cluster.entries.get('nodes') : undefined;
  if (nodes?.kind !== 'seq') return;
  const seen = new Map<string, SourcedValue>();
  for (const node of nodes.items) {
    const name = node.kind === 'map' ? node.entries.get('name') : undefined;
    if (name?.kind !== 'scalar' || typeof name.value !== 'string') continue;
    const first = seen.get(name.value);
    if (first) {
      problems.push({
        file: name.origin.file,
        line: name.origin.line,
        column: name.origin.column,
        path: formatPath(name.origin.path),
        message: `${formatPath(name.origin.path)}: duplicate node name "${name.value}" (already used at line ${first.origin.line}); node names must be unique`,
        severity: 'error',
      });
    } else {
      seen.set(name.value, name);
    }
  }
}

/** The known key a typo most likely meant, if one is close enough to be worth suggesting. */
function closest(key: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined;
}

/** Edits (insert, delete, substitute, swap two neighbours) from a to b: swapped letters are the commonest typo. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? Infinity;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i] as number[];
    for (let j = 1; j <= b.length; j++) {
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      row[j] = best;
    }
  }
  return at(a.length, b.length);
}
