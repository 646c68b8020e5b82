import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Approver, CommandApproval } from '../../core/agent/approver';

const SCHEME = 'harombe-proposed';

/**
 * Asks in the editor: a proposed write opens as a diff (the current file against a read-only
 * virtual document holding the proposal) with a modal Allow / Deny; a command shows its exact text
 * and folder in a modal. Closing a modal counts as Deny.
 */
export class VscodeApprover implements Approver, vscode.Disposable {
  private readonly proposals = new Map<string, string>();
  private readonly registration: vscode.Disposable;
  private next = 0;

  constructor(private readonly roots: () => readonly string[]) {
    this.registration = vscode.workspace.registerTextDocumentContentProvider(SCHEME, {
      provideTextDocumentContent: (uri) => this.proposals.get(uri.query) ?? '',
    });
  }

  async approveEdit(request: { path: string; before: string | undefined; after: string }): Promise<boolean> {
    const root = this.roots()[0];
    const target = root && !path.isAbsolute(request.path) ? vscode.Uri.file(path.join(root, request.path)) : vscode.Uri.file(request.path);
    const key = String(this.next++);
    const emptyKey = `${key}-empty`;
    this.proposals.set(key, request.after);
    this.proposals.set(emptyKey, '');
    const name = path.basename(target.fsPath);
    const proposed = vscode.Uri.from({ scheme: SCHEME, path: `/${name}`, query: key });
    const left = request.before === undefined ? vscode.Uri.from({ scheme: SCHEME, path: `/${name}`, query: emptyKey }) : target;
    try {
      await vscode.commands.executeCommand('vscode.diff', left, proposed, `${request.path} ↔ Harombe's proposal`, { preview: true });
      const verb = request.before === undefined ? 'create' : 'change';
      const choice = await vscode.window.showWarningMessage(
        `Harombe wants to ${verb} ${request.path}.`,
        { modal: true, detail: 'The proposed content is open in a diff editor. Allow writes it to disk.' },
        'Allow',
        'Deny',
      );
      return choice === 'Allow';
    } finally {
      // The diff was only there to support the decision; leave the editor as it was.
      const diffs = vscode.window.tabGroups.all
        .flatMap((g) => g.tabs)
        .filter((t) => t.input instanceof vscode.TabInputTextDiff && t.input.modified.toString() === proposed.toString());
      await vscode.window.tabGroups.close(diffs).then(undefined, () => undefined);
      this.proposals.delete(key);
      this.proposals.delete(emptyKey);
    }
  }

  async approveCommand(request: { command: string; cwd: string }): Promise<CommandApproval> {
    const choice = await vscode.window.showWarningMessage(
      'Harombe wants to run a command.',
      { modal: true, detail: `Command: ${request.command}\nFolder: ${request.cwd}` },
      'Allow once',
      'Allow for this session',
      'Deny',
    );
    if (choice === 'Allow once') return 'once';
    if (choice === 'Allow for this session') return 'session';
    return 'deny';
  }

  dispose(): void {
    this.registration.dispose();
  }
}
