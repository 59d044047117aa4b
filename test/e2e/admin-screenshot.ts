import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";

/**
 * Screenshots of the dashboard's pages. `SCREENSHOTS=1 npm run test:e2e` writes them to
 * docs/screenshots/ (shown in the README); otherwise they go to a temporary folder, so a test run
 * never changes tracked files.
 */
const dir =
  process.env.SCREENSHOTS === "1"
    ? join(import.meta.dirname, "..", "..", "docs", "screenshots")
    : mkdtempSync(join(tmpdir(), "nearbase-screenshots-"));
mkdirSync(dir, { recursive: true });

export async function screenshot(page: Page, name: string) {
  // Pending renders and the health page's first poll settle before the picture.
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(dir, `admin-${name}.png`), fullPage: false });
}
