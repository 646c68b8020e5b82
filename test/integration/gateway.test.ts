import * as assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { GatewayServer } from '../../src/core/gateway/gatewayServer';
import type { HarombeApi } from '../../src/vscode/extension';
import type { GatewayStatus } from '../../src/vscode/gatewayHost';
import { startFakeCluster, type FakeCluster } from '../fakes/fakeCluster';
import { freePort, refused } from './loopbackPorts';
import { until } from './until';

const extensionId = 'harombe.harombe-vscode';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** How many body chunks arrived (a streamed answer comes in several). */
  chunks: number;
}

/** One HTTP request to 127.0.0.1 with node:http, the whole body read. */
function call(port: number, method: 'GET' | 'POST', urlPath: string, json?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = json === undefined ? undefined : JSON.stringify(json);
    const req = request({ host: '127.0.0.1', port, method, path: urlPath, headers: body ? { 'content-type': 'application/json' } : {}, timeout: 10_000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8'), chunks: parts.length }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath} on port ${port} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}


describe('gateway from VS Code (harombe.gateway.*)', function () {
  this.timeout(30_000);
  let api: HarombeApi;
  let cluster: FakeCluster;
  const blockers: Server[] = [];
  let otherGateway: GatewayServer | undefined;
  let first: number;
  let second: number;

  const settings = () => vscode.workspace.getConfiguration('harombe.gateway');
  const set = (key: 'enabled' | 'port', value: unknown) => settings().update(key, value, vscode.ConfigurationTarget.Global);
  const status = (): GatewayStatus => api.gateway.status;
  const runningOn = (port: number) => until(`the gateway to run on port ${port}`, () => status().state === 'running' && status().url === `http://127.0.0.1:${port}`);
  /** Each test's own start: the gateway enabled and running on `port`, whatever the test before left. */
  const runGatewayOn = async (port: number) => {
    await set('port', port);
    await set('enabled', true);
    await runningOn(port);
  };

  before(async () => {
    const extension = vscode.extensions.getExtension<HarombeApi>(extensionId);
    assert.ok(extension);
    api = extension.isActive ? extension.exports : await extension.activate();
    // 5 ms between records, so a relay that buffered the answer would show as one chunk.
    cluster = await startFakeCluster([{ name: 'gw-box', tier: 1, options: { chunkDelayMs: 5 } }], { health: { interval: 60, timeout: 0.5 } });
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    assert.ok(folder, 'the tests need a workspace folder');
    const configFile = path.join(folder, '.harombe', 'harombe.yaml');
    mkdirSync(path.dirname(configFile), { recursive: true });
    writeFileSync(configFile, `# written by gateway.test.ts\n${cluster.yaml}`);
    await until('gw-box to be the only node, available', () => {
      const nodes = api.host.coordinator.nodes();
      return nodes.length === 1 && nodes[0]?.name === 'gw-box' && nodes[0].state === 'available';
    });
    first = await freePort();
    second = await freePort();
  });

  after(async () => {
    await set('enabled', undefined);
    await set('port', undefined);
    await until('the gateway to stop', () => status().state === 'off').catch(() => undefined);
    await otherGateway?.close();
    for (const b of blockers) b.close();
    await cluster?.stop();
  });

  it('is off by default', async () => {
    await set('enabled', undefined);
    await set('port', undefined);
    await until('the gateway to be off', () => status().state === 'off');
    assert.equal(settings().get('enabled'), false);
    assert.equal(settings().get('port'), 11435);
    assert.equal(status().state, 'off');
    assert.equal(api.gateway.url, undefined);
  });

  it('starts on harombe.gateway.port when harombe.gateway.enabled is set, and lists the models on /api/tags', async () => {
    await set('port', first);
    await set('enabled', true);
    await runningOn(first);
    const tags = await call(first, 'GET', '/api/tags');
    assert.equal(tags.status, 200);
    const names = (JSON.parse(tags.body) as { models: { name: string }[] }).models.map((m) => m.name);
    assert.ok(names.includes('harombe'), `harombe is missing from ${names.join(', ')}`);
    assert.ok(names.includes('qwen2.5:14b'), `the node's model is missing from ${names.join(', ')}`);
    const root = await call(first, 'GET', '/');
    assert.match(root.body, /Harombe gateway/);
    // The status bar tooltip names the address and offers to copy it.
    await until('the status bar tooltip to show the gateway', () => api.statusBar.tooltipMarkdown.includes(`Gateway on \`http://127.0.0.1:${first}\``));
    assert.match(api.statusBar.tooltipMarkdown, /command:harombe\.copyGatewayUrl/);
  });

  it('streams /api/chat from the fake node through the window’s coordinator, record by record', async () => {
    await runGatewayOn(first);
    const before = cluster.node('gw-box').requests.filter((r) => r.path === '/api/chat').length;
    const answer = await call(first, 'POST', '/api/chat', { model: 'harombe', messages: [{ role: 'user', content: 'say hello through the gateway' }], stream: true });
    assert.equal(answer.status, 200, answer.body);
    assert.equal(answer.headers['x-harombe-node'], 'gw-box');
    assert.match(String(answer.headers['content-type']), /application\/x-ndjson/);
    const records = answer.body.trim().split('\n').map((l) => JSON.parse(l) as { message?: { content?: string }; done: boolean });
    assert.ok(records.length > 3, `expected a streamed answer, got ${records.length} record(s)`);
    assert.ok(answer.chunks > 3, `the answer arrived in ${answer.chunks} chunk(s): the gateway buffered it`);
    assert.equal(records.filter((r) => r.done).length, 1);
    assert.equal(records.at(-1)?.done, true);
    const text = records.map((r) => r.message?.content ?? '').join('');
    assert.equal(text, 'Hello from qwen2.5:14b! You said: "say hello through the gateway". Grüße 👋 — this is a fake answer.');
    assert.equal(cluster.node('gw-box').requests.filter((r) => r.path === '/api/chat').length, before + 1, 'the fake node did not get the chat');
  });

  it('speaks OpenAI on /v1/chat/completions too (SSE)', async () => {
    await runGatewayOn(first);
    const answer = await call(first, 'POST', '/v1/chat/completions', { model: 'harombe', messages: [{ role: 'user', content: 'hi' }], stream: true });
    assert.equal(answer.status, 200, answer.body);
    assert.match(String(answer.headers['content-type']), /text\/event-stream/);
    const events = answer.body.split('\n\n').filter((e) => e.startsWith('data: '));
    assert.equal(events.at(-1), 'data: [DONE]');
    const text = events
      .slice(0, -1)
      .map((e) => (JSON.parse(e.slice(6)) as { choices: { delta?: { content?: string } }[] }).choices[0]?.delta?.content ?? '')
      .join('');
    assert.match(text, /^Hello from qwen2\.5:14b!/);
  });

  it('moves when the port changes: the old port closes, the new one answers', async () => {
    await runGatewayOn(first);
    await set('port', second);
    await runningOn(second);
    assert.equal(await refused(first), true, `port ${first} still accepts connections`);
    const version = await call(second, 'GET', '/api/version');
    assert.equal(version.status, 200);
  });

  it('does not start on a port another program holds, and everything else keeps working', async () => {
    await runGatewayOn(second);
    const blocker = createServer((socket) => socket.end('not http\r\n'));
    blockers.push(blocker);
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as AddressInfo).port;
    await set('port', taken);
    await until(`the gateway to give up on port ${taken}`, () => status().state === 'failed' && status().port === taken);
    assert.match(status().reason ?? '', /in use by another program/);
    await until('the status bar tooltip to say why', () => api.statusBar.tooltipMarkdown.includes('Gateway not running'));
    assert.equal(api.gateway.url, undefined);
    assert.equal(await refused(second), true, `the previous port ${second} still accepts connections`);
    // The window's own features are untouched.
    assert.equal(api.host.coordinator.registry.get('gw-box')?.state, 'available');
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('harombe.copyGatewayUrl'));
    // Back to a free port: it recovers without a reload.
    await set('port', second);
    await runningOn(second);
  });

  it('leaves a port held by another Harombe gateway alone, and takes it when asked again after it is freed', async () => {
    await runGatewayOn(second);
    otherGateway = new GatewayServer({ coordinator: api.host.coordinator, port: 0 });
    const otherUrl = await otherGateway.listen();
    const port = Number(new URL(otherUrl).port);
    await set('port', port);
    await until('the gateway to see the other Harombe gateway', () => status().state === 'elsewhere' && status().port === port);
    assert.equal(api.gateway.url, undefined);
    await otherGateway.close();
    otherGateway = undefined;
    await api.gateway.sync();
    await runningOn(port);
    await set('port', second);
    await runningOn(second);
  });

  it('stops when disabled: the port closes', async () => {
    await runGatewayOn(second);
    await set('enabled', false);
    await until('the gateway to stop', () => status().state === 'off');
    assert.equal(api.gateway.url, undefined);
    assert.doesNotMatch(api.statusBar.tooltipMarkdown, /Gateway/);
    assert.equal(await refused(second), true, `port ${second} still accepts connections after disabling the gateway`);
  });
});
