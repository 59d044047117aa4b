import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type AdminServer,
  account,
  consoleErrors,
  password,
  signInThroughUi,
  startServer,
} from "./admin-helpers";
import { type Browser, launchBrowser } from "./browser";

/**
 * The admin dashboard (/_/) in Chromium against the Node home: every flow goes through the UI
 * and is checked against the API or the database, nothing is mocked. Screenshots are in
 * admin-screenshots.test.ts; the first-run page in admin-first-run.test.ts.
 */
let s: AdminServer;
let browser: Browser;
let admin: Awaited<ReturnType<typeof account>>;

beforeAll(async () => {
  if (!existsSync("ui/dist/_/index.html"))
    execFileSync("npx", ["tsx", "scripts/build-ui.ts"], { stdio: "inherit" });
  s = await startServer();
  admin = await account(s.t, "admin");
  browser = await launchBrowser();
  browser.context.setDefaultTimeout(10_000);
});

// Tabs share the profile's cookies: each test starts signed out.
beforeEach(() => browser.context.clearCookies());

afterAll(async () => {
  await browser?.close();
  await s?.close();
});

async function newPost(title: string, status = "published") {
  const res = await s.t.request("/api/collections/posts/records", {
    method: "POST",
    headers: admin.headers,
    json: { title, body: `Body of ${title}`, status, tags: ["e2e"] },
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; title: string };
}

async function signedInPage(): Promise<Page> {
  const page = await browser.page();
  await signInThroughUi(page, s.base, admin.email);
  return page;
}

describe("admin dashboard", () => {
  it("serves /_/ with a strict CSP, no framing, and runs without CSP violations", async () => {
    const page = await browser.page();
    const errors = consoleErrors(page);
    const res = await page.goto(`${s.base}/_/`);
    expect(res?.status()).toBe(200);
    const headers = res!.headers();
    expect(headers["content-security-policy"]).toContain("script-src 'self'");
    expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(headers["content-security-policy"]).not.toContain("unsafe-inline");
    expect(headers["x-frame-options"]).toBe("DENY");
    await page.getByRole("heading", { name: "Sign in to Nearbase" }).waitFor();
    // A hashed asset is cached for good; the page itself is revalidated.
    const script = await page.locator("script[type=module]").getAttribute("src");
    const asset = await fetch(`${s.base}${script}`);
    expect(asset.headers.get("cache-control")).toContain("immutable");
    expect(headers["cache-control"]).toBe("no-cache");
    // /_ redirects, unknown files are a problem+json 404, other methods 405.
    expect((await fetch(`${s.base}/_`, { redirect: "manual" })).headers.get("location")).toBe(
      "/_/",
    );
    const missing = await fetch(`${s.base}/_/assets/nope.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toContain("application/problem+json");
    expect((await fetch(`${s.base}/_/../package.json`)).status).not.toBe(200);
    expect((await fetch(`${s.base}/_/`, { method: "POST" })).status).toBe(405);
    expect(errors.filter((e) => /Content Security Policy|Refused/.test(e))).toEqual([]);
    await page.close();
  });

  it("signs in, keeps the token out of storage and survives a reload through the refresh cookie", async () => {
    const page = await signedInPage();
    expect(await page.getByText(admin.email).isVisible()).toBe(true);
    // A string: the test files are type-checked without the DOM library.
    const storage = await page.evaluate(
      "({ local: localStorage.length, session: sessionStorage.length, cookies: document.cookie })",
    );
    expect(storage).toEqual({ local: 0, session: 0, cookies: "" }); // nb_refresh is HttpOnly
    const cookies = await browser.context.cookies(`${s.base}/api/auth/refresh`);
    const refresh = cookies.find((c) => c.name === "nb_refresh");
    expect(refresh).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict" });
    await page.reload();
    await page.getByRole("navigation", { name: "Sections" }).waitFor();
    await page
      .getByRole("link", { name: "Sign out" })
      .or(page.getByRole("button", { name: "Sign out" }))
      .click();
    await page.getByRole("heading", { name: "Sign in to Nearbase" }).waitFor();
    await page.reload();
    await page.getByRole("heading", { name: "Sign in to Nearbase" }).waitFor();
    await page.close();
  });

  it("refuses a wrong password with the problem's title", async () => {
    const page = await browser.page();
    await page.goto(`${s.base}/_/`);
    await page.getByLabel("Email").fill(admin.email);
    await page.getByLabel("Password").fill("not the password at all");
    await page.getByRole("button", { name: "Sign in" }).click();
    const alert = page.locator(".problem[data-code]");
    await alert.waitFor();
    expect(await alert.getAttribute("data-code")).toBe("UNAUTHENTICATED");
    expect(await alert.textContent()).not.toContain("{");
    await page.close();
  });

  it("lists collections with counts and filters posts, showing a syntax error at its position", async () => {
    const marker = crypto.randomUUID().slice(0, 6);
    await newPost(`Alpha ${marker}`);
    await newPost(`Beta ${marker}`);
    const page = await signedInPage();
    const row = page.locator("tr[data-collection=posts] [data-total]");
    await row.waitFor();
    const total = Number(await row.textContent());
    expect(total).toBeGreaterThanOrEqual(2);

    await page.getByRole("link", { name: "posts", exact: true }).click();
    const filter = page.getByRole("searchbox", { name: "Filter" });
    await filter.fill(`title = 'Alpha ${marker}'`);
    await filter.press("Enter");
    await page.getByTestId("count").filter({ hasText: "1 record matching" }).waitFor();
    const titles = await page.locator("table.records tbody td[data-field=title]").allTextContents();
    expect(titles).toEqual([`Alpha ${marker}`]);

    // 'title = = 1': the API says where (character 9), the UI points there.
    await filter.fill("title = = 1");
    await filter.press("Enter");
    const problem = page.locator(".problem[data-code=INVALID_FILTER]");
    await problem.waitFor();
    expect(await problem.textContent()).toContain("at character 9");
    const caret = await page.locator(".filter-error pre").textContent();
    expect(caret).toBe("title = = 1\n        ^");
    expect(await filter.getAttribute("aria-invalid")).toBe("true");
    // Sorting by a column asks the API for that order.
    await filter.fill(`title ~ '${marker}'`);
    await filter.press("Enter");
    await page.getByTestId("count").filter({ hasText: "2 records" }).waitFor();
    await page.getByRole("button", { name: "title", exact: true }).click();
    await page.locator("th[aria-sort=ascending]").waitFor();
    await expect
      .poll(() => page.locator("table.records tbody td[data-field=title]").allTextContents())
      .toEqual([`Alpha ${marker}`, `Beta ${marker}`]);
    await page.getByRole("button", { name: "title ▲" }).click();
    await expect
      .poll(() => page.locator("table.records tbody td[data-field=title]").allTextContents())
      .toEqual([`Beta ${marker}`, `Alpha ${marker}`]);
    await page.close();
  });

  it("creates, edits and deletes a record through the editor", async () => {
    const page = await signedInPage();
    page.on("dialog", (d) => void d.accept());
    await page.goto(`${s.base}/_/#/data/posts/new`);
    await page.getByLabel(/^title/).fill("Made in the browser");
    await page.getByLabel(/^status/).selectOption("published");
    await page.getByLabel(/^tags/).fill('["ui", "e2e"]');
    await page.getByRole("button", { name: "Create" }).click();
    await page.waitForURL(/#\/data\/posts\/pst_/);
    const id = decodeURIComponent(page.url().split("/").at(-1)!);
    await page.locator("dl.meta", { hasText: id }).waitFor();
    const created = await (
      await s.t.request(`/api/collections/posts/records/${id}`, { headers: admin.headers })
    ).json();
    expect(created).toMatchObject({
      title: "Made in the browser",
      status: "published",
      tags: ["ui", "e2e"],
    });
    // Server-managed and owner fields are not editable.
    expect(await page.getByLabel(/^author/).isDisabled()).toBe(true);

    await page.getByLabel(/^title/).fill("Edited in the browser");
    // A save takes the PATCH answer (the record and its ETag): no GET of the record after it,
    // the editor stays mounted, and what is typed while the save runs is kept.
    const sent: { method: string; ifMatch: string | undefined }[] = [];
    page.on("request", (r) => {
      if (r.url().includes(`/records/${id}`))
        sent.push({ method: r.method(), ifMatch: r.headers()["if-match"] });
    });
    // The first PATCH is held in the browser until the typing is done, so it does run meanwhile.
    let release = () => {};
    const typed = new Promise<void>((r) => {
      release = r;
    });
    await page.route(`**/records/${id}`, async (route) => {
      if (route.request().method() === "PATCH") await typed;
      await route.continue();
    });
    const patched = page.waitForResponse((r) => r.request().method() === "PATCH");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("button", { name: "Saving…" }).waitFor();
    await page.getByLabel(/^body/).fill("Typed while the save ran");
    release();
    const etag = (await patched).headers().etag;
    expect(etag).toMatch(/^"/);
    await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
    const edited = (await (
      await s.t.request(`/api/collections/posts/records/${id}`, { headers: admin.headers })
    ).json()) as { title: string; body: string };
    expect(edited.title).toBe("Edited in the browser");
    expect(await page.getByLabel(/^body/).inputValue()).toBe("Typed while the save ran");
    expect(await page.getByLabel(/^title/).inputValue()).toBe("Edited in the browser");

    // Bad JSON is caught before sending.
    await page.getByLabel(/^tags/).fill("[not json");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("not valid JSON").waitFor();
    await page.getByLabel(/^tags/).fill("[]");
    // The next save sends what was typed, under the first answer's ETag.
    await page.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => sent.filter((r) => r.method === "PATCH").length).toBe(2);
    await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
    expect(sent.map((r) => r.method)).toEqual(["PATCH", "PATCH"]);
    expect(sent[1]!.ifMatch).toBe(etag);
    const again = (await (
      await s.t.request(`/api/collections/posts/records/${id}`, { headers: admin.headers })
    ).json()) as { body: string; tags: string[] };
    expect(again).toMatchObject({ body: "Typed while the save ran", tags: [] });

    await page.getByRole("button", { name: "Delete" }).click();
    await page.waitForURL(/#\/data\/posts$/);
    const gone = await s.t.request(`/api/collections/posts/records/${id}`, {
      headers: admin.headers,
    });
    expect(gone.status).toBe(404);
    await page.close();
  });

  it("shows a 412 when another tab saved first, and offers to reload", async () => {
    const post = await newPost("Conflict target");
    const a = await signedInPage();
    const b = await browser.page();
    await b.goto(`${s.base}/_/#/data/posts/${post.id}`); // signed in by the refresh cookie
    await a.goto(`${s.base}/_/#/data/posts/${post.id}`);
    await a.getByLabel(/^title/).waitFor();
    await b.getByLabel(/^title/).fill("Saved by tab B");
    await b.getByRole("button", { name: "Save" }).click();
    await b.getByRole("status").filter({ hasText: "Saved." }).waitFor();

    await a.getByLabel(/^title/).fill("Saved by tab A");
    await a.getByRole("button", { name: "Save" }).click();
    const conflict = a.locator(".conflict");
    await conflict.waitFor();
    expect(await conflict.textContent()).toContain("412");
    const current = (await (
      await s.t.request(`/api/collections/posts/records/${post.id}`, { headers: admin.headers })
    ).json()) as { title: string };
    expect(current.title).toBe("Saved by tab B");

    await a.getByRole("button", { name: "Reload the record" }).click();
    await expect.poll(() => a.getByLabel(/^title/).inputValue()).toBe("Saved by tab B");
    await a.getByLabel(/^title/).fill("Saved by tab A after reload");
    await a.getByRole("button", { name: "Save" }).click();
    await a.getByRole("status").filter({ hasText: "Saved." }).waitFor();
    await a.close();
    await b.close();
  });

  it("batch-deletes selected records", async () => {
    const marker = crypto.randomUUID().slice(0, 6);
    const ids = [(await newPost(`Batch ${marker} 1`)).id, (await newPost(`Batch ${marker} 2`)).id];
    const page = await signedInPage();
    page.on("dialog", (d) => void d.accept());
    await page.goto(`${s.base}/_/#/data/posts`);
    const filter = page.getByRole("searchbox", { name: "Filter" });
    await filter.fill(`title ~ 'Batch ${marker}'`);
    await filter.press("Enter");
    await page.getByTestId("count").filter({ hasText: "2 records" }).waitFor();
    await page.getByLabel("Select every record on this page").check();
    await page.getByRole("button", { name: "Delete 2 selected" }).click();
    await page.getByTestId("count").filter({ hasText: "0 records" }).waitFor();
    for (const id of ids) {
      const res = await s.t.request(`/api/collections/posts/records/${id}`, {
        headers: admin.headers,
      });
      expect(res.status).toBe(404);
    }
    await page.close();
  });

  it("expands a relation in the table", async () => {
    const post = await newPost("Parent of a comment");
    const res = await s.t.request("/api/collections/comments/records", {
      method: "POST",
      headers: admin.headers,
      json: { post: post.id, body: "A comment" },
    });
    expect(res.status).toBe(201);
    const page = await signedInPage();
    await page.goto(`${s.base}/_/#/data/comments`);
    await page.locator("table.records tbody tr[data-id]").first().waitFor();
    await page.locator("summary", { hasText: "Expand" }).click();
    await page.getByRole("checkbox", { name: "Expand post" }).check();
    await page.locator("td[data-field=post]", { hasText: "Parent of a comment" }).first().waitFor();
    await page.close();
  });

  it("revokes one session of a user, which ends that session's refresh", async () => {
    const user = await account(s.t, "user", "e2e-phone");
    const page = await signedInPage();
    await page.goto(`${s.base}/_/#/users/${user.id}`);
    const row = page.locator(`tr[data-id="${user.sessionId}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain("e2e-phone");
    await row.getByRole("button", { name: "Revoke" }).click();
    await page.getByRole("status").filter({ hasText: "revoked" }).waitFor();
    await expect.poll(() => row.textContent()).toContain("revoked");
    const refresh = await s.t.request("/api/auth/refresh", {
      method: "POST",
      json: { refreshToken: user.refreshToken },
    });
    expect(refresh.status).toBe(401);
    await page.close();
  });

  it("changes a user's role", async () => {
    const user = await account(s.t, "user");
    const page = await signedInPage();
    await page.goto(`${s.base}/_/#/users/${user.id}`);
    await page.getByLabel("Role").first().selectOption("admin");
    await page.getByRole("status").filter({ hasText: "Role changed to admin." }).waitFor();
    const res = await s.t.request(`/api/admin/users/${user.id}`, { headers: admin.headers });
    expect(((await res.json()) as { role: string }).role).toBe("admin");
    await page.close();
  });

  it("creates an API key, shows the secret once, and the key works with fetch until revoked", async () => {
    const page = await signedInPage();
    page.on("dialog", (d) => void d.accept());
    await page.goto(`${s.base}/_/#/keys`);
    await page.getByLabel("Name").fill("browser key");
    await page.getByRole("button", { name: "Create key" }).click();
    const secret = page.getByLabel("The new API key");
    await secret.waitFor();
    const key = await secret.inputValue();
    expect(key).toMatch(/^nb_live_/);
    const use = (k: string) =>
      page.evaluate(
        async (k) =>
          (await fetch("/api/collections/posts/records?limit=1", { headers: { "x-api-key": k } }))
            .status,
        k,
      );
    expect(await use(key)).toBe(200);
    await page.getByRole("button", { name: "I have stored it" }).click();
    expect(await page.getByLabel("The new API key").count()).toBe(0);
    await page
      .locator("tr", { hasText: "browser key" })
      .getByRole("button", { name: "Revoke" })
      .click();
    await page.locator("tr", { hasText: "browser key" }).waitFor({ state: "detached" });
    expect(await use(key)).toBe(401);
    await page.close();
  });

  it("draws the health charts from /api/admin/stats with live data and readiness", async () => {
    for (let i = 0; i < 5; i++) await s.t.request("/api/collections/posts/records?limit=1");
    const page = await signedInPage();
    await page.goto(`${s.base}/_/#/health`);
    await page.locator("figure.chart").first().waitFor();
    const charts = await page.locator("figure.chart figcaption").allTextContents();
    expect(charts).toEqual(
      expect.arrayContaining([
        "Requests per minute",
        "Latency percentiles",
        "Error rate, last minute (live)",
      ]),
    );
    const requestsBars = page
      .locator("figure.chart", { hasText: "Requests per minute" })
      .locator("rect");
    expect(await requestsBars.count()).toBe(3);
    const label = await page
      .locator("figure.chart", { hasText: "Requests per minute" })
      .locator("svg")
      .getAttribute("aria-label");
    const thisMinute = Number(/this minute requests\/min (\d+)/.exec(label ?? "")?.[1]);
    expect(thisMinute).toBeGreaterThanOrEqual(5);
    await page.locator(".tile", { hasText: "Readiness" }).filter({ hasText: "ready" }).waitFor();
    // Live: another poll adds a point to the live line.
    await expect
      .poll(
        async () =>
          Number(
            await page
              .locator("figure.chart", { hasText: "Requests in the last minute (live)" })
              .locator("svg")
              .getAttribute("data-points"),
          ),
        { timeout: 15_000 },
      )
      .toBeGreaterThanOrEqual(2);
    await page.close();
  });

  it("gives a non-admin nothing: the UI refuses them and every admin API it calls answers 403", async () => {
    const user = await account(s.t, "user");
    const page = await browser.page();
    await page.goto(`${s.base}/_/`);
    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("is not an admin").waitFor();
    expect(await page.getByRole("navigation", { name: "Sections" }).count()).toBe(0);
    // The same token the UI would hold, against every admin view's API.
    for (const path of [
      "/api/admin/users",
      `/api/admin/users/${admin.id}`,
      "/api/admin/stats",
      "/api/admin/audit",
      "/api/webhooks",
      "/metrics",
      `/api/admin/users/${admin.id}/export`,
    ]) {
      const res = await s.t.request(path, { headers: user.headers });
      expect(res.status, path).toBe(403);
    }
    await page.close();
  });
});
