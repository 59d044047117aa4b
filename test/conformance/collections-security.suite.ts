import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Home, HomeRequestInit, MakeHome } from "./home";

/**
 * The same security suite for every collection: anonymous / owner / other user / admin × each
 * operation must match the declared rules, a denied record must be indistinguishable from a
 * missing one unless the caller may see it, and hidden fields (seeded with a canary) must never
 * appear in any response.
 */
export type Role = "anonymous" | "owner" | "other" | "admin";
export type Op = "list" | "view" | "create" | "update" | "delete";
export type Caller = { id: string; headers: Record<string, string> };

export interface Spec {
  collection: string;
  /** Makes a record owned by `owner`; returns its id. */
  seed(t: Home, owner: Caller): Promise<string>;
  create(t: Home, caller: Caller): Promise<Record<string, unknown>>;
  patch: Record<string, unknown>;
  allowed: Record<Op, Role[]>;
  /** A hidden column to fill with a canary value. */
  hidden?: string;
  /** Whether clients may write the hidden column (write-only) or not at all. */
  hiddenWritable?: boolean;
}

export const everyone: Role[] = ["anonymous", "owner", "other", "admin"];
const signedIn: Role[] = ["owner", "other", "admin"];
const ownerAndAdmin: Role[] = ["owner", "admin"];

async function post(t: Home, caller: Caller, status = "published") {
  const res = await t.request("/api/collections/posts/records", {
    method: "POST",
    headers: caller.headers,
    json: { title: "seed", status },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}
async function create(t: Home, caller: Caller, collection: string, json: Record<string, unknown>) {
  const res = await t.request(`/api/collections/${collection}/records`, {
    method: "POST",
    headers: caller.headers,
    json,
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** The matrix, one entry per collection (and state), reused by the GraphQL security suite. */
export const specs: Spec[] = [
  {
    collection: "posts",
    seed: (t, owner) => post(t, owner),
    create: async () => ({ title: "new" }),
    patch: { title: "changed" },
    hidden: "moderation_note",
    allowed: {
      list: everyone,
      view: everyone,
      create: signedIn,
      update: ownerAndAdmin,
      delete: ownerAndAdmin,
    },
  },
  {
    collection: "posts (draft)",
    seed: (t, owner) => post(t, owner, "draft"),
    create: async () => ({ title: "new draft", status: "draft" }),
    patch: { title: "changed" },
    hidden: "moderation_note",
    allowed: {
      list: ownerAndAdmin,
      view: ownerAndAdmin,
      create: signedIn,
      update: ownerAndAdmin,
      delete: ownerAndAdmin,
    },
  },
  {
    collection: "comments",
    seed: async (t, owner) =>
      create(t, owner, "comments", { post: await post(t, owner), body: "hi" }),
    create: async (t, caller) => ({ post: await post(t, caller), body: "new comment" }),
    patch: { body: "changed" },
    allowed: {
      list: everyone,
      view: everyone,
      create: signedIn,
      update: ownerAndAdmin,
      delete: ownerAndAdmin,
    },
  },
  {
    collection: "profiles",
    seed: (t, owner) =>
      create(t, owner, "profiles", { displayName: "Owner", email: "owner@example.com" }),
    create: async () => ({ displayName: "Someone" }),
    patch: { bio: "changed" },
    hidden: "email",
    hiddenWritable: true,
    allowed: {
      list: everyone,
      view: everyone,
      create: signedIn,
      update: ownerAndAdmin,
      delete: ownerAndAdmin,
    },
  },
  {
    collection: "bookmarks",
    seed: async (t, owner) =>
      create(t, owner, "bookmarks", { post: await post(t, owner), note: "mine" }),
    create: async (t, caller) => ({ post: await post(t, caller) }),
    patch: { note: "changed" },
    allowed: {
      list: ownerAndAdmin,
      view: ownerAndAdmin,
      create: signedIn,
      update: ownerAndAdmin,
      delete: ownerAndAdmin,
    },
  },
];

export function defineCollectionsSecuritySuite(makeHome: MakeHome) {
  let t: Home;
  beforeAll(async () => {
    t = await makeHome();
  });
  afterAll(() => t.close());

  describe.each(specs)("$collection", (spec) => {
    const name = spec.collection.split(" ")[0]!;
    const base = `/api/collections/${name}/records`;
    const canary = `CANARY-${Math.random().toString(36).slice(2)}`;
    const bodies: string[] = [];
    const send = async (path: string, init: HomeRequestInit = {}) => {
      const res = await t.request(path, init);
      const text = await res.clone().text();
      bodies.push(text);
      expect(res.status, text).toBeLessThan(500);
      return res;
    };

    async function callers() {
      const owner = await t.signIn("user");
      const other = await t.signIn("user");
      const admin = await t.signIn("admin");
      const anonymous: Caller = { id: "", headers: {} };
      return { owner, other, admin, anonymous } satisfies Record<Role, Caller>;
    }

    async function seeded(owner: Caller) {
      const id = await spec.seed(t, owner);
      if (spec.hidden)
        await t.sql(`UPDATE ${name} SET ${spec.hidden} = ? WHERE id = ?`, [canary, id]);
      return id;
    }

    it.each(everyone)("list and view as %s match the rules", async (role) => {
      const who = await callers();
      const id = await seeded(who.owner);
      const may = spec.allowed.list.includes(role);
      const list = await send(`${base}?filter=${encodeURIComponent(`id = '${id}'`)}`, {
        headers: who[role].headers,
      });
      expect(list.status).toBe(200);
      const items = ((await list.json()) as { items: { id: string }[] }).items;
      expect(items.map((i) => i.id)).toEqual(may ? [id] : []);

      const view = await send(`${base}/${id}`, { headers: who[role].headers });
      expect(view.status).toBe(spec.allowed.view.includes(role) ? 200 : 404);
    });

    it.each(everyone)("create as %s matches the rules", async (role) => {
      const who = await callers();
      const body = await spec.create(t, role === "anonymous" ? who.owner : who[role]);
      const res = await send(base, { method: "POST", headers: who[role].headers, json: body });
      const may = spec.allowed.create.includes(role);
      expect(res.status).toBe(may ? 201 : role === "anonymous" ? 401 : 403);
      if (may)
        expect(await res.json()).toMatchObject(name === "posts" ? { author: who[role].id } : {});
    });

    it.each(everyone)(
      "update and delete as %s match the rules, and a hidden record looks missing",
      async (role) => {
        const who = await callers();
        const id = await seeded(who.owner);
        const visible = spec.allowed.view.includes(role);
        const denied = visible ? (role === "anonymous" ? 401 : 403) : 404;

        const patch = await send(`${base}/${id}`, {
          method: "PATCH",
          headers: who[role].headers,
          json: spec.patch,
        });
        expect(patch.status).toBe(spec.allowed.update.includes(role) ? 200 : denied);

        const del = await send(`${base}/${id}`, { method: "DELETE", headers: who[role].headers });
        expect(del.status).toBe(spec.allowed.delete.includes(role) ? 204 : denied);
        const still = await t.sql(`SELECT count(*) AS n FROM ${name} WHERE id = ?`, [id]);
        expect(Number(still[0]?.n)).toBe(spec.allowed.delete.includes(role) ? 0 : 1);
      },
    );

    it("never lets a hidden field out, nor be probed through filters", async () => {
      const who = await callers();
      const id = await seeded(who.owner);
      const expand = name === "comments" || name === "bookmarks" ? "post" : "";
      for (const caller of Object.values(who)) {
        await send(`${base}?expand=${expand}`, { headers: caller.headers });
        // The seeded record itself, whatever else the shared database holds on the first page.
        await send(`${base}?expand=${expand}&filter=${encodeURIComponent(`id = '${id}'`)}`, {
          headers: caller.headers,
        });
        await send(`${base}/${id}`, { headers: caller.headers });
      }
      if (spec.hidden) {
        const field = spec.hidden.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
        for (const query of [`filter=${field}~'CANARY'`, `sort=${field}`, `fields=${field}`]) {
          const res = await send(`${base}?${query}`, { headers: who.admin.headers });
          expect(res.status, query).toBe(400);
        }
        const write = await send(base, {
          method: "POST",
          headers: (await t.signIn("user")).headers,
          json: { ...(await spec.create(t, who.owner)), [field]: "written@example.com" },
        });
        expect(write.status).toBe(spec.hiddenWritable ? 201 : 400);
        expect(await write.text()).not.toContain("written@example.com");
      }
      for (const body of bodies) expect(body).not.toContain(canary);
    });
  });
}
