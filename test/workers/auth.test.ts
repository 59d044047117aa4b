import { env, exports } from "cloudflare:workers";
import { createClient } from "@libsql/client/web";
import { createLocalJWKSet, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { hashPassword, verifyPassword } from "../../src/core/accounts/passwords";

const call = (path: string, init?: RequestInit) =>
  exports.default.fetch(new Request(`https://nearbase.test${path}`, init));
const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

// The accounts and OAuth suites run here too (test/conformance/workers/); what stays is what
// only the Workers home has: CF-Connecting-IP, the cron handler, the runtime's PBKDF2.
describe("auth in workerd", () => {
  // Through the real entry (exports.default) with the project's bindings: the production
  // PBKDF2 cost and the default issuer and audience. Two PBKDF2 hashes at 100,000 iterations under a parallel suite: allow more than the 5 s default.
  it("signs up, logs in, reads /me, rotates the refresh token, and publishes verifying keys", {
    timeout: 30_000,
  }, async () => {
    const email = `wk${Date.now()}@example.com`;
    const password = "correct horse battery staple";
    const signup = await call("/api/auth/signup", json({ email, password }));
    expect(signup.status).toBe(201);
    const login = await call("/api/auth/login", json({ email, password }));
    expect(login.status).toBe(200);
    const tokens = (await login.json()) as {
      accessToken: string;
      refreshToken: string;
      user: { id: string };
    };

    const me = await call("/api/auth/me", {
      headers: { authorization: `Bearer ${tokens.accessToken}` },
    });
    expect(await me.json()).toMatchObject({ id: tokens.user.id, email });

    const refreshed = await call("/api/auth/refresh", json({ refreshToken: tokens.refreshToken }));
    expect(refreshed.status).toBe(200);
    expect(
      (await call("/api/auth/refresh", json({ refreshToken: tokens.refreshToken }))).status,
    ).toBe(401);

    const jwks = await (await call("/.well-known/jwks.json")).json();
    const { payload } = await jwtVerify(tokens.accessToken, createLocalJWKSet(jwks as never), {
      issuer: "nearbase",
      audience: "nearbase",
      algorithms: ["EdDSA"],
    });
    expect(payload.sub).toBe(tokens.user.id);
  });

  it("keys rate limits on CF-Connecting-IP, never on a client's X-Forwarded-For", async () => {
    // Unique addresses: the libSQL database (and so the auth limiter) is shared by test files.
    const ip = `198.51.100.${Math.floor(Math.random() * 200) + 20}`;
    const other = `203.0.113.${Math.floor(Math.random() * 200) + 20}`;
    const hit = (from: string, forwarded: string) =>
      call("/api/auth/refresh", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "cf-connecting-ip": from,
          "x-forwarded-for": forwarded,
        },
        body: "{}",
      });
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) statuses.push((await hit(ip, `10.0.${i}.1`)).status);
    expect(statuses.slice(0, 20).every((s) => s === 400)).toBe(true);
    expect(statuses[20]).toBe(429); // RATE_LIMIT_AUTH default: 20/60s
    expect((await hit(other, "10.0.0.1")).status).toBe(400);
  });

  it("runs housekeeping from the cron trigger's handler", async () => {
    const { housekeeping } = await import("../../src/platform/workers/main");
    const sql = createClient({ url: env.DATABASE_URL });
    const key = `test:housekeeping:${crypto.randomUUID()}`;
    // A bucket that is whole again (TAT in the past) decides like no row: safe to delete.
    await sql.execute({
      sql: "INSERT INTO nb_rate_limits (key, tat, allowed) VALUES (?, 0, 1)",
      args: [key],
    });
    expect(await housekeeping(env)).toBeGreaterThanOrEqual(1);
    const left = await sql.execute({
      sql: "SELECT 1 FROM nb_rate_limits WHERE key = ?",
      args: [key],
    });
    expect(left.rows).toHaveLength(0);
    sql.close();
  });

  it("keeps PBKDF2 within the 100,000 iterations production Workers allow", async () => {
    // Local workerd has no cap, so only our own check stops a hash production could not verify.
    await expect(hashPassword("correct horse battery staple", 100_001)).rejects.toThrow(
      /iterations/,
    );
    const stored = await hashPassword("correct horse battery staple");
    expect(stored).toMatch(/^pbkdf2-sha256\$100000\$/);
    expect(await verifyPassword("correct horse battery staple", stored)).toEqual({
      ok: true,
      rehash: false,
    });
  });
});
