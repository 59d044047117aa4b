import { describe, expect, it } from "vitest";
import { adminSuite } from "./admin-helpers";

/** The data browser's cursor paging and column picker, in Chromium against the Node home. */
const suite = adminSuite();

async function posts(marker: string, n: number) {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await suite.s.t.request("/api/collections/posts/records", {
      method: "POST",
      headers: suite.admin.headers,
      json: { title: `Paged ${marker} ${String(i).padStart(2, "0")}`, status: "published" },
    });
    expect(res.status).toBe(201);
    ids.push(((await res.json()) as { id: string }).id);
  }
  return ids;
}

describe("admin data browser", () => {
  it("pages through a filtered table with the API's cursors, forward and back", async () => {
    const marker = crypto.randomUUID().slice(0, 6);
    const ids = await posts(marker, 30);
    const page = await suite.signedInPage();
    await page.goto(`${suite.s.base}/_/#/data/posts`);
    const filter = page.getByRole("searchbox", { name: "Filter" });
    await filter.fill(`title ~ 'Paged ${marker}'`);
    await filter.press("Enter");
    await page.getByTestId("count").filter({ hasText: "30 records matching" }).waitFor();
    const rows = page.locator("table.records tbody tr[data-id]");
    const pager = page.getByRole("navigation", { name: "Pages" });
    const shownIds = () => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-id")));

    await expect.poll(() => rows.count()).toBe(25);
    const first = await shownIds();
    expect(await pager.getByRole("button", { name: "← Previous" }).isDisabled()).toBe(true);

    await pager.getByRole("button", { name: "Next →" }).click();
    await pager.getByText("Page 2").waitFor();
    await expect.poll(() => rows.count()).toBe(5);
    const second = await shownIds();
    // Every record exactly once across the two pages.
    expect([...first, ...second]).toHaveLength(30);
    expect(new Set([...first, ...second])).toEqual(new Set(ids));
    expect(await pager.getByRole("button", { name: "Next →" }).isDisabled()).toBe(true);
    // The total counted on the first page stays while paging.
    expect(await page.getByTestId("count").textContent()).toContain("30 records");

    await pager.getByRole("button", { name: "← Previous" }).click();
    await pager.getByText("Page 1").waitFor();
    await expect.poll(shownIds).toEqual(first);

    // Another filter starts at page 1, and so does coming back to this one from page 2.
    await pager.getByRole("button", { name: "Next →" }).click();
    await pager.getByText("Page 2").waitFor();
    await filter.fill(`title ~ 'Paged ${marker} 0'`);
    await filter.press("Enter");
    await page.getByTestId("count").filter({ hasText: "10 records matching" }).waitFor();
    await pager.getByText("Page 1").waitFor();
    await filter.fill(`title ~ 'Paged ${marker}'`);
    await filter.press("Enter");
    await page.getByTestId("count").filter({ hasText: "30 records matching" }).waitFor();
    await pager.getByText("Page 1").waitFor();
    await expect.poll(shownIds).toEqual(first);
    await page.close();
  });

  it("shows and hides columns with the column picker", async () => {
    const marker = crypto.randomUUID().slice(0, 6);
    const [id] = await posts(marker, 1);
    const page = await suite.signedInPage();
    await page.goto(`${suite.s.base}/_/#/data/posts`);
    const filter = page.getByRole("searchbox", { name: "Filter" });
    await filter.fill(`title ~ 'Paged ${marker}'`);
    await filter.press("Enter");
    const row = page.locator(`table.records tbody tr[data-id="${id}"]`);
    await row.waitFor();
    const headers = () => page.locator("table.records thead th:not(.pick)").allTextContents();
    expect(await headers()).not.toContainEqual(expect.stringContaining("author"));
    expect(await row.locator("td[data-field=author]").count()).toBe(0);

    await page.locator("summary", { hasText: "Columns" }).click();
    const picker = page.getByRole("group", { name: "Columns shown" });
    await picker.getByRole("checkbox", { name: "author" }).check();
    await row.locator("td[data-field=author]").waitFor();
    expect(await row.locator("td[data-field=author]").textContent()).toBe(suite.admin.id);
    await picker.getByRole("checkbox", { name: "body" }).uncheck();
    await row.locator("td[data-field=body]").waitFor({ state: "detached" });
    expect(await headers()).not.toContain("body");

    // Hide every column but one: the last one cannot be hidden, and it still links the record.
    for (const name of ["id", "created", "updated", "status", "tags", "author"])
      await picker.getByRole("checkbox", { name, exact: true }).uncheck();
    const title = picker.getByRole("checkbox", { name: "title", exact: true });
    expect(await title.isChecked()).toBe(true);
    expect(await title.isDisabled()).toBe(true);
    await row.locator("td[data-field=title] a").click();
    await page.waitForURL(new RegExp(`#/data/posts/${id}$`));
    await page.close();
  });
});
