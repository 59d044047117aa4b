import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { sqliteTable, text } from "drizzle-orm/sqlite-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collections } from "../../src/collections/index";
import { dispatchOnce } from "../../src/core/events/dispatch";
import { runJobs } from "../../src/core/events/jobs";
import { generateDataKey, Sealer } from "../../src/core/kernel/seal";
import { dataMap, dataMapMarkdown } from "../../src/core/privacy/map";
import { applyRetention, retentionJob, retentionReport } from "../../src/core/privacy/retention";
import { reencrypt, rotationBacklog } from "../../src/core/privacy/rotate";
import { defineCollection, recordColumns } from "../../src/core/records/define";
import { buildModels } from "../../src/core/records/model";
import { createTestApp, readProblem, type TestApp } from "../harness";

/*
 * Privacy by declaration, in the Node home on a real libSQL file: field encryption at rest,
 * export, erasure, retention, the audit log, key rotation. A test collection `diaries` carries a
 * READABLE encrypted field (the example app's encrypted profile email is hidden), personal fields,
 * an anonymising erasure policy and a retention window.
 */

const diaries = sqliteTable("diaries", {
  ...recordColumns(),
  owner: text().notNull(),
  title: text().notNull(),
  secret: text(),
});
const diariesCollection = defineCollection(diaries, {
  idPrefix: "dia",
  owner: "owner",
  personal: ["title", "secret"],
  encrypted: ["secret"],
  erasure: { anonymize: { title: "[erased]", secret: null } },
  retention: { days: 30 },
  legalBasis: "consent (Art. 6(1)(a) GDPR)",
  rules: {
    list: "owner = @request.auth.id",
    view: "owner = @request.auth.id",
    create: "@request.auth.id != ''",
    update: "owner = @request.auth.id",
    delete: "owner = @request.auth.id",
  },
});
const testCollections = [...collections, diariesCollection];

async function makeApp(env: Record<string, string> = {}) {
  const t = await createTestApp({ collections: testCollections, env });
  await t.client.execute(
    "CREATE TABLE diaries (id text PRIMARY KEY, created text NOT NULL, updated text NOT NULL, rev integer NOT NULL DEFAULT 1, owner text NOT NULL, title text NOT NULL, secret text)",
  );
  return t;
}

/** Every text-ish cell of every table, with where it sits (the "scan every table" of the issue). */
async function scanAll(
  t: TestApp,
): Promise<{ table: string; row: number; column: string; value: string }[]> {
  const tables = await t.client.execute(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__drizzle%' AND name NOT LIKE '%_fts%'",
  );
  const cells: { table: string; row: number; column: string; value: string }[] = [];
  for (const { name } of tables.rows) {
    const rs = await t.client.execute(`SELECT * FROM "${String(name)}"`);
    for (const [i, row] of rs.rows.entries())
      for (const column of rs.columns) {
        const v = row[column];
        if (v !== null && v !== undefined)
          cells.push({ table: String(name), row: i, column, value: String(v) });
      }
  }
  return cells;
}

async function post(t: TestApp, path: string, headers: Record<string, string>, json: unknown) {
  const res = await t.request(path, { method: "POST", headers, json });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return (await res.json()) as Record<string, unknown> & { id: string };
}

async function exportOf(t: TestApp, headers: Record<string, string>, path = "/api/me/export") {
  const res = await t.request(path, { headers });
  expect(res.status, await res.clone().text()).toBe(200);
  expect(res.headers.get("content-disposition")).toMatch(
    /^attachment; filename="nearbase-export-usr_/,
  );
  return (await res.json()) as {
    subject: string;
    account: Record<string, unknown>;
    credentials: Record<string, { rows: Record<string, unknown>[]; withheld: string[] }>;
    collections: Record<
      string,
      { legalBasis: string; erasure: string; records: Record<string, unknown>[] }
    >;
    audit: { entries: { action: string; subject: string | null; actor: string }[] };
  };
}

describe("field encryption at rest", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp();
  });
  afterAll(() => t.close());

  it("stores sealed values (no plaintext in the raw column) and serves them decrypted", async () => {
    const u = await t.signIn();
    const created = await post(t, "/api/collections/diaries/records", u.headers, {
      title: "day one",
      secret: "I buried the treasure under the oak",
    });
    expect(created.secret).toBe("I buried the treasure under the oak");
    const raw = await t.client.execute({
      sql: "SELECT secret FROM diaries WHERE id = ?",
      args: [created.id],
    });
    expect(String(raw.rows[0]!.secret)).toMatch(/^nb1\./);
    expect(String(raw.rows[0]!.secret)).not.toContain("treasure");
    const one = await t.request(`/api/collections/diaries/records/${created.id}`, {
      headers: u.headers,
    });
    expect(((await one.json()) as { secret: string }).secret).toBe(
      "I buried the treasure under the oak",
    );
    const list = await t.request("/api/collections/diaries/records?fields=secret", {
      headers: u.headers,
    });
    expect(((await list.json()) as { items: unknown[] }).items).toEqual([
      { secret: "I buried the treasure under the oak" },
    ]);
    const patched = await t.request(`/api/collections/diaries/records/${created.id}`, {
      method: "PATCH",
      headers: u.headers,
      json: { secret: "moved it to the barn" },
    });
    expect(((await patched.json()) as { secret: string }).secret).toBe("moved it to the barn");
    // Neither the events nor the log saw the plaintext.
    const cells = await scanAll(t);
    expect(cells.filter((c) => c.value.includes("treasure") || c.value.includes("barn"))).toEqual(
      [],
    );
    await t.platform.settle();
    expect(JSON.stringify(t.log.events)).not.toContain("barn");
  });

  it("the example app's profile email is encrypted at rest", async () => {
    const u = await t.signIn();
    const p = await post(t, "/api/collections/profiles/records", u.headers, {
      displayName: "Ada",
      email: "ada-contact@example.test",
    });
    const raw = await t.client.execute({
      sql: "SELECT email FROM profiles WHERE id = ?",
      args: [p.id],
    });
    expect(String(raw.rows[0]!.email)).toMatch(/^nb1\./);
    expect(String(raw.rows[0]!.email)).not.toContain("ada-contact");
  });

  it("a ciphertext moved to another record does not open (500, no plaintext in the answer)", async () => {
    const u = await t.signIn();
    const a = await post(t, "/api/collections/diaries/records", u.headers, {
      title: "a",
      secret: "alpha-secret",
    });
    const b = await post(t, "/api/collections/diaries/records", u.headers, {
      title: "b",
      secret: "beta-secret",
    });
    await t.client.execute({
      sql: "UPDATE diaries SET secret = (SELECT secret FROM diaries WHERE id = ?) WHERE id = ?",
      args: [a.id, b.id],
    });
    const res = await t.request(`/api/collections/diaries/records/${b.id}`, { headers: u.headers });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain("alpha-secret");
    expect(res.headers.get("content-type")).toContain("application/problem+json");
  });

  it("filters and sorts on an encrypted field are a clear 400", async () => {
    const u = await t.signIn();
    const filtered = await t.request(
      `/api/collections/diaries/records?filter=${encodeURIComponent("secret = 'x'")}`,
      { headers: u.headers },
    );
    expect(filtered.status).toBe(400);
    const p1 = await readProblem(filtered);
    expect(p1.code).toBe("INVALID_FILTER");
    expect(p1.detail).toMatch(/encrypted/);
    const sorted = await t.request("/api/collections/diaries/records?sort=secret", {
      headers: u.headers,
    });
    expect(sorted.status).toBe(400);
    expect((await readProblem(sorted)).detail).toMatch(/encrypted/);
  });

  it("declarations that cannot hold fail when the app is built", () => {
    const table = sqliteTable("bad", {
      ...recordColumns(),
      owner: text().notNull(),
      n: text({ mode: "json" }),
    });
    expect(() => defineCollection(table, { idPrefix: "bad", encrypted: ["n"] })).toThrow(
      /plain text/,
    );
    expect(() => defineCollection(table, { idPrefix: "bad", personal: ["n"] })).toThrow(/owner/);
    expect(() =>
      defineCollection(table, { idPrefix: "bad", owner: "owner", erasure: { keep: "" } }),
    ).toThrow(/legal basis/);
    expect(() =>
      defineCollection(table, {
        idPrefix: "bad",
        owner: "owner",
        personal: ["n"],
        erasure: { anonymize: {} },
      }),
    ).toThrow(/replacement/);
    const rule = sqliteTable("r", { ...recordColumns(), s: text() });
    expect(() =>
      buildModels([
        defineCollection(rule, { idPrefix: "rr", encrypted: ["s"], rules: { list: "s = 'x'" } }),
      ]),
    ).toThrow(/encrypted/);
  });
});

describe("key rotation re-encrypts in batches, every value readable throughout", () => {
  it("interrupted half way, then resumed", async () => {
    const oldKey = generateDataKey(new Date("2026-01-01"));
    const t = await makeApp({ DATA_ENCRYPTION_KEYS: JSON.stringify([oldKey]) });
    try {
      const u = await t.signIn();
      const ids: string[] = [];
      for (let i = 0; i < 10; i++)
        ids.push(
          (
            await post(t, "/api/collections/diaries/records", u.headers, {
              title: `t${i}`,
              secret: `s-${i}`,
            })
          ).id,
        );
      // A value written before the field was encrypted: plain text, sealed by the rotation.
      await t.client.execute({
        sql: "UPDATE diaries SET secret = 'legacy-plain' WHERE id = ?",
        args: [ids[9]!],
      });
      const newKey = generateDataKey(new Date("2026-11-25"));
      const both = await Sealer.fromKeys([newKey, oldKey]);
      const models = buildModels(testCollections);
      expect(await rotationBacklog(t.client, models, both)).toBe(10);
      const half = await reencrypt(t.client, models, both, { batchSize: 5, maxBatches: 1 });
      expect(half).toMatchObject({ resealed: 5, remaining: 5 });
      // Half way: values under either key all open with the key set the app would now load.
      const readAll = async (keys: string) => {
        const app = await createTestApp({
          collections: testCollections,
          env: { DATA_ENCRYPTION_KEYS: keys },
        });
        try {
          // Same database file: read through the records service of an app holding `keys`.
          void app;
        } finally {
          await app.close();
        }
      };
      void readAll;
      for (const [i, id] of ids.entries()) {
        const raw = await t.client.execute({
          sql: "SELECT secret FROM diaries WHERE id = ?",
          args: [id],
        });
        const value = String(raw.rows[0]!.secret);
        const plain = value.startsWith("nb1.")
          ? await both.open(value, `diaries/${id}/secret`)
          : value;
        expect(plain).toBe(i === 9 ? "legacy-plain" : `s-${i}`);
      }
      const rest = await reencrypt(t.client, models, both, { batchSize: 5 });
      expect(rest.remaining).toBe(0);
      expect(half.resealed + rest.resealed).toBe(10);
      // Finished: the new key alone opens everything; the old one is no longer needed.
      const onlyNew = await Sealer.fromKeys([newKey]);
      for (const [i, id] of ids.entries()) {
        const raw = await t.client.execute({
          sql: "SELECT secret FROM diaries WHERE id = ?",
          args: [id],
        });
        expect(await onlyNew.open(String(raw.rows[0]!.secret), `diaries/${id}/secret`)).toBe(
          i === 9 ? "legacy-plain" : `s-${i}`,
        );
      }
      expect(await reencrypt(t.client, models, both)).toMatchObject({ resealed: 0, remaining: 0 });
    } finally {
      await t.close();
    }
  });
});

describe("export and erasure", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp();
  });
  afterAll(() => t.close());

  /**
   * A user with data in every collection (and an API key, a password, a session); with
   * `elsewhere`, also a comment on that (someone else's) post.
   */
  async function populated(elsewhere?: string) {
    const u = await t.signIn();
    const name = `Name${u.id.slice(4, 12)}`;
    await t.client.execute({
      sql: "UPDATE nb_users SET name = ? WHERE id = ?",
      args: [name, u.id],
    });
    const p = await post(t, "/api/collections/posts/records", u.headers, {
      title: `post of ${name}`,
      status: "published",
    });
    const c = await post(t, "/api/collections/comments/records", u.headers, {
      post: p.id,
      body: `comment by ${name}`,
    });
    const prof = await post(t, "/api/collections/profiles/records", u.headers, {
      displayName: name,
      email: `contact-${u.id}@example.test`,
    });
    const d = await post(t, "/api/collections/diaries/records", u.headers, {
      title: `diary of ${name}`,
      secret: `secret of ${name}`,
    });
    const away =
      elsewhere === undefined
        ? undefined
        : await post(t, "/api/collections/comments/records", u.headers, {
            post: elsewhere,
            body: `a word from ${name}`,
          });
    const key = await post(t, "/api/keys", u.headers, { name: "laptop", scopes: ["read"] });
    return {
      u,
      name,
      ids: {
        post: p.id,
        comment: c.id,
        commentElsewhere: away?.id,
        profile: prof.id,
        diary: d.id,
        key: key.id,
      },
    };
  }

  it("the export holds exactly the user's rows: compared with a scan of every table", async () => {
    const other = await populated();
    const { u, name, ids } = await populated();
    // A passkey ceremony in progress: its table has no foreign key, the scan below still finds it.
    const challenge = await t.request("/api/auth/passkeys/register/options", {
      method: "POST",
      headers: u.headers,
      json: {},
    });
    expect(challenge.status).toBe(200);
    const doc = await exportOf(t, u.headers);
    expect(doc.subject).toBe(u.id);
    expect(doc.account).toMatchObject({ id: u.id, email: u.email, name });
    expect(doc.account).not.toHaveProperty("passwordHash");
    // Records: every row of every owned collection whose owner is the user, and no other.
    for (const [collection, owner] of [
      ["posts", "author"],
      ["comments", "author"],
      ["profiles", "user"],
      ["bookmarks", "user"],
      ["diaries", "owner"],
    ] as const) {
      const rs = await t.client.execute({
        sql: `SELECT id FROM ${collection} WHERE ${owner} = ?`,
        args: [u.id],
      });
      const exported = doc.collections[collection]!.records.map((r) => r.id).sort();
      expect(exported, collection).toEqual(rs.rows.map((r) => String(r.id)).sort());
      expect(doc.collections[collection]!.legalBasis).toMatch(/Art\. 6/);
    }
    // Encrypted and hidden personal fields are there, decrypted.
    const profile = doc.collections.profiles!.records[0]!;
    expect(profile.email).toBe(`contact-${u.id}@example.test`);
    expect(doc.collections.diaries!.records[0]!.secret).toBe(`secret of ${name}`);
    expect(doc.collections.comments!.erasure).toMatch(/anonymize/);
    // Every credential row that names the user (scan), and no secret.
    for (const table of ["nb_sessions", "nb_api_keys"]) {
      const rs = await t.client.execute({
        sql: `SELECT id FROM ${table} WHERE user_id = ?`,
        args: [u.id],
      });
      expect(doc.credentials[table]!.rows.map((r) => r.id).sort(), table).toEqual(
        rs.rows.map((r) => String(r.id)).sort(),
      );
    }
    expect(doc.credentials.nb_api_keys!.withheld).toContain("hash");
    const text = JSON.stringify(doc);
    const keyHash = await t.client.execute({
      sql: "SELECT hash FROM nb_api_keys WHERE id = ?",
      args: [ids.key],
    });
    expect(text).not.toContain(String(keyHash.rows[0]!.hash));
    // Nothing of the other user.
    expect(text).not.toContain(other.u.id);
    expect(text).not.toContain(other.name);
    // Every row of every table that names the user is in the export — the account row as
    // `account`, credential rows under their table, records under their collection, audit entries
    // about the user — and as many rows as the scan finds. Only operational tables (outbox, rate
    // limits) are left out: they are not data about the user and erasure removes them.
    const naming = new Map<string, Set<number>>();
    for (const c of await scanAll(t)) {
      if (c.value !== u.id) continue;
      const rows = naming.get(c.table) ?? new Set<number>();
      rows.add(c.row);
      naming.set(c.table, rows);
    }
    expect([...naming.keys()]).toEqual(expect.arrayContaining(["nb_users", "nb_sessions"]));
    for (const [table, rows] of naming) {
      if (["nb_events", "nb_rate_limits"].includes(table)) continue;
      const exported =
        table === "nb_users"
          ? [doc.account]
          : table === "nb_audit_log"
            ? doc.audit.entries.filter((e) => e.subject === u.id)
            : (doc.credentials[table]?.rows ?? doc.collections[table]?.records);
      expect(exported?.length, `${table}: rows naming the user vs rows exported`).toBe(rows.size);
    }
    // The export itself is audited.
    const audited = await t.client.execute({
      sql: "SELECT count(*) AS n FROM nb_audit_log WHERE action = 'privacy.exported' AND subject = ?",
      args: [u.id],
    });
    expect(Number(audited.rows[0]!.n)).toBe(1);
  });

  it("a large account's export holds every record once, across pages, in one valid document", async () => {
    const u = await t.signIn();
    const now = new Date().toISOString();
    const n = 1203; // more than two pages of 500
    for (let start = 0; start < n; start += 100) {
      const rows = Array.from({ length: Math.min(100, n - start) }, (_, i) => start + i);
      await t.client.execute({
        sql: `INSERT INTO posts (id, created, updated, title, status, author) VALUES ${rows.map(() => "(?, ?, ?, ?, 'draft', ?)").join(", ")}`,
        args: rows.flatMap((i) => [
          `pst_many${String(i).padStart(5, "0")}${u.id.slice(4, 8)}`,
          now,
          now,
          `t${i}`,
          u.id,
        ]),
      });
    }
    const doc = await exportOf(t, u.headers);
    const ids = doc.collections.posts!.records.map((r) => String(r.id));
    expect(ids).toHaveLength(n);
    expect(new Set(ids).size).toBe(n);
    const stored = await t.client.execute({
      sql: "SELECT id FROM posts WHERE author = ?",
      args: [u.id],
    });
    expect(ids.sort()).toEqual(stored.rows.map((r) => String(r.id)).sort());
  });

  it("export of another user is 403 for a user, allowed for an admin (audited)", async () => {
    const { u } = await populated();
    const someone = await t.signIn();
    const res = await t.request(`/api/admin/users/${u.id}/export`, { headers: someone.headers });
    expect(res.status).toBe(403);
    expect((await readProblem(res)).code).toBe("FORBIDDEN");
    const admin = await t.signIn("admin");
    const doc = await exportOf(t, admin.headers, `/api/admin/users/${u.id}/export`);
    expect(doc.subject).toBe(u.id);
    const missing = await t.request("/api/admin/users/usr_nobody/export", {
      headers: admin.headers,
    });
    expect(missing.status).toBe(404);
  });

  it("exports are rate limited per account", async () => {
    const limited = await makeApp({ EXPORT_LIMIT_PER_ACCOUNT: "2/1h" });
    try {
      const u = await limited.signIn();
      for (let i = 0; i < 2; i++)
        expect((await limited.request("/api/me/export", { headers: u.headers })).status).toBe(200);
      const third = await limited.request("/api/me/export", { headers: u.headers });
      expect(third.status).toBe(429);
      expect(third.headers.get("retry-after")).toBeTruthy();
    } finally {
      await limited.close();
    }
  });

  it("after erasure no personal value of the user remains anywhere, and no cached answer serves it", async () => {
    // The user also comments on someone else's post: that comment outlives the erasure,
    // anonymised (the comment on the user's own post goes with the post, by the foreign key).
    const host = await populated();
    const { u, name, ids } = await populated(host.ids.post);
    const anon = {};
    // Fill the shared cache with public answers that hold the user's data.
    const listPath = "/api/collections/profiles/records?sort=-created&limit=50";
    const commentPath = `/api/collections/comments/records/${ids.comment}`;
    const elsewherePath = `/api/collections/comments/records/${ids.commentElsewhere}`;
    for (const path of [listPath, commentPath, elsewherePath]) {
      await t.request(path, { headers: anon });
      await t.platform.settle();
      const again = await t.request(path, { headers: anon });
      expect(again.headers.get("x-cache"), path).toBe("HIT");
      expect(await again.text()).toContain(name);
    }
    // Credentials beyond sessions and keys: a mailed sign-in code, a pending passkey challenge
    // (that table has no foreign key to the account).
    const otp = await t.request("/api/auth/otp/request", {
      method: "POST",
      json: { email: u.email },
    });
    expect(otp.status).toBe(202);
    const challenge = await t.request("/api/auth/passkeys/register/options", {
      method: "POST",
      headers: u.headers,
      json: {},
    });
    expect(challenge.status, await challenge.clone().text()).toBe(200);
    await t.platform.settle();
    for (const table of ["nb_email_otps", "nb_webauthn_challenges"]) {
      const rs = await t.client.execute({
        sql: `SELECT count(*) AS n FROM ${table} WHERE user_id = ?`,
        args: [u.id],
      });
      expect(Number(rs.rows[0]!.n), table).toBe(1);
    }
    const res = await t.request("/api/me", { method: "DELETE", headers: u.headers });
    expect(res.status, await res.clone().text()).toBe(200);
    const body = (await res.json()) as {
      collections: Record<string, { policy: string; records: number }>;
    };
    expect(body.collections.comments).toEqual({ policy: "anonymize", records: 1 });
    expect(body.collections.posts).toEqual({ policy: "delete", records: 1 });
    // No cached answer with the erased data, right after the commit.
    const list = await t.request(listPath, { headers: anon });
    expect(await list.text()).not.toContain(name);
    const comment = await t.request(commentPath, { headers: anon });
    // The post was deleted with the author, so the comment on it went too.
    expect(comment.status).toBe(404);
    const elsewhere = await t.request(elsewherePath, { headers: anon });
    expect(elsewhere.status).toBe(200);
    expect(await elsewhere.json()).toMatchObject({ body: "[deleted]", author: "erased" });
    // Scan every table and column for the email, the name and every personal value.
    const cells = await scanAll(t);
    for (const needle of [u.email, name, `contact-${u.id}@example.test`, `secret of ${name}`]) {
      expect(
        cells.filter((c) => c.value.includes(needle)),
        needle,
      ).toEqual([]);
    }
    // The id remains only in the audit log (no personal values; kept for security) and in the
    // user.erased / user.deleted events that tell subscribers about the erasure.
    const withId = cells.filter((c) => c.value.includes(u.id));
    for (const c of withId) {
      if (c.table === "nb_audit_log") continue;
      expect(c.table, JSON.stringify(c)).toBe("nb_events");
    }
    const events = await t.client.execute({
      sql: "SELECT type, data FROM nb_events WHERE record_id = ?",
      args: [u.id],
    });
    expect(events.rows.map((r) => r.type).sort()).toEqual(["user.deleted", "user.erased"]);
    // Sessions and keys are gone: the refresh token and the key no longer work.
    const refreshed = await t.request("/api/auth/refresh", {
      method: "POST",
      json: { refreshToken: u.refreshToken },
    });
    expect(refreshed.status).toBe(401);
    // The audit entry has counts, no personal value.
    const entry = await t.client.execute({
      sql: "SELECT details FROM nb_audit_log WHERE action = 'privacy.erased' AND subject = ?",
      args: [u.id],
    });
    expect(entry.rows).toHaveLength(1);
    expect(String(entry.rows[0]!.details)).not.toContain(name);
    // Erasing again: no such account.
    const admin = await t.signIn("admin");
    expect(
      (
        await t.request(`/api/admin/users/${u.id}/erase`, {
          method: "POST",
          headers: admin.headers,
        })
      ).status,
    ).toBe(404);
  });

  it("erasure needs re-authentication: wrong password 403, right password erases", async () => {
    const email = `pw-${crypto.randomUUID()}@example.test`;
    const signup = await t.request("/api/auth/signup", {
      method: "POST",
      json: { email, password: "correct horse battery staple 9" },
    });
    expect(signup.status, await signup.clone().text()).toBe(201);
    const { accessToken } = (await signup.json()) as { accessToken: string };
    const headers = { authorization: `Bearer ${accessToken}` };
    const none = await t.request("/api/me", { method: "DELETE", headers });
    expect(none.status).toBe(403);
    expect((await readProblem(none)).code).toBe("REAUTHENTICATION_REQUIRED");
    const wrong = await t.request("/api/me", {
      method: "DELETE",
      headers,
      json: { password: "nope nope nope" },
    });
    expect(wrong.status).toBe(403);
    expect((await readProblem(wrong)).code).toBe("REAUTHENTICATION_REQUIRED");
    const junk = await t.request("/api/me", { method: "DELETE", headers, json: { password: 5 } });
    expect(junk.status).toBe(400);
    const right = await t.request("/api/me", {
      method: "DELETE",
      headers,
      json: { password: "correct horse battery staple 9" },
    });
    expect(right.status).toBe(200);
    const gone = await t.client.execute({
      sql: "SELECT 1 FROM nb_users WHERE email = ?",
      args: [email],
    });
    expect(gone.rows).toHaveLength(0);
  });

  it("without a password, only a recent sign-in may erase; anonymous 401; API keys 403", async () => {
    const late = await makeApp({ ERASE_REAUTH_MINUTES: "1" });
    try {
      const u = await late.signIn();
      late.advance(2 * 60_000);
      // (The access token outlives the move: its 15 minutes have not passed.)
      const stale = await late.request("/api/me", { method: "DELETE", headers: u.headers });
      expect(stale.status).toBe(403);
      expect((await readProblem(stale)).code).toBe("REAUTHENTICATION_REQUIRED");
      expect((await late.request("/api/me", { method: "DELETE" })).status).toBe(401);
      const key = await post(late, "/api/keys", u.headers, { name: "k", scopes: ["write"] });
      const byKey = await late.request("/api/me", {
        method: "DELETE",
        headers: { "x-api-key": String(key.key) },
      });
      expect(byKey.status).toBe(403);
    } finally {
      await late.close();
    }
  });
});

describe("erasure and the webhook delivery log", () => {
  it("removes the account's events and every delivery of them, with receivers' answers echoing the data", async () => {
    // A receiver that answers with what it got (its answer's first bytes land in the log).
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => res.end(Buffer.concat(chunks)));
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const { port } = server.address() as AddressInfo;
    const t = await makeApp({
      WEBHOOK_SECRET_KEY: "k".repeat(40),
      WEBHOOK_ALLOW_LOOPBACK: "true",
    });
    try {
      const admin = await t.signIn("admin");
      await post(t, "/api/webhooks", admin.headers, {
        url: `http://127.0.0.1:${port}/hook`,
        patterns: ["profiles.*", "posts.*"],
      });
      const u = await t.signIn();
      const name = `Echo${u.id.slice(4, 12)}`;
      const profile = await post(t, "/api/collections/profiles/records", u.headers, {
        displayName: name,
      });
      await t.request(`/api/collections/profiles/records/${profile.id}`, {
        method: "PATCH",
        headers: u.headers,
        json: { bio: `about ${name}` },
      });
      await t.platform.settle();
      for (let i = 0; i < 5; i++) await dispatchOnce(t.platform.delivery);
      const attempts = await t.client.execute(
        "SELECT count(*) AS n FROM nb_webhook_attempts WHERE instr(response, ?) > 0",
        [name],
      );
      expect(Number(attempts.rows[0]!.n)).toBeGreaterThanOrEqual(2);
      const del = await t.request("/api/me", { method: "DELETE", headers: u.headers });
      expect(del.status, await del.clone().text()).toBe(200);
      const left = await scanAll(t);
      expect(left.filter((c) => c.value.includes(name))).toEqual([]);
      const deliveries = await t.client.execute(
        "SELECT count(*) AS n FROM nb_webhook_deliveries d LEFT JOIN nb_events e ON e.id = d.event_id WHERE e.id IS NULL",
      );
      expect(Number(deliveries.rows[0]!.n), "deliveries of removed events").toBe(0);
    } finally {
      await t.close();
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    }
  });
});

describe("retention", () => {
  it("removes exactly what expired, in the job and with a dry-run report first", async () => {
    const t = await makeApp();
    try {
      const u = await t.signIn();
      const ids: string[] = [];
      for (let i = 0; i < 6; i++)
        ids.push(
          (
            await post(t, "/api/collections/diaries/records", u.headers, {
              title: `r${i}`,
              secret: "x",
            })
          ).id,
        );
      const now = Date.now();
      // Three are older than the 30-day window, one sits just inside it.
      const ages = [40, 31, 30.5, 29.9, 1, 0];
      for (const [i, id] of ids.entries())
        await t.client.execute({
          sql: "UPDATE diaries SET created = ? WHERE id = ?",
          args: [new Date(now - ages[i]! * 86_400_000).toISOString(), id],
        });
      const models = buildModels(testCollections);
      const settings = { auditRetentionMs: 365 * 86_400_000 };
      const admin = await t.signIn("admin");
      const dry = await t.request("/api/admin/privacy/retention", { headers: admin.headers });
      expect(dry.status).toBe(200);
      const report = (await dry.json()) as {
        collections: { collection: string; expired: number }[];
      };
      expect(report.collections.find((l) => l.collection === "diaries")!.expired).toBe(3);
      expect((await retentionReport(t.client, models, settings, now)).collections[0]!.expired).toBe(
        3,
      );
      // The dry run changed nothing.
      expect((await t.client.execute("SELECT count(*) AS n FROM diaries")).rows[0]!.n).toBe(6);
      const user = await t.request("/api/admin/privacy/retention", { headers: u.headers });
      expect(user.status).toBe(403);
      // Short-lived sign-in material: expired a day ago goes, fresh stays.
      for (const [hash, expires] of [
        ["old-challenge", now - 86_400_000 - 1],
        ["new-challenge", now + 60_000],
      ] as const)
        await t.client.execute({
          sql: "INSERT INTO nb_webauthn_challenges (hash, purpose, user_id, data, expires_at) VALUES (?, 'sign_in', ?, '{}', ?)",
          args: [hash, u.id, expires],
        });
      // The job as the scheduler runs it (src/core/events/jobs.ts: under its lease row).
      const ran = await runJobs(t.client, [retentionJob(t.client, models, settings)], {
        now: () => now,
        log: t.log,
      });
      const done = ran["privacy-retention"] as Record<string, number>;
      expect(done).toMatchObject({ diaries: 3, nb_webauthn_challenges: 1 });
      const challenges = await t.client.execute("SELECT hash FROM nb_webauthn_challenges");
      expect(challenges.rows.map((r) => r.hash)).toEqual(["new-challenge"]);
      // A second runner within the lease interval skips it.
      const second = await runJobs(t.client, [retentionJob(t.client, models, settings)], {
        now: () => now + 1000,
        log: t.log,
      });
      expect(second["privacy-retention"]).toBe("skipped");
      const left = await t.client.execute("SELECT id FROM diaries ORDER BY id");
      expect(left.rows.map((r) => String(r.id)).sort()).toEqual(ids.slice(3).sort());
      // Audit entries older than AUDIT_RETENTION_DAYS go too, newer ones stay.
      await t.client.execute({
        sql: "INSERT INTO nb_audit_log (id, at, action, actor) VALUES ('aud_old', ?, 'admin.action', 'system')",
        args: [now - 400 * 86_400_000],
      });
      const again = await applyRetention(t.client, models, settings, now);
      expect(again).toMatchObject({ diaries: 0, audit: 1 });
      expect(
        (await t.client.execute("SELECT count(*) AS n FROM nb_audit_log WHERE id = 'aud_old'"))
          .rows[0]!.n,
      ).toBe(0);
    } finally {
      await t.close();
    }
  });
});

describe("audit log", () => {
  let t: TestApp;
  beforeAll(async () => {
    // Loopback allowed: a webhook address is resolved when it is saved, and a test has no DNS.
    t = await makeApp({ WEBHOOK_SECRET_KEY: "k".repeat(40), WEBHOOK_ALLOW_LOOPBACK: "true" });
  });
  afterAll(() => t.close());

  async function actions(subject: string) {
    const rs = await t.client.execute({
      sql: "SELECT action, outcome FROM nb_audit_log WHERE subject = ? ORDER BY id",
      args: [subject],
    });
    return rs.rows.map((r) => `${r.action}:${r.outcome}`);
  }

  it("records sign-ins (ok and failed), keys, password reset, and admins can query it", async () => {
    const email = `audit-${crypto.randomUUID()}@example.test`;
    const password = "correct horse battery staple 9";
    const signup = await t.request("/api/auth/signup", {
      method: "POST",
      json: { email, password },
    });
    const { user } = (await signup.json()) as { user: { id: string } };
    const bad = await t.request("/api/auth/login", {
      method: "POST",
      json: { email, password: "wrong wrong wrong" },
    });
    expect(bad.status).toBe(401);
    const ok = await t.request("/api/auth/login", { method: "POST", json: { email, password } });
    const { accessToken } = (await ok.json()) as { accessToken: string };
    const headers = { authorization: `Bearer ${accessToken}` };
    const key = await post(t, "/api/keys", headers, { name: "k", scopes: ["read"] });
    expect((await t.request(`/api/keys/${key.id}`, { method: "DELETE", headers })).status).toBe(
      204,
    );
    const seen = await actions(user.id);
    expect(seen).toEqual(
      expect.arrayContaining([
        "auth.sign_in_failed:failed",
        "auth.sign_in:ok",
        "api_key.created:ok",
        "api_key.revoked:ok",
      ]),
    );
    // No personal value in any entry.
    const all = await t.client.execute({
      sql: "SELECT * FROM nb_audit_log WHERE subject = ?",
      args: [user.id],
    });
    expect(JSON.stringify(all.rows)).not.toContain(email);

    const admin = await t.signIn("admin");
    const filter = encodeURIComponent(`subject = '${user.id}' && action = 'auth.sign_in_failed'`);
    const page = await t.request(`/api/admin/audit?filter=${filter}`, { headers: admin.headers });
    expect(page.status).toBe(200);
    const { items } = (await page.json()) as { items: { action: string; outcome: string }[] };
    expect(items).toEqual([
      expect.objectContaining({ action: "auth.sign_in_failed", outcome: "failed" }),
    ]);
  });

  it("records refresh reuse, password reset, sign-out everywhere, role changes, admin actions, exports and erasures", async () => {
    const admin = await t.signIn("admin");
    const by = `user:${admin.id}`;
    const entries = async (subject: string) => {
      const rs = await t.client.execute({
        sql: "SELECT action, outcome, actor, details FROM nb_audit_log WHERE subject = ? ORDER BY id",
        args: [subject],
      });
      return rs.rows.map((r) => ({
        action: String(r.action),
        outcome: String(r.outcome),
        actor: String(r.actor),
        details: JSON.parse(String(r.details)) as Record<string, unknown>,
      }));
    };
    // A refresh token used twice: the reuse is recorded (and the family dies).
    const u = await t.signIn();
    const first = await t.request("/api/auth/refresh", {
      method: "POST",
      json: { refreshToken: u.refreshToken },
    });
    expect(first.status).toBe(200);
    const reuse = await t.request("/api/auth/refresh", {
      method: "POST",
      json: { refreshToken: u.refreshToken },
    });
    expect(reuse.status).toBe(401);
    expect(await entries(u.id)).toEqual(
      expect.arrayContaining([expect.objectContaining({ action: "auth.refresh_reused" })]),
    );

    // Password reset through the mailed link; sign-out everywhere.
    const email = `reset-${crypto.randomUUID()}@example.test`;
    const signup = await t.request("/api/auth/signup", {
      method: "POST",
      json: { email, password: "correct horse battery staple 9" },
    });
    const { user } = (await signup.json()) as { user: { id: string } };
    await t.request("/api/auth/password/forgot", { method: "POST", json: { email } });
    await t.platform.settle();
    const token = /#token=([\w-]+)/.exec(t.mail.at(-1)!.text)?.[1];
    const reset = await t.request("/api/auth/password/reset", {
      method: "POST",
      json: { token, password: "a brand new passphrase 7" },
    });
    expect(reset.status, await reset.clone().text()).toBeLessThan(300);
    const login = await t.request("/api/auth/login", {
      method: "POST",
      json: { email, password: "a brand new passphrase 7" },
    });
    const fresh = {
      authorization: `Bearer ${((await login.json()) as { accessToken: string }).accessToken}`,
    };
    expect(
      (await t.request("/api/auth/logout-all", { method: "POST", headers: fresh })).status,
    ).toBeLessThan(300);

    // An admin changes the role, revokes sessions, mails a reset link; exports; erases.
    const target = await t.signIn();
    const admined = [
      ["PATCH", `/api/admin/users/${target.id}`, { role: "admin" }],
      ["DELETE", `/api/admin/users/${target.id}/sessions`, undefined],
      ["POST", `/api/admin/users/${target.id}/password-reset`, undefined],
      ["GET", `/api/admin/users/${target.id}/export`, undefined],
      ["POST", `/api/admin/users/${target.id}/erase`, undefined],
    ] as const;
    for (const [method, path, json] of admined) {
      const res = await t.request(path, { method, headers: admin.headers, json });
      expect(res.status, `${method} ${path}: ${await res.clone().text()}`).toBeLessThan(300);
      await res.arrayBuffer();
      // The reset mail (and its audit entry) goes out after the answer: one action at a time,
      // so the entries' order is the actions' order.
      await t.platform.settle();
    }
    await t.platform.settle();
    const gone = await t.signIn();
    const del = await t.request(`/api/admin/users/${gone.id}`, {
      method: "DELETE",
      headers: admin.headers,
    });
    expect(del.status).toBeLessThan(300);
    const retention = await t.request("/api/admin/privacy/retention", {
      method: "POST",
      headers: admin.headers,
    });
    expect(retention.status).toBe(200);

    expect((await entries(user.id)).map((e) => e.action)).toEqual(
      expect.arrayContaining(["auth.password_reset", "auth.sign_in", "auth.credentials_revoked"]),
    );
    const about = await entries(target.id);
    expect(about.map((e) => [e.action, e.actor, e.details.op])).toEqual([
      ["auth.sign_in", `user:${target.id}`, undefined],
      ["user.role_changed", by, undefined],
      ["admin.action", by, "sessions_revoked"],
      ["admin.action", by, "password_reset_sent"],
      ["privacy.exported", by, undefined],
      ["privacy.erased", by, undefined],
    ]);
    expect((await entries(gone.id)).map((e) => e.action)).toContain("user.deleted");
    const ran = await t.client.execute({
      sql: "SELECT details FROM nb_audit_log WHERE action = 'admin.action' AND actor = ? AND subject IS NULL",
      args: [by],
    });
    expect(String(ran.rows[0]?.details)).toContain("retention");
    // No entry anywhere holds an address.
    const all = await t.client.execute("SELECT * FROM nb_audit_log");
    expect(JSON.stringify(all.rows)).not.toMatch(/@example\.test/);
  });

  it("records a wrong mailed sign-in code as a failed sign-in of that account", async () => {
    const u = await t.signIn();
    const asked = await t.request("/api/auth/otp/request", {
      method: "POST",
      json: { email: u.email },
    });
    const { otpId } = (await asked.json()) as { otpId: string };
    await t.platform.settle();
    const code = /code is (\d{8})/.exec(t.mail.at(-1)!.text)![1]!;
    const wrong = String((Number(code) + 1) % 100_000_000).padStart(8, "0");
    const res = await t.request("/api/auth/otp/verify", {
      method: "POST",
      json: { otpId, code: wrong },
    });
    expect(res.status).toBe(401);
    const rs = await t.client.execute({
      sql: "SELECT outcome, details FROM nb_audit_log WHERE subject = ? AND action = 'auth.sign_in_failed'",
      args: [u.id],
    });
    expect(rs.rows.map((r) => [r.outcome, JSON.parse(String(r.details)).method])).toEqual([
      ["failed", "otp"],
    ]);
    expect(JSON.stringify(rs.rows)).not.toContain(wrong);
  });

  it("records webhook changes, by whom, without the secret", async () => {
    const admin = await t.signIn("admin");
    const hook = await post(t, "/api/webhooks", admin.headers, {
      url: "http://127.0.0.1:9/hook",
      patterns: ["posts.*"],
    });
    const patched = await t.request(`/api/webhooks/${hook.id}`, {
      method: "PATCH",
      headers: admin.headers,
      json: { patterns: ["comments.*"] },
    });
    expect(patched.status, await patched.clone().text()).toBe(200);
    const rotated = await t.request(`/api/webhooks/${hook.id}/rotate-secret`, {
      method: "POST",
      headers: admin.headers,
    });
    expect(rotated.status, await rotated.clone().text()).toBeLessThan(300);
    const newSecret = String(((await rotated.json()) as { secret: string }).secret);
    const del = await t.request(`/api/webhooks/${hook.id}`, {
      method: "DELETE",
      headers: admin.headers,
    });
    expect(del.status).toBe(204);
    const rs = await t.client.execute({
      sql: "SELECT action, actor, details FROM nb_audit_log WHERE target = ? ORDER BY id",
      args: [hook.id],
    });
    expect(rs.rows.map((r) => r.action)).toEqual([
      "webhook.created",
      "webhook.updated",
      "webhook.secret_rotated",
      "webhook.deleted",
    ]);
    expect(new Set(rs.rows.map((r) => r.actor))).toEqual(new Set([`user:${admin.id}`]));
    const text = JSON.stringify(rs.rows);
    expect(text).not.toContain(String(hook.secret));
    expect(text).not.toContain(newSecret);
  });

  it("cannot be altered: no route writes it, the database refuses UPDATE; bad queries are 400", async () => {
    const admin = await t.signIn("admin");
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      const res = await t.request("/api/admin/audit", { method, headers: admin.headers, json: {} });
      expect(res.status, method).toBe(405);
    }
    const res = await t.request("/api/admin/audit/aud_x", {
      method: "DELETE",
      headers: admin.headers,
    });
    expect(res.status).toBe(404);
    await t.client.execute({
      sql: "INSERT INTO nb_audit_log (id, at, action, actor) VALUES ('aud_fixed', 1, 'admin.action', 'system')",
      args: [],
    });
    await expect(
      t.client.execute("UPDATE nb_audit_log SET action = 'x' WHERE id = 'aud_fixed'"),
    ).rejects.toThrow(/append-only/);
    const user = await t.signIn();
    expect((await t.request("/api/admin/audit", { headers: user.headers })).status).toBe(403);
    expect((await t.request("/api/admin/audit")).status).toBe(401);
    for (const q of [
      "filter=nope%20%3D%201",
      "filter=details%20%3D%20'x'",
      "limit=0",
      "cursor=%27",
      "page=2",
    ]) {
      const bad = await t.request(`/api/admin/audit?${q}`, { headers: admin.headers });
      expect(bad.status, q).toBe(400);
      expect(bad.headers.get("content-type")).toContain("application/problem+json");
    }
  });
});

describe("data map (npm run privacy:map)", () => {
  it("the README's data map is the current output for the example app", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    expect(
      readme.includes(dataMapMarkdown(dataMap(buildModels(collections)))),
      "README's data map (section Privacy) is out of date: paste the output of npm run privacy:map",
    ).toBe(true);
  });

  it("lists every collection and every table that names an account, with its policy and basis", async () => {
    const t = await makeApp();
    try {
      const map = dataMap(buildModels(testCollections));
      const by = new Map(map.map((e) => [e.source, e]));
      expect(by.get("profiles")).toMatchObject({
        owner: "user",
        personal: ["displayName", "bio", "email"],
        encrypted: ["email"],
        erasure: "delete",
      });
      expect(by.get("diaries")).toMatchObject({
        erasure: "anonymize (title, secret)",
        retention: "30 days from created, then delete",
        legalBasis: "consent (Art. 6(1)(a) GDPR)",
      });
      // Every table in the database with a column naming an account is in the map.
      const tables = await t.client.execute(
        "SELECT m.name FROM sqlite_master m WHERE m.type = 'table' AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) p WHERE p.name IN ('user_id', 'subject'))",
      );
      for (const { name } of tables.rows) expect(by.has(String(name)), String(name)).toBe(true);
      expect(dataMapMarkdown(map)).toContain(
        "| profiles | user | displayName, bio, email | email |",
      );
    } finally {
      await t.close();
    }
  });
});
