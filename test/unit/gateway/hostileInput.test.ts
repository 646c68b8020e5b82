import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Coordinator } from '../../../src/core/coordinator';
import type { ChatEvent } from '../../../src/core/chatEvent';
import { NodeError } from '../../../src/core/inference/nodeError';
import { createNodeDispatcher } from '../../../src/core/inference/nodeDispatcher';
import { nodeRequest } from '../../../src/core/inference/nodeRequest';
import { jsonTooDeep, MAX_JSON_DEPTH } from '../../../src/core/util/jsonDepth';
import { UNHANDLED_REJECTION_LOG } from '../../../src/cli/keepServing';
import { startFakeCluster, type FakeCluster } from '../../fakes/fakeCluster';
import { startGateway, type GatewayHarness } from './gatewayHarness';
import { builtCli } from '../build/builtCli';

/** JSON text of `levels` nested arrays: 6,000 levels is the ~12 KB body that used to end `harombe serve`. */
const nestedText = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
const nested = (levels: number): unknown => JSON.parse(nestedText(levels));
const deep = nestedText(6000);

/** Where a client can put a deep value: each API's body with it at one field. */
const hostileBodies: [path: string, body: string][] = [
  ['/api/chat', `{"model":"harombe","messages":[{"role":"user","content":"x"}],"x":${deep}}`],
  ['/api/chat', `{"model":"harombe","messages":[{"role":"user","content":"x"}],"options":{"stop":${deep}}}`],
  ['/api/chat', `{"model":"harombe","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":${deep}}}]}`],
  ['/api/chat', `{"model":"harombe","messages":[{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":{"a":${deep}}}}]},{"role":"user","content":"x"}]}`],
  ['/api/generate', `{"model":"harombe","prompt":"x","options":${deep.replace('[', '{"a":[').replace(/]$/, ']}')}}`],
  ['/v1/chat/completions', `{"model":"harombe","messages":[{"role":"user","content":"x"}],"x":${deep}}`],
  ['/v1/chat/completions', `{"model":"harombe","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":${deep}}}]}`],
  ['/cluster/execute', `{"prompt":"x","x":${deep}}`],
];

describe('hostile input: bodies nested too deep', function () {
  this.timeout(30_000);

  it('jsonTooDeep counts levels of arrays and objects, iteratively', () => {
    assert.equal(jsonTooDeep(nested(MAX_JSON_DEPTH)), false);
    assert.equal(jsonTooDeep(nested(MAX_JSON_DEPTH + 1)), true);
    assert.equal(jsonTooDeep({ a: { b: [1, { c: 'x' }] } }, 4), false);
    assert.equal(jsonTooDeep({ a: { b: [1, { c: 'x' }] } }, 3), true);
    // Far past what a recursive walk survives.
    assert.equal(jsonTooDeep(nested(200_000)), true);
    assert.equal(jsonTooDeep('text'), false);
  });

  it('nodeRequest rejects a body it cannot serialise as invalid_request, and leaves no timer armed', async () => {
    const dispatcher = createNodeDispatcher({ connectTimeoutMs: 50 });
    const endpoint = { baseUrl: 'http://127.0.0.1:9', connectTimeoutMs: 50, stallTimeoutMs: 50 };
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    // Measured once mocha has armed its own timeout timer for this test.
    await new Promise((r) => setImmediate(r));
    const before = timers();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const body of [nested(20_000), cyclic, { n: 1n }]) {
      const err = await nodeRequest(dispatcher, endpoint, { path: '/api/chat', body, accept: 'application/json' }).then(
        () => assert.fail('resolved'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof NodeError, String(err));
      assert.equal(err.kind, 'invalid_request');
      assert.equal(err.countsAgainstNode, false);
      assert.equal(err.worthRetrying, false);
    }
    // The crash was a connect timer armed before the body was serialised, later rejecting a
    // promise nobody held: no timer may outlive the call.
    assert.equal(timers(), before, String(process.getActiveResourcesInfo()));
    await dispatcher.close();
  });

  describe('through the gateway', () => {
    let h: GatewayHarness;
    afterEach(async () => {
      await h?.stop();
    });

    it('answers 400 in the API error shape before any node is tried, and blames no node', async () => {
      h = await startGateway([{ name: 'a', tier: 0 }, { name: 'b', tier: 1 }, { name: 'c', tier: 2 }]);
      for (const [path, body] of hostileBodies) {
        assert.ok(body.length > 12_000, 'the probe is the reported size');
        const res = await fetch(`${h.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        assert.equal(res.status, 400, `${path}: ${body.slice(0, 120)}`);
        const json = (await res.json()) as { error: string | { message: string; type: string } };
        const message = typeof json.error === 'string' ? json.error : json.error.message;
        if (path.startsWith('/v1/')) assert.equal(typeof json.error === 'object' && json.error.type, 'invalid_request_error');
        else assert.equal(typeof json.error, 'string');
        assert.match(message, new RegExp(`deeper than ${MAX_JSON_DEPTH} levels`));
      }
      const inference = ['/api/chat', '/api/generate', '/v1/chat/completions', '/api/complete'];
      for (const name of ['a', 'b', 'c']) assert.equal(h.cluster.node(name).requests.filter((r) => inference.includes(r.path)).length, 0, `node ${name} was reached`);
      for (const n of h.coordinator.registry.list()) assert.equal(n.breaker.state, 'closed', n.name);
      // And the gateway still answers.
      const ok = await fetch(`${h.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'harombe', messages: [{ role: 'user', content: 'hi' }], stream: false }) });
      assert.equal(ok.status, 200);
    });
  });

  describe('through the coordinator (the agent and the in-editor gateway)', () => {
    let cluster: FakeCluster;
    let coordinator: Coordinator;
    afterEach(async () => {
      coordinator?.dispose();
      await cluster?.stop();
    });

    it('a model-made tool argument too deep to send ends the turn with invalid_request; no node is blamed or tried twice', async () => {
      cluster = await startFakeCluster([{ name: 'a', tier: 0 }, { name: 'b', tier: 0 }], { timeouts: { connect: 0.2, stall: 0.5 }, health: { timeout: 0.5, interval: 60 } });
      coordinator = new Coordinator({ config: cluster.config });
      await coordinator.prober.sweep();
      const events: ChatEvent[] = [];
      for await (const e of coordinator.complete({
        tier: 0,
        messages: [
          { role: 'user', content: 'go' },
          { role: 'assistant', content: '', tool_calls: [{ id: 'c1', name: 'f', arguments: { a: nested(20_000) } }] },
          { role: 'tool', content: 'ok', tool_call_id: 'c1', name: 'f' },
        ],
      })) events.push(e);
      const last = events.at(-1);
      assert.equal(last?.type, 'error');
      assert.equal(last.type === 'error' && last.code, 'invalid_request');
      assert.equal(events.filter((e) => e.type === 'fallback').length, 0);
      for (const n of coordinator.registry.list()) {
        assert.equal(n.breaker.state, 'closed');
        assert.equal(n.stateReason, undefined);
      }
    });
  });

  describe('harombe serve (the bundled CLI, as users run it)', () => {
    let cluster: FakeCluster;
    let dir: string;
    let child: ChildProcess | undefined;
    afterEach(async () => {
      if (child && child.exitCode === null) child.kill('SIGKILL');
      await cluster?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('answers the 12 KB request with 400 and stays up; nothing is left to reject later', async () => {
      cluster = await startFakeCluster([{ name: 'laptop', tier: 0 }]);
      dir = mkdtempSync(join(tmpdir(), 'harombe-hostile-'));
      writeFileSync(join(dir, 'harombe.yaml'), cluster.yaml);
      const proc = spawn(process.execPath, [builtCli(), '--config', join(dir, 'harombe.yaml'), 'serve', '--port', '0'], {
        env: { ...process.env, HAROMBE_HOME: join(dir, 'home'), NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = proc;
      let stderr = '';
      proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
      const url = await new Promise<string>((resolveUrl, reject) => {
        let out = '';
        proc.stdout?.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
          if (m) resolveUrl(m[1] as string);
        });
        void exited.then((code) => reject(new Error(`serve exited with ${code} before listening: ${stderr}`)));
      });
      for (const [path, body] of hostileBodies) {
        const res = await fetch(`${url}${path}`, { method: 'POST', body });
        assert.equal(res.status, 400, path);
      }
      // A plain chat afterwards is still answered, and the process exits only when told to, with 0.
      const ok = await fetch(`${url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'harombe', messages: [{ role: 'user', content: 'hi' }], stream: false }) });
      assert.equal(ok.status, 200);
      assert.equal(proc.exitCode, null, stderr);
      proc.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      assert.ok(!stderr.includes(UNHANDLED_REJECTION_LOG), stderr);
    });
  });
});
