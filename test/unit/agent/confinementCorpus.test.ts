import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createAgentTools } from '../../../src/core/agent/createAgentTools';
import { NodeWorkspace } from '../../../src/core/agent/nodeWorkspace';
import { ToolRegistry } from '../../../src/core/agent/toolRegistry';
import { ScriptedApprover } from './scriptedApprover';

const CANARY_TEXT = 'CANARY-7f3a-do-not-leak';

/** Every way we know of to name something outside the workspace, relative to a workspace `ws` next to `outside`. */
function escapeCorpus(ws: string, outside: string): string[] {
  const canary = path.join(outside, 'canary.txt');
  const rel = path.relative(ws, canary);
  const ups = ['..', '../..', '../../..', '../../../../../../../../..'];
  const list: string[] = [
    rel,
    canary,
    `./${rel}`,
    `a/../../${path.basename(outside)}/canary.txt`,
    `${rel}\0`,
    `a.txt\0/../${rel}`,
    `${rel}\0.txt`,
    rel.toUpperCase(),
    `${rel}.`,
    `${rel} `,
    `${rel}...`,
    rel.replace(/\//g, '\\'),
    rel.replace(/\//g, '\\\\'),
    encodeURIComponent(rel),
    rel.replace(/\.\./g, '%2e%2e'),
    rel.replace(/\.\./g, '%252e%252e'),
    rel.replace(/\//g, '%2f'),
    rel.replace(/\.\./g, '..%c0%af'),
    `file://${canary}`,
    `//${canary}`,
    `${'a/'.repeat(300)}${'../'.repeat(302)}${rel}`,
    `${'x'.repeat(5000)}/../../${rel}`,
    `${'../'.repeat(200)}${canary.slice(1)}`,
    'link-file',
    'link-dir/canary.txt',
    'link-chain',
    'link-chain2/canary.txt',
    'sub/link-up/canary.txt',
    'link-root/etc/hostname',
    '/etc/passwd',
    '/proc/self/environ',
    '~/.bashrc',
    '~',
    '\\\\?\\C:\\Windows\\win.ini',
    'C:\\Windows\\win.ini',
    '....//....//canary.txt',
    '..;/canary.txt',
    '.../canary.txt',
    `${rel}/`,
    `${rel}/.`,
  ];
  for (const u of ups) list.push(`${u}/${path.basename(outside)}/canary.txt`, `${u}/etc/passwd`, `${u}\\etc\\passwd`, `${u}/`, u);
  return list;
}

const toolsConfig = { shell: true, filesystem: true, web_search: false, confirm_dangerous: true };
const call = (name: string, args: Record<string, unknown>) => ({ id: name, name, arguments: args });

describe('agent tools: confinement corpus (no escape from the workspace)', function () {
  this.timeout(60_000);
  let base: string;
  let ws: string;
  let outside: string;
  let canary: string;

  beforeEach(() => {
    base = realpathSync(mkdtempSync(path.join(tmpdir(), 'harombe-confine-')));
    ws = path.join(base, 'ws');
    outside = path.join(base, 'outside');
    mkdirSync(path.join(ws, 'sub'), { recursive: true });
    mkdirSync(outside);
    canary = path.join(outside, 'canary.txt');
    writeFileSync(canary, CANARY_TEXT);
    writeFileSync(path.join(ws, 'a.txt'), 'inside\n');
    // Symlinks out of the workspace: to a file, to a folder, chained, relative upward, and to /.
    symlinkSync(canary, path.join(ws, 'link-file'));
    symlinkSync(outside, path.join(ws, 'link-dir'));
    symlinkSync(path.join(ws, 'link-file'), path.join(ws, 'link-chain'));
    symlinkSync(path.join(ws, 'link-dir'), path.join(ws, 'link-chain2'));
    symlinkSync('../../outside', path.join(ws, 'sub', 'link-up'));
    symlinkSync('/', path.join(ws, 'link-root'));
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  const assertCanaryIntact = () => {
    assert.equal(readFileSync(canary, 'utf8'), CANARY_TEXT, 'canary modified');
    assert.deepEqual(readdirSync(outside).sort(), ['canary.txt'], 'a file appeared outside the workspace');
  };

  it('read_file, list_files, search_files never return anything from outside, for every path in the corpus', async () => {
    const r = new ToolRegistry(createAgentTools({ workspace: new NodeWorkspace([ws]), approver: new ScriptedApprover({ edit: true }), tools: toolsConfig }));
    const corpus = escapeCorpus(ws, outside);
    let attempts = 0;
    for (const p of corpus) {
      for (const c of [call('read_file', { path: p }), call('list_files', { path: p }), call('search_files', { query: 'CANARY', path: p }), call('search_files', { pattern: 'CANARY', path: p })]) {
        attempts++;
        const out = await r.execute(c, {});
        assert.ok(!out.result.includes(CANARY_TEXT), `${c.name}(${JSON.stringify(p).slice(0, 120)}) leaked the canary: ${out.status}`);
        assert.ok(!/root:x:0:0/.test(out.result), `${c.name}(${JSON.stringify(p).slice(0, 120)}) read /etc/passwd`);
      }
    }
    // Searching the whole workspace must not follow the links out either.
    const all = await r.execute(call('search_files', { query: CANARY_TEXT }), {});
    // Nothing inside the workspace holds the canary, so any hit came through a link out.
    assert.equal(all.result, 'No matches.', 'search over the workspace followed a link out');
    // The same search does find text inside, so 'No matches.' above is not a search that never matches.
    assert.match((await r.execute(call('search_files', { query: 'inside' }), {})).result, /^a\.txt:1: inside$/m);
    assertCanaryIntact();
    assert.ok(attempts >= 200, `only ${attempts} attempts`);
  });

  it('write_file and edit_file (approved!) never modify or create anything outside', async () => {
    const approver = new ScriptedApprover({ edit: true });
    const r = new ToolRegistry(createAgentTools({ workspace: new NodeWorkspace([ws]), approver, tools: toolsConfig }));
    for (const p of escapeCorpus(ws, outside)) {
      await r.execute(call('write_file', { path: p, content: 'PWNED' }), {});
      await r.execute(call('edit_file', { path: p, old_text: CANARY_TEXT, new_text: 'PWNED' }), {});
      await r.execute(call('write_file', { path: `${p}-new`, content: 'PWNED' }), {});
      assertCanaryIntact();
    }
    // Nothing the approver was shown came from outside either.
    for (const e of approver.edits) assert.notEqual(e.before, CANARY_TEXT, `approver was shown the canary for ${e.path}`);
  });

  it('without approval every write and every command is refused and not run', async () => {
    const approver = new ScriptedApprover({ edit: false, command: 'deny' });
    const r = new ToolRegistry(createAgentTools({ workspace: new NodeWorkspace([ws]), approver, tools: toolsConfig, shellTimeoutMs: 2000 }));
    const marker = path.join(base, 'marker');
    const commands = [`touch ${marker}`, `echo x > ${marker}`, `sh -c 'touch ${marker}'`, `true; touch ${marker}`, `$(touch ${marker})`, `\`touch ${marker}\``, `touch ${marker} &`, `node -e "require('fs').writeFileSync('${marker}','')"`];
    for (const command of commands) {
      const out = await r.execute(call('run_shell', { command }), {});
      assert.equal(out.status, 'denied', command);
    }
    for (const p of ['a.txt', 'new.txt', 'sub/new.txt']) {
      assert.equal((await r.execute(call('write_file', { path: p, content: 'changed' }), {})).status, 'denied', p);
      // a.txt exists, so the edit reaches the approver, who refuses; the others do not exist, so the edit stops before asking.
      const edit = await r.execute(call('edit_file', { path: p, old_text: 'inside', new_text: 'changed' }), {});
      assert.equal(edit.status, p === 'a.txt' ? 'denied' : 'error', `${p}: ${edit.result}`);
    }
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(existsSync(marker), false, 'a refused command ran');
    assert.equal(readFileSync(path.join(ws, 'a.txt'), 'utf8'), 'inside\n');
    assert.equal(existsSync(path.join(ws, 'new.txt')), false);
    assert.equal(existsSync(path.join(ws, 'sub', 'new.txt')), false);
    assert.equal(approver.commands.length, commands.length, 'every command went to the approver');
    assertCanaryIntact();
  });

  it('with tools off (as in an untrusted workspace) nothing is offered and any call is refused', async () => {
    const r = new ToolRegistry(createAgentTools({ workspace: new NodeWorkspace([ws]), approver: new ScriptedApprover({ edit: true, command: 'allow' } as never), tools: { ...toolsConfig, shell: false, filesystem: false } }));
    assert.deepEqual(r.definitions(), []);
    const marker = path.join(base, 'marker');
    for (const c of [call('read_file', { path: 'link-file' }), call('run_shell', { command: `touch ${marker}` }), call('write_file', { path: 'a.txt', content: 'x' })]) {
      const out = await r.execute(c, {});
      assert.equal(out.status, 'error', c.name);
      assert.ok(!out.result.includes(CANARY_TEXT));
    }
    assert.equal(existsSync(marker), false);
    assert.equal(readFileSync(path.join(ws, 'a.txt'), 'utf8'), 'inside\n');
  });
});
