import * as path from 'node:path';
import { WorkspaceError } from './workspaceError';

/** Resolves a path to its real location, following symlinks; rejects with ENOENT when it does not exist. */
export type RealPath = (p: string) => Promise<string>;

/**
 * Turns a path the model gave into an absolute path inside one of `roots`, or throws a
 * `WorkspaceError`. Two checks, because each misses what the other catches: the lexical one stops
 * `..` and foreign absolute paths before touching the disk; the real-path one stops symlinks (in
 * the path or any existing ancestor of a file still to be created) that lead out of the roots.
 */
export async function confinePath(roots: readonly string[], requested: string, realpath: RealPath): Promise<string> {
  if (roots.length === 0) throw new WorkspaceError('outside', 'There is no workspace folder open.');
  if (typeof requested !== 'string' || requested.includes('\0')) throw new WorkspaceError('invalid', 'The path contains a NUL byte.');
  const first = roots[0] as string;
  const absolute = path.resolve(first, requested === '' ? '.' : requested);
  if (!roots.some((r) => isInside(path.resolve(r), absolute))) {
    throw new WorkspaceError('outside', `${requested} is outside the workspace; use a path relative to ${first}.`);
  }
  const realRoots = await Promise.all(roots.map((r) => realpath(r).catch(() => path.resolve(r))));
  // Walk up to the nearest ancestor that exists: for a new file that is its folder.
  let probe = absolute;
  let rest = '';
  for (;;) {
    try {
      const real = await realpath(probe);
      const full = rest ? path.join(real, rest) : real;
      if (!realRoots.some((r) => isInside(r, full))) {
        throw new WorkspaceError('outside', `${requested} leads outside the workspace through a symbolic link.`);
      }
      return full;
    } catch (err) {
      if (err instanceof WorkspaceError) throw err;
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      const parent = path.dirname(probe);
      if (parent === probe) throw new WorkspaceError('outside', `${requested} is outside the workspace.`);
      rest = rest ? path.join(path.basename(probe), rest) : path.basename(probe);
      probe = parent;
    }
  }
}

function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
