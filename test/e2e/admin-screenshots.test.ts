import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AdminServer, account, signInThroughUi, startServer } from "./admin-helpers";
import { screenshot } from "./admin-screenshot";
import { type Browser, launchBrowser } from "./browser";

/**
 * Every page of the dashboard at 1280×800, some at a phone's width and in dark mode: each one
 * renders without horizontal scrolling of the page and is photographed for the README
 * (`SCREENSHOTS=1 npm run test:e2e` updates docs/screenshots/).
 */
let s: AdminServer;
let browser: Browser;
let admin: Awaited<ReturnType<typeof account>>;
let user: Awaited<ReturnType<typeof account>>;
let postId: string;

beforeAll(async () => {
  if (!existsSync("ui/dist/_/index.html"))
    execFileSync("npx", ["tsx", "scripts/build-ui.ts"], { stdio: "inherit" });
  s = await startServer();
  admin = await account(s.t, "admin");
  user = await account(s.t, "user", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)");
  const titles = [
    "Shipping the admin dashboard",
    "Edge caching, explained",
    "Read-your-writes in practice",
    "Why libSQL",
    "Webhooks that never lose an event",
    "Draft: passkeys everywhere",
  ];
  for (const [i, title] of titles.entries()) {
    const res = await s.t.request("/api/collections/posts/records", {
      method: "POST",
      headers: i % 2 === 0 ? admin.headers : user.headers,
      json: {
        title,
        body: `${title}. A few words about it.`,
        status: title.startsWith("Draft") ? "draft" : "published",
        tags: i % 2 === 0 ? ["release", "ui"] : ["engineering"],
      },
    });
    const post = (await res.json()) as { id: string };
    postId ??= post.id;
    await s.t.request("/api/collections/comments/records", {
      method: "POST",
      headers: user.headers,
      json: { post: post.id, body: `Nice post about ${title.toLowerCase()}!` },
    });
  }
  await s.t.request("/api/keys", {
    method: "POST",
    headers: admin.headers,
    json: { name: "CI deploys", scopes: ["read"] },
  });
  await s.t.request("/api/webhooks", {
    method: "POST",
    headers: admin.headers,
    json: { url: "http://10.0.0.5/hooks", patterns: ["posts.*"], allowPrivate: true },
  });
  await s.t.request("/api/auth/login", {
    method: "POST",
    json: { email: user.email, password: "wrong password, on purpose" },
  });
  browser = await launchBrowser();
  browser.context.setDefaultTimeout(10_000);
});

afterAll(async () => {
  await browser?.close();
  await s?.close();
});

/** The page itself never scrolls sideways (wide tables scroll inside their own box). */
async function fitsWidth(page: Page) {
  // A string: the test files are type-checked without the DOM library.
  const { scroll, client, wide } = await page.evaluate<{
    scroll: number;
    client: number;
    wide: string[];
  }>(`({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
    wide: [...document.querySelectorAll("body *")]
      .filter(
        (e) =>
          e.getBoundingClientRect().right > document.documentElement.clientWidth + 1 ||
          (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === "visible"),
      )
      .slice(0, 8)
      .map((e) => e.tagName + "." + e.className + "(" + e.scrollWidth + "/" + e.clientWidth + ")"),
  })`);
  expect(scroll, `wider than the page: ${wide.join(", ")}`).toBeLessThanOrEqual(client);
}

describe("dashboard pages", () => {
  let page: Page;

  beforeAll(async () => {
    page = await browser.page();
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`${s.base}/_/`);
    await page.getByRole("heading", { name: "Sign in to Nearbase" }).waitFor();
    await screenshot(page, "sign-in");
    await signInThroughUi(page, s.base, admin.email);
  });

  it("data: collections, table, filter error, editor", async () => {
    await page.goto(`${s.base}/_/#/data`);
    await page.locator("tr[data-collection=posts] [data-total]", { hasText: "6" }).waitFor();
    await fitsWidth(page);
    await screenshot(page, "collections");

    await page.goto(`${s.base}/_/#/data/posts`);
    await page.locator("table.records tbody tr[data-id]").first().waitFor();
    await fitsWidth(page);
    await screenshot(page, "table");

    const filter = page.getByRole("searchbox", { name: "Filter" });
    await filter.fill("status = 'published' && title ~ ");
    await filter.press("Enter");
    await page.locator(".problem[data-code=INVALID_FILTER]").waitFor();
    await screenshot(page, "filter-error");

    await page.goto(`${s.base}/_/#/data/posts/${postId}`);
    await page.getByLabel(/^title/).waitFor();
    await fitsWidth(page);
    await screenshot(page, "record");
  });

  it("users, API keys, webhooks, audit, health", async () => {
    await page.goto(`${s.base}/_/#/users`);
    await page.locator("tbody tr[data-id]").first().waitFor();
    await screenshot(page, "users");

    await page.goto(`${s.base}/_/#/users/${user.id}`);
    await page.getByRole("heading", { name: /Sessions/ }).waitFor();
    await fitsWidth(page);
    await screenshot(page, "user");

    await page.goto(`${s.base}/_/#/keys`);
    await page.locator("tr", { hasText: "CI deploys" }).waitFor();
    await screenshot(page, "keys");

    await page.goto(`${s.base}/_/#/webhooks`);
    await page.locator("tbody tr[data-id]").first().waitFor();
    await screenshot(page, "webhooks");
    await page.locator("tbody tr[data-id] a").first().click();
    await page.getByRole("heading", { name: "Replay a time range" }).waitFor();
    await page.getByRole("table", { name: "Deliveries" }).locator("tbody tr").first().waitFor();
    await fitsWidth(page);
    await screenshot(page, "webhook");

    await page.goto(`${s.base}/_/#/audit`);
    await page.locator("tbody tr[data-id]").first().waitFor();
    await fitsWidth(page);
    await screenshot(page, "audit");

    await page.goto(`${s.base}/_/#/privacy`);
    await page.locator("tr[data-what=audit] td.num").waitFor();
    await fitsWidth(page);
    await screenshot(page, "privacy");

    await page.goto(`${s.base}/_/#/health`);
    await page.locator("figure.chart").first().waitFor();
    await page.locator(".tile", { hasText: "Readiness" }).filter({ hasText: "ready" }).waitFor();
    await fitsWidth(page);
    await screenshot(page, "health");
  });

  it("the step-up prompt (a reloaded session creating an API key)", async () => {
    await page.goto(`${s.base}/_/#/keys`);
    await page.reload();
    await page.getByLabel("Name").fill("Deploy bot");
    await page.getByRole("button", { name: "Create key" }).click();
    const dialog = page.getByRole("dialog", { name: "Confirm it is you" });
    await dialog.getByLabel("Password").waitFor();
    await screenshot(page, "step-up");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
  });

  it("phone width and dark mode", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${s.base}/_/#/data/posts`);
    await page.locator("table.records tbody tr[data-id]").first().waitFor();
    await fitsWidth(page);
    await screenshot(page, "phone-table");
    await page.goto(`${s.base}/_/#/health`);
    await page.locator("figure.chart").first().waitFor();
    await fitsWidth(page);
    await screenshot(page, "phone-health");
    await page.goto(`${s.base}/_/#/privacy`);
    await page.locator("tr[data-what=audit] td.num").waitFor();
    await fitsWidth(page);

    await page.setViewportSize({ width: 1280, height: 800 });
    await page.emulateMedia({ colorScheme: "dark" });
    await page.goto(`${s.base}/_/#/data/posts`);
    await page.locator("table.records tbody tr[data-id]").first().waitFor();
    const background = await page.evaluate<string>(
      "getComputedStyle(document.body).backgroundColor",
    );
    expect(background).toBe("rgb(15, 19, 24)");
    await screenshot(page, "dark-table");
    await page.emulateMedia({ colorScheme: "light" });
  });

  it("works from the keyboard: skip link, then the sections", async () => {
    await page.goto(`${s.base}/_/#/data`);
    await page.reload();
    await page.locator("tr[data-collection=posts]").waitFor();
    await page.keyboard.press("Tab");
    expect(await page.evaluate<string | undefined>("document.activeElement?.textContent")).toBe(
      "Skip to content",
    );
    await page.keyboard.press("Tab"); // the brand link
    await page.keyboard.press("Tab");
    expect(await page.evaluate<string | undefined>("document.activeElement?.textContent")).toBe(
      "Data",
    );
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await page.waitForURL(/#\/users$/);
    await page.locator("tbody tr[data-id]").first().waitFor();
  });
});
