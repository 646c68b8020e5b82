import * as assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { harness } from '../vscode/harness';
import { runFromCommandPalette } from './commandPalette';
import { openWorkbenchSession, screenshotIfFailed } from './workbenchSession';
import type { WorkbenchSession } from './workbenchSession';

describe('smoke: Harombe in the workbench', () => {
  let session: WorkbenchSession | undefined;

  before(async () => {
    const started = performance.now();
    session = await openWorkbenchSession();
    console.log(`    workbench restored in ${Math.round(performance.now() - started)} ms (${session.run.runDir})`);
  });

  afterEach(async function () {
    await screenshotIfFailed(this.currentTest, session);
  });

  after(async () => {
    await session?.close();
  });

  it('shows the Harombe log from the command palette', async () => {
    assert.ok(session);
    const { page } = session;
    await runFromCommandPalette(page, 'Harombe: Show Logs');

    const channel = page.locator('.part.panel select[aria-label="Switch Output"]').filter({ visible: true });
    await channel.waitFor();
    assert.equal(await channel.inputValue(), 'Harombe');
    // The editor renders spaces as no-break spaces: match with \s, which includes them.
    const activated = page.locator('.part.panel .view-lines').filter({ hasText: /Harombe\s\S+\sactivated\sin/ });
    await activated.waitFor();
    const logLine = await activated.innerText();
    // activate()'s own figure, without loading the bundle (the integration tests measure both).
    const ms = /activated\sin\s([\d.]+)\sms/.exec(logLine)?.[1];
    console.log(`    activate() took ${ms} ms, as the extension logged it`);

    mkdirSync(harness.screenshots, { recursive: true });
    const screenshot = path.join(harness.screenshots, 'smoke-show-logs.png');
    await page.screenshot({ path: screenshot });
    console.log(`    screenshot ${screenshot}`);
  });
});
