import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config";
import { hashPassword, passwordProfiles, verifyPassword } from "../../src/core/accounts/passwords";
import { createTestApp, type TestApp } from "../harness";

// PASSWORD_PROFILE: named hashing costs (src/core/accounts/passwords.ts), hashes that carry
// their parameters, and the rewrite at log-in when the configured parameters change. The
// scrypt (strong) side of portability is checked in workerd: test/workers/passwords.test.ts.

const password = "correct horse battery staple";
let counter = 0;
const freshEmail = () => `profile${Date.now()}${counter++}@example.com`;

describe("PASSWORD_PROFILE", () => {
  it("maps free, standard and strong to their parameters; PASSWORD_ITERATIONS replaces them", () => {
    const hashOf = (env: Record<string, string>) => loadConfig(env, "node").passwordHash;
    expect(hashOf({})).toEqual({ kind: "pbkdf2-sha256", iterations: 100_000 });
    expect(hashOf({ PASSWORD_PROFILE: "free" })).toEqual({
      kind: "pbkdf2-sha256",
      iterations: 25_000,
    });
    expect(hashOf({ PASSWORD_PROFILE: "strong" })).toEqual({
      kind: "scrypt",
      n: 16_384,
      r: 8,
      p: 5,
    });
    expect(hashOf({ PASSWORD_ITERATIONS: "10000" })).toEqual({
      kind: "pbkdf2-sha256",
      iterations: 10_000,
    });
    // An empty value is unset, so a test home can switch a profile on over its iterations.
    expect(hashOf({ PASSWORD_ITERATIONS: "", PASSWORD_PROFILE: "free" })).toEqual(
      passwordProfiles.free,
    );
  });

  it("refuses an unknown profile, and a profile together with PASSWORD_ITERATIONS, naming them", () => {
    expect(() => loadConfig({ PASSWORD_PROFILE: "paranoid" }, "workers")).toThrow(
      /PASSWORD_PROFILE must be free, standard or strong/,
    );
    expect(() =>
      loadConfig({ PASSWORD_PROFILE: "strong", PASSWORD_ITERATIONS: "10000" }, "node"),
    ).toThrow(ConfigError);
    expect(() =>
      loadConfig({ PASSWORD_PROFILE: "strong", PASSWORD_ITERATIONS: "10000" }, "node"),
    ).toThrow(/PASSWORD_ITERATIONS replaces PASSWORD_PROFILE/);
  });
});

describe("self-describing hashes", () => {
  it("still verify as stored by an earlier build (the vectors test/workers/passwords.test.ts checks in workerd)", async () => {
    for (const stored of [
      "scrypt$16384$8$5$VZETpk4PUffvi_6ai4eKAQ$F47Wk5ntCfH6g7QPPcAsXyLP38Or-UhnzA5zgep81Bs",
      "pbkdf2-sha256$25000$uVOUFotq3q0aNioLuoztUw$Xg6xULagfJI2YkUTC0DAZCp3Ua_lDC4SNnGromwO4l4",
    ]) {
      expect(await verifyPassword(password, stored, passwordProfiles.free)).toEqual({
        ok: true,
        rehash: stored.startsWith("scrypt"),
      });
    }
  });

  it("carry their parameters and verify; a wrong password does not", async () => {
    const free = await hashPassword(password, passwordProfiles.free);
    expect(free).toMatch(/^pbkdf2-sha256\$25000\$[\w-]{22}\$[\w-]{43}$/);
    const strong = await hashPassword(password, passwordProfiles.strong);
    expect(strong).toMatch(/^scrypt\$16384\$8\$5\$[\w-]{22}\$[\w-]{43}$/);
    for (const stored of [free, strong]) {
      expect(await verifyPassword(password, stored, passwordProfiles.strong)).toMatchObject({
        ok: true,
      });
      expect(await verifyPassword(`${password}!`, stored, passwordProfiles.strong)).toEqual({
        ok: false,
        rehash: false,
      });
    }
  });

  it("asks for a rewrite when the stored parameters are not the configured ones", async () => {
    const standard = await hashPassword(password, passwordProfiles.standard);
    expect(await verifyPassword(password, standard, passwordProfiles.strong)).toEqual({
      ok: true,
      rehash: true,
    });
    expect(await verifyPassword(password, standard, passwordProfiles.standard)).toEqual({
      ok: true,
      rehash: false,
    });
    // Iterations given as a number (older callers) mean PBKDF2.
    expect(await verifyPassword(password, standard, 100_000)).toEqual({ ok: true, rehash: false });
  });

  it("refuses stored parameters a Workers home could not run, as a failed check (no error)", async () => {
    const [, , , , salt, hash] = (await hashPassword(password, passwordProfiles.strong)).split("$");
    for (const params of [
      "scrypt$1048576$8$1", // 1 GiB and N·r·p over workerd's cap
      "scrypt$16384$8$100", // N·r·p over the cap
      "scrypt$65536$8$1", // 64 MiB: over the memory we allow one hash
      "scrypt$10000$8$1", // N not a power of two
      "scrypt$x$8$1",
      "pbkdf2-sha256$200000",
    ]) {
      const stored = `${params}$${salt}$${hash}`;
      expect(await verifyPassword(password, stored), params).toEqual({ ok: false, rehash: false });
    }
    expect(await verifyPassword(password, "argon2id$v=19$m=65536,t=3,p=4$x$y")).toEqual({
      ok: false,
      rehash: false,
    });
  });

  it("spends the configured cost on an unknown account (a dummy hash), and never says ok", async () => {
    expect(await verifyPassword(password, undefined, passwordProfiles.strong)).toEqual({
      ok: false,
      rehash: false,
    });
    expect(await verifyPassword(password, null, passwordProfiles.free)).toEqual({
      ok: false,
      rehash: false,
    });
  });
});

describe("log-in rewrites the hash to the configured profile", () => {
  let standard: TestApp;
  let strong: TestApp;
  beforeAll(async () => {
    standard = await createTestApp({ env: { PASSWORD_PROFILE: "free" } });
    // Two homes, two databases: the account's hash is copied from one to the other.
    strong = await createTestApp({ env: { PASSWORD_PROFILE: "strong" } });
  }, 60_000);
  afterAll(async () => {
    await standard?.close();
    await strong?.close();
  });

  it("upgrades a free-profile hash to scrypt at the next successful log-in", async () => {
    const email = freshEmail();
    const signup = await standard.request("/api/auth/signup", {
      method: "POST",
      json: { email, password },
    });
    expect(signup.status).toBe(201);
    const made = await standard.client.execute({
      sql: "SELECT password_hash FROM nb_users WHERE email = ?",
      args: [email],
    });
    const freeHash = String(made.rows[0]?.password_hash);
    expect(freeHash).toMatch(/^pbkdf2-sha256\$25000\$/);

    // The account, moved to a home whose profile is strong.
    const moved = await strong.request("/api/auth/signup", {
      method: "POST",
      json: { email, password: "another password entirely" },
    });
    expect(moved.status).toBe(201);
    await strong.client.execute({
      sql: "UPDATE nb_users SET password_hash = ? WHERE email = ?",
      args: [freeHash, email],
    });
    const wrong = await strong.request("/api/auth/login", {
      method: "POST",
      json: { email, password: "not the password at all" },
    });
    expect(wrong.status).toBe(401);
    const stillFree = await strong.client.execute({
      sql: "SELECT password_hash FROM nb_users WHERE email = ?",
      args: [email],
    });
    expect(String(stillFree.rows[0]?.password_hash)).toBe(freeHash);

    const login = await strong.request("/api/auth/login", {
      method: "POST",
      json: { email, password },
    });
    expect(login.status).toBe(200);
    const after = await strong.client.execute({
      sql: "SELECT password_hash FROM nb_users WHERE email = ?",
      args: [email],
    });
    const upgraded = String(after.rows[0]?.password_hash);
    expect(upgraded).toMatch(/^scrypt\$16384\$8\$5\$/);
    expect(await verifyPassword(password, upgraded, passwordProfiles.strong)).toEqual({
      ok: true,
      rehash: false,
    });
    const again = await strong.request("/api/auth/login", {
      method: "POST",
      json: { email, password },
    });
    expect(again.status).toBe(200);
  }, 60_000);
});
