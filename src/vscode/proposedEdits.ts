import * as vscode from 'vscode';

export const proposalScheme = 'harombe-proposal';

export type ProposalDecision = 'accept' | 'reject';

export interface Proposal {
  /** The file the change is for; it need not exist yet (generated tests). */
  target: vscode.Uri;
  /** What to replace; undefined for a new file. */
  range?: vscode.Range;
  /** The text the range held when the proposal was made, to notice edits made meanwhile. */
  originalText?: string;
  newText: string;
  /** The diff editor's title, e.g. `Refactor (tier 2, gpu-box)`. */
  title: string;
}

interface Pending {
  proposal: Proposal;
  uri: vscode.Uri;
  decide: (d: ProposalDecision) => void;
}

/**
 * Shows a model's change as a diff against a virtual document and applies it only when the user
 * accepts, as one WorkspaceEdit (one undo step). The decision comes from the notification's
 * buttons, the diff editor's title buttons, or the Accept/Reject commands, whichever is first.
 */
export class ProposedEdits implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly contents = new Map<string, string>();
  private pending: Pending | undefined;
  private counter = 0;
  private readonly disposables: vscode.Disposable[];
  /** Tests set this to decide without a person; undefined in real use. */
  autoDecide: ProposalDecision | undefined;

  constructor() {
    this.disposables = [
      vscode.workspace.registerTextDocumentContentProvider(proposalScheme, this),
      vscode.commands.registerCommand('harombe.acceptProposal', () => this.pending?.decide('accept')),
      vscode.commands.registerCommand('harombe.rejectProposal', () => this.pending?.decide('reject')),
    ];
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? '';
  }

  /** Opens the diff, waits for the decision, applies on accept. Resolves with what happened. */
  async propose(proposal: Proposal): Promise<ProposalDecision> {
    this.pending?.decide('reject');
    const id = ++this.counter;
    const name = proposal.target.path.split('/').pop() ?? 'proposal';
    const uri = vscode.Uri.from({ scheme: proposalScheme, path: `/${id}/${name}` });
    let left = proposal.target;
    let proposed: string;
    if (proposal.range) {
      const doc = await vscode.workspace.openTextDocument(proposal.target);
      proposed = doc.getText(new vscode.Range(doc.positionAt(0), proposal.range.start)) + proposal.newText + doc.getText(new vscode.Range(proposal.range.end, doc.positionAt(doc.getText().length)));
    } else {
      proposed = proposal.newText;
      // A new file has nothing to compare against but emptiness.
      left = vscode.Uri.from({ scheme: proposalScheme, path: `/${id}/empty/${name}` });
      this.contents.set(left.toString(), '');
    }
    this.contents.set(uri.toString(), proposed);

    const decision = new Promise<ProposalDecision>((resolve) => {
      this.pending = {
        proposal,
        uri,
        decide: (d) => {
          if (this.pending?.uri.toString() === uri.toString()) this.pending = undefined;
          resolve(d);
        },
      };
    });
    await vscode.commands.executeCommand('setContext', 'harombe.proposalPending', true);
    await vscode.commands.executeCommand('vscode.diff', left, uri, `${proposal.title} ↔ proposed`, { preview: true });
    if (this.autoDecide) this.pending?.decide(this.autoDecide);
    else {
      void vscode.window.showInformationMessage(`Harombe: ${proposal.title}. Apply the proposed change?`, 'Accept', 'Reject').then((c) => {
        if (c && this.pending?.uri.toString() === uri.toString()) this.pending.decide(c === 'Accept' ? 'accept' : 'reject');
      });
    }
    const d = await decision;
    await vscode.commands.executeCommand('setContext', 'harombe.proposalPending', this.pending !== undefined);
    await this.closeDiff(uri);
    this.contents.delete(uri.toString());
    this.contents.delete(left.toString());
    if (d === 'accept') await this.apply(proposal);
    return d;
  }

  private async apply(p: Proposal): Promise<void> {
    const edit = new vscode.WorkspaceEdit();
    if (p.range) {
      const doc = await vscode.workspace.openTextDocument(p.target);
      if (p.originalText !== undefined && doc.getText(p.range) !== p.originalText) {
        throw new Error('the code changed while the model was answering; run the action again');
      }
      edit.replace(p.target, p.range, p.newText);
    } else {
      edit.createFile(p.target, { ignoreIfExists: true });
      edit.insert(p.target, new vscode.Position(0, 0), p.newText);
    }
    if (!(await vscode.workspace.applyEdit(edit))) throw new Error(`cannot apply the change to ${vscode.workspace.asRelativePath(p.target)}`);
    const doc = await vscode.workspace.openTextDocument(p.target);
    await vscode.window.showTextDocument(doc, { preview: false, ...(p.range ? { selection: new vscode.Range(p.range.start, doc.positionAt(doc.offsetAt(p.range.start) + p.newText.length)) } : {}) });
  }

  private async closeDiff(uri: vscode.Uri): Promise<void> {
    const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputTextDiff && t.input.modified.toString() === uri.toString());
    if (tabs.length) await vscode.window.tabGroups.close(tabs);
  }

  dispose(): void {
    this.pending?.decide('reject');
    for (const d of this.disposables) d.dispose();
  }
}
