import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createAgentTools } from '../../../src/core/agent/createAgentTools';
import { NodeWorkspace } from '../../../src/core/agent/nodeWorkspace';
import { ToolRegistry } from '../../../src/core/agent/toolRegistry';
import { ScriptedApprover } from './scriptedApprover';

const toolsConfig = (over: Partial<{ shell: boolean; filesystem: boolean; confirm_dangerous: boolean }> = {}) => ({
  shell: true,
  filesystem: true,
  web_search: false,
  confirm_dangerous: true,
  ...over,
});

describe('agent tools', () => {
  let root: string;
  beforeEach(() => {
    root = realpathSync(mkdtempSync(path.join(tmpdir(), 'harombe-tools-')));
    writeFileSync(path.join(root, 'a.txt'), 'one\ntwo\n');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const registry = (approver: ScriptedApprover, over = {}) =>
    new ToolRegistry(createAgentTools({ workspace: new NodeWorkspace([root]), approver, tools: toolsConfig(over), shellTimeoutMs: 2000, shellMaxBytes: 100 }));
  const call = (name: string, args: Record<string, unknown>) => ({ id: name, name, arguments: args });

  it('offers only what the config allows', () => {
    const names = (over: object) => registry(new ScriptedApprover(), over).definitions().map((d) => d.name);
    assert.deepEqual(names({}), ['read_file', 'list_files', 'search_files', 'write_file', 'edit_file', 'run_shell']);
    assert.deepEqual(names({ shell: false }), ['read_file', 'list_files', 'search_files', 'write_file', 'edit_file']);
    assert.deepEqual(names({ filesystem: false }), ['run_shell']);
  });

  it('a denied write leaves the file untouched, and the approver saw the diff', async () => {
    const approver = new ScriptedApprover({ edit: false });
    const r = registry(approver);
    const out = await r.execute(call('write_file', { path: 'a.txt', content: 'changed' }), {});
    assert.equal(out.status, 'denied');
    assert.equal(readFileSync(path.join(root, 'a.txt'), 'utf8'), 'one\ntwo\n');
    assert.deepEqual(approver.edits, [{ path: 'a.txt', before: 'one\ntwo\n', after: 'changed' }]);
    const edit = await r.execute(call('edit_file', { path: 'a.txt', old_text: 'two', new_text: 'TWO' }), {});
    assert.equal(edit.status, 'denied');
    assert.equal(readFileSync(path.join(root, 'a.txt'), 'utf8'), 'one\ntwo\n');
  });

  it('an approved edit is written', async () => {
    const r = registry(new ScriptedApprover({ edit: true }));
    assert.equal((await r.execute(call('edit_file', { path: 'a.txt', old_text: 'two', new_text: 'TWO' }), {})).status, 'done');
    assert.equal(readFileSync(path.join(root, 'a.txt'), 'utf8'), 'one\nTWO\n');
  });

  it('a denied command is not run', async () => {
    const approver = new ScriptedApprover({ command: 'deny' });
    const out = await registry(approver).execute(call('run_shell', { command: 'touch ran.txt' }), {});
    assert.equal(out.status, 'denied');
    assert.equal(existsSync(path.join(root, 'ran.txt')), false);
    assert.deepEqual(approver.commands, [{ command: 'touch ran.txt', cwd: root }]);
  });

  it('"session" approval covers the same command again, not another one', async () => {
    const approver = new ScriptedApprover({ command: 'session' });
    const r = registry(approver);
    assert.match((await r.execute(call('run_shell', { command: 'echo hi' }), {})).result, /exit code 0\nhi/);
    await r.execute(call('run_shell', { command: 'echo hi' }), {});
    await r.execute(call('run_shell', { command: 'echo other' }), {});
    assert.deepEqual(approver.commands.map((c) => c.command), ['echo hi', 'echo other']);
  });

  it('caps output and times out', async () => {
    const r = registry(new ScriptedApprover({ command: 'once' }));
    const big = await r.execute(call('run_shell', { command: 'yes | head -c 5000' }), {});
    assert.match(big.result, /output cut/);
    assert.ok(big.result.length < 200);
    const started = Date.now();
    const slow = await r.execute(call('run_shell', { command: 'sleep 30' }), {});
    assert.match(slow.result, /timed out/);
    // `sleep 30` left running would take 30 s; five times the 2 s shell timeout is room for a loaded machine.
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
  });

  it('confirm_dangerous: false writes and runs without asking', async () => {
    const approver = new ScriptedApprover();
    const r = registry(approver, { confirm_dangerous: false });
    assert.equal((await r.execute(call('write_file', { path: 'b.txt', content: 'x' }), {})).status, 'done');
    assert.equal((await r.execute(call('run_shell', { command: 'touch ran.txt' }), {})).status, 'done');
    assert.ok(existsSync(path.join(root, 'ran.txt')));
    assert.equal(approver.edits.length + approver.commands.length, 0);
  });

  it('a cwd outside the workspace is an error and nothing runs', async () => {
    const approver = new ScriptedApprover({ command: 'once' });
    const out = await registry(approver).execute(call('run_shell', { command: 'touch x', cwd: '..' }), {});
    assert.equal(out.status, 'error');
    assert.equal(approver.commands.length, 0);
  });
});
