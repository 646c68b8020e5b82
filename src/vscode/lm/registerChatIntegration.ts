import * as vscode from 'vscode';
import type { Coordinator } from '../../core/coordinator';
import { registerHarombeChatModels } from './harombeChatModels';
import { registerHarombeParticipant } from './harombeParticipant';
import { findRegisterLanguageModelChatProvider } from './lmApi';

/**
 * Registers the cluster in VS Code's own chat where the running editor has the APIs (models since
 * 1.104, participants since 1.90); on older editors it registers nothing and says nothing.
 */
export function registerChatIntegration(deps: { coordinator: Coordinator; log: vscode.LogOutputChannel; extensionUri: vscode.Uri }): vscode.Disposable[] {
  const disposables: vscode.Disposable[] = [];
  const register = findRegisterLanguageModelChatProvider((vscode as { lm?: unknown }).lm);
  if (register) disposables.push(registerHarombeChatModels(register, deps.coordinator, deps.log));
  if (typeof (vscode as { chat?: { createChatParticipant?: unknown } }).chat?.createChatParticipant === 'function') {
    disposables.push(registerHarombeParticipant(deps.coordinator, deps.extensionUri));
  }
  deps.log.debug(`VS Code chat: models ${register ? 'registered' : 'unavailable'}, participant ${disposables.length > (register ? 1 : 0) ? 'registered' : 'unavailable'}`);
  return disposables;
}
