import * as vscode from 'vscode';
import type { Coordinator } from '../../core/coordinator';
import type { ChatMessage, ToolDefinition } from '../../core/inference/types';
import type {
  LanguageModelChatProvider,
  LanguageModelChatRequestMessage,
  LanguageModelResponsePart,
  ProvideLanguageModelChatResponseOptions,
  RegisterLanguageModelChatProvider,
} from './lmApi';
import { harombeModelList, harombeVendor, type HarombeModel } from './harombeModelList';
import { ReplayGuard } from './replayGuard';

function textOf(parts: readonly unknown[]): string {
  return parts
    .map((part) => (part instanceof vscode.LanguageModelTextPart ? part.value : ''))
    .join('');
}

/** VS Code's messages to the coordinator's: text, tool calls and tool results; other parts (images, data) are dropped. */
function toChatMessages(messages: readonly LanguageModelChatRequestMessage[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const message of messages) {
    const role = message.role === vscode.LanguageModelChatMessageRole.Assistant ? 'assistant' : message.role === vscode.LanguageModelChatMessageRole.User ? 'user' : 'system';
    const calls = message.content.filter((p): p is vscode.LanguageModelToolCallPart => p instanceof vscode.LanguageModelToolCallPart);
    const results = message.content.filter((p): p is vscode.LanguageModelToolResultPart => p instanceof vscode.LanguageModelToolResultPart);
    for (const result of results) {
      out.push({ role: 'tool', tool_call_id: result.callId, content: textOf(result.content) });
    }
    const text = textOf(message.content);
    if (text !== '' || calls.length > 0) {
      out.push({
        role,
        content: text,
        ...(calls.length > 0 ? { tool_calls: calls.map((c) => ({ id: c.callId, name: c.name, arguments: c.input as Record<string, unknown> })) } : {}),
      });
    }
  }
  return out;
}

class HarombeChatModelProvider implements LanguageModelChatProvider<HarombeModel> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeLanguageModelChatInformation = this.changed.event;

  constructor(
    private readonly coordinator: Coordinator,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /**
   * Registering a provider does not make VS Code ask it for its models: the workbench resolves a
   * vendor only when someone selects models or the provider says they changed. Until then the chat
   * view's model picker is empty, a request carries no model, and VS Code 1.139 fails every chat
   * participant (ours too) with "Language model unavailable" before the participant runs, because its
   * fallback is Copilot's default model (extHostChatAgents2 getModelForRequest). Saying "changed" once
   * at registration gets the models listed, and one picked, as soon as Harombe is active.
   */
  announce(): void {
    this.changed.fire();
  }

  dispose(): void {
    this.changed.dispose();
  }

  provideLanguageModelChatInformation(): HarombeModel[] {
    return [...harombeModelList];
  }

  async provideLanguageModelChatResponse(
    model: HarombeModel,
    messages: readonly LanguageModelChatRequestMessage[],
    options: ProvideLanguageModelChatResponseOptions,
    progress: vscode.Progress<LanguageModelResponsePart>,
    token: vscode.CancellationToken,
  ): Promise<void> {
    const controller = new AbortController();
    const cancel = token.onCancellationRequested(() => controller.abort());
    const guard = new ReplayGuard();
    const tools: ToolDefinition[] | undefined = options.tools?.map((t) => ({ name: t.name, description: t.description, parameters: (t.inputSchema ?? { type: 'object', properties: {} }) as Record<string, unknown> }));
    try {
      for await (const event of this.coordinator.complete({
        messages: toChatMessages(messages),
        tier: model.tier,
        signal: controller.signal,
        ...(tools && tools.length > 0 ? { tools } : {}),
      })) {
        switch (event.type) {
          case 'route':
            this.log.info(`lm ${model.id}: tier ${event.tier} · ${event.node} · ${event.reasons[0] ?? event.nodeReason}`);
            break;
          case 'delta': {
            const text = guard.accept(event.text);
            if (text !== '') progress.report(new vscode.LanguageModelTextPart(text));
            break;
          }
          case 'tool_calls':
            for (const call of event.calls) progress.report(new vscode.LanguageModelToolCallPart(call.id, call.name, call.arguments));
            break;
          case 'fallback':
            this.log.warn(`lm ${model.id}: ${event.from} → ${event.to}: ${event.reason}`);
            if (event.discardPartial) guard.restart();
            break;
          case 'error':
            if (event.code === 'cancelled') return;
            throw new Error(`Harombe: ${event.message}`);
          case 'done':
            break;
        }
      }
    } finally {
      cancel.dispose();
    }
  }

  provideTokenCount(_model: HarombeModel, text: string | LanguageModelChatRequestMessage): Promise<number> {
    // The nodes run different tokenizers; four characters a token is the usual estimate.
    const chars = typeof text === 'string' ? text.length : textOf(text.content).length;
    return Promise.resolve(Math.ceil(chars / 4));
  }
}

/** Offers the cluster as four models in VS Code's model picker and `vscode.lm`. */
export function registerHarombeChatModels(register: RegisterLanguageModelChatProvider, coordinator: Coordinator, log: vscode.LogOutputChannel): vscode.Disposable {
  const provider = new HarombeChatModelProvider(coordinator, log);
  const registration = register(harombeVendor, provider);
  provider.announce();
  return vscode.Disposable.from(registration, provider);
}
