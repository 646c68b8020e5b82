import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { confinePath } from './confinePath';
import type { SearchHit, Workspace } from './workspace';
import { WorkspaceError } from './workspaceError';

const SKIP_DIRS = new Set(['.git', 'node_modules', '.vscode-test', 'dist', 'out']);
/** Files bigger than this are not read whole into the model's context nor searched. */
const MAX_FILE_BYTES = 1024 * 1024;

/** A `Workspace` over Node's fs: the unit tests and the CLI use it. */
export class NodeWorkspace implements Workspace {
  readonly roots: readonly string[];

  constructor(roots: readonly string[]) {
    this.roots = roots.map((r) => path.resolve(r));
  }

  private confine(p: string): Promise<string> {
    return confinePath(this.roots, p, (x) => fs.realpath(x));
  }

  private relative(abs: string): string {
    return path.relative(this.roots[0] as string, abs).split(path.sep).join('/');
  }

  async readFile(p: string): Promise<string | undefined> {
    const abs = await this.confine(p);
    let stat;
    try {
      stat = await fs.stat(abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    if (!stat.isFile()) throw new WorkspaceError('not_a_file', `${p} is not a file.`);
    if (stat.size > MAX_FILE_BYTES) throw new WorkspaceError('too_large', `${p} is larger than 1 MiB.`);
    return fs.readFile(abs, 'utf8');
  }

  async writeFile(p: string, content: string): Promise<void> {
    const abs = await this.confine(p);
    await fs.mkdir(path.dirname(abs), { recursive: true });
    await fs.writeFile(abs, content, 'utf8');
  }

  async listFiles(p: string, opts: { recursive?: boolean; limit?: number } = {}): Promise<string[]> {
    const abs = await this.confine(p);
    const limit = opts.limit ?? 500;
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new WorkspaceError('not_found', `${p} does not exist.`);
        throw err;
      }
      entries.sort((a, b) => a.name.localeCompare(b.name));
      for (const e of entries) {
        if (out.length >= limit) return;
        const full = path.join(dir, e.name);
        // Symlinks are listed but never followed, so a walk cannot leave the workspace.
        if (e.isDirectory()) {
          if (SKIP_DIRS.has(e.name)) continue;
          out.push(`${this.relative(full)}/`);
          if (opts.recursive) await walk(full);
        } else {
          out.push(this.relative(full));
        }
      }
    };
    await walk(abs);
    return out;
  }

  async searchFiles(query: string, opts: { path?: string; limit?: number } = {}): Promise<SearchHit[]> {
    if (!query) throw new WorkspaceError('invalid', 'The search query is empty.');
    const needle = query.toLowerCase();
    const limit = opts.limit ?? 100;
    const files = (await this.listFiles(opts.path ?? '.', { recursive: true, limit: 5000 })).filter((f) => !f.endsWith('/'));
    const hits: SearchHit[] = [];
    for (const rel of files) {
      const abs = path.join(this.roots[0] as string, rel);
      const stat = await fs.lstat(abs).catch(() => undefined);
      if (!stat?.isFile() || stat.size > MAX_FILE_BYTES) continue;
      const buf = await fs.readFile(abs);
      if (buf.includes(0)) continue; // binary
      const lines = buf.toString('utf8').split('\n');
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i] as string;
        if (line.toLowerCase().includes(needle)) {
          hits.push({ path: rel, line: i + 1, text: line.slice(0, 200) });
          if (hits.length >= limit) return hits;
        }
      }
    }
    return hits;
  }

  async resolveDirectory(p: string): Promise<string> {
    const abs = await this.confine(p);
    const stat = await fs.stat(abs).catch(() => undefined);
    if (!stat) throw new WorkspaceError('not_found', `${p} does not exist.`);
    if (!stat.isDirectory()) throw new WorkspaceError('invalid', `${p} is not a folder.`);
    return abs;
  }
}
