import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { account, adminSuite, password } from "./admin-helpers";

/**
 * The users pages in Chromium against the Node home: search and paging, revoke every session,
 * the password-reset mail, and the privacy export and erasure of an account — each checked
 * against the API, the mail the server sent, or the downloaded file.
 */
const suite = adminSuite();

const refreshWith = (refreshToken: string) =>
  suite.s.t.request("/api/auth/refresh", { method: "POST", json: { refreshToken } });

describe("admin users", () => {
  it("searches by part of the email, by role, and pages through the results", async () => {
    const marker = crypto.randomUUID().slice(0, 8);
    const emails: string[] = [];
    for (let i = 0; i < 27; i++) {
      const email = `find-${marker}-${String(i).padStart(2, "0")}@example.com`;
      const res = await suite.s.t.request("/api/auth/signup", {
        method: "POST",
        json: { email, password },
      });
      expect(res.status).toBe(201);
      emails.push(email);
    }
    const page = await suite.signedInPage();
    await page.goto(`${suite.s.base}/_/#/users`);
    const table = page.getByRole("table", { name: "Users" });
    const shown = () => table.locator("tbody tr td:first-child").allTextContents();
    await page.getByRole("searchbox", { name: "Search by email" }).fill(marker.toUpperCase());
    await page.getByRole("button", { name: "Search" }).click();
    await expect.poll(async () => (await shown()).length).toBe(25);
    const first = await shown();
    expect(first.every((e) => e.includes(marker))).toBe(true);
    const pager = page.getByRole("navigation", { name: "Pages" });
    await pager.getByRole("button", { name: "Next →" }).click();
    await pager.getByText("Page 2").waitFor();
    await expect.poll(async () => (await shown()).length).toBe(2);
    expect(new Set([...first, ...(await shown())])).toEqual(new Set(emails));
    expect(await pager.getByRole("button", { name: "Next →" }).isDisabled()).toBe(true);

    // A new search starts at page 1; the role filter asks the API for admins only.
    await page.getByRole("searchbox", { name: "Search by email" }).fill("");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByLabel("Role").selectOption("admin");
    await pager.getByText("Page 1").waitFor();
    await expect.poll(shown).toContain(suite.admin.email);
    const roles = await table.locator("tbody tr td:nth-child(3)").allTextContents();
    expect(roles.length).toBeGreaterThan(0);
    expect(new Set(roles)).toEqual(new Set(["admin"]));
    await page.close();
  });

  it("revokes every session of a user, which ends all of their refresh tokens", async () => {
    const user = await account(suite.s.t, "user", "e2e-laptop"); // sign-up + log-in: 2 sessions
    const page = await suite.signedInPage();
    await page.goto(`${suite.s.base}/_/#/users/${user.id}`);
    await page.getByRole("heading", { name: "Sessions (2 active)" }).waitFor();
    await page.getByRole("button", { name: "Revoke all" }).click();
    await page.getByRole("status").filter({ hasText: "Every session revoked." }).waitFor();
    await page.getByRole("heading", { name: "Sessions (0 active)" }).waitFor();
    const states = await page
      .getByRole("table", { name: "Sessions" })
      .locator("tbody tr td:nth-child(4)")
      .allTextContents();
    expect(states).toHaveLength(2);
    expect(states.every((s) => s.startsWith("revoked"))).toBe(true);
    expect((await refreshWith(user.refreshToken)).status).toBe(401);
    await page.close();
  });

  it("mails a password-reset link to the user", async () => {
    const user = await account(suite.s.t, "user");
    const page = await suite.signedInPage();
    await page.goto(`${suite.s.base}/_/#/users/${user.id}`);
    const before = suite.s.t.mail.filter((m) => m.to === user.email).length;
    await page.getByRole("button", { name: "Send password reset" }).click();
    await page
      .getByRole("status")
      .filter({ hasText: `A password-reset link was mailed to ${user.email}.` })
      .waitFor();
    await expect
      .poll(() => suite.s.t.mail.filter((m) => m.to === user.email).length)
      .toBe(before + 1);
    const mail = suite.s.t.mail.filter((m) => m.to === user.email).at(-1)!;
    expect(mail.text).toMatch(/reset/i);
    await page.close();
  });

  it("downloads a user's data export as JSON", async () => {
    const user = await account(suite.s.t, "user");
    const post = await suite.s.t.request("/api/collections/posts/records", {
      method: "POST",
      headers: user.headers,
      json: { title: "Exported post", status: "draft" },
    });
    expect(post.status).toBe(201);
    const page = await suite.signedInPage();
    await page.goto(`${suite.s.base}/_/#/users/${user.id}`);
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Export data (JSON)" }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`nearbase-export-${user.id}.json`);
    const text = readFileSync(await download.path(), "utf8");
    const doc = JSON.parse(text) as Record<string, unknown>;
    expect(text).toContain(user.email);
    expect(text).toContain("Exported post");
    expect(doc).toBeTypeOf("object");
    await page.getByRole("status").filter({ hasText: "Export downloaded." }).waitFor();
    await page.close();
  });

  it("erases a user only after their address is typed, and the account is gone", async () => {
    const user = await account(suite.s.t, "user");
    const page = await suite.signedInPage();
    await page.goto(`${suite.s.base}/_/#/users/${user.id}`);
    const erase = page.getByRole("button", { name: "Erase account and data" });
    await erase.waitFor();

    page.once("dialog", (d) => void d.accept("someone-else@example.com"));
    await erase.click();
    await page.getByRole("status").filter({ hasText: "Not erased" }).waitFor();
    const still = await suite.s.t.request(`/api/admin/users/${user.id}`, {
      headers: suite.admin.headers,
    });
    expect(still.status).toBe(200);

    page.once("dialog", (d) => void d.accept(user.email.toUpperCase()));
    await erase.click();
    await page.waitForURL(/#\/users$/);
    const gone = await suite.s.t.request(`/api/admin/users/${user.id}`, {
      headers: suite.admin.headers,
    });
    expect(gone.status).toBe(404);
    expect((await refreshWith(user.refreshToken)).status).toBe(401);
    await page.close();
  });
});
