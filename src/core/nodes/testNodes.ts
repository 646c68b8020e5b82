import { createInferenceClient } from '../inference/createInferenceClient';
import { NodeError } from '../inference/nodeError';
import { describeFailure } from '../routing/routeErrors';
import type { NodeRegistry } from './nodeRegistry';

export interface NodeTestResult {
  node: string;
  ok: boolean;
  latencyMs: number;
  /** The first words of the answer, or why it failed. */
  detail: string;
}

/**
 * Sends a short real prompt to every node (or the named ones) in parallel: the inference path,
 * not just a model list. A dead node costs at most `timeoutMs` and never delays the others.
 */
export function testNodes(registry: NodeRegistry, opts: { timeoutMs?: number; names?: string[] } = {}): Promise<NodeTestResult[]> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const nodes = registry.list().filter((n) => !opts.names || opts.names.includes(n.name));
  return Promise.all(
    nodes.map(async (node): Promise<NodeTestResult> => {
      if (node.state === 'untrusted') {
        return { node: node.name, ok: false, latencyMs: 0, detail: 'untrusted: trust it before sending it prompts (harombe node trust NAME)' };
      }
      const start = performance.now();
      const endpoint = registry.endpoint(node.name);
      const client = createInferenceClient(registry.protocol(node.name), { ...endpoint, stallTimeoutMs: Math.min(timeoutMs, endpoint.stallTimeoutMs) }, registry.dispatcher(node.name));
      const signal = AbortSignal.timeout(timeoutMs);
      let text = '';
      try {
        for await (const chunk of client.chat({
          model: node.model,
          messages: [{ role: 'user', content: 'Reply with the single word: ok' }],
          temperature: 0,
          signal,
        })) {
          if (chunk.type === 'delta') text += chunk.text;
          if (chunk.type === 'done') {
            const latencyMs = performance.now() - start;
            registry.recordSuccess(node.name);
            return { node: node.name, ok: true, latencyMs, detail: text.trim().slice(0, 60) || `(empty answer, ${chunk.doneReason})` };
          }
        }
        throw new NodeError('incomplete', 'the answer ended without its final record');
      } catch (err) {
        const latencyMs = performance.now() - start;
        const detail = signal.aborted ? `no answer within ${Math.round(timeoutMs / 1000)} s` : describeFailure(err);
        return { node: node.name, ok: false, latencyMs, detail };
      }
    }),
  );
}
