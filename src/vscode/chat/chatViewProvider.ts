import { nodeCan } from '../../core/nodes/capabilities';
import * as vscode from 'vscode';
import type { AgentEvent } from '../../core/agent/agentEvent';
import { AgentLoop } from '../../core/agent/agentLoop';
import type { Approver } from '../../core/agent/approver';
import { createAgentTools } from '../../core/agent/createAgentTools';
import { ToolRegistry } from '../../core/agent/toolRegistry';
import { Conversation } from '../../core/conversation';
import type { Coordinator } from '../../core/coordinator';
import type { Tier } from '../../core/routing/classification';
import { hostToWebview, webviewToHost, type HistoryEntry, type HostToWebview, type WebviewToHost } from '../../shared/protocol';
import { chatHtml } from './chatHtml';
import { ChatHistory } from './chatHistory';
import { VscodeApprover } from './vscodeApprover';
import { VscodeWorkspace } from './vscodeWorkspace';
import { contextNotices } from '../../core/routing/contextNotices';

export interface ChatViewDeps {
  coordinator: Coordinator;
  log: vscode.LogOutputChannel;
}

/** Attached context for a prompt, as the coordinator takes it. */
export interface ChatContext {
  label: string;
  text: string;
}

/**
 * What the integration tests reach through the `harombe.chat.testHooks` command (registered only
 * outside production mode): their bundle is not the extension's, so module state cannot be shared.
 */
export interface ChatTestHooks {
  setApprover(approver: Approver | undefined): void;
  setCoordinator(coordinator: Pick<Coordinator, 'complete' | 'nodes' | 'currentConfig'> | undefined): void;
  /** Feeds a message in as if the webview had posted it (it is validated the same way). */
  receive(message: unknown): Promise<void>;
  /** Every message the host posts to the webview. */
  onPost(listener: (message: HostToWebview) => void): vscode.Disposable;
  readonly resolved: boolean;
  /** Settles when the current turn ends. */
  idle(): Promise<void>;
}

const VIEW_ID = 'harombe.chat';
let current: ChatViewProvider | undefined;

/**
 * Registers the chat view, New Chat, and (outside production) the test hooks. Call once from
 * activate and push what it returns onto `context.subscriptions`.
 */
export function registerChatView(context: vscode.ExtensionContext, deps: ChatViewDeps): vscode.Disposable[] {
  const provider = new ChatViewProvider(context, deps);
  current = provider;
  const disposables: vscode.Disposable[] = [
    provider,
    vscode.window.registerWebviewViewProvider(VIEW_ID, provider, { webviewOptions: { retainContextWhenHidden: true } }),
    vscode.commands.registerCommand('harombe.newChat', () => provider.newChat()),
    { dispose: () => (current = current === provider ? undefined : current) },
  ];
  if (context.extensionMode !== vscode.ExtensionMode.Production) {
    disposables.push(vscode.commands.registerCommand('harombe.chat.testHooks', () => provider.testHooks()));
  }
  return disposables;
}

/**
 * Shows the chat and asks `prompt` there, with `context` attached (Explain Selection and the like).
 * Resolves when the answer is complete.
 */
export async function askInChat(prompt: string, context?: ChatContext, opts: { tier?: Tier | 'auto' } = {}): Promise<void> {
  if (!current) throw new Error('The Harombe chat view is not registered.');
  await current.reveal();
  await current.send(prompt, opts.tier ?? 'auto', context);
}

export class ChatViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private ready = false;
  private readonly pending: HostToWebview[] = [];
  private readonly history: ChatHistory;
  private readonly approver: VscodeApprover;
  private turn: { controller: AbortController; done: Promise<void> } | undefined;
  private readonly postListeners = new Set<(m: HostToWebview) => void>();
  private overrideApprover: Approver | undefined;
  private overrideCoordinator: Pick<Coordinator, 'complete' | 'nodes' | 'currentConfig'> | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly deps: ChatViewDeps,
  ) {
    this.history = new ChatHistory(context.workspaceState);
    this.approver = new VscodeApprover(() => new VscodeWorkspace().roots);
    const registryEvents = deps.coordinator.registry?.onDidChange?.(() => this.postSnapshot());
    if (registryEvents) this.disposables.push(registryEvents);
    this.disposables.push(vscode.workspace.onDidGrantWorkspaceTrust(() => this.postSnapshot()));
  }

  private get coordinator() {
    return this.overrideCoordinator ?? this.deps.coordinator;
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.ready = false;
    view.webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.context.extensionUri, 'dist'), vscode.Uri.joinPath(this.context.extensionUri, 'media')],
    };
    view.webview.html = chatHtml(view.webview, this.context.extensionUri);
    view.webview.onDidReceiveMessage((m: unknown) => this.receive(m), undefined, this.disposables);
    view.onDidDispose(() => {
      if (this.view === view) {
        this.view = undefined;
        this.ready = false;
      }
    }, undefined, this.disposables);
  }

  async reveal(): Promise<void> {
    if (this.view) this.view.show(true);
    else await vscode.commands.executeCommand(`${VIEW_ID}.focus`);
  }

  private async receive(raw: unknown): Promise<void> {
    const parsed = webviewToHost.safeParse(raw);
    if (!parsed.success) {
      this.deps.log.warn(`chat: dropped an invalid message from the webview: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      return;
    }
    const message: WebviewToHost = parsed.data;
    switch (message.type) {
      case 'ready':
        this.ready = true;
        this.postSnapshot();
        this.post({ type: 'chat/history', entries: this.history.entries });
        for (const m of this.pending.splice(0)) this.post(m);
        return;
      case 'chat/send':
        await this.send(message.text, message.tier, this.attachment(message.attach ?? null));
        return;
      case 'chat/stop':
        this.turn?.controller.abort();
        return;
      case 'chat/new':
        await this.newChat();
        return;
      case 'chat/insert':
        await this.insert(message.code);
        return;
      case 'chat/copy':
        await vscode.env.clipboard.writeText(message.code);
        return;
    }
  }

  private post(message: HostToWebview): void {
    for (const l of this.postListeners) l(message);
    // Checked on the way out too: a bug here must not send the webview something it cannot render.
    if (!hostToWebview.safeParse(message).success) {
      this.deps.log.error(`chat: refusing to post an invalid ${message.type} message`);
      return;
    }
    if (!this.view || !this.ready) {
      // Snapshot and history are sent fresh on ready; the rest waits, within reason, for a view that may never open.
      if (message.type !== 'cluster/snapshot' && message.type !== 'chat/history' && this.pending.length < 10_000) this.pending.push(message);
      return;
    }
    void this.view.webview.postMessage(message);
  }

  private postSnapshot(): void {
    const tools = this.toolsState();
    this.post({
      type: 'cluster/snapshot',
      nodes: this.coordinator.nodes().map((n) => ({ name: n.name, tier: n.tier, model: n.model, state: n.state, tools: nodeCan(n, 'tools') !== false })),
      toolsEnabled: tools.enabled,
      toolsReason: tools.reason,
    });
  }

  private toolsState(): { enabled: boolean; reason?: string } {
    const cfg = this.coordinator.currentConfig.tools;
    if (!vscode.workspace.isTrusted) return { enabled: false, reason: 'Tools are off: this workspace is not trusted (Restricted Mode). Trust it to let Harombe read files and run commands.' };
    if (new VscodeWorkspace().roots.length === 0) return { enabled: false, reason: 'Tools are off: no folder is open.' };
    if (!cfg.filesystem && !cfg.shell) return { enabled: false, reason: 'Tools are off in the config (tools.filesystem and tools.shell).' };
    return { enabled: true };
  }

  private attachment(kind: 'selection' | 'file' | null): ChatContext | undefined {
    if (!kind) return undefined;
    const editor = vscode.window.activeTextEditor ?? vscode.window.visibleTextEditors[0];
    if (!editor) {
      this.post({ type: 'chat/notice', message: 'Nothing attached: no editor is open.' });
      return undefined;
    }
    const name = vscode.workspace.asRelativePath(editor.document.uri);
    if (kind === 'selection' && !editor.selection.isEmpty) {
      const s = editor.selection;
      return { label: `Selection from ${name} (lines ${s.start.line + 1}-${s.end.line + 1})`, text: editor.document.getText(s) };
    }
    return { label: `File ${name}`, text: editor.document.getText().slice(0, 200_000) };
  }

  /** Runs one prompt through the agent loop and streams it to the webview; a running turn is stopped first. */
  async send(text: string, tier: Tier | 'auto', context?: ChatContext): Promise<void> {
    if (this.turn) {
      this.turn.controller.abort();
      await this.turn.done;
    }
    const controller = new AbortController();
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));
    this.turn = { controller, done };
    try {
      await this.runTurn(text, tier, context, controller.signal);
    } catch (err) {
      this.deps.log.error(err instanceof Error ? err : new Error(String(err)));
      this.post({ type: 'chat/error', message: `Harombe could not answer: ${err instanceof Error ? err.message : String(err)}`, cancelled: false });
    } finally {
      if (this.turn?.controller === controller) this.turn = undefined;
      finish();
    }
  }

  private async runTurn(text: string, tier: Tier | 'auto', context: ChatContext | undefined, signal: AbortSignal): Promise<void> {
    const config = this.coordinator.currentConfig;
    const toolsState = this.toolsState();
    let tools: ToolRegistry | undefined;
    if (toolsState.enabled) {
      tools = new ToolRegistry(createAgentTools({ workspace: new VscodeWorkspace(), approver: this.overrideApprover ?? this.approver, tools: config.tools }));
    } else if (toolsState.reason) {
      this.post({ type: 'chat/notice', message: toolsState.reason });
    }
    const conversation = new Conversation({ messages: this.history.messages.map((m) => ({ ...m })) });
    conversation.lastNode = this.history.lastNode;
    const userEntry: HistoryEntry = { role: 'user', text: context ? `${text}\n\n(${context.label} attached)` : text };
    this.history.entries.push(userEntry);
    this.post({ type: 'chat/user', text: userEntry.text });

    const answer: HistoryEntry = { role: 'assistant', text: '', toolSteps: [] };
    let segmentStart = 0;
    let label = '';
    let reason = '';
    const loop = new AgentLoop({ coordinator: this.coordinator, tools, maxSteps: config.agent.max_steps, systemPrompt: config.agent.system_prompt });
    for await (const event of loop.run({ conversation, prompt: text, context, tier, signal })) {
      this.forward(event, answer, {
        label: () => label,
        setRoute: (l, r) => ((label = l), (reason = r)),
        reason: () => reason,
        segment: () => segmentStart,
        setSegment: (n) => (segmentStart = n),
      });
      if (event.type === 'done') {
        answer.label = label;
        this.history.entries.push(answer);
        this.history.messages = conversation.messages;
        this.history.lastNode = conversation.lastNode;
        await this.history.save();
        return;
      }
      if (event.type === 'error') {
        // The prompt stays in the visible history with what was said about it; the model's history is unchanged.
        answer.text += `${answer.text ? '\n\n' : ''}_${event.code === 'cancelled' ? 'Stopped.' : event.message}_`;
        answer.label = label || undefined;
        this.history.entries.push(answer);
        await this.history.save();
        return;
      }
    }
  }

  private forward(
    event: AgentEvent,
    answer: HistoryEntry,
    s: { label(): string; setRoute(label: string, reason: string): void; reason(): string; segment(): number; setSegment(n: number): void },
  ): void {
    switch (event.type) {
      case 'route': {
        const reason = event.forced ? 'chosen tier' : (event.reasons[0] ?? 'auto');
        const label = `tier ${event.tier} · ${event.node} · ${reason}`;
        s.setRoute(label, reason);
        this.post({ type: 'chat/route', tier: event.tier, node: event.node, model: event.model, label, reasons: event.reasons });
        const omitted = contextNotices.omitted(event);
        if (omitted) this.post({ type: 'chat/notice', message: omitted });
        return;
      }
      case 'delta':
        answer.text += event.text;
        this.post({ type: 'chat/delta', text: event.text });
        return;
      case 'thinking':
        answer.thinking = (answer.thinking ?? '') + event.text;
        this.post({ type: 'chat/thinking', text: event.text });
        return;
      case 'fallback': {
        if (event.discardPartial) {
          answer.text = answer.text.slice(0, s.segment());
          answer.thinking = undefined;
        }
        const label = `tier ${event.tier} · ${event.to} · ${s.reason()}`;
        s.setRoute(label, s.reason());
        this.post({ type: 'chat/fallback', from: event.from, to: event.to, reason: event.reason, discardPartial: event.discardPartial, label });
        return;
      }
      case 'tool_step': {
        const steps = (answer.toolSteps ??= []);
        const i = steps.findIndex((t) => t.id === event.id);
        const step = { id: event.id, name: event.name, args: event.args, status: event.status, result: event.result };
        if (i >= 0) steps[i] = step;
        else steps.push(step);
        s.setSegment(answer.text.length);
        this.post({ type: 'chat/toolStep', ...step });
        return;
      }
      case 'notice':
        this.post({ type: 'chat/notice', message: event.message });
        return;
      case 'done': {
        if (event.timing.thinkingMs !== undefined) answer.thinkingMs = event.timing.thinkingMs;
        const truncated = contextNotices.truncated(event);
        if (truncated) {
          // Kept with the answer in the history too, so it is never read later as an answer to the whole prompt.
          answer.text += `\n\n_⚠ ${truncated}_`;
          this.post({ type: 'chat/delta', text: `\n\n_⚠ ${truncated}_` });
        }
        this.post({ type: 'chat/done', label: s.label(), ttftMs: event.timing.ttftMs, totalMs: event.timing.totalMs, thinkingMs: event.timing.thinkingMs });
        return;
      }
      case 'error':
        this.post({ type: 'chat/error', message: event.message, cancelled: event.code === 'cancelled' });
        return;
      case 'tool_calls':
        return;
    }
  }

  async newChat(): Promise<void> {
    this.turn?.controller.abort();
    await this.turn?.done;
    await this.history.clear();
    this.post({ type: 'chat/history', entries: [] });
  }

  private async insert(code: string): Promise<void> {
    const editor = vscode.window.activeTextEditor ?? vscode.window.visibleTextEditors[0];
    if (!editor) {
      void vscode.window.showInformationMessage('Open an editor to insert the code into.');
      return;
    }
    await editor.edit((b) => b.replace(editor.selection, code));
  }

  testHooks(): ChatTestHooks {
    const isResolved = () => this.view !== undefined;
    return {
      setApprover: (a) => (this.overrideApprover = a),
      setCoordinator: (c) => {
        this.overrideCoordinator = c;
        this.postSnapshot();
      },
      receive: (m) => this.receive(m),
      onPost: (listener) => {
        this.postListeners.add(listener);
        return new vscode.Disposable(() => this.postListeners.delete(listener));
      },
      get resolved() {
        return isResolved();
      },
      idle: async () => {
        await this.turn?.done;
      },
    };
  }

  dispose(): void {
    this.turn?.controller.abort();
    this.approver.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

