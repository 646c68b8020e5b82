import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { fakeReply } from '../fakes/fakeReply';
import type { FakeCluster } from '../fakes/fakeCluster';
import { useWorkspaceCluster } from './workspaceCluster';

/** test/lmClient's API: a second extension, so every vscode.lm call here carries its identity, not Harombe's. */
interface Turn {
  role: 'user' | 'assistant';
  text?: string;
  toolCalls?: { callId: string; name: string; input: object }[];
  toolResults?: { callId: string; text: string }[];
}
interface Answer {
  pieces: string[];
  text: string;
  toolCalls: { callId: string; name: string; input: unknown }[];
  cancelled: boolean;
  error: string | undefined;
}
interface LmClient {
  models(selector: vscode.LanguageModelChatSelector): Promise<{ id: string; name: string; vendor: string; family: string; maxInputTokens: number }[]>;
  ask(request: { modelId: string; turns: Turn[]; tools?: vscode.LanguageModelChatTool[]; toolMode?: vscode.LanguageModelChatToolMode; cancelAfterChars?: number }): Promise<Answer>;
}

const LONG_REPLY = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
const WEATHER_TOOL: vscode.LanguageModelChatTool = {
  name: 'get_weather',
  description: 'The weather in a city',
  inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

type ChatBody = { messages?: { role: string; content?: string; tool_name?: string; tool_calls?: unknown[] }[]; tools?: { function?: { name?: string } }[] };

describe('vscode.lm from another extension: Harombe models', function () {
  this.timeout(60_000);
  let cluster: FakeCluster;
  let client: LmClient;

  before(async () => {
    const lmClient = vscode.extensions.getExtension<LmClient>('harombe-test.lm-client');
    assert.ok(lmClient, 'test/lmClient is installed into the run extensions folder by test/vscode/installLmClient.ts');
    client = await lmClient.activate();
    ({ cluster } = await useWorkspaceCluster(
      [
        { name: 'lc-fast', tier: 0 },
        { name: 'lc-mid', tier: 1, options: { chunkDelayMs: 5, toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] } },
        { name: 'lc-big', tier: 2, options: { reply: LONG_REPLY, chunkDelayMs: 100 } },
      ],
      'lmClient.test.ts',
    ));
  });

  after(async () => {
    await cluster?.stop();
  });

  const chats = (name: string) => cluster.node(name).requests.filter((r) => r.path === '/api/chat');

  it('sees the four Harombe models, with the vendor and family it selects by', async () => {
    const models = await client.models({ vendor: 'harombe' });
    assert.deepEqual(
      models.map((m) => [m.id, m.name, m.vendor, m.family]).sort(),
      [
        ['harombe-auto', 'Harombe (auto)', 'harombe', 'harombe'],
        ['harombe-tier-0', 'Harombe tier 0', 'harombe', 'harombe'],
        ['harombe-tier-1', 'Harombe tier 1', 'harombe', 'harombe'],
        ['harombe-tier-2', 'Harombe tier 2', 'harombe', 'harombe'],
      ],
    );
    assert.ok(models.every((m) => m.maxInputTokens > 0));
  });

  it('streams the tier 1 node answer to the other extension in pieces', async () => {
    const before = chats('lc-mid').length;
    const answer = await client.ask({ modelId: 'harombe-tier-1', turns: [{ role: 'user', text: 'hello from another extension' }] });
    assert.equal(answer.error, undefined);
    assert.equal(answer.text, fakeReply(undefined, [{ role: 'user', content: 'hello from another extension' }], 'qwen2.5:14b'));
    assert.ok(answer.pieces.length > 1, `the answer arrived in ${answer.pieces.length} piece(s)`);
    const sent = chats('lc-mid').slice(before);
    assert.equal(sent.length, 1);
    assert.deepEqual((sent[0]?.body as ChatBody).messages?.map((m) => [m.role, m.content]), [['user', 'hello from another extension']]);
  });

  it('cancelling the request (a Stop) tears down the request on the node', async () => {
    const before = chats('lc-big').length;
    const answer = await client.ask({ modelId: 'harombe-tier-2', turns: [{ role: 'user', text: 'write a long essay' }], cancelAfterChars: 1 });
    assert.ok(answer.cancelled, `the answer ended before the client could cancel: ${JSON.stringify(answer)}`);
    const aborted = await cluster.node('lc-big').waitForClientAbort(10_000);
    assert.equal(chats('lc-big').length, before + 1);
    assert.equal(aborted, chats('lc-big').at(-1), 'the request the client cancelled is the one the node saw go away');
    assert.ok(answer.text.length < LONG_REPLY.length, 'the answer stopped early');
  });

  it("hands the caller's tools to the node and returns its call as a LanguageModelToolCallPart; the result goes back as a tool message", async () => {
    const before = chats('lc-mid').length;
    const first = await client.ask({ modelId: 'harombe-tier-1', turns: [{ role: 'user', text: 'weather in Paris?' }], tools: [WEATHER_TOOL] });
    assert.equal(first.error, undefined);
    assert.equal(first.text, '');
    assert.equal(first.toolCalls.length, 1);
    assert.equal(first.toolCalls[0]?.name, 'get_weather');
    assert.deepEqual(first.toolCalls[0]?.input, { city: 'Paris' });
    assert.ok(first.toolCalls[0]?.callId, 'the call has an id for its result to refer to');
    const offered = chats('lc-mid').slice(before)[0]?.body as ChatBody;
    assert.deepEqual(offered.tools?.map((t) => t.function?.name), ['get_weather']);

    const call = first.toolCalls[0];
    assert.ok(call);
    const second = await client.ask({
      modelId: 'harombe-tier-1',
      turns: [
        { role: 'user', text: 'weather in Paris?' },
        { role: 'assistant', toolCalls: [{ callId: call.callId, name: call.name, input: call.input as object }] },
        { role: 'user', toolResults: [{ callId: call.callId, text: 'sunny, 21 °C' }] },
      ],
      tools: [WEATHER_TOOL],
    });
    assert.equal(second.error, undefined);
    assert.deepEqual(second.toolCalls, []);
    const followUp = chats('lc-mid').at(-1)?.body as ChatBody;
    const toolMessage = followUp.messages?.find((m) => m.role === 'tool');
    assert.deepEqual([toolMessage?.content, toolMessage?.tool_name], ['sunny, 21 °C', 'get_weather']);
    assert.equal(followUp.messages?.find((m) => m.role === 'assistant')?.tool_calls?.length, 1);
    assert.equal(second.text, fakeReply(undefined, [{ role: 'user', content: 'weather in Paris?' }], 'qwen2.5:14b'));
  });
});
