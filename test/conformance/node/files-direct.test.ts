import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Home } from "../home";
import { makeNodeHome } from "../node-home";

/**
 * Direct uploads in the Node home stream to disk as the bytes arrive: half-way through the
 * body, the first half is already in the upload's temporary file, before the rest was sent.
 */
describe("direct uploads (Node home, disk)", () => {
  let t: Home;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nearbase-direct-"));
    t = await makeNodeHome({ env: { FILES_DIR: dir } });
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes the body to storage while it is still arriving, never holding it whole", async () => {
    const owner = await t.signIn();
    const rec = (await (
      await t.request("/api/collections/attachments/records", {
        method: "POST",
        headers: owner.headers,
        json: { title: "streamed" },
      })
    ).json()) as { id: string };
    const size = 16 * 1024 * 1024;
    const grant = (await (
      await t.request(`/api/files/attachments/${rec.id}/document/upload-url`, {
        method: "POST",
        headers: owner.headers,
        json: { filename: "big.bin", size },
      })
    ).json()) as { url: string };

    const folder = join(dir, "attachments", rec.id, "document");
    const spooled = () =>
      existsSync(folder)
        ? readdirSync(folder)
            .filter((f) => f.endsWith(".tmp"))
            .reduce((n, f) => n + statSync(join(folder, f)).size, 0)
        : 0;
    const chunk = new Uint8Array(1024 * 1024).fill(7);
    let sent = 0;
    let onDiskAtHalf = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent === size / 2) {
          // Wait (generously: the machine is shared) for the first half to reach the disk.
          const until = Date.now() + 20_000;
          while (spooled() < size / 4 && Date.now() < until)
            await new Promise((r) => setTimeout(r, 20));
          onDiskAtHalf = spooled();
        }
        if (sent >= size) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk.slice());
      },
    });
    const res = await t.request(grant.url, {
      method: "PUT",
      headers: { "content-length": String(size) },
      body,
      duplex: "half",
    } as RequestInit);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(onDiskAtHalf).toBeGreaterThanOrEqual(size / 4);
    const { document } = (await res.json()) as { document: string };
    expect(statSync(join(folder, document)).size).toBe(size);
    expect(readdirSync(folder).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  }, 60_000);
});
