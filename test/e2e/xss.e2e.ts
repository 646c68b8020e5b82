import * as assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Frame } from 'playwright-core';
import { startFakeCluster, type FakeCluster } from '../fakes/fakeCluster';
import { openWorkbenchSession, type WorkbenchSession } from './workbenchSession';

const payloads = readFileSync(path.join(__dirname, '../fixtures/security/xss.txt'), 'utf8').split('\n').filter((l) => l.trim().length > 0);
/** Payloads per answer: one render per batch keeps the run short. */
const BATCH = 33;

type Trapped = Window & { __xss?: string[] };

describe('chat: XSS corpus rendered in the real webview', () => {
  let session: WorkbenchSession | undefined;
  let cluster: FakeCluster | undefined;
  const consoleLines: string[] = [];

  before(async () => {
    cluster = await startFakeCluster([{ name: 'box', tier: 1, options: { reply: 'ready', chunkDelayMs: 0 } }], { health: { interval: 1, timeout: 0.5 } });
    session = await openWorkbenchSession();
    session.page.on('console', (m) => consoleLines.push(`${m.type()} ${m.text()}`));
    const configFile = path.join(session.run.workspace, '.harombe', 'harombe.yaml');
    mkdirSync(path.dirname(configFile), { recursive: true });
    writeFileSync(configFile, cluster.yaml);
  });

  afterEach(async function () {
    if (this.currentTest?.state !== 'failed' || !session) return;
    await session.page.screenshot({ path: path.join(session.run.runDir, `failed-xss.png`) }).catch(() => undefined);
  });

  after(async () => {
    await session?.close();
    await cluster?.stop();
  });

  it(`renders ${payloads.length} payloads as model output without executing any, and the CSP blocks an injected inline script`, async () => {
    assert.ok(session && cluster);
    assert.ok(payloads.length >= 100);
    const { page } = session;
    await page.locator('.activitybar a[aria-label^="Harombe"]').first().click({ timeout: 60_000 });
    const chat = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await chat.locator('.cluster-info').filter({ hasText: '1/1 nodes available' }).waitFor({ timeout: 30_000 });
    const frame = page.frames().find((f: Frame) => f.name() === 'active-frame' || f.url().includes('fake.html'));
    assert.ok(frame, 'no webview content frame');
    // The trap: payloads push to __xss; alert/confirm/prompt count as executions too.
    // A string, not a function: tsx's keepNames would wrap named helpers in a `__name` call the page lacks.
    await frame.evaluate(`window.__xss = [];
      for (const name of ['alert', 'confirm', 'prompt', 'print']) window[name] = () => { window.__xss.push(name); };`);
    const started = performance.now();
    for (let i = 0; i < payloads.length; i += BATCH) {
      const sentinel = `END-OF-BATCH-${i}`;
      cluster.ollama('box').setOptions({ reply: `${payloads.slice(i, i + BATCH).join('\n\n')}\n\n${sentinel}` });
      const prompt = chat.locator('textarea.prompt');
      await prompt.fill(`batch ${i}`);
      await prompt.press('Enter');
      // Not the sentinel's text: the sanitizer may drop it with an unclosed <svg>/<math>/<template> before it.
      await chat.locator('.message.assistant.complete').nth(i / BATCH).waitFor({ state: 'attached', timeout: 20_000 });
    }
    // Let lazy handlers (image errors, autofocus, animations) fire.
    await page.waitForTimeout(1500);
    const rendered = performance.now() - started;
    const executed = await frame.evaluate(() => (window as Trapped).__xss ?? ['trap missing']);
    assert.deepEqual(executed, [], 'payloads executed in the webview');
    assert.equal(await chat.locator('.markdown [onerror], .markdown [onload], .markdown script, .markdown iframe, .markdown object, .markdown embed').count(), 0);

    // A script injected through the DOM must be stopped by the CSP (no nonce), not only by the sanitizer.
    const inline = await frame.evaluate(`(async () => {
      const s = document.createElement('script');
      s.textContent = "window.__xss.push('inline')";
      document.body.append(s);
      await new Promise((r) => setTimeout(r, 200));
      return window.__xss;
    })()`);
    assert.deepEqual(inline, [], 'an inline script ran: the CSP does not block it');
    const cspReports = consoleLines.filter((l) => /Content Security Policy|Refused to execute/i.test(l));
    assert.ok(cspReports.length > 0, 'no CSP violation was reported for the injected script');
    console.log(`    ${payloads.length} payloads in ${Math.ceil(payloads.length / BATCH)} answers rendered in ${Math.round(rendered)} ms; ${cspReports.length} CSP reports`);
  });
});
