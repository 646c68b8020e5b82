import * as vscode from 'vscode';
import type { Coordinator } from '../../core/coordinator';
import type { ChatMessage } from '../../core/inference/types';
import { ReplayGuard } from './replayGuard';

/** Table cells come from node names and models; keep them from breaking the table. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function statusTable(coordinator: Coordinator): string {
  const nodes = coordinator.nodes();
  if (nodes.length === 0) return 'No nodes configured. Add some to `.harombe/harombe.yaml`.';
  const rows = nodes.map(
    (n) => `| ${cell(n.name)} | ${n.tier} | ${cell(n.model)} | ${n.state} | ${n.latencyMs === undefined ? '—' : `${Math.round(n.latencyMs)} ms`} | ${n.breaker.state} |`,
  );
  return ['| Node | Tier | Model | State | Latency | Breaker |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

/** Earlier turns with @harombe, so follow-up questions keep their context. */
function historyMessages(context: vscode.ChatContext): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const turn of context.history) {
    if (turn instanceof vscode.ChatRequestTurn) {
      if (!turn.command) out.push({ role: 'user', content: turn.prompt });
    } else if (turn instanceof vscode.ChatResponseTurn && !turn.command) {
      const text = turn.response.map((part) => (part instanceof vscode.ChatResponseMarkdownPart ? part.value.value : '')).join('');
      if (text !== '') out.push({ role: 'assistant', content: text });
    }
  }
  return out;
}

async function answer(coordinator: Coordinator, request: vscode.ChatRequest, context: vscode.ChatContext, stream: vscode.ChatResponseStream, token: vscode.CancellationToken): Promise<vscode.ChatResult> {
  const controller = new AbortController();
  const cancel = token.onCancellationRequested(() => controller.abort());
  const guard = new ReplayGuard();
  // VS Code's chat has no stable part for reasoning: it shows as progress, once per attempt, never as answer text.
  let toldThinking = false;
  try {
    const messages: ChatMessage[] = [...historyMessages(context), { role: 'user', content: request.prompt }];
    for await (const event of coordinator.complete({ messages, tier: 'auto', signal: controller.signal })) {
      switch (event.type) {
        case 'route':
          stream.progress(`tier ${event.tier} · ${event.node} · ${event.reasons[0] ?? event.nodeReason}`);
          break;
        case 'delta': {
          const text = guard.accept(event.text);
          if (text !== '') stream.markdown(text);
          break;
        }
        case 'thinking':
          if (!toldThinking) stream.progress('Thinking…');
          toldThinking = true;
          break;
        case 'fallback':
          stream.progress(`${event.from} failed (${event.reason}); continuing on ${event.to}, tier ${event.tier}`);
          if (event.discardPartial) guard.restart();
          toldThinking = false;
          break;
        case 'error':
          if (event.code === 'cancelled') return {};
          return { errorDetails: { message: event.message } };
        case 'tool_calls':
        case 'done':
          break;
      }
    }
    return {};
  } catch (error) {
    return { errorDetails: { message: error instanceof Error ? error.message : String(error) } };
  } finally {
    cancel.dispose();
  }
}

/** `@harombe` in VS Code's chat: `/status`, `/test`, and routed answers. */
export function registerHarombeParticipant(coordinator: Coordinator, extensionUri: vscode.Uri): vscode.Disposable {
  const participant = vscode.chat.createChatParticipant('harombe.chat-participant', async (request, context, stream, token) => {
    if (request.command === 'status') {
      stream.markdown(statusTable(coordinator));
      return {};
    }
    if (request.command === 'test') {
      stream.progress('Testing every node…');
      const results = await coordinator.testNodes({ timeoutMs: 30_000 });
      if (results.length === 0) stream.markdown('No nodes to test.');
      for (const r of results) stream.markdown(`${r.ok ? '✅' : '❌'} **${cell(r.node)}** · ${Math.round(r.latencyMs)} ms · ${cell(r.detail)}\n\n`);
      return {};
    }
    return answer(coordinator, request, context, stream, token);
  });
  participant.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'harombe.svg');
  return participant;
}
