import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../harness";

describe("auth events in the outbox (same batch as the change)", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { WEBHOOK_SECRET_KEY: "k".repeat(40) } });
  });
  afterAll(() => t.close());

  const eventsOf = async (recordId: string) =>
    (
      await t.client.execute({
        sql: "SELECT type, actor, data FROM nb_events WHERE record_id = ? ORDER BY id",
        args: [recordId],
      })
    ).rows.map((r) => ({
      type: String(r.type),
      actor: String(r.actor),
      data: JSON.parse(String(r.data)),
    }));

  it("user.created when an account comes to exist", async () => {
    const user = await t.signIn();
    const events = await eventsOf(user.id);
    expect(events).toEqual([
      {
        type: "user.created",
        actor: "system",
        data: expect.objectContaining({ id: user.id, email: user.email, role: "user" }),
      },
    ]);
    expect(JSON.stringify(events)).not.toMatch(/password/i);
  });

  it("api_key.created and api_key.revoked, never the secret; a refused revoke writes none", async () => {
    const user = await t.signIn();
    const created = await t.request("/api/keys", {
      method: "POST",
      headers: user.headers,
      json: { name: "ci", scopes: ["read"] },
    });
    expect(created.status).toBe(201);
    const key = (await created.json()) as { id: string; key: string };
    const other = await t.signIn();
    const refused = await t.request(`/api/keys/${key.id}`, {
      method: "DELETE",
      headers: other.headers,
    });
    expect(refused.status).toBe(404);
    const revoked = await t.request(`/api/keys/${key.id}`, {
      method: "DELETE",
      headers: user.headers,
    });
    expect(revoked.status).toBe(204);
    const again = await t.request(`/api/keys/${key.id}`, {
      method: "DELETE",
      headers: user.headers,
    });
    expect(again.status).toBe(404);

    const events = await eventsOf(key.id);
    expect(events.map((e) => [e.type, e.actor])).toEqual([
      ["api_key.created", `user:${user.id}`],
      ["api_key.revoked", `user:${user.id}`],
    ]);
    expect(events[0]!.data).toMatchObject({
      id: key.id,
      name: "ci",
      scopes: ["read"],
      userId: user.id,
    });
    const text = JSON.stringify(events);
    expect(text).not.toContain(key.key);
    expect(text).not.toContain(key.key.slice(14));
    expect(text).not.toMatch(/hash/);
  });

  it("session.revoked on log-out; refresh_token.reused (and the revocation) on a replayed refresh token", async () => {
    const user = await t.signIn();
    const first = await t.request("/api/auth/refresh", {
      method: "POST",
      json: { refreshToken: user.refreshToken },
    });
    expect(first.status).toBe(200);
    // The spent token again: reuse, the session is revoked.
    const replay = await t.request("/api/auth/refresh", {
      method: "POST",
      json: { refreshToken: user.refreshToken },
    });
    expect(replay.status).toBe(401);
    const events = await eventsOf(user.sessionId);
    expect(events.map((e) => [e.type, e.actor])).toEqual([
      ["session.revoked", `user:${user.id}`],
      ["refresh_token.reused", "system"],
    ]);
    expect(events[1]!.data).toEqual({
      id: user.sessionId,
      userId: user.id,
      reason: "refresh_token_reuse",
    });
    expect(JSON.stringify(events)).not.toContain(user.refreshToken);

    const other = await t.signIn();
    const out = await t.request("/api/auth/logout", { method: "POST", headers: other.headers });
    expect(out.status).toBeLessThan(300);
    expect((await eventsOf(other.sessionId)).map((e) => e.type)).toEqual(["session.revoked"]);
  });

  it("webhook patterns may name the engine's sources", async () => {
    const admin = await t.signIn("admin");
    const res = await t.request("/api/webhooks", {
      method: "POST",
      headers: admin.headers,
      json: {
        url: "https://93.184.215.14/hook",
        patterns: ["user.created", "api_key.*", "session.revoked", "refresh_token.*"],
        enabled: false,
      },
    });
    expect(res.status, await res.clone().text()).toBe(201);
  });
});
