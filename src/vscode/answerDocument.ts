import * as vscode from 'vscode';

const scheme = 'harombe-answer';

/**
 * Read-only markdown documents that fill in as an answer streams (Explain, when the chat view is
 * not there to take it). Updates are throttled: a re-render per token would flicker.
 */
export class AnswerDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly _onDidChange = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this._onDidChange.event;
  private readonly texts = new Map<string, string>();
  private readonly registration = vscode.workspace.registerTextDocumentContentProvider(scheme, this);
  private counter = 0;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '';
  }

  /** Opens a new answer document beside the editor and returns a function that replaces its text. */
  async open(title: string, initial: string): Promise<{ uri: vscode.Uri; update: (text: string) => void; flush: () => void }> {
    const uri = vscode.Uri.from({ scheme, path: `/${++this.counter}/${title.replace(/[\\/]/g, '-')}.md` });
    this.texts.set(uri.toString(), initial);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.languages.setTextDocumentLanguage(doc, 'markdown');
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: true });
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      this._onDidChange.fire(uri);
    };
    return {
      uri,
      update: (text) => {
        this.texts.set(uri.toString(), text);
        timer ??= setTimeout(flush, 150);
      },
      flush,
    };
  }

  dispose(): void {
    this.registration.dispose();
    this._onDidChange.dispose();
  }
}
