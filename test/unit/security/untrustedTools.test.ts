import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { AgentEvent } from '../../../src/core/agent/agentEvent';
import { AgentLoop, type CompletionSource } from '../../../src/core/agent/agentLoop';
import type { ChatEvent } from '../../../src/core/chatEvent';
import { Conversation } from '../../../src/core/conversation';
import type { CompleteRequest } from '../../../src/core/routing/failoverRunner';

/**
 * In Restricted Mode (and with tools off in the config) the VS Code layer gives the agent loop no
 * tools. A model can still answer with tool calls (text it was shown can ask it to); the loop must
 * run none of them and say so. The same in the real editor: test/integration/restricted.
 */
describe('agent loop without tools: a model that calls them anyway', () => {
  let root: string;
  beforeEach(() => (root = realpathSync(mkdtempSync(path.join(tmpdir(), 'harombe-untrusted-')))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('runs nothing, sends no tool list, asks only once, and tells the user what was not run', async () => {
    const requests: CompleteRequest[] = [];
    const source: CompletionSource = {
      async *complete(req: CompleteRequest): AsyncGenerator<ChatEvent> {
        requests.push(req);
        yield { type: 'route', requestedTier: 1, tier: 1, node: 'n', model: 'm', forced: false, reasons: [], nodeReason: '' };
        yield {
          type: 'tool_calls',
          calls: [
            { id: 'a', name: 'write_file', arguments: { path: path.join(root, 'pwned.txt'), content: 'x' } },
            { id: 'b', name: 'run_shell', arguments: { command: `touch ${path.join(root, 'ran')}` } },
          ],
        };
        yield { type: 'done', node: 'n', tier: 1, model: 'm', doneReason: 'tool_calls', timing: { ttftMs: 1, totalMs: 1, fallbacks: 0 }, tokens: {} };
      },
    };
    const events: AgentEvent[] = [];
    for await (const e of new AgentLoop({ coordinator: source, tools: undefined, maxSteps: 5 }).run({ conversation: new Conversation(), prompt: 'do it' })) events.push(e);
    assert.equal(requests.length, 1);
    assert.equal(requests[0]?.tools, undefined);
    assert.deepEqual(events.filter((e) => e.type === 'tool_step'), []);
    assert.equal(existsSync(path.join(root, 'pwned.txt')) || existsSync(path.join(root, 'ran')), false);
    const notices = events.filter((e) => e.type === 'notice').map((e) => (e.type === 'notice' ? e.message : ''));
    assert.deepEqual(notices, ['Not run: the model asked for write_file, run_shell, but tools are off for this chat.']);
    assert.equal(events.at(-1)?.type, 'done');
  });
});
