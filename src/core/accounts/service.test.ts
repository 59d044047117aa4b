import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@libsql/client";
import { migrate } from "drizzle-orm/libsql/migrator";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDatabase, type Database } from "../db/client";
import { ApiError } from "../kernel/errors";
import { memorySink } from "../kernel/log";
import { loadAuthConfig } from "./config";
import { oauthProviders } from "./oauth/providers";
import { type AccountService, createAccountService } from "./service";
import { generateSigningJwk } from "./signing-keys";
import { createUser } from "./users";

// The engine without HTTP: what GraphQL resolvers and jobs will call, on real libSQL.
let dir: string;
let client: Client;
let db: Database;
let accounts: AccountService;
const caller = { ip: "192.0.2.1", userAgent: "unit" };
const defer = (work: Promise<unknown>) => void work;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "nb-accounts-"));
  client = createClient({ url: `file:${join(dir, "test.db")}` });
  db = createDatabase(client);
  await migrate(db, { migrationsFolder: "migrations" });
  const keys = JSON.stringify([await generateSigningJwk()]);
  const config = loadAuthConfig(
    { secrets: { get: async () => keys } },
    {
      jwtIssuer: "nearbase",
      jwtAudience: "nearbase",
      accessTokenTtlSeconds: 900,
      refreshTokenTtlDays: 30,
      publicUrl: "http://localhost:8787",
      loginLimitPerAccount: "100/1m",
      loginLimitPerAccountTotal: "100/1m",
      credentialFailureLimit: "3/1m",
      forgotLimitPerAccount: "100/1m",
      passwordHash: { kind: "pbkdf2-sha256", iterations: 10_000 },
    },
  );
  accounts = createAccountService({
    db,
    sql: client,
    clock: { now: () => new Date() },
    log: memorySink(),
    mailer: { implemented: true, send: async () => {} },
    auth: () => config,
    oauth: oauthProviders({}, (name) => `http://localhost:8787/cb/${name}`),
    redirectOrigins: ["http://localhost:8787"],
    relyingParty: { id: "localhost", name: "Nearbase", origins: ["http://localhost:8787"] },
    secrets: { get: async () => undefined },
  });
});

afterEach(() => {
  client.close();
  rmSync(dir, { recursive: true, force: true });
});

const codeOf = (err: unknown) => (err instanceof ApiError ? err.code : String(err));

describe("account service", () => {
  it("signs up, logs in and identifies the caller without an HTTP request", async () => {
    const email = "Someone@Example.com";
    const password = "correct horse battery staple";
    const up = await accounts.signup({ email, password }, caller);
    expect(up.user.email).toBe("someone@example.com");
    const login = await accounts.login({ email, password }, caller);
    if (!("accessToken" in login)) throw new Error("no second factor was set up: tokens expected");
    const { accessToken } = login;
    const principal = await accounts.authenticate(
      { authorization: `Bearer ${accessToken}` },
      caller.ip,
      { defer },
    );
    expect(principal).toMatchObject({ kind: "user", id: up.user.id, role: "user" });
    expect((await accounts.me(principal)).id).toBe(up.user.id);
    expect(await accounts.listSessions(principal)).toHaveLength(2);
    const key = await accounts.createApiKey(principal, { name: "ci", scopes: ["read"] });
    expect(await accounts.authenticate({ apiKey: key.key }, caller.ip, { defer })).toMatchObject({
      kind: "apiKey",
      ownerId: up.user.id,
      scopes: ["read"],
    });
    await accounts.logoutAll(principal);
    await expect(accounts.authenticate({ apiKey: key.key }, caller.ip, { defer })).rejects.toThrow(
      /invalid or expired/,
    );
  });

  it("throttles an address after its budget of rejected credentials", async () => {
    const wrong = { authorization: "Bearer not-a-token" };
    for (let i = 0; i < 3; i++) {
      const err = await accounts.authenticate(wrong, caller.ip, { defer }).catch((e) => e);
      expect(codeOf(err)).toBe("UNAUTHENTICATED");
      await accounts.countRejected(err, caller.ip);
    }
    const err = await accounts.authenticate({}, caller.ip, { defer }).catch((e) => e);
    expect(codeOf(err)).toBe("RATE_LIMITED");
    // Another address is not affected, and presenting nothing is anonymous.
    expect(await accounts.authenticate({}, "192.0.2.2", { defer })).toEqual({ kind: "anonymous" });
  });

  it("refuses an operation for a caller who is not signed in", async () => {
    const anonymous = { kind: "anonymous" } as const;
    expect(codeOf(await accounts.me(anonymous).catch((e) => e))).toBe("UNAUTHENTICATED");
    expect(codeOf(await accounts.listApiKeys(anonymous).catch((e) => e))).toBe("UNAUTHENTICATED");
  });

  it("404s an OAuth provider that is not configured", async () => {
    expect(codeOf(await accounts.oauthStart("github", undefined).catch((e) => e))).toBe(
      "NOT_FOUND",
    );
  });
});

describe("createUser", () => {
  it("is the one way a user row is made: parsed email, defaults, no duplicates", async () => {
    const now = new Date();
    const user = await createUser(db, { email: " Ada@Example.COM " }, now);
    expect(user).toMatchObject({
      email: "ada@example.com",
      role: "user",
      name: "",
      passwordHash: null,
      emailVerifiedAt: null,
    });
    expect(user!.id).toMatch(/^usr_[a-z0-9]{15}$/);
    expect(await createUser(db, { email: "ada@example.com" }, now)).toBeUndefined();
    expect(codeOf(await createUser(db, { email: "a\u0000@x.com" }, now).catch((e) => e))).toBe(
      "VALIDATION_FAILED",
    );
    const admin = await createUser(
      db,
      { email: "op@example.com", role: "admin", emailVerified: true },
      now,
    );
    expect(admin).toMatchObject({ role: "admin", emailVerifiedAt: now.toISOString() });
  });
});
