import type * as vscode from 'vscode';
import type { ChatMessage } from '../../core/inference/types';
import type { HistoryEntry } from '../../shared/protocol';

const KEY = 'harombe.chat.history';
/** Kept per workspace; older entries are dropped so workspaceState stays small. */
const MAX_ENTRIES = 200;
const MAX_MESSAGES = 400;

interface Stored {
  entries: HistoryEntry[];
  messages: ChatMessage[];
  lastNode?: string;
}

/** The chat of this workspace (what the webview shows, and what the model gets), kept across reloads. */
export class ChatHistory {
  entries: HistoryEntry[];
  messages: ChatMessage[];
  lastNode: string | undefined;

  constructor(private readonly state: vscode.Memento) {
    const stored = state.get<Stored>(KEY);
    this.entries = Array.isArray(stored?.entries) ? stored.entries : [];
    this.messages = Array.isArray(stored?.messages) ? stored.messages : [];
    this.lastNode = stored?.lastNode;
  }

  async save(): Promise<void> {
    this.entries = this.entries.slice(-MAX_ENTRIES);
    this.messages = this.messages.slice(-MAX_MESSAGES);
    await this.state.update(KEY, { entries: this.entries, messages: this.messages, lastNode: this.lastNode } satisfies Stored);
  }

  async clear(): Promise<void> {
    this.entries = [];
    this.messages = [];
    this.lastNode = undefined;
    await this.save();
  }
}
