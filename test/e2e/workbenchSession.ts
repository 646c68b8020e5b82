import { appendFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { startCodeServer } from '../vscode/codeServer';
import type { CodeServer } from '../vscode/codeServer';
import { prepareRun } from '../vscode/prepareRun';
import type { TestRun } from '../vscode/prepareRun';
import { openWorkbench } from '../vscode/workbench';
import type { Workbench } from '../vscode/workbench';

export interface WorkbenchSession {
  page: Page;
  run: TestRun;
  /** Idempotent; also safe after a failed start. */
  close(): Promise<void>;
}

/**
 * A code-server and a browser page with the workbench restored and this repo loaded as the
 * extension under development, on a fresh copy of the fixture workspace. The workbench's console
 * goes to workbench.log in the run folder.
 */
export async function openWorkbenchSession(): Promise<WorkbenchSession> {
  const run = prepareRun('e2e');
  const workbenchLog = path.join(run.runDir, 'workbench.log');
  let server: CodeServer | undefined;
  let workbench: Workbench | undefined;
  const close = async () => {
    await workbench?.close();
    await server?.stop();
  };
  try {
    server = await startCodeServer({ runDir: run.runDir });
    workbench = await openWorkbench(server, { folder: run.workspace, onLog: (line) => appendFileSync(workbenchLog, `${line}\n`) });
    const { page } = workbench;
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    // The smoke-test driver's own readiness signal: views restored, extensions registered.
    await page.evaluate(() => (window as unknown as { driver: { whenWorkbenchRestored(): Promise<void> } }).driver.whenWorkbenchRestored());
    return { page, run, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** For `afterEach`: when the test failed, saves a screenshot of the workbench into the run folder. */
export async function screenshotIfFailed(test: Mocha.Test | undefined, session: WorkbenchSession | undefined): Promise<void> {
  if (test?.state !== 'failed' || !session) return;
  const file = path.join(session.run.runDir, `failed-${test.title.replace(/\W+/g, '-')}.png`);
  await session.page.screenshot({ path: file }).catch(() => undefined);
  console.log(`    screenshot of the failure: ${file}`);
}
