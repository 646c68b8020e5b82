export type Tier = 0 | 1 | 2;

/** Where a prompt came from: the chat, or a code action's intent. */
export type Intent = 'chat' | 'explain' | 'fix' | 'refactor' | 'tests' | 'docs';

export const intents: readonly Intent[] = ['chat', 'explain', 'fix', 'refactor', 'tests', 'docs'];

export interface ClassifyInput {
  prompt: string;
  intent?: Intent;
  /** Characters of attached context (selection, files, history). */
  contextChars?: number;
}

export interface Classification {
  tier: Tier;
  /** Human-readable reasons, most decisive first, e.g. `refactor intent`, `asks for tests`. */
  reasons: string[];
}
