import { format } from 'node:util';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import type { CodeServer } from './codeServer';
import { harness } from './harness';

export interface Workbench {
  browser: Browser;
  page: Page;
  /** Settles when the extension tests finish (only when extensionTestsPath was given). */
  testsExited: Promise<number>;
  /** Idempotent. */
  close(): Promise<void>;
}

export interface WorkbenchOptions {
  /** The workspace folder to open. */
  folder: string;
  /** A module exporting run(), loaded in the extension host as @vscode/test-electron does. */
  extensionTestsPath?: string;
  /** Console output of the extension host and the workbench. */
  onLog?: (line: string) => void;
}

/**
 * Opens code-server's workbench in Debian's chromium with this repo as the extension under
 * development. code-server rejects --extensionDevelopmentPath on its command line; the smoke-test
 * driver takes it from the page's ?payload= instead.
 */
export async function openWorkbench(server: CodeServer, { folder, extensionTestsPath, onLog = () => undefined }: WorkbenchOptions): Promise<Workbench> {
  const browser = await chromium.launch({
    executablePath: harness.manifest().chromium,
    headless: true,
    // Root in a container has no user namespaces for chromium's sandbox. The rest keeps chromium
    // from reaching for the network, which is not there and would only add noise and delay.
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-default-apps',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
    ],
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await browser.close().catch(() => undefined);
  };
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    let settle: (code: number) => void = () => undefined;
    const testsExited = new Promise<number>((resolve) => (settle = resolve));
    // Both must exist before the page loads: the smoke-test driver looks them up at start-up.
    await page.exposeFunction('codeAutomationExit', (code: unknown) => settle(Number(code)));
    await page.exposeFunction('codeAutomationLog', (_type: unknown, args: unknown) => onLog(format(...(Array.isArray(args) ? args : [args]))));
    page.on('pageerror', (error) => onLog(`[workbench error] ${error.message}`));

    const payload = [['extensionDevelopmentPath', server.remoteUri(harness.repoRoot)]];
    if (extensionTestsPath) payload.push(['extensionTestsPath', server.remoteUri(extensionTestsPath)]);
    const query = new URLSearchParams({ folder, payload: JSON.stringify(payload) });
    await page.goto(`${server.url}/?${query.toString()}`);
    return { browser, page, testsExited, close };
  } catch (error) {
    await close();
    throw error;
  }
}
