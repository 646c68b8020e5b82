import * as assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Frame } from 'playwright-core';
import { startFakeCluster, type FakeCluster } from '../fakes/fakeCluster';
import { startCodeServer } from '../vscode/codeServer';
import { harness } from '../vscode/harness';
import { prepareRun } from '../vscode/prepareRun';
import { openWorkbench } from '../vscode/workbench';
import { openWorkbenchSession, screenshotIfFailed } from './workbenchSession';
import type { WorkbenchSession } from './workbenchSession';

// Model output is hostile: the fake answers with markup that would run script if it reached the DOM unsanitized.
const REPLY = [
  'Here is **the plan** for `sum`.',
  '',
  '<img src=x onerror="window.__harombeXss = 1">',
  '',
  '```ts',
  'export function sum(a: number, b: number): number {',
  '  return a + b;',
  '}',
  '```',
  '',
  'Done.',
].join('\n');

/**
 * Opens the Harombe container unless it is open already (clicking its activity bar item again would
 * close the side bar), and waits for the chat to see the node: each test starts from here, not from
 * what the previous one left open.
 */
async function openChat(session: WorkbenchSession) {
  const { page } = session;
  const chat = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  if (!(await chat.locator('textarea.prompt').isVisible().catch(() => false))) {
    await page.locator('.activitybar a[aria-label^="Harombe"]').first().click({ timeout: 60_000 });
  }
  await chat.locator('.cluster-info').filter({ hasText: '1/1 nodes available' }).waitFor({ timeout: 30_000 });
  return chat;
}

describe('chat: the Harombe view in the workbench', () => {
  let session: WorkbenchSession | undefined;
  let cluster: FakeCluster | undefined;

  before(async () => {
    cluster = await startFakeCluster([{ name: 'box', tier: 1, options: { reply: REPLY, chunkDelayMs: 20 } }], { health: { interval: 1, timeout: 0.5 } });
    const started = performance.now();
    session = await openWorkbenchSession();
    console.log(`    workbench restored in ${Math.round(performance.now() - started)} ms (${session.run.runDir})`);
    // The extension's config watcher picks the workspace config up, as when a user writes it.
    const configFile = path.join(session.run.workspace, '.harombe', 'harombe.yaml');
    mkdirSync(path.dirname(configFile), { recursive: true });
    writeFileSync(configFile, cluster.yaml);
  });

  afterEach(async function () {
    await screenshotIfFailed(this.currentTest, session);
  });

  after(async () => {
    await session?.close();
    await cluster?.stop();
  });

  it('streams an answer with its node label, renders markdown and code, and does not run injected script', async () => {
    assert.ok(session);
    const { page } = session;
    const started = performance.now();
    const chat = await openChat(session);
    console.log(`    chat view ready with the node in ${Math.round(performance.now() - started)} ms`);

    const prompt = chat.locator('textarea.prompt');
    await prompt.fill('Write a sum function in TypeScript');
    const sent = performance.now();
    await prompt.press('Enter');

    const answer = chat.locator('.message.assistant').last();
    // While it streams, the label already names the node.
    await answer.locator('.label').filter({ hasText: '· box ·' }).waitFor({ timeout: 15_000 });
    await answer.locator('.markdown').filter({ hasText: 'Done.' }).waitFor({ timeout: 15_000 });
    await page.waitForTimeout(100);
    console.log(`    answer complete ${Math.round(performance.now() - sent)} ms after Enter`);

    assert.match(await answer.locator('.label').innerText(), /^tier 1 · box · /);
    assert.equal(await chat.locator('.message.user .text').last().innerText(), 'Write a sum function in TypeScript');
    assert.equal(await answer.locator('.markdown strong').innerText(), 'the plan');
    assert.match(await answer.locator('pre code.hljs').innerText(), /export function sum/);
    assert.ok((await answer.locator('pre code .hljs-keyword').count()) > 0, 'the code block is highlighted');
    assert.equal(await answer.locator('.code-actions button').count(), 2);
    assert.deepEqual((await answer.locator('.code-actions button').allInnerTexts()).map((t) => t.trim()), ['Copy', 'Insert']);

    // The sanitizer removed the handler (the CSP would also block it: two independent layers).
    assert.equal(await answer.locator('[onerror]').count(), 0);
    const frame = page.frames().find((f: Frame) => f.name() === 'active-frame' || f.url().includes('fake.html'));
    assert.ok(frame, `no webview content frame among ${page.frames().map((f) => f.url()).join(', ')}`);
    // The probe must run where the markup was rendered: an evaluation that throws there is a failure, not a pass.
    const probe = (): { xss: number | null; rendered: number } => ({ xss: (window as unknown as { __harombeXss?: number }).__harombeXss ?? null, rendered: document.querySelectorAll('.message.assistant').length });
    const inChat = await frame.evaluate(probe);
    assert.ok(inChat.rendered > 0, 'the probed frame is not the one that rendered the answer');
    assert.equal(inChat.xss, null, 'the injected onerror ran in the chat');
    // Elsewhere too; a frame that went away while being asked (detached) cannot have run it now.
    for (const f of page.frames()) {
      if (f === frame || f.isDetached()) continue;
      const other: { xss: number | null } = await f.evaluate(probe);
      assert.equal(other.xss, null, `the injected onerror ran in ${f.url()}`);
    }

    mkdirSync(harness.screenshots, { recursive: true });
    const screenshot = path.join(harness.screenshots, 'chat.png');
    await page.screenshot({ path: screenshot });
    console.log(`    screenshot ${screenshot}`);
  });

  it('asks before a write with a diff and a modal: Deny leaves the file alone', async () => {
    assert.ok(session && cluster);
    const { page } = session;
    const chat = await openChat(session);
    const file = path.join(session.run.workspace, 'src', 'math.ts');
    const original = readFileSync(file, 'utf8');
    await chat.locator('button', { hasText: 'New Chat' }).click();
    cluster.ollama('box').setOptions({ reply: 'I left it alone.', toolCalls: [{ name: 'write_file', arguments: { path: 'src/math.ts', content: 'export {};\n' } }] });
    try {
      const prompt = chat.locator('textarea.prompt');
      await prompt.fill('Empty math.ts');
      await prompt.press('Enter');
      const dialog = page.locator('.monaco-dialog-box').filter({ hasText: 'Harombe wants to change src/math.ts' });
      await dialog.waitFor({ timeout: 15_000 });
      // The proposal is open as a diff next to the question.
      await page.locator('.tab').filter({ hasText: "Harombe's proposal" }).first().waitFor({ timeout: 5_000 });
      mkdirSync(harness.screenshots, { recursive: true });
      await page.screenshot({ path: path.join(harness.screenshots, 'chat-approve-write.png') });
      await dialog.locator('.monaco-button', { hasText: 'Deny' }).click();
      const step = chat.locator('.tool-step.denied');
      await step.waitFor({ timeout: 10_000 });
      await page.locator('.tab').filter({ hasText: "Harombe's proposal" }).waitFor({ state: 'detached', timeout: 5_000 });
      await chat.locator('.message.assistant').last().locator('.markdown').filter({ hasText: 'I left it alone.' }).waitFor({ timeout: 10_000 });
      assert.equal(readFileSync(file, 'utf8'), original);
    } finally {
      cluster.ollama('box').setOptions({ reply: REPLY, toolCalls: undefined });
    }
  });

  it('asks before a command with its text and folder: Allow once runs it', async () => {
    assert.ok(session && cluster);
    const { page } = session;
    const chat = await openChat(session);
    await chat.locator('button', { hasText: 'New Chat' }).click();
    cluster.ollama('box').setOptions({ reply: 'Ran it.', toolCalls: [{ name: 'run_shell', arguments: { command: 'echo approved > ran.txt' } }] });
    try {
      const prompt = chat.locator('textarea.prompt');
      await prompt.fill('Run the command');
      await prompt.press('Enter');
      const dialog = page.locator('.monaco-dialog-box').filter({ hasText: 'Harombe wants to run a command.' });
      await dialog.waitFor({ timeout: 15_000 });
      const detail = await dialog.innerText();
      assert.match(detail, /Command: echo approved > ran\.txt/);
      assert.ok(detail.includes(`Folder: ${session.run.workspace}`), detail);
      await dialog.locator('.monaco-button', { hasText: 'Allow once' }).click();
      await chat.locator('.tool-step.done').waitFor({ timeout: 10_000 });
      await chat.locator('.message.assistant').last().locator('.markdown').filter({ hasText: 'Ran it.' }).waitFor({ timeout: 10_000 });
      assert.equal(readFileSync(path.join(session.run.workspace, 'ran.txt'), 'utf8'), 'approved\n');
    } finally {
      cluster.ollama('box').setOptions({ reply: REPLY, toolCalls: undefined });
    }
  });
});

describe('chat: Restricted Mode', () => {
  it('says that tools are off because the workspace is not trusted', async () => {
    const run = prepareRun('e2e');
    const server = await startCodeServer({ runDir: run.runDir, workspaceTrust: true });
    const workbench = await openWorkbench(server, { folder: run.workspace }).catch(async (error: unknown) => {
      await server.stop();
      throw error;
    });
    try {
      const { page } = workbench;
      await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
      await page.evaluate(() => (window as unknown as { driver: { whenWorkbenchRestored(): Promise<void> } }).driver.whenWorkbenchRestored());
      // A fresh profile may ask whether to trust the folder (the smoke-test driver usually suppresses
      // the dialog and opens the folder restricted); if it asks, answer as a cautious user does.
      const dontTrust = page.locator('.monaco-dialog-box .monaco-button').filter({ hasText: /No, I don.t trust/ });
      if (await dontTrust.count()) await dontTrust.first().click();
      await page.locator('.statusbar-item').filter({ hasText: 'Restricted Mode' }).first().waitFor({ timeout: 20_000 });
      await page.locator('.activitybar a[aria-label^="Harombe"]').first().click({ timeout: 60_000 });
      const chat = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
      await chat.locator('.banner').filter({ hasText: 'not trusted' }).waitFor({ timeout: 30_000 });
      assert.match(await chat.locator('.banner').innerText(), /Tools are off: this workspace is not trusted/);
      mkdirSync(harness.screenshots, { recursive: true });
      await page.screenshot({ path: path.join(harness.screenshots, 'chat-restricted.png') });
    } catch (error) {
      await workbench.page.screenshot({ path: path.join(run.runDir, 'failed-restricted.png') }).catch(() => undefined);
      throw error;
    } finally {
      await workbench.close();
      await server.stop();
    }
  });
});
