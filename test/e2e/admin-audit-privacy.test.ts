import { describe, expect, it } from "vitest";
import { account, adminSuite } from "./admin-helpers";

/** The audit log's filter and the retention dry run (and run) in Chromium against the Node home. */
const suite = adminSuite();

describe("admin audit log and privacy", () => {
  it("filters the audit log with the filter language and points at a syntax error", async () => {
    const user = await account(suite.s.t, "user");
    const wrong = await suite.s.t.request("/api/auth/login", {
      method: "POST",
      json: { email: user.email, password: "not the password" },
    });
    expect(wrong.status).toBe(401);
    const page = await suite.signedInPage();
    await page.goto(`${suite.s.base}/_/#/audit`);
    const rows = page.getByRole("table", { name: "Audit entries" }).locator("tbody tr[data-id]");
    await rows.first().waitFor();
    const everything = await rows.count();

    const filter = page.getByRole("searchbox", { name: "Filter" });
    await filter.fill(`action = 'auth.sign_in_failed' && subject = '${user.id}'`);
    await filter.press("Enter");
    await expect.poll(() => rows.count()).toBe(1);
    const cells = await rows.first().locator("td").allTextContents();
    expect(cells.slice(1, 3)).toEqual(["auth.sign_in_failed", "failed"]);
    expect(cells[4]).toBe(user.id);
    expect(cells[6]).toContain("wrong_password");
    expect(everything).toBeGreaterThan(1);

    await filter.fill("action = ");
    await filter.press("Enter");
    await page.locator(".problem[data-code=INVALID_FILTER]").waitFor();
    // The filter is trimmed; the caret sits where the missing value should start.
    expect(await page.locator(".filter-error pre").textContent()).toBe("action =\n        ^");
    expect(await filter.getAttribute("aria-invalid")).toBe("true");
    await page.close();
  });

  it("shows the retention dry run, runs retention on confirmation, and shows what went", async () => {
    // Two audit entries from long ago (the log is append-only: inserted, never changed).
    const ids = [
      `aud_old_${crypto.randomUUID().slice(0, 8)}`,
      `aud_old_${crypto.randomUUID().slice(0, 8)}`,
    ];
    for (const id of ids)
      await suite.s.t.client.execute({
        sql: "INSERT INTO nb_audit_log (id, at, action, actor) VALUES (?, ?, 'auth.signed_in', 'system')",
        args: [id, Date.UTC(2000, 0, 1)],
      });
    const page = await suite.signedInPage();
    page.on("dialog", (d) => void d.accept());
    await page.getByRole("link", { name: "Privacy" }).click();
    const audit = page.getByRole("table", { name: "Retention" }).locator("tr[data-what=audit]");
    await expect.poll(() => audit.locator("td.num").textContent()).toBe("2");
    await page.getByText("No collection declares a retention period.").waitFor();
    // A dry run changes nothing.
    const count = async () =>
      Number(
        (
          await suite.s.t.client.execute({
            sql: `SELECT count(*) AS n FROM nb_audit_log WHERE id IN (?, ?)`,
            args: ids,
          })
        ).rows[0]!.n,
      );
    expect(await count()).toBe(2);

    await page.getByRole("button", { name: "Run retention now" }).click();
    await page.getByRole("status").filter({ hasText: "Retention ran. Removed: audit 2" }).waitFor();
    await expect.poll(() => audit.locator("td.num").textContent()).toBe("0");
    expect(await count()).toBe(0);
    expect(await page.getByRole("button", { name: "Run retention now" }).isDisabled()).toBe(true);
    await page.close();
  });
});
