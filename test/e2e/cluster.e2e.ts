import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { startFakeCluster, type FakeCluster } from '../fakes/fakeCluster';
import type { FakeMessage } from '../fakes/fakeReply';
import { harness } from '../vscode/harness';
import { retryLog } from '../vscode/retryLog';
import { runFromCommandPalette } from './commandPalette';
import { openWorkbenchSession, type WorkbenchSession, screenshotIfFailed } from './workbenchSession';

const refactored = 'export function clamp(value: number, min: number, max: number): number {\n  if (min > max) throw new RangeError(`min ${min} > max ${max}`);\n  return value < min ? min : value > max ? max : value;\n}';

function reply(messages: FakeMessage[], model: string): string {
  const last = String(messages[messages.length - 1]?.content ?? '');
  if (last.startsWith('Reply with the single word')) return 'ok';
  return `Here you go (${model}):\n\n\`\`\`ts\n// refactored by ${model}\n${refactored}\n\`\`\`\n`;
}

/** The status bar item, found by the accessible label the extension gives it. */
const statusItem = (page: Page, up: number, total: number) => page.locator(`.statusbar-item [aria-label="Harombe: ${up} of ${total} nodes available"], .statusbar-item[aria-label="Harombe: ${up} of ${total} nodes available"]`).first();

describe('cluster UI in the workbench: status bar, nodes tree, Test Cluster, refactor', () => {
  let session: WorkbenchSession | undefined;
  let cluster: FakeCluster | undefined;
  const shots: string[] = [];

  const screenshot = async (name: string) => {
    mkdirSync(harness.screenshots, { recursive: true });
    const file = path.join(harness.screenshots, name);
    await session?.page.screenshot({ path: file });
    shots.push(file);
  };

  const savedHome = process.env.HAROMBE_HOME;

  /**
   * Each test's own start after the first two: the cluster's config in the workspace (the same
   * bytes again change nothing) and gpu-box up or down, as the status bar shows it.
   */
  const clusterWith = async (gpuBox: 'up' | 'down') => {
    assert.ok(session && cluster);
    mkdirSync(path.join(session.run.workspace, '.harombe'), { recursive: true });
    writeFileSync(path.join(session.run.workspace, '.harombe', 'harombe.yaml'), `# e2e cluster\n${cluster.yaml}`);
    await cluster.node('gpu-box').setFault(gpuBox === 'up' ? { type: 'none' } : { type: 'refuse' });
    await statusItem(session.page, gpuBox === 'up' ? 2 : 1, 2).waitFor({ timeout: 30_000 });
  };

  before(async () => {
    // The user's own ~/.harombe must not add nodes to the test (code-server inherits this environment).
    process.env.HAROMBE_HOME = mkdtempSync(path.join(tmpdir(), 'harombe-home-'));
    cluster = await startFakeCluster(
      [
        { name: 'laptop', tier: 0, options: { reply } },
        { name: 'gpu-box', tier: 2, options: { reply } },
      ],
      { health: { interval: 0.5, timeout: 0.5 } },
    );
    const started = performance.now();
    session = await openWorkbenchSession();
    console.log(`    workbench restored in ${Math.round(performance.now() - started)} ms (${session.run.runDir})`);
  });

  afterEach(async function () {
    await screenshotIfFailed(this.currentTest, session);
  });

  after(async () => {
    if (savedHome === undefined) delete process.env.HAROMBE_HOME;
    else process.env.HAROMBE_HOME = savedHome;
    await session?.close();
    await cluster?.stop();
    if (shots.length) console.log(`    screenshots: ${shots.join(', ')}`);
  });

  it('with no nodes, the Nodes view welcomes with Add Node and Open Config', async () => {
    assert.ok(session);
    const { page } = session;
    await page.locator('.activitybar a[aria-label^="Harombe"], .activitybar .action-item[aria-label^="Harombe"] a').first().click();
    const welcome = page.locator('.welcome-view-content', { hasText: 'No Harombe nodes are configured yet' });
    await welcome.waitFor({ timeout: 30_000 });
    await welcome.locator('a, .monaco-button', { hasText: 'Add Node' }).first().waitFor();
    await welcome.locator('a, .monaco-button', { hasText: 'Open Config' }).first().waitFor();
    await screenshot('cluster-no-nodes-welcome.png');
  });

  it('the status bar counts nodes, and the count drops when a node is killed', async () => {
    assert.ok(session && cluster);
    const { page } = session;
    mkdirSync(path.join(session.run.workspace, '.harombe'), { recursive: true });
    writeFileSync(path.join(session.run.workspace, '.harombe', 'harombe.yaml'), `# e2e cluster\n${cluster.yaml}`);
    const started = performance.now();
    await statusItem(page, 2, 2).waitFor({ timeout: 30_000 });
    console.log(`    status bar showed 2/2 ${Math.round(performance.now() - started)} ms after the config was written`);
    assert.match(await statusItem(page, 2, 2).innerText(), /2\/2/);

    // The Nodes view in the Harombe container fills in; this test opens the container itself
    // unless it is open (clicking its activity bar item again would close the side bar).
    const nodesHeader = page.locator('.pane-header', { hasText: 'Nodes' }).first();
    if (!(await nodesHeader.isVisible().catch(() => false))) await page.locator('.activitybar a[aria-label^="Harombe"], .activitybar .action-item[aria-label^="Harombe"] a').first().click();
    await nodesHeader.waitFor({ timeout: 15_000 });
    const row = (name: string) => page.locator('.monaco-list-row', { hasText: name }).first();
    // Latency shows once the first health probe has answered.
    await page.locator('.monaco-list-row', { hasText: /gpu-box.*qwen2\.5:72b · 16k · \d+ ms · 0\/4 running/ }).first().waitFor({ timeout: 15_000 });
    await row('Tier 0').waitFor();
    await screenshot('cluster-tree-and-status-bar.png');

    await cluster.node('gpu-box').setFault({ type: 'refuse' });
    const killed = performance.now();
    await statusItem(page, 1, 2).waitFor({ timeout: 15_000 });
    console.log(`    status bar dropped to 1/2 ${Math.round(performance.now() - killed)} ms after gpu-box was killed`);
    await screenshot('cluster-node-down.png');
  });

  it('clicking the status bar item lists the nodes and the cluster actions', async () => {
    assert.ok(session);
    const { page } = session;
    await clusterWith('down');
    await statusItem(page, 1, 2).click();
    const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
    await rows.filter({ hasText: 'Test Cluster' }).first().waitFor();
    for (const label of ['laptop', 'gpu-box', 'Show Nodes', 'Open Config', 'Show Metrics']) await rows.filter({ hasText: label }).first().waitFor();
    assert.match(await rows.filter({ hasText: 'gpu-box' }).first().innerText(), /unavailable/);
    await screenshot('cluster-status-menu.png');
    await page.keyboard.press('Escape');
  });

  it('Test Cluster from the command palette reports which nodes answered', async () => {
    assert.ok(session);
    const { page } = session;
    await clusterWith('down');
    const started = performance.now();
    await runFromCommandPalette(page, 'Harombe: Test Cluster');
    // With the smoke-test driver, toasts go straight to the notification center.
    await page.locator('[id="status.notifications"]').click();
    const summary = page.locator('.notifications-center .notification-list-item', { hasText: 'nodes answered' }).first();
    let text: string;
    try {
      await summary.waitFor({ timeout: 40_000 });
      text = await summary.innerText();
      console.log(`    Test Cluster summary ${Math.round(performance.now() - started)} ms after the palette`);
      await screenshot('cluster-test-result.png');
    } finally {
      // An open notification center would take the keyboard from the next test.
      await page.keyboard.press('Escape');
    }
    assert.match(text, /1\/2 nodes answered/);
    assert.match(text, /gpu-box/);
    await cluster?.node('gpu-box').setFault({ type: 'none' });
    await statusItem(page, 2, 2).waitFor({ timeout: 15_000 });
  });

  it('Refactor with Tier… from the editor context menu, accepted, changes the file', async () => {
    assert.ok(session);
    const { page } = session;
    await clusterWith('up');
    const file = path.join(session.run.workspace, 'src', 'math.ts');
    const original = readFileSync(file, 'utf8');

    // Quick Open math.ts, select all of it.
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input').fill('math.ts');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'math.ts' }).first().waitFor();
    await page.keyboard.press('Enter');
    const editor = page.locator('.editor-instance .monaco-editor').first();
    await editor.locator('.view-lines', { hasText: 'clamp' }).waitFor();
    await editor.locator('.view-lines').click();
    await page.keyboard.press('Control+A');

    // Right-click → Harombe → Refactor with Tier…. Menus are timing-sensitive (a submenu closes when the
    // pointer strays), so a second attempt is allowed, and recorded as a retry; there is no way
    // around the menu, which is what this test is about.
    let via = '';
    let lastError: unknown;
    for (let attempt = 1; attempt <= 2 && !via; attempt++) {
      if (attempt > 1) retryLog.record('e2e', 'Refactor with Tier… from the editor context menu', attempt, String(lastError));
      try {
        await editor.locator('.view-lines').click({ button: 'right' });
        // Ours sit in a Harombe submenu: the built-in chat already has an "Explain" in this menu.
        const submenu = page.getByRole('menuitem', { name: 'Harombe', exact: true });
        await submenu.waitFor({ timeout: 5_000 });
        const from = await submenu.boundingBox({ timeout: 10_000 });
        assert.ok(from);
        await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2, { steps: 4 });
        // Menus show a command's title without its category.
        const item = page.getByRole('menuitem', { name: 'Refactor with Tier…', exact: true });
        await item.waitFor({ timeout: 5_000 });
        const to = await item.boundingBox({ timeout: 10_000 });
        assert.ok(to);
        if (attempt === 1) await screenshot('cluster-editor-context-menu.png');
        // Into the submenu sideways, then down: a diagonal path crosses the parent menu's other items, which closes the submenu.
        await page.mouse.move(to.x + 20, from.y + from.height / 2, { steps: 8 });
        await page.mouse.move(to.x + 20, to.y + to.height / 2, { steps: 4 });
        await page.mouse.click(to.x + 20, to.y + to.height / 2);
        await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Refactor with Tier' }).waitFor({ timeout: 5_000 });
        via = `context menu (attempt ${attempt})`;
      } catch (error) {
        lastError = error;
        console.log(`    context menu attempt ${attempt} failed: ${String(error).split('\n')[0]}`);
        await page.keyboard.press('Escape');
        await page.keyboard.press('Escape');
        // Escape also drops the editor's selection, and the Harombe entries need one.
        await editor.locator('.view-lines').click();
        await page.keyboard.press('Control+A');
      }
    }
    if (!via) throw new Error(`the editor context menu did not start Refactor with Tier… in 2 attempts: ${String(lastError)}`);
    console.log(`    refactor started from the ${via}`);

    // The tier picker lists each tier with its nodes; choose tier 2.
    const picker = page.locator('.quick-input-widget');
    const tier2 = picker.locator('.quick-input-list .monaco-list-row', { hasText: 'Tier 2' }).first();
    await tier2.waitFor();
    assert.match(await tier2.innerText(), /gpu-box/);
    await screenshot('cluster-tier-picker.png');
    await tier2.click();
    // The instruction box comes with a default; take it. Wait for that box itself: an Enter pressed
    // between the picker closing and the box opening would land in the editor, on the selection.
    await picker.locator('.quick-input-title', { hasText: /^Harombe: Refactor$/ }).waitFor();
    assert.match(await picker.locator('input').inputValue(), /Improve readability/);
    await page.keyboard.press('Enter');

    // The diff opens; accept from the palette (the notification's buttons are in the center in this mode).
    await page.locator('.monaco-diff-editor').first().waitFor({ timeout: 20_000 });
    await screenshot('cluster-refactor-diff.png');
    await runFromCommandPalette(page, 'Harombe: Accept Proposed Change');
    await page.locator('.monaco-diff-editor').first().waitFor({ state: 'detached', timeout: 10_000 });
    await page.keyboard.press('Control+S');
    const deadline = Date.now() + 10_000;
    let saved = readFileSync(file, 'utf8');
    while (saved === original && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      saved = readFileSync(file, 'utf8');
    }
    assert.match(saved, /refactored by qwen2\.5:72b/);
    assert.ok(saved.includes(refactored));
    assert.doesNotMatch(saved, /Math\.min\(Math\.max/);
  });
});
