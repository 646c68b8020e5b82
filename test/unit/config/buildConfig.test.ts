import { strict as assert } from 'node:assert';
import { buildConfig } from '../../../src/core/config/buildConfig';
import type { ConfigError } from '../../../src/core/config/configError';
import { harombeConfigSchema } from '../../../src/core/config/schema';
import { expectConfigError, fixturePath, fixtureText, positionOf, problemStartingWith } from './configTestKit';

function buildFixture(name: string, env: Record<string, string | undefined> = {}) {
  return buildConfig([{ file: fixturePath(name), text: fixtureText(name) }], { env });
}

describe('buildConfig: YAML in Harombe\'s own format', () => {
  it('loads the cluster guide\'s coordinator file unchanged, with no warnings', () => {
    const { config, warnings, files } = buildFixture('guide-coordinator.yaml');
    assert.deepEqual(warnings, []);
    assert.deepEqual(files, [fixturePath('guide-coordinator.yaml')]);
    assert.equal(config.model.name, 'qwen2.5:7b');
    assert.equal(config.model.temperature, 0.7);
    assert.equal(config.agent.max_steps, 10);
    assert.deepEqual(config.tools, { shell: true, filesystem: true, web_search: true, confirm_dangerous: true });
    assert.deepEqual(config.cluster.routing, { prefer_local: true, fallback_strategy: 'graceful', load_balance: true });
    assert.deepEqual(
      config.cluster.nodes.map((n) => [n.name, n.host, n.port, n.model, n.tier]),
      [
        ['laptop', 'localhost', 8000, 'qwen2.5:7b', 0],
        ['workstation', '192.168.1.100', 8000, 'qwen2.5:14b', 1],
        ['server', '192.168.1.200', 8000, 'qwen2.5:72b', 2],
      ],
    );
    // Defaults fill what the guide leaves out.
    assert.equal(config.cluster.nodes[0]?.kind, 'harombe');
    assert.equal(config.cluster.nodes[0]?.enabled, true);
    assert.equal(config.cluster.discovery.method, 'explicit');
  });

  it('loads the guide\'s worker-node file (model.name, server.host/port, ollama.host)', () => {
    const { config, warnings } = buildFixture('guide-node.yaml');
    assert.deepEqual(warnings, []);
    assert.equal(config.model.name, 'qwen2.5:14b');
    assert.equal(config.server.host, '0.0.0.0');
    assert.equal(config.server.port, 8000);
    assert.equal(config.ollama.host, 'http://localhost:11434');
    assert.deepEqual(config.cluster.nodes, []);
  });

  it('loads the ARCHITECTURE.md example, taking the server token from the environment', () => {
    const { config, warnings } = buildFixture('architecture-example.yaml', { HAROMBE_SERVER_TOKEN: 'tok-123' });
    assert.deepEqual(warnings, []);
    assert.equal(config.cluster.discovery.method, 'mdns');
    assert.equal(config.cluster.discovery.service, '_harombe._tcp.local');
    assert.equal(config.cluster.nodes.find((n) => n.name === 'server')?.auth, 'tok-123');
    assert.equal(config.cluster.nodes.find((n) => n.name === 'laptop')?.auth, undefined);
  });

  it('accepts the Python release\'s unused sections and its key spellings without warnings', () => {
    const { config, warnings } = buildFixture('python-sections.yaml');
    assert.deepEqual(warnings, []);
    assert.equal(config.model.context_length, 8192);
    assert.equal(config.cluster.discovery.mdns_service, '_harombe._tcp.local');
    assert.equal(config.cluster.nodes[0]?.auth_token, 'abc123');
  });

  it('reads bare yes/no/on/off as booleans, as PyYAML does', () => {
    const { config } = buildFixture('python-booleans.yaml');
    assert.deepEqual(config.tools, { shell: true, filesystem: true, web_search: false, confirm_dangerous: true });
    assert.equal(config.cluster.routing.load_balance, false);
  });

  it('keeps a quoted "yes" a string, so it is rejected where a boolean is expected', () => {
    const text = 'tools:\n  shell: "yes"\n';
    const err = expectConfigError(() => buildConfig([{ file: 'q.yaml', text }], { env: {} }));
    assert.equal(problemStartingWith(err.problems, 'tools.shell:').message, 'tools.shell: expected true or false, got "yes"');
  });

  it('treats an empty file, a comments-only file and emptied sections as "use the defaults"', () => {
    const defaults = harombeConfigSchema.parse({});
    for (const name of ['empty.yaml', 'comments-only.yaml', 'empty-sections.yaml']) {
      const { config, warnings } = buildFixture(name);
      assert.deepEqual(config, defaults, name);
      assert.deepEqual(warnings, [], name);
    }
  });

  it('follows anchors and << merge keys, explicit keys winning', () => {
    const { config, warnings } = buildFixture('anchors.yaml');
    assert.deepEqual(
      config.cluster.nodes.map((n) => [n.name, n.host, n.port, n.kind, n.model]),
      [
        ['a', '10.0.0.1', 11434, 'ollama', 'llama3.1:8b'],
        ['b', '10.0.0.2', 11434, 'ollama', 'llama3.1:70b'],
      ],
    );
    // The anchor's holder is not a config key, so it is reported, not silently swallowed.
    assert.deepEqual(warnings.map((w) => w.path), ['x-node']);
  });

  it('refuses a document whose aliases expand without end', () => {
    // Nine levels of ten aliases each would be a billion nodes if expanded.
    let text = 'l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 9; i++) text += `l${i}: &l${i} [${Array.from({ length: 10 }, () => `*l${i - 1}`).join(', ')}]\n`;
    const e = expectConfigError(() => buildConfig([{ file: 'bomb.yaml', text }], { env: {} }));
    assert.match(e.format(), /too many alias expansions/);
  });

  it('with no source at all gives the defaults and an empty cluster', () => {
    const { config, files } = buildConfig([], { env: {} });
    assert.deepEqual(config.cluster.nodes, []);
    assert.deepEqual(files, []);
    assert.equal(config.cluster.routing.fallback_strategy, 'graceful');
  });
});

describe('buildConfig: unknown keys', () => {
  it('warns with the key\'s line and column, suggests near misses, and still loads', () => {
    const name = 'unknown-keys.yaml';
    const text = fixtureText(name);
    const { config, warnings } = buildFixture(name);
    assert.equal(config.cluster.routing.prefer_local, false);
    assert.equal(config.model.temperature, 0.7, 'the misspelt key is ignored, not applied');
    assert.deepEqual(
      warnings.map((w) => ({ line: w.line, column: w.column, message: w.message, severity: w.severity, file: w.file })),
      [
        { ...positionOf(text, 'temprature'), message: 'model.temprature: unknown key "temprature", ignored (did you mean "temperature"?)', severity: 'warning', file: fixturePath(name) },
        { ...positionOf(text, 'gpu'), message: 'cluster.nodes[0].gpu: unknown key "gpu", ignored', severity: 'warning', file: fixturePath(name) },
        { ...positionOf(text, 'telemetry'), message: 'telemetry: unknown key "telemetry", ignored', severity: 'warning', file: fixturePath(name) },
      ],
    );
  });
});

describe('buildConfig: bad values', () => {
  const name = 'bad-values.yaml';
  const text = fixtureText(name);
  const file = fixturePath(name);
  let err: ConfigError;
  before(() => {
    err = expectConfigError(() => buildFixture(name));
  });

  const cases: { prefix: string; message: string; at: [string, number?] }[] = [
    { prefix: 'model.temperature:', message: 'model.temperature: expected a number 0–2, got 3', at: ['3'] },
    { prefix: 'agent.max_steps:', message: 'agent.max_steps: expected an integer 1–50, got "ten"', at: ['ten'] },
    { prefix: 'tools.shell:', message: 'tools.shell: expected true or false, got "maybe"', at: ['maybe'] },
    { prefix: 'cluster.routing.fallback_strategy:', message: 'cluster.routing.fallback_strategy: expected "graceful" or "strict", got "sometimes"', at: ['sometimes'] },
    { prefix: 'cluster.health:', message: 'cluster.health: expected a mapping (indented "key: value" lines), got 10', at: ['10'] },
    { prefix: 'cluster.nodes[0]:', message: 'cluster.nodes[0]: missing required key "model" (model the node runs, e.g. qwen2.5:14b)', at: ['name: laptop'] },
    { prefix: 'cluster.nodes[1].port:', message: 'cluster.nodes[1].port: expected an integer 1–65535, got 70000', at: ['70000'] },
    { prefix: 'cluster.nodes[1].tier:', message: 'cluster.nodes[1].tier: expected an integer 0, 1 or 2, got 5', at: ['5\n'] },
    { prefix: 'cluster.nodes[2].host:', message: 'cluster.nodes[2].host: expected a non-empty string, got ""', at: ['""'] },
    { prefix: 'cluster.nodes[2].port:', message: 'cluster.nodes[2].port: expected an integer 1–65535, got "8000"', at: ['"8000"'] },
    { prefix: 'cluster.nodes[2].tier:', message: 'cluster.nodes[2].tier: expected an integer 0, 1 or 2, got 1.5', at: ['1.5'] },
    { prefix: 'cluster.nodes[2].kind:', message: 'cluster.nodes[2].kind: expected "harombe", "ollama" or "openai", got "vllm"', at: ['vllm'] },
    { prefix: 'cluster.nodes[2].auth:', message: 'cluster.nodes[2].auth: expected a string, got a number', at: ['12345'] },
    { prefix: 'cluster.nodes[3].name:', message: 'cluster.nodes[3].name: duplicate node name "laptop" (already used at line 12); node names must be unique', at: ['laptop', 2] },
  ];

  for (const c of cases) {
    it(`${c.prefix} reported at the value's file:line:col`, () => {
      const p = problemStartingWith(err.problems, c.prefix);
      assert.equal(p.message, c.message);
      assert.equal(p.severity, 'error');
      assert.equal(p.file, file);
      assert.deepEqual({ line: p.line, column: p.column }, positionOf(text, c.at[0], c.at[1]));
    });
  }

  it('reports every problem of the file in one pass, in reading order', () => {
    assert.equal(err.errors.length, cases.length);
    const lines = err.errors.map((p) => p.line);
    assert.deepEqual(lines, [...lines].sort((a, b) => a - b));
  });

  it('never echoes a secret in a message', () => {
    assert.ok(!err.format().includes('12345'));
  });

  it('points an empty value at its key', () => {
    const t = 'server:\n  port:\n';
    const e = expectConfigError(() => buildConfig([{ file: 'e.yaml', text: t }], { env: {} }));
    const p = problemStartingWith(e.problems, 'server.port:');
    assert.equal(p.message, 'server.port: expected an integer 1–65535, got an empty value');
    assert.deepEqual([p.line, p.column], [2, 3]);
  });

  it('rejects a top level that is not a mapping', () => {
    const e = expectConfigError(() => buildFixture('top-level-list.yaml'));
    const p = problemStartingWith(e.problems, 'expected a mapping at the top level');
    assert.deepEqual([p.line, p.column], [1, 1]);
  });

  it('reports the missing key of a node with no name at the node', () => {
    const t = 'cluster:\n  nodes:\n    - host: a\n      model: m\n      tier: 0\n';
    const e = expectConfigError(() => buildConfig([{ file: 'n.yaml', text: t }], { env: {} }));
    const p = problemStartingWith(e.problems, 'cluster.nodes[0]:');
    assert.equal(p.message, 'cluster.nodes[0]: missing required key "name" (your name for this node, e.g. laptop or gpu-box)');
    assert.equal(p.path, 'cluster.nodes[0].name');
    assert.deepEqual([p.line, p.column], [3, 7]);
  });
});

describe('buildConfig: YAML syntax errors', () => {
  it('carry the position yaml gives them', () => {
    const name = 'bad-indent.yaml';
    const e = expectConfigError(() => buildFixture(name));
    assert.equal(e.errors.length, 1);
    const p = e.errors[0];
    assert.ok(p);
    assert.match(p.message, /^YAML syntax error: /);
    assert.equal(p.file, fixturePath(name));
    assert.equal(p.line, positionOf(fixtureText(name), '   load_balance').line);
  });

  it('report an unclosed quote instead of loading half a file', () => {
    const e = expectConfigError(() => buildFixture('syntax-error.yaml'));
    assert.ok(e.errors.some((p) => /quote/i.test(p.message) && p.line >= 5), e.format());
  });

  it('report a key written twice at the second one', () => {
    const t = 'model:\n  name: a\nmodel:\n  name: b\n';
    const e = expectConfigError(() => buildConfig([{ file: 'd.yaml', text: t }], { env: {} }));
    const p = e.errors[0];
    assert.ok(p && /unique/i.test(p.message), e.format());
    assert.equal(p.line, 3);
  });
});

describe('buildConfig: ${env:NAME} interpolation', () => {
  const name = 'env.yaml';
  const text = fixtureText(name);
  const fullEnv = {
    OLLAMA_HOST: 'gpu-box.lan',
    HAROMBE_PORT: '9000',
    HAROMBE_NODE_TOKEN: 'node-secret',
    HAROMBE_SHELL: 'false',
    SERVER_HOST: '10.0.0.7',
    HAROMBE_SERVER_TOKEN: 'server-secret',
  };

  it('replaces variables inside and as whole values, typed by the schema', () => {
    const { config } = buildFixture(name, fullEnv);
    assert.equal(config.ollama.host, 'http://gpu-box.lan:11434');
    assert.equal(config.server.port, 9000);
    assert.equal(config.server.auth_token, 'node-secret');
    assert.equal(config.tools.shell, false);
    assert.equal(config.cluster.nodes[0]?.host, '10.0.0.7');
    assert.equal(config.cluster.nodes[0]?.auth, 'server-secret');
  });

  it('keeps a variable\'s value a string where the schema wants one, even if it looks like a number', () => {
    const { config } = buildFixture(name, { ...fullEnv, HAROMBE_SERVER_TOKEN: '12345' });
    assert.equal(config.cluster.nodes[0]?.auth, '12345');
  });

  it('makes an unset token an error at the reference, not a silently missing token', () => {
    const env: Record<string, string> = { ...fullEnv };
    delete env.HAROMBE_SERVER_TOKEN;
    const e = expectConfigError(() => buildFixture(name, env));
    assert.equal(e.errors.length, 1, e.format());
    const p = e.errors[0];
    assert.ok(p);
    assert.match(p.message, /^cluster\.nodes\[0\]\.auth: environment variable HAROMBE_SERVER_TOKEN is not set \(referenced as \$\{env:HAROMBE_SERVER_TOKEN\}\)/);
    assert.deepEqual({ line: p.line, column: p.column }, positionOf(text, '${env:HAROMBE_SERVER_TOKEN}'));
  });

  it('makes an empty variable an error too', () => {
    const e = expectConfigError(() => buildFixture(name, { ...fullEnv, SERVER_HOST: '' }));
    const p = problemStartingWith(e.problems, 'cluster.nodes[0].host:');
    assert.match(p.message, /SERVER_HOST is empty/);
  });

  it('points at the reference inside a longer string', () => {
    const env: Record<string, string> = { ...fullEnv };
    delete env.OLLAMA_HOST;
    const e = expectConfigError(() => buildFixture(name, env));
    const p = problemStartingWith(e.problems, 'ollama.host:');
    assert.deepEqual({ line: p.line, column: p.column }, positionOf(text, '${env:OLLAMA_HOST}'));
  });

  it('reports the unset variable once, not again as a wrong type', () => {
    const env: Record<string, string> = { ...fullEnv };
    delete env.HAROMBE_PORT;
    const e = expectConfigError(() => buildFixture(name, env));
    assert.equal(e.errors.filter((p) => p.message.startsWith('server.port:')).length, 1, e.format());
  });

  it('rejects a variable whose value does not fit the schema, at the reference', () => {
    const e = expectConfigError(() => buildFixture(name, { ...fullEnv, HAROMBE_PORT: 'eighty' }));
    const p = problemStartingWith(e.problems, 'server.port:');
    assert.equal(p.message, 'server.port: expected an integer 1–65535, got "eighty"');
  });

  it('warns about ${NAME} written without env:, leaving it as written', () => {
    const t = 'agent:\n  system_prompt: hello ${USER}\n';
    const { config, warnings } = buildConfig([{ file: 'w.yaml', text: t }], { env: { USER: 'ann' } });
    assert.equal(config.agent.system_prompt, 'hello ${USER}');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]?.message ?? '', /write \$\{env:USER\}/);
    assert.deepEqual([warnings[0]?.line, warnings[0]?.column], [2, 24]);
  });

  it('rejects a malformed reference', () => {
    const t = 'ollama:\n  host: ${env:not-a-name}\n';
    const e = expectConfigError(() => buildConfig([{ file: 'm.yaml', text: t }], { env: {} }));
    assert.match(problemStartingWith(e.problems, 'ollama.host:').message, /not a valid variable reference/);
  });
});
