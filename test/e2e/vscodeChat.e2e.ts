import * as assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { fakeReply } from '../fakes/fakeReply';
import { startFakeCluster, type FakeCluster, type FakeNodeSpec } from '../fakes/fakeCluster';
import { harness } from '../vscode/harness';
import { openWorkbenchSession, screenshotIfFailed } from './workbenchSession';
import type { WorkbenchSession } from './workbenchSession';

/*
 * VS Code's own chat view (not Harombe's webview): @harombe and Harombe's models in the model
 * picker. Every test opens a fresh window, so its request is the first of its kind there: the first
 * @harombe request used to fail with "Language model unavailable" because no model was picked yet.
 */

const MANY_WORDS = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ');

const statusItem = (page: Page, up: number, total: number) =>
  page.locator(`.statusbar-item [aria-label="Harombe: ${up} of ${total} nodes available"], .statusbar-item[aria-label="Harombe: ${up} of ${total} nodes available"]`).first();
const chatInput = (page: Page) => page.locator('.interactive-input-part').first();
const lastResponse = (page: Page) => page.locator('.interactive-item-container.interactive-response').last();

describe("VS Code's chat view: @harombe and Harombe's models", () => {
  let session: WorkbenchSession | undefined;
  let cluster: FakeCluster | undefined;

  /** A fresh window on a fresh profile, Harombe active with every node up, the chat view open; nothing asked yet. */
  async function freshWindow(specs: FakeNodeSpec[]): Promise<{ page: Page; cluster: FakeCluster }> {
    cluster = await startFakeCluster(specs, { health: { interval: 1, timeout: 0.5 } });
    session = await openWorkbenchSession();
    const configFile = path.join(session.run.workspace, '.harombe', 'harombe.yaml');
    mkdirSync(path.dirname(configFile), { recursive: true });
    writeFileSync(configFile, cluster.yaml);
    const { page } = session;
    // What a user sees before typing: Harombe's status bar item says the nodes are up.
    await statusItem(page, specs.length, specs.length).waitFor({ timeout: 60_000 });
    await page.keyboard.press('Control+Alt+I');
    await chatInput(page).locator('.monaco-editor').first().click();
    return { page, cluster };
  }

  /** Types into the chat input and sends; Escape first closes the completion list @ and / open. */
  async function send(page: Page, text: string): Promise<void> {
    await page.keyboard.type(text);
    await page.keyboard.press('Escape');
    await page.keyboard.press('Enter');
  }

  async function responseDone(page: Page): Promise<void> {
    await page.locator('.interactive-item-container.interactive-response:not(.chat-response-loading)').last().waitFor({ timeout: 30_000 });
  }

  afterEach(async function () {
    await screenshotIfFailed(this.currentTest, session);
    await session?.close();
    await cluster?.stop();
    session = undefined;
    cluster = undefined;
  });

  it('@harombe /status, the first request in a fresh window, shows the node table', async () => {
    const { page } = await freshWindow([
      { name: 'fast', tier: 0 },
      { name: 'mid', tier: 1 },
      { name: 'big', tier: 2 },
    ]);
    await send(page, '@harombe /status');
    await responseDone(page);
    const response = lastResponse(page);
    assert.doesNotMatch(await response.innerText(), /Language model unavailable/);
    const rows = await response.locator('table tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent?.trim())));
    assert.deepEqual(
      rows.map((cells) => [cells[0], cells[1], cells[2], cells[3], cells[5]]),
      [
        ['fast', '0', 'qwen2.5:3b', 'available', 'closed'],
        ['mid', '1', 'qwen2.5:14b', 'available', 'closed'],
        ['big', '2', 'qwen2.5:72b', 'available', 'closed'],
      ],
    );
    assert.ok(rows.every((cells) => /^\d+ ms$/.test(cells[4] ?? '')), `latencies: ${JSON.stringify(rows)}`);
    mkdirSync(harness.screenshots, { recursive: true });
    await page.screenshot({ path: path.join(harness.screenshots, 'vscode-chat-status.png') });
  });

  it('@harombe with a question, the first in a fresh window, streams a node answer under its route', async () => {
    const { page, cluster } = await freshWindow([
      { name: 'fast', tier: 0, options: { chunkDelayMs: 40 } },
      { name: 'mid', tier: 1, options: { chunkDelayMs: 40 } },
    ]);
    await send(page, '@harombe What is two plus two?');
    const response = lastResponse(page);
    // Streaming: the first words are on screen while the response is still loading.
    await page.locator('.interactive-item-container.interactive-response.chat-response-loading').filter({ hasText: 'Hello from' }).waitFor({ timeout: 30_000 });
    await responseDone(page);
    const text = await response.innerText();
    const route = /tier (\d) · (fast|mid) · /.exec(text);
    assert.ok(route, `no route line in the answer: ${text}`);
    const node = route[2] as 'fast' | 'mid';
    const model = node === 'fast' ? 'qwen2.5:3b' : 'qwen2.5:14b';
    assert.equal(route[1], node === 'fast' ? '0' : '1');
    const chats = cluster.node(node).requests.filter((r) => r.path === '/api/chat');
    assert.equal(chats.length, 1, `${node} got the question`);
    const expected = fakeReply(undefined, [{ role: 'user', content: 'What is two plus two?' }], model);
    assert.ok(text.includes(expected), `the answer is the node's: ${text}`);
    mkdirSync(harness.screenshots, { recursive: true });
    await page.screenshot({ path: path.join(harness.screenshots, 'vscode-chat-answer.png') });
  });

  it("with Harombe tier 2 picked in the model picker, the first question is answered by the tier 2 node, and Stop cancels it on the node", async () => {
    const { page, cluster } = await freshWindow([
      { name: 'fast', tier: 0 },
      { name: 'big', tier: 2, options: { reply: MANY_WORDS, chunkDelayMs: 100 } },
    ]);
    // The picker lists Harombe's models as soon as Harombe is active; pick one as a user does.
    await chatInput(page).locator('.action-item').filter({ hasText: /^Harombe/ }).first().click({ timeout: 30_000 });
    await page.locator('.action-list-filter-input').fill('tier 2');
    await page.locator('.chat-model-picker-dropdown .monaco-list-row.action').filter({ hasText: 'Harombe tier 2' }).first().click({ timeout: 10_000 });
    await chatInput(page).locator('.action-item').filter({ hasText: 'Harombe tier 2' }).first().waitFor({ timeout: 5_000 });
    await chatInput(page).locator('.monaco-editor').first().click();
    await send(page, '@harombe Write a long essay about routers');
    const response = lastResponse(page);
    await response.filter({ hasText: 'word3' }).waitFor({ timeout: 30_000 });
    assert.match(await response.innerText(), /tier 2 · big · /);
    await chatInput(page).locator('a.codicon-stop-circle').click();
    const aborted = await cluster.node('big').waitForClientAbort(10_000);
    assert.equal(aborted.path, '/api/chat');
    await responseDone(page);
    const shown = await response.innerText();
    assert.ok(!shown.includes('word299'), 'the answer stopped early');
    assert.equal(cluster.node('fast').requests.filter((r) => r.path === '/api/chat').length, 0, 'the picked tier was honoured');
    mkdirSync(harness.screenshots, { recursive: true });
    await page.screenshot({ path: path.join(harness.screenshots, 'vscode-chat-stop.png') });
  });
});
