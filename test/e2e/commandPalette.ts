import type { Page } from 'playwright-core';

const attemptMs = 3_000;
const totalMs = 45_000;

/**
 * Runs a command the way a person does: F1, type its label, wait for its row, Enter.
 *
 * The workbench can be restored before the extension host has registered the development
 * extension's contributions, and an open palette does not refresh its list when they arrive: so
 * when the command is not listed, close the palette and try again.
 */
export async function runFromCommandPalette(page: Page, label: string): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  const input = widget.locator('input');
  const deadline = Date.now() + totalMs;
  for (;;) {
    await page.keyboard.press('F1');
    await input.waitFor();
    await input.fill(`>${label}`);
    try {
      // Enter runs the first row: wait until it is the command asked for, not a fuzzy neighbour.
      await widget.locator('.quick-input-list .monaco-list-row').first().filter({ hasText: label }).waitFor({ timeout: attemptMs });
      break;
    } catch (error) {
      await page.keyboard.press('Escape');
      await widget.waitFor({ state: 'hidden' });
      if (Date.now() > deadline) throw new Error(`the command palette never listed "${label}"`, { cause: error });
    }
  }
  await page.keyboard.press('Enter');
  await widget.waitFor({ state: 'hidden' });
}
