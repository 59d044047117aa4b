import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

/**
 * The browser the end-to-end tests drive: Debian's Chromium (`apt-get install -y chromium`) through
 * playwright-core, headless, in a fresh profile directory that is deleted on close. Shared by every
 * test/e2e file (passkeys today; admin UI tests can launch it the same way).
 */
export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const flags = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Browser {
  context: BrowserContext;
  /** A new tab. */
  page(): Promise<Page>;
  close(): Promise<void>;
}

/** Launches Chromium with a fresh user-data-dir. */
export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "nearbase-e2e-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: flags,
  });
  return {
    context,
    page: () => context.newPage(),
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Gives a tab Chromium's CDP virtual authenticator: a platform authenticator (CTAP2, internal
 * transport) with resident keys and user verification that always succeeds, so WebAuthn runs for
 * real without a person. Returns the CDP session and the authenticator's id.
 */
export async function addVirtualAuthenticator(browser: Browser, page: Page) {
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}
