import { isAlias, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Node as YamlNode, Pair, Scalar } from 'yaml';
import type { ConfigProblem } from './configError';
import { formatPath, type Origin, type PathStep, type SourcedValue } from './sourcedValue';

/** Keys whose values are secrets: their values never appear in messages. */
export const secretKeys: ReadonlySet<string> = new Set(['auth', 'auth_token']);

export interface YamlLayer {
  /** Undefined for an empty file (or one holding only comments), which means "nothing set here". */
  value?: SourcedValue;
  problems: ConfigProblem[];
}

const ENV_REF = /\$\{env:([^}]*)\}/g;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// `${HOME}` is how shells and Docker Compose spell it; we only replace `${env:HOME}`, so say so.
const LOOKS_LIKE_VAR = /\$\{(?!env:)([A-Za-z_][A-Za-z0-9_]*)\}/;
// Anchors can nest and repeat; a document that expands beyond these is an attack or a mistake
// (a workspace file comes with whatever repository the user opened).
const MAX_DEPTH = 64;
const MAX_ALIASES = 1000;

/**
 * Reads one YAML file into a value tagged with positions, replacing `${env:NAME}` in string
 * values. Syntax errors, unset variables and a non-mapping top level are reported with their
 * line and column; nothing is validated against the schema here.
 */
export function readYamlLayer(file: string, text: string, env: Readonly<Record<string, string | undefined>>): YamlLayer {
  // prettyErrors off: its messages embed a source excerpt; we want one line and compute the position ourselves.
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const problems: ConfigProblem[] = [];
  // Positions come from the text itself: yaml's LineCounter misses line starts inside an unclosed
  // flow collection, which put later errors past the end of their line.
  const at = positionsOf(text);

  for (const e of doc.errors) problems.push({ file, ...at(e.pos[0]), message: `YAML syntax error: ${e.message}`, severity: 'error' });
  for (const w of doc.warnings) problems.push({ file, ...at(w.pos[0]), message: `YAML: ${w.message}`, severity: 'warning' });
  if (doc.errors.length > 0) return { problems };
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return { problems };

  const reader = new LayerReader(file, text, env, doc, at, problems);
  const value = reader.read(doc.contents, [], undefined, 0);
  if (value && value.kind !== 'map') {
    problems.push({ ...pos(file, value.origin), message: 'expected a mapping at the top level (sections such as `cluster:`, `model:`, `tools:`)', severity: 'error' });
  }
  return { value, problems };
}

function pos(file: string, origin: Origin): Pick<ConfigProblem, 'file' | 'line' | 'column'> {
  return { file, line: origin.line, column: origin.column };
}

class LayerReader {
  private aliases = 0;

  constructor(
    private readonly file: string,
    private readonly text: string,
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly doc: Document.Parsed,
    private readonly at: (offset: number) => { line: number; column: number },
    private readonly problems: ConfigProblem[],
  ) {}

  read(node: unknown, path: PathStep[], keyNode: unknown, depth: number): SourcedValue | undefined {
    if (depth > MAX_DEPTH) {
      this.problems.push({ file: this.file, ...this.positionOf(node, keyNode), message: `${formatPath(path)}: nested too deeply (more than ${MAX_DEPTH} levels)`, severity: 'error' });
      return undefined;
    }
    if (isAlias(node)) {
      if (++this.aliases > MAX_ALIASES) {
        if (this.aliases === MAX_ALIASES + 1) {
          this.problems.push({ file: this.file, ...this.positionOf(node, keyNode), message: `${formatPath(path)}: too many alias expansions (more than ${MAX_ALIASES})`, severity: 'error' });
        }
        return undefined;
      }
      const target = node.resolve(this.doc);
      return target ? this.read(target, path, keyNode ?? node, depth + 1) : undefined;
    }
    const origin = this.origin(node, keyNode, path);
    if (isMap(node)) {
      const entries = new Map<string, SourcedValue>();
      const merges: unknown[] = [];
      for (const pair of node.items as Pair[]) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        // `<<: *defaults` (YAML merge key): explicit keys win, whatever their order.
        if (key === '<<') {
          merges.push(pair.value);
          continue;
        }
        const child = this.readEntry(pair, [...path, key], depth);
        if (child) entries.set(key, child);
      }
      for (const m of merges) this.applyMerge(m, entries, path, depth);
      return { kind: 'map', origin, entries };
    }
    if (isSeq(node)) {
      const items: SourcedValue[] = [];
      node.items.forEach((item, i) => {
        const child = this.read(item, [...path, i], undefined, depth + 1);
        if (child) items.push(child);
      });
      return { kind: 'seq', origin, items };
    }
    if (isScalar(node)) {
      if (typeof node.value === 'string') return this.interpolate(node, node.value, origin, path);
      return { kind: 'scalar', origin, value: node.value };
    }
    return { kind: 'scalar', origin, value: null };
  }

  private readEntry(pair: Pair, path: PathStep[], depth: number): SourcedValue | undefined {
    if (pair.value === null || pair.value === undefined) {
      // `key:` with nothing after it: yaml may give no value node at all.
      return { kind: 'scalar', origin: this.origin(pair.key, pair.key, path), value: null };
    }
    return this.read(pair.value, path, pair.key, depth + 1);
  }

  private applyMerge(source: unknown, entries: Map<string, SourcedValue>, path: PathStep[], depth: number): void {
    if (isAlias(source) && ++this.aliases > MAX_ALIASES) {
      // A merge key resolves its alias here, not through read(): count it too, or an anchor that
      // merges itself expands exponentially and takes the process down.
      if (this.aliases === MAX_ALIASES + 1) {
        this.problems.push({ file: this.file, ...this.positionOf(source, undefined), message: `${formatPath(path) || 'top level'}: too many alias expansions (more than ${MAX_ALIASES})`, severity: 'error' });
      }
      return;
    }
    const resolved = isAlias(source) ? source.resolve(this.doc) : source;
    if (isSeq(resolved)) {
      for (const item of resolved.items) this.applyMerge(item, entries, path, depth + 1);
      return;
    }
    const merged = this.read(resolved, path, source, depth + 1);
    if (merged?.kind !== 'map') {
      this.problems.push({ file: this.file, ...this.positionOf(source, undefined), message: `${formatPath(path) || 'top level'}: "<<" must merge a mapping (e.g. <<: *defaults)`, severity: 'error' });
      return;
    }
    for (const [k, v] of merged.entries) if (!entries.has(k)) entries.set(k, v);
  }

  private interpolate(node: Scalar, raw: string, origin: Origin, path: PathStep[]): SourcedValue {
    const secret = secretKeys.has(String(path[path.length - 1]));
    const where = formatPath(path);
    let whole = false;
    let unresolved = false;
    const replaced = raw.replace(ENV_REF, (match, name: string) => {
      whole = match === raw;
      const place = this.placeInScalar(node, match, origin);
      if (!ENV_NAME.test(name)) {
        this.problems.push({ file: this.file, ...place, path: where, message: `${where}: "${match}" is not a valid variable reference (expected \${env:NAME}, NAME made of letters, digits and _)`, severity: 'error' });
        unresolved = true;
        return match;
      }
      const value = this.env[name];
      if (value === undefined || value === '') {
        const why = secret ? '; a node that expects a token would refuse every request, so Harombe will not load the config without it' : '';
        this.problems.push({
          file: this.file,
          ...place,
          path: where,
          message: `${where}: environment variable ${name} is ${value === undefined ? 'not set' : 'empty'} (referenced as \${env:${name}})${why}`,
          severity: 'error',
        });
        unresolved = true;
        return match;
      }
      return value;
    });
    const bare = LOOKS_LIKE_VAR.exec(raw);
    if (bare) {
      this.problems.push({ file: this.file, ...this.placeInScalar(node, bare[0], origin), path: where, message: `${where}: "${bare[0]}" is kept as written; write \${env:${bare[1]}} to use the environment variable`, severity: 'warning' });
    }
    const bareBoolean = node.type === 'PLAIN' && /^(yes|no|on|off)$/i.test(raw);
    return { kind: 'scalar', origin, value: replaced, ...(whole || bareBoolean ? { loose: true } : {}), ...(unresolved ? { unresolved: true } : {}) };
  }

  /** The exact position of `needle` inside a scalar's source, so the caret lands on the `${`. */
  private placeInScalar(node: YamlNode, needle: string, origin: Origin): { line: number; column: number } {
    if (node.range) {
      const index = this.text.slice(node.range[0], node.range[1]).indexOf(needle);
      if (index >= 0) return this.at(node.range[0] + index);
    }
    return { line: origin.line, column: origin.column };
  }

  private origin(node: unknown, keyNode: unknown, path: PathStep[]): Origin {
    const value = this.positionOf(node, keyNode);
    const key = keyNode ? this.positionOf(keyNode, undefined) : value;
    return { file: this.file, path, line: value.line, column: value.column, keyLine: key.line, keyColumn: key.column };
  }

  private positionOf(node: unknown, fallback: unknown): { line: number; column: number } {
    const range = (node as YamlNode | null | undefined)?.range ?? (fallback as YamlNode | null | undefined)?.range;
    return range ? this.at(range[0]) : { line: 1, column: 1 };
  }
}

/** 1-based line and column of an offset, counting `\n`, `\r\n` and a lone `\r` as line ends. */
function positionsOf(text: string): (offset: number) => { line: number; column: number } {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) starts.push(i + 1);
  }
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - (starts[lo] as number) + 1 };
  };
}
