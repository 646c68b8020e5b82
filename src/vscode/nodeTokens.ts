import * as vscode from 'vscode';

const namesKey = 'harombe.nodeTokenNames';
const secretKey = (node: string) => `harombe.nodeToken.${node}`;

/**
 * Node bearer tokens in VS Code's SecretStorage (the OS keychain), never in settings or the YAML.
 * SecretStorage cannot list its keys, so the node names (not secrets) are kept in globalState.
 */
export class NodeTokens implements vscode.Disposable {
  private readonly _onDidChange = new vscode.EventEmitter<void>();
  readonly onDidChange = this._onDidChange.event;
  private cache = new Map<string, string>();
  private readonly subscription: vscode.Disposable;

  constructor(private readonly context: vscode.ExtensionContext) {
    // Another window of the same user may set a token; pick it up.
    this.subscription = context.secrets.onDidChange((e) => {
      if (e.key.startsWith('harombe.nodeToken.')) void this.load();
    });
  }

  /** The tokens by node name, as last loaded. */
  get all(): ReadonlyMap<string, string> {
    return this.cache;
  }

  async load(): Promise<void> {
    const names = this.context.globalState.get<string[]>(namesKey, []);
    const next = new Map<string, string>();
    for (const name of names) {
      const token = await this.context.secrets.get(secretKey(name));
      if (token) next.set(name, token);
    }
    const changed = next.size !== this.cache.size || [...next].some(([k, v]) => this.cache.get(k) !== v);
    this.cache = next;
    if (changed) this._onDidChange.fire();
  }

  async set(node: string, token: string | undefined): Promise<void> {
    const names = new Set(this.context.globalState.get<string[]>(namesKey, []));
    if (token) {
      await this.context.secrets.store(secretKey(node), token);
      names.add(node);
    } else {
      await this.context.secrets.delete(secretKey(node));
      names.delete(node);
    }
    await this.context.globalState.update(namesKey, [...names]);
    await this.load();
  }

  dispose(): void {
    this.subscription.dispose();
    this._onDidChange.dispose();
  }
}
