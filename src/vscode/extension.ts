import * as vscode from 'vscode';

/**
 * Activation stays short and linear: everything created here is pushed onto
 * `context.subscriptions`, so VS Code disposes of it on deactivation and there is nothing left for
 * `deactivate()` to do.
 */
export function activate(context: vscode.ExtensionContext): void {
  const started = performance.now();
  const log = vscode.window.createOutputChannel('Harombe', { log: true });
  context.subscriptions.push(log);
  try {
    context.subscriptions.push(vscode.commands.registerCommand('harombe.showLogs', () => log.show()));
    const version = (context.extension.packageJSON as { version?: string }).version ?? 'unknown';
    log.info(`Harombe ${version} activated in ${(performance.now() - started).toFixed(1)} ms`);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log.error(`Cannot activate Harombe: ${message}`);
    void vscode.window.showErrorMessage(`Cannot activate Harombe: ${message}`, 'Show Logs').then((choice) => {
      if (choice) log.show();
    });
    throw error;
  }
}

export function deactivate(): void {
  // Everything is disposed of through context.subscriptions.
}
