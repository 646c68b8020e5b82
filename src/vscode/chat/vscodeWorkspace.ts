import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { confinePath } from '../../core/agent/confinePath';
import type { SearchHit, Workspace } from '../../core/agent/workspace';
import { WorkspaceError } from '../../core/agent/workspaceError';

const MAX_FILE_BYTES = 1024 * 1024;
const EXCLUDE = '**/{.git,node_modules,dist,out,.vscode-test}/**';

/**
 * The agent's `Workspace` over the open folders. Reads and writes go through `vscode.workspace.fs`
 * (so they see what the editor sees); confinement uses the same real-path check as the CLI, which
 * needs the folders on the local disk: folders of other schemes are not offered to the agent.
 */
export class VscodeWorkspace implements Workspace {
  readonly roots: readonly string[];

  constructor(folders: readonly vscode.WorkspaceFolder[] = vscode.workspace.workspaceFolders ?? []) {
    this.roots = folders.filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
  }

  private async confine(p: string): Promise<vscode.Uri> {
    return vscode.Uri.file(await confinePath(this.roots, p, (x) => fs.realpath(x)));
  }

  private relative(uri: vscode.Uri): string {
    return path.relative(this.roots[0] as string, uri.fsPath).split(path.sep).join('/');
  }

  async readFile(p: string): Promise<string | undefined> {
    const uri = await this.confine(p);
    let stat: vscode.FileStat;
    try {
      stat = await vscode.workspace.fs.stat(uri);
    } catch (err) {
      if (err instanceof vscode.FileSystemError && err.code === 'FileNotFound') return undefined;
      throw err;
    }
    if (stat.type & vscode.FileType.Directory) throw new WorkspaceError('not_a_file', `${p} is a folder.`);
    if (stat.size > MAX_FILE_BYTES) throw new WorkspaceError('too_large', `${p} is larger than 1 MiB.`);
    // An open, unsaved document is what the user sees: prefer it over the disk.
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (open) return open.getText();
    return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
  }

  async writeFile(p: string, content: string): Promise<void> {
    const uri = await this.confine(p);
    await vscode.workspace.fs.createDirectory(vscode.Uri.file(path.dirname(uri.fsPath)));
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(content));
  }

  async listFiles(p: string, opts: { recursive?: boolean; limit?: number } = {}): Promise<string[]> {
    const uri = await this.confine(p);
    const limit = opts.limit ?? 500;
    if (opts.recursive) {
      const found = await vscode.workspace.findFiles(new vscode.RelativePattern(uri, '**/*'), EXCLUDE, limit);
      return found.map((u) => this.relative(u)).sort();
    }
    let entries: [string, vscode.FileType][];
    try {
      entries = await vscode.workspace.fs.readDirectory(uri);
    } catch {
      throw new WorkspaceError('not_found', `${p} does not exist or is not a folder.`);
    }
    return entries
      .sort(([a], [b]) => a.localeCompare(b))
      .slice(0, limit)
      .map(([name, type]) => {
        const rel = this.relative(vscode.Uri.joinPath(uri, name));
        return type & vscode.FileType.Directory && !(type & vscode.FileType.SymbolicLink) ? `${rel}/` : rel;
      });
  }

  async searchFiles(query: string, opts: { path?: string; limit?: number } = {}): Promise<SearchHit[]> {
    if (!query) throw new WorkspaceError('invalid', 'The search query is empty.');
    const base = await this.confine(opts.path ?? '.');
    const limit = opts.limit ?? 100;
    const needle = query.toLowerCase();
    const hits: SearchHit[] = [];
    for (const uri of await vscode.workspace.findFiles(new vscode.RelativePattern(base, '**/*'), EXCLUDE, 5000)) {
      // findFiles follows symlinks; re-check each file so a link cannot lead the search outside.
      const real = await fs.realpath(uri.fsPath).catch(() => undefined);
      if (!real || !(await confinePath(this.roots, real, (x) => fs.realpath(x)).then(() => true, () => false))) continue;
      const stat = await fs.stat(real).catch(() => undefined);
      if (!stat?.isFile() || stat.size > MAX_FILE_BYTES) continue;
      const buf = await fs.readFile(real);
      if (buf.includes(0)) continue;
      const lines = buf.toString('utf8').split('\n');
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i] as string;
        if (line.toLowerCase().includes(needle)) {
          hits.push({ path: this.relative(uri), line: i + 1, text: line.slice(0, 200) });
          if (hits.length >= limit) return hits;
        }
      }
    }
    return hits;
  }

  async resolveDirectory(p: string): Promise<string> {
    const uri = await this.confine(p);
    const stat = await fs.stat(uri.fsPath).catch(() => undefined);
    if (!stat) throw new WorkspaceError('not_found', `${p} does not exist.`);
    if (!stat.isDirectory()) throw new WorkspaceError('invalid', `${p} is not a folder.`);
    return uri.fsPath;
  }
}
