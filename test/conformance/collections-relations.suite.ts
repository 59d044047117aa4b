import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Home, type MakeHome, readProblem } from "./home";

/** Relations in the example app, over HTTP: cache scopes that follow them, create-only fields. */
export function defineCollectionsRelationsSuite(makeHome: MakeHome) {
  describe("relations in the example app", () => {
    let t: Home;
    beforeAll(async () => {
      t = await makeHome();
    });
    afterAll(() => t.close());

    async function publish(headers: Record<string, string>) {
      const res = await t.request("/api/collections/posts/records", {
        method: "POST",
        headers,
        json: { title: "relations", status: "published" },
      });
      expect(res.status).toBe(201);
      return ((await res.json()) as { id: string }).id;
    }
    const itemsOf = async (res: Response) =>
      ((await res.json()) as { items: { id: string }[] }).items.map((i) => i.id);

    it("stops serving a cached comment list once its post is unpublished", async () => {
      const author = await t.signIn();
      const post = await publish(author.headers);
      const created = await t.request("/api/collections/comments/records", {
        method: "POST",
        headers: author.headers,
        json: { post, body: "first" },
      });
      const comment = ((await created.json()) as { id: string }).id;
      const list = `/api/collections/comments/records?filter=${encodeURIComponent(`post = '${post}'`)}`;
      expect(await itemsOf(await t.request(list))).toEqual([comment]);
      await t.settle();
      const cached = await t.request(list);
      expect(cached.headers.get("x-cache")).toBe("HIT");
      expect(await itemsOf(cached)).toEqual([comment]);

      const unpublish = await t.request(`/api/collections/posts/records/${post}`, {
        method: "PATCH",
        headers: author.headers,
        json: { status: "draft" },
      });
      expect(unpublish.status).toBe(200);
      await t.settle();
      const after = await t.request(list);
      expect(after.headers.get("x-cache")).not.toBe("HIT");
      expect(await itemsOf(after)).toEqual([]);
    });

    it("lets a comment's post be set on create but never changed", async () => {
      const author = await t.signIn();
      const [first, second] = [await publish(author.headers), await publish(author.headers)];
      const created = await t.request("/api/collections/comments/records", {
        method: "POST",
        headers: author.headers,
        json: { post: first, body: "stays put" },
      });
      expect(created.status).toBe(201);
      const comment = ((await created.json()) as { id: string }).id;
      const move = await t.request(`/api/collections/comments/records/${comment}`, {
        method: "PATCH",
        headers: author.headers,
        json: { post: second },
      });
      expect(move.status).toBe(400);
      expect((await readProblem(move)).errors).toEqual([
        { path: "/post", message: "unknown or read-only field" },
      ]);
      const rows = await t.sql("SELECT post FROM comments WHERE id = ?", [comment]);
      expect(rows[0]?.post).toBe(first);
    });
  });
}
