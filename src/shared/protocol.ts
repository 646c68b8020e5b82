import * as z from 'zod';

/**
 * Every message between the chat webview and the extension host, both ways. The host parses what
 * the webview sends with `webviewToHost` and drops what fails (a webview runs model output, so its
 * messages are not trusted either); the webview parses what it receives with `hostToWebview`.
 */

const tierChoice = z.union([z.literal('auto'), z.literal(0), z.literal(1), z.literal(2)]);
const tier = z.union([z.literal(0), z.literal(1), z.literal(2)]);

export const webviewToHost = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({
    type: z.literal('chat/send'),
    text: z.string().min(1).max(100_000),
    tier: tierChoice,
    attach: z.enum(['selection', 'file']).nullable().optional(),
  }),
  z.object({ type: z.literal('chat/stop') }),
  z.object({ type: z.literal('chat/new') }),
  z.object({ type: z.literal('chat/insert'), code: z.string().max(1_000_000) }),
  z.object({ type: z.literal('chat/copy'), code: z.string().max(1_000_000) }),
]);
export type WebviewToHost = z.infer<typeof webviewToHost>;

const nodeSummary = z.object({
  name: z.string(),
  tier,
  model: z.string(),
  state: z.string(),
  /** False when the node's model is known to take no tools (the agent's tools then need another tier). */
  tools: z.boolean().optional(),
});

/** One finished entry of the history, as the webview re-renders it after a reload. */
const historyEntry = z.object({
  role: z.enum(['user', 'assistant']),
  text: z.string(),
  /** "tier 2 · server · refactor intent" for answers. */
  label: z.string().optional(),
  /** A reasoning model's reasoning before the answer, shown collapsed; and how long it took. */
  thinking: z.string().optional(),
  thinkingMs: z.number().optional(),
  toolSteps: z
    .array(z.object({ id: z.string(), name: z.string(), args: z.record(z.string(), z.unknown()), status: z.enum(['running', 'done', 'denied', 'error']), result: z.string().optional() }))
    .optional(),
});
export type HistoryEntry = z.infer<typeof historyEntry>;

export const hostToWebview = z.discriminatedUnion('type', [
  z.object({ type: z.literal('cluster/snapshot'), nodes: z.array(nodeSummary), toolsEnabled: z.boolean(), toolsReason: z.string().optional() }),
  z.object({ type: z.literal('chat/history'), entries: z.array(historyEntry) }),
  /** A new answer starts (the user's prompt is echoed so every view of the chat shows it). */
  z.object({ type: z.literal('chat/route'), tier, node: z.string(), model: z.string(), label: z.string(), reasons: z.array(z.string()) }),
  z.object({ type: z.literal('chat/delta'), text: z.string() }),
  /** A piece of the model's reasoning: shown in a collapsed "Thinking…" section, apart from the answer. */
  z.object({ type: z.literal('chat/thinking'), text: z.string() }),
  z.object({ type: z.literal('chat/fallback'), from: z.string(), to: z.string(), reason: z.string(), discardPartial: z.boolean(), label: z.string() }),
  z.object({
    type: z.literal('chat/toolStep'),
    id: z.string(),
    name: z.string(),
    args: z.record(z.string(), z.unknown()),
    status: z.enum(['running', 'done', 'denied', 'error']),
    result: z.string().optional(),
  }),
  z.object({ type: z.literal('chat/done'), label: z.string(), ttftMs: z.number(), totalMs: z.number(), thinkingMs: z.number().optional() }),
  z.object({ type: z.literal('chat/error'), message: z.string(), cancelled: z.boolean() }),
  z.object({ type: z.literal('chat/notice'), message: z.string() }),
  /** The host started a turn on its own (askInChat) or echoes a sent prompt: show it as the user's message. */
  z.object({ type: z.literal('chat/user'), text: z.string() }),
]);
export type HostToWebview = z.infer<typeof hostToWebview>;
