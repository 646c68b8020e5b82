import { request } from 'node:http';
import * as vscode from 'vscode';
import type { Coordinator } from '../core/coordinator';
import { DEFAULT_GATEWAY_PORT, GatewayServer } from '../core/gateway/gatewayServer';

/** Where the gateway stands; `elsewhere`: another Harombe gateway (a second window, `harombe serve`) holds the port. */
export type GatewayState = 'off' | 'starting' | 'running' | 'elsewhere' | 'failed';

export interface GatewayStatus {
  state: GatewayState;
  /** The port from the settings (0: any free one). */
  port: number;
  /** The base URL while running, e.g. `http://127.0.0.1:11435`. */
  url?: string;
  /** Why it is not running (`failed`, `elsewhere`). */
  reason?: string;
}

interface GatewaySettings {
  enabled: boolean;
  port: number;
}

/** How often a window whose port is held by another Harombe gateway tries to take over. */
const TAKE_OVER_EVERY_MS = 30_000;
const HOST = '127.0.0.1';

/**
 * `harombe.gateway.enabled`: the window's coordinator served as one Ollama- and OpenAI-compatible
 * endpoint on 127.0.0.1 (the same server as `harombe serve`). Started at activation when enabled,
 * moved or stopped when the settings change, closed on dispose. Only chat goes through it (the
 * agent's tools never do). Settings changes are applied one at a time, in order.
 */
export class GatewayHost implements vscode.Disposable {
  private server: GatewayServer | undefined;
  private current: GatewaySettings | undefined;
  private _status: GatewayStatus = { state: 'off', port: DEFAULT_GATEWAY_PORT };
  private queue: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private disposed = false;
  private lastElsewherePort: number | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly _onDidChange = new vscode.EventEmitter<GatewayStatus>();
  readonly onDidChange = this._onDidChange.event;

  constructor(
    private readonly coordinator: Coordinator,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables.push(
      this._onDidChange,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('harombe.gateway')) void this.sync();
      }),
      // Workspace values of the settings count only once the workspace is trusted.
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.sync()),
    );
    void this.sync();
  }

  get status(): GatewayStatus {
    return this._status;
  }

  /** The base URL while the gateway runs in this window. */
  get url(): string | undefined {
    return this._status.url;
  }

  /** Applies the current settings; resolves once they (and every change queued before) are in effect. */
  sync(): Promise<void> {
    this.queue = this.queue.then(() => this.apply()).catch((err: unknown) => this.log.error(`gateway: ${errorMessage(err)}`));
    return this.queue;
  }

  /** Harombe: Copy Gateway URL. */
  async copyUrl(): Promise<void> {
    const url = this.url;
    if (url) {
      await vscode.env.clipboard.writeText(url);
      void vscode.window.showInformationMessage(`Copied ${url}. Ollama clients use it as it is; OpenAI clients use ${url}/v1 (any API key, model "harombe").`);
      return;
    }
    const { state, reason } = this._status;
    const why = state === 'off' ? 'The Harombe gateway is off.' : `The Harombe gateway is not running in this window: ${reason ?? state}.`;
    const choice = await vscode.window.showInformationMessage(why, ...(state === 'off' ? ['Enable'] : []), 'Open Settings');
    if (choice === 'Enable') await vscode.workspace.getConfiguration('harombe').update('gateway.enabled', true, vscode.ConfigurationTarget.Global);
    else if (choice === 'Open Settings') await openGatewaySettings();
  }

  dispose(): void {
    this.disposed = true;
    this.clearRetry();
    // close() ends every socket synchronously, so the port is free when this returns.
    void this.server?.close();
    this.server = undefined;
    for (const d of this.disposables.reverse()) d.dispose();
  }

  private async apply(): Promise<void> {
    const wanted = this.disposed ? { enabled: false, port: this._status.port } : readSettings();
    const running = this.server && this.current;
    if (running && wanted.enabled && wanted.port === running.port) return;
    this.clearRetry();
    if (this.server) {
      const url = this._status.url;
      await this.server.close();
      this.server = undefined;
      this.current = undefined;
      this.log.info(`gateway stopped${url ? ` (${url})` : ''}`);
    }
    if (!wanted.enabled) {
      this.setStatus({ state: 'off', port: wanted.port });
      return;
    }
    if (!Number.isInteger(wanted.port) || wanted.port < 0 || wanted.port > 65535) {
      this.fail(wanted.port, `harombe.gateway.port must be a whole number from 0 to 65535, not ${String(wanted.port)}`, `Harombe gateway: harombe.gateway.port must be a whole number from 0 to 65535 (0 picks a free port).`);
      return;
    }
    await this.start(wanted);
  }

  private async start(settings: GatewaySettings): Promise<void> {
    this.setStatus({ state: 'starting', port: settings.port });
    const server = new GatewayServer({ coordinator: this.coordinator, host: HOST, port: settings.port, logger: this.log });
    let url: string;
    try {
      url = await server.listen();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' && (await isHarombeGateway(settings.port))) {
        const reason = `port ${settings.port} is served by another Harombe gateway (another VS Code window or \`harombe serve\`)`;
        // Logged once, not on every retry.
        if (this.lastElsewherePort !== settings.port) this.log.info(`gateway not started: ${reason}; this window retries every ${TAKE_OVER_EVERY_MS / 1000} s and takes over when it is free`);
        this.lastElsewherePort = settings.port;
        this.setStatus({ state: 'elsewhere', port: settings.port, reason });
        this.retryTimer = setTimeout(() => void this.sync(), TAKE_OVER_EVERY_MS);
        this.retryTimer.unref?.();
        return;
      }
      const where = `${HOST}:${settings.port}`;
      if (code === 'EADDRINUSE') {
        this.fail(settings.port, `${where} is in use by another program`, `Harombe gateway: port ${settings.port} on ${HOST} is already in use by another program. Choose another port in harombe.gateway.port (0 picks a free one).`);
      } else if (code === 'EACCES') {
        this.fail(settings.port, `not allowed to listen on ${where}`, `Harombe gateway: not allowed to listen on port ${settings.port}. Choose a port above 1023 in harombe.gateway.port.`);
      } else {
        this.fail(settings.port, `cannot listen on ${where}: ${errorMessage(err)}`, `Harombe gateway: cannot listen on ${where}: ${errorMessage(err)}`);
      }
      return;
    }
    if (this.disposed) {
      // Disposed while it was starting (a settings change meanwhile is queued and applied next).
      await server.close();
      return;
    }
    this.server = server;
    this.current = settings;
    this.log.info(`gateway listening on ${url} (Ollama clients: ${url}, OpenAI clients: ${url}/v1, model "harombe")`);
    this.setStatus({ state: 'running', port: settings.port, url });
  }

  private fail(port: number, reason: string, message: string): void {
    this.log.warn(`gateway not started: ${reason}`);
    this.setStatus({ state: 'failed', port, reason });
    void vscode.window.showWarningMessage(message, 'Open Settings', 'Show Logs').then((choice) => {
      if (choice === 'Open Settings') void openGatewaySettings();
      else if (choice === 'Show Logs') this.log.show();
    });
  }

  private setStatus(status: GatewayStatus): void {
    if (status.state !== 'elsewhere' && status.state !== 'starting') this.lastElsewherePort = undefined;
    this._status = status;
    if (!this.disposed) this._onDidChange.fire(status);
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }
}

/**
 * The gateway's settings. In Restricted Mode only the user's own values count: a workspace must not
 * be able to open a port that serves the user's cluster.
 */
function readSettings(): GatewaySettings {
  const settings = vscode.workspace.getConfiguration('harombe.gateway');
  const value = <T>(key: string, fallback: T): T => {
    if (vscode.workspace.isTrusted) return settings.get<T>(key, fallback);
    const inspected = settings.inspect<T>(key);
    return inspected?.globalValue ?? inspected?.defaultValue ?? fallback;
  };
  return { enabled: value<unknown>('enabled', false) === true, port: Number(value<unknown>('port', DEFAULT_GATEWAY_PORT)) };
}

function openGatewaySettings(): Thenable<unknown> {
  return vscode.commands.executeCommand('workbench.action.openSettings', 'harombe.gateway');
}

/** Whether what holds the port answers `GET /` the way a Harombe gateway does. */
function isHarombeGateway(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: HOST, port, path: '/', method: 'GET', timeout: 1_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < 1_000) body += c;
      });
      res.on('end', () => resolve(res.statusCode === 200 && body.includes('Harombe gateway')));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
