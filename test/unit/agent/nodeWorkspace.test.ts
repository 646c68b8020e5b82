import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { NodeWorkspace } from '../../../src/core/agent/nodeWorkspace';
import { WorkspaceError } from '../../../src/core/agent/workspaceError';

describe('NodeWorkspace confinement', () => {
  let base: string;
  let root: string;
  let outside: string;
  let ws: NodeWorkspace;

  beforeEach(() => {
    base = realpathSync(mkdtempSync(path.join(tmpdir(), 'harombe-ws-')));
    root = path.join(base, 'root');
    outside = path.join(base, 'outside');
    mkdirSync(path.join(root, 'src'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(path.join(root, 'src', 'a.ts'), 'export const a = 1;\n');
    writeFileSync(path.join(outside, 'secret.txt'), 'top secret\n');
    symlinkSync(outside, path.join(root, 'escape'));
    symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'secret-link.txt'));
    ws = new NodeWorkspace([root]);
  });

  afterEach(() => rmSync(base, { recursive: true, force: true }));

  const rejects = (p: Promise<unknown>, code: WorkspaceError['code']) =>
    assert.rejects(p, (err: unknown) => err instanceof WorkspaceError && err.code === code);

  it('reads and lists inside the root', async () => {
    assert.equal(await ws.readFile('src/a.ts'), 'export const a = 1;\n');
    assert.equal(await ws.readFile(path.join(root, 'src/a.ts')), 'export const a = 1;\n');
    assert.equal(await ws.readFile('src/../src/a.ts'), 'export const a = 1;\n');
    assert.equal(await ws.readFile('missing.txt'), undefined);
    assert.deepEqual(await ws.listFiles('.', { recursive: true }), ['escape', 'secret-link.txt', 'src/', 'src/a.ts']);
  });

  it('rejects .. escapes', async () => {
    await rejects(ws.readFile('../outside/secret.txt'), 'outside');
    await rejects(ws.readFile('src/../../outside/secret.txt'), 'outside');
    await rejects(ws.writeFile('../outside/new.txt', 'x'), 'outside');
    assert.equal(existsSync(path.join(outside, 'new.txt')), false);
  });

  it('rejects absolute paths outside the roots', async () => {
    await rejects(ws.readFile(path.join(outside, 'secret.txt')), 'outside');
    await rejects(ws.readFile('/etc/passwd'), 'outside');
    await rejects(ws.resolveDirectory('/tmp'), 'outside');
  });

  it('rejects symlinks that resolve outside, for reads, writes, new files below them, and cwd', async () => {
    await rejects(ws.readFile('secret-link.txt'), 'outside');
    await rejects(ws.readFile('escape/secret.txt'), 'outside');
    await rejects(ws.writeFile('secret-link.txt', 'pwned'), 'outside');
    await rejects(ws.writeFile('escape/deep/new.txt', 'pwned'), 'outside');
    await rejects(ws.listFiles('escape'), 'outside');
    await rejects(ws.resolveDirectory('escape'), 'outside');
    assert.equal(readFileSync(path.join(outside, 'secret.txt'), 'utf8'), 'top secret\n');
    assert.equal(existsSync(path.join(outside, 'deep')), false);
  });

  it('rejects NUL bytes', async () => {
    await rejects(ws.readFile('src/a.ts\0.png'), 'invalid');
    await rejects(ws.writeFile('x\0y', 'z'), 'invalid');
  });

  it('writes new files, creating folders, and searches', async () => {
    await ws.writeFile('new/dir/b.txt', 'hello Needle\n');
    assert.equal(readFileSync(path.join(root, 'new/dir/b.txt'), 'utf8'), 'hello Needle\n');
    const hits = await ws.searchFiles('needle');
    assert.deepEqual(hits, [{ path: 'new/dir/b.txt', line: 1, text: 'hello Needle' }]);
    // The walk does not follow the symlinked folder, so the outside file is never searched.
    assert.deepEqual(await ws.searchFiles('top secret'), []);
  });
});
