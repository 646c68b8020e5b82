import { strict as assert } from 'node:assert';
import { inspect } from 'node:util';
import { buildConfig } from '../../../src/core/config/buildConfig';
import { ConfigError } from '../../../src/core/config/configError';
import { Conversation } from '../../../src/core/conversation';
import { Coordinator } from '../../../src/core/coordinator';
import type { Logger } from '../../../src/core/util/logger';
import { startFakeCluster, type FakeCluster } from '../../fakes/fakeCluster';
import { testTokens } from '../../security/testTokens';

const NODE_TOKEN = testTokens.node;
const DEAD_TOKEN = testTokens.dead;
const CONFIG_TOKEN = testTokens.config;
const ALL = [NODE_TOKEN, DEAD_TOKEN, CONFIG_TOKEN];

/** A logger that keeps every line, with its arguments rendered as a real log channel would. */
function capturingLogger(lines: string[]): Logger {
  const keep = (level: string) => (message: string | Error, ...args: unknown[]) => {
    lines.push(`${level} ${message instanceof Error ? `${message.message}\n${message.stack ?? ''} ${inspect(message.cause, { depth: 5 })}` : message} ${args.map((a) => inspect(a, { depth: 5 })).join(' ')}`);
  };
  return { trace: keep('trace'), debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error') };
}

function assertNoToken(haystack: string, what: string): void {
  for (const t of ALL) assert.ok(!haystack.includes(t), `${what} contains a token: …${haystack.slice(Math.max(0, haystack.indexOf(t) - 120), haystack.indexOf(t) + 40)}…`);
}

describe('secrets: tokens never appear in logs, events or errors', function () {
  this.timeout(30_000);
  let cluster: FakeCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('a coordinator whose nodes carry tokens: chat, a dead node, health sweeps', async () => {
    cluster = await startFakeCluster([{ name: 'a', tier: 0 }], { timeouts: { connect: 1, stall: 0.5 }, health: { timeout: 0.5, interval: 60 } });
    const config = structuredClone(cluster.config);
    const live = config.cluster.nodes[0];
    assert.ok(live);
    live.auth = NODE_TOKEN;
    // A node that refuses connections, at tier 0 too, so routing tries it and fails over.
    config.cluster.nodes.push({ ...live, name: 'dead', host: '127.0.0.1', port: 1, auth: DEAD_TOKEN });
    const lines: string[] = [];
    const coordinator = new Coordinator({ config, logger: capturingLogger(lines) });
    try {
      await coordinator.prober.sweep();
      const seen: string[] = [];
      for (let i = 0; i < 3; i++) {
        try {
          for await (const e of coordinator.chat({ conversation: new Conversation(), prompt: `hello ${i}`, tier: 0 })) seen.push(inspect(e, { depth: 6 }));
        } catch (err) {
          seen.push(inspect(err, { depth: 6 }));
        }
      }
      seen.push(inspect(coordinator.nodes(), { depth: 6 }));
      assert.ok(lines.length > 0, 'nothing was logged');
      assertNoToken(lines.join('\n'), 'the log');
      assertNoToken(seen.join('\n'), 'chat events, errors and node info');
      // The live node did get its token: the test would prove nothing if tokens were never sent.
      const sent = cluster.node('a').requests.filter((r) => r.headers.authorization === `Bearer ${NODE_TOKEN}`);
      assert.ok(sent.length > 0, `the live node never received its token in ${cluster.node('a').requests.length} request(s)`);
    } finally {
      coordinator.dispose();
    }
  });

  it('config errors about auth keys never quote the token', () => {
    const texts = [
      `cluster:\n  nodes:\n    - name: a\n      host: h\n      port: 99999\n      model: m\n      tier: 0\n      auth: ${CONFIG_TOKEN}\n`,
      `cluster:\n  nodes:\n    - name: a\n      host: h\n      port: 1\n      model: m\n      tier: 0\n      auth: [${CONFIG_TOKEN}]\n`,
      `cluster:\n  nodes:\n    - name: a\n      host: h\n      port: 1\n      model: m\n      tier: 0\n      auth:\n        token: ${CONFIG_TOKEN}\n`,
      `cluster:\n  nodes:\n    - name: a\n      host: h\n      port: 1\n      model: m\n      tier: 7\n      auth_token: ${CONFIG_TOKEN}\n      auht: ${CONFIG_TOKEN}\n`,
      `server:\n  auth_token: {x: ${CONFIG_TOKEN}}\n`,
      `server:\n  auth_token: ${CONFIG_TOKEN}\n  port: nope\n`,
      `server:\n  auth_token: "${CONFIG_TOKEN}\n`,
    ];
    let errors = 0;
    for (const text of texts) {
      try {
        const r = buildConfig([{ file: '/w/.harombe/harombe.yaml', text }], { env: {} });
        assertNoToken(inspect(r.warnings), `warnings for ${JSON.stringify(text)}`);
      } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        errors++;
        assertNoToken(`${err.message}\n${err.format()}\n${inspect(err.problems)}`, `ConfigError for ${JSON.stringify(text)}`);
      }
    }
    assert.ok(errors >= 5, `only ${errors} configs failed`);
  });
});
