import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodePng, encodePng, jpegSize } from "./files-images";
import type { Home, HomeOptions, MakeHome, SignedIn } from "./home";
import { readProblem, unique } from "./home";

/**
 * Files on records (#20) in every home: the Node home on local disk, the Workers home on the
 * FILES R2 bucket (miniflare's R2 in workerd). Each home wrapper says how to look into its
 * storage and how to make it fail.
 */
export interface FileStorageProbe {
  /** Settings (and, in workerd, bindings) the home is made with. */
  env: HomeOptions["env"];
  /** Whether an object is stored under `key`. */
  stored(key: string): Promise<boolean>;
  /** Removes the object under `key` behind the app's back. */
  remove(key: string): Promise<void>;
  /** Makes deleting `key` fail until `heal()`. */
  breakDeletes(key: string): Promise<void>;
  heal(): Promise<void>;
}

const png = Uint8Array.from([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1,
  0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 10, 0x49, 0x44, 0x41, 0x54, 0x78,
  0x9c, 0x63, 0, 1, 0, 0, 5, 0, 1, 0x0d, 0x0a, 0x2d, 0xb4, 0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae,
  0x42, 0x60, 0x82,
]);

/** A 120×80 JPEG (made with sharp; kept as bytes so workerd needs no encoder). */
const jpeg = Uint8Array.from(
  atob(
    "/9j/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCABQAHgDASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAT/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/8QAFgEBAQEAAAAAAAAAAAAAAAAAAAQF/8QAFBEBAAAAAAAAAAAAAAAAAAAAAP/aAAwDAQACEQMRAD8AmARMQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB//9k=",
  ),
  (c) => c.charCodeAt(0),
);

/** Bytes that are none of the sniffable types: every value 0–255, several times over. */
function binary(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 7 + (i >> 8)) & 0xff;
  bytes[0] = 0;
  return bytes;
}

export function defineFilesSuite(makeHome: MakeHome, probe: () => FileStorageProbe) {
  let t: Home;
  let storage: FileStorageProbe;
  let owner: SignedIn;
  let other: SignedIn;
  beforeAll(async () => {
    storage = probe();
    t = await makeHome({ env: storage.env });
    [owner, other] = await Promise.all([t.signIn(), t.signIn()]);
  });
  afterAll(() => t.close());

  const url = "/api/collections/attachments/records";

  async function upload(
    who: SignedIn,
    parts: Record<string, string | { bytes: Uint8Array; name: string; type?: string }[]>,
    method: "POST" | "PATCH" = "POST",
    id?: string,
  ) {
    const form = new FormData();
    for (const [key, value] of Object.entries(parts)) {
      if (typeof value === "string") form.append(key, value);
      else
        for (const f of value)
          form.append(
            key,
            new Blob([f.bytes], { type: f.type ?? "application/octet-stream" }),
            f.name,
          );
    }
    return t.request(id === undefined ? url : `${url}/${id}`, {
      method,
      headers: who.headers,
      body: form,
    });
  }

  async function created(res: Response) {
    expect(res.status, await res.clone().text()).toBe(res.status === 200 ? 200 : 201);
    return (await res.json()) as { id: string; document: string | null; images: string[] };
  }

  describe("files", () => {
    it("stores an upload and serves it back byte for byte, with ETag, Range and the sniffed type", async () => {
      const doc = binary(300_000);
      const rec = await created(
        await upload(owner, {
          title: unique("file"),
          visibility: "public",
          document: [{ bytes: doc, name: "../../Report Q1.bin", type: "image/png" }],
          images: [{ bytes: png, name: "pixel.png" }],
        }),
      );
      expect(rec.document).toMatch(/^Report_Q1_[a-z0-9]{12}\.bin$/);
      expect(rec.images).toHaveLength(1);
      expect(await storage.stored(`attachments/${rec.id}/document/${rec.document}`)).toBe(true);

      const fileUrl = `/api/files/attachments/${rec.id}/${rec.document}`;
      const res = await t.request(fileUrl, { headers: owner.headers });
      expect(res.status).toBe(200);
      // The client's claim (image/png) is ignored: the bytes say what it is.
      expect(res.headers.get("content-type")).toBe("application/octet-stream");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("content-disposition")).toBe(`attachment; filename="${rec.document}"`);
      const got = new Uint8Array(await res.arrayBuffer());
      expect(got.length).toBe(doc.length);
      expect(Buffer.compare(Buffer.from(got), Buffer.from(doc))).toBe(0);

      const etag = res.headers.get("etag")!;
      expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
      const again = await t.request(fileUrl, {
        headers: { ...owner.headers, "if-none-match": etag },
      });
      expect(again.status).toBe(304);

      const part = await t.request(fileUrl, {
        headers: { ...owner.headers, range: "bytes=1000-1999" },
      });
      expect(part.status).toBe(206);
      expect(part.headers.get("content-range")).toBe(`bytes 1000-1999/${doc.length}`);
      expect(
        Buffer.from(await part.arrayBuffer()).equals(Buffer.from(doc.subarray(1000, 2000))),
      ).toBe(true);
      const tail = await t.request(fileUrl, { headers: { ...owner.headers, range: "bytes=-10" } });
      expect(Buffer.from(await tail.arrayBuffer()).equals(Buffer.from(doc.subarray(-10)))).toBe(
        true,
      );
      const past = await t.request(fileUrl, {
        headers: { ...owner.headers, range: `bytes=${doc.length}-` },
      });
      expect(past.status).toBe(416);
      expect((await readProblem(past)).code).toBe("RANGE_NOT_SATISFIABLE");
      expect(past.headers.get("content-range")).toBe(`bytes */${doc.length}`);

      // A public image of a public record: anyone, inline, with its type.
      const image = await t.request(`/api/files/attachments/${rec.id}/${rec.images[0]}`);
      expect(image.status).toBe(200);
      expect(image.headers.get("content-type")).toBe("image/png");
      expect(image.headers.get("content-disposition")).toMatch(/^inline;/);
      expect(Buffer.from(await image.arrayBuffer()).equals(Buffer.from(png))).toBe(true);
    });

    it("serves a private record's files only to whom its view rule admits, protected ones with a valid token", async () => {
      const rec = await created(
        await upload(owner, {
          title: unique("private"),
          document: [{ bytes: new TextEncoder().encode("secret minutes\n"), name: "minutes.txt" }],
          images: [{ bytes: png, name: "a.png" }],
        }),
      );
      const doc = `/api/files/attachments/${rec.id}/${rec.document}`;
      const img = `/api/files/attachments/${rec.id}/${rec.images[0]}`;
      // Anonymous and another account: as if there were no such file.
      for (const headers of [{}, other.headers]) {
        for (const path of [doc, img]) {
          const res = await t.request(path, { headers });
          expect(res.status).toBe(404);
          expect((await readProblem(res)).code).toBe("NOT_FOUND");
        }
      }
      expect((await t.request(img, { headers: owner.headers })).status).toBe(200);

      const issued = await t.request("/api/files/token", {
        method: "POST",
        headers: owner.headers,
        json: {},
      });
      expect(issued.status).toBe(200);
      const { token } = (await issued.json()) as { token: string };
      const withToken = await t.request(`${doc}?token=${encodeURIComponent(token)}`);
      expect(withToken.status).toBe(200);
      expect(await withToken.text()).toBe("secret minutes\n");
      expect(withToken.headers.get("cache-control")).toMatch(/^private/);

      // Another account's token: the view rule is checked for its holder.
      const theirs = (await (
        await t.request("/api/files/token", { method: "POST", headers: other.headers, json: {} })
      ).json()) as { token: string };
      expect((await t.request(`${doc}?token=${encodeURIComponent(theirs.token)}`)).status).toBe(
        404,
      );

      // Altered: a flipped character in the signature or the payload.
      const [kid, payload, mac] = token.split(".") as [string, string, string];
      const flip = (s: string) => (s[5] === "A" ? "B" : "A") + s.slice(1, 5) + s.slice(6);
      for (const bad of [
        `${kid}.${payload}.${flip(mac)}`,
        `${kid}.${flip(payload)}.${mac}`,
        "garbage",
        `x.${payload}.${mac}`,
      ]) {
        const res = await t.request(`${doc}?token=${encodeURIComponent(bad)}`);
        expect(res.status, bad).toBe(401);
        expect((await readProblem(res)).code).toBe("UNAUTHENTICATED");
      }
      // Expired.
      const short = (await (
        await t.request("/api/files/token", {
          method: "POST",
          headers: owner.headers,
          json: { expiresIn: 1 },
        })
      ).json()) as { token: string };
      await new Promise((r) => setTimeout(r, 2100));
      const expired = await t.request(`${doc}?token=${encodeURIComponent(short.token)}`);
      expect(expired.status).toBe(401);

      // A protected file of a public record still needs someone signed in or a token.
      await t.request(`${url}/${rec.id}`, {
        method: "PATCH",
        headers: owner.headers,
        json: { visibility: "public" },
      });
      const anonymous = await t.request(doc);
      expect(anonymous.status).toBe(401);
      expect((await t.request(img)).status).toBe(200);
      // No token for nobody.
      expect((await t.request("/api/files/token", { method: "POST", json: {} })).status).toBe(401);
    });

    it("refuses a spoofed type (415) and a file over its field's limit (413), storing nothing", async () => {
      const html = new TextEncoder().encode("<html><script>alert(1)</script></html>");
      const res = await upload(owner, {
        title: unique("spoof"),
        images: [{ bytes: html, name: "cat.png", type: "image/png" }],
      });
      expect(res.status).toBe(415);
      const problem = await readProblem(res);
      expect(problem.code).toBe("UNSUPPORTED_MEDIA_TYPE");
      expect(problem.errors?.[0]?.path).toBe("/images");

      const big = new Uint8Array(5 * 1024 * 1024 + 1);
      big.set(png);
      const large = await upload(owner, {
        title: unique("big"),
        images: [{ bytes: big, name: "big.png" }],
      });
      expect(large.status).toBe(413);
      expect((await readProblem(large)).code).toBe("PAYLOAD_TOO_LARGE");

      // JSON bodies may not set file fields.
      const json = await t.request(url, {
        method: "POST",
        headers: owner.headers,
        json: { title: "x", document: "x.pdf" },
      });
      expect(json.status).toBe(400);
      // A collection without file fields takes no uploads.
      const form = new FormData();
      form.append("title", "x");
      const posts = await t.request("/api/collections/posts/records", {
        method: "POST",
        headers: owner.headers,
        body: form,
      });
      expect(posts.status).toBe(415);
    });

    it("refuses an oversized upload before reading the whole body", async () => {
      let pulled = 0;
      const boundary = "nearbaseboundary";
      const head = new TextEncoder().encode(
        `--${boundary}\r\nContent-Disposition: form-data; name="document"; filename="huge.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      );
      const chunk = new Uint8Array(1024 * 1024);
      const total = 400; // MiB on offer; the collection's limit is about 40.
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent === 0) controller.enqueue(head);
          if (sent >= total) return controller.close();
          sent++;
          pulled += chunk.byteLength;
          controller.enqueue(chunk);
        },
      });
      const res = await t.request(url, {
        method: "POST",
        headers: { ...owner.headers, "content-type": `multipart/form-data; boundary=${boundary}` },
        body,
        duplex: "half",
      } as RequestInit);
      expect(res.status).toBe(413);
      expect((await readProblem(res)).code).toBe("PAYLOAD_TOO_LARGE");
      // Read up to the limit, not the 400 MiB on offer.
      expect(pulled).toBeGreaterThan(30 * 1024 * 1024);
      expect(pulled).toBeLessThan(64 * 1024 * 1024);
    });

    it("replaces and removes files on update, and deletes a record's files even when storage fails once", async () => {
      const rec = await created(
        await upload(owner, {
          title: unique("gone"),
          document: [{ bytes: binary(1000), name: "one.bin" }],
          images: [
            { bytes: png, name: "a.png" },
            { bytes: png, name: "b.png" },
          ],
        }),
      );
      const key = (field: string, name: string) => `attachments/${rec.id}/${field}/${name}`;
      const [a, b] = rec.images as [string, string];
      const updated = await created(
        await upload(
          owner,
          { document: [{ bytes: binary(2000), name: "two.bin" }], "images-": a },
          "PATCH",
          rec.id,
        ),
      );
      expect(updated.images).toEqual([b]);
      await t.settle();
      expect(await storage.stored(key("document", rec.document!))).toBe(false);
      expect(await storage.stored(key("images", a))).toBe(false);
      expect(await storage.stored(key("document", updated.document!))).toBe(true);

      await storage.breakDeletes(key("images", b));
      expect(
        (await t.request(`${url}/${rec.id}`, { method: "DELETE", headers: owner.headers })).status,
      ).toBe(204);
      await t.settle();
      // The document went; the image's delete failed and waits for its retry.
      expect(await storage.stored(key("document", updated.document!))).toBe(false);
      expect(await storage.stored(key("images", b))).toBe(true);
      const [row] = await t.sql(
        "SELECT attempts, last_error FROM nb_file_deletions WHERE key = ?",
        [key("images", b)],
      );
      expect(Number(row?.attempts)).toBe(1);
      await storage.heal();
      await new Promise((r) => setTimeout(r, 1100));
      // The next write that frees files runs a pass, which retries what is due.
      const next = await created(
        await upload(owner, { title: unique("next"), images: [{ bytes: png, name: "c.png" }] }),
      );
      await t.request(`${url}/${next.id}`, { method: "DELETE", headers: owner.headers });
      await t.settle();
      expect(await storage.stored(key("images", b))).toBe(false);
      expect(
        await t.sql("SELECT key FROM nb_file_deletions WHERE key LIKE ?", [
          `attachments/${rec.id}/%`,
        ]),
      ).toEqual([]);
    });

    it("makes declared thumbnails on first request (crop, top, bottom, fit, one side), stores them and serves them from storage", async () => {
      // 200×400: the top half red, the bottom half blue.
      const tall = await encodePng(200, 400, (_x, y) => (y < 200 ? [255, 0, 0] : [0, 0, 255]));
      const rec = await created(
        await upload(owner, {
          title: unique("thumbs"),
          visibility: "public",
          images: [
            { bytes: tall, name: "tall.png" },
            { bytes: jpeg, name: "photo.jpg" },
          ],
        }),
      );
      const [image, photo] = rec.images as [string, string];
      const key = `attachments/${rec.id}/images/${image}`;
      const thumb = async (size: string, name = image) => {
        const res = await t.request(`/api/files/attachments/${rec.id}/${name}?thumb=${size}`);
        if (res.status !== 200) expect(await res.text(), size).toBe("a 200");
        return res;
      };
      const red = ([r, g, b]: number[]) => r! > 200 && g! < 60 && b! < 60;
      const blue = ([r, g, b]: number[]) => b! > 200 && r! < 60 && g! < 60;

      const center = await thumb("100x100");
      expect(center.headers.get("content-type")).toBe("image/png");
      expect(center.headers.get("x-content-type-options")).toBe("nosniff");
      const c = await decodePng(new Uint8Array(await center.arrayBuffer()));
      expect([c.width, c.height]).toEqual([100, 100]);
      // Cropped from the middle: red above, blue below.
      expect(red(c.at(50, 5))).toBe(true);
      expect(blue(c.at(50, 95))).toBe(true);

      const top = await decodePng(new Uint8Array(await (await thumb("100x100t")).arrayBuffer()));
      expect([top.width, top.height]).toEqual([100, 100]);
      expect(red(top.at(50, 95))).toBe(true);
      const bottom = await decodePng(new Uint8Array(await (await thumb("100x100b")).arrayBuffer()));
      expect(blue(bottom.at(50, 5))).toBe(true);
      for (const [size, w, h] of [
        ["50x50f", 25, 50],
        ["0x100", 50, 100],
        ["80x0", 80, 160],
      ] as const) {
        const d = await decodePng(new Uint8Array(await (await thumb(size)).arrayBuffer()));
        expect([d.width, d.height], size).toEqual([w, h]);
      }
      // A JPEG's thumbnail is a JPEG.
      const small = await thumb("100x100", photo);
      expect(small.headers.get("content-type")).toBe("image/jpeg");
      expect(jpegSize(new Uint8Array(await small.arrayBuffer()))).toEqual({
        width: 100,
        height: 100,
      });

      // Sizes the field does not declare, and things that are no size: 400, nothing made.
      for (const size of ["64x64", "256x256x", "0x0", "abc", "100x100z", ""]) {
        const res = await t.request(`/api/files/attachments/${rec.id}/${image}?thumb=${size}`);
        expect(res.status, size).toBe(400);
        const problem = await readProblem(res);
        expect(problem.code).toBe("VALIDATION_FAILED");
        expect(problem.errors?.[0]?.path).toBe("/thumb");
      }
      expect(await storage.stored(`${key}@64x64`)).toBe(false);

      // Stored beside the original; with the original gone, a made size is still served (from
      // storage) while a size not made yet cannot be.
      expect(await storage.stored(`${key}@100x100t`)).toBe(true);
      const first = await thumb("100x100t");
      const etag = first.headers.get("etag");
      await storage.remove(key);
      const again = await thumb("100x100t");
      expect(again.headers.get("etag")).toBe(etag);
      expect(
        Buffer.from(await again.arrayBuffer()).equals(Buffer.from(await first.arrayBuffer())),
      ).toBe(true);
      expect(
        (await t.request(`/api/files/attachments/${rec.id}/${image}?thumb=256x256`)).status,
      ).toBe(404);

      // A field without thumbnails refuses them; deleting the record deletes its thumbnails.
      const withDoc = await created(
        await upload(owner, {
          title: unique("doc"),
          document: [{ bytes: tall, name: "scan.png" }],
        }),
      );
      const docThumb = await t.request(
        `/api/files/attachments/${withDoc.id}/${withDoc.document}?thumb=100x100`,
        { headers: owner.headers },
      );
      expect(docThumb.status).toBe(400);
      expect(
        (await t.request(`${url}/${rec.id}`, { method: "DELETE", headers: owner.headers })).status,
      ).toBe(204);
      await t.settle();
      for (const size of ["100x100", "100x100t", "80x0"])
        expect(await storage.stored(`${key}@${size}`), size).toBe(false);
      expect(await storage.stored(`attachments/${rec.id}/images/${photo}@100x100`)).toBe(false);
      expect(
        await t.sql("SELECT key FROM nb_file_deletions WHERE key LIKE ?", [
          `attachments/${rec.id}/%`,
        ]),
      ).toEqual([]);
    });

    it("caches public files and thumbnails at the edge, never serves them after the write that replaces them, and never shares protected ones", async () => {
      const red = await encodePng(120, 80, () => [255, 0, 0]);
      const blue = await encodePng(120, 80, () => [0, 0, 255]);
      const rec = await created(
        await upload(owner, {
          title: unique("edge"),
          visibility: "public",
          document: [{ bytes: new TextEncoder().encode("owner only\n"), name: "secret.txt" }],
          images: [{ bytes: red, name: "red.png" }],
        }),
      );
      const old = rec.images[0]!;
      const image = `/api/files/attachments/${rec.id}/${old}`;
      const thumb = `${image}?thumb=100x100`;
      for (const path of [image, thumb]) {
        const miss = await t.request(path);
        expect(miss.status, path).toBe(200);
        expect(miss.headers.get("x-cache"), path).toBe("MISS");
        expect(miss.headers.get("cache-control")).toBe(
          "public, max-age=0, s-maxage=10, stale-while-revalidate=30",
        );
        const bytes = Buffer.from(await miss.arrayBuffer());
        await t.settle();
        const hit = await t.request(path);
        expect(hit.headers.get("x-cache"), path).toBe("HIT");
        expect(hit.headers.get("content-type")).toBe("image/png");
        expect(hit.headers.get("content-disposition")).toBe(`inline; filename="${old}"`);
        expect(hit.headers.get("x-content-type-options")).toBe("nosniff");
        expect(hit.headers.get("etag")).toBe(miss.headers.get("etag"));
        expect(Buffer.from(await hit.arrayBuffer()).equals(bytes)).toBe(true);
        const conditional = await t.request(path, {
          headers: { "if-none-match": hit.headers.get("etag")! },
        });
        expect(conditional.status).toBe(304);
      }
      expect(
        Buffer.from(await (await t.request(image)).arrayBuffer()).equals(Buffer.from(red)),
      ).toBe(true);

      // Replace the image: from the commit on, the old URL is gone for everyone (not a cached
      // copy), the new one serves the new bytes, and the writer reads its write at once.
      const replaced = await upload(
        owner,
        { "images-": old, images: [{ bytes: blue, name: "blue.png" }] },
        "PATCH",
        rec.id,
      );
      const token = replaced.headers.get("nearbase-consistency")!;
      const updated = await created(replaced);
      const fresh = `/api/files/attachments/${rec.id}/${updated.images[0]}`;
      for (const path of [image, thumb]) {
        const gone = await t.request(path);
        expect(gone.status, path).toBe(404);
        expect((await readProblem(gone)).code).toBe("NOT_FOUND");
      }
      const mine = await t.request(fresh, { headers: { "nearbase-consistency": token } });
      expect(mine.status).toBe(200);
      expect(Buffer.from(await mine.arrayBuffer()).equals(Buffer.from(blue))).toBe(true);
      const theirs = await t.request(fresh);
      expect(Buffer.from(await theirs.arrayBuffer()).equals(Buffer.from(blue))).toBe(true);
      await t.settle();
      expect((await t.request(fresh)).headers.get("x-cache")).toBe("HIT");

      // The protected document of the same public record: never stored, never public.
      const doc = `/api/files/attachments/${rec.id}/${rec.document}`;
      for (let i = 0; i < 2; i++) {
        const res = await t.request(doc, { headers: owner.headers });
        expect(res.status).toBe(200);
        expect(res.headers.get("x-cache")).not.toBe("HIT");
        expect(res.headers.get("cache-control")).toMatch(/^private/);
        await t.settle();
      }
      expect((await t.request(doc)).status).toBe(401);

      // Deleting the record: its cached file is not served any more.
      expect(
        (await t.request(`${url}/${rec.id}`, { method: "DELETE", headers: owner.headers })).status,
      ).toBe(204);
      expect((await t.request(fresh)).status).toBe(404);
    });

    it("issues signed upload URLs under the update rule; a PUT streams into storage and sets the field with its event", async () => {
      const rec = await created(
        await t.request(url, {
          method: "POST",
          headers: owner.headers,
          json: { title: unique("direct"), visibility: "public" },
        }),
      );
      const ask = (who: SignedIn | undefined, field: string, body: Record<string, unknown>) =>
        t.request(`/api/files/attachments/${rec.id}/${field}/upload-url`, {
          method: "POST",
          headers: who?.headers ?? {},
          json: body,
        });
      // Only who may update the record gets a URL; sizes and types are those of the field.
      expect((await ask(undefined, "document", { filename: "a.bin", size: 10 })).status).toBe(401);
      const refused = await ask(other, "document", { filename: "a.bin", size: 10 });
      expect(refused.status).toBe(403);
      expect((await readProblem(refused)).code).toBe("FORBIDDEN");
      const tooBig = await ask(owner, "document", { filename: "a.bin", size: 20 * 1024 ** 2 + 1 });
      expect(tooBig.status).toBe(413);
      expect((await ask(owner, "title", { filename: "a.bin", size: 10 })).status).toBe(404);
      expect(
        (await ask(owner, "images", { filename: "a.txt", size: 10, type: "text/plain" })).status,
      ).toBe(415);

      const doc = binary(1_500_000);
      const issued = await ask(owner, "document", { filename: "Big Scan.bin", size: doc.length });
      expect(issued.status).toBe(200);
      expect(issued.headers.get("cache-control")).toBe("no-store");
      const grant = (await issued.json()) as {
        url: string;
        method: string;
        maxSize: number;
        mimeTypes: string[];
        expiresAt: string;
      };
      expect(grant).toMatchObject({ method: "PUT", maxSize: doc.length });
      expect(grant.url).toMatch(/^\/api\/files\/uploads\/[\w-]+\.[\w-]+\.[\w-]+$/);
      expect(grant.mimeTypes).toContain("application/octet-stream");
      expect(Date.parse(grant.expiresAt) - Date.now()).toBeGreaterThan(60_000);

      const put = (path: string, bytes: Uint8Array, headers: Record<string, string> = {}) =>
        t.request(path, {
          method: "PUT",
          headers: { "content-length": String(bytes.length), ...headers },
          body: bytes,
        });
      // Altered tokens, and a file-view token in its place, are refused.
      const [kid, payload, mac] = grant.url.split("/").pop()!.split(".") as [
        string,
        string,
        string,
      ];
      const flip = (x: string) => (x[3] === "A" ? "B" : "A") + x.slice(1, 3) + x.slice(4);
      const viewToken = (
        (await (
          await t.request("/api/files/token", { method: "POST", headers: owner.headers, json: {} })
        ).json()) as { token: string }
      ).token;
      for (const bad of [
        `${kid}.${payload}.${flip(mac)}`,
        `${kid}.${flip(payload)}.${mac}`,
        viewToken,
      ]) {
        const res = await put(`/api/files/uploads/${bad}`, doc);
        expect(res.status, bad).toBe(401);
        expect((await readProblem(res)).code).toBe("UNAUTHENTICATED");
      }
      // More than the URL takes: 413 from Content-Length, before the body is read.
      let pulled = 0;
      const endless = new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled += 65536;
          controller.enqueue(new Uint8Array(65536));
        },
      });
      const over = await t.request(grant.url, {
        method: "PUT",
        headers: { "content-length": String(doc.length + 1) },
        body: endless,
        duplex: "half",
      } as RequestInit);
      expect(over.status).toBe(413);
      expect((await readProblem(over)).code).toBe("PAYLOAD_TOO_LARGE");
      expect(pulled).toBeLessThan(1024 * 1024);

      const res = await put(grant.url, doc);
      expect(res.status, await res.clone().text()).toBe(200);
      expect(res.headers.get("nearbase-consistency")).toBeTruthy();
      const updated = (await res.json()) as { document: string; rev: number };
      expect(updated.document).toMatch(/^Big_Scan_[a-z0-9]{12}\.bin$/);
      expect(await storage.stored(`attachments/${rec.id}/document/${updated.document}`)).toBe(true);
      const back = await t.request(`/api/files/attachments/${rec.id}/${updated.document}`, {
        headers: owner.headers,
      });
      expect(back.status).toBe(200);
      expect(back.headers.get("content-type")).toBe("application/octet-stream");
      expect(Buffer.from(await back.arrayBuffer()).equals(Buffer.from(doc))).toBe(true);
      // The field's change committed with its event.
      const events = await t.sql(
        "SELECT changed FROM nb_events WHERE collection = 'attachments' AND record_id = ? AND type = 'attachments.updated'",
        [rec.id],
      );
      expect(events.map((e) => String(e.changed))).toEqual([expect.stringContaining("document")]);

      // A multiple field gets the upload appended; a spoofed type is refused (415) and stores
      // nothing; the URL may be used again until it expires (each PUT is a new file).
      const imageGrant = (await (
        await ask(owner, "images", { filename: "p.png", size: png.length + 64, type: "image/png" })
      ).json()) as { url: string };
      const html = new TextEncoder().encode("<html><script>alert(1)</script></html>");
      const spoofed = await put(imageGrant.url, html, { "content-type": "image/png" });
      expect(spoofed.status).toBe(415);
      expect((await readProblem(spoofed)).code).toBe("UNSUPPORTED_MEDIA_TYPE");
      const first = (await (await put(imageGrant.url, png)).json()) as { images: string[] };
      const second = (await (await put(imageGrant.url, png)).json()) as { images: string[] };
      expect(first.images).toHaveLength(1);
      expect(second.images).toHaveLength(2);
      expect(second.images[0]).toBe(first.images[0]);
      const image = await t.request(`/api/files/attachments/${rec.id}/${second.images[1]}`);
      expect(Buffer.from(await image.arrayBuffer()).equals(Buffer.from(png))).toBe(true);
      expect(
        await t.sql("SELECT key FROM nb_file_deletions WHERE key LIKE ? AND reason = 'upload'", [
          `attachments/${rec.id}/%`,
        ]),
      ).toEqual([]);

      // Expired.
      const brief = (await (
        await ask(owner, "document", { filename: "late.bin", size: 10, expiresIn: 1 })
      ).json()) as { url: string };
      await new Promise((r) => setTimeout(r, 2100));
      expect((await put(brief.url, binary(10))).status).toBe(401);
    });

    it("takes files in a multipart /api/batch and commits them with the batch, or not at all", async () => {
      const red = await encodePng(40, 30, () => [255, 0, 0]);
      const existing = await created(
        await upload(owner, {
          title: unique("batched"),
          visibility: "public",
          images: [{ bytes: png, name: "first.png" }],
        }),
      );
      const batch = (operations: unknown[], files: [string, Uint8Array, string][], who = owner) => {
        const form = new FormData();
        form.append("@jsonPayload", JSON.stringify({ operations }));
        for (const [key, bytes, name] of files) form.append(key, new Blob([bytes]), name);
        return t.request("/api/batch", { method: "POST", headers: who.headers, body: form });
      };
      const title = unique("batch-new");
      const notes = new TextEncoder().encode("batched notes\n");
      const res = await batch(
        [
          { method: "POST", collection: "attachments", body: { title, visibility: "public" } },
          { method: "PATCH", collection: "attachments", id: existing.id, body: {} },
        ],
        [
          ["operations.0.document", notes, "notes.txt"],
          ["operations.0.images", png, "one.png"],
          ["operations.1.images", red, "two.png"],
        ],
      );
      expect(res.status, await res.clone().text()).toBe(200);
      const { results } = (await res.json()) as {
        results: {
          status: number;
          body: { id: string; document: string | null; images: string[] };
        }[];
      };
      expect(results.map((r) => r.status)).toEqual([201, 200]);
      const made = results[0]!.body;
      expect(made.document).toMatch(/^notes_[a-z0-9]{12}\.txt$/);
      expect(made.images).toHaveLength(1);
      const patched = results[1]!.body;
      expect(patched.images).toHaveLength(2);
      expect(patched.images[0]).toBe(existing.images[0]);
      const bytesOf = async (path: string) =>
        Buffer.from(await (await t.request(path, { headers: owner.headers })).arrayBuffer());
      expect(
        (await bytesOf(`/api/files/attachments/${made.id}/${made.document}`)).equals(
          Buffer.from(notes),
        ),
      ).toBe(true);
      expect(
        (await bytesOf(`/api/files/attachments/${existing.id}/${patched.images[1]}`)).equals(
          Buffer.from(red),
        ),
      ).toBe(true);

      // One refused operation (another account may not change this record): nothing is
      // written, and the files the batch stored are due for deletion at once.
      const lost = unique("batch-lost");
      const refused = await batch(
        [
          { method: "POST", collection: "attachments", body: { title: lost } },
          { method: "PATCH", collection: "attachments", id: existing.id, body: { title: "x" } },
        ],
        [["operations.0.images", png, "orphan.png"]],
        other,
      );
      expect(refused.status).toBe(403);
      expect((await readProblem(refused)).code).toBe("FORBIDDEN");
      expect(await t.sql("SELECT id FROM attachments WHERE title = ?", [lost])).toEqual([]);
      const orphans = await t.sql(
        "SELECT key, due_at FROM nb_file_deletions WHERE reason = 'upload' AND key LIKE 'attachments/%/images/orphan_%'",
      );
      expect(orphans).toHaveLength(1);
      expect(Number(orphans[0]!.due_at)).toBeLessThanOrEqual(Date.now() + 1000);

      // Files for an operation that is no create or update, or a field that takes none: 400.
      const misplaced = await batch(
        [{ method: "DELETE", collection: "attachments", id: existing.id }],
        [["operations.0.images", png, "x.png"]],
      );
      expect(misplaced.status).toBe(400);
      expect((await readProblem(misplaced)).errors?.[0]?.path).toBe("/operations/0");
      expect((await t.request(`${url}/${existing.id}`)).status).toBe(200);
    });

    it("lists an account's files in its privacy export as links it can download", async () => {
      const me = await t.signIn();
      const doc = new TextEncoder().encode("my own notes\n");
      const rec = await created(
        await upload(me, {
          title: unique("export"),
          document: [{ bytes: doc, name: "notes.txt" }],
          images: [{ bytes: png, name: "me.png" }],
        }),
      );
      const res = await t.request("/api/me/export", { headers: me.headers });
      expect(res.status).toBe(200);
      const exported = (await res.json()) as {
        collections: Record<string, { records: Record<string, unknown>[] }>;
      };
      const record = exported.collections.attachments!.records.find((r) => r.id === rec.id)!;
      expect(record["@files"]).toEqual({
        document: [`/api/files/attachments/${rec.id}/${rec.document}`],
        images: [`/api/files/attachments/${rec.id}/${rec.images[0]}`],
      });
      const links = record["@files"] as { document: string[]; images: string[] };
      const got = await t.request(links.document[0]!, { headers: me.headers });
      expect(got.status).toBe(200);
      expect(await got.text()).toBe("my own notes\n");
      expect(
        Buffer.from(
          await (await t.request(links.images[0]!, { headers: me.headers })).arrayBuffer(),
        ).equals(Buffer.from(png)),
      ).toBe(true);
    });

    it("documents multipart bodies in OpenAPI", async () => {
      const doc = (await (await t.request("/openapi.json")).json()) as {
        paths: Record<
          string,
          Record<
            string,
            {
              requestBody?: {
                content: Record<string, { schema: { properties: Record<string, unknown> } }>;
              };
            }
          >
        >;
      };
      const create = doc.paths["/api/collections/attachments/records"]!.post!.requestBody!.content;
      expect(Object.keys(create)).toEqual(["application/json", "multipart/form-data"]);
      expect(create["multipart/form-data"]!.schema.properties.images).toMatchObject({
        type: "array",
        maxItems: 4,
      });
      expect(doc.paths["/api/files/{collection}/{record}/{name}"]).toBeDefined();
      expect(doc.paths["/api/files/{collection}/{record}/{field}/upload-url"]?.post).toBeDefined();
      expect(doc.paths["/api/files/uploads/{token}"]?.put).toBeDefined();
    });
  });
}
