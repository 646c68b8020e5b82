import * as vscode from 'vscode';
import type { Coordinator } from '../../core/coordinator';
import type { ChatMessage } from '../../core/inference/types';
import type { Tier } from '../../core/routing/classification';
import { harombeModelList, harombeVendor } from './harombeModelList';
import { ReplayGuard } from './replayGuard';

/** What an answer's `ChatResult.metadata` keeps: the node's own text, without the route lines shown around it. */
interface AnswerMetadata {
  readonly harombeAnswer: string;
}

function answerOf(result: vscode.ChatResult): string | undefined {
  const answer = (result.metadata as Partial<AnswerMetadata> | undefined)?.harombeAnswer;
  return typeof answer === 'string' ? answer : undefined;
}

/**
 * The tier the chat view's model picker asks for. The answer always comes from the coordinator, not
 * through `request.model`; but when the picked model is one of Harombe's, its tier is honoured.
 */
function pickedTier(request: vscode.ChatRequest): Tier | 'auto' {
  const model = (request as { model?: { vendor?: string; id?: string } }).model;
  if (model?.vendor !== harombeVendor) return 'auto';
  return harombeModelList.find((m) => m.id === model.id)?.tier ?? 'auto';
}

/**
 * A line in italics whose text (node names come from the config) cannot turn into markup. Not
 * `MarkdownString.appendText`: it turns every space into `&nbsp;`, which then lands in copied text.
 */
function routeLine(text: string): string {
  return `_${text.replace(/\s+/g, ' ').replace(/[\\`*_{}[\]()#+\-.!|<>~&]/g, '\\$&')}_\n\n`;
}

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
      const text = answerOf(turn.result) ?? turn.response.map((part) => (part instanceof vscode.ChatResponseMarkdownPart ? part.value.value : '')).join('');
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
  let shown = '';
  const metadata = (): AnswerMetadata => ({ harombeAnswer: shown });
  try {
    const messages: ChatMessage[] = [...historyMessages(context), { role: 'user', content: request.prompt }];
    for await (const event of coordinator.complete({ messages, tier: pickedTier(request), signal: controller.signal })) {
      switch (event.type) {
        case 'route': {
          // A progress message folds away into "Completed n steps" when the answer is done; the route
          // stays in the answer as its first line so the user can see which node spoke.
          const route = `tier ${event.tier} · ${event.node} · ${event.reasons[0] ?? event.nodeReason}`;
          stream.progress(route);
          stream.markdown(routeLine(route));
          break;
        }
        case 'delta': {
          const text = guard.accept(event.text);
          if (text !== '') {
            shown += text;
            stream.markdown(text);
          }
          break;
        }
        case 'thinking':
          if (!toldThinking) stream.progress('Thinking…');
          toldThinking = true;
          break;
        case 'fallback': {
          const line = `${event.from} failed (${event.reason}); continuing on ${event.to}, tier ${event.tier}`;
          stream.progress(line);
          if (shown !== '') stream.markdown('\n\n');
          stream.markdown(routeLine(line));
          if (event.discardPartial) guard.restart();
          toldThinking = false;
          break;
        }
        case 'error':
          if (event.code === 'cancelled') return { metadata: metadata() };
          return { errorDetails: { message: event.message }, metadata: metadata() };
        case 'tool_calls':
        case 'done':
          break;
      }
    }
    return { metadata: metadata() };
  } catch (error) {
    return { errorDetails: { message: error instanceof Error ? error.message : String(error) }, metadata: metadata() };
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
