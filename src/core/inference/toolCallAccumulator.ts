import { randomUUID } from 'node:crypto';
import { NodeError } from './nodeError';
import type { ToolCall } from './types';

interface ToolCallFragment {
  index?: unknown;
  id?: unknown;
  function?: { name?: unknown; arguments?: unknown } | null;
}

/** OpenAI streams tool calls in fragments keyed by `index`: the id and name first, then the arguments piece by piece. */
export class ToolCallAccumulator {
  private readonly pending = new Map<number, { id: string; name: string; args: string }>();

  get size(): number {
    return this.pending.size;
  }

  add(raw: unknown): void {
    const fragment = raw as ToolCallFragment;
    if (typeof fragment !== 'object' || fragment === null) throw new NodeError('protocol', 'the node sent a malformed tool call fragment');
    const index = typeof fragment.index === 'number' ? fragment.index : this.pending.size;
    let call = this.pending.get(index);
    if (!call) {
      call = { id: '', name: '', args: '' };
      this.pending.set(index, call);
    }
    if (typeof fragment.id === 'string' && fragment.id && !call.id) call.id = fragment.id;
    const fn = fragment.function;
    if (fn) {
      // The name normally comes whole in the first fragment; some servers repeat it in later ones.
      if (typeof fn.name === 'string' && fn.name && fn.name !== call.name) call.name += fn.name;
      if (typeof fn.arguments === 'string') call.args += fn.arguments;
      else if (typeof fn.arguments === 'object' && fn.arguments !== null) call.args += JSON.stringify(fn.arguments);
    }
  }

  /** The calls so far, parsed, in index order; empties the accumulator. */
  take(): ToolCall[] {
    const calls = [...this.pending.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, call]): ToolCall => {
        if (!call.name) throw new NodeError('protocol', 'the node sent a tool call without a function name');
        let args: unknown;
        try {
          args = call.args.trim() === '' ? {} : JSON.parse(call.args);
        } catch (err) {
          throw new NodeError('protocol', `the arguments of tool call ${call.name} are not valid JSON`, { cause: err });
        }
        if (typeof args !== 'object' || args === null || Array.isArray(args)) {
          throw new NodeError('protocol', `the arguments of tool call ${call.name} are not a JSON object`);
        }
        return {
          id: call.id || `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
          name: call.name,
          arguments: args as Record<string, unknown>,
        };
      });
    this.pending.clear();
    return calls;
  }
}
