import { strict as assert } from 'node:assert';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../src/core/config/loadConfig';
import { resolveConfigFiles } from '../../../src/core/config/resolveConfigFiles';
import { expectConfigError, fixturePath, positionOf, problemStartingWith, tempDir } from './configTestKit';

/** A user home (`~/.harombe`) and a workspace folder in a temp dir. */
function setup() {
  const t = tempDir();
  const home = join(t.dir, 'home', '.harombe');
  const cwd = join(t.dir, 'work');
  mkdirSync(home, { recursive: true });
  mkdirSync(cwd, { recursive: true });
  const userFile = join(home, 'harombe.yaml');
  const workspaceFile = join(cwd, '.harombe', 'harombe.yaml');
  const writeUser = (text: string) => writeFileSync(userFile, text);
  const writeWorkspace = (text: string) => {
    mkdirSync(join(cwd, '.harombe'), { recursive: true });
    writeFileSync(workspaceFile, text);
  };
  return { ...t, home, cwd, userFile, workspaceFile, writeUser, writeWorkspace };
}

const userYaml = `model:
  name: qwen2.5:7b
server:
  cors_origins: [http://a, http://b]
cluster:
  routing:
    prefer_local: false
  nodes:
    - name: laptop
      host: localhost
      model: qwen2.5:7b
      tier: 0
    - name: server
      host: 192.168.1.200
      model: qwen2.5:72b
      tier: 2
`;

const workspaceYaml = `server:
  cors_origins: [http://c]
cluster:
  routing:
    fallback_strategy: strict
  nodes:
    - name: server
      tier: 1
      auth: ws-token
    - name: gpu-box
      host: 10.0.0.5
      model: llama3.1:70b
      tier: 2
`;

describe('resolveConfigFiles', () => {
  let s: ReturnType<typeof setup>;
  beforeEach(() => {
    s = setup();
  });
  afterEach(() => s.cleanup());

  it('uses ~/.harombe/harombe.yaml then the workspace\'s .harombe/harombe.yaml, keeping only those that exist', () => {
    const none = resolveConfigFiles({ env: {}, cwd: s.cwd, home: s.home });
    assert.equal(none.source, 'default');
    assert.deepEqual(none.candidates.map((c) => [c.path, c.required, c.exists]), [
      [s.userFile, false, false],
      [s.workspaceFile, false, false],
    ]);
    assert.deepEqual(none.files, []);
    s.writeWorkspace('model: {}\n');
    assert.deepEqual(resolveConfigFiles({ env: {}, cwd: s.cwd, home: s.home }).files, [s.workspaceFile]);
    s.writeUser('model: {}\n');
    assert.deepEqual(resolveConfigFiles({ env: {}, cwd: s.cwd, home: s.home }).files, [s.userFile, s.workspaceFile]);
  });

  it('lets $HAROMBE_CONFIG replace both files, and an explicit file win over $HAROMBE_CONFIG', () => {
    s.writeUser('model: {}\n');
    const byEnv = resolveConfigFiles({ env: { HAROMBE_CONFIG: 'env.yaml' }, cwd: s.cwd, home: s.home });
    assert.equal(byEnv.source, 'env');
    assert.deepEqual(byEnv.candidates.map((c) => [c.path, c.required]), [[join(s.cwd, 'env.yaml'), true]]);
    const explicit = resolveConfigFiles({ explicitFile: '/etc/h.yaml', env: { HAROMBE_CONFIG: 'env.yaml' }, cwd: s.cwd, home: s.home });
    assert.equal(explicit.source, 'explicit');
    assert.deepEqual(explicit.candidates.map((c) => c.path), ['/etc/h.yaml']);
  });

  it('leaves the workspace file out of an untrusted workspace', () => {
    s.writeUser('model: {}\n');
    s.writeWorkspace('model: {}\n');
    const r = resolveConfigFiles({ env: {}, cwd: s.cwd, home: s.home, trustWorkspace: false });
    assert.deepEqual(r.candidates.map((c) => c.path), [s.userFile]);
    assert.deepEqual(r.files, [s.userFile]);
  });

  it('reads one file once when the workspace is the home folder itself', () => {
    const homeParent = join(s.home, '..');
    const r = resolveConfigFiles({ env: {}, cwd: homeParent, home: s.home });
    assert.deepEqual(r.candidates.map((c) => c.path), [s.userFile]);
  });
});

describe('loadConfig', () => {
  let s: ReturnType<typeof setup>;
  beforeEach(() => {
    s = setup();
  });
  afterEach(() => s.cleanup());

  it('with no file gives the defaults with an empty cluster', () => {
    const r = loadConfig({ env: {}, cwd: s.cwd, home: s.home });
    assert.deepEqual(r.files, []);
    assert.deepEqual(r.config.cluster.nodes, []);
    assert.deepEqual(r.warnings, []);
  });

  it('loads the guide file given with --config', () => {
    const r = loadConfig({ explicitFile: fixturePath('guide-coordinator.yaml'), env: {}, cwd: s.cwd, home: s.home });
    assert.deepEqual(r.files, [fixturePath('guide-coordinator.yaml')]);
    assert.equal(r.config.cluster.nodes.length, 3);
  });

  it('fails clearly for an explicit file that does not exist, without falling back', () => {
    s.writeUser(userYaml);
    const missing = join(s.cwd, 'nope.yaml');
    const e = expectConfigError(() => loadConfig({ explicitFile: 'nope.yaml', env: {}, cwd: s.cwd, home: s.home }));
    assert.equal(e.errors.length, 1);
    assert.equal(e.errors[0]?.file, missing);
    assert.match(e.errors[0]?.message ?? '', /config file not found; it was named explicitly/);
    const byEnv = expectConfigError(() => loadConfig({ env: { HAROMBE_CONFIG: missing }, cwd: s.cwd, home: s.home }));
    assert.match(byEnv.errors[0]?.message ?? '', /named by \$HAROMBE_CONFIG/);
  });

  it('reports a folder given as the config file', () => {
    const e = expectConfigError(() => loadConfig({ explicitFile: s.cwd, env: {}, cwd: s.cwd, home: s.home }));
    assert.match(e.errors[0]?.message ?? '', /cannot read config file/);
  });

  it('merges the workspace file over the user file: objects deeply, lists replaced, nodes by name', () => {
    s.writeUser(userYaml);
    s.writeWorkspace(workspaceYaml);
    const { config, files, warnings } = loadConfig({ env: {}, cwd: s.cwd, home: s.home });
    assert.deepEqual(files, [s.userFile, s.workspaceFile]);
    assert.deepEqual(warnings, []);
    assert.equal(config.model.name, 'qwen2.5:7b', 'user-only keys survive');
    assert.deepEqual(config.cluster.routing, { prefer_local: false, fallback_strategy: 'strict', load_balance: true });
    assert.deepEqual(config.server.cors_origins, ['http://c'], 'a list is replaced, not concatenated');
    assert.deepEqual(
      config.cluster.nodes.map((n) => [n.name, n.host, n.model, n.tier, n.auth]),
      [
        ['laptop', 'localhost', 'qwen2.5:7b', 0, undefined],
        ['server', '192.168.1.200', 'qwen2.5:72b', 1, 'ws-token'],
        ['gpu-box', '10.0.0.5', 'llama3.1:70b', 2, undefined],
      ],
    );
  });

  it('names the workspace file, line and column for a bad value there', () => {
    s.writeUser(userYaml);
    const bad = workspaceYaml.replace('tier: 1', 'tier: 7');
    s.writeWorkspace(bad);
    const e = expectConfigError(() => loadConfig({ env: {}, cwd: s.cwd, home: s.home }));
    assert.equal(e.errors.length, 1, e.format());
    const p = e.errors[0];
    assert.ok(p);
    assert.equal(p.file, s.workspaceFile);
    assert.deepEqual({ line: p.line, column: p.column }, positionOf(bad, '7'));
    // The path is the one in that file: `server` is the workspace's first node, the merged config's second.
    assert.equal(p.message, 'cluster.nodes[0].tier: expected an integer 0, 1 or 2, got 7');
    assert.equal(e.format(), `${s.workspaceFile}:${p.line}:${p.column} cluster.nodes[0].tier: expected an integer 0, 1 or 2, got 7`);
  });

  it('names the user file for a bad value there, even when the workspace file merges over it', () => {
    const bad = userYaml.replace('host: localhost', 'host: ""');
    s.writeUser(bad);
    s.writeWorkspace(workspaceYaml);
    const e = expectConfigError(() => loadConfig({ env: {}, cwd: s.cwd, home: s.home }));
    const p = problemStartingWith(e.problems, 'cluster.nodes[0].host:');
    assert.equal(p.file, s.userFile);
    assert.deepEqual({ line: p.line, column: p.column }, positionOf(bad, '""'));
  });

  it('reports a workspace node that adds a new name without its required keys in the workspace file', () => {
    s.writeUser(userYaml);
    const ws = 'cluster:\n  nodes:\n    - name: typo-server\n      tier: 1\n';
    s.writeWorkspace(ws);
    const e = expectConfigError(() => loadConfig({ env: {}, cwd: s.cwd, home: s.home }));
    const hostProblem = problemStartingWith(e.problems, 'cluster.nodes[0]: missing required key "host"');
    assert.equal(hostProblem.file, s.workspaceFile);
    assert.deepEqual({ line: hostProblem.line, column: hostProblem.column }, positionOf(ws, 'name: typo-server'));
  });

  it('reports a YAML error in one file without judging the other', () => {
    s.writeUser(userYaml);
    s.writeWorkspace('cluster:\n  nodes: [\n');
    const e = expectConfigError(() => loadConfig({ env: {}, cwd: s.cwd, home: s.home }));
    assert.ok(e.errors.length >= 1);
    assert.ok(e.errors.every((p) => p.file === s.workspaceFile), e.format());
  });

  it('warns about unknown keys in the file they are in', () => {
    s.writeUser('modle:\n  name: x\n');
    s.writeWorkspace('tools:\n  shel: false\n');
    const { warnings } = loadConfig({ env: {}, cwd: s.cwd, home: s.home });
    assert.deepEqual(
      warnings.map((w) => [w.file, w.line, w.column, w.path]),
      [
        [s.userFile, 1, 1, 'modle'],
        [s.workspaceFile, 2, 3, 'tools.shel'],
      ],
    );
    assert.match(warnings[0]?.message ?? '', /did you mean "model"/);
  });

  it('lets settings overrides fill in only what no YAML file sets', () => {
    s.writeUser(userYaml);
    const { config } = loadConfig({
      env: {},
      cwd: s.cwd,
      home: s.home,
      overrides: {
        model: { name: 'from-settings', temperature: 0.2 },
        cluster: {
          routing: { prefer_local: true, load_balance: false },
          nodes: [
            { name: 'laptop', host: 'settings-host', max_parallel: 9 },
            { name: 'extra', host: '10.0.0.9', model: 'm', tier: 1 },
          ],
        },
      },
    });
    assert.equal(config.model.name, 'qwen2.5:7b', 'YAML wins');
    assert.equal(config.model.temperature, 0.2, 'settings fill in');
    assert.deepEqual(config.cluster.routing, { prefer_local: false, fallback_strategy: 'graceful', load_balance: false });
    const laptop = config.cluster.nodes.find((n) => n.name === 'laptop');
    assert.equal(laptop?.host, 'localhost');
    assert.equal(laptop?.max_parallel, 9);
    assert.deepEqual(config.cluster.nodes.map((n) => n.name).sort(), ['extra', 'laptop', 'server']);
  });

  it('names the settings for a bad override, with its path and no line', () => {
    const e = expectConfigError(() =>
      loadConfig({ env: {}, cwd: s.cwd, home: s.home, overrides: { cluster: { routing: { fallback_strategy: 'sometimes' as 'strict' } } }, overridesLabel: 'VS Code settings' }),
    );
    const p = problemStartingWith(e.problems, 'cluster.routing.fallback_strategy:');
    assert.deepEqual([p.file, p.line, p.column, p.path], ['VS Code settings', 0, 0, 'cluster.routing.fallback_strategy']);
    assert.equal(e.format(), 'VS Code settings: cluster.routing.fallback_strategy: expected "graceful" or "strict", got "sometimes"');
  });

  it('interpolates variables from the env it is given', () => {
    const file = join(s.cwd, 'arch.yaml');
    copyFileSync(fixturePath('architecture-example.yaml'), file);
    const ok = loadConfig({ explicitFile: file, env: { HAROMBE_SERVER_TOKEN: 't' }, cwd: s.cwd, home: s.home });
    assert.equal(ok.config.cluster.nodes[1]?.auth, 't');
    const e = expectConfigError(() => loadConfig({ explicitFile: file, env: {}, cwd: s.cwd, home: s.home }));
    assert.equal(e.errors[0]?.file, file);
    assert.equal(e.errors[0]?.line, 21);
  });
});
