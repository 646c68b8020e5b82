import type { FakeReasoning } from './fakeReply';

/**
 * A reasoning model's turn for tests: a draft whose code block is LONGER than the final answer's,
 * so anything that takes "the longest fenced block" picks the draft if the reasoning leaks into
 * the answer (the failure issue 24 reports).
 */
export const DRAFT_CODE = 'def total(xs):\n    result = 0\n    for x in xs:\n        result = result + x\n    return result';
export const FINAL_CODE = 'def total(xs):\n    return sum(xs)';
export const REASONING = `The user wants a shorter function. A first draft:\n\n\`\`\`python\n${DRAFT_CODE}\n\`\`\`\n\nThat loop is what sum() does, so use it.`;
export const ANSWER = `Use the built-in:\n\n\`\`\`python\n${FINAL_CODE}\n\`\`\``;

export function reasoning(where: FakeReasoning['in']): FakeReasoning {
  return { text: REASONING, in: where };
}
