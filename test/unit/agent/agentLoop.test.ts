import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { AgentEvent, ToolStepEvent } from '../../../src/core/agent/agentEvent';
import { AgentLoop, type CompletionSource } from '../../../src/core/agent/agentLoop';
import { createAgentTools } from '../../../src/core/agent/createAgentTools';
import { NodeWorkspace } from '../../../src/core/agent/nodeWorkspace';
import { ToolRegistry } from '../../../src/core/agent/toolRegistry';
import type { ChatEvent } from '../../../src/core/chatEvent';
import { Conversation } from '../../../src/core/conversation';
import { Coordinator } from '../../../src/core/coordinator';
import type { CompleteRequest } from '../../../src/core/routing/failoverRunner';
import type { FakeMessage } from '../../fakes/fakeReply';
import { startFakeCluster, type FakeCluster } from '../../fakes/fakeCluster';
import { ANSWER, reasoning } from '../../fakes/reasoningSample';
import { ScriptedApprover } from './scriptedApprover';

const tools = { shell: true, filesystem: true, web_search: false, confirm_dangerous: true };

async function collect(it: AsyncIterable<AgentEvent>): Promise<AgentEvent[]> {
  const out: AgentEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}
const steps = (events: AgentEvent[]) => events.filter((e): e is ToolStepEvent => e.type === 'tool_step');
const text = (events: AgentEvent[]) => events.map((e) => (e.type === 'delta' ? e.text : '')).join('');

describe('AgentLoop', function () {
  this.timeout(20_000);
  let root: string;
  let cluster: FakeCluster | undefined;
  let coordinator: Coordinator | undefined;

  beforeEach(() => {
    root = realpathSync(mkdtempSync(path.join(tmpdir(), 'harombe-agent-')));
    writeFileSync(path.join(root, 'notes.txt'), 'the answer is 42\n');
  });
  afterEach(async () => {
    coordinator?.dispose();
    await cluster?.stop();
    cluster = undefined;
    coordinator = undefined;
    rmSync(root, { recursive: true, force: true });
  });

  async function fakeNode(toolCalls: { name: string; arguments: Record<string, unknown> }[]) {
    // The reply quotes the tool result it got, so the test sees the result travelled back to the model.
    const reply = (messages: FakeMessage[]) => {
      const tool = messages.find((m) => m.role === 'tool');
      return tool ? `Final: ${String(tool.content).trim()}` : 'no tool result';
    };
    cluster = await startFakeCluster([{ name: 'box', tier: 1, options: { toolCalls, reply } }], { health: { timeout: 0.5, interval: 60 } });
    coordinator = new Coordinator({ config: cluster.config });
    await coordinator.prober.sweep();
    return coordinator;
  }

  const registry = (approver = new ScriptedApprover()) => new ToolRegistry(createAgentTools({ workspace: new NodeWorkspace([root]), approver, tools }));

  it('runs a tool call from a real (fake) Ollama node and ends with the final answer', async () => {
    const c = await fakeNode([{ name: 'read_file', arguments: { path: 'notes.txt' } }]);
    const conversation = new Conversation();
    const events = await collect(new AgentLoop({ coordinator: c, tools: registry(), maxSteps: 5 }).run({ conversation, prompt: 'what is the answer?' }));
    assert.deepEqual(
      steps(events).map((s) => [s.name, s.status]),
      [['read_file', 'running'], ['read_file', 'done']],
    );
    assert.equal(steps(events)[1]?.result, 'the answer is 42\n');
    assert.equal(text(events), 'Final: the answer is 42');
    assert.equal(events.filter((e) => e.type === 'done').length, 1, 'only the final done is passed on');
    assert.equal(events.at(-1)?.type, 'done');
    assert.deepEqual(
      conversation.messages.map((m) => m.role),
      ['user', 'assistant', 'tool', 'assistant'],
    );
    assert.equal(conversation.lastNode, 'box');
  });

  it("the chat's agent, asked at tier 0 where the model takes no tools, runs its tools on the tier-1 node; plain turns stay on tier 0", async () => {
    const reply = (messages: FakeMessage[]) => {
      const tool = messages.find((m) => m.role === 'tool');
      return tool ? `Final: ${String(tool.content).trim()}` : 'no tool result';
    };
    const toolCalls = [{ name: 'read_file', arguments: { path: 'notes.txt' } }];
    cluster = await startFakeCluster(
      [
        { name: 'small', tier: 0, model: 'gemma2:2b', options: { reply } },
        { name: 'mid', tier: 1, model: 'qwen2.5:14b', options: { toolCalls, reply } },
      ],
      { health: { timeout: 0.5, interval: 60 } },
    );
    coordinator = new Coordinator({ config: cluster.config });
    await coordinator.prober.sweep();
    for (let i = 0; i < 3; i++) {
      const events = await collect(new AgentLoop({ coordinator, tools: registry(), maxSteps: 5 }).run({ conversation: new Conversation(), prompt: `what is the answer? (${i})`, tier: 0 }));
      assert.equal(text(events), 'Final: the answer is 42');
      assert.ok(events.every((e) => e.type !== 'error'));
    }
    const small = coordinator.nodes().find((n) => n.name === 'small');
    assert.equal(small?.breaker.state, 'closed');
    assert.equal(cluster.node('small').requests.filter((r) => r.path === '/api/chat').length, 0);
    const plainTurn = await collect(new AgentLoop({ coordinator, tools: new ToolRegistry([]), maxSteps: 5 }).run({ conversation: new Conversation(), prompt: 'hello', tier: 0 }));
    assert.equal(text(plainTurn), 'no tool result');
    assert.equal(cluster.node('small').requests.filter((r) => r.path === '/api/chat').length, 1);
  });

  it('a reasoning node: the agent keeps only the answers in the conversation, the reasoning passes through as thinking events', async () => {
    cluster = await startFakeCluster(
      [{ name: 'box', tier: 1, options: { toolCalls: [{ name: 'read_file', arguments: { path: 'notes.txt' } }], reply: ANSWER, reasoning: reasoning('content') } }],
      { health: { timeout: 0.5, interval: 60 } },
    );
    coordinator = new Coordinator({ config: cluster.config });
    await coordinator.prober.sweep();
    const conversation = new Conversation();
    const events = await collect(new AgentLoop({ coordinator, tools: registry(), maxSteps: 5 }).run({ conversation, prompt: 'shorten total()' }));
    assert.equal(text(events), ANSWER);
    assert.ok(events.some((e) => e.type === 'thinking'));
    for (const m of conversation.messages) assert.ok(!m.content.includes('A first draft') && !m.content.includes('<think>'), JSON.stringify(m));
    assert.equal(conversation.messages.at(-1)?.content, ANSWER);
  });

  it('a denied write through the loop leaves the file untouched and the model is told', async () => {
    const c = await fakeNode([{ name: 'write_file', arguments: { path: 'notes.txt', content: 'pwned' } }]);
    const approver = new ScriptedApprover({ edit: false });
    const events = await collect(new AgentLoop({ coordinator: c, tools: registry(approver), maxSteps: 5 }).run({ conversation: new Conversation(), prompt: 'overwrite notes' }));
    assert.equal(steps(events)[1]?.status, 'denied');
    assert.equal(readFileSync(path.join(root, 'notes.txt'), 'utf8'), 'the answer is 42\n');
    assert.match(text(events), /^Final: The user denied this/);
    assert.equal(approver.edits.length, 1);
  });

  it('without tools (untrusted workspace, tools off) offers none and answers directly', async () => {
    const c = await fakeNode([{ name: 'read_file', arguments: { path: 'notes.txt' } }]);
    const events = await collect(new AgentLoop({ coordinator: c, tools: undefined, maxSteps: 5 }).run({ conversation: new Conversation(), prompt: 'hi' }));
    assert.equal(steps(events).length, 0);
    assert.equal(text(events), 'no tool result');
  });

  it('honours max_steps: after that many tool rounds it asks once more without tools', async () => {
    const requests: CompleteRequest[] = [];
    // A model that never stops calling tools while they are offered.
    const source: CompletionSource = {
      async *complete(req: CompleteRequest): AsyncGenerator<ChatEvent> {
        requests.push(req);
        yield { type: 'route', requestedTier: 1, tier: 1, node: 'n', model: 'm', forced: false, reasons: [], nodeReason: '' };
        if (req.tools?.length) yield { type: 'tool_calls', calls: [{ id: `c${requests.length}`, name: 'list_files', arguments: {} }] };
        else yield { type: 'delta', text: 'giving up' };
        yield { type: 'done', node: 'n', tier: 1, model: 'm', doneReason: 'stop', timing: { ttftMs: 1, totalMs: 1, fallbacks: 0 }, tokens: {} };
      },
    };
    const events = await collect(new AgentLoop({ coordinator: source, tools: registry(), maxSteps: 3 }).run({ conversation: new Conversation(), prompt: 'loop' }));
    assert.equal(steps(events).filter((s) => s.status === 'done').length, 3);
    assert.equal(requests.length, 4);
    assert.equal(requests[3]?.tools, undefined);
    assert.ok(events.some((e) => e.type === 'notice' && /max_steps/.test(e.message)));
    assert.equal(text(events), 'giving up');
  });

  it('stops when cancelled and leaves the conversation as it was', async () => {
    const c = await fakeNode([]);
    cluster?.ollama('box').setOptions({ chunkDelayMs: 200 });
    const conversation = new Conversation();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const events = await collect(new AgentLoop({ coordinator: c, tools: registry(), maxSteps: 5 }).run({ conversation, prompt: 'a long one', signal: controller.signal }));
    // Not a time: an answer left to run would end with 'done', not with the cancellation.
    const last = events.at(-1);
    assert.equal(last?.type === 'error' && last.code, 'cancelled');
    assert.equal(conversation.messages.length, 0);
  });
});
