// A second extension for the integration run. Everything Harombe's models do for other extensions
// goes through here, so the calls carry this extension's identity, not Harombe's: the same path
// (selection, access checks, streaming, cancellation) a third-party chat extension takes.
// Plain CommonJS so that the harness needs no build step for it.
/* global require, module */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const vscode = require('vscode');

function toMessages(turns) {
  return turns.map((turn) => {
    if (turn.role === 'assistant') {
      const parts = [];
      if (turn.text) parts.push(new vscode.LanguageModelTextPart(turn.text));
      for (const call of turn.toolCalls ?? []) parts.push(new vscode.LanguageModelToolCallPart(call.callId, call.name, call.input));
      return vscode.LanguageModelChatMessage.Assistant(parts);
    }
    const parts = [];
    for (const result of turn.toolResults ?? []) parts.push(new vscode.LanguageModelToolResultPart(result.callId, [new vscode.LanguageModelTextPart(result.text)]));
    if (turn.text) parts.push(new vscode.LanguageModelTextPart(turn.text));
    return vscode.LanguageModelChatMessage.User(parts);
  });
}

async function models(selector) {
  const found = await vscode.lm.selectChatModels(selector);
  return found.map((m) => ({ id: m.id, name: m.name, vendor: m.vendor, family: m.family, version: m.version, maxInputTokens: m.maxInputTokens }));
}

/**
 * Sends one request to a Harombe model and reads its stream. `cancelAfterChars`: cancel the request
 * (as a user's Stop does) once that much text has arrived.
 */
async function ask({ modelId, turns, tools, toolMode, cancelAfterChars }) {
  const [model] = await vscode.lm.selectChatModels({ vendor: 'harombe', id: modelId });
  if (!model) throw new Error(`no Harombe model ${modelId}`);
  const source = new vscode.CancellationTokenSource();
  const options = { justification: 'Harombe integration test' };
  if (tools) options.tools = tools;
  if (toolMode !== undefined) options.toolMode = toolMode;
  const response = await model.sendRequest(toMessages(turns), options, source.token);
  const result = { pieces: [], text: '', toolCalls: [], cancelled: false, error: undefined };
  try {
    for await (const part of response.stream) {
      if (part instanceof vscode.LanguageModelTextPart) {
        result.pieces.push(part.value);
        result.text += part.value;
        if (cancelAfterChars !== undefined && !result.cancelled && result.text.length >= cancelAfterChars) {
          result.cancelled = true;
          source.cancel();
        }
      } else if (part instanceof vscode.LanguageModelToolCallPart) {
        result.toolCalls.push({ callId: part.callId, name: part.name, input: part.input });
      }
    }
  } catch (error) {
    result.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  } finally {
    source.dispose();
  }
  return result;
}

function activate() {
  return { models, ask };
}

module.exports = { activate };
