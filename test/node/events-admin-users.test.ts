import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeAdmin } from "../../src/core/accounts/users";
import { createTestApp, readProblem, type TestApp } from "../harness";

const env = { WEBHOOK_SECRET_KEY: "k".repeat(40), PASSWORD_ITERATIONS: "10000" };

interface Event {
  id: string;
  type: string;
  actor: string;
  occurredAt: number;
  changed: string[] | null;
  data: Record<string, unknown>;
}

async function eventsOf(t: TestApp, recordIds: string[], types?: string[]): Promise<Event[]> {
  const rs = await t.client.execute({
    sql: `SELECT * FROM nb_events WHERE record_id IN (${recordIds.map(() => "?").join(",")}) ORDER BY id`,
    args: recordIds,
  });
  return rs.rows
    .map((r) => ({
      id: String(r.id),
      type: String(r.type),
      actor: String(r.actor),
      occurredAt: Number(r.occurred_at),
      changed: r.changed === null ? null : (JSON.parse(String(r.changed)) as string[]),
      data: JSON.parse(String(r.data)) as Record<string, unknown>,
    }))
    .filter((e) => types === undefined || types.includes(e.type));
}

/** Nothing secret in an event: no hash column, no password, no token or key. */
function expectNoSecrets(events: Event[], ...secrets: string[]) {
  const text = JSON.stringify(events);
  expect(text).not.toMatch(/hash|pbkdf2/i);
  for (const s of secrets) expect(text).not.toContain(s);
}

describe("user.updated for every change to an account (same batch as the change)", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env });
  });
  afterAll(() => t.close());

  it("a password reset: user.updated (password, then emailVerified) and one session.revoked per session", async () => {
    const email = `reset-${crypto.randomUUID()}@example.test`;
    const signup = await t.request("/api/auth/signup", {
      method: "POST",
      json: { email, password: "a long enough passphrase 1" },
    });
    expect(signup.status).toBe(201);
    const { user, sessionId } = (await signup.json()) as {
      user: { id: string };
      sessionId: string;
    };
    const second = await t.request("/api/auth/login", {
      method: "POST",
      json: { email, password: "a long enough passphrase 1" },
    });
    expect(second.status).toBe(200);
    const other = ((await second.json()) as { sessionId: string }).sessionId;

    expect(
      (await t.request("/api/auth/password/forgot", { method: "POST", json: { email } })).status,
    ).toBeLessThan(300);
    await t.platform.settle();
    const token = /#token=([\w-]+)/.exec(t.mail.filter((m) => m.to === email).at(-1)!.text)![1]!;
    const reset = await t.request("/api/auth/password/reset", {
      method: "POST",
      json: { token, password: "another long passphrase 2" },
    });
    expect(reset.status).toBeLessThan(300);

    const updates = await eventsOf(t, [user.id], ["user.updated"]);
    // Both changes of the one batch (their order of ids is the order they were prepared in).
    expect(updates.map((e) => [e.changed, e.actor]).sort()).toEqual([
      [["emailVerified"], `user:${user.id}`],
      [["password"], `user:${user.id}`],
    ]);
    const last = updates.find((e) => e.changed?.[0] === "emailVerified")!;
    expect(last.data).toMatchObject({ id: user.id, email, emailVerified: true });
    const revoked = await eventsOf(t, [sessionId, other], ["session.revoked"]);
    expect(revoked.map((e) => e.data.id).sort()).toEqual([sessionId, other].sort());
    for (const e of revoked) expect(e.data).toMatchObject({ reason: "password_reset" });
    // One batch: the account's changes and the revocations carry one time.
    expect(new Set([...updates, ...revoked].map((e) => e.occurredAt)).size).toBe(1);
    expectNoSecrets([...updates, ...revoked], token, "another long passphrase 2");
  });

  it("confirming the email: user.updated with changed emailVerified; a used link changes nothing", async () => {
    const email = `verify-${crypto.randomUUID()}@example.test`;
    const signup = await t.request("/api/auth/signup", {
      method: "POST",
      json: { email, password: "a long enough passphrase 1" },
    });
    const body = (await signup.json()) as { user: { id: string }; accessToken: string };
    const ask = await t.request("/api/auth/email/verify/request", {
      method: "POST",
      headers: { authorization: `Bearer ${body.accessToken}` },
    });
    expect(ask.status).toBeLessThan(300);
    await t.platform.settle();
    const token = /#token=([\w-]+)/.exec(t.mail.filter((m) => m.to === email).at(-1)!.text)![1]!;
    const confirm = () =>
      t.request("/api/auth/email/verify/confirm", { method: "POST", json: { token } });
    expect((await confirm()).status).toBeLessThan(300);
    expect((await confirm()).status).toBe(400);
    const updates = await eventsOf(t, [body.user.id], ["user.updated"]);
    expect(updates.map((e) => e.changed)).toEqual([["emailVerified"]]);
    expect(updates[0]!.data).toMatchObject({ emailVerified: true, role: "user" });
  });

  it("promoting with makeAdmin (npm run admin:create): user.updated role, once", async () => {
    const user = await t.signIn();
    await makeAdmin(t.platform.db, user.id, t.platform.clock.now());
    await makeAdmin(t.platform.db, user.id, t.platform.clock.now());
    const updates = await eventsOf(t, [user.id], ["user.updated"]);
    expect(updates.map((e) => [e.changed, e.actor, e.data.role])).toEqual([
      [["role"], "system", "admin"],
    ]);
  });
});

describe("/api/admin/users", () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<TestApp["signIn"]>>;
  beforeAll(async () => {
    t = await createTestApp({ env });
    admin = await t.signIn("admin");
  });
  afterAll(() => t.close());

  it("admins only: 401 anonymous, 403 users and API keys (even an admin's)", async () => {
    const user = await t.signIn();
    expect((await t.request("/api/admin/users")).status).toBe(401);
    const asUser = await t.request("/api/admin/users", { headers: user.headers });
    expect(asUser.status).toBe(403);
    expect((await readProblem(asUser)).code).toBe("FORBIDDEN");
    const key = await t.request("/api/keys", {
      method: "POST",
      headers: admin.headers,
      json: { name: "admin key", scopes: ["read", "write"] },
    });
    const { key: secret } = (await key.json()) as { key: string };
    const asKey = await t.request("/api/admin/users", {
      headers: { authorization: `Bearer ${secret}` },
    });
    expect(asKey.status).toBe(403);
    const del = await t.request(`/api/admin/users/${user.id}`, {
      method: "DELETE",
      headers: user.headers,
    });
    expect(del.status).toBe(403);
  });

  it("lists and searches with cursor paging; bad queries are 400 INVALID_QUERY", async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const email = `list-${tag}-${i}@example.test`;
      const res = await t.request("/api/auth/signup", {
        method: "POST",
        json: { email, password: "a long enough passphrase 1" },
      });
      ids.push(((await res.json()) as { user: { id: string } }).user.id);
      t.advance(1);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `/api/admin/users?email=${tag.toUpperCase()}&limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const res = await t.request(q, { headers: admin.headers });
      expect(res.status).toBe(200);
      const page = (await res.json()) as {
        items: { id: string; email: string; hasPassword: boolean }[];
        nextCursor: string | null;
      };
      expect(page.items.length).toBeLessThanOrEqual(2);
      for (const u of page.items) {
        expect(u.email).toContain(tag);
        expect(u.hasPassword).toBe(true);
        expect(Object.keys(u)).not.toContain("passwordHash");
      }
      seen.push(...page.items.map((u) => u.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    // Newest first, each once.
    expect(seen).toEqual([...ids].reverse());

    const admins = await t.request("/api/admin/users?role=admin&limit=200", {
      headers: admin.headers,
    });
    const adminItems = ((await admins.json()) as { items: { id: string; role: string }[] }).items;
    expect(adminItems.map((u) => u.id)).toContain(admin.id);
    expect(adminItems.every((u) => u.role === "admin")).toBe(true);

    for (const bad of [
      "role=root",
      "limit=0",
      "limit=x",
      "cursor=%%%",
      "cursor=WzFd",
      "sort=email",
    ]) {
      const res = await t.request(`/api/admin/users?${bad}`, { headers: admin.headers });
      expect(res.status, bad).toBe(400);
      expect(["INVALID_QUERY", "MALFORMED_URI"]).toContain((await readProblem(res)).code);
    }
  });

  it("one account: sessions, API key metadata, identities — never a secret", async () => {
    const user = await t.signIn();
    const made = await t.request("/api/keys", {
      method: "POST",
      headers: user.headers,
      json: { name: "ci", scopes: ["read"] },
    });
    const key = (await made.json()) as { id: string; key: string };
    await t.client.execute({
      sql: "INSERT INTO nb_oauth_accounts (provider, provider_user_id, user_id, created) VALUES ('github', ?, ?, ?)",
      args: [`gh-${user.id}`, user.id, new Date().toISOString()],
    });
    const res = await t.request(`/api/admin/users/${user.id}`, { headers: admin.headers });
    expect(res.status).toBe(200);
    const text = await res.text();
    const body = JSON.parse(text) as {
      id: string;
      sessions: { id: string; revokedAt: string | null }[];
      apiKeys: { id: string; name: string; prefix: string }[];
      identities: { provider: string; providerUserId: string }[];
    };
    expect(body.id).toBe(user.id);
    expect(body.sessions.map((s) => s.id)).toEqual([user.sessionId]);
    expect(body.apiKeys).toEqual([expect.objectContaining({ id: key.id, name: "ci" })]);
    expect(body.identities).toEqual([
      expect.objectContaining({ provider: "github", providerUserId: `gh-${user.id}` }),
    ]);
    expect(text).not.toContain(key.key);
    expect(text).not.toContain(user.refreshToken);
    expect(text).not.toMatch(/hash/i);

    const missing = await t.request("/api/admin/users/usr_nobody", { headers: admin.headers });
    expect(missing.status).toBe(404);
    expect((await readProblem(missing)).code).toBe("NOT_FOUND");
  });

  it("changing a role emits user.updated (actor: the admin); bad input is a problem", async () => {
    const user = await t.signIn();
    const promote = await t.request(`/api/admin/users/${user.id}`, {
      method: "PATCH",
      headers: admin.headers,
      json: { role: "admin" },
    });
    expect(promote.status).toBe(200);
    expect(((await promote.json()) as { role: string }).role).toBe("admin");
    // The same role again changes nothing and writes no event.
    const same = await t.request(`/api/admin/users/${user.id}`, {
      method: "PATCH",
      headers: admin.headers,
      json: { role: "admin" },
    });
    expect(same.status).toBe(200);
    const updates = await eventsOf(t, [user.id], ["user.updated"]);
    expect(updates.map((e) => [e.changed, e.actor, e.data.role])).toEqual([
      [["role"], `user:${admin.id}`, "admin"],
    ]);
    expectNoSecrets(updates);

    for (const [json, code] of [
      [{ role: "root" }, "VALIDATION_FAILED"],
      [{ role: "user", email: "x@example.test" }, "VALIDATION_FAILED"],
      [{}, "VALIDATION_FAILED"],
    ] as const) {
      const res = await t.request(`/api/admin/users/${user.id}`, {
        method: "PATCH",
        headers: admin.headers,
        json,
      });
      expect(res.status).toBe(400);
      expect((await readProblem(res)).code).toBe(code);
    }
    const notJson = await t.request(`/api/admin/users/${user.id}`, {
      method: "PATCH",
      headers: { ...admin.headers, "content-type": "application/json" },
      body: "{",
    });
    expect((await readProblem(notJson)).code).toBe("INVALID_JSON");
    const nobody = await t.request("/api/admin/users/usr_nobody", {
      method: "PATCH",
      headers: admin.headers,
      json: { role: "user" },
    });
    expect(nobody.status).toBe(404);
  });

  it("revokes one session, then all: one session.revoked each, actor the admin", async () => {
    const user = await t.signIn();
    const two = await t.signIn(); // another account: its session must survive
    const { startSession } = await import("../../src/core/accounts/sessions");
    const { loadAuthConfig } = await import("../../src/core/accounts/config");
    const { userById } = await import("../../src/core/accounts/users");
    const row = (await userById(t.platform.db, user.id))!;
    const config = await loadAuthConfig(t.platform, t.config);
    const extra = await Promise.all(
      [1, 2].map(() => startSession(t.platform.db, config, row, "test", new Date())),
    );
    const one = await t.request(`/api/admin/users/${user.id}/sessions/${user.sessionId}`, {
      method: "DELETE",
      headers: admin.headers,
    });
    expect(one.status).toBe(204);
    const again = await t.request(`/api/admin/users/${user.id}/sessions/${user.sessionId}`, {
      method: "DELETE",
      headers: admin.headers,
    });
    expect(again.status).toBe(404);
    // Another account's session through this account's path: not found.
    const foreign = await t.request(`/api/admin/users/${user.id}/sessions/${two.sessionId}`, {
      method: "DELETE",
      headers: admin.headers,
    });
    expect(foreign.status).toBe(404);
    const all = await t.request(`/api/admin/users/${user.id}/sessions`, {
      method: "DELETE",
      headers: admin.headers,
    });
    expect(await all.json()).toEqual({ revoked: 2 });
    const ids = [user.sessionId, ...extra.map((p) => p.sessionId)];
    const events = await eventsOf(t, [...ids, two.sessionId], ["session.revoked"]);
    expect(events.map((e) => e.data.id).sort()).toEqual([...ids].sort());
    for (const e of events) {
      expect(e.actor).toBe(`user:${admin.id}`);
      expect(e.data).toMatchObject({ userId: user.id, reason: "admin" });
    }
    expect(new Set(events.map((e) => e.id)).size).toBe(3);
    const refresh = await t.request("/api/auth/refresh", {
      method: "POST",
      json: { refreshToken: extra[0]!.refreshToken },
    });
    expect(refresh.status).toBe(401);
  });

  it("sends a password-reset mail", async () => {
    const user = await t.signIn();
    const res = await t.request(`/api/admin/users/${user.id}/password-reset`, {
      method: "POST",
      headers: admin.headers,
    });
    expect(res.status).toBe(202);
    await t.platform.settle();
    expect(t.mail.filter((m) => m.to === user.email).at(-1)?.text).toMatch(/#token=/);
  });

  it("deleting an account: user.deleted, session.revoked and api_key.revoked, with the delete, in one batch", async () => {
    const user = await t.signIn();
    const made = await t.request("/api/keys", {
      method: "POST",
      headers: user.headers,
      json: { name: "gone", scopes: ["read"] },
    });
    const key = (await made.json()) as { id: string; key: string };
    const del = await t.request(`/api/admin/users/${user.id}`, {
      method: "DELETE",
      headers: admin.headers,
    });
    expect(del.status).toBe(204);
    const events = await eventsOf(
      t,
      [user.id, user.sessionId, key.id],
      ["user.deleted", "session.revoked", "api_key.revoked"],
    );
    expect(events.map((e) => e.type).sort()).toEqual([
      "api_key.revoked",
      "session.revoked",
      "user.deleted",
    ]);
    const deleted = events.find((e) => e.type === "user.deleted")!;
    expect(deleted.actor).toBe(`user:${admin.id}`);
    expect(deleted.data).toMatchObject({ id: user.id, email: user.email, role: "user" });
    expect(new Set(events.map((e) => e.occurredAt)).size).toBe(1);
    expectNoSecrets(events, key.key, user.refreshToken);
    const gone = await t.client.execute({
      sql: "SELECT (SELECT count(*) FROM nb_users WHERE id = ?1) + (SELECT count(*) FROM nb_sessions WHERE user_id = ?1) + (SELECT count(*) FROM nb_api_keys WHERE user_id = ?1) AS n",
      args: [user.id],
    });
    expect(Number(gone.rows[0]!.n)).toBe(0);
    expect((await t.request("/api/auth/me", { headers: user.headers })).status).toBe(401);
    const twice = await t.request(`/api/admin/users/${user.id}`, {
      method: "DELETE",
      headers: admin.headers,
    });
    expect(twice.status).toBe(404);
    expect(await eventsOf(t, [user.id], ["user.deleted"])).toHaveLength(1);
  });
});

describe("the last admin", () => {
  it("can be neither demoted nor deleted (409), and the refusal writes no event", async () => {
    const t = await createTestApp({ env });
    try {
      const only = await t.signIn("admin");
      const demote = await t.request(`/api/admin/users/${only.id}`, {
        method: "PATCH",
        headers: only.headers,
        json: { role: "user" },
      });
      expect(demote.status).toBe(409);
      expect((await readProblem(demote)).code).toBe("CONFLICT");
      const del = await t.request(`/api/admin/users/${only.id}`, {
        method: "DELETE",
        headers: only.headers,
      });
      expect(del.status).toBe(409);
      // The revocations in the delete's batch rolled back with it: the session still works.
      expect(await eventsOf(t, [only.id, only.sessionId])).toEqual([
        expect.objectContaining({ type: "user.created" }),
      ]);
      expect((await t.request("/api/auth/me", { headers: only.headers })).status).toBe(200);
      const refresh = await t.request("/api/auth/refresh", {
        method: "POST",
        json: { refreshToken: only.refreshToken },
      });
      expect(refresh.status).toBe(200);
      // With a second admin, the first may step down.
      const second = await t.signIn("admin");
      const ok = await t.request(`/api/admin/users/${only.id}`, {
        method: "PATCH",
        headers: second.headers,
        json: { role: "user" },
      });
      expect(ok.status).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describe("bulk revocation writes one session.revoked per session", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env });
  });
  afterAll(() => t.close());

  async function threeSessions() {
    const email = `bulk-${crypto.randomUUID()}@example.test`;
    const sessions: { sessionId: string; accessToken: string }[] = [];
    const signup = await t.request("/api/auth/signup", {
      method: "POST",
      json: { email, password: "a long enough passphrase 1" },
    });
    const first = (await signup.json()) as {
      user: { id: string };
      sessionId: string;
      accessToken: string;
    };
    sessions.push(first);
    for (let i = 0; i < 2; i++) {
      const res = await t.request("/api/auth/login", {
        method: "POST",
        json: { email, password: "a long enough passphrase 1" },
      });
      sessions.push((await res.json()) as { sessionId: string; accessToken: string });
    }
    return { email, userId: first.user.id, sessions };
  }

  it("log out everywhere (and its API keys: api_key.revoked)", async () => {
    const { userId, sessions } = await threeSessions();
    const headers = { authorization: `Bearer ${sessions[0]!.accessToken}` };
    const made = await t.request("/api/keys", {
      method: "POST",
      headers,
      json: { name: "k", scopes: ["read"] },
    });
    const key = (await made.json()) as { id: string };
    const out = await t.request("/api/auth/logout-all", { method: "POST", headers });
    expect(out.status).toBeLessThan(300);
    const ids = sessions.map((s) => s.sessionId);
    const events = await eventsOf(t, [...ids, key.id], ["session.revoked", "api_key.revoked"]);
    expect(
      events
        .filter((e) => e.type === "session.revoked")
        .map((e) => e.data.id)
        .sort(),
    ).toEqual([...ids].sort());
    expect(events.filter((e) => e.type === "api_key.revoked").map((e) => e.data.id)).toEqual([
      key.id,
    ]);
    for (const e of events) {
      expect(e.actor).toBe(`user:${userId}`);
      expect(e.data).toMatchObject({ userId, reason: "logout_all" });
    }
    expect(new Set(events.map((e) => e.occurredAt)).size).toBe(1);
    // Sorted, unique ids.
    expect(new Set(events.map((e) => e.id)).size).toBe(4);
    // Again: nothing left to revoke, no more events.
    await t.request("/api/auth/logout-all", { method: "POST", headers });
    expect(await eventsOf(t, ids, ["session.revoked"])).toHaveLength(3);
  });

  it("npm run user:revoke (actor system)", { timeout: 60_000 }, async () => {
    const { email, sessions } = await threeSessions();
    const run = await promisify(execFile)(
      "npx",
      ["tsx", "scripts/revoke-credentials.ts", "--email", email],
      { env: { ...process.env, DATABASE_URL: t.url } },
    );
    expect(run.stdout).toMatch(/revoked/);
    const ids = sessions.map((s) => s.sessionId);
    const events = await eventsOf(t, ids, ["session.revoked"]);
    expect(events.map((e) => e.data.id).sort()).toEqual([...ids].sort());
    for (const e of events) {
      expect(e.actor).toBe("system");
      expect(e.data).toMatchObject({ reason: "operator" });
    }
  });
});
