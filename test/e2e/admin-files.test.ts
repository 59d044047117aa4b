import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { adminSuite, choose, naturalWidth, testPng } from "./admin-helpers";

/**
 * Files in the dashboard (#20): the attachments collection's public `images` (several) and
 * protected `document` (one), uploaded through the record editor as a multipart PATCH of the
 * records route, shown as thumbnails, downloaded through signed links, and removed.
 */
const suite = adminSuite();

async function attachment(title: string) {
  const res = await suite.s.t.request("/api/collections/attachments/records", {
    method: "POST",
    headers: suite.admin.headers,
    json: { title },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function record(id: string) {
  const res = await suite.s.t.request(`/api/collections/attachments/records/${id}`, {
    headers: suite.admin.headers,
  });
  return (await res.json()) as { title: string; images: string[]; document: string | null };
}

describe("admin files", () => {
  it("uploads an image in the editor, shows its thumbnail, downloads it byte-identical and removes it", async () => {
    const id = await attachment("Holiday");
    const png = await testPng();
    const page = await suite.signedInPage();
    page.on("dialog", (d) => void d.accept());
    await page.goto(`${suite.s.base}/_/#/data/attachments/${id}`);
    const images = page.locator("fieldset.files-field", { hasText: "images" });
    await images.getByText("No files.").waitFor();

    // The upload and a field edit go in one multipart save.
    await choose(images, { name: "beach.png", mimeType: "image/png", buffer: png });
    await page.getByLabel(/^title/).fill("Holiday photos");
    const saved = page.waitForResponse((r) => r.request().method() === "PATCH");
    await page.getByRole("button", { name: "Save" }).click();
    expect((await saved).request().headers()["content-type"]).toContain("multipart/form-data");
    await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
    const after = await record(id);
    expect(after.title).toBe("Holiday photos");
    expect(after.images).toHaveLength(1);
    const name = after.images[0]!;
    expect(name).toMatch(/^beach_.+\.png$/);

    // Its thumbnail, loaded through a signed link (an <img> cannot send the bearer).
    const item = images.locator(`li[data-file="${name}"]`);
    const thumb = item.locator("img.thumb");
    await thumb.waitFor();
    expect(await thumb.getAttribute("src")).toContain("token=");
    await expect.poll(() => thumb.evaluate(naturalWidth)).toBe(64);

    // Downloaded: the same bytes.
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      item.getByRole("button", { name: "Download" }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(name);
    const path = await download.path();
    expect(Buffer.compare(await readFile(path), png)).toBe(0);

    // The table shows a declared thumbnail (the field's smallest crop of at least 64 px,
    // published in the OpenAPI document), not the full image.
    await page.goto(`${suite.s.base}/_/#/data/attachments`);
    const cell = page.locator(`tr[data-id="${id}"] td[data-field=images]`);
    await expect.poll(() => cell.locator("img").evaluate(naturalWidth)).toBe(100);
    expect(await cell.locator("img").getAttribute("src")).toContain("thumb=100x100");

    // Removed on save; the file is gone from the record and from its URL.
    await page.goto(`${suite.s.base}/_/#/data/attachments/${id}`);
    await item.getByRole("button", { name: `Remove ${name}` }).click();
    await item.getByText("removed on save").waitFor();
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
    await images.getByText("No files.").waitFor();
    expect((await record(id)).images).toEqual([]);
    const gone = await suite.s.t.request(`/api/files/attachments/${id}/${name}`, {
      headers: suite.admin.headers,
    });
    expect(gone.status).toBe(404);
    await page.close();
  });

  it("downloads a protected document through a signed link, which anonymous requests lack", async () => {
    const id = await attachment("Contract");
    const text = Buffer.from("Signed and sealed.\n");
    const page = await suite.signedInPage();
    await page.goto(`${suite.s.base}/_/#/data/attachments/${id}`);
    const document = page.locator("fieldset.files-field", { hasText: "document" });
    await document.getByText("protected").waitFor();
    await choose(document, { name: "contract.txt", mimeType: "text/plain", buffer: text });
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
    const name = (await record(id)).document!;
    expect(name).toMatch(/^contract_.+\.txt$/);
    const item = document.locator(`li[data-file="${name}"]`);
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      item.getByRole("button", { name: "Download" }).click(),
    ]);
    expect(Buffer.compare(await readFile(await download.path()), text)).toBe(0);
    expect(download.url()).toContain("token=");
    // Without the token (and without a bearer) the protected file is not served.
    const bare = await fetch(`${suite.s.base}/api/files/attachments/${id}/${name}`);
    expect(bare.status).toBeGreaterThanOrEqual(400);
    expect(bare.status).toBeLessThan(500);
    await page.close();
  });
});
