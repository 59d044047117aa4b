import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, createKey, freshEmail, signup, strong } from "./auth-helpers";
import { type Home, type MakeHome, publishPost, q, readProblem } from "./home";

/**
 * Privacy in every home (#13): the export holds exactly the account's data (compared with the
 * database), encrypted fields hold no plaintext at rest, erasure needs re-authentication, leaves
 * no personal value in any table and no cached answer serving it, the audit log records both and
 * cannot be written through the API, and bad input is a 4xx problem. In the Workers home this
 * is workerd reaching libSQL over HTTP, with the data keys from the Worker's secret.
 */
export function definePrivacySuite(makeHome: MakeHome) {
  let t: Home;
  beforeAll(async () => {
    t = await makeHome();
  });
  afterAll(() => t.close());

  /** Every cell of every table holding `needle` (the database is shared with other suites). */
  async function cellsWith(needle: string) {
    const tables = await t.sql(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%_fts%' AND name NOT LIKE '__drizzle%'",
    );
    const found: string[] = [];
    for (const { name } of tables) {
      const columns = await t.sql(`SELECT name FROM pragma_table_info('${String(name)}')`);
      const where = columns.map((c) => `instr(CAST("${String(c.name)}" AS TEXT), ?) > 0`);
      if (where.length === 0) continue;
      const rows = await t.sql(
        `SELECT * FROM "${String(name)}" WHERE ${where.join(" OR ")}`,
        columns.map(() => needle),
      );
      for (const row of rows) found.push(`${String(name)}: ${JSON.stringify(row)}`);
    }
    return found;
  }

  /** An account with a post, a comment, a profile (encrypted contact address) and an API key. */
  async function populated() {
    const account = await signup(t, freshEmail("priv"));
    const headers = bearer(account.accessToken);
    const name = `Name${account.user.id.slice(4, 14)}`;
    const post = await publishPost(t, headers, `post of ${name}`);
    const comment = await t.request("/api/collections/comments/records", {
      method: "POST",
      headers,
      json: { post: post.id, body: `comment by ${name}` },
    });
    expect(comment.status).toBe(201);
    const profile = await t.request("/api/collections/profiles/records", {
      method: "POST",
      headers,
      json: { displayName: name, email: `contact-${account.user.id}@example.test` },
    });
    expect(profile.status, await profile.clone().text()).toBe(201);
    const key = await createKey(t, account.accessToken);
    expect(key.status).toBe(201);
    return {
      ...account,
      headers,
      name,
      contact: `contact-${account.user.id}@example.test`,
      ids: {
        post: post.id,
        comment: ((await comment.json()) as { id: string }).id,
        profile: ((await profile.json()) as { id: string }).id,
        key: ((await key.json()) as { id: string }).id,
      },
    };
  }

  async function exportOf(headers: Record<string, string>, path = "/api/me/export") {
    const res = await t.request(path, { headers });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("content-disposition")).toMatch(
      /^attachment; filename="nearbase-export-usr_[a-z0-9]+-\d{4}-\d{2}-\d{2}\.json"$/,
    );
    expect(res.headers.get("cache-control")).toContain("no-store");
    return (await res.json()) as {
      format: string;
      subject: string;
      account: Record<string, unknown>;
      credentials: Record<string, { rows: Record<string, unknown>[]; withheld: string[] }>;
      collections: Record<string, { legalBasis: string; records: Record<string, unknown>[] }>;
      audit: { entries: { action: string }[] };
    };
  }

  describe("privacy", () => {
    it("the export holds exactly the account's records and credentials, and nothing of others", async () => {
      const other = await populated();
      const me = await populated();
      const doc = await exportOf(me.headers);
      expect(doc.format).toBe("nearbase.export/v1");
      expect(doc.subject).toBe(me.user.id);
      expect(doc.account).toMatchObject({ id: me.user.id, email: me.email.toLowerCase() });
      for (const [collection, owner] of [
        ["posts", "author"],
        ["comments", "author"],
        ["profiles", "user"],
        ["bookmarks", "user"],
      ] as const) {
        const rows = await t.sql(`SELECT id FROM ${collection} WHERE ${owner} = ?`, [me.user.id]);
        expect(doc.collections[collection]!.records.map((r) => r.id).sort(), collection).toEqual(
          rows.map((r) => String(r.id)).sort(),
        );
        expect(doc.collections[collection]!.legalBasis).toMatch(/GDPR/);
      }
      // The hidden, encrypted contact address is the user's: exported, decrypted.
      expect(doc.collections.profiles!.records[0]!.email).toBe(me.contact);
      for (const table of ["nb_sessions", "nb_api_keys"]) {
        const rows = await t.sql(`SELECT id FROM ${table} WHERE user_id = ?`, [me.user.id]);
        expect(doc.credentials[table]!.rows.map((r) => r.id).sort(), table).toEqual(
          rows.map((r) => String(r.id)).sort(),
        );
      }
      const text = JSON.stringify(doc);
      const [key] = await t.sql("SELECT hash FROM nb_api_keys WHERE id = ?", [me.ids.key]);
      expect(text).not.toContain(String(key!.hash));
      expect(text).not.toContain(other.user.id);
      expect(text).not.toContain(other.name);
      expect(text).not.toContain(other.contact);
    });

    it("encrypted fields hold no plaintext at rest", async () => {
      const me = await populated();
      const [row] = await t.sql("SELECT email FROM profiles WHERE id = ?", [me.ids.profile]);
      expect(String(row!.email)).toMatch(/^nb1\./);
      expect(String(row!.email)).not.toContain("contact-");
      expect(await cellsWith(me.contact)).toEqual([]);
    });

    it("bad input is a 4xx problem: another's export, filters on encrypted fields, wrong password", async () => {
      const me = await populated();
      const someone = await t.signIn();
      const theirs = await t.request(`/api/admin/users/${me.user.id}/export`, {
        headers: someone.headers,
      });
      expect(theirs.status).toBe(403);
      expect((await readProblem(theirs)).code).toBe("FORBIDDEN");
      expect((await t.request("/api/me/export")).status).toBe(401);
      const filtered = await t.request(
        `/api/collections/profiles/records?filter=${q(`email = '${me.contact}'`)}`,
      );
      expect(filtered.status).toBe(400);
      expect((await readProblem(filtered)).code).toBe("INVALID_FILTER");
      const wrong = await t.request("/api/me", {
        method: "DELETE",
        headers: me.headers,
        json: { password: "not the password at all" },
      });
      expect(wrong.status).toBe(403);
      expect((await readProblem(wrong)).code).toBe("REAUTHENTICATION_REQUIRED");
      const junk = await t.request("/api/me", {
        method: "DELETE",
        headers: me.headers,
        json: { password: 12 },
      });
      expect(junk.status).toBe(400);
      expect((await readProblem(junk)).code).toBe("VALIDATION_FAILED");
      // Still there.
      expect(await t.sql("SELECT 1 FROM nb_users WHERE id = ?", [me.user.id])).toHaveLength(1);
    });

    it("erasure leaves no personal value in any table and no cached answer serving it; audited", async () => {
      const me = await populated();
      // Public answers holding the account's data, in the shared cache.
      const profilePath = `/api/collections/profiles/records/${me.ids.profile}`;
      const postPath = `/api/collections/posts/records/${me.ids.post}`;
      for (const path of [profilePath, postPath]) {
        await t.request(path);
        await t.settle();
        const again = await t.request(path);
        expect(again.headers.get("x-cache"), path).toBe("HIT");
        expect(await again.text()).toContain(me.name);
      }
      const res = await t.request("/api/me", {
        method: "DELETE",
        headers: me.headers,
        json: { password: strong },
      });
      expect(res.status, await res.clone().text()).toBe(200);
      expect(await res.json()).toMatchObject({
        erased: true,
        userId: me.user.id,
        collections: { posts: { policy: "delete", records: 1 } },
      });
      for (const path of [profilePath, postPath]) {
        const after = await t.request(path);
        expect(after.status, path).toBe(404);
        expect(await after.text()).not.toContain(me.name);
      }
      for (const needle of [me.email.toLowerCase(), me.name, me.contact])
        expect(await cellsWith(needle), needle).toEqual([]);
      // The id stays only in the audit log and the user.erased / user.deleted events.
      const withId = (await cellsWith(me.user.id)).map((c) => c.slice(0, c.indexOf(":")));
      expect(new Set(withId)).toEqual(new Set(["nb_audit_log", "nb_events"]));
      expect(
        (
          await t.request("/api/auth/refresh", {
            method: "POST",
            json: { refreshToken: me.refreshToken },
          })
        ).status,
      ).toBe(401);

      const admin = await t.signIn("admin");
      const page = await t.request(
        `/api/admin/audit?filter=${q(`subject = '${me.user.id}' && action ~ 'privacy.'`)}`,
        { headers: admin.headers },
      );
      expect(page.status).toBe(200);
      const { items } = (await page.json()) as { items: { action: string; details: unknown }[] };
      expect(items.map((i) => i.action)).toEqual(["privacy.erased"]);
      expect(JSON.stringify(items)).not.toContain(me.name);
      const write = await t.request("/api/admin/audit", {
        method: "POST",
        headers: admin.headers,
        json: { action: "privacy.erased" },
      });
      expect(write.status).toBe(405);
      // An admin erasing the (gone) account: 404.
      const again = await t.request(`/api/admin/users/${me.user.id}/erase`, {
        method: "POST",
        headers: admin.headers,
      });
      expect(again.status).toBe(404);
    });

    it("an admin exports and erases any account; the export is audited", async () => {
      const them = await populated();
      const admin = await t.signIn("admin");
      const doc = await exportOf(admin.headers, `/api/admin/users/${them.user.id}/export`);
      expect(doc.subject).toBe(them.user.id);
      const erased = await t.request(`/api/admin/users/${them.user.id}/erase`, {
        method: "POST",
        headers: admin.headers,
      });
      expect(erased.status).toBe(200);
      const entries = await t.sql(
        "SELECT action, actor FROM nb_audit_log WHERE subject = ? AND action LIKE 'privacy.%' ORDER BY id",
        [them.user.id],
      );
      expect(entries.map((e) => [e.action, e.actor])).toEqual([
        ["privacy.exported", `user:${admin.id}`],
        ["privacy.erased", `user:${admin.id}`],
      ]);
    });
  });
}
