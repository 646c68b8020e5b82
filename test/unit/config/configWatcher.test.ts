import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ConfigError } from '../../../src/core/config/configError';
import { ConfigWatcher } from '../../../src/core/config/configWatcher';
import type { HarombeConfig } from '../../../src/core/config/schema';
import { tempDir } from './configTestKit';

type WatchEvent = { type: 'change'; config: HarombeConfig } | { type: 'error'; error: ConfigError };

/** Records every event of a watcher and lets a test wait for the next one. */
class EventLog {
  readonly events: WatchEvent[] = [];
  private waiter: (() => void) | undefined;

  constructor(watcher: ConfigWatcher) {
    watcher.onDidChange((config) => this.push({ type: 'change', config }));
    watcher.onDidError((error) => this.push({ type: 'error', error }));
  }

  private push(e: WatchEvent): void {
    this.events.push(e);
    this.waiter?.();
  }

  /** The event number `index` (0-based), waiting up to `ms` for it. */
  async nth(index: number, ms = 3000): Promise<WatchEvent> {
    const deadline = Date.now() + ms;
    while (this.events.length <= index) {
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`no event #${index + 1} within ${ms} ms; got ${JSON.stringify(this.events.map((e) => e.type))}`);
      await new Promise<void>((done) => {
        const t = setTimeout(done, left);
        this.waiter = () => {
          clearTimeout(t);
          done();
        };
      });
      this.waiter = undefined;
    }
    return this.events[index] as WatchEvent;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function nodeYaml(names: string[], tier = 0): string {
  return `cluster:\n  nodes:\n${names.map((n) => `    - name: ${n}\n      host: ${n}.lan\n      model: qwen2.5:7b\n      tier: ${tier}\n`).join('')}`;
}

function names(config: HarombeConfig | undefined): string[] {
  return (config?.cluster.nodes ?? []).map((n) => n.name);
}

describe('ConfigWatcher', function () {
  // File events are real; give slow CI file systems room.
  this.timeout(10000);

  let t: ReturnType<typeof tempDir>;
  let home: string;
  let cwd: string;
  let userFile: string;
  let workspaceFile: string;
  const watchers: ConfigWatcher[] = [];

  /**
   * `checks` counts the watcher's reads of the files after the first, whatever came of them (a
   * change, an error, or nothing new): a test that expects no event waits for a read instead of
   * sleeping, and then knows that the event, had there been one, would have come by now.
   */
  const start = (extra: { explicitFile?: string; pollMs?: number } = {}): { watcher: ConfigWatcher; log: EventLog; checks: () => number } => {
    let checks = -1;
    const counted = () => void checks++;
    const logger = { trace: counted, debug: () => undefined, info: counted, warn: counted, error: () => undefined };
    const watcher = new ConfigWatcher({ env: {}, cwd, home, debounceMs: 30, logger, ...extra });
    watchers.push(watcher);
    return { watcher, log: new EventLog(watcher), checks: () => checks };
  };
  /** Waits until `checks()` goes past `after`: the watcher has read the files once more. */
  const nextCheck = async (checks: () => number, after: number) => {
    const deadline = Date.now() + 8000;
    while (checks() <= after) {
      if (Date.now() > deadline) assert.fail('the watcher did not read the files again within 8 s');
      await sleep(5);
    }
  };

  beforeEach(() => {
    t = tempDir('harombe-watch-');
    home = join(t.dir, 'home', '.harombe');
    cwd = join(t.dir, 'work');
    mkdirSync(home, { recursive: true });
    mkdirSync(cwd, { recursive: true });
    userFile = join(home, 'harombe.yaml');
    workspaceFile = join(cwd, '.harombe', 'harombe.yaml');
  });

  afterEach(() => {
    for (const w of watchers.splice(0)) w.dispose();
    t.cleanup();
  });

  it('fires a change for a good edit, an error for a broken one while keeping the last good config, and a change when fixed', async () => {
    writeFileSync(userFile, nodeYaml(['a']));
    const { watcher, log } = start();
    assert.deepEqual(names(watcher.current), ['a']);

    writeFileSync(userFile, nodeYaml(['a', 'b']));
    const first = await log.nth(0);
    assert.equal(first.type, 'change');
    assert.deepEqual(names(first.type === 'change' ? first.config : undefined), ['a', 'b']);
    assert.deepEqual(names(watcher.current), ['a', 'b']);

    writeFileSync(userFile, nodeYaml(['a', 'b'], 9));
    const second = await log.nth(1);
    assert.equal(second.type, 'error');
    assert.match(second.type === 'error' ? second.error.format() : '', /harombe\.yaml:\d+:\d+ cluster\.nodes\[0\]\.tier: expected an integer 0, 1 or 2, got 9/);
    assert.deepEqual(names(watcher.current), ['a', 'b'], 'the last good config stays current');
    assert.ok(watcher.error);

    writeFileSync(userFile, nodeYaml(['c']));
    const third = await log.nth(2);
    assert.equal(third.type, 'change');
    assert.deepEqual(names(watcher.current), ['c']);
    assert.equal(watcher.error, undefined);
  });

  it('keeps watching through editor-style saves (write elsewhere, rename over the file)', async () => {
    writeFileSync(userFile, nodeYaml(['a']));
    const { watcher, log } = start();
    for (const [i, n] of ['b', 'c'].entries()) {
      const tmp = join(home, `.harombe.yaml.${i}.tmp`);
      writeFileSync(tmp, nodeYaml([n]));
      renameSync(tmp, userFile);
      const e = await log.nth(i);
      assert.equal(e.type, 'change');
      assert.deepEqual(names(watcher.current), [n]);
    }
  });

  it('coalesces a burst of writes into one reload of the final content', async () => {
    writeFileSync(userFile, nodeYaml(['a']));
    const { watcher, log, checks } = start({ pollMs: 50 });
    writeFileSync(userFile, nodeYaml(['b']));
    writeFileSync(userFile, 'cluster: [broken');
    writeFileSync(userFile, nodeYaml(['d']));
    await log.nth(0);
    // One more read after the reload: any reload still pending from the burst has run by then.
    await nextCheck(checks, checks());
    assert.equal(log.events.length, 1, JSON.stringify(log.events.map((e) => e.type)));
    assert.deepEqual(names(watcher.current), ['d']);
  });

  it('fires nothing when a save leaves the bytes unchanged', async () => {
    writeFileSync(userFile, nodeYaml(['a']));
    const { log, checks } = start({ pollMs: 50 });
    const before = checks();
    writeFileSync(userFile, nodeYaml(['a']));
    // A read that ends after the (synchronous) write has seen its bytes: the moment a change would be reported.
    await nextCheck(checks, before);
    assert.deepEqual(log.events, []);
  });

  it('picks up a workspace file created later, folder included', async () => {
    writeFileSync(userFile, nodeYaml(['user']));
    const { watcher, log } = start();
    mkdirSync(join(cwd, '.harombe'));
    writeFileSync(workspaceFile, nodeYaml(['ws']));
    await log.nth(0);
    // The folder and the file may arrive as one reload or two; wait for the file's.
    const deadline = Date.now() + 3000;
    while (names(watcher.current).length < 2 && Date.now() < deadline) await sleep(20);
    assert.deepEqual(names(watcher.current), ['user', 'ws']);
    assert.ok(log.events.every((e) => e.type === 'change'));
    assert.deepEqual(watcher.result?.files, [userFile, workspaceFile]);
  });

  it('follows a workspace file that is deleted and created again', async () => {
    writeFileSync(userFile, nodeYaml(['user']));
    mkdirSync(join(cwd, '.harombe'));
    writeFileSync(workspaceFile, nodeYaml(['ws']));
    const { watcher, log } = start();
    assert.deepEqual(names(watcher.current), ['user', 'ws']);

    rmSync(workspaceFile);
    const gone = await log.nth(0);
    assert.equal(gone.type, 'change', 'a missing workspace file is allowed: back to the user file alone');
    assert.deepEqual(names(watcher.current), ['user']);

    writeFileSync(workspaceFile, nodeYaml(['ws2']));
    const back = await log.nth(1);
    assert.equal(back.type, 'change');
    assert.deepEqual(names(watcher.current), ['user', 'ws2']);
  });

  it('follows the workspace folder being removed and made again', async () => {
    mkdirSync(join(cwd, '.harombe'));
    writeFileSync(workspaceFile, nodeYaml(['ws']));
    const { watcher, log } = start();
    rmSync(join(cwd, '.harombe'), { recursive: true });
    await log.nth(0);
    assert.deepEqual(names(watcher.current), []);
    await sleep(100);
    mkdirSync(join(cwd, '.harombe'));
    writeFileSync(workspaceFile, nodeYaml(['again']));
    const deadline = Date.now() + 3000;
    while (names(watcher.current)[0] !== 'again' && Date.now() < deadline) await sleep(20);
    assert.deepEqual(names(watcher.current), ['again']);
  });

  it('reports an explicit file that disappears, keeping the config, and reloads it when it is back', async () => {
    const file = join(t.dir, 'cluster.yaml');
    writeFileSync(file, nodeYaml(['x']));
    const { watcher, log } = start({ explicitFile: file });
    rmSync(file);
    const gone = await log.nth(0);
    assert.equal(gone.type, 'error');
    assert.match(gone.type === 'error' ? gone.error.message : '', /config file not found/);
    assert.deepEqual(names(watcher.current), ['x']);

    writeFileSync(file, nodeYaml(['y']));
    const back = await log.nth(1);
    assert.equal(back.type, 'change');
    assert.deepEqual(names(watcher.current), ['y']);
  });

  it('starts without a config when the first load fails, and recovers on the fix', async () => {
    writeFileSync(userFile, 'cluster:\n  nodes: 5\n');
    const { watcher, log } = start();
    assert.equal(watcher.current, undefined);
    assert.match(watcher.error?.format() ?? '', /cluster\.nodes: expected a list/);
    writeFileSync(userFile, nodeYaml(['ok']));
    const e = await log.nth(0);
    assert.equal(e.type, 'change');
    assert.deepEqual(names(watcher.current), ['ok']);
  });

  it('reloads at once when the settings layer changes, filling in only unset keys', () => {
    writeFileSync(userFile, 'model:\n  name: from-yaml\n');
    const { watcher, log } = start();
    watcher.setOverrides({ model: { name: 'from-settings', temperature: 0.1 } });
    assert.equal(log.events.length, 1);
    assert.equal(watcher.current?.model.name, 'from-yaml');
    assert.equal(watcher.current?.model.temperature, 0.1);
    watcher.setOverrides({ model: { name: 'from-settings', temperature: 0.1 } });
    assert.equal(log.events.length, 1, 'the same settings again change nothing');
  });

  it('stops reporting after dispose', async () => {
    writeFileSync(userFile, nodeYaml(['a']));
    const { watcher, log } = start();
    // A second watcher on the same files, left running, shows when the first would have reported.
    const witness = start();
    watcher.dispose();
    writeFileSync(userFile, nodeYaml(['b']));
    await witness.log.nth(0);
    assert.deepEqual(log.events, []);
    assert.deepEqual(names(watcher.current), ['a']);
  });

  it('does not keep the process alive, even when never disposed', () => {
    const root = resolve(__dirname, '../../..');
    const script = `
      const { ConfigWatcher } = require(${JSON.stringify(join(root, 'src/core/config/configWatcher.ts'))});
      const w = new ConfigWatcher({ env: {}, cwd: ${JSON.stringify(cwd)}, home: ${JSON.stringify(home)} });
      require('fs').writeFileSync(${JSON.stringify(userFile)}, 'model: {}\\n');
      process.stdout.write(String(w.watchedFiles.length));
    `;
    const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], { cwd: root, timeout: 8000, encoding: 'utf8' });
    assert.equal(r.error, undefined, 'the child did not exit by itself');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '2');
  });
});
