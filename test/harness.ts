import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@libsql/client";
import { createApp } from "../src/app";
import { collections } from "../src/collections/index";
import { loadConfig } from "../src/config";
import { loadAuthConfig } from "../src/core/accounts/config";
import { type RevokeReason, revokeAllCredentials } from "../src/core/accounts/revoke";
import { startSession } from "../src/core/accounts/sessions";
import { generateSigningJwk } from "../src/core/accounts/signing-keys";
import { createUser } from "../src/core/accounts/users";
import { randomId } from "../src/core/kernel/crypto";
import { memorySink } from "../src/core/kernel/log";
import { generateDataKey } from "../src/core/kernel/seal";
import { recordingMailer } from "../src/core/mail/mailers";
import type { CollectionDefinition } from "../src/core/records/define";
import { apiDocument } from "../src/http/openapi";
import { openNodeDatabase } from "../src/platform/node/database";
import { createNodePlatform } from "../src/platform/node/platform";
import { generousLimits } from "./conformance/home";

/** Problem+json bodies are read the same way in every home. */
export { readProblem } from "./conformance/home";

export interface TestAppOptions {
  /** Makes a read replica of the app's fresh primary database file (given its path). */
  replica?: (primaryPath: string) => Promise<Client>;
  /** Settings as they would come from the environment (e.g. `{ CORS_ORIGINS: "*" }`). */
  env?: Record<string, string>;
  /** Collections to serve instead of the example app's (their tables must be created by the test). */
  collections?: readonly CollectionDefinition[];
  /** How long one read on the embedded file may run (default: the Node home's). */
  readBudgetMs?: number;
}

/**
 * A fresh Nearbase app (Node home) on a fresh, migrated, real libSQL database file. Call it
 * per test file or per test; `close()` removes the database.
 */
export async function createTestApp(options: TestAppOptions = {}) {
  const dir = mkdtempSync(join(tmpdir(), "nearbase-test-"));
  const url = `file:${join(dir, "test.db")}`;
  // Opened as the Node home opens it (read connections off the event loop, WAL).
  const database = await openNodeDatabase({ url, readBudgetMs: options.readBudgetMs });
  const { client } = database;
  const log = memorySink();
  const env = {
    DATABASE_URL: url,
    ...generousLimits,
    JWT_PRIVATE_KEYS: await testKeys(),
    DATA_ENCRYPTION_KEYS: JSON.stringify([generateDataKey()]),
    // Uploaded files beside the database, removed with it.
    FILES_DIR: join(dir, "files"),
    ...options.env,
  };
  const config = loadConfig(env, "node");
  // A clock tests can move forward (cache freshness); it starts at the real time.
  let offsetMs = 0;
  const clock = { now: () => new Date(Date.now() + offsetMs) };
  const mailer = recordingMailer(log);
  const platform = createNodePlatform(config, {
    database: options.replica
      ? { client, replica: await options.replica(join(dir, "test.db")), freshReads: false }
      : database,
    mailer,
    log,
    env,
    clock,
  });
  const app = createApp({
    platform,
    config,
    collections: options.collections ?? collections,
    apiDocument,
  });

  /** Sends a request to the app in-process; a plain object body is sent as JSON. */
  async function request(path: string, init: RequestInit & { json?: unknown } = {}) {
    const { json, ...rest } = init;
    const headers = new Headers(rest.headers);
    let body = rest.body;
    if (json !== undefined) {
      headers.set("content-type", "application/json");
      body = JSON.stringify(json);
    }
    return app.request(path, { ...rest, headers, body });
  }

  /**
   * A fresh account (user or admin) signed in for real: a row in nb_users, a session, and an
   * access token signed with the app's keys. Returns the headers to act as that account.
   */
  async function signIn(role: "user" | "admin" = "user") {
    const now = platform.clock.now();
    const user = await createUser(
      platform.db,
      { email: `${randomId("usr")}@example.test`, role, emailVerified: true },
      now,
    );
    if (user === undefined) throw new Error("signIn: the random email was taken");
    const pair = await startSession(
      platform.db,
      await loadAuthConfig(platform, config),
      user,
      "test",
      now,
    );
    return {
      id: user.id,
      email: user.email,
      ...pair,
      headers: { authorization: `Bearer ${pair.accessToken}` },
    };
  }

  return {
    app,
    signIn,
    /** Revokes every credential of an account, exactly as sign-out-everywhere does. */
    revokeAll(userId: string, reason: RevokeReason = "operator") {
      return revokeAllCredentials(platform.db, userId, reason, { now: platform.clock.now(), log });
    },
    /** Mail the app sent (newest last). */
    mail: mailer.sent,
    url,
    /** Moves the app's clock forward. */
    advance(ms: number) {
      offsetMs += ms;
    },
    client,
    platform,
    log,
    config,
    request,
    async close() {
      await platform.settle();
      database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let keys: Promise<string> | undefined;
/** One signing key set per test process (tests that need another key make their own). */
export function testKeys(): Promise<string> {
  const made = keys ?? generateSigningJwk().then((jwk) => JSON.stringify([jwk]));
  keys = made;
  return made;
}

export type TestApp = Awaited<ReturnType<typeof createTestApp>>;
