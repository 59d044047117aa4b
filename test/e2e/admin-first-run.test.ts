import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type AdminServer, account, signInThroughUi, startServer } from "./admin-helpers";
import { screenshot } from "./admin-screenshot";
import { type Browser, launchBrowser } from "./browser";

/** A server with no admin yet: the dashboard explains `npm run admin:create` and grants nothing. */
let s: AdminServer;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync("ui/dist/_/index.html"))
    execFileSync("npx", ["tsx", "scripts/build-ui.ts"], { stdio: "inherit" });
  s = await startServer();
  browser = await launchBrowser();
  browser.context.setDefaultTimeout(10_000);
});

afterAll(async () => {
  await browser?.close();
  await s?.close();
});

it("shows the first-run page until an admin exists, then the sign-in page", async () => {
  // A plain user exists: still no admin.
  await account(s.t, "user");
  const page = await browser.page();
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`${s.base}/_/`);
  await page.getByRole("heading", { name: "Welcome to Nearbase" }).waitFor();
  expect(await page.locator("code", { hasText: "npm run admin:create" }).count()).toBe(1);
  // No form to make an admin, no sign-in form either.
  expect(await page.locator("input").count()).toBe(0);
  await screenshot(page, "first-run");

  const admin = await account(s.t, "admin");
  await page.getByRole("button", { name: /I have created an admin/ }).click();
  await page.getByRole("heading", { name: "Sign in to Nearbase" }).waitFor();
  await signInThroughUi(page, s.base, admin.email);
  await page.close();
});
