import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { configTemplate } from './yamlNodes';

/**
 * Edits a config file through VS Code's documents rather than the disk, so an open editor with
 * unsaved changes is edited as the user sees it, and the change is one undo step there.
 */
export const configFileEditor = {
  /** Creates the file with the commented template when it does not exist yet. Returns true if it did. */
  ensure(file: string): boolean {
    if (existsSync(file)) return false;
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, configTemplate);
    return true;
  },

  async read(file: string): Promise<string> {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
    return doc.getText();
  },

  /** Replaces the file's text with `transform`'s result (skipped when it returns undefined) and saves. */
  async edit(file: string, transform: (text: string) => string | undefined): Promise<boolean> {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
    const next = transform(doc.getText());
    if (next === undefined || next === doc.getText()) return false;
    const edit = new vscode.WorkspaceEdit();
    edit.replace(doc.uri, new vscode.Range(0, 0, doc.lineCount, 0), next);
    if (!(await vscode.workspace.applyEdit(edit))) throw new Error(`cannot edit ${file}`);
    await doc.save();
    return true;
  },
};
